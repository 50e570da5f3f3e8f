//! Property: the resolver (selector cache + interval algebra) agrees with the oracle on every
//! (endpoint, direction, peer identity, protocol, port) of generated policy sets — selectors
//! with every operator and label source, entities, nodes, CIDRs with excepts, toFQDNs, single
//! ports, ranges up to 65535, named ports, `ANY`, ICMP types (255 included), port rules without
//! ports, several port rules per rule, L7 (HTTP, DNS, Kafka, generic), denies, authentication,
//! `enableDefaultDeny: false`, and every enforcement / allow-localhost mode.
//!
//! Two checks per endpoint:
//! 1. the whole resolution (groups, identities, deciding rules, FQDN pseudo-identities, the
//!    `other` protocol, the Cilium key count) equals the reference resolution that asks the
//!    oracle once per piece of the port space (`resolve_endpoint_by_oracle`);
//! 2. the oracle over the full rule table, asked directly per peer identity at every interval
//!    end of the resolved functions and at every rule boundary (±1), gives the same verdict and
//!    deciding rules. Between those probes neither side can change, so this covers every port.

use policyc_compile::resolve::{
    resolve_endpoint, resolve_endpoint_by_oracle, L7PolicyId, PolicyProtocol, ResolvedDirection,
    Verdict,
};
use policyc_frontend::identity::build_universe;
use policyc_ir::fqdn::FqdnPattern;
use policyc_ir::l7::{HttpRule, KafkaRule};
use policyc_ir::labels::{CLUSTER_KEY, POD_NAMESPACE_KEY};
use policyc_ir::oracle::{Decision, Flow, FlowPeer, Oracle, Reason, SideVerdict, Transport};
use policyc_ir::rule::AuthMode;
use policyc_ir::universe::UniverseOptions;
use policyc_ir::universe::{AllowLocalhost, EndpointKey, EnforcementMode, Universe};
use policyc_ir::{
    Direction, EndpointSelector, Entity, FqdnSelector, IcmpMatch, IpFamily, L7Rules, LabelKey,
    LabelSource, Operator, Peer, PeerSet, PolicyKind, PolicyOrigin, PolicyRule, PortMatch,
    PortProtocol, PortRange, PortRule, PortSpec, Prefix, Protocol, Provenance, Requirement,
    RuleAction, RuleId, Subject,
};
use policyc_testsuite::gen::{self, Rng};
use proptest::prelude::*;
use std::collections::BTreeSet;

const NAMESPACES: [&str; 3] = ["alpha", "beta", "gamma"];
const APPS: [&str; 5] = ["web", "api", "db", "cache", "worker"];
const CIDRS: [(&str, &[&str]); 6] = [
    ("203.0.113.0/24", &["203.0.113.64/26", "203.0.113.128/25"]),
    ("198.51.100.0/24", &["198.51.100.7/32"]),
    ("0.0.0.0/0", &["10.0.0.0/8", "203.0.113.0/24"]),
    ("2001:db8::/32", &["2001:db8:1::/48"]),
    ("::/0", &["2001:db8::/32"]),
    ("198.18.1.0/24", &[]),
];
const ENTITIES: [Entity; 9] = [
    Entity::World,
    Entity::Cluster,
    Entity::Host,
    Entity::RemoteNode,
    Entity::All,
    Entity::WorldIpv4,
    Entity::WorldIpv6,
    Entity::KubeApiserver,
    Entity::Health,
];
const NAMED: [&str; 5] = ["http", "metrics", "dns", "grpc", "absent"];

/// One requirement, by small numbers (shrinks towards `namespace = alpha`).
#[derive(Debug, Clone)]
struct RequirementSpec {
    kind: u8,
    value: u8,
}

fn requirement(spec: &RequirementSpec) -> Requirement {
    let k8s = |k: &str| LabelKey::new(LabelSource::K8s, k);
    let app = APPS[usize::from(spec.value) % APPS.len()].to_string();
    match spec.kind % 8 {
        0 => Requirement::equals(
            k8s(POD_NAMESPACE_KEY),
            NAMESPACES[usize::from(spec.value) % 3],
        ),
        1 => Requirement::equals(k8s("app"), app),
        2 => Requirement::new(k8s("app"), Operator::NotIn, [app]),
        3 => Requirement::new(
            LabelKey::new(LabelSource::Any, "tier"),
            Operator::In,
            ["front".to_string(), "back".to_string()],
        ),
        4 => Requirement::exists(k8s("tier")),
        5 => Requirement::new(k8s("app"), Operator::DoesNotExist, []),
        6 => Requirement::exists(LabelKey::new(LabelSource::Reserved, "host")),
        _ => Requirement::equals(k8s(CLUSTER_KEY), "default"),
    }
}

