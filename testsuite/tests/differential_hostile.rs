//! Hostile packets in the oracle/kernel differential (issue 17): every probe of the example
//! policies and of generated policy sets is sent again the way a hostile pod would shape it —
//! a forged source (egress), an ICMP error quoting a live allowed flow of another peer, an IPv6
//! extension-header chain (with and without a fragment header), a length that lies (0, as GSO /
//! BIG TCP skbs carry, or longer than the frame) — and not one of them may pass where policy
//! drops the packet (forged sources: ever). Runs the template datapath under
//! BPF_PROG_TEST_RUN; needs root unless POLICYC_SKIP_KERNEL_TESTS=1.

use policyc::kernel::tables::{is_echo_request, KernelChecker, SideProbe};
use policyc_backends::layout::Direction as DpDirection;
use policyc_build::{compile, load_inputs};
use policyc_diagnostics::source::SourceMap;
use policyc_ir::oracle::{Flow, FlowPeer, Oracle, Transport};
use policyc_ir::universe::{EndpointKey, Universe};
use policyc_ir::{Direction, IpFamily, PolicyRule};
use policyc_kernel::packet::{ExtHeader, Packet};
use policyc_kernel::AttachKind;
use policyc_testsuite::gen::{generate, probes::probes};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;

const GENERATED_SETS: u64 = 4;
const MAX_REPORTED: usize = 20;

/// The IPv6 extension-header chains a denied packet is sent with.
const CHAINS: [&[ExtHeader]; 5] = [
    &[ExtHeader::HopByHop],
    &[ExtHeader::DestOpts],
    &[ExtHeader::HopByHop, ExtHeader::DestOpts, ExtHeader::Routing],
    &[ExtHeader::Auth],
    &[ExtHeader::DestOpts, ExtHeader::DestOpts],
];

fn skip_kernel_tests() -> bool {
    std::env::var("POLICYC_SKIP_KERNEL_TESTS").is_ok_and(|v| v == "1")
}

fn packet(side: &SideProbe, sport: u16) -> Packet {
    let (src, dst) = match side.direction {
        Direction::Egress => (side.local, side.peer),
        Direction::Ingress => (side.peer, side.local),
    };
    match side.transport {
        Transport::Tcp { port } => Packet::tcp(src, dst, sport, port),
        Transport::Udp { port } => Packet::udp(src, dst, sport, port),
        Transport::Sctp { port } => Packet::sctp(src, dst, sport, port),
        // Type 8 is an echo request in ICMPv4 only, 128 in ICMPv6 only (one definition).
        t @ Transport::Icmp { .. } if is_echo_request(t) => Packet::echo_request(src, dst, sport),
        Transport::Icmp { icmp_type, .. } => Packet::icmp(src, dst, icmp_type, 0),
    }
}

/// An address of the same family that is neither the endpoint's nor the peer's.
fn forged(local: IpAddr) -> IpAddr {
    match local {
        IpAddr::V4(a) => {
            let mut o = a.octets();
            o[3] ^= 0x5a;
            IpAddr::from(o)
        }
        IpAddr::V6(a) => {
            let mut o = a.octets();
            o[15] ^= 0x5a;
            IpAddr::from(o)
        }
    }
}

/// The frame with its IP length field set to `len` (IPv4 total length, IPv6 payload length).
fn with_ip_length(frame: &[u8], ipv6: bool, len: u16) -> Vec<u8> {
    let mut f = frame.to_vec();
    let at = if ipv6 { 14 + 4 } else { 14 + 2 };
    f[at..at + 2].copy_from_slice(&len.to_be_bytes());
    f
}

/// Whether the oracle lets an ICMP error of the family pass the endpoint's side toward `peer`.
fn error_allowed(
    oracle: &Oracle<'_>,
    endpoint: &EndpointKey,
    side: &SideProbe,
    error_type: u8,
) -> bool {
    let family = if side.peer.is_ipv6() {
        IpFamily::IPv6
    } else {
        IpFamily::IPv4
    };
    let transport = Transport::Icmp {
        family,
        icmp_type: error_type,
    };
    let me = FlowPeer::Endpoint(endpoint.clone());
    let other = FlowPeer::Ip(side.peer);
    let flow = match side.direction {
        Direction::Egress => Flow::new(me, other, transport),
        Direction::Ingress => Flow::new(other, me, transport),
    };
    match oracle.evaluate(&flow) {
        Ok(v) => {
            let s = match side.direction {
                Direction::Egress => v.egress,
                Direction::Ingress => v.ingress,
            };
            policyc::kernel::tables::expected_side(&s).passes
        }
        // Not judgeable: count it as denied (the kernel must then drop it too).
        Err(_) => false,
    }
}

fn dp(direction: Direction) -> DpDirection {
    match direction {
        Direction::Egress => DpDirection::Egress,
        Direction::Ingress => DpDirection::Ingress,
    }
}

