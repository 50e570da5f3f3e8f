//! Deterministic ordering of findings, counts per severity and the fail-level check.

use super::finding::Finding;
use super::severity::Severity;
use crate::source::SourceMap;
use std::cmp::Ordering;

/// Number of findings per severity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
}

impl Summary {
    #[must_use]
    pub fn of(findings: &[Finding]) -> Self {
        let mut summary = Summary::default();
        for finding in findings {
            match finding.severity {
                Severity::Error => summary.errors += 1,
                Severity::Warning => summary.warnings += 1,
                Severity::Info => summary.infos += 1,
            }
        }
        summary
    }

    #[must_use]
    pub fn total(&self) -> usize {
        self.errors + self.warnings + self.infos
    }

    /// `2 errors, 1 warning, 0 infos`.
    #[must_use]
    pub fn line(&self) -> String {
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        format!(
            "{}, {}, {}",
            plural(self.errors, "error"),
            plural(self.warnings, "warning"),
            plural(self.infos, "info")
        )
    }
}

/// How many findings are at or above `level` (the `--fail-level` check: non-zero → exit 1).
#[must_use]
pub fn count_at_or_above(findings: &[Finding], level: Severity) -> usize {
    findings.iter().filter(|f| f.severity >= level).count()
}

/// Sort by file path, line, column, code, then message. Findings without a location come first.
pub fn sort_findings(findings: &mut [Finding], sources: &SourceMap) {
    findings.sort_by(|a, b| compare(a, b, sources));
}

fn sort_key<'a>(
    finding: &'a Finding,
    sources: &'a SourceMap,
) -> (Option<(&'a str, usize, usize)>, &'a str, &'a str) {
    let location = finding.primary.as_ref().map(|label| {
        let at = sources.line_col(label.span.source, label.span.start);
        (sources.path(label.span.source), at.line, at.col)
    });
    (location, finding.code.id, finding.message.as_str())
}

fn compare(a: &Finding, b: &Finding, sources: &SourceMap) -> Ordering {
    sort_key(a, sources).cmp(&sort_key(b, sources))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes;
    use crate::source::Span;

    #[test]
    fn sorts_by_file_line_column_code() {
        let mut map = SourceMap::new();
        let b = map.add("b.yaml", "x: 1\ny: 2\n");
        let a = map.add("a.yaml", "x: 1\ny: 2\n");
        let mut findings = vec![
            Finding::error(&codes::WRONG_TYPE, "b second line").at(Span::new(b, 5, 6), ""),
            Finding::error(&codes::WRONG_TYPE, "a second line").at(Span::new(a, 5, 6), ""),
            Finding::error(&codes::UNKNOWN_FIELD, "a second line, smaller code")
                .at(Span::new(a, 5, 6), ""),
            Finding::error(&codes::WRONG_TYPE, "b first line").at(Span::new(b, 0, 1), ""),
            Finding::error(&codes::UNREADABLE_FILE, "no location"),
        ];
        sort_findings(&mut findings, &map);
        let order: Vec<_> = findings.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            order,
            [
                "no location",
                "a second line, smaller code",
                "a second line",
                "b first line",
                "b second line"
            ]
        );
    }

    #[test]
    fn fail_level_counts_at_or_above() {
        let findings = vec![
            Finding::error(&codes::WRONG_TYPE, "e"),
            Finding::warning(&codes::SHADOWED_RULE, "w"),
            Finding::info(&codes::EMPTY_RULE_IDIOM, "i"),
        ];
        assert_eq!(count_at_or_above(&findings, Severity::Error), 1);
        assert_eq!(count_at_or_above(&findings, Severity::Warning), 2);
        assert_eq!(count_at_or_above(&findings, Severity::Info), 3);
        assert_eq!(Summary::of(&findings).line(), "1 error, 1 warning, 1 info");
    }
}
