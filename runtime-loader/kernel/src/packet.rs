//! A small packet builder for tests: Ethernet + IPv4/IPv6 (options, extension headers,
//! fragments) + TCP/UDP/SCTP/ICMP/ICMPv6, with ICMP errors embedding another packet and
//! truncation. IPv4, TCP, UDP, ICMP and ICMPv6 checksums are filled in; SCTP's CRC32c is 0.

use std::net::IpAddr;

/// Transport layer of a [`Packet`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// TCP with the given flags byte (0x02 = SYN).
    Tcp { sport: u16, dport: u16, flags: u8 },
    /// UDP.
    Udp { sport: u16, dport: u16 },
    /// SCTP common header (verification tag 0).
    Sctp { sport: u16, dport: u16 },
    /// ICMP (IPv4) or ICMPv6 (IPv6, chosen by the address family): type, code and the 4
    /// header bytes after the checksum (echo: identifier + sequence).
    Icmp {
        icmp_type: u8,
        code: u8,
        rest: [u8; 4],
    },
    /// An ICMP/ICMPv6 error carrying the IP bytes of `original` (as many as `original` has).
    IcmpError {
        icmp_type: u8,
        code: u8,
        original: Box<Packet>,
    },
    /// Any other IP protocol; the payload follows the IP header(s) directly.
    Other { protocol: u8 },
}

/// An IPv6 extension header to insert before the transport header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtHeader {
    /// Hop-by-hop options (8 bytes, PadN).
    HopByHop,
    /// Routing header (8 bytes, segments left 0).
    Routing,
    /// Destination options (8 bytes, PadN).
    DestOpts,
    /// Authentication header (12 bytes: payload length 1).
    Auth,
}

/// Fragmentation of the IP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fragment {
    /// Offset in 8-byte units; non-zero = a later fragment (no transport header is written).
    pub offset: u16,
    /// More fragments follow.
    pub more: bool,
    /// Identification (IPv4 uses the low 16 bits).
    pub id: u32,
}

/// A packet description; [`Packet::frame`] renders the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// Source address (family decides IPv4/IPv6).
    pub src: IpAddr,
    /// Destination address (must be the same family as `src`).
    pub dst: IpAddr,
    /// Transport layer.
    pub transport: Transport,
    /// Bytes after the transport header.
    pub payload: Vec<u8>,
    /// IPv4 options (padded to 4 bytes).
    pub ipv4_options: Vec<u8>,
    /// IPv6 extension headers, in order (a fragment header is added after them if fragmented).
    pub ipv6_ext: Vec<ExtHeader>,
    /// Fragmentation.
    pub fragment: Option<Fragment>,
    /// Cut the rendered frame to this many bytes (length fields keep their full values).
    pub truncate_to: Option<usize>,
    /// IPv4 TTL / IPv6 hop limit (64 unless set).
    pub hop_limit: u8,
}

const PROTO_ICMP: u8 = 1;
const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;
const PROTO_ICMPV6: u8 = 58;
const PROTO_SCTP: u8 = 132;

impl Packet {
    fn new(src: IpAddr, dst: IpAddr, transport: Transport) -> Packet {
        Packet {
            src,
            dst,
            transport,
            payload: Vec::new(),
            ipv4_options: Vec::new(),
            ipv6_ext: Vec::new(),
            fragment: None,
            truncate_to: None,
            hop_limit: 64,
        }
    }

    /// TCP SYN.
    pub fn tcp(src: IpAddr, dst: IpAddr, sport: u16, dport: u16) -> Packet {
        Packet::new(
            src,
            dst,
            Transport::Tcp {
                sport,
                dport,
                flags: 0x02,
            },
        )
    }

    /// UDP.
    pub fn udp(src: IpAddr, dst: IpAddr, sport: u16, dport: u16) -> Packet {
        Packet::new(src, dst, Transport::Udp { sport, dport })
    }

    /// SCTP.
    pub fn sctp(src: IpAddr, dst: IpAddr, sport: u16, dport: u16) -> Packet {
        Packet::new(src, dst, Transport::Sctp { sport, dport })
    }

    /// ICMP/ICMPv6 of the given type and code (rest bytes zero).
    pub fn icmp(src: IpAddr, dst: IpAddr, icmp_type: u8, code: u8) -> Packet {
        Packet::new(
            src,
            dst,
            Transport::Icmp {
                icmp_type,
                code,
                rest: [0; 4],
            },
        )
    }

