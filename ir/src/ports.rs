//! Protocols, port ranges (always `lo <= hi`), named ports and ICMP matches.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An L4 protocol as written in policy. `Any` expands to TCP, UDP and SCTP — never ICMP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
    Icmp,
    #[serde(rename = "ICMPv6")]
    Icmpv6,
    Any,
    Vrrp,
    Igmp,
}

impl Protocol {
    /// IANA protocol number (0 for `Any`).
    pub fn number(self) -> u8 {
        match self {
            Self::Tcp => 6,
            Self::Udp => 17,
            Self::Sctp => 132,
            Self::Icmp => 1,
            Self::Icmpv6 => 58,
            Self::Any => 0,
            Self::Vrrp => 112,
            Self::Igmp => 2,
        }
    }

    pub fn from_number(n: u8) -> Option<Self> {
        Some(match n {
            6 => Self::Tcp,
            17 => Self::Udp,
            132 => Self::Sctp,
            1 => Self::Icmp,
            58 => Self::Icmpv6,
            112 => Self::Vrrp,
            2 => Self::Igmp,
            _ => return None,
        })
    }

    /// Case-insensitive parse of the policy spelling (`TCP`, `udp`, `ANY`, `ICMPv6`).
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text.to_ascii_uppercase().as_str() {
            "TCP" => Self::Tcp,
            "UDP" => Self::Udp,
            "SCTP" => Self::Sctp,
            "ICMP" => Self::Icmp,
            "ICMPV6" => Self::Icmpv6,
            "ANY" => Self::Any,
            "VRRP" => Self::Vrrp,
            "IGMP" => Self::Igmp,
            _ => return None,
        })
    }

    /// The concrete protocols a policy protocol covers (`Any` → TCP, UDP, SCTP).
    pub fn expand(self) -> &'static [Protocol] {
        match self {
            Self::Any => &[Self::Tcp, Self::Udp, Self::Sctp],
            Self::Tcp => &[Self::Tcp],
            Self::Udp => &[Self::Udp],
            Self::Sctp => &[Self::Sctp],
            Self::Icmp => &[Self::Icmp],
            Self::Icmpv6 => &[Self::Icmpv6],
            Self::Vrrp => &[Self::Vrrp],
            Self::Igmp => &[Self::Igmp],
        }
    }

    /// Does this protocol carry ports (TCP, UDP, SCTP)?
    pub fn has_ports(self) -> bool {
        matches!(self, Self::Tcp | Self::Udp | Self::Sctp)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tcp => "TCP",
            Self::Udp => "UDP",
            Self::Sctp => "SCTP",
            Self::Icmp => "ICMP",
            Self::Icmpv6 => "ICMPv6",
            Self::Any => "ANY",
            Self::Vrrp => "VRRP",
            Self::Igmp => "IGMP",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An inclusive port range with `lo <= hi` (enforced by the constructor).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PortRange {
    lo: u16,
    hi: u16,
}

impl PortRange {
    pub const ALL: PortRange = PortRange {
        lo: 0,
        hi: u16::MAX,
    };

    /// Cilium's rule (`pkg/policy/types` `PortRangeToMaskedPorts(port, endPort)`, which keys
    /// every L4 filter): port 0 with no `endPort` (or 0, or 65535) is every port; otherwise
    /// `endPort > port` is the range `[port, endPort]` — also from port 0: `port: "0"` with
    /// `endPort: 100` is ports 0..=100, not every port — and `endPort <= port` (or absent) the
    /// single port `port`.
    pub fn from_port_end(port: u16, end_port: Option<u16>) -> Self {
        match end_port {
            Some(end) if end > port => Self { lo: port, hi: end },
            _ if port == 0 => Self::ALL,
            _ => Self { lo: port, hi: port },
        }
    }

    pub fn new(lo: u16, hi: u16) -> Option<Self> {
        (lo <= hi).then_some(Self { lo, hi })
    }

    pub fn single(port: u16) -> Self {
        Self { lo: port, hi: port }
    }

    pub fn lo(self) -> u16 {
        self.lo
    }

    pub fn hi(self) -> u16 {
        self.hi
    }

    pub fn contains(self, port: u16) -> bool {
        self.lo <= port && port <= self.hi
    }

    pub fn is_all(self) -> bool {
        self == Self::ALL
    }

    /// Number of ports in the range (at least 1, hence no `is_empty`).
    #[allow(clippy::len_without_is_empty)]
    pub fn len(self) -> u32 {
        u32::from(self.hi) - u32::from(self.lo) + 1
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_all() {
            write!(f, "*")
        } else if self.lo == self.hi {
            write!(f, "{}", self.lo)
        } else {
            write!(f, "{}-{}", self.lo, self.hi)
        }
    }
}

/// A port as written in a policy: numbers/ranges, or a named container port resolved per endpoint.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PortSpec {
    Range(PortRange),
    /// Lower-cased IANA-style name (`http`, `serve-80-tcp`).
    Named(String),
}

