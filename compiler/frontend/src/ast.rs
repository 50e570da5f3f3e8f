//! The typed syntax tree of one CiliumNetworkPolicy rule (`spec`/`specs[i]`) as written, with
//! the span of every value: what the schema walk produces and what validation and lowering read.
//! Scalars inside are already parsed by their micro-grammar (prefixes, ports, FQDNs, regexes);
//! a value that failed to parse has produced an error finding and is left out.

use policyc_diagnostics::source::Span;
use policyc_ir::l7::{HttpRule, KafkaRule};
use policyc_ir::rule::AuthMode;
use policyc_ir::{Direction, EndpointSelector, Entity, FqdnSelector, IcmpMatch, Prefix, Protocol};
use std::collections::BTreeMap;

/// A value with the span of its YAML node.
#[derive(Debug, Clone, PartialEq)]
pub struct Sp<T> {
    pub value: T,
    pub span: Span,
}

impl<T> Sp<T> {
    pub fn new(value: T, span: Span) -> Self {
        Self { value, span }
    }
}

/// A label selector with its span (namespace/cluster scoping is applied later, in lowering).
pub type Selector = Sp<EndpointSelector>;

/// One `spec` or `specs[i]` of a CNP/CCNP.
#[derive(Debug, Clone)]
pub struct Rule {
    /// YAML path of the rule (`spec`, `specs[1]`).
    pub path: String,
    pub span: Span,
    pub endpoint_selector: Option<Selector>,
    /// The values `endpointSelector.matchLabels` gives the pod namespace key (Cilium replaces
    /// that match with the policy's namespace but keeps `matchExpressions` on the key).
    pub subject_namespace_match_labels: Vec<String>,
    pub node_selector: Option<Selector>,
    /// The four rule lists, each with the span of its key.
    pub sections: Vec<Section>,
    pub default_deny_ingress: Option<Sp<bool>>,
    pub default_deny_egress: Option<Sp<bool>>,
    pub log: Option<Sp<String>>,
}

/// `ingress`, `ingressDeny`, `egress` or `egressDeny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SectionKind {
    Ingress,
    IngressDeny,
    Egress,
    EgressDeny,
}

impl SectionKind {
    pub const ALL: [SectionKind; 4] = [
        Self::Ingress,
        Self::IngressDeny,
        Self::Egress,
        Self::EgressDeny,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Self::Ingress => "ingress",
            Self::IngressDeny => "ingressDeny",
            Self::Egress => "egress",
            Self::EgressDeny => "egressDeny",
        }
    }

    pub fn direction(self) -> Direction {
        match self {
            Self::Ingress | Self::IngressDeny => Direction::Ingress,
            Self::Egress | Self::EgressDeny => Direction::Egress,
        }
    }

    pub fn is_deny(self) -> bool {
        matches!(self, Self::IngressDeny | Self::EgressDeny)
    }
}

#[derive(Debug, Clone)]
pub struct Section {
    pub kind: SectionKind,
    pub key_span: Span,
    pub items: Vec<PeerRule>,
}

/// One item of a rule list (`ingress[0]`).
#[derive(Debug, Clone)]
pub struct PeerRule {
    pub path: String,
    pub span: Span,
    pub kind: SectionKind,
    /// Every L3 peer field present, in source order.
    pub peer_fields: Vec<PeerField>,
    pub to_ports: Option<Sp<Vec<PortRule>>>,
    /// Every ICMP field of every `icmps` entry, flattened.
    pub icmps: Option<Sp<Vec<Sp<IcmpMatch>>>>,
    /// How many `icmps` entries there are (an entry without fields counts: in Cilium it makes
    /// the item an L4 one that contributes nothing).
    pub icmp_entries: usize,
    pub authentication: Option<Sp<AuthMode>>,
}

/// The L3 peer fields; one rule may use only one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerKind {
    Endpoints,
    Cidr,
    CidrSet,
    Entities,
    Fqdns,
    Services,
    Groups,
    Nodes,
    Requires,
}

/// One present L3 field (`fromEndpoints: [...]`) and its parsed items.
#[derive(Debug, Clone)]
pub struct PeerField {
    pub kind: PeerKind,
    /// The key as written (`fromEndpoints`).
    pub key: String,
    pub key_span: Span,
    pub items: Vec<Sp<PeerItem>>,
}

