//! Differential test of toFQDNs, oracle vs compiled tables vs kernel, over generated policy
//! sets (the generator's rules plus toFQDNs allow rules, `rules.dns` rules and world/CIDR
//! denies): for every endpoint, question name (matching 0, 1 or several selectors), address
//! outside the cluster (world, CIDR identities, IPv4 and IPv6) and port, the oracle's verdict for
//! the flow "resolved from" that name must equal
//! - the tables' combination (peer identity + the FQDN-class pseudo-identities the DNS tables
//!   give the name, when the endpoint's `rules.dns` lets the question through), and
//! - the kernel's: a crafted query through the endpoint's DNS object, a crafted answer, then the
//!   connection through the endpoint's program;
//!
//! and once the learned entry has expired, the kernel must give the verdict of the same flow
//! without any DNS name. Needs root for the kernel part (POLICYC_SKIP_KERNEL_TESTS=1 skips it).

use policyc::kernel::fqdn::{DnsTeacher, QueryOutcome};
use policyc::kernel::tables::{agrees, expected_side, KernelChecker, KernelSide, SideProbe};
use policyc_backends::dns::DnsLimits;
use policyc_backends::fqdn::LearnedValue;
use policyc_backends::layout::Verdict as DpVerdict;
use policyc_build::compile;
use policyc_compile::dns::{compile_endpoint, EndpointDns, FqdnClasses};
use policyc_compile::optimize::layout::tables_decide;
use policyc_ir::oracle::{Flow, FlowPeer, Oracle, Transport};
use policyc_ir::universe::{EndpointKey, Universe};
use policyc_ir::{
    Direction, EndpointSelector, Entity, FqdnPattern, FqdnSelector, L7Rules, NumericIdentity, Peer,
    PeerSet, PolicyKind, PolicyOrigin, PolicyRule, PortMatch, PortProtocol, PortRange, PortRule,
    PortSpec, Prefix, Protocol, Provenance, RuleAction, RuleId, Subject,
};
use policyc_testsuite::gen::{generate, Rng};
use std::net::IpAddr;

const SETS: u64 = 12;
const NAMES: [&str; 7] = [
    "api.example.com",
    "www.example.com",
    "a.b.example.com",
    "cdn.cilium.io",
    "docs.cilium.io",
    "evil.org",
    "db.svc.local",
];
const PORTS: [u16; 4] = [443, 80, 8080, 22];
/// Outside the cluster: world, inside the generator's CIDRs (CIDR identities), IPv6.
const DESTINATIONS: [&str; 5] = [
    "192.0.2.99",
    "203.0.113.9",
    "198.51.100.7",
    "2001:db8:5::9",
    "2001:db8:1::9",
];
const DNS_SERVER_V4: &str = "192.0.2.53";
const DNS_SERVER_V6: &str = "2001:db8::53";

fn name(text: &str) -> FqdnSelector {
    FqdnSelector::MatchName(FqdnPattern::name(text).unwrap_or_else(|e| panic!("{e}")))
}

fn glob(text: &str) -> FqdnSelector {
    FqdnSelector::MatchPattern(FqdnPattern::pattern(text).unwrap_or_else(|e| panic!("{e}")))
}

fn fqdn_selectors() -> Vec<FqdnSelector> {
    vec![
        name("api.example.com"),
        glob("*.example.com"),
        glob("**.example.com"),
        glob("*.cilium.io"),
        name("cdn.cilium.io"),
        glob("**.svc.local"),
    ]
}

fn dns_selectors() -> Vec<FqdnSelector> {
    vec![
        glob("*.example.com"),
        name("api.example.com"),
        glob("**.example.com"),
        glob("*.cilium.io"),
        glob("*"),
        glob("**.svc.local"),
    ]
}

fn namespace_subject(namespace: &str) -> Subject {
    Subject::Endpoints(
        EndpointSelector::wildcard().with(policyc_ir::Requirement::equals(
            policyc_ir::LabelKey::new(
                policyc_ir::LabelSource::K8s,
                policyc_ir::labels::POD_NAMESPACE_KEY,
            ),
            namespace,
        )),
    )
}

