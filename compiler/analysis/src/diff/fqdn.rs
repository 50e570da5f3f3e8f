//! toFQDNs peers: addresses learned from DNS answers have the world identity, so identity-based
//! resolution cannot see them. For every endpoint an FQDN rule selects (on either side) and every
//! name a `toFQDNs` selector mentions (a wildcard pattern stands in by one matching name), the
//! oracle is asked once per elementary port interval of all rules' port boundaries — exact in
//! ports, one representative per pattern in names.

use super::delta::{compare, DeltaSet, PeerDelta, PortChange, Side};
use super::model::Cause;
use super::peers::PeerAtom;
use super::verdict::{side_verdict, SemFunction, SemFunctions, SemInterval, SemVerdict};
use policyc_compile::resolve::PolicyProtocol;
use policyc_ir::oracle::{subject_selects, Flow, FlowPeer, Oracle, Party, Reason, Transport};
use policyc_ir::universe::EndpointKey;
use policyc_ir::{
    Direction, IpFamily, Peer, PeerSet, PolicyRule, PortMatch, PortSpec, ReservedIdentity,
};
use std::collections::BTreeSet;

/// One name per `toFQDNs` selector of either rule set.
pub fn fqdn_names(rules: &[&PolicyRule]) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for rule in rules {
        let PeerSet::Some(peers) = &rule.peers else {
            continue;
        };
        for peer in peers {
            if let Peer::Fqdn(selector) = peer {
                let text = selector.pattern().as_str().trim_end_matches('.');
                let name = text.replace("**.", "a.b.").replace('*', "a");
                if selector.matches(&name) {
                    names.insert(name);
                }
            }
        }
    }
    names
}

fn has_fqdn_peer(rule: &PolicyRule) -> bool {
    matches!(&rule.peers, PeerSet::Some(p) if p.iter().any(|p| matches!(p, Peer::Fqdn(_))))
}

const PROTOCOLS: [PolicyProtocol; 4] = [
    PolicyProtocol::Tcp,
    PolicyProtocol::Udp,
    PolicyProtocol::Sctp,
    PolicyProtocol::Icmp,
];

