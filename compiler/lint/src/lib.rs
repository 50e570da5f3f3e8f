//! `policyc lint`'s semantic half: rules over the IR and the policy YAML that find valid policies
//! which probably do not do what was meant (PC03xx, one file per rule in `rules/`), plus
//! per-object suppression with the `policyc.io/ignore` annotation.
//!
//! Entry points: [`lint_policy_set`] (frontend findings + lints, suppressions applied, sorted) and
//! [`run_lints`] (lints only, unsuppressed).

pub mod context;
pub mod coverage;
pub mod describe;
pub mod dns_rules;
pub mod rules;
pub mod suppression;
pub mod walk;
pub mod yaml_ext;

pub use context::{ClusterAddresses, LintContext, LintInput, YamlForest};

use policyc_diagnostics::source::SourceMap;
use policyc_diagnostics::Finding;
use policyc_frontend::PolicySet;

/// Every semantic lint over `input`, before suppressions.
#[must_use]
pub fn run_lints(input: LintInput<'_>) -> Vec<Finding> {
    let forest = YamlForest::parse(input.objects, input.sources);
    let ctx = LintContext::new(input, &forest);
    rules::ALL.iter().flat_map(|(_, rule)| rule(&ctx)).collect()
}

/// The findings of `policyc lint` for a loaded policy set: the frontend's syntax, schema and
/// validation findings plus the semantic lints, with `policyc.io/ignore` suppressions applied,
/// sorted by file, position and code.
#[must_use]
pub fn lint_policy_set(
    set: &PolicySet,
    sources: &SourceMap,
    cluster: Option<&ClusterAddresses>,
) -> Vec<Finding> {
    let input = LintInput {
        rules: &set.rules,
        objects: &set.objects,
        sources,
        cluster,
    };
    let forest = YamlForest::parse(input.objects, input.sources);
    let ctx = LintContext::new(input, &forest);
    let mut findings: Vec<Finding> = set.findings.clone();
    findings.extend(rules::ALL.iter().flat_map(|(_, rule)| rule(&ctx)));
    let mut findings = suppression::apply(findings, &ctx.objects);
    findings.sort_by_key(|f| {
        let place = f
            .primary
            .as_ref()
            .map(|p| (p.span.source.index(), p.span.start, p.span.end));
        (place, f.code.id)
    });
    findings
}

#[cfg(test)]
mod tests {
    use super::rules;
    use policyc_diagnostics::codes;

    #[test]
    fn every_rule_has_a_registered_semantic_code() {
        for (id, _) in rules::ALL {
            let code = codes::lookup(id);
            assert_eq!(
                code.map(|c| c.category()),
                Some("semantic"),
                "{id} is not a registered PC03xx code"
            );
        }
    }
}