    /// Echo request (ICMP 8 / ICMPv6 128) with an identifier.
    pub fn echo_request(src: IpAddr, dst: IpAddr, id: u16) -> Packet {
        let t = if src.is_ipv4() { 8 } else { 128 };
        let [a, b] = id.to_be_bytes();
        Packet::new(
            src,
            dst,
            Transport::Icmp {
                icmp_type: t,
                code: 0,
                rest: [a, b, 0, 1],
            },
        )
    }

    /// Echo reply (ICMP 0 / ICMPv6 129) with an identifier.
    pub fn echo_reply(src: IpAddr, dst: IpAddr, id: u16) -> Packet {
        let t = if src.is_ipv4() { 0 } else { 129 };
        let [a, b] = id.to_be_bytes();
        Packet::new(
            src,
            dst,
            Transport::Icmp {
                icmp_type: t,
                code: 0,
                rest: [a, b, 0, 1],
            },
        )
    }

    /// An ICMP error (e.g. v4 3/3 port unreachable, v6 1/4) about `original`.
    pub fn icmp_error(
        src: IpAddr,
        dst: IpAddr,
        icmp_type: u8,
        code: u8,
        original: Packet,
    ) -> Packet {
        let original = Box::new(original);
        Packet::new(
            src,
            dst,
            Transport::IcmpError {
                icmp_type,
                code,
                original,
            },
        )
    }

    /// Another IP protocol without ports.
    pub fn other(src: IpAddr, dst: IpAddr, protocol: u8) -> Packet {
        Packet::new(src, dst, Transport::Other { protocol })
    }

    /// Sets the payload.
    pub fn with_payload(mut self, payload: &[u8]) -> Packet {
        self.payload = payload.to_vec();
        self
    }

    /// Adds IPv4 options.
    pub fn with_ipv4_options(mut self, options: &[u8]) -> Packet {
        self.ipv4_options = options.to_vec();
        self
    }

    /// Adds IPv6 extension headers.
    pub fn with_ipv6_ext(mut self, ext: &[ExtHeader]) -> Packet {
        self.ipv6_ext = ext.to_vec();
        self
    }

    /// Marks the packet as a fragment.
    pub fn fragment(mut self, offset: u16, more: bool, id: u32) -> Packet {
        self.fragment = Some(Fragment { offset, more, id });
        self
    }

    /// Sets the IPv4 TTL / IPv6 hop limit (neighbor discovery needs 255).
    pub fn with_hop_limit(mut self, hop_limit: u8) -> Packet {
        self.hop_limit = hop_limit;
        self
    }

    /// Truncates the rendered frame.
    pub fn truncated_to(mut self, len: usize) -> Packet {
        self.truncate_to = Some(len);
        self
    }

    /// The same TCP segment with another flags byte (FIN 0x01, SYN 0x02, RST 0x04, ACK 0x10);
    /// other transports are left as they are.
    pub fn with_tcp_flags(mut self, new_flags: u8) -> Packet {
        if let Transport::Tcp { flags, .. } = &mut self.transport {
            *flags = new_flags;
        }
        self
    }

    /// The reversed packet (addresses and ports swapped), same transport kind.
    pub fn reply(&self) -> Packet {
        let transport = match &self.transport {
            Transport::Tcp { sport, dport, .. } => Transport::Tcp {
                sport: *dport,
                dport: *sport,
                flags: 0x12,
            },
            Transport::Udp { sport, dport } => Transport::Udp {
                sport: *dport,
                dport: *sport,
            },
            Transport::Sctp { sport, dport } => Transport::Sctp {
                sport: *dport,
                dport: *sport,
            },
            other => other.clone(),
        };
        Packet::new(self.dst, self.src, transport)
    }

    /// IP protocol number of the transport.
    pub fn protocol(&self) -> u8 {
        match &self.transport {
            Transport::Tcp { .. } => PROTO_TCP,
            Transport::Udp { .. } => PROTO_UDP,
            Transport::Sctp { .. } => PROTO_SCTP,
            Transport::Icmp { .. } | Transport::IcmpError { .. } => {
                if self.src.is_ipv4() {
                    PROTO_ICMP
                } else {
                    PROTO_ICMPV6
                }
            }
            Transport::Other { protocol } => *protocol,
        }
    }