/// Adds FQDN peer deltas; a delta identical to the plain `world` peer's is left out (the world
/// row already says it).
pub fn fqdn_deltas(base: &Side<'_>, head: &Side<'_>, out: &mut DeltaSet) {
    let all: Vec<&PolicyRule> = base.rules.iter().chain(head.rules.iter()).collect();
    let names = fqdn_names(&all);
    if names.is_empty() {
        return;
    }
    let fqdn_rules: Vec<(&Side<'_>, &PolicyRule)> = [base, head]
        .into_iter()
        .flat_map(|s| {
            s.rules
                .iter()
                .filter(|r| r.direction == Direction::Egress && has_fqdn_peer(r))
                .map(move |r| (s, r))
        })
        .collect();
    let cuts: Vec<(PolicyProtocol, Vec<u32>)> = PROTOCOLS
        .into_iter()
        .map(|p| (p, cuts(&all, p, base, head)))
        .collect();
    for subject in super::delta::subjects(base, head) {
        let selected = fqdn_rules.iter().any(|(side, rule)| {
            Party::resolve(side.universe, &FlowPeer::Endpoint(subject.clone()))
                .is_ok_and(|p| subject_selects(rule, &p, side.universe.cluster()))
        });
        if !selected {
            continue;
        }
        let world_changes = world_delta(&subject, out);
        for name in &names {
            let before = functions(base, &subject, Some(name), &cuts);
            let after = functions(head, &subject, Some(name), &cuts);
            let changes = compare(&before, &after);
            if changes.is_empty() || changes == world_changes {
                continue;
            }
            let id = out.intern(changes);
            let cause = match (
                base.universe.endpoint(&subject),
                head.universe.endpoint(&subject),
            ) {
                (None, _) => Cause::EndpointAdded,
                (_, None) => Cause::EndpointRemoved,
                _ => Cause::Policy,
            };
            out.peers.push(PeerDelta {
                subject: subject.clone(),
                direction: Direction::Egress,
                atom: PeerAtom::Fqdn(name.clone()),
                cause,
                changes: id,
            });
        }
    }
}

/// The changes of the plain `world` peer of this endpoint's egress, restricted to the protocols
/// FQDN peers are evaluated for.
fn world_delta(subject: &EndpointKey, out: &DeltaSet) -> Vec<PortChange> {
    out.peers
        .iter()
        .find(|d| {
            d.subject == *subject
                && d.direction == Direction::Egress
                && d.atom == PeerAtom::Reserved(ReservedIdentity::World)
        })
        .and_then(|d| out.changes.get(d.changes))
        .map(|c| {
            c.iter()
                .filter(|c| PROTOCOLS.contains(&c.protocol))
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

/// Interval starts per protocol: every range end, named port and ICMP type of every rule.
fn cuts(
    rules: &[&PolicyRule],
    protocol: PolicyProtocol,
    base: &Side<'_>,
    head: &Side<'_>,
) -> Vec<u32> {
    let mut cuts: BTreeSet<u32> = BTreeSet::from([0]);
    let Some(ir) = protocol.ir() else {
        return vec![0];
    };
    for rule in rules {
        match &rule.ports {
            PortMatch::Any => {}
            PortMatch::Icmps(icmps) => {
                for m in icmps.iter().filter(|m| m.protocol() == ir) {
                    cuts.insert(u32::from(m.icmp_type));
                    cuts.insert(u32::from(m.icmp_type) + 1);
                }
            }
            PortMatch::Ports(prs) => {
                for pp in prs
                    .iter()
                    .flat_map(|pr| pr.ports.iter())
                    .filter(|pp| pp.protocol.expand().contains(&ir))
                {
                    match &pp.port {
                        PortSpec::Range(r) => {
                            cuts.insert(u32::from(r.lo()));
                            cuts.insert(u32::from(r.hi()) + 1);
                        }
                        PortSpec::Named(name) => {
                            for side in [base, head] {
                                for np in side
                                    .universe
                                    .endpoints()
                                    .iter()
                                    .filter_map(|e| e.named_ports.get(name))
                                {
                                    cuts.insert(u32::from(np.port));
                                    cuts.insert(u32::from(np.port) + 1);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    let end = if protocol.is_icmp() { 255 } else { 65535 };
    cuts.into_iter().filter(|c| *c <= end).collect()
}

fn transport(protocol: PolicyProtocol, port: u32) -> Option<Transport> {
    let p16 = u16::try_from(port).unwrap_or(u16::MAX);
    let ty = u8::try_from(port).unwrap_or(u8::MAX);
    match protocol {
        PolicyProtocol::Tcp => Some(Transport::Tcp { port: p16 }),
        PolicyProtocol::Udp => Some(Transport::Udp { port: p16 }),
        PolicyProtocol::Sctp => Some(Transport::Sctp { port: p16 }),
        PolicyProtocol::Icmp => Some(Transport::Icmp {
            family: IpFamily::IPv4,
            icmp_type: ty,
        }),
        PolicyProtocol::Icmpv6 => Some(Transport::Icmp {
            family: IpFamily::IPv6,
            icmp_type: ty,
        }),
        PolicyProtocol::Other => None,
    }
}

/// The functions of `subject`'s egress towards world addresses resolved from `name`.
fn functions(
    side: &Side<'_>,
    subject: &EndpointKey,
    name: Option<&str>,
    cuts: &[(PolicyProtocol, Vec<u32>)],
) -> SemFunctions {
    let absent = || {
        vec![SemInterval {
            lo: 0,
            hi: u16::MAX,
            verdict: SemVerdict::Absent,
            rules: Vec::new(),
            default_deny: false,
        }]
    };
    let oracle = Oracle::new(side.universe, side.rules);
    let world = side.universe.world_identity(false);
    cuts.iter()
        .map(|(protocol, starts)| {
            if side.universe.endpoint(subject).is_none() {
                return (*protocol, absent());
            }
            let mut f: SemFunction = Vec::with_capacity(starts.len());
            for (n, start) in starts.iter().enumerate() {
                let end = starts.get(n + 1).map_or(65535, |next| next - 1);
                let Some(t) = transport(*protocol, *start) else {
                    continue;
                };
                let mut flow = Flow::new(
                    FlowPeer::Endpoint(subject.clone()),
                    FlowPeer::Entity(policyc_ir::Entity::World),
                    t,
                );
                if let Some(name) = name {
                    flow = flow.with_resolved_from(name);
                }
                let lo = u16::try_from(*start).unwrap_or(u16::MAX);
                let (verdict, rules, default_deny) =
                    match oracle.endpoint_verdict(subject, Direction::Egress, world, &flow) {
                        Ok(v) => (
                            side_verdict(&v, *protocol, lo, &side.index),
                            v.deciding.clone(),
                            v.reason == Reason::DefaultDeny,
                        ),
                        Err(_) => (SemVerdict::Absent, Vec::new(), false),
                    };
                let hi = u16::try_from(end).unwrap_or(u16::MAX);
                f.push(SemInterval {
                    lo,
                    hi,
                    verdict,
                    rules,
                    default_deny,
                });
            }
            (*protocol, f)
        })
        .collect()
}