fn tcp_ports(ports: &[u16], l7: L7Rules, protocol: Protocol) -> PortMatch {
    PortMatch::Ports(vec![PortRule {
        ports: ports
            .iter()
            .map(|p| PortProtocol {
                protocol,
                port: PortSpec::Range(PortRange::single(*p)),
            })
            .collect(),
        l7,
        server_names: Vec::new(),
        unsupported: Vec::new(),
    }])
}

fn rule(
    id: usize,
    namespace: &str,
    action: RuleAction,
    peers: PeerSet,
    ports: PortMatch,
) -> PolicyRule {
    PolicyRule {
        id: RuleId(u32::try_from(id).unwrap_or(u32::MAX)),
        origin: PolicyOrigin {
            kind: PolicyKind::CiliumNetworkPolicy,
            namespace: Some(namespace.to_string()),
            name: format!("fqdn-{id}"),
        },
        provenance: Provenance::synthetic(format!("spec.egress[{id}]")),
        subject: namespace_subject(namespace),
        direction: Direction::Egress,
        action,
        peers,
        ports,
        default_deny: true,
        auth: None,
        log: None,
    }
}

/// The generator's set plus toFQDNs rules, `rules.dns` rules and denies towards the world.
fn fqdn_set(seed: u64) -> (Universe, Vec<PolicyRule>) {
    let base = generate(seed);
    let mut rules = base.rules.clone();
    let mut rng = Rng::new(seed ^ 0xf9d0);
    let selectors = fqdn_selectors();
    let dns = dns_selectors();
    for namespace in ["alpha", "beta", "gamma"] {
        for _ in 0..rng.range(1, 3) {
            let mut peers = vec![Peer::Fqdn(rng.pick(&selectors).clone())];
            if rng.chance(40) {
                peers.push(Peer::Fqdn(rng.pick(&selectors).clone()));
            }
            let ports = if rng.chance(25) {
                PortMatch::Any
            } else {
                tcp_ports(&[*rng.pick(&PORTS)], L7Rules::None, Protocol::Tcp)
            };
            let id = rules.len();
            rules.push(rule(
                id,
                namespace,
                RuleAction::Allow,
                PeerSet::Some(peers),
                ports,
            ));
        }
        if rng.chance(80) {
            let mut allowed = vec![rng.pick(&dns).clone()];
            if rng.chance(50) {
                allowed.push(rng.pick(&dns).clone());
            }
            let id = rules.len();
            rules.push(rule(
                id,
                namespace,
                RuleAction::Allow,
                PeerSet::Some(vec![Peer::Entity(Entity::Cluster)]),
                tcp_ports(&[53], L7Rules::Dns(allowed), Protocol::Udp),
            ));
        }
        if rng.chance(40) {
            let peer = if rng.chance(50) {
                Peer::Entity(Entity::World)
            } else {
                Peer::Cidr {
                    prefix: Prefix::parse("203.0.113.0/24").unwrap_or_else(|e| panic!("{e}")),
                    except: Vec::new(),
                }
            };
            let id = rules.len();
            rules.push(rule(
                id,
                namespace,
                RuleAction::Deny,
                PeerSet::Some(vec![peer]),
                tcp_ports(&[443], L7Rules::None, Protocol::Tcp),
            ));
        }
    }
    let universe =
        policyc_frontend::identity::build_universe(&base.inventory, &rules, base.options)
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    (universe, rules)
}

fn address_of(universe: &Universe, endpoint: &EndpointKey, v6: bool) -> Option<IpAddr> {
    universe
        .endpoint(endpoint)?
        .ips
        .iter()
        .copied()
        .find(|ip| ip.is_ipv6() == v6)
}

