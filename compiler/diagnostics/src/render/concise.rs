//! `concise`: one line per finding, `path:line:col: severity[CODE] message`, for editors and grep.

use super::location::Region;
use crate::finding::Finding;
use crate::source::SourceMap;
use std::fmt::Write;

/// Render each finding on its own line; findings without a location start with `policyc:`.
#[must_use]
pub fn render(findings: &[Finding], sources: &SourceMap) -> String {
    let mut out = String::new();
    for finding in findings {
        out.push_str(&line(finding, sources));
        out.push('\n');
    }
    out
}

/// The one-line form of a finding (no trailing newline; embedded newlines become spaces).
#[must_use]
pub fn line(finding: &Finding, sources: &SourceMap) -> String {
    let mut out = String::new();
    match Region::of_label(sources, finding.primary.as_ref()) {
        Some(region) => {
            let _ = write!(out, "{}:{}: ", region.file, region.start);
        }
        None => out.push_str("policyc: "),
    }
    let _ = write!(
        out,
        "{}[{}] {}",
        finding.severity,
        finding.code.id,
        finding.message.replace(['\n', '\r'], " ")
    );
    out
}
