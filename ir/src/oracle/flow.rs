//! Flows as the oracle takes them: who talks to whom (endpoint, address or entity), over which
//! transport, optionally with an L7 request and the DNS name the destination address came from.

use crate::entity::Entity;
use crate::l7::HttpRequest;
use crate::ports::{IpFamily, Protocol};
use crate::universe::EndpointKey;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;

/// One end of a flow as a user names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FlowPeer {
    /// An endpoint of the universe, `namespace/name`.
    Endpoint(EndpointKey),
    /// An address: resolved through the ipcache (endpoint, node, CIDR identity or world).
    Ip(IpAddr),
    /// A concrete entity (`world`, `host`, `remote-node`, `kube-apiserver`, `health`, `init`,
    /// `ingress`, `unmanaged`, `world-ipv4`, `world-ipv6`). `all`, `cluster` and `none` are sets,
    /// not peers, and are rejected.
    Entity(Entity),
}

impl fmt::Display for FlowPeer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Endpoint(k) => write!(f, "{k}"),
            Self::Ip(ip) => write!(f, "{ip}"),
            Self::Entity(e) => write!(f, "{e}"),
        }
    }
}

/// The L4 part of a flow (destination port, or ICMP type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Transport {
    Tcp { port: u16 },
    Udp { port: u16 },
    Sctp { port: u16 },
    Icmp { family: IpFamily, icmp_type: u8 },
}

impl Transport {
    /// A ported transport; `None` for protocols that have no ports (ICMP, ANY, ...).
    pub fn ported(protocol: Protocol, port: u16) -> Option<Self> {
        match protocol {
            Protocol::Tcp => Some(Self::Tcp { port }),
            Protocol::Udp => Some(Self::Udp { port }),
            Protocol::Sctp => Some(Self::Sctp { port }),
            _ => None,
        }
    }

    pub fn protocol(self) -> Protocol {
        match self {
            Self::Tcp { .. } => Protocol::Tcp,
            Self::Udp { .. } => Protocol::Udp,
            Self::Sctp { .. } => Protocol::Sctp,
            Self::Icmp {
                family: IpFamily::IPv4,
                ..
            } => Protocol::Icmp,
            Self::Icmp {
                family: IpFamily::IPv6,
                ..
            } => Protocol::Icmpv6,
        }
    }

    /// The destination port of TCP/UDP/SCTP.
    pub fn port(self) -> Option<u16> {
        match self {
            Self::Tcp { port } | Self::Udp { port } | Self::Sctp { port } => Some(port),
            Self::Icmp { .. } => None,
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Icmp { icmp_type, .. } => write!(f, "{} type {icmp_type}", self.protocol()),
            _ => write!(f, "{}/{}", self.port().unwrap_or(0), self.protocol()),
        }
    }
}

/// A Kafka request (deprecated Cilium feature, still evaluated).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KafkaRequest {
    /// API key name (`produce`, `fetch`, ...) or number.
    pub api_key: String,
    pub api_version: Option<String>,
    pub client_id: Option<String>,
    /// All topics of the request; every one must be allowed.
    pub topics: Vec<String>,
}

/// An L7 request carried by the flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum L7Request {
    Http(HttpRequest),
    Dns { query: String },
    Kafka(KafkaRequest),
}

impl L7Request {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Http(_) => "http",
            Self::Dns { .. } => "dns",
            Self::Kafka(_) => "kafka",
        }
    }
}

impl fmt::Display for L7Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Http(r) => {
                write!(f, "HTTP {} {}", r.method, r.path)?;
                if let Some(h) = &r.host {
                    write!(f, " (host {h})")?;
                }
                Ok(())
            }
            Self::Dns { query } => write!(f, "DNS query {query}"),
            Self::Kafka(k) => write!(f, "Kafka {} topics [{}]", k.api_key, k.topics.join(",")),
        }
    }
}

/// A flow from `source` to `destination`, judged in its forward direction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flow {
    pub source: FlowPeer,
    pub destination: FlowPeer,
    pub transport: Transport,
    pub l7: Option<L7Request>,
    /// The destination address was in a DNS answer for this name (for `toFQDNs`).
    pub resolved_from: Option<String>,
}

impl Flow {
    /// A plain L3/L4 flow.
    pub fn new(source: FlowPeer, destination: FlowPeer, transport: Transport) -> Self {
        Self {
            source,
            destination,
            transport,
            l7: None,
            resolved_from: None,
        }
    }

    pub fn with_l7(mut self, request: L7Request) -> Self {
        self.l7 = Some(request);
        self
    }

    pub fn with_resolved_from(mut self, name: impl Into<String>) -> Self {
        self.resolved_from = Some(name.into());
        self
    }
}

impl fmt::Display for Flow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} -> {} {}",
            self.source, self.destination, self.transport
        )?;
        if let Some(l7) = &self.l7 {
            write!(f, " {l7}")?;
        }
        if let Some(name) = &self.resolved_from {
            write!(f, " (resolved from {name})")?;
        }
        Ok(())
    }
}
