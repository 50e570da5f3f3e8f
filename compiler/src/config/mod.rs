//! The project configuration file, `.policyc.yaml` or `.policyc.toml` (like `.kube-linter.yaml`
//! or `ruff.toml`): default inventory and policy paths, which lint codes are reported and at
//! which severity, and paths to skip. Found upward from the working directory (stopping after
//! the git root or at the filesystem root), or given with `--config`; `--no-config` ignores it.
//!
//! `discover` finds the file, `load` reads it (`toml_tree` turns TOML into the same spanned tree
//! as YAML), `schema` checks every key into a [`Config`] (unknown keys are errors at their
//! line and column), `lint_rules` applies the lint section to findings and `exclude` the globs
//! to files. The format is documented in docs/formats.md ("Configuration file").

mod discover;
pub mod exclude;
pub mod lint_rules;
mod schema;
mod toml_tree;

pub use discover::{discover, CONFIG_NAMES};
pub use exclude::Exclude;
pub use lint_rules::LintRules;

use policyc_diagnostics::source::SourceMap;
use policyc_diagnostics::{codes, Finding};
use policyc_frontend::yaml::parse_documents;
use std::path::{Path, PathBuf};

/// A loaded configuration; paths are already resolved against the file's directory (and shown
/// relative to the working directory when they are under it).
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The file it came from (`None`: no configuration file).
    pub path: Option<PathBuf>,
    /// Default `--inventory` of lint, explain, build and diff.
    pub inventory: Option<PathBuf>,
    /// Default policy paths of lint, explain, build and diff (`--paths`).
    pub policies: Vec<PathBuf>,
    /// Files and directories skipped while walking directories.
    pub exclude: Exclude,
    /// Lint codes enabled, disabled and re-ranked.
    pub lint: LintRules,
}

/// A configuration that could not be used: the findings (at file:line:col) and their sources.
#[derive(Debug)]
pub struct ConfigError {
    pub findings: Vec<Finding>,
    pub sources: SourceMap,
}

/// How the command line chose the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigChoice {
    /// Search upward from the working directory.
    Discover,
    /// `--config PATH`.
    File(PathBuf),
    /// `--no-config`.
    None,
}

impl Config {
    /// The configuration the command line asks for, relative to the working directory `cwd`.
    pub fn for_choice(choice: &ConfigChoice, cwd: &Path) -> Result<Config, ConfigError> {
        match choice {
            ConfigChoice::None => Ok(Config::default()),
            ConfigChoice::File(path) => load(&cwd.join(path), cwd),
            ConfigChoice::Discover => match discover(cwd) {
                Some(path) => {
                    let dir = path.parent().unwrap_or(cwd);
                    if discover::both_in(dir) {
                        return Err(unusable(
                            &crate::paths::shown(dir, cwd),
                            format!(
                                "has both {} and {}; keep one",
                                CONFIG_NAMES[0], CONFIG_NAMES[1]
                            ),
                            SourceMap::new(),
                        ));
                    }
                    load(&path, cwd)
                }
                None => Ok(Config::default()),
            },
        }
    }

    /// The policy paths of a command: those given on the command line, else the configuration's,
    /// else `fallback` (e.g. `.`).
    #[must_use]
    pub fn policy_paths(&self, given: &[PathBuf], fallback: &[&str]) -> Vec<PathBuf> {
        if !given.is_empty() {
            given.to_vec()
        } else if !self.policies.is_empty() {
            self.policies.clone()
        } else {
            fallback.iter().map(PathBuf::from).collect()
        }
    }
}

fn unusable(path: &Path, message: String, sources: SourceMap) -> ConfigError {
    ConfigError {
        findings: vec![Finding::error(
            &codes::INVALID_CONFIG,
            format!("`{}`: {message}", path.display()),
        )],
        sources,
    }
}

/// Reads and checks the configuration file at `path` (YAML unless it ends in `.toml`).
pub fn load(path: &Path, cwd: &Path) -> Result<Config, ConfigError> {
    let mut sources = SourceMap::new();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return Err(unusable(path, format!("cannot read: {e}"), sources)),
    };
    let shown = crate::paths::shown(path, cwd);
    let id = sources.add(shown.display().to_string(), text.as_str());
    let is_toml = path.extension().is_some_and(|e| e == "toml");
    let root = if is_toml {
        match toml_tree::parse(&text, id) {
            Ok(root) => Some(root),
            Err(finding) => {
                return Err(ConfigError {
                    findings: vec![*finding],
                    sources,
                })
            }
        }
    } else {
        let (documents, findings) = parse_documents(&sources, id);
        if !findings.is_empty() {
            let findings = findings
                .into_iter()
                .map(|f| Finding {
                    severity: policyc_diagnostics::Severity::Error,
                    ..f
                })
                .collect();
            return Err(ConfigError { findings, sources });
        }
        if documents.len() > 1 {
            return Err(unusable(
                path,
                "has more than one YAML document; the configuration is one mapping".into(),
                sources,
            ));
        }
        documents.into_iter().next().map(|d| d.root)
    };
    let base = path.parent().unwrap_or(Path::new("."));
    let mut findings = Vec::new();
    let mut config = match &root {
        // An empty file is a configuration with every default.
        None => Config::default(),
        Some(root) => schema::read(root, base, cwd, &mut findings),
    };
    config.path = Some(shown);
    if findings.is_empty() {
        Ok(config)
    } else {
        Err(ConfigError { findings, sources })
    }
}
