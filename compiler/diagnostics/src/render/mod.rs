//! Output formats for findings: `human`, `concise`, `json`, `sarif`, `github`.
//!
//! Callers sort findings first ([`crate::sort_findings`]) and then call [`render`].

pub mod concise;
pub mod fingerprint;
pub mod github;
pub mod human;
pub mod json;
pub mod location;
pub mod sarif;
pub mod snippet_window;

pub use human::{set_color_choice, ColorChoice, HumanOptions};
pub use sarif::SarifOptions;

use crate::finding::Finding;
use crate::source::SourceMap;
use std::fmt;
use std::str::FromStr;

/// An output format of `policyc lint --format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    Human,
    Concise,
    Json,
    Sarif,
    Github,
}

impl Format {
    pub const ALL: [Format; 5] = [
        Format::Human,
        Format::Concise,
        Format::Json,
        Format::Sarif,
        Format::Github,
    ];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Human => "human",
            Format::Concise => "concise",
            Format::Json => "json",
            Format::Sarif => "sarif",
            Format::Github => "github",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for an unknown `--format` value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown format `{0}` (expected one of: human, concise, json, sarif, github)")]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| UnknownFormat(s.to_owned()))
    }
}

/// Options for every format (each renderer reads its own part).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RenderOptions {
    pub human: HumanOptions,
    pub sarif: SarifOptions,
}

/// Render findings (sort them first) in `format`.
#[must_use]
pub fn render(
    format: Format,
    findings: &[Finding],
    sources: &SourceMap,
    options: &RenderOptions,
) -> String {
    match format {
        Format::Human => human::render(findings, sources, options.human),
        Format::Concise => concise::render(findings, sources),
        Format::Json => json::render(findings, sources),
        Format::Sarif => sarif::render(findings, sources, &options.sarif),
        Format::Github => github::render(findings, sources),
    }
}
