//! The `lint:` section applied to findings: which warnings and infos are reported, at which
//! severity, and the level that fails the run. Errors are never dropped or lowered (the
//! schema refuses a configuration that tries: `build` refuses those policies).

use policyc_diagnostics::{Finding, Severity};
use std::collections::{BTreeMap, BTreeSet};

/// `lint.fail-level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailLevel {
    Error,
    Warning,
}

/// The lint section of a configuration; codes by id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LintRules {
    /// `lint.enable`: when present, only these codes among warnings and infos are reported.
    pub enable: Option<BTreeSet<&'static str>>,
    /// `lint.disable`: codes never reported (warnings and infos only).
    pub disable: BTreeSet<&'static str>,
    /// `lint.severity`: the severity a code is reported at.
    pub severity: BTreeMap<&'static str, Severity>,
    /// `lint.fail-level`: default of `--fail-level`.
    pub fail_level: Option<FailLevel>,
}

impl LintRules {
    /// Drops the disabled (or not enabled) warnings and infos and re-ranks the rest.
    pub fn apply(&self, findings: &mut Vec<Finding>) {
        findings.retain(|f| {
            f.severity == Severity::Error
                || (!self.disable.contains(f.code.id)
                    && self.enable.as_ref().is_none_or(|e| e.contains(f.code.id)))
        });
        for finding in findings {
            if let Some(level) = self.severity.get(finding.code.id) {
                // Never lower an error, whatever its code's default.
                if finding.severity != Severity::Error || *level == Severity::Error {
                    finding.severity = *level;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use policyc_diagnostics::codes;

    fn findings() -> Vec<Finding> {
        vec![
            Finding::new(&codes::SHADOWED_RULE, "w"),
            Finding::new(&codes::HTTP_PATH_LOOKS_LIKE_PREFIX, "w2"),
            Finding::new(&codes::EMPTY_RULE_IDIOM, "i"),
            Finding::new(&codes::INVALID_CIDR, "e"),
        ]
    }

    fn ids(findings: &[Finding]) -> Vec<(&str, Severity)> {
        findings.iter().map(|f| (f.code.id, f.severity)).collect()
    }

    #[test]
    fn disable_drops_warnings_and_keeps_errors() {
        let rules = LintRules {
            disable: ["PC0304", "PC0202"].into(),
            ..LintRules::default()
        };
        let mut f = findings();
        rules.apply(&mut f);
        assert_eq!(
            ids(&f),
            [
                ("PC0308", Severity::Warning),
                ("PC0303", Severity::Info),
                ("PC0202", Severity::Error)
            ]
        );
    }

    #[test]
    fn enable_keeps_only_the_listed_warnings_and_every_error() {
        let rules = LintRules {
            enable: Some(["PC0303"].into()),
            ..LintRules::default()
        };
        let mut f = findings();
        rules.apply(&mut f);
        assert_eq!(
            ids(&f),
            [("PC0303", Severity::Info), ("PC0202", Severity::Error)]
        );
    }

    #[test]
    fn severity_raises_and_never_lowers_an_error() {
        let rules = LintRules {
            severity: [("PC0308", Severity::Error), ("PC0202", Severity::Info)].into(),
            ..LintRules::default()
        };
        let mut f = findings();
        rules.apply(&mut f);
        assert_eq!(f[1].severity, Severity::Error);
        assert_eq!(f[3].severity, Severity::Error);
    }
}
