//! The keys of the configuration file, checked one by one: every problem is an `invalid-config`
//! error at the key or value it is about, with the closest known key for a misspelt one.
//!
//! ```yaml
//! inventory: cluster/            # default --inventory
//! policies: [policies/]          # default policy paths
//! exclude: ["policies/drafts", "**/*.generated.yaml"]
//! lint:
//!   enable: [PC0301, shadowed-rule]   # only these warnings/infos (errors always)
//!   disable: [broad-ingress-on-ports]
//!   severity: { http-path-looks-like-prefix: error }
//!   fail-level: warning
//! ```

use super::exclude::Exclude;
use super::lint_rules::{FailLevel, LintRules};
use super::Config;
use policyc_diagnostics::codes::{self, Code};
use policyc_diagnostics::{did_you_mean, Finding, Severity};
use policyc_frontend::yaml::Node;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const TOP_KEYS: [&str; 4] = ["inventory", "policies", "exclude", "lint"];
const LINT_KEYS: [&str; 4] = ["enable", "disable", "severity", "fail-level"];

fn error(node: &Node, message: String, label: &str) -> Finding {
    Finding::error(&codes::INVALID_CONFIG, message).at(node.span, label)
}

/// The entries of a mapping, each key a string; anything else is reported.
fn entries<'n>(
    node: &'n Node,
    what: &str,
    known: &[&str],
    findings: &mut Vec<Finding>,
) -> Vec<(&'n str, &'n Node)> {
    let Some(entries) = node.map_entries() else {
        findings.push(error(
            node,
            format!("{what} must be a mapping, not a {}", node.type_name()),
            "expected a mapping",
        ));
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, value) in entries {
        match key.as_str() {
            Some(k) if known.is_empty() || known.contains(&k) => out.push((k, value)),
            Some(k) => {
                let mut finding = error(key, format!("unknown key `{k}` in {what}"), "unknown key");
                finding = finding.help(match did_you_mean(k, known.iter()) {
                    Some(hint) => hint,
                    None => format!("known keys: {}", known.join(", ")),
                });
                findings.push(finding);
            }
            None => findings.push(error(
                key,
                format!("keys of {what} are strings"),
                "not a string",
            )),
        }
    }
    out
}

fn string(node: &Node, key: &str, findings: &mut Vec<Finding>) -> Option<String> {
    match node.as_str() {
        Some(s) if !s.is_empty() => Some(s.to_string()),
        Some(_) => {
            findings.push(error(node, format!("`{key}` is empty"), "empty string"));
            None
        }
        None => {
            findings.push(error(
                node,
                format!("`{key}` must be a string, not a {}", node.type_name()),
                "expected a string",
            ));
            None
        }
    }
}

/// A string or a list of strings.
fn strings<'n>(node: &'n Node, key: &str, findings: &mut Vec<Finding>) -> Vec<(String, &'n Node)> {
    match node.as_seq() {
        Some(items) => items
            .iter()
            .filter_map(|item| string(item, key, findings).map(|s| (s, item)))
            .collect(),
        None => string(node, key, findings)
            .map(|s| vec![(s, node)])
            .unwrap_or_default(),
    }
}

fn path(base: &Path, cwd: &Path, text: &str) -> PathBuf {
    crate::paths::shown(&base.join(text), cwd)
}

fn code(node: &Node, text: &str, findings: &mut Vec<Finding>) -> Option<&'static Code> {
    let found = codes::lookup(text);
    if found.is_none() {
        let names: Vec<&str> = codes::ALL
            .iter()
            .map(|c| c.id)
            .chain(codes::ALL.iter().map(|c| c.name))
            .collect();
        let hint = did_you_mean(&text.to_ascii_uppercase(), names.iter())
            .or_else(|| did_you_mean(text, names.iter()))
            .unwrap_or_else(|| "`policyc lint --list-rules` lists every code".into());
        findings
            .push(error(node, format!("unknown lint code `{text}`"), "unknown code").help(hint));
    }
    found
}

