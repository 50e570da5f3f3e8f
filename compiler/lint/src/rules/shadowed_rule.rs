//! PC0304: a rule whose peers and ports are all covered by another rule of the same subject,
//! direction and action (an exact duplicate or an obvious superset such as `entity all`).

use crate::context::LintContext;
use crate::coverage::{is_plain_l4, peers_cover, ports_cover};
use policyc_diagnostics::{codes, Finding};
use policyc_ir::{PolicyRule, PortMatch, RuleAction};

/// Is `outer` certainly a superset of `inner` (same subject, direction, action and auth)?
fn covers(outer: &PolicyRule, inner: &PolicyRule) -> bool {
    outer.subject == inner.subject
        && outer.direction == inner.direction
        && outer.action == inner.action
        && outer.auth == inner.auth
        && (outer.default_deny || !inner.default_deny)
        && !inner.selects_nothing()
        && peers_cover(&outer.peers, &inner.peers)
        && ports_cover(&outer.ports, &inner.ports, false)
}

fn is_duplicate(a: &PolicyRule, b: &PolicyRule) -> bool {
    a.subject == b.subject
        && a.direction == b.direction
        && a.action == b.action
        && a.auth == b.auth
        && a.peers == b.peers
        && a.ports == b.ports
}

/// L7 rules covered by an L3/L4 allow are PC0307's business (it names the affected peer).
fn has_l7(rule: &PolicyRule) -> bool {
    matches!(&rule.ports, PortMatch::Ports(prs) if prs.iter().any(|pr| !is_plain_l4(pr)))
}

pub fn check(ctx: &LintContext<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    // Within one policy object: overlapping policies owned by different teams are normal.
    for object in ctx.valid_objects() {
        check_object(ctx, &object.rules, &mut findings);
    }
    findings
}

fn check_object(ctx: &LintContext<'_>, rules: &[&PolicyRule], findings: &mut Vec<Finding>) {
    for (i, inner) in rules.iter().enumerate() {
        // For duplicates only the later one is reported; for strict supersets, the covered one.
        let shadow = rules.iter().enumerate().find(|(j, outer)| {
            let duplicate = is_duplicate(outer, inner);
            *j != i
                && covers(outer, inner)
                && (!duplicate || *j < i)
                && (duplicate || !has_l7(inner))
        });
        let Some((_, outer)) = shadow else { continue };
        let (Some(span), Some(outer_span)) = (ctx.rule_span(inner), ctx.rule_span(outer)) else {
            continue;
        };
        let verb = if inner.action == RuleAction::Allow {
            "allows"
        } else {
            "denies"
        };
        let (message, label) = if is_duplicate(outer, inner) {
            (
                format!(
                    "this {} rule duplicates {}",
                    inner.direction,
                    ctx.describe_rule(outer)
                ),
                "same subject, peers and ports as the related rule".to_string(),
            )
        } else {
            (
                format!(
                    "this {} rule is shadowed by {}",
                    inner.direction,
                    ctx.describe_rule(outer)
                ),
                format!("every flow this rule {verb} is already covered by the related rule"),
            )
        };
        findings.push(
            Finding::new(&codes::SHADOWED_RULE, message)
                .at(span, label)
                .related(outer_span, "the covering rule")
                .help(
                    "remove this rule, or narrow the covering rule if it is broader than intended",
                )
                .context(ctx.rule_context(inner)),
        );
    }
}
