//! `json`: the documented machine format (version 1, add-only).
//!
//! ```text
//! { "version": 1,
//!   "findings": [ { "code", "name", "severity", "message",
//!                   "file", "line", "column", "endLine", "endColumn",   // null without location; end exclusive
//!                   "object": { "kind", "namespace", "name", "path", "document" } | null,
//!                   "help": string | null,
//!                   "labels":  [ { "message", "file", "line", "column", "endLine", "endColumn" } ],  // same snippet
//!                   "related": [ { same fields } ],                                                // other places
//!                   "fingerprint": "32 hex digits, stable across line moves" } ],
//!   "summary": { "errors", "warnings", "infos" } }
//! ```
//! Lines are 1-based; columns are 1-based and count Unicode characters.

use super::fingerprint::fingerprints;
use super::location::Region;
use crate::finding::{Finding, Label};
use crate::source::SourceMap;
use crate::summary::Summary;
use serde::Serialize;

/// Current version of the JSON format.
pub const VERSION: u32 = 1;

#[derive(Serialize)]
struct Report<'a> {
    version: u32,
    findings: Vec<JsonFinding<'a>>,
    summary: JsonSummary,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonFinding<'a> {
    code: &'static str,
    name: &'static str,
    severity: &'static str,
    message: &'a str,
    #[serde(flatten)]
    location: Location,
    object: Option<JsonObject<'a>>,
    help: Option<&'a str>,
    labels: Vec<JsonLabel<'a>>,
    related: Vec<JsonLabel<'a>>,
    fingerprint: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    file: Option<String>,
    line: Option<usize>,
    column: Option<usize>,
    end_line: Option<usize>,
    end_column: Option<usize>,
}

impl Location {
    fn of(region: Option<Region>) -> Self {
        Location {
            line: region.as_ref().map(|r| r.start.line),
            column: region.as_ref().map(|r| r.start.col),
            end_line: region.as_ref().map(|r| r.end.line),
            end_column: region.as_ref().map(|r| r.end.col),
            file: region.map(|r| r.file),
        }
    }
}

#[derive(Serialize)]
struct JsonObject<'a> {
    kind: &'a str,
    namespace: Option<&'a str>,
    name: &'a str,
    path: &'a str,
    document: usize,
}

#[derive(Serialize)]
struct JsonLabel<'a> {
    message: &'a str,
    #[serde(flatten)]
    location: Location,
}

#[derive(Serialize)]
struct JsonSummary {
    errors: usize,
    warnings: usize,
    infos: usize,
}

fn labels<'a>(labels: &'a [Label], sources: &SourceMap) -> Vec<JsonLabel<'a>> {
    labels
        .iter()
        .map(|l| JsonLabel {
            message: &l.message,
            location: Location::of(Some(Region::of(sources, l.span))),
        })
        .collect()
}

/// Render the findings (already sorted) as one pretty-printed JSON document with a trailing newline.
#[must_use]
pub fn render(findings: &[Finding], sources: &SourceMap) -> String {
    let prints = fingerprints(findings, sources);
    let summary = Summary::of(findings);
    let report = Report {
        version: VERSION,
        findings: findings
            .iter()
            .zip(prints)
            .map(|(f, fingerprint)| JsonFinding {
                code: f.code.id,
                name: f.code.name,
                severity: f.severity.as_str(),
                message: &f.message,
                location: Location::of(Region::of_label(sources, f.primary.as_ref())),
                object: f.context.as_ref().map(|c| JsonObject {
                    kind: &c.kind,
                    namespace: c.namespace.as_deref(),
                    name: &c.name,
                    path: &c.yaml_path,
                    document: c.document,
                }),
                help: f.help.as_deref(),
                labels: labels(&f.secondary, sources),
                related: labels(&f.related, sources),
                fingerprint,
            })
            .collect(),
        summary: JsonSummary {
            errors: summary.errors,
            warnings: summary.warnings,
            infos: summary.infos,
        },
    };
    let mut out =
        serde_json::to_string_pretty(&report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    out.push('\n');
    out
}
