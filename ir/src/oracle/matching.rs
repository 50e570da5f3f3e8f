//! Does a rule's subject select an endpoint, does one of its peers match the other party, and
//! which of its port rules cover the flow's transport (named ports resolved per endpoint)?

use super::flow::Transport;
use super::party::Party;
use crate::entity::ReservedIdentity;
use crate::identity::IdentityKind;
use crate::l7::L7Rules;
use crate::ports::{PortSpec, Protocol};
use crate::prefix::Prefix;
use crate::rule::{Direction, Peer, PeerSet, PolicyRule, PortMatch, PortProtocol, Subject};
use crate::universe::{NamedPort, Universe};

/// Does `rule` apply to `party` (as the endpoint or node whose policy is evaluated)?
pub fn subject_selects(rule: &PolicyRule, party: &Party<'_>, cluster: &str) -> bool {
    match (&rule.subject, party.endpoint, party.node_labels(cluster)) {
        (Subject::Endpoints(sel), Some(ep), _) => sel.matches(&ep.labels),
        (Subject::Nodes(sel), None, Some(labels)) => sel.matches(&labels),
        _ => false,
    }
}

/// A peer kind that can only match with extra context (toFQDNs) is left to the caller.
pub enum PeerMatch {
    Yes,
    No,
    /// The rule's only way to match this party is through these toFQDNs selectors.
    ViaFqdn,
}

/// Does the L3 part of `rule` match `peer`? toFQDNs peers answer `ViaFqdn` when nothing else
/// matched and the peer is outside the cluster.
pub fn peer_matches(rule: &PolicyRule, peer: &Party<'_>, cluster: &str) -> PeerMatch {
    let peers = match &rule.peers {
        PeerSet::All => return PeerMatch::Yes,
        PeerSet::Some(peers) => peers,
    };
    let mut fqdn = false;
    for p in peers {
        match p {
            Peer::Fqdn(_) => fqdn |= peer.identity.is_world(),
            other if single_peer_matches(other, peer, cluster) => return PeerMatch::Yes,
            _ => {}
        }
    }
    if fqdn {
        PeerMatch::ViaFqdn
    } else {
        PeerMatch::No
    }
}

fn single_peer_matches(p: &Peer, peer: &Party<'_>, cluster: &str) -> bool {
    let labels = &peer.identity.labels;
    match p {
        Peer::Endpoints(sel) => sel.matches(labels),
        Peer::Entity(entity) => entity.selectors(cluster).iter().any(|s| s.matches(labels)),
        Peer::Cidr { prefix, except } => cidr_matches(prefix, except, &peer.identity.kind),
        Peer::Nodes(sel) => peer.node_labels(cluster).is_some_and(|l| sel.matches(&l)),
        Peer::Fqdn(_) | Peer::Unresolved { .. } => false,
    }
}

/// CIDR selectors match CIDR identities by containment (minus `except`) and the world
/// identities through the default route; never pods or nodes.
pub fn cidr_matches(prefix: &Prefix, except: &[Prefix], kind: &IdentityKind) -> bool {
    match kind {
        IdentityKind::Cidr(p) => prefix.contains(p) && !except.iter().any(|e| e.contains(p)),
        IdentityKind::Reserved(ReservedIdentity::World) => prefix.is_default_route(),
        IdentityKind::Reserved(ReservedIdentity::WorldIpv4) => {
            prefix.is_default_route() && prefix.is_ipv4()
        }
        IdentityKind::Reserved(ReservedIdentity::WorldIpv6) => {
            prefix.is_default_route() && !prefix.is_ipv4()
        }
        _ => false,
    }
}

/// The named ports a rule's port name may stand for: on ingress the selected endpoint's own
/// container ports, on egress those of every endpoint in the universe.
fn named_port_candidates<'u>(
    name: &str,
    direction: Direction,
    subject: &Party<'u>,
    universe: &'u Universe,
) -> Vec<NamedPort> {
    match direction {
        Direction::Ingress => subject
            .endpoint
            .and_then(|e| e.named_ports.get(name))
            .copied()
            .into_iter()
            .collect(),
        Direction::Egress => universe
            .endpoints()
            .iter()
            .filter_map(|e| e.named_ports.get(name).copied())
            .collect(),
    }
}

fn port_protocol_covers(
    pp: &PortProtocol,
    transport: Transport,
    direction: Direction,
    subject: &Party<'_>,
    universe: &Universe,
) -> bool {
    let Some(port) = transport.port() else {
        return false;
    };
    let proto = transport.protocol();
    if !pp.protocol.expand().contains(&proto) {
        return false;
    }
    match &pp.port {
        PortSpec::Range(r) => r.contains(port),
        PortSpec::Named(name) => named_port_candidates(name, direction, subject, universe)
            .iter()
            .any(|np| np.port == port && np.protocol == proto),
    }
}

/// The L7 rule sets of `rule` whose L4 part covers the transport: `Some(vec![])` never occurs;
/// `None` = the L4 part does not cover it. An L4 match without L7 yields `[L7Rules::None]`.
pub fn port_matches<'r>(
    rule: &'r PolicyRule,
    transport: Transport,
    direction: Direction,
    subject: &Party<'_>,
    universe: &Universe,
) -> Option<Vec<&'r L7Rules>> {
    static NO_L7: L7Rules = L7Rules::None;
    match &rule.ports {
        PortMatch::Any => Some(vec![&NO_L7]),
        PortMatch::Icmps(icmps) => match transport {
            Transport::Icmp { family, icmp_type } => icmps
                .iter()
                .any(|m| m.family == family && m.icmp_type == icmp_type)
                .then(|| vec![&NO_L7]),
            _ => None,
        },
        PortMatch::Ports(port_rules) => {
            let covered: Vec<&L7Rules> = port_rules
                .iter()
                .filter(|pr| {
                    pr.ports.is_empty()
                        || pr.ports.iter().any(|pp| {
                            port_protocol_covers(pp, transport, direction, subject, universe)
                        })
                })
                .map(|pr| &pr.l7)
                .collect();
            (!covered.is_empty()).then_some(covered)
        }
    }
}

/// Does `rule` carry a `rules.dns` entry (on some port, towards some peer) that lets a lookup
/// of `name` through the DNS proxy?
pub fn dns_rule_allows(rule: &PolicyRule, name: &str) -> bool {
    if rule.selects_nothing() {
        return false;
    }
    let PortMatch::Ports(port_rules) = &rule.ports else {
        return false;
    };
    port_rules.iter().any(|pr| match &pr.l7 {
        L7Rules::Dns(patterns) => {
            !pr.ports.iter().all(|pp| pp.protocol == Protocol::Sctp)
                && patterns.iter().any(|p| p.matches(name))
        }
        _ => false,
    })
}
