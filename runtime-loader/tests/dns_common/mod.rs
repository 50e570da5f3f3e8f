//! Shared fixtures of the DNS kernel tests: the kernel gate, tables, the DNS messages (built by
//! `policyc_kernel::fqdn`, the one builder, which the kernel self-check of `policyc build` uses
//! too) and decoders of the frames the DNS programs emit.
#![allow(dead_code)]

use std::net::IpAddr;

use policyc_backends::dns::{DnsConfig, DnsLimits, DnsTables};
use policyc_ir::fqdn::{FqdnPattern, FqdnSelector};
use policyc_kernel::dns::DnsInstance;
pub use policyc_kernel::fqdn::{answer_message_with_ttls, query_message};
use policyc_kernel::packet::Packet;

pub const ENDPOINT_V4: &str = "10.0.0.10";
pub const ENDPOINT_V6: &str = "fd00::10";
pub const SERVER_V4: &str = "10.0.9.53";
pub const SERVER_V6: &str = "fd00:9::53";
pub const CLIENT_PORT: u16 = 40000;

/// tcx verdicts (`policyc_packet.h`; mirrored once in `policyc_kernel::testrun`).
pub use policyc_kernel::testrun::{TCX_DROP, TCX_NEXT};
pub const TC_ACT_REDIRECT: u32 = 7;

pub fn ip(s: &str) -> IpAddr {
    s.parse()
        .unwrap_or_else(|e| panic!("bad test address {s}: {e}"))
}

/// Kernel tests must not skip silently (POLICYC_SKIP_KERNEL_TESTS=1 to skip).
pub fn kernel_tests_enabled() -> bool {
    if std::env::var("POLICYC_SKIP_KERNEL_TESTS").as_deref() == Ok("1") {
        eprintln!("POLICYC_SKIP_KERNEL_TESTS=1: skipping a BPF kernel test");
        return false;
    }
    true
}

pub fn name(text: &str) -> FqdnSelector {
    FqdnSelector::MatchName(FqdnPattern::name(text).unwrap_or_else(|e| panic!("{e}")))
}

pub fn glob(text: &str) -> FqdnSelector {
    FqdnSelector::MatchPattern(FqdnPattern::pattern(text).unwrap_or_else(|e| panic!("{e}")))
}

/// Class 0: api.example.com (exact); class 1: *.cilium.io; class 2: **.svc.local.
pub fn sample_tables() -> DnsTables {
    DnsTables::compile(
        &[
            (0, name("api.example.com")),
            (1, glob("*.cilium.io")),
            (2, glob("**.svc.local")),
        ],
        &DnsLimits::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

pub fn load(tables: &DnsTables, config: &DnsConfig) -> DnsInstance {
    DnsInstance::load(tables, config).unwrap_or_else(|e| {
        panic!("the DNS object did not load (set POLICYC_SKIP_KERNEL_TESTS=1 to skip): {e}")
    })
}

pub fn endpoint(v6: bool) -> IpAddr {
    ip(if v6 { ENDPOINT_V6 } else { ENDPOINT_V4 })
}

pub fn server(v6: bool) -> IpAddr {
    ip(if v6 { SERVER_V6 } else { SERVER_V4 })
}

/// A query frame from the endpoint to the server.
pub fn query_frame(v6: bool, message: &[u8]) -> Vec<u8> {
    Packet::udp(endpoint(v6), server(v6), CLIENT_PORT, 53)
        .with_payload(message)
        .frame()
}

/// An answer frame from the server to the endpoint.
pub fn answer_frame(v6: bool, message: &[u8]) -> Vec<u8> {
    Packet::udp(server(v6), endpoint(v6), 53, CLIENT_PORT)
        .with_payload(message)
        .frame()
}

/// The decoded fields of a UDP/IP frame.
#[derive(Debug)]
pub struct Decoded {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub sport: u16,
    pub dport: u16,
    pub ip_header_ok: bool,
    pub udp_checksum_ok: bool,
    pub udp_len_ok: bool,
    pub payload: Vec<u8>,
    pub macs: ([u8; 6], [u8; 6]),
}

fn sum16(bytes: &[u8]) -> u32 {
    bytes
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)])))
        .sum()
}

fn fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// Decodes an Ethernet/IPv4-or-IPv6/UDP frame and checks its lengths and checksums.
pub fn decode(frame: &[u8]) -> Decoded {
    let mut dst_mac = [0u8; 6];
    let mut src_mac = [0u8; 6];
    dst_mac.copy_from_slice(&frame[0..6]);
    src_mac.copy_from_slice(&frame[6..12]);
    let ethertype = u16::from_be_bytes([frame[12], frame[13]]);
    let (src, dst, l4, pseudo, ip_header_ok) = if ethertype == 0x0800 {
        let h = &frame[14..34];
        let tot = usize::from(u16::from_be_bytes([h[2], h[3]]));
        let ok = fold(sum16(h)) == 0xffff && tot == frame.len() - 14;
        let src = IpAddr::from(<[u8; 4]>::try_from(&h[12..16]).unwrap_or_else(|e| panic!("{e}")));
        let dst = IpAddr::from(<[u8; 4]>::try_from(&h[16..20]).unwrap_or_else(|e| panic!("{e}")));
        (src, dst, 34, h[12..20].to_vec(), ok)
    } else {
        let h = &frame[14..54];
        let plen = usize::from(u16::from_be_bytes([h[4], h[5]]));
        let ok = plen == frame.len() - 54;
        let src = IpAddr::from(<[u8; 16]>::try_from(&h[8..24]).unwrap_or_else(|e| panic!("{e}")));
        let dst = IpAddr::from(<[u8; 16]>::try_from(&h[24..40]).unwrap_or_else(|e| panic!("{e}")));
        (src, dst, 54, h[8..40].to_vec(), ok)
    };
    let udp = &frame[l4..];
    let udp_len = usize::from(u16::from_be_bytes([udp[4], udp[5]]));
    let mut sum = sum16(&pseudo) + 17 + udp_len as u32;
    sum += sum16(udp);
    let stored = u16::from_be_bytes([udp[6], udp[7]]);
    let udp_checksum_ok = stored != 0 && fold(sum) == 0xffff;
    Decoded {
        src,
        dst,
        sport: u16::from_be_bytes([udp[0], udp[1]]),
        dport: u16::from_be_bytes([udp[2], udp[3]]),
        ip_header_ok,
        udp_checksum_ok,
        udp_len_ok: udp_len == udp.len(),
        payload: udp[8..].to_vec(),
        macs: (dst_mac, src_mac),
    }
}