fn selector(reqs: &[RequirementSpec]) -> EndpointSelector {
    EndpointSelector::from_requirements(reqs.iter().map(requirement))
}

#[derive(Debug, Clone)]
enum PeerSpec {
    Endpoints(Vec<RequirementSpec>),
    Entity(u8),
    Cidr(u8, u8),
    Fqdn(u8),
    Nodes(u8),
    Unresolved,
}

fn peer(spec: &PeerSpec) -> Peer {
    match spec {
        PeerSpec::Endpoints(reqs) => Peer::Endpoints(selector(reqs)),
        PeerSpec::Entity(e) => Peer::Entity(ENTITIES[usize::from(*e) % ENTITIES.len()]),
        PeerSpec::Cidr(c, mask) => {
            let (prefix, excepts) = CIDRS[usize::from(*c) % CIDRS.len()];
            let except = excepts
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .filter_map(|(_, e)| Prefix::parse(e).ok())
                .collect();
            match Prefix::parse(prefix) {
                Ok(prefix) => Peer::Cidr { prefix, except },
                Err(_) => Peer::Entity(Entity::World),
            }
        }
        PeerSpec::Fqdn(n) => {
            let selector = match n % 3 {
                0 => FqdnPattern::name("api.example.com").map(FqdnSelector::MatchName),
                1 => FqdnPattern::pattern("*.example.com").map(FqdnSelector::MatchPattern),
                _ => FqdnPattern::pattern("*").map(FqdnSelector::MatchPattern),
            };
            selector.map_or(Peer::Entity(Entity::World), Peer::Fqdn)
        }
        PeerSpec::Nodes(z) => Peer::Nodes(if z % 2 == 0 {
            EndpointSelector::wildcard()
        } else {
            EndpointSelector::wildcard().with(Requirement::equals(
                LabelKey::new(LabelSource::Any, "zone"),
                format!("z{}", 1 + z % 3),
            ))
        }),
        PeerSpec::Unresolved => Peer::Unresolved {
            kind: "toServices".to_string(),
            detail: "generated".to_string(),
        },
    }
}

#[derive(Debug, Clone)]
enum PortSpecSpec {
    Single(u8),
    Range(u16, u16),
    ToEnd(u16),
    Named(u8),
}

fn port_spec(spec: &PortSpecSpec) -> PortSpec {
    const WELL_KNOWN: [u16; 8] = [0, 22, 53, 80, 443, 8080, 9090, 65535];
    match spec {
        PortSpecSpec::Single(i) => {
            PortSpec::Range(PortRange::single(WELL_KNOWN[usize::from(*i) % 8]))
        }
        PortSpecSpec::Range(lo, len) => {
            PortSpec::Range(PortRange::from_port_end(*lo, Some(lo.saturating_add(*len))))
        }
        PortSpecSpec::ToEnd(lo) => PortSpec::Range(PortRange::from_port_end(*lo, Some(65535))),
        PortSpecSpec::Named(n) => PortSpec::Named(NAMED[usize::from(*n) % NAMED.len()].to_string()),
    }
}

#[derive(Debug, Clone)]
struct PortRuleSpec {
    ports: Vec<(u8, PortSpecSpec)>,
    l7: u8,
}

fn l7(kind: u8) -> L7Rules {
    match kind % 6 {
        0 | 1 => L7Rules::None,
        2 => L7Rules::Http(vec![HttpRule::default()]),
        3 => L7Rules::Dns(
            FqdnPattern::pattern("*.example.com")
                .map(|p| vec![FqdnSelector::MatchPattern(p)])
                .unwrap_or_default(),
        ),
        4 => L7Rules::Kafka(vec![KafkaRule {
            role: None,
            api_key: Some("produce".to_string()),
            api_version: None,
            client_id: None,
            topic: Some("orders".to_string()),
        }]),
        _ => L7Rules::Generic {
            proto: "r2d2".to_string(),
            rules: Vec::new(),
        },
    }
}

#[derive(Debug, Clone)]
enum PortsSpec {
    Any,
    Icmps(Vec<(bool, u8)>),
    Ports(Vec<PortRuleSpec>),
}