    fn transport_bytes(&self) -> Vec<u8> {
        let mut out = match &self.transport {
            Transport::Tcp {
                sport,
                dport,
                flags,
            } => {
                let mut h = vec![0u8; 20];
                h[0..2].copy_from_slice(&sport.to_be_bytes());
                h[2..4].copy_from_slice(&dport.to_be_bytes());
                h[4..8].copy_from_slice(&1u32.to_be_bytes());
                h[12] = 5 << 4;
                h[13] = *flags;
                h[14..16].copy_from_slice(&65535u16.to_be_bytes());
                h
            }
            Transport::Udp { sport, dport } => {
                let mut h = vec![0u8; 8];
                h[0..2].copy_from_slice(&sport.to_be_bytes());
                h[2..4].copy_from_slice(&dport.to_be_bytes());
                let len = u16::try_from(8 + self.payload.len()).unwrap_or(u16::MAX);
                h[4..6].copy_from_slice(&len.to_be_bytes());
                h
            }
            Transport::Sctp { sport, dport } => {
                let mut h = vec![0u8; 12];
                h[0..2].copy_from_slice(&sport.to_be_bytes());
                h[2..4].copy_from_slice(&dport.to_be_bytes());
                h
            }
            Transport::Icmp {
                icmp_type,
                code,
                rest,
            } => {
                vec![*icmp_type, *code, 0, 0, rest[0], rest[1], rest[2], rest[3]]
            }
            Transport::IcmpError {
                icmp_type,
                code,
                original,
            } => {
                let mut h = vec![*icmp_type, *code, 0, 0, 0, 0, 0, 0];
                h.extend_from_slice(&original.ip_bytes());
                h
            }
            Transport::Other { .. } => Vec::new(),
        };
        out.extend_from_slice(&self.payload);
        let checksum_at = match &self.transport {
            Transport::Tcp { .. } => Some(16),
            Transport::Udp { .. } => Some(6),
            Transport::Icmp { .. } | Transport::IcmpError { .. } => Some(2),
            _ => None,
        };
        if let Some(at) = checksum_at {
            let pseudo = match (&self.transport, self.src.is_ipv4()) {
                (Transport::Icmp { .. } | Transport::IcmpError { .. }, true) => Vec::new(),
                _ => self.pseudo_header(out.len()),
            };
            let mut sum_input = pseudo;
            sum_input.extend_from_slice(&out);
            let mut sum = checksum(&sum_input);
            if sum == 0 && matches!(self.transport, Transport::Udp { .. }) {
                sum = 0xffff;
            }
            out[at..at + 2].copy_from_slice(&sum.to_be_bytes());
        }
        out
    }

