//! Packet traces for T1: distinct flows towards the measured endpoint (ingress), 70 % aimed at a
//! random ingress rule (a peer it selects, a port it opens) and 30 % random peers and ports
//! (mostly misses). Every packet has its own source port, so every packet is a new flow.

use crate::policy_gen::{BenchSet, GenPeer, GenPorts, TARGET_IP};
use policyc_ir::Direction;
use policyc_kernel::packet::Packet;
use policyc_testsuite::gen::Rng;
use std::net::{IpAddr, Ipv4Addr};

fn random_world(rng: &mut Rng) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(Ipv4Addr::new(198, 19, 0, 0)) | (rng.next_u64() as u32 & 0xffff))
}

/// `count` Ethernet frames (IPv4 TCP/UDP) for the endpoint's ingress program.
pub fn ingress_trace(set: &BenchSet, count: usize, seed: u64) -> Vec<Vec<u8>> {
    let mut rng = Rng::new(seed);
    let ingress: Vec<usize> = (0..set.shapes.len())
        .filter(|i| set.shapes[*i].direction == Direction::Ingress)
        .collect();
    (0..count)
        .map(|i| {
            let sport = 1024 + (i % 60_000) as u16;
            let (src, udp, dport) = if !ingress.is_empty() && rng.below(100) < 70 {
                let shape = &set.shapes[ingress[rng.index(ingress.len())]];
                let src = match &shape.peer {
                    GenPeer::Pods(pods) if !pods.is_empty() => {
                        set.pods[pods[rng.index(pods.len())]].ip
                    }
                    GenPeer::Cidr(base, len) => {
                        let host_bits = 32 - u32::from(*len);
                        let offset = if host_bits == 0 {
                            0
                        } else {
                            rng.next_u64() as u32 & ((1u32 << host_bits) - 1)
                        };
                        Ipv4Addr::from(u32::from(*base) | offset)
                    }
                    _ => set
                        .pods
                        .get(rng.index(set.pods.len()))
                        .map_or(TARGET_IP, |p| p.ip),
                };
                match shape.ports {
                    GenPorts::Tcp(lo, hi) => {
                        (src, false, lo + rng.below(u64::from(hi - lo) + 1) as u16)
                    }
                    GenPorts::Udp(p) => (src, true, p),
                    GenPorts::AllPorts => (src, false, 1 + rng.below(65_535) as u16),
                }
            } else {
                let src = if rng.below(2) == 0 && !set.pods.is_empty() {
                    set.pods[rng.index(set.pods.len())].ip
                } else {
                    random_world(&mut rng)
                };
                (src, rng.below(10) == 0, 1 + rng.below(65_535) as u16)
            };
            let (s, d) = (IpAddr::V4(src), IpAddr::V4(TARGET_IP));
            if udp {
                Packet::udp(s, d, sport, dport).frame()
            } else {
                Packet::tcp(s, d, sport, dport).frame()
            }
        })
        .collect()
}