fn oracle_side(
    oracle: &Oracle<'_>,
    endpoint: &EndpointKey,
    dst: IpAddr,
    port: u16,
    resolved_from: Option<&str>,
) -> policyc::kernel::tables::ExpectedSide {
    let mut flow = Flow::new(
        FlowPeer::Endpoint(endpoint.clone()),
        FlowPeer::Ip(dst),
        Transport::Tcp { port },
    );
    if let Some(n) = resolved_from {
        flow = flow.with_resolved_from(n);
    }
    let verdict = oracle
        .evaluate(&flow)
        .unwrap_or_else(|e| panic!("oracle: {flow}: {e}"));
    expected_side(&verdict.egress)
}

fn rank(v: DpVerdict) -> u8 {
    match v {
        DpVerdict::Allow => 3,
        DpVerdict::RedirectL7 => 2,
        DpVerdict::AuthRequired => 1,
        _ => 0,
    }
}

#[test]
fn fqdn_pseudo_identity_tables_agree_with_the_oracle() {
    let mut probes = 0u64;
    let mut mismatches = Vec::new();
    for seed in 0..SETS {
        let (universe, rules) = fqdn_set(seed);
        let compilation = compile(&universe, &rules, &|| {})
            .unwrap_or_else(|e| panic!("seed {seed}: compile: {e}"));
        let oracle = Oracle::new(&universe, &rules);
        let classes = FqdnClasses::node_wide(&rules).unwrap_or_else(|e| panic!("{e}"));
        for endpoint in &compilation.endpoints {
            let selected: Vec<&PolicyRule> = rules
                .iter()
                .filter(|r| endpoint.resolved.egress.selected_rules.contains(&r.id))
                .collect();
            let dns = EndpointDns::from_rules(selected.iter().copied());
            let tables = compile_endpoint(&dns, &classes, &DnsLimits::default())
                .unwrap_or_else(|e| panic!("{e}"));
            let mask = endpoint.images.config.fqdn_mask;
            let egress = &endpoint.optimized.tables.egress;
            for dst in DESTINATIONS {
                let dst: IpAddr = dst.parse().unwrap_or_else(|e| panic!("{e}"));
                let peer = universe.identity_of_ip(&dst).0;
                for n in NAMES {
                    let bits = tables.selectors_for(n);
                    let learned = if dns.intercepts() && bits & tables.allow_mask != 0 {
                        bits & mask
                    } else {
                        0
                    };
                    for port in PORTS {
                        probes += 1;
                        let expected = oracle_side(&oracle, &endpoint.key, dst, port, Some(n));
                        let (mut verdict, _) = tables_decide(egress, peer, 6, port);
                        if verdict != DpVerdict::Deny {
                            for class in 0..63u8 {
                                if learned & (1 << class) == 0 {
                                    continue;
                                }
                                let pseudo = NumericIdentity::fqdn_class(class)
                                    .unwrap_or_else(|| panic!("class {class}"));
                                let (v, _) = tables_decide(egress, pseudo.0, 6, port);
                                if rank(v) > rank(verdict) {
                                    verdict = v;
                                }
                            }
                        }
                        let got = KernelSide {
                            passed: verdict == DpVerdict::Allow,
                            verdict: egress.enforced.then_some(verdict),
                            reason: None,
                            identity: Some(peer),
                            rule_id: None,
                        };
                        if !agrees(expected, got) && mismatches.len() < 20 {
                            mismatches.push(format!(
                                "seed {seed} {} -> {dst}:{port} resolved from {n} (bits {learned:#x}): oracle {expected}, tables {got}",
                                endpoint.key
                            ));
                        }
                    }
                }
            }
        }
    }
    eprintln!("{probes} toFQDNs probes against the tables");
    assert!(probes > 5_000, "only {probes} probes");
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn fqdn_flows_through_the_dns_object_and_the_datapath_agree_with_the_oracle() {
    if std::env::var("POLICYC_SKIP_KERNEL_TESTS").is_ok_and(|v| v == "1") {
        eprintln!("POLICYC_SKIP_KERNEL_TESTS=1: skipping the kernel FQDN differential test");
        return;
    }
    let mut packets = 0u64;
    let mut allowed_via_fqdn = 0u64;
    let mut refused = 0u64;
    let mut mismatches = Vec::new();
    for seed in 0..SETS {
        let (universe, rules) = fqdn_set(seed);
        let compilation = compile(&universe, &rules, &|| {})
            .unwrap_or_else(|e| panic!("seed {seed}: compile: {e}"));
        let oracle = Oracle::new(&universe, &rules);
        let mut checker = KernelChecker::new(&compilation);
        let mut teacher = DnsTeacher::new(&compilation, &rules).unwrap_or_else(|e| panic!("{e}"));
        for endpoint in &compilation.endpoints {
            let key = &endpoint.key;
            for dst in DESTINATIONS {
                let dst: IpAddr = dst.parse().unwrap_or_else(|e| panic!("{e}"));
                let Some(src) = address_of(&universe, key, dst.is_ipv6()) else {
                    continue;
                };
                let server: IpAddr = if dst.is_ipv6() {
                    DNS_SERVER_V6
                } else {
                    DNS_SERVER_V4
                }
                .parse()
                .unwrap_or_else(|e| panic!("{e}"));
                for n in NAMES {
                    let learned = checker.learned().unwrap_or_else(|e| panic!("{e}"));
                    learned.clear().unwrap_or_else(|e| panic!("{e}"));
                    let asked = teacher
                        .resolve(&mut checker, key, src, server, n, &[dst])
                        .unwrap_or_else(|e| panic!("{e}"));
                    if asked == QueryOutcome::Refused {
                        refused += 1;
                    }
                    for port in PORTS {
                        let probe = SideProbe {
                            direction: Direction::Egress,
                            local: src,
                            peer: dst,
                            transport: Transport::Tcp { port },
                        };
                        let kernel = checker.run(key, probe).unwrap_or_else(|e| panic!("{e}"));
                        packets += 1;
                        let expected = oracle_side(&oracle, key, dst, port, Some(n));
                        let plain = oracle_side(&oracle, key, dst, port, None);
                        if expected.passes && !plain.passes {
                            allowed_via_fqdn += 1;
                        }
                        if !agrees(expected, kernel) && mismatches.len() < 20 {
                            mismatches.push(format!(
                                "seed {seed} {key} -> {dst}:{port} resolved from {n} (question {asked}): oracle {expected}, kernel {kernel}"
                            ));
                        }
                    }
                    // Expire the entry: new flows get the verdict of a flow without a name.
                    let learned = checker.learned().unwrap_or_else(|e| panic!("{e}"));
                    if let Some(value) = learned.get(dst).unwrap_or_else(|e| panic!("{e}")) {
                        learned
                            .insert(
                                dst,
                                LearnedValue {
                                    expiry_ns: 1,
                                    ..value
                                },
                            )
                            .unwrap_or_else(|e| panic!("{e}"));
                        let port = 443;
                        let probe = SideProbe {
                            direction: Direction::Egress,
                            local: src,
                            peer: dst,
                            transport: Transport::Tcp { port },
                        };
                        let kernel = checker.run(key, probe).unwrap_or_else(|e| panic!("{e}"));
                        packets += 1;
                        let plain = oracle_side(&oracle, key, dst, port, None);
                        if !agrees(plain, kernel) && mismatches.len() < 20 {
                            mismatches.push(format!(
                                "seed {seed} {key} -> {dst}:{port} after expiry of {n}: oracle (no name) {plain}, kernel {kernel}"
                            ));
                        }
                    }
                }
            }
        }
    }
    eprintln!(
        "{packets} packets; {allowed_via_fqdn} allowed only through toFQDNs; {refused} questions refused"
    );
    assert!(packets > 3_000, "only {packets} packets");
    assert!(
        allowed_via_fqdn > 100,
        "too few FQDN allows: {allowed_via_fqdn}"
    );
    assert!(refused > 10, "too few refused questions: {refused}");
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
