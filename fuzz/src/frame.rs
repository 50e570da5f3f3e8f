//! The userspace reference parser of the datapath target: reads an Ethernet frame as the
//! oracle's flow (addresses and transport), or gives up. It gives up on everything whose
//! verdict the oracle cannot state on its own: non-IP frames, fragments (their verdict comes
//! from the first fragment), IPv6 extension headers it does not walk, protocols other than
//! TCP/UDP/SCTP/ICMP and headers too short for the port or type.

use policyc_ir::oracle::Transport;
use policyc_ir::ports::IpFamily;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The flow a frame stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameFlow {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub transport: Transport,
}

pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
pub const ETHERTYPE_ARP: u16 = 0x0806;
const ETH_HLEN: usize = 14;
/// As many extension headers as the datapath walks (`MAX_IPV6_EXT_HEADERS`).
const MAX_EXT_HEADERS: usize = 8;

/// The Ethernet type of a frame.
pub fn ethertype(frame: &[u8]) -> Option<u16> {
    Some(u16::from_be_bytes([*frame.get(12)?, *frame.get(13)?]))
}

/// The transport layer of an unfragmented IP packet.
#[derive(Debug, Clone, Copy)]
pub struct Segment<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub protocol: u8,
    pub family: IpFamily,
    /// From the transport header to the end of the frame.
    pub bytes: &'a [u8],
}

/// The flow of an Ethernet frame, when the reference can tell.
pub fn parse(frame: &[u8]) -> Option<FrameFlow> {
    let segment = segment(frame)?;
    Some(FrameFlow {
        src: segment.src,
        dst: segment.dst,
        transport: l4(segment.protocol, segment.family, segment.bytes)?,
    })
}

/// The transport segment of an Ethernet frame (not for fragments and unknown headers).
pub fn segment(frame: &[u8]) -> Option<Segment<'_>> {
    let l3 = frame.get(ETH_HLEN..)?;
    match ethertype(frame)? {
        ETHERTYPE_IPV4 => ipv4(l3),
        ETHERTYPE_IPV6 => ipv6(l3),
        _ => None,
    }
}

fn ipv4(h: &[u8]) -> Option<Segment<'_>> {
    if h.first()? >> 4 != 4 {
        return None;
    }
    let ihl = usize::from(h[0] & 0x0f) * 4;
    if ihl < 20 || h.len() < ihl {
        return None;
    }
    let frag = u16::from_be_bytes([h[6], h[7]]);
    if frag & 0x3fff != 0 {
        return None; // more-fragments or an offset: a fragment
    }
    let src = IpAddr::V4(Ipv4Addr::new(h[12], h[13], h[14], h[15]));
    let dst = IpAddr::V4(Ipv4Addr::new(h[16], h[17], h[18], h[19]));
    Some(Segment {
        src,
        dst,
        protocol: h[9],
        family: IpFamily::IPv4,
        bytes: &h[ihl..],
    })
}

fn ipv6(h: &[u8]) -> Option<Segment<'_>> {
    if h.first()? >> 4 != 6 || h.len() < 40 {
        return None;
    }
    let addr = |at: usize| -> Option<IpAddr> {
        let bytes: [u8; 16] = h.get(at..at + 16)?.try_into().ok()?;
        Some(IpAddr::V6(Ipv6Addr::from(bytes)))
    };
    let (src, dst) = (addr(8)?, addr(24)?);
    let mut next = h[6];
    let mut at = 40;
    for _ in 0..=MAX_EXT_HEADERS {
        let len = match next {
            0 | 43 | 60 => (usize::from(*h.get(at + 1)?) + 1) * 8,
            51 => (usize::from(*h.get(at + 1)?) + 2) * 4,
            44 => return None, // a fragment
            _ => {
                return Some(Segment {
                    src,
                    dst,
                    protocol: next,
                    family: IpFamily::IPv6,
                    bytes: h.get(at..)?,
                })
            }
        };
        next = *h.get(at)?;
        at += len;
    }
    None
}

fn l4(protocol: u8, family: IpFamily, l4: &[u8]) -> Option<Transport> {
    let port = || Some(u16::from_be_bytes([*l4.get(2)?, *l4.get(3)?]));
    match (protocol, family) {
        (6, _) => Some(Transport::Tcp { port: port()? }),
        (17, _) => Some(Transport::Udp { port: port()? }),
        (132, _) => Some(Transport::Sctp { port: port()? }),
        (1, IpFamily::IPv4) | (58, IpFamily::IPv6) => Some(Transport::Icmp {
            family,
            icmp_type: *l4.first()?,
        }),
        _ => None,
    }
}
