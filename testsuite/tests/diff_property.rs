//! Property: for random base/head policy-set pairs (seeded generator, some with a changed
//! inventory), every endpoint-side flow whose oracle verdict differs between base and head lies
//! inside a reported row, and every flow sampled inside a reported row (range ends and middle,
//! every endpoint and peer of the row) has a different verdict. The oracle is asked directly,
//! independently of the resolution the diff is computed on.

use policyc_analysis::diff::DiffSide;
use policyc_analysis::diff::{semantic_diff, ChangeRow, DiffReport};
use policyc_frontend::identity::build_universe;
use policyc_frontend::inventory::Inventory;
use policyc_ir::identity::IdentityKind;
use policyc_ir::oracle::{Flow, FlowPeer, Oracle, Transport};
use policyc_ir::universe::{EndpointKey, Universe, UniverseOptions};
use policyc_ir::{Direction, IpFamily, NumericIdentity, PolicyRule, RuleId};
use policyc_testsuite::gen::{self, probes, Rng};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// A peer as rows name it: `ns/name`, a reserved identity's label key, or a prefix.
fn peer_names(u: &Universe) -> BTreeMap<String, NumericIdentity> {
    let mut out: BTreeMap<String, NumericIdentity> = u
        .endpoints()
        .iter()
        .map(|e| (e.key.to_string(), e.identity))
        .collect();
    for identity in u.identities().values() {
        match &identity.kind {
            IdentityKind::Reserved(r) => {
                out.insert(r.label_key().to_string(), identity.id);
            }
            IdentityKind::Cidr(p) => {
                out.insert(p.to_string(), identity.id);
            }
            // Mirrors `policyc diff`'s peers: remote nodes' own identities are not diff peers.
            IdentityKind::Endpoint | IdentityKind::RemoteNode => {}
        }
    }
    out
}

struct Pair {
    base_rules: Vec<PolicyRule>,
    head_rules: Vec<PolicyRule>,
    base_inventory: Inventory,
    head_inventory: Inventory,
}

fn renumber(rules: &mut [PolicyRule]) {
    for (i, r) in rules.iter_mut().enumerate() {
        r.id = RuleId(u32::try_from(i).unwrap_or(u32::MAX));
    }
}

fn pair(seed: u64) -> Pair {
    let base = gen::generate(seed);
    let mut rng = Rng::new(seed ^ 0xd1ff);
    let mut head_rules: Vec<PolicyRule> = base
        .rules
        .iter()
        .filter(|_| !rng.chance(25))
        .cloned()
        .collect();
    let extra = rng.range(0, 4) as usize;
    head_rules.extend(gen::rules(&mut rng, extra));
    renumber(&mut head_rules);
    let mut head_inventory = base.inventory.clone();
    if seed.is_multiple_of(3) && head_inventory.endpoints.len() > 2 {
        head_inventory.endpoints.pop();
        if let Some(first) = head_inventory.endpoints.first_mut() {
            first
                .labels
                .insert("app".to_string(), "relabelled".to_string());
        }
    }
    Pair {
        base_rules: base.rules,
        head_rules,
        base_inventory: base.inventory,
        head_inventory,
    }
}

/// Is the side flow allowed (`None` when the endpoint or peer does not exist there)?
fn allowed(
    u: &Universe,
    rules: &[PolicyRule],
    subject: &EndpointKey,
    direction: Direction,
    peer: Option<NumericIdentity>,
    transport: Transport,
) -> bool {
    let (Some(peer), Some(_)) = (peer, u.endpoint(subject)) else {
        return false;
    };
    let flow = Flow::new(
        FlowPeer::Endpoint(subject.clone()),
        FlowPeer::Endpoint(subject.clone()),
        transport,
    );
    match Oracle::new(u, rules).endpoint_verdict(subject, direction, peer, &flow) {
        Ok(v) => v.is_allow(),
        Err(e) => panic!("oracle: {e}"),
    }
}

fn transport(protocol: &str, port: u16) -> Option<Transport> {
    let ty = u8::try_from(port.min(255)).unwrap_or(u8::MAX);
    Some(match protocol {
        "TCP" => Transport::Tcp { port },
        "UDP" => Transport::Udp { port },
        "SCTP" => Transport::Sctp { port },
        "ICMP" => Transport::Icmp {
            family: IpFamily::IPv4,
            icmp_type: ty,
        },
        "ICMPv6" => Transport::Icmp {
            family: IpFamily::IPv6,
            icmp_type: ty,
        },
        _ => return None,
    })
}

type CoverKey = (String, Direction, String);

fn coverage(report: &DiffReport) -> HashMap<CoverKey, Vec<(String, u16, u16)>> {
    let mut out: HashMap<CoverKey, Vec<(String, u16, u16)>> = HashMap::new();
    for row in &report.changes {
        for subject in &row.endpoints {
            for peer in row_peers(row) {
                let spans = out
                    .entry((subject.clone(), row.direction, peer))
                    .or_default();
                spans.extend(row.ports.iter().map(|p| (p.protocol.clone(), p.from, p.to)));
            }
        }
    }
    out
}

