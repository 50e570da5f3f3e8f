//! No panic on any inventory, FlowTests or flow input: mutated inventory and FlowTests texts
//! (truncations, deletions, substitutions) and arbitrary flows through the oracle.

use policyc_analysis::flowtest::{parse_flow_tests, parse_peer};
use policyc_diagnostics::source::SourceMap;
use policyc_frontend::identity::build_universe;
use policyc_frontend::inventory::{parse_inventory, InventoryOptions};
use policyc_ir::l7::HttpRequest;
use policyc_ir::oracle::{Flow, FlowPeer, FlowVerdict, L7Request, Oracle, Transport};
use policyc_ir::rule::Direction;
use policyc_ir::IpFamily;
use proptest::prelude::*;
use std::path::{Path, PathBuf};

const INVENTORY: &str = "\
apiVersion: policyc/v1
kind: Inventory
cluster: default
namespaces:
  - {name: prod, labels: {team: a}}
nodes:
  - {name: n1, ips: [198.18.255.1], local: true}
endpoints:
  - name: web
    namespace: prod
    labels: {app: web}
    ips: [198.18.1.1, \"fd00::1\"]
    namedPorts: {http: 8080/TCP}
---
apiVersion: v1
kind: Pod
metadata: {name: api, namespace: prod, labels: {app: api}}
spec: {containers: [{ports: [{name: grpc, containerPort: 9000}]}]}
status: {podIPs: [{ip: 198.18.1.2}]}
";

const FLOWTESTS: &str = "\
apiVersion: policyc/v1
kind: FlowTests
inventory: inventory.yaml
policies: [policies/]
tests:
  - name: t
    from: prod/web
    to: 198.18.1.2
    protocol: ICMP
    icmpType: EchoRequest
    http: {method: GET, path: /x, headers: {a: b}}
    dns: {query: a.b}
    resolvedFrom: x.y
    expect: allow
    expectEgress: deny
";

fn mutations(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    for cut in 0..bytes.len() {
        out.push(String::from_utf8_lossy(&bytes[..cut]).into_owned());
        let mut deleted = bytes.to_vec();
        deleted.remove(cut);
        out.push(String::from_utf8_lossy(&deleted).into_owned());
        for replacement in [b'\t', b':', b'-', b'[', b'"', b'0', b'/', b' '] {
            let mut swapped = bytes.to_vec();
            swapped[cut] = replacement;
            out.push(String::from_utf8_lossy(&swapped).into_owned());
        }
    }
    out
}

/// What every verdict must satisfy: each side is of its direction, the flow is allowed exactly
/// when both sides allow it, and every rule a side names exists.
fn check_verdict(verdict: &FlowVerdict, rules: &[policyc_ir::PolicyRule], flow: &str) {
    assert_eq!(verdict.egress.direction, Direction::Egress, "{flow}");
    assert_eq!(verdict.ingress.direction, Direction::Ingress, "{flow}");
    assert_eq!(
        verdict.is_allow(),
        verdict.egress.is_allow() && verdict.ingress.is_allow(),
        "{flow}: {verdict:?}"
    );
    for side in [&verdict.egress, &verdict.ingress] {
        for id in side.deciding.iter().chain(&side.default_deny_by) {
            assert!(
                rules.iter().any(|r| r.id == *id),
                "{flow}: {:?} names rule {id:?}, which does not exist",
                side.direction
            );
        }
    }
}

fn policies() -> Vec<policyc_ir::PolicyRule> {
    let mut sources = SourceMap::new();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policy-examples/policies");
    policyc_analysis::flowtest::load_rules(&[dir], &Default::default(), &mut sources).0
}

#[test]
fn mutated_inventories_never_panic() {
    let rules = policies();
    let peers = [
        "prod/web",
        "prod/api",
        "world",
        "host",
        "198.18.1.1",
        "fd00::1",
        "8.8.8.8",
        "remote-node",
    ];
    for text in mutations(INVENTORY) {
        let mut sources = SourceMap::new();
        let id = sources.add("inv.yaml", text.clone());
        match parse_inventory(&sources, id, &InventoryOptions::default()) {
            Err(findings) => {
                for f in findings {
                    if let Some(l) = f.primary {
                        assert!(
                            sources.slice(l.span).is_some(),
                            "span out of bounds for {text:?}"
                        );
                    }
                }
            }
            Ok(inv) => {
                let Ok(universe) = build_universe(&inv, &rules, Default::default()) else {
                    continue;
                };
                let oracle = Oracle::new(&universe, &rules);
                for from in peers {
                    for to in peers {
                        let (Ok(s), Ok(d)) =
                            (parse_peer(from, &universe), parse_peer(to, &universe))
                        else {
                            continue;
                        };
                        // Both peers come from this universe: the oracle must judge the flow.
                        let flow = Flow::new(s, d, Transport::Tcp { port: 8080 });
                        let verdict = oracle
                            .evaluate(&flow)
                            .unwrap_or_else(|e| panic!("{from} -> {to} in {text:?}: {e}"));
                        check_verdict(&verdict, &rules, &format!("{from} -> {to}"));
                    }
                }
            }
        }
    }
}

#[test]
fn mutated_flow_tests_never_panic() {
    for text in mutations(FLOWTESTS) {
        let mut sources = SourceMap::new();
        let id = sources.add("flowtests.yaml", text.clone());
        let (_, findings) = parse_flow_tests(&sources, id, &PathBuf::from("."));
        for f in findings {
            if let Some(l) = f.primary {
                assert!(
                    sources.slice(l.span).is_some(),
                    "span out of bounds for {text:?}"
                );
            }
        }
    }
}

fn transport() -> impl Strategy<Value = Transport> {
    prop_oneof![
        any::<u16>().prop_map(|port| Transport::Tcp { port }),
        any::<u16>().prop_map(|port| Transport::Udp { port }),
        any::<u16>().prop_map(|port| Transport::Sctp { port }),
        (any::<bool>(), any::<u8>()).prop_map(|(v6, icmp_type)| Transport::Icmp {
            family: if v6 { IpFamily::IPv6 } else { IpFamily::IPv4 },
            icmp_type
        }),
    ]
}

fn l7() -> impl Strategy<Value = Option<L7Request>> {
    prop_oneof![
        Just(None),
        ("\\PC{0,12}", "\\PC{0,20}").prop_map(|(method, path)| Some(L7Request::Http(
            HttpRequest {
                method,
                path,
                ..Default::default()
            }
        ))),
        "\\PC{0,30}".prop_map(|query| Some(L7Request::Dns { query })),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    #[test]
    fn arbitrary_flows_never_panic(
        from in "\\PC{0,20}|[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}|shop/[a-z]{1,8}",
        to in "\\PC{0,20}|198\\.1[89]\\.[0-9]{1,3}\\.[0-9]{1,3}|kube-system/coredns|world|host",
        t in transport(),
        l7 in l7(),
        resolved in proptest::option::of("\\PC{0,20}"),
    ) {
        let rules = policies();
        let mut sources = SourceMap::new();
        let inv_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policy-examples/inventory.yaml");
        let inv = policyc_frontend::inventory::load_inventory(&inv_path, &InventoryOptions::default(), &mut sources);
        let Ok(inv) = inv else { panic!("examples inventory") };
        let Ok(universe) = build_universe(&inv, &rules, Default::default()) else { panic!("universe") };
        let peer = |s: &str| parse_peer(s, &universe).unwrap_or(FlowPeer::Entity(policyc_ir::Entity::World));
        let flow = Flow { source: peer(&from), destination: peer(&to), transport: t, l7, resolved_from: resolved };
        let verdict = Oracle::new(&universe, &rules)
            .evaluate(&flow)
            .unwrap_or_else(|e| panic!("{flow:?}: {e}"));
        check_verdict(&verdict, &rules, &format!("{flow:?}"));
    }
}
