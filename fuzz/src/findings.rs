//! The location invariant of diagnostics: every error finding about an in-memory text has a
//! primary location, and every location points inside the text it names
//! (on character boundaries, so a renderer can cut it out).

use policyc_diagnostics::{Finding, Severity};
use policyc_diagnostics::source::SourceMap;

/// Panics when a finding has no location (errors only) or a label outside its source text.
pub fn assert_located(findings: &[Finding], sources: &SourceMap, what: &str) {
    for finding in findings {
        if finding.severity == Severity::Error && finding.primary.is_none() {
            panic!(
                "{what}: error {} has no location: {}",
                finding.code.id, finding.message
            );
        }
        let labels = finding
            .primary
            .iter()
            .chain(&finding.secondary)
            .chain(&finding.related);
        for label in labels {
            assert!(
                sources.slice(label.span).is_some(),
                "{what}: finding {:?} has span {}..{} outside its text (or not on a char boundary)",
                finding.message,
                label.span.start,
                label.span.end
            );
        }
    }
}
