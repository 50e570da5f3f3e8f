//! Probe packets for one policy set: for every endpoint, direction and peer address (endpoint
//! and node addresses, an address inside every CIDR identity, unknown IPv4/IPv6 addresses), the
//! boundary ports of every rule (lo-1, lo, hi, hi+1, named ports ±1, 1, 65535) on TCP, UDP and
//! SCTP, and ICMP/ICMPv6 types around the ones the rules name. Each probe carries the oracle's
//! verdict for the endpoint's side.

use policyc::kernel::tables::{expected_side, ExpectedSide, SideProbe};
use policyc_ir::oracle::{Flow, FlowPeer, Oracle, Transport};
use policyc_ir::universe::{EndpointKey, Universe};
use policyc_ir::{Direction, IpFamily, PolicyRule, PortMatch, PortSpec};
use std::collections::BTreeSet;
use std::net::IpAddr;

/// One packet to run and what the oracle says about it.
#[derive(Debug, Clone)]
pub struct Probe {
    pub endpoint: EndpointKey,
    pub side: SideProbe,
    pub peer_identity: u32,
    pub expected: ExpectedSide,
    /// The oracle's reason and deciding rules, for mismatch reports.
    pub oracle_detail: String,
}

/// Ports worth testing for a rule set.
pub fn boundary_ports(universe: &Universe, rules: &[PolicyRule]) -> BTreeSet<u16> {
    let mut ports: BTreeSet<u16> = [1, 80, 1023, 1024, 65535].into_iter().collect();
    let mut add_range = |lo: u16, hi: u16| {
        for p in [lo.saturating_sub(1), lo, hi, hi.saturating_add(1)] {
            ports.insert(p.max(1));
        }
    };
    for rule in rules {
        if let PortMatch::Ports(prs) = &rule.ports {
            for pp in prs.iter().flat_map(|pr| pr.ports.iter()) {
                match &pp.port {
                    PortSpec::Range(r) => add_range(r.lo(), r.hi()),
                    PortSpec::Named(name) => {
                        for np in universe
                            .endpoints()
                            .iter()
                            .filter_map(|e| e.named_ports.get(name))
                        {
                            add_range(np.port, np.port);
                        }
                    }
                }
            }
        }
    }
    ports
}

/// ICMP types worth testing, per family.
pub fn icmp_types(rules: &[PolicyRule], family: IpFamily) -> BTreeSet<u8> {
    let mut types: BTreeSet<u8> = match family {
        IpFamily::IPv4 => [8, 13].into_iter().collect(),
        IpFamily::IPv6 => [128, 140].into_iter().collect(),
    };
    // The types of BOTH families' rules: a type allowed for one family must not pass in the
    // other (Cilium keys ICMP entries by protocol 1 or 58 and type).
    for rule in rules {
        if let PortMatch::Icmps(icmps) = &rule.ports {
            for m in icmps {
                types.insert(m.icmp_type);
                types.insert(m.icmp_type.saturating_add(1));
            }
        }
    }
    // IPv6 neighbor discovery (133-137) is passed by the datapath before policy (as Cilium
    // does, or pods lose their neighbours); the oracle does not model it, so it is not probed.
    types.retain(|t| family == IpFamily::IPv4 || !(133..=137).contains(t));
    types
}

/// Peer addresses: every endpoint and node address, one address inside each CIDR identity's
/// prefix, and unknown addresses of both families.
pub fn peer_addresses(universe: &Universe) -> Vec<IpAddr> {
    let mut out: BTreeSet<IpAddr> = BTreeSet::new();
    for e in universe.endpoints() {
        out.extend(e.ips.iter().copied());
    }
    for n in universe.nodes() {
        out.extend(n.ips.iter().copied());
    }
    for (prefix, _) in universe.cidr_identities() {
        let net = prefix.net();
        let addr = match net.network() {
            IpAddr::V4(a) if net.prefix_len() < 32 => {
                IpAddr::V4(std::net::Ipv4Addr::from(u32::from(a) + 1))
            }
            IpAddr::V6(a) if net.prefix_len() < 128 => {
                IpAddr::V6(std::net::Ipv6Addr::from(u128::from(a) + 1))
            }
            other => other,
        };
        out.insert(addr);
    }
    for unknown in [
        "8.8.8.8",
        "192.0.2.77",
        "2606:4700::1111",
        "2001:db8:ffff::9",
    ] {
        if let Ok(ip) = unknown.parse() {
            out.insert(ip);
        }
    }
    out.into_iter().collect()
}

fn transports(
    ports: &BTreeSet<u16>,
    v4_types: &BTreeSet<u8>,
    v6_types: &BTreeSet<u8>,
    ipv6: bool,
) -> Vec<Transport> {
    let mut out = Vec::new();
    for p in ports {
        out.push(Transport::Tcp { port: *p });
        out.push(Transport::Udp { port: *p });
        out.push(Transport::Sctp { port: *p });
    }
    let (family, types) = if ipv6 {
        (IpFamily::IPv6, v6_types)
    } else {
        (IpFamily::IPv4, v4_types)
    };
    out.extend(types.iter().map(|t| Transport::Icmp {
        family,
        icmp_type: *t,
    }));
    out
}

/// Every probe of a policy set (oracle-judged). Peers that are the endpoint itself are skipped
/// (a pod's traffic to itself never reaches its interface).
pub fn probes(universe: &Universe, rules: &[PolicyRule]) -> Vec<Probe> {
    let oracle = Oracle::new(universe, rules);
    let ports = boundary_ports(universe, rules);
    let v4_types = icmp_types(rules, IpFamily::IPv4);
    let v6_types = icmp_types(rules, IpFamily::IPv6);
    let peers = peer_addresses(universe);
    let mut out = Vec::new();
    for endpoint in universe.endpoints() {
        for peer in &peers {
            if endpoint.ips.contains(peer) {
                continue;
            }
            let Some(local) = endpoint
                .ips
                .iter()
                .find(|ip| ip.is_ipv6() == peer.is_ipv6())
                .copied()
            else {
                continue;
            };
            let peer_identity = universe.identity_of_ip(peer).0;
            for transport in transports(&ports, &v4_types, &v6_types, peer.is_ipv6()) {
                for direction in Direction::BOTH {
                    let me = FlowPeer::Endpoint(endpoint.key.clone());
                    let other = FlowPeer::Ip(*peer);
                    let flow = match direction {
                        Direction::Egress => Flow::new(me, other, transport),
                        Direction::Ingress => Flow::new(other, me, transport),
                    };
                    let Ok(verdict) = oracle.evaluate(&flow) else {
                        continue;
                    };
                    let side = match direction {
                        Direction::Egress => verdict.egress,
                        Direction::Ingress => verdict.ingress,
                    };
                    out.push(Probe {
                        endpoint: endpoint.key.clone(),
                        side: SideProbe {
                            direction,
                            local,
                            peer: *peer,
                            transport,
                        },
                        peer_identity,
                        expected: expected_side(&side),
                        oracle_detail: format!("{:?} by {:?}", side.reason, side.deciding),
                    });
                }
            }
        }
    }
    out
}
