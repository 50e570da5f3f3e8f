//! What rules say about DNS, shared by the DNS lints (PC0301, PC0302): whether a rule may let
//! DNS through, whether it has `toFQDNs` peers, and where its `toFQDNs` list is.

use crate::context::LintContext;
use crate::coverage::allows_port_without_l7;
use crate::yaml_ext::NodeExt;
use policyc_diagnostics::source::Span;
use policyc_ir::{
    Direction, Peer, PeerSet, PolicyRule, PortMatch, PortProtocol, PortRange, PortSpec, Protocol,
    RuleAction,
};

/// Could this rule let DNS through (TCP or UDP 53 to some peer, with or without DNS L7 rules)?
pub fn may_allow_dns(rule: &PolicyRule) -> bool {
    if rule.direction != Direction::Egress
        || rule.action != RuleAction::Allow
        || rule.selects_nothing()
    {
        return false;
    }
    let dns = |protocol| PortProtocol {
        protocol,
        port: PortSpec::Range(PortRange::single(53)),
    };
    let named_dns = |ports: &PortMatch| {
        match ports {
        PortMatch::Ports(rules) => rules.iter().flat_map(|r| &r.ports).any(|p| {
            matches!(&p.port, PortSpec::Named(name) if name == "dns" || name == "domain" || name.starts_with("dns-"))
        }),
        _ => false,
    }
    };
    let dns_l7 = |ports: &PortMatch| match ports {
        PortMatch::Ports(rules) => rules.iter().any(|r| {
            !r.l7.is_none()
                && r.ports.iter().any(|p| {
                    crate::coverage::port_protocol_covers(p, &dns(Protocol::Udp))
                        || crate::coverage::port_protocol_covers(p, &dns(Protocol::Tcp))
                })
        }),
        _ => false,
    };
    allows_port_without_l7(&rule.ports, &dns(Protocol::Udp))
        || allows_port_without_l7(&rule.ports, &dns(Protocol::Tcp))
        || named_dns(&rule.ports)
        || dns_l7(&rule.ports)
}

pub fn has_fqdn_peer(rule: &PolicyRule) -> bool {
    matches!(&rule.peers, PeerSet::Some(peers) if peers.iter().any(|p| matches!(p, Peer::Fqdn(_))))
}

/// The `toFQDNs` list of the rule (else the rule item).
pub fn fqdn_span(ctx: &LintContext<'_>, rule: &PolicyRule) -> Option<Span> {
    let span = ctx.rule_span(rule)?;
    Some(
        ctx.rule_node(rule)
            .and_then(|node| node.find_entry("toFQDNs").map(|(_, v)| v.span))
            .unwrap_or(span),
    )
}
