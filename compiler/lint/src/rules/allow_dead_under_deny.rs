//! PC0306: an allow rule whose every peer and port is denied by a deny rule of the same policy
//! and subject: deny always wins in Cilium, so the allow is dead.

use crate::context::LintContext;
use crate::coverage::{peers_cover, ports_cover, subject_covers};
use policyc_diagnostics::{codes, Finding};
use policyc_ir::{PolicyRule, RuleAction};

fn denies_all_of(deny: &PolicyRule, allow: &PolicyRule) -> bool {
    deny.action == RuleAction::Deny
        && deny.direction == allow.direction
        && subject_covers(&deny.subject, &allow.subject)
        && !allow.selects_nothing()
        && peers_cover(&deny.peers, &allow.peers)
        && ports_cover(&deny.ports, &allow.ports, true)
}

pub fn check(ctx: &LintContext<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for object in ctx.valid_objects() {
        for allow in object
            .rules
            .iter()
            .filter(|r| r.action == RuleAction::Allow)
        {
            let Some(deny) = object.rules.iter().find(|d| denies_all_of(d, allow)) else {
                continue;
            };
            let (Some(span), Some(deny_span)) = (ctx.rule_span(allow), ctx.rule_span(deny)) else {
                continue;
            };
            findings.push(
                Finding::new(
                    &codes::ALLOW_DEAD_UNDER_DENY,
                    format!(
                        "this {} allow is dead: {} denies all of it",
                        allow.direction,
                        ctx.describe_rule(deny)
                    ),
                )
                .at(span, "nothing this rule allows can pass")
                .related(deny_span, "deny rules always win over allows")
                .help(
                    "remove the allow, or narrow the deny (e.g. with `except` or fewer ports) if the flows are wanted",
                )
                .context(ctx.rule_context(allow)),
            );
        }
    }
    findings
}
