//! `sarif`: SARIF 2.1.0 for GitHub code scanning and other SARIF consumers.
//!
//! One run; `tool.driver.rules` lists the codes that occur in the results, in id order (with
//! `ruleIndex` pointing into that list); results carry precise regions (columns in Unicode code points, end exclusive),
//! `relatedLocations` for secondary and related labels, and `partialFingerprints` that do not
//! depend on line numbers.

use super::fingerprint::{fingerprints, SARIF_KEY};
use super::location::{artifact_uri, Region};
use crate::codes::Code;
use crate::finding::{Finding, Label};
use crate::severity::Severity;
use crate::source::SourceMap;
use serde_json::{json, Value};

pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";
/// `tool.driver.informationUri`: the package's repository (`repository` in the workspace
/// Cargo.toml, the one place the URL is written).
pub const INFORMATION_URI: &str = env!("CARGO_PKG_REPOSITORY");

/// Options of the SARIF output.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SarifOptions {
    /// `runs[0].automationDetails.id`, e.g. `policyc/prod/` to keep several uploads apart.
    pub automation_id: Option<String>,
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

fn rule(code: &Code) -> Value {
    let problem_severity = match code.default_severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "recommendation",
    };
    json!({
        "id": code.id,
        "name": code.name,
        "shortDescription": { "text": code.summary },
        "fullDescription": { "text": code.explanation },
        "help": {
            "text": format!("{}\n\nRun `policyc lint --explain {}` for details.", code.explanation, code.id),
            "markdown": format!("{}\n\nRun `policyc lint --explain {}` for details.", code.explanation, code.id),
        },
        "defaultConfiguration": { "level": level(code.default_severity) },
        "properties": {
            "tags": ["policyc", code.category()],
            "problem.severity": problem_severity,
        },
    })
}

fn physical_location(region: &Region) -> Value {
    json!({
        "artifactLocation": { "uri": artifact_uri(&region.file) },
        "region": {
            "startLine": region.start.line,
            "startColumn": region.start.col,
            "endLine": region.end.line,
            "endColumn": region.end.col,
        },
    })
}

fn related_locations(finding: &Finding, sources: &SourceMap) -> Vec<Value> {
    finding
        .secondary
        .iter()
        .chain(&finding.related)
        .enumerate()
        .map(|(i, label): (usize, &Label)| {
            json!({
                "id": i + 1,
                "physicalLocation": physical_location(&Region::of(sources, label.span)),
                "message": { "text": label.message },
            })
        })
        .collect()
}

fn message_text(finding: &Finding) -> String {
    let mut text = finding.message.clone();
    if let Some(ctx) = &finding.context {
        text.push_str(&format!(" ({ctx})"));
    }
    if let Some(help) = &finding.help {
        text.push_str("\nhelp: ");
        text.push_str(help);
    }
    text
}

fn result(finding: &Finding, fingerprint: String, sources: &SourceMap, rules: &[&Code]) -> Value {
    let rule_index = rules.iter().position(|c| c.id == finding.code.id);
    let mut result = json!({
        "ruleId": finding.code.id,
        "level": level(finding.severity),
        "message": { "text": message_text(finding) },
        "partialFingerprints": { SARIF_KEY: fingerprint },
    });
    if let Some(index) = rule_index {
        result["ruleIndex"] = json!(index);
    }
    if let Some(region) = Region::of_label(sources, finding.primary.as_ref()) {
        let mut location = json!({ "physicalLocation": physical_location(&region) });
        if let Some(ctx) = &finding.context {
            let mut name = format!("{}/{}", ctx.kind, ctx.qualified_name());
            if !ctx.yaml_path.is_empty() {
                name.push('/');
                name.push_str(&ctx.yaml_path);
            }
            location["logicalLocations"] =
                json!([{ "fullyQualifiedName": name, "kind": "resource" }]);
        }
        result["locations"] = json!([location]);
    }
    let related = related_locations(finding, sources);
    if !related.is_empty() {
        result["relatedLocations"] = Value::Array(related);
    }
    result
}

/// The SARIF log as a JSON value.
#[must_use]
pub fn to_value(findings: &[Finding], sources: &SourceMap, options: &SarifOptions) -> Value {
    let mut rules: Vec<&Code> = findings.iter().map(|f| f.code).collect();
    rules.sort_by_key(|c| c.id);
    rules.dedup_by_key(|c| c.id);
    let results: Vec<Value> = findings
        .iter()
        .zip(fingerprints(findings, sources))
        .map(|(finding, fingerprint)| result(finding, fingerprint, sources, &rules))
        .collect();
    let mut run = json!({
        "tool": {
            "driver": {
                "name": "policyc",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "informationUri": INFORMATION_URI,
                "rules": rules.iter().map(|c| rule(c)).collect::<Vec<_>>(),
            }
        },
        "columnKind": "unicodeCodePoints",
        "results": results,
    });
    if let Some(id) = &options.automation_id {
        run["automationDetails"] = json!({ "id": id });
    }
    json!({ "$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run] })
}

/// The SARIF log, pretty-printed with a trailing newline.
#[must_use]
pub fn render(findings: &[Finding], sources: &SourceMap, options: &SarifOptions) -> String {
    let value = to_value(findings, sources, options);
    let mut out = serde_json::to_string_pretty(&value).unwrap_or_default();
    out.push('\n');
    out
}