fn row_peers(row: &ChangeRow) -> Vec<String> {
    row.peers
        .endpoints
        .iter()
        .chain(&row.peers.entities)
        .chain(&row.peers.cidrs)
        .cloned()
        .collect()
}

fn check(seed: u64) -> usize {
    let p = pair(seed);
    let options = UniverseOptions::default();
    let report = semantic_diff(
        DiffSide {
            rules: &p.base_rules,
            inventory: &p.base_inventory,
        },
        DiffSide {
            rules: &p.head_rules,
            inventory: &p.head_inventory,
        },
        options,
    )
    .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    let all: Vec<PolicyRule> = p.base_rules.iter().chain(&p.head_rules).cloned().collect();
    let ub = build_universe(&p.base_inventory, &all, options).unwrap_or_else(|e| panic!("{e}"));
    let uh = build_universe(&p.head_inventory, &all, options).unwrap_or_else(|e| panic!("{e}"));
    let (nb, nh) = (peer_names(&ub), peer_names(&uh));
    let peers: BTreeSet<&String> = nb.keys().chain(nh.keys()).collect();
    let subjects: BTreeSet<EndpointKey> = ub
        .endpoints()
        .iter()
        .chain(uh.endpoints())
        .map(|e| e.key.clone())
        .collect();
    let mut ports = probes::boundary_ports(&ub, &p.base_rules);
    ports.extend(probes::boundary_ports(&uh, &p.head_rules));
    ports.insert(0);
    let mut samples: Vec<(&str, u16)> = Vec::new();
    for proto in ["TCP", "UDP", "SCTP"] {
        samples.extend(ports.iter().map(|port| (proto, *port)));
    }
    for (proto, family) in [("ICMP", IpFamily::IPv4), ("ICMPv6", IpFamily::IPv6)] {
        let mut types = probes::icmp_types(&p.base_rules, family);
        types.extend(probes::icmp_types(&p.head_rules, family));
        types.extend([0, 255]);
        samples.extend(types.into_iter().map(|t| (proto, u16::from(t))));
    }
    let covered = coverage(&report);
    let mut changed_flows = 0;
    for subject in &subjects {
        for direction in Direction::BOTH {
            for peer in &peers {
                let spans = covered.get(&(subject.to_string(), direction, (*peer).clone()));
                for (proto, port) in &samples {
                    let Some(t) = transport(proto, *port) else {
                        continue;
                    };
                    let before = allowed(
                        &ub,
                        &p.base_rules,
                        subject,
                        direction,
                        nb.get(*peer).copied(),
                        t,
                    );
                    let after = allowed(
                        &uh,
                        &p.head_rules,
                        subject,
                        direction,
                        nh.get(*peer).copied(),
                        t,
                    );
                    let in_row = spans.is_some_and(|s| {
                        s.iter()
                            .any(|(sp, lo, hi)| sp == proto && lo <= port && port <= hi)
                    });
                    changed_flows += usize::from(before != after);
                    assert_eq!(
                        before != after,
                        in_row,
                        "seed {seed}: {subject} {direction} peer {peer} {proto} {port}: base {before}, head {after}, \
                         reported {in_row}\n{:#?}",
                        report.changes
                    );
                }
            }
        }
    }
    for row in &report.changes {
        for subject in &row.endpoints {
            let Some(key) = EndpointKey::parse(subject) else {
                panic!("bad endpoint {subject}")
            };
            for peer in row_peers(row) {
                for span in &row.ports {
                    let mid = span.from + (span.to - span.from) / 2;
                    for port in [span.from, mid, span.to] {
                        let Some(t) = transport(&span.protocol, port) else {
                            continue;
                        };
                        let before = allowed(
                            &ub,
                            &p.base_rules,
                            &key,
                            row.direction,
                            nb.get(&peer).copied(),
                            t,
                        );
                        let after = allowed(
                            &uh,
                            &p.head_rules,
                            &key,
                            row.direction,
                            nh.get(&peer).copied(),
                            t,
                        );
                        assert_ne!(
                            before,
                            after,
                            "seed {seed}: row {} has an unchanged flow at {port}",
                            row.headline(9)
                        );
                    }
                }
            }
        }
    }
    changed_flows
}

#[test]
fn every_changed_flow_is_reported_and_every_reported_flow_changed() {
    let mut changed = 0;
    for seed in 1..=30u64 {
        changed += check(seed);
    }
    eprintln!("{changed} changed side flows checked");
    // The generator must actually produce changes for the property to mean something.
    assert!(changed > 100, "only {changed} changed flows over all seeds");
}