impl fmt::Display for PortSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Range(r) => write!(f, "{r}"),
            Self::Named(n) => write!(f, "{n}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum IpFamily {
    IPv4,
    IPv6,
}

/// One `icmps.fields[]` entry: family + ICMP type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct IcmpMatch {
    pub family: IpFamily,
    pub icmp_type: u8,
}

impl IcmpMatch {
    pub fn protocol(self) -> Protocol {
        match self.family {
            IpFamily::IPv4 => Protocol::Icmp,
            IpFamily::IPv6 => Protocol::Icmpv6,
        }
    }
}

/// ICMP type names Cilium accepts (CamelCase), per family.
pub fn icmp_type_by_name(family: IpFamily, name: &str) -> Option<u8> {
    let table: &[(&str, u8)] = match family {
        IpFamily::IPv4 => &[
            ("EchoReply", 0),
            ("DestinationUnreachable", 3),
            ("Redirect", 5),
            ("Echo", 8),
            ("EchoRequest", 8),
            ("RouterAdvertisement", 9),
            ("RouterSelection", 10),
            ("TimeExceeded", 11),
            ("ParameterProblem", 12),
            ("Timestamp", 13),
            ("TimestampReply", 14),
            ("Photuris", 40),
            ("ExtendedEchoRequest", 42),
            ("ExtendedEchoReply", 43),
        ],
        IpFamily::IPv6 => &[
            ("DestinationUnreachable", 1),
            ("PacketTooBig", 2),
            ("TimeExceeded", 3),
            ("ParameterProblem", 4),
            ("EchoRequest", 128),
            ("EchoReply", 129),
            ("MulticastListenerQuery", 130),
            ("MulticastListenerReport", 131),
            ("MulticastListenerDone", 132),
            ("RouterSolicitation", 133),
            ("RouterAdvertisement", 134),
            ("NeighborSolicitation", 135),
            ("NeighborAdvertisement", 136),
            ("RedirectMessage", 137),
            ("RouterRenumbering", 138),
            ("ICMPNodeInformationQuery", 139),
            ("ICMPNodeInformationResponse", 140),
            ("InverseNeighborDiscoverySolicitation", 141),
            ("InverseNeighborDiscoveryAdvertisement", 142),
            ("HomeAgentAddressDiscoveryRequest", 144),
            ("HomeAgentAddressDiscoveryReply", 145),
            ("MobilePrefixSolicitation", 146),
            ("MobilePrefixAdvertisement", 147),
            ("DuplicateAddressRequestCodeSuffix", 157),
            ("DuplicateAddressConfirmationCodeSuffix", 158),
            ("ExtendedEchoRequest", 160),
            ("ExtendedEchoReply", 161),
        ],
    };
    table.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_case::test_case;

    #[test_case(80, None, "80"; "single port")]
    #[test_case(80, Some(90), "80-90"; "range")]
    #[test_case(90, Some(80), "90"; "end below port is a single port")]
    #[test_case(80, Some(80), "80"; "end equal port is a single port")]
    #[test_case(0, None, "*"; "port zero is all ports")]
    #[test_case(0, Some(0), "*"; "port zero with end zero is all ports")]
    #[test_case(0, Some(65535), "*"; "port zero to 65535 is all ports")]
    #[test_case(0, Some(100), "0-100"; "port zero with an end is the range from zero, as in Cilium PortRangeToMaskedPorts")]
    fn port_end_rule(port: u16, end: Option<u16>, expected: &str) {
        assert_eq!(PortRange::from_port_end(port, end).to_string(), expected);
    }

    #[test]
    fn any_never_covers_icmp() {
        assert!(!Protocol::Any.expand().contains(&Protocol::Icmp));
    }
}
