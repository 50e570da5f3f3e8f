//! PC0311: an ingress allow open to the whole Internet (world, `0.0.0.0/0`, `::/0`, entity
//! `all`, or no peer restriction) on every port.

use crate::diagnostics::{codes, Finding};
use crate::lint::context::LintContext;
use crate::lint::coverage::{includes_all_ports, includes_world};
use policyc_ir::{Direction, RuleAction};

pub fn check(ctx: &LintContext<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for rule in ctx
        .rules()
        .filter(|r| r.direction == Direction::Ingress && r.action == RuleAction::Allow)
    {
        let Some(who) = includes_world(&rule.peers) else {
            continue;
        };
        if !includes_all_ports(&rule.ports) {
            continue;
        }
        let Some(span) = ctx.rule_span(rule) else {
            continue;
        };
        findings.push(
            Finding::new(
                &codes::BROAD_INGRESS_EXPOSURE,
                format!("ingress from {who} on every port: the selected endpoints are exposed to the Internet"),
            )
            .at(span, "allows any source, including world, on all ports and protocols")
            .help("restrict the peers (`fromEndpoints`, a narrower `fromCIDR`) or the ports (`toPorts`) to what is needed")
            .context(ctx.rule_context(rule)),
        );
    }
    findings
}
