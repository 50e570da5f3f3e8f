//! `github`: GitHub Actions workflow commands (`::error file=…,line=…::message`).
//!
//! GitHub shows at most 10 annotations of each type per step. The first ones (findings are
//! sorted) are annotated; the rest are printed as plain `concise` lines so they are in the job
//! log, followed by one `::notice::` saying how many were not annotated (a notice slot is kept
//! free for it).

use super::concise;
use super::location::Region;
use crate::finding::Finding;
use crate::severity::Severity;
use crate::source::SourceMap;
use std::fmt::Write;

/// Annotations GitHub displays per type and step.
pub const MAX_PER_TYPE: usize = 10;

fn command(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "notice",
    }
}

/// Escape the message part of a workflow command.
#[must_use]
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escape a property value (also `:` and `,`, which delimit properties).
#[must_use]
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// One workflow command line for a finding (no trailing newline).
#[must_use]
pub fn annotation(finding: &Finding, sources: &SourceMap) -> String {
    let mut properties = Vec::new();
    if let Some(region) = Region::of_label(sources, finding.primary.as_ref()) {
        properties.push(format!("file={}", escape_property(&region.file)));
        properties.push(format!("line={}", region.start.line));
        properties.push(format!("col={}", region.start.col));
        properties.push(format!("endLine={}", region.end.line));
        properties.push(format!("endColumn={}", region.end.col));
    }
    properties.push(format!(
        "title={}",
        escape_property(&format!("{} {}", finding.code.id, finding.code.name))
    ));
    let mut message = finding.message.clone();
    if let Some(ctx) = &finding.context {
        let _ = write!(message, " ({ctx})");
    }
    if let Some(help) = &finding.help {
        let _ = write!(message, "\nhelp: {help}");
    }
    format!(
        "::{} {}::{}",
        command(finding.severity),
        properties.join(","),
        escape_data(&message)
    )
}

/// Render the findings (already sorted) as workflow commands, capped per type.
#[must_use]
pub fn render(findings: &[Finding], sources: &SourceMap) -> String {
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    let overflowing = [Severity::Error, Severity::Warning, Severity::Info]
        .iter()
        .any(|&s| count(s) > MAX_PER_TYPE);
    let cap = |s: Severity| {
        if s == Severity::Info && overflowing {
            MAX_PER_TYPE - 1
        } else {
            MAX_PER_TYPE
        }
    };
    let mut shown = [0usize; 3];
    let mut annotated = String::new();
    let mut logged = String::new();
    let mut not_annotated = 0;
    for finding in findings {
        let slot = &mut shown[finding.severity as usize];
        if *slot < cap(finding.severity) {
            *slot += 1;
            annotated.push_str(&annotation(finding, sources));
            annotated.push('\n');
        } else {
            not_annotated += 1;
            logged.push_str(&concise::line(finding, sources));
            logged.push('\n');
        }
    }
    let mut out = annotated + &logged;
    if not_annotated > 0 {
        let _ = writeln!(
            out,
            "::notice::{not_annotated} more findings not annotated; see the job log"
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes;
    use crate::source::Span;

    #[test]
    fn escapes_data_and_properties() {
        assert_eq!(escape_data("50% a\r\nb: c,d"), "50%25 a%0D%0Ab: c,d");
        assert_eq!(escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
    }

    #[test]
    fn caps_annotations_per_type_and_reports_the_rest() {
        let mut map = SourceMap::new();
        let id = map.add("a.yaml", "x: 1\n");
        let mut findings: Vec<Finding> = (0..12)
            .map(|i| {
                Finding::error(&codes::WRONG_TYPE, format!("e{i}")).at(Span::new(id, 0, 1), "")
            })
            .collect();
        findings.push(Finding::warning(&codes::SHADOWED_RULE, "w").at(Span::new(id, 0, 1), ""));
        findings.extend((0..10).map(|i| Finding::info(&codes::EMPTY_RULE_IDIOM, format!("i{i}"))));
        let out = render(&findings, &map);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines.iter().filter(|l| l.starts_with("::error ")).count(),
            10
        );
        assert_eq!(
            lines.iter().filter(|l| l.starts_with("::warning ")).count(),
            1
        );
        assert_eq!(
            lines.iter().filter(|l| l.starts_with("::notice ")).count(),
            9,
            "one notice slot kept"
        );
        assert_eq!(
            lines.last(),
            Some(&"::notice::3 more findings not annotated; see the job log")
        );
        assert!(lines.contains(&"a.yaml:1:1: error[PC0102] e11"));
    }
}