fn ports(spec: &PortsSpec) -> PortMatch {
    const PROTOCOLS: [Protocol; 5] = [
        Protocol::Tcp,
        Protocol::Udp,
        Protocol::Sctp,
        Protocol::Any,
        Protocol::Icmp,
    ];
    const TYPES: [u8; 6] = [0, 8, 3, 128, 135, 255];
    match spec {
        PortsSpec::Any => PortMatch::Any,
        PortsSpec::Icmps(list) => PortMatch::Icmps(
            list.iter()
                .map(|(v6, t)| IcmpMatch {
                    family: if *v6 { IpFamily::IPv6 } else { IpFamily::IPv4 },
                    icmp_type: TYPES[usize::from(*t) % TYPES.len()],
                })
                .collect(),
        ),
        PortsSpec::Ports(rules) => PortMatch::Ports(
            rules
                .iter()
                .map(|pr| PortRule {
                    ports: pr
                        .ports
                        .iter()
                        .map(|(p, s)| PortProtocol {
                            protocol: PROTOCOLS[usize::from(*p) % PROTOCOLS.len()],
                            port: port_spec(s),
                        })
                        .collect(),
                    l7: l7(pr.l7),
                    server_names: Vec::new(),
                    unsupported: Vec::new(),
                })
                .collect(),
        ),
    }
}

#[derive(Debug, Clone)]
struct RuleSpec {
    subject: Vec<RequirementSpec>,
    egress: bool,
    deny: bool,
    peers: Option<Vec<PeerSpec>>,
    ports: PortsSpec,
    default_deny: bool,
    auth: u8,
}

fn rule(id: usize, spec: &RuleSpec) -> PolicyRule {
    let direction = if spec.egress {
        Direction::Egress
    } else {
        Direction::Ingress
    };
    PolicyRule {
        id: RuleId(u32::try_from(id).unwrap_or(u32::MAX)),
        origin: PolicyOrigin {
            kind: PolicyKind::CiliumClusterwideNetworkPolicy,
            namespace: None,
            name: format!("prop-{id}"),
        },
        provenance: Provenance::synthetic(format!("spec.{direction}[{id}]")),
        subject: Subject::Endpoints(selector(&spec.subject)),
        direction,
        action: if spec.deny {
            RuleAction::Deny
        } else {
            RuleAction::Allow
        },
        peers: spec.peers.as_ref().map_or(PeerSet::All, |list| {
            PeerSet::Some(list.iter().map(peer).collect())
        }),
        ports: ports(&spec.ports),
        default_deny: spec.default_deny,
        auth: match spec.auth % 6 {
            0..=2 => None,
            3 => Some(AuthMode::Disabled),
            4 => Some(AuthMode::Required),
            _ => Some(AuthMode::TestAlwaysFail),
        },
        log: None,
    }
}

fn requirement_spec() -> impl Strategy<Value = RequirementSpec> {
    (any::<u8>(), any::<u8>()).prop_map(|(kind, value)| RequirementSpec { kind, value })
}

fn peer_spec() -> impl Strategy<Value = PeerSpec> {
    prop_oneof![
        4 => prop::collection::vec(requirement_spec(), 0..3).prop_map(PeerSpec::Endpoints),
        2 => any::<u8>().prop_map(PeerSpec::Entity),
        2 => (any::<u8>(), any::<u8>()).prop_map(|(c, m)| PeerSpec::Cidr(c, m)),
        1 => any::<u8>().prop_map(PeerSpec::Fqdn),
        1 => any::<u8>().prop_map(PeerSpec::Nodes),
        1 => Just(PeerSpec::Unresolved),
    ]
}

fn port_spec_spec() -> impl Strategy<Value = PortSpecSpec> {
    prop_oneof![
        3 => any::<u8>().prop_map(PortSpecSpec::Single),
        2 => (any::<u16>(), 0u16..5000).prop_map(|(lo, len)| PortSpecSpec::Range(lo, len)),
        1 => any::<u16>().prop_map(PortSpecSpec::ToEnd),
        2 => any::<u8>().prop_map(PortSpecSpec::Named),
    ]
}

fn ports_spec() -> impl Strategy<Value = PortsSpec> {
    let port_rule = (
        prop::collection::vec((any::<u8>(), port_spec_spec()), 0..3),
        any::<u8>(),
    )
        .prop_map(|(ports, l7)| PortRuleSpec { ports, l7 });
    prop_oneof![
        1 => Just(PortsSpec::Any),
        1 => prop::collection::vec((any::<bool>(), any::<u8>()), 1..3).prop_map(PortsSpec::Icmps),
        4 => prop::collection::vec(port_rule, 1..3).prop_map(PortsSpec::Ports),
    ]
}