    fn pseudo_header(&self, l4_len: usize) -> Vec<u8> {
        let mut p = Vec::new();
        match (self.src, self.dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                p.extend_from_slice(&s.octets());
                p.extend_from_slice(&d.octets());
                p.push(0);
                p.push(self.protocol());
                p.extend_from_slice(&u16::try_from(l4_len).unwrap_or(u16::MAX).to_be_bytes());
            }
            _ => {
                p.extend_from_slice(&addr16(self.src));
                p.extend_from_slice(&addr16(self.dst));
                p.extend_from_slice(&u32::try_from(l4_len).unwrap_or(u32::MAX).to_be_bytes());
                p.extend_from_slice(&[0, 0, 0, self.protocol()]);
            }
        }
        p
    }

    /// The IP packet (no Ethernet header, not truncated).
    pub fn ip_bytes(&self) -> Vec<u8> {
        let later_fragment = self.fragment.is_some_and(|f| f.offset != 0);
        let l4 = if later_fragment {
            self.payload.clone()
        } else {
            self.transport_bytes()
        };
        match (self.src, self.dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                let mut options = self.ipv4_options.clone();
                while !options.len().is_multiple_of(4) {
                    options.push(0);
                }
                let ihl = 20 + options.len();
                let total = u16::try_from(ihl + l4.len()).unwrap_or(u16::MAX);
                let mut h = vec![0u8; 20];
                h[0] = 0x40 | u8::try_from(ihl / 4).unwrap_or(15);
                h[2..4].copy_from_slice(&total.to_be_bytes());
                let (id, frag) = match self.fragment {
                    Some(f) => (
                        f.id as u16,
                        (f.offset & 0x1fff) | if f.more { 0x2000 } else { 0 },
                    ),
                    None => (1, 0x4000),
                };
                h[4..6].copy_from_slice(&id.to_be_bytes());
                h[6..8].copy_from_slice(&frag.to_be_bytes());
                h[8] = self.hop_limit;
                h[9] = self.protocol();
                h[12..16].copy_from_slice(&s.octets());
                h[16..20].copy_from_slice(&d.octets());
                h.extend_from_slice(&options);
                let sum = checksum(&h);
                h[10..12].copy_from_slice(&sum.to_be_bytes());
                h.extend_from_slice(&l4);
                h
            }
            _ => {
                let mut chain: Vec<(u8, Vec<u8>)> = self
                    .ipv6_ext
                    .iter()
                    .map(|e| match e {
                        ExtHeader::HopByHop => (0, vec![0, 0, 1, 4, 0, 0, 0, 0]),
                        ExtHeader::Routing => (43, vec![0, 0, 0, 0, 0, 0, 0, 0]),
                        ExtHeader::DestOpts => (60, vec![0, 0, 1, 4, 0, 0, 0, 0]),
                        ExtHeader::Auth => (51, vec![0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
                    })
                    .collect();
                if let Some(f) = self.fragment {
                    let off = (f.offset << 3) | u16::from(f.more);
                    let mut h = vec![0, 0];
                    h.extend_from_slice(&off.to_be_bytes());
                    h.extend_from_slice(&f.id.to_be_bytes());
                    chain.push((44, h));
                }
                let mut ext = Vec::new();
                for i in 0..chain.len() {
                    let next = chain.get(i + 1).map_or(self.protocol(), |(t, _)| *t);
                    let mut h = chain[i].1.clone();
                    h[0] = next;
                    ext.extend_from_slice(&h);
                }
                let first = chain.first().map_or(self.protocol(), |(t, _)| *t);
                let payload_len = u16::try_from(ext.len() + l4.len()).unwrap_or(u16::MAX);
                let mut h = vec![0u8; 40];
                h[0] = 0x60;
                h[4..6].copy_from_slice(&payload_len.to_be_bytes());
                h[6] = first;
                h[7] = self.hop_limit;
                h[8..24].copy_from_slice(&addr16(self.src));
                h[24..40].copy_from_slice(&addr16(self.dst));
                h.extend_from_slice(&ext);
                h.extend_from_slice(&l4);
                h
            }
        }
    }

    /// The Ethernet frame (what tcx sees; cgroup_skb test runs strip the Ethernet header).
    pub fn frame(&self) -> Vec<u8> {
        let ethertype: u16 = if self.src.is_ipv4() { 0x0800 } else { 0x86dd };
        let mut f = vec![0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01];
        f.extend_from_slice(&ethertype.to_be_bytes());
        f.extend_from_slice(&self.ip_bytes());
        if let Some(len) = self.truncate_to {
            f.truncate(len);
        }
        f
    }
}

/// An Ethernet frame with an arbitrary ethertype and payload (e.g. ARP 0x0806).
pub fn raw_frame(ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01];
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

fn addr16(addr: IpAddr) -> [u8; 16] {
    match addr {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

/// The Internet checksum (RFC 1071).
pub fn checksum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for chunk in bytes.chunks(2) {
        let word = u16::from_be_bytes([chunk[0], chunk.get(1).copied().unwrap_or(0)]);
        sum += u32::from(word);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_header_checksum_verifies() {
        let p = Packet::tcp(
            "10.0.0.1".parse().expect("ip"),
            "10.0.0.2".parse().expect("ip"),
            1,
            80,
        );
        let ip = p.ip_bytes();
        assert_eq!(checksum(&ip[..20]), 0);
        assert_eq!(ip.len(), 40);
    }

    #[test]
    fn ipv6_extension_chain_links_next_headers() {
        let p = Packet::udp(
            "fd00::1".parse().expect("ip"),
            "fd00::2".parse().expect("ip"),
            1,
            53,
        )
        .with_ipv6_ext(&[ExtHeader::HopByHop, ExtHeader::DestOpts]);
        let ip = p.ip_bytes();
        assert_eq!(ip[6], 0);
        assert_eq!(ip[40], 60);
        assert_eq!(ip[48], 17);
        assert_eq!(ip.len(), 40 + 16 + 8);
    }
}
