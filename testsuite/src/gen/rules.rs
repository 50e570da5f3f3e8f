//! Generated rules, straight in the IR (the frontend has its own tests): random subjects and
//! peer selectors scoped like CNP lowering, entities, CIDRs with `except`, single ports, ranges,
//! named ports, `ANY`, ICMP types, denies, L3-only rules and `enableDefaultDeny: false`.

use super::rng::Rng;
use super::world::{APPS, NAMED_PORTS, NAMESPACES, TIERS};
use policyc_ir::labels::POD_NAMESPACE_KEY;
use policyc_ir::{
    Direction, EndpointSelector, Entity, IcmpMatch, IpFamily, L7Rules, LabelKey, LabelSource,
    Operator, Peer, PeerSet, PolicyKind, PolicyOrigin, PolicyRule, PortMatch, PortProtocol,
    PortRange, PortRule, PortSpec, Prefix, Protocol, Provenance, Requirement, RuleAction, RuleId,
    Subject,
};

/// CIDRs with the excepts that make sense inside them.
const CIDRS: [(&str, &[&str]); 7] = [
    ("203.0.113.0/24", &["203.0.113.64/26", "203.0.113.128/25"]),
    ("203.0.113.0/25", &["203.0.113.0/28"]),
    ("198.51.100.0/24", &["198.51.100.7/32"]),
    ("0.0.0.0/0", &["10.0.0.0/8", "203.0.113.0/24"]),
    ("2001:db8::/32", &["2001:db8:1::/48"]),
    ("2001:db8:1::/48", &[]),
    ("::/0", &["2001:db8::/32"]),
];

const ENTITIES: [Entity; 7] = [
    Entity::World,
    Entity::Cluster,
    Entity::Host,
    Entity::RemoteNode,
    Entity::All,
    Entity::WorldIpv4,
    Entity::KubeApiserver,
];

fn k8s(key: &str) -> LabelKey {
    LabelKey::new(LabelSource::K8s, key)
}

fn scoped(namespace: &str) -> EndpointSelector {
    EndpointSelector::wildcard().with(Requirement::equals(k8s(POD_NAMESPACE_KEY), namespace))
}

fn subject(rng: &mut Rng, namespace: &str) -> EndpointSelector {
    let mut sel = scoped(namespace);
    match rng.below(4) {
        0 => {}
        1 | 2 => sel.add(Requirement::equals(k8s("app"), *rng.pick(&APPS))),
        _ => sel.add(Requirement::equals(k8s("tier"), *rng.pick(&TIERS))),
    }
    sel
}

fn peer_selector(rng: &mut Rng, namespace: &str) -> EndpointSelector {
    let mut sel = if rng.chance(75) {
        scoped(namespace)
    } else {
        let other: &str = NAMESPACES[rng.below(NAMESPACES.len() as u64) as usize];
        scoped(other)
    };
    match rng.below(5) {
        0 => {}
        1 | 2 => sel.add(Requirement::equals(k8s("app"), *rng.pick(&APPS))),
        3 => sel.add(Requirement::new(
            k8s("app"),
            Operator::NotIn,
            [rng.pick(&APPS).to_string()],
        )),
        _ => sel.add(Requirement::equals(k8s("tier"), *rng.pick(&TIERS))),
    }
    sel
}

fn cidr(rng: &mut Rng) -> Peer {
    let (prefix, excepts) = *rng.pick(&CIDRS);
    let except = excepts
        .iter()
        .filter(|_| rng.chance(50))
        .filter_map(|e| Prefix::parse(e).ok())
        .collect();
    match Prefix::parse(prefix) {
        Ok(prefix) => Peer::Cidr { prefix, except },
        Err(_) => Peer::Entity(Entity::World),
    }
}

fn peers(rng: &mut Rng, namespace: &str) -> PeerSet {
    if rng.chance(15) {
        return PeerSet::All;
    }
    let n = rng.range(1, 3);
    let list = (0..n)
        .map(|_| match rng.below(10) {
            0..=4 => Peer::Endpoints(peer_selector(rng, namespace)),
            5..=6 => Peer::Entity(*rng.pick(&ENTITIES)),
            _ => cidr(rng),
        })
        .collect();
    PeerSet::Some(list)
}

fn port_spec(rng: &mut Rng) -> PortSpec {
    match rng.below(10) {
        0..=3 => PortSpec::Range(PortRange::single(
            *rng.pick(&[22, 53, 80, 443, 5432, 8080, 8443, 9090]),
        )),
        4..=6 => {
            let lo = rng.range(1, 60_000) as u16;
            let hi = lo.saturating_add(rng.range(1, 5000) as u16);
            PortSpec::Range(PortRange::from_port_end(lo, Some(hi)))
        }
        7 => PortSpec::Range(*rng.pick(&[
            PortRange::from_port_end(1024, Some(65535)),
            PortRange::from_port_end(1, Some(1023)),
            PortRange::from_port_end(10000, Some(20000)),
        ])),
        _ => PortSpec::Named(rng.pick(&NAMED_PORTS).0.to_string()),
    }
}

fn ports(rng: &mut Rng) -> PortMatch {
    match rng.below(10) {
        0..=1 => PortMatch::Any,
        2 => {
            let n = rng.range(1, 2);
            PortMatch::Icmps(
                (0..n)
                    .map(|_| {
                        if rng.chance(50) {
                            IcmpMatch {
                                family: IpFamily::IPv4,
                                icmp_type: *rng.pick(&[8, 0, 3, 11, 13]),
                            }
                        } else {
                            IcmpMatch {
                                family: IpFamily::IPv6,
                                icmp_type: *rng.pick(&[128, 129, 1, 135]),
                            }
                        }
                    })
                    .collect(),
            )
        }
        _ => {
            let n = rng.range(1, 3);
            let ports = (0..n)
                .map(|_| PortProtocol {
                    protocol: *rng.pick(&[
                        Protocol::Tcp,
                        Protocol::Tcp,
                        Protocol::Udp,
                        Protocol::Sctp,
                        Protocol::Any,
                    ]),
                    port: port_spec(rng),
                })
                .collect();
            PortMatch::Ports(vec![PortRule {
                ports,
                l7: L7Rules::None,
                server_names: Vec::new(),
                unsupported: Vec::new(),
            }])
        }
    }
}

/// `count` random rules (ids `0..count`).
pub fn rules(rng: &mut Rng, count: usize) -> Vec<PolicyRule> {
    (0..count)
        .map(|i| {
            let namespace = *rng.pick(&NAMESPACES);
            let direction = if rng.chance(50) {
                Direction::Ingress
            } else {
                Direction::Egress
            };
            let action = if rng.chance(25) {
                RuleAction::Deny
            } else {
                RuleAction::Allow
            };
            let path = format!(
                "spec.{}{}[{i}]",
                direction,
                if action == RuleAction::Deny {
                    "Deny"
                } else {
                    ""
                }
            );
            PolicyRule {
                id: RuleId(u32::try_from(i).unwrap_or(u32::MAX)),
                origin: PolicyOrigin {
                    kind: PolicyKind::CiliumNetworkPolicy,
                    namespace: Some(namespace.to_string()),
                    name: format!("gen-{i}"),
                },
                provenance: Provenance::synthetic(path),
                subject: Subject::Endpoints(subject(rng, namespace)),
                direction,
                action,
                peers: peers(rng, namespace),
                ports: ports(rng),
                default_deny: !rng.chance(15),
                auth: None,
                log: None,
            }
        })
        .collect()
}