fn rule_spec() -> impl Strategy<Value = RuleSpec> {
    (
        prop::collection::vec(requirement_spec(), 0..2),
        any::<bool>(),
        prop::bool::weighted(0.2),
        prop::option::weighted(0.85, prop::collection::vec(peer_spec(), 0..3)),
        ports_spec(),
        prop::bool::weighted(0.85),
        any::<u8>(),
    )
        .prop_map(
            |(subject, egress, deny, peers, ports, default_deny, auth)| RuleSpec {
                subject,
                egress,
                deny,
                peers,
                ports,
                default_deny,
                auth,
            },
        )
}

/// The resolver's view of the oracle's side verdict (no L7 request).
fn expected(side: &SideVerdict) -> (Verdict, Vec<RuleId>) {
    match (side.decision, side.reason) {
        (_, Reason::DefaultDeny) => (Verdict::DefaultDeny, Vec::new()),
        (_, Reason::NotEnforced) => (Verdict::Allow, Vec::new()),
        (Decision::Deny, Reason::AuthRequired) => (Verdict::AuthRequired, side.deciding.clone()),
        (Decision::Deny, _) => (Verdict::Deny, side.deciding.clone()),
        (Decision::Allow, Reason::L7ProxyRedirect) => {
            let id = side.deciding.first().map_or(0, |r| r.0);
            (Verdict::RedirectL7(L7PolicyId(id)), side.deciding.clone())
        }
        (Decision::Allow, _) => (Verdict::Allow, side.deciding.clone()),
    }
}

/// Rule boundaries (±1) that can change a verdict, per oracle protocol.
fn boundaries(universe: &Universe, rules: &[PolicyRule]) -> BTreeSet<u32> {
    let mut out: BTreeSet<u32> = BTreeSet::from([0, 1, 254, 255, 256, 65534, 65535]);
    let mut add = |v: u32| {
        out.extend(
            [v.saturating_sub(1), v, v + 1]
                .into_iter()
                .filter(|p| *p <= 65535),
        );
    };
    for rule in rules {
        match &rule.ports {
            PortMatch::Any => {}
            PortMatch::Icmps(icmps) => icmps.iter().for_each(|m| add(u32::from(m.icmp_type))),
            PortMatch::Ports(prs) => {
                for pp in prs.iter().flat_map(|pr| pr.ports.iter()) {
                    match &pp.port {
                        PortSpec::Range(r) => {
                            add(u32::from(r.lo()));
                            add(u32::from(r.hi()));
                        }
                        PortSpec::Named(name) => universe
                            .endpoints()
                            .iter()
                            .filter_map(|e| e.named_ports.get(name))
                            .for_each(|np| add(u32::from(np.port))),
                    }
                }
            }
        }
    }
    out
}

fn transport(protocol: PolicyProtocol, port: u32) -> Option<Transport> {
    let port16 = u16::try_from(port).ok()?;
    Some(match protocol {
        PolicyProtocol::Tcp => Transport::Tcp { port: port16 },
        PolicyProtocol::Udp => Transport::Udp { port: port16 },
        PolicyProtocol::Sctp => Transport::Sctp { port: port16 },
        PolicyProtocol::Icmp => Transport::Icmp {
            family: IpFamily::IPv4,
            icmp_type: u8::try_from(port).ok()?,
        },
        PolicyProtocol::Icmpv6 => Transport::Icmp {
            family: IpFamily::IPv6,
            icmp_type: u8::try_from(port).ok()?,
        },
        PolicyProtocol::Other => return None,
    })
}

/// Check 2 for one direction; returns the number of oracle questions asked.
fn agrees_with_oracle(
    universe: &Universe,
    oracle: &Oracle<'_>,
    key: &EndpointKey,
    resolved: &ResolvedDirection,
    cuts: &BTreeSet<u32>,
) -> Result<usize, TestCaseError> {
    let mut asked = 0;
    for identity in universe.identities().keys() {
        let functions = resolved.functions_for(*identity);
        for protocol in PolicyProtocol::ALL.into_iter().filter(|p| p.ir().is_some()) {
            let function = &functions[&protocol];
            let mut probes: BTreeSet<u32> = cuts.clone();
            for iv in function.intervals() {
                probes.extend([u32::from(iv.lo), u32::from(iv.hi)]);
            }
            for port in probes {
                let got = function.lookup(u16::try_from(port).unwrap_or(u16::MAX));
                let Some(t) = transport(protocol, port) else {
                    // ICMP types stop at 255: the function keeps type 255's verdict above it.
                    let last = function.lookup(255);
                    prop_assert_eq!((got.verdict, &got.rules), (last.verdict, &last.rules));
                    continue;
                };
                let flow = Flow::new(
                    FlowPeer::Endpoint(key.clone()),
                    FlowPeer::Endpoint(key.clone()),
                    t,
                );
                let side = oracle
                    .endpoint_verdict(key, resolved.direction, *identity, &flow)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                asked += 1;
                prop_assert_eq!(
                    (got.verdict, got.rules.clone()),
                    expected(&side),
                    "{} {} peer {} {:?} {}",
                    key,
                    resolved.direction,
                    identity,
                    protocol,
                    port
                );
            }
        }
    }
    Ok(asked)
}

