//! PC0307: L7 rules (HTTP, Kafka, l7proto) on a port that another allow rule of the same
//! endpoints opens for the same peer without L7 rules — Cilium then wildcards L7 for that peer,
//! so the L7 rules have no effect for it.

use crate::context::LintContext;
use crate::coverage::{
    allows_port_without_l7, covered_peers, has_enforcing_l7, subject_covers, SubjectIndex,
};
use crate::walk::port_rules;
use crate::yaml_ext::NodeExt;
use policyc_diagnostics::{codes, Finding};
use policyc_ir::{PolicyRule, PortMatch, RuleAction};

pub fn check(ctx: &LintContext<'_>) -> Vec<Finding> {
    let allows: Vec<&PolicyRule> = ctx
        .rules()
        .filter(|r| r.action == RuleAction::Allow)
        .collect();
    let covering = SubjectIndex::new(allows.iter().map(|r| &r.subject));
    let mut findings = Vec::new();
    for rule in &allows {
        let PortMatch::Ports(port_rules_ir) = &rule.ports else {
            continue;
        };
        for (index, port_rule) in port_rules_ir.iter().enumerate() {
            if !has_enforcing_l7(port_rule) || port_rule.ports.is_empty() {
                continue;
            }
            let bypass = covering
                .candidates(&rule.subject)
                .into_iter()
                .map(|position| allows[position])
                .filter(|other| other.id != rule.id)
                .find_map(|other| {
                    let same_endpoints = other.direction == rule.direction
                        && subject_covers(&other.subject, &rule.subject);
                    if !same_endpoints
                        || !port_rule
                            .ports
                            .iter()
                            .all(|entry| allows_port_without_l7(&other.ports, entry))
                    {
                        return None;
                    }
                    let peers = covered_peers(&other.peers, &rule.peers);
                    let all_peers = matches!(other.peers, policyc_ir::PeerSet::All);
                    (all_peers || !peers.is_empty()).then(|| {
                        if all_peers || matches!(rule.peers, policyc_ir::PeerSet::All) {
                            (other, "every peer".to_string())
                        } else {
                            (
                                other,
                                peers
                                    .iter()
                                    .map(|p| crate::describe::peer(p))
                                    .collect::<Vec<_>>()
                                    .join(", "),
                            )
                        }
                    })
                });
            let Some((other, peers)) = bypass else {
                continue;
            };
            let (Some(rule_span), Some(other_span)) = (ctx.rule_span(rule), ctx.rule_span(other))
            else {
                continue;
            };
            let span = ctx
                .rule_node(rule)
                .and_then(|node| {
                    let (_, pr) = port_rules(node).nth(index)?;
                    pr.entry("rules").map(|(key, _)| key.span)
                })
                .unwrap_or(rule_span);
            let ports: Vec<String> = port_rule
                .ports
                .iter()
                .map(|p| format!("{}/{}", p.protocol, p.port))
                .collect();
            findings.push(
                Finding::new(
                    &codes::L7_RULES_BYPASSED,
                    format!(
                        "the {} rules on {} have no effect for {peers}: {} allows that traffic without L7 rules",
                        port_rule.l7.kind().to_uppercase(),
                        ports.join(", "),
                        ctx.describe_rule(other)
                    ),
                )
                .at(
                    span,
                    "these L7 rules are wildcarded for the peers the related rule allows",
                )
                .related(other_span, "allows the same peer and port with no L7 restriction")
                .help("narrow the related rule's peers or ports, or add the same L7 rules to it")
                .context(ctx.rule_context(rule)),
            );
        }
    }
    findings
}