/// A code whose default severity is error reports a policy `build` refuses: lint must keep it.
fn refuse_error_code(node: &Node, code: &Code, doing: &str, findings: &mut Vec<Finding>) -> bool {
    if code.default_severity == Severity::Error {
        findings.push(
            error(
                node,
                format!("{} ({}) is an error and cannot be {doing}", code.id, code.name),
                "error code",
            )
            .help("errors name policies `policyc build` refuses; only warnings and infos can be disabled or lowered"),
        );
        return true;
    }
    false
}

fn code_list(node: &Node, key: &str, findings: &mut Vec<Finding>) -> Vec<(&'static Code, Node)> {
    strings(node, key, findings)
        .into_iter()
        .filter_map(|(text, item)| code(item, &text, findings).map(|c| (c, item.clone())))
        .collect()
}

fn severity(node: &Node, findings: &mut Vec<Finding>) -> Option<Severity> {
    match node.as_str() {
        Some("error") => Some(Severity::Error),
        Some("warning") => Some(Severity::Warning),
        Some("info") => Some(Severity::Info),
        _ => {
            findings.push(error(
                node,
                "a severity is `error`, `warning` or `info`".into(),
                "unknown severity",
            ));
            None
        }
    }
}

fn lint(node: &Node, findings: &mut Vec<Finding>) -> LintRules {
    let mut rules = LintRules::default();
    for (key, value) in entries(node, "`lint`", &LINT_KEYS, findings) {
        match key {
            "enable" => {
                let codes = code_list(value, key, findings);
                rules.enable = Some(codes.into_iter().map(|(c, _)| c.id).collect());
            }
            "disable" => {
                for (code, at) in code_list(value, key, findings) {
                    if !refuse_error_code(&at, code, "disabled", findings) {
                        rules.disable.insert(code.id);
                    }
                }
            }
            "severity" => {
                let mut overrides = BTreeMap::new();
                for (text, level) in entries(value, "`lint.severity`", &[], findings) {
                    let key_node = value
                        .map_entries()
                        .and_then(|e| e.iter().find(|(k, _)| k.as_str() == Some(text)))
                        .map_or(value, |(k, _)| k);
                    let (Some(code), Some(level)) =
                        (code(key_node, text, findings), severity(level, findings))
                    else {
                        continue;
                    };
                    if level < Severity::Error
                        && refuse_error_code(key_node, code, "lowered", findings)
                    {
                        continue;
                    }
                    overrides.insert(code.id, level);
                }
                rules.severity = overrides;
            }
            "fail-level" => match value.as_str() {
                Some("error") => rules.fail_level = Some(FailLevel::Error),
                Some("warning") => rules.fail_level = Some(FailLevel::Warning),
                _ => findings.push(error(
                    value,
                    "`fail-level` is `error` or `warning`".into(),
                    "expected error or warning",
                )),
            },
            _ => {}
        }
    }
    if let Some(enabled) = &rules.enable {
        if let Some(both) = enabled.iter().find(|c| rules.disable.contains(*c)) {
            findings.push(error(
                node,
                format!("{both} is both enabled and disabled"),
                "in `lint.enable` and `lint.disable`",
            ));
        }
    }
    rules
}

/// Reads the configuration; paths are resolved against `base` (the file's directory) and shown
/// relative to `cwd`.
pub fn read(root: &Node, base: &Path, cwd: &Path, findings: &mut Vec<Finding>) -> Config {
    let mut config = Config::default();
    let base = if base.is_absolute() {
        base.to_path_buf()
    } else {
        cwd.join(base)
    };
    for (key, value) in entries(root, "the configuration", &TOP_KEYS, findings) {
        match key {
            "inventory" => {
                config.inventory = string(value, key, findings).map(|p| path(&base, cwd, &p));
            }
            "policies" => {
                config.policies = strings(value, key, findings)
                    .into_iter()
                    .map(|(p, _)| path(&base, cwd, &p))
                    .collect();
            }
            "exclude" => {
                let globs = strings(value, key, findings);
                match Exclude::new(&base, &globs) {
                    Ok(exclude) => config.exclude = exclude,
                    Err(found) => findings.extend(found),
                }
            }
            "lint" => config.lint = lint(value, findings),
            _ => {}
        }
    }
    config
}