fn options(mode: u8) -> UniverseOptions {
    UniverseOptions {
        enforcement: match mode % 5 {
            0..=2 => EnforcementMode::Default,
            3 => EnforcementMode::Always,
            _ => EnforcementMode::Never,
        },
        allow_localhost: if (mode / 5).is_multiple_of(2) {
            AllowLocalhost::Always
        } else {
            AllowLocalhost::Policy
        },
    }
}

/// Both checks for one generated case; returns the number of oracle questions asked.
fn check_case(
    seed: u64,
    endpoints: usize,
    specs: &[RuleSpec],
    mode: u8,
) -> Result<usize, TestCaseError> {
    let inventory = gen::inventory(&mut Rng::new(seed), endpoints);
    let rules: Vec<PolicyRule> = specs.iter().enumerate().map(|(i, s)| rule(i, s)).collect();
    let universe = build_universe(&inventory, &rules, options(mode))
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let oracle = Oracle::new(&universe, &rules);
    let cuts = boundaries(&universe, &rules);
    let mut asked = 0;
    for endpoint in universe.endpoints() {
        let key = &endpoint.key;
        let fast = resolve_endpoint(&universe, &rules, key)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let reference = resolve_endpoint_by_oracle(&universe, &rules, key)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&fast.ingress, &reference.ingress);
        prop_assert_eq!(&fast.egress, &reference.egress);
        prop_assert_eq!(
            format!("{:?}", fast.cilium),
            format!("{:?}", reference.cilium)
        );
        for direction in [&fast.ingress, &fast.egress] {
            asked += agrees_with_oracle(&universe, &oracle, key, direction, &cuts)?;
        }
    }
    Ok(asked)
}

#[test]
fn resolver_agrees_with_oracle_on_every_peer_protocol_and_port() {
    use proptest::test_runner::{Config, TestRunner};
    let mut runner = TestRunner::new(Config {
        cases: 128,
        failure_persistence: None,
        ..Config::default()
    });
    let asked = std::cell::Cell::new(0usize);
    let cases = std::cell::Cell::new(0usize);
    let strategy = (
        any::<u64>(),
        3usize..6,
        prop::collection::vec(rule_spec(), 1..10),
        any::<u8>(),
    );
    let result = runner.run(&strategy, |(seed, endpoints, specs, mode)| {
        asked.set(asked.get() + check_case(seed, endpoints, &specs, mode)?);
        cases.set(cases.get() + 1);
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
    eprintln!(
        "{} generated policy sets, {} oracle questions",
        cases.get(),
        asked.get()
    );
    assert!(
        asked.get() > 100_000,
        "only {} oracle questions",
        asked.get()
    );
}

/// The generator reaches every verdict kind (otherwise the property above says little).
#[test]
fn generated_sets_reach_every_verdict() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = (
        any::<u64>(),
        prop::collection::vec(rule_spec(), 1..10),
        any::<u8>(),
    );
    let mut seen: BTreeSet<&'static str> = BTreeSet::new();
    for _ in 0..64 {
        let Ok(tree) = strategy.new_tree(&mut runner) else {
            continue;
        };
        let (seed, specs, mode) = tree.current();
        let inventory = gen::inventory(&mut Rng::new(seed), 4);
        let rules: Vec<PolicyRule> = specs.iter().enumerate().map(|(i, s)| rule(i, s)).collect();
        let universe = build_universe(&inventory, &rules, options(mode)).expect("universe");
        for endpoint in universe.endpoints() {
            let resolved = resolve_endpoint(&universe, &rules, &endpoint.key).expect("resolve");
            for direction in [&resolved.ingress, &resolved.egress] {
                for group in &direction.groups {
                    for function in group.functions.values() {
                        for iv in function.intervals() {
                            seen.insert(iv.verdict.kind_name());
                        }
                    }
                }
            }
        }
    }
    assert_eq!(
        seen,
        BTreeSet::from([
            "allow",
            "auth-required",
            "default-deny",
            "deny",
            "redirect-l7"
        ])
    );
}