#[derive(Debug, Clone)]
pub enum PeerItem {
    Endpoints(EndpointSelector),
    Cidr(Prefix),
    CidrRule {
        cidr: Sp<Prefix>,
        except: Vec<Sp<Prefix>>,
    },
    /// `cidrGroupRef` (with the rule's `except`, which Cilium applies to every form).
    CidrGroupRef {
        name: String,
        except: Vec<Prefix>,
    },
    CidrGroupSelector {
        selector: EndpointSelector,
        except: Vec<Prefix>,
    },
    Entity(Entity),
    Fqdn(FqdnSelector),
    /// `toServices` entry, and its description for messages (`k8sService default/kubernetes`).
    Service {
        target: crate::runtime_peers::ServiceRef,
        detail: String,
    },
    /// `toGroups`/`fromGroups` entry, described for messages.
    Group(String),
    Nodes(EndpointSelector),
}

/// A `port` value: a number (possibly out of range, checked in validation) or a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortValue {
    Number(u16),
    Named(String),
}

/// One `toPorts[].ports[]` entry.
#[derive(Debug, Clone)]
pub struct PortProtocol {
    pub span: Span,
    pub port: Option<Sp<PortValue>>,
    pub end_port: Option<Sp<u16>>,
    pub protocol: Option<Sp<Protocol>>,
    /// A scalar of this entry failed to parse (already reported): skip cross-field checks.
    pub invalid: bool,
}

impl PortProtocol {
    /// The effective protocol (absent = ANY).
    pub fn protocol(&self) -> Protocol {
        self.protocol.as_ref().map_or(Protocol::Any, |p| p.value)
    }

    /// Port 0 (or no port) means "all ports".
    pub fn is_wildcard_port(&self) -> bool {
        matches!(
            self.port.as_ref().map(|p| &p.value),
            None | Some(PortValue::Number(0))
        )
    }
}

/// One `toPorts[]` entry.
#[derive(Debug, Clone)]
pub struct PortRule {
    pub span: Span,
    pub ports: Option<Sp<Vec<PortProtocol>>>,
    pub rules: Option<Sp<L7>>,
    pub server_names: Option<Sp<Vec<Sp<String>>>>,
    pub terminating_tls: Option<Span>,
    pub originating_tls: Option<Span>,
    pub listener: Option<Span>,
}

/// `toPorts[].rules`: each present kind with the span of its key.
#[derive(Debug, Clone, Default)]
pub struct L7 {
    pub http: Option<Sp<Vec<HttpRule>>>,
    pub dns: Option<Sp<Vec<FqdnSelector>>>,
    pub kafka: Option<Sp<Vec<KafkaRule>>>,
    pub l7proto: Option<Sp<String>>,
    pub l7: Option<Sp<Vec<BTreeMap<String, String>>>>,
}

impl L7 {
    /// Present kinds as `(key, key span)`, in a fixed order (`l7` alone counts with `l7proto`).
    pub fn kinds(&self) -> Vec<(&'static str, Span)> {
        let mut v = Vec::new();
        if let Some(h) = &self.http {
            v.push(("http", h.span));
        }
        if let Some(d) = &self.dns {
            v.push(("dns", d.span));
        }
        if let Some(k) = &self.kafka {
            v.push(("kafka", k.span));
        }
        if let Some(p) = &self.l7proto {
            v.push(("l7proto", p.span));
        } else if let Some(p) = &self.l7 {
            v.push(("l7", p.span));
        }
        v
    }
}

/// A Kubernetes NetworkPolicy `spec`.
#[derive(Debug, Clone)]
pub struct KnpSpec {
    pub span: Span,
    pub pod_selector: Option<Selector>,
    pub policy_types: Option<Sp<Vec<Direction>>>,
    pub ingress: Option<Sp<Vec<KnpRule>>>,
    pub egress: Option<Sp<Vec<KnpRule>>>,
}

/// One KNP `ingress[]`/`egress[]` item.
#[derive(Debug, Clone)]
pub struct KnpRule {
    pub path: String,
    pub span: Span,
    /// `from`/`to`; `None` when absent (= all peers).
    pub peers: Option<Sp<Vec<Sp<KnpPeer>>>>,
    /// `None` when absent (= all ports).
    pub ports: Option<Sp<Vec<PortProtocol>>>,
}

#[derive(Debug, Clone)]
pub enum KnpPeer {
    /// podSelector and/or namespaceSelector (at least one present).
    Selectors {
        pods: Option<EndpointSelector>,
        namespaces: Option<EndpointSelector>,
    },
    IpBlock {
        cidr: Sp<Prefix>,
        except: Vec<Sp<Prefix>>,
    },
}
