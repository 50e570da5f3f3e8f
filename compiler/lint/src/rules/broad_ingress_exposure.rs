//! PC0311: an ingress allow open to the whole Internet (world, `0.0.0.0/0`, `::/0`, entity
//! `all`, or no peer restriction) on every port, unless an ingress deny for the same endpoints
//! already blocks world on every port.

use crate::context::LintContext;
use crate::coverage::{includes_all_ports, includes_world, peer_covers, subject_covers};
use policyc_diagnostics::{codes, Finding};
use policyc_ir::{Direction, Entity, Peer, PeerSet, PolicyRule, PortMatch, RuleAction};

/// Does `deny` block world (IPv4 and IPv6) on every port for `rule`'s endpoints?
fn blocks_world(deny: &PolicyRule, rule: &PolicyRule) -> bool {
    let world = Peer::Entity(Entity::World);
    deny.action == RuleAction::Deny
        && deny.direction == Direction::Ingress
        && subject_covers(&deny.subject, &rule.subject)
        && matches!(deny.ports, PortMatch::Any)
        && match &deny.peers {
            PeerSet::All => true,
            PeerSet::Some(peers) => peers.iter().any(|p| peer_covers(p, &world)),
        }
}

pub fn check(ctx: &LintContext<'_>) -> Vec<Finding> {
    let denies: Vec<&PolicyRule> = ctx
        .rules()
        .filter(|r| r.action == RuleAction::Deny)
        .collect();
    let mut findings = Vec::new();
    for rule in ctx
        .rules()
        .filter(|r| r.direction == Direction::Ingress && r.action == RuleAction::Allow)
    {
        let Some(who) = includes_world(&rule.peers) else {
            continue;
        };
        if !includes_all_ports(&rule.ports) || denies.iter().any(|d| blocks_world(d, rule)) {
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