/// Runs the hostile variants of every probe of one set; returns (packets, violations).
fn hostile_set(name: &str, universe: &Universe, rules: &[PolicyRule]) -> (u64, Vec<String>) {
    let compilation =
        compile(universe, rules, &|| {}).unwrap_or_else(|e| panic!("{name}: compile failed: {e}"));
    let oracle = Oracle::new(universe, rules);
    let mut checker = KernelChecker::new(&compilation);
    let all = probes(universe, rules);
    let mut sport: u16 = 20_000;
    let mut next_port = || {
        sport = if sport == u16::MAX { 20_000 } else { sport + 1 };
        sport
    };
    let mut packets = 0u64;
    let mut violations = Vec::new();

    // One live allowed flow per endpoint and family, to be quoted by forged ICMP errors.
    let mut live: BTreeMap<(EndpointKey, bool), (Packet, IpAddr)> = BTreeMap::new();
    for probe in all.iter().filter(|p| p.expected.passes) {
        let key = (probe.endpoint.clone(), probe.side.peer.is_ipv6());
        if live.contains_key(&key) || matches!(probe.side.transport, Transport::Icmp { .. }) {
            continue;
        }
        let p = packet(&probe.side, next_port());
        let h = checker
            .load(&probe.endpoint)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let out = h
            .run(dp(probe.side.direction), AttachKind::Tcx, &p.frame())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        packets += 1;
        if out.passed {
            live.insert(key, (p, probe.side.peer));
        }
    }

    for probe in &all {
        let side = &probe.side;
        let ipv6 = side.peer.is_ipv6();
        let base = packet(side, next_port());
        let mut variants: Vec<(String, Vec<u8>)> = Vec::new();
        if side.direction == Direction::Egress {
            let mut p = base.clone();
            p.src = forged(side.local);
            variants.push(("forged source".into(), p.frame()));
            let mut p = base.clone();
            p.src = side.peer;
            variants.push(("the peer's own address as source".into(), p.frame()));
        }
        if !probe.expected.passes {
            if ipv6 {
                for chain in CHAINS {
                    variants.push((
                        format!("extension chain {chain:?}"),
                        base.clone().with_ipv6_ext(chain).frame(),
                    ));
                    variants.push((
                        format!("extension chain {chain:?} + first fragment"),
                        base.clone()
                            .with_ipv6_ext(chain)
                            .with_payload(&[0; 16])
                            .fragment(0, true, u32::from(next_port()))
                            .frame(),
                    ));
                }
            }
            let frame = base.frame();
            variants.push((
                "IP length 0 (GSO-like)".into(),
                with_ip_length(&frame, ipv6, 0),
            ));
            let mut short = base.clone().with_payload(&[0; 64]).frame();
            short.truncate(short.len() - 32);
            variants.push(("IP length beyond the frame".into(), short));
        }
        let error_type = if ipv6 { 1 } else { 3 };
        if let Some((quoted, quoted_peer)) = live.get(&(probe.endpoint.clone(), ipv6)) {
            if *quoted_peer != side.peer
                && !error_allowed(&oracle, &probe.endpoint, side, error_type)
            {
                let (src, dst) = match side.direction {
                    Direction::Egress => (side.local, side.peer),
                    Direction::Ingress => (side.peer, side.local),
                };
                for original in [quoted.clone(), quoted.reply()] {
                    variants.push((
                        "ICMP error quoting another peer's live flow".into(),
                        Packet::icmp_error(
                            src,
                            dst,
                            error_type,
                            3,
                            original.with_payload(&[7; 200]),
                        )
                        .frame(),
                    ));
                }
            }
        }
        if variants.is_empty() {
            continue;
        }
        let h = checker
            .load(&probe.endpoint)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        for (label, frame) in variants {
            let out = h
                .run(dp(side.direction), AttachKind::Tcx, &frame)
                .unwrap_or_else(|e| panic!("{name}: BPF datapath unavailable or failing: {e}"));
            packets += 1;
            if out.passed {
                violations.push(format!(
                    "{name}: endpoint {} {} peer {} {}: {label} passed ({:?}); oracle for the \
                     plain packet: {}",
                    probe.endpoint,
                    side.direction,
                    side.peer,
                    side.transport,
                    out.reason(),
                    probe.expected
                ));
            }
        }
    }
    (packets, violations)
}

#[test]
fn no_hostile_packet_passes_where_policy_drops() {
    if skip_kernel_tests() {
        eprintln!("SKIPPED: POLICYC_SKIP_KERNEL_TESTS=1 (hostile differential not run)");
        return;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut sources = SourceMap::default();
    let (universe, rules, _) = load_inputs(
        &root.join("policy-examples/inventory.yaml"),
        &[root.join("policy-examples/policies")],
        Default::default(),
        &mut sources,
    )
    .expect("examples load");
    let (mut packets, mut violations) = hostile_set("policy-examples", &universe, &rules);
    for seed in 0..GENERATED_SETS {
        let set = generate(seed);
        let universe = set.universe().expect("universe");
        let (n, v) = hostile_set(&format!("generated seed {seed}"), &universe, &set.rules);
        packets += n;
        violations.extend(v);
    }
    println!("{packets} hostile packets, {} passed", violations.len());
    assert!(
        violations.is_empty(),
        "{} of {packets} hostile packets passed; first ones:\n{}",
        violations.len(),
        violations
            .iter()
            .take(MAX_REPORTED)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(packets >= 10_000, "only {packets} hostile packets");
}
