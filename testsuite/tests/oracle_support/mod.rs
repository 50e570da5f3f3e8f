//! Builders for oracle tests: a small cluster (inventory → universe through the real identity
//! allocation) and normalized rules written in code, shaped like the frontend's lowering
//! (namespace and cluster requirements included).
#![allow(dead_code)]

use policyc_frontend::identity::build_universe;
use policyc_frontend::inventory::{Inventory, InventoryEndpoint, InventoryNode};
use policyc_ir::fqdn::{FqdnPattern, FqdnSelector};
use policyc_ir::l7::{HttpRule, L7Rules};
use policyc_ir::labels::{CLUSTER_KEY, POD_NAMESPACE_KEY};
use policyc_ir::oracle::{Decision, Flow, FlowPeer, FlowVerdict, L7Request, Oracle, Transport};
use policyc_ir::ports::{IcmpMatch, IpFamily, PortRange, PortSpec};
use policyc_ir::provenance::{PolicyKind, PolicyOrigin, Provenance};
use policyc_ir::rule::{
    Direction, Peer, PeerSet, PolicyRule, PortMatch, PortProtocol, PortRule, RuleAction, RuleId,
    Subject,
};
use policyc_ir::selector::{EndpointSelector, Requirement};
use policyc_ir::universe::{EndpointKey, NamedPort, Universe, UniverseOptions};
use policyc_ir::{Entity, LabelKey, LabelSource, Prefix, Protocol};
use std::collections::BTreeMap;

pub const CLUSTER: &str = "default";

/// An inventory under construction.
#[derive(Clone, Default)]
pub struct Cluster {
    pub inventory: Inventory,
    pub options: UniverseOptions,
}

impl Cluster {
    pub fn new() -> Self {
        let mut c = Self::default();
        c.inventory.cluster = CLUSTER.to_string();
        c
    }

    /// A pod `ns/name` with k8s labels and one address.
    pub fn pod(mut self, ns: &str, name: &str, labels: &[(&str, &str)], ip: &str) -> Self {
        self.inventory.endpoints.push(InventoryEndpoint {
            namespace: ns.to_string(),
            name: name.to_string(),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            service_account: None,
            ips: vec![ip.parse().expect("test ip")],
            named_ports: BTreeMap::new(),
            interface: None,
            span: None,
            namespace_span: None,
            ip_spans: vec![None],
        });
        self
    }

    pub fn named_port(mut self, pod: &str, name: &str, port: u16, protocol: Protocol) -> Self {
        let key = EndpointKey::parse(pod).expect("ns/name");
        for ep in &mut self.inventory.endpoints {
            if ep.namespace == key.namespace && ep.name == key.name {
                ep.named_ports
                    .insert(name.to_string(), NamedPort { port, protocol });
            }
        }
        self
    }

    pub fn node(mut self, name: &str, ip: &str, local: bool) -> Self {
        self.inventory.nodes.push(InventoryNode {
            name: name.to_string(),
            ips: vec![ip.parse().expect("test ip")],
            labels: BTreeMap::new(),
            local,
            span: None,
            ip_spans: vec![None],
        });
        self
    }

    pub fn options(mut self, options: UniverseOptions) -> Self {
        self.options = options;
        self
    }

    pub fn universe(&self, rules: &[PolicyRule]) -> Universe {
        build_universe(&self.inventory, rules, self.options).expect("valid test universe")
    }
}

/// The standard test cluster: namespaces `prod` and `dev`; prod/web, prod/api, prod/db,
/// dev/web; local node 198.18.255.1, remote node 198.18.255.2.
pub fn standard() -> Cluster {
    Cluster::new()
        .pod("prod", "web", &[("app", "web")], "198.18.1.1")
        .pod("prod", "api", &[("app", "api")], "198.18.1.2")
        .pod("prod", "db", &[("app", "db")], "198.18.1.3")
        .pod("dev", "web", &[("app", "web")], "198.18.2.1")
        .node("node-1", "198.18.255.1", true)
        .node("node-2", "198.18.255.2", false)
}

fn k8s(key: &str) -> LabelKey {
    LabelKey::new(LabelSource::K8s, key)
}

/// A selector of `labels` in namespace `ns` (as CNP lowering scopes it) or any namespace.
pub fn sel(ns: Option<&str>, labels: &[(&str, &str)]) -> EndpointSelector {
    let mut s = EndpointSelector::wildcard();
    for (k, v) in labels {
        s.add(Requirement::equals(k8s(k), *v));
    }
    if let Some(ns) = ns {
        s.add(Requirement::equals(k8s(POD_NAMESPACE_KEY), ns));
    }
    s
}

/// A peer selector as the lowering emits it (with the cluster requirement).
pub fn peer_sel(ns: Option<&str>, labels: &[(&str, &str)]) -> Peer {
    let mut s = sel(ns, labels);
    s.add(Requirement::equals(k8s(CLUSTER_KEY), CLUSTER));
    if ns.is_none() {
        s.add(Requirement::exists(k8s(POD_NAMESPACE_KEY)));
    }
    Peer::Endpoints(s)
}

/// A rule under construction.
#[derive(Clone)]
pub struct R(pub PolicyRule);

fn base(direction: Direction, subject: EndpointSelector, name: &str) -> R {
    R(PolicyRule {
        id: RuleId(0),
        origin: PolicyOrigin {
            kind: PolicyKind::CiliumNetworkPolicy,
            namespace: Some("prod".into()),
            name: name.into(),
        },
        provenance: Provenance::synthetic(format!("spec.{}[0]", direction.as_str())),
        subject: Subject::Endpoints(subject),
        direction,
        action: RuleAction::Allow,
        peers: PeerSet::All,
        ports: PortMatch::Any,
        default_deny: true,
        auth: None,
        log: None,
    })
}

/// Ingress rule for `subject`, wildcard peers/ports until narrowed.
pub fn ingress(subject: EndpointSelector) -> R {
    base(Direction::Ingress, subject, "ingress-policy")
}

pub fn egress(subject: EndpointSelector) -> R {
    base(Direction::Egress, subject, "egress-policy")
}

pub fn pp(protocol: Protocol, port: u16) -> PortProtocol {
    PortProtocol {
        protocol,
        port: PortSpec::Range(PortRange::from_port_end(port, None)),
    }
}

pub fn port_rule(ports: Vec<PortProtocol>, l7: L7Rules) -> PortRule {
    PortRule {
        ports,
        l7,
        server_names: Vec::new(),
        unsupported: Vec::new(),
    }
}

pub fn http(method: Option<&str>, path: Option<&str>) -> HttpRule {
    use policyc_ir::l7::FullMatchRegex;
    HttpRule {
        method: method.map(|m| FullMatchRegex::new(m).expect("regex")),
        path: path.map(|p| FullMatchRegex::new(p).expect("regex")),
        host: None,
        headers: Vec::new(),
        never_matches: None,
    }
}

pub fn pattern(p: &str) -> FqdnSelector {
    if p.contains('*') {
        FqdnSelector::MatchPattern(FqdnPattern::pattern(p).expect("pattern"))
    } else {
        FqdnSelector::MatchName(FqdnPattern::name(p).expect("name"))
    }
}

impl R {
    pub fn named(mut self, name: &str) -> Self {
        self.0.origin.name = name.to_string();
        self
    }
    pub fn deny(mut self) -> Self {
        self.0.action = RuleAction::Deny;
        self
    }
    pub fn no_default_deny(mut self) -> Self {
        self.0.default_deny = false;
        self
    }
    pub fn peers(mut self, peers: Vec<Peer>) -> Self {
        self.0.peers = PeerSet::Some(peers);
        self
    }
    pub fn nothing(self) -> Self {
        self.peers(Vec::new())
    }
    pub fn endpoints(self, s: Peer) -> Self {
        self.peers(vec![s])
    }
    pub fn entity(self, e: Entity) -> Self {
        self.peers(vec![Peer::Entity(e)])
    }
    pub fn cidr(self, prefix: &str, except: &[&str]) -> Self {
        self.peers(vec![Peer::Cidr {
            prefix: Prefix::parse(prefix).expect("prefix"),
            except: except
                .iter()
                .map(|e| Prefix::parse(e).expect("prefix"))
                .collect(),
        }])
    }
    pub fn fqdn(self, patterns: &[&str]) -> Self {
        self.peers(patterns.iter().map(|p| Peer::Fqdn(pattern(p))).collect())
    }
    pub fn port_rules(mut self, rules: Vec<PortRule>) -> Self {
        self.0.ports = PortMatch::Ports(rules);
        self
    }
    pub fn ports(self, ports: &[(Protocol, u16)]) -> Self {
        self.port_rules(vec![port_rule(
            ports.iter().map(|(p, n)| pp(*p, *n)).collect(),
            L7Rules::None,
        )])
    }
    pub fn named_port(self, protocol: Protocol, name: &str) -> Self {
        self.port_rules(vec![port_rule(
            vec![PortProtocol {
                protocol,
                port: PortSpec::Named(name.into()),
            }],
            L7Rules::None,
        )])
    }
    pub fn port_range(self, protocol: Protocol, lo: u16, hi: Option<u16>) -> Self {
        self.port_rules(vec![port_rule(
            vec![PortProtocol {
                protocol,
                port: PortSpec::Range(PortRange::from_port_end(lo, hi)),
            }],
            L7Rules::None,
        )])
    }
    pub fn http(self, port: u16, rules: Vec<HttpRule>) -> Self {
        self.port_rules(vec![port_rule(
            vec![pp(Protocol::Tcp, port)],
            L7Rules::Http(rules),
        )])
    }
    pub fn dns(self, patterns: &[&str]) -> Self {
        self.port_rules(vec![port_rule(
            vec![pp(Protocol::Any, 53)],
            L7Rules::Dns(patterns.iter().map(|p| pattern(p)).collect()),
        )])
    }
    pub fn icmps(mut self, types: &[u8]) -> Self {
        self.0.ports = PortMatch::Icmps(
            types
                .iter()
                .map(|t| IcmpMatch {
                    family: IpFamily::IPv4,
                    icmp_type: *t,
                })
                .collect(),
        );
        self
    }
}

/// Numbers the rules r0, r1, ... in order.
pub fn rules(rs: Vec<R>) -> Vec<PolicyRule> {
    rs.into_iter()
        .enumerate()
        .map(|(i, R(mut r))| {
            r.id = RuleId(u32::try_from(i).expect("few rules"));
            r
        })
        .collect()
}

pub fn tcp(port: u16) -> Transport {
    Transport::Tcp { port }
}
pub fn udp(port: u16) -> Transport {
    Transport::Udp { port }
}
pub fn sctp(port: u16) -> Transport {
    Transport::Sctp { port }
}
pub fn ping() -> Transport {
    Transport::Icmp {
        family: IpFamily::IPv4,
        icmp_type: 8,
    }
}

/// `ns/name`, an IP, or an entity name.
pub fn peer(text: &str) -> FlowPeer {
    if let Ok(ip) = text.parse() {
        return FlowPeer::Ip(ip);
    }
    if let Some(k) = EndpointKey::parse(text) {
        return FlowPeer::Endpoint(k);
    }
    FlowPeer::Entity(Entity::parse(text).expect("entity"))
}

pub fn flow(from: &str, to: &str, t: Transport) -> Flow {
    Flow::new(peer(from), peer(to), t)
}

pub fn http_get(path: &str) -> L7Request {
    L7Request::Http(policyc_ir::l7::HttpRequest {
        method: "GET".into(),
        path: path.into(),
        ..Default::default()
    })
}

pub fn http_req(method: &str, path: &str) -> L7Request {
    L7Request::Http(policyc_ir::l7::HttpRequest {
        method: method.into(),
        path: path.into(),
        ..Default::default()
    })
}

/// Evaluates a flow against rules in a cluster.
pub fn verdict(cluster: &Cluster, rules: &[PolicyRule], f: &Flow) -> FlowVerdict {
    let u = cluster.universe(rules);
    Oracle::new(&u, rules).evaluate(f).expect("flow resolves")
}

pub fn decide(cluster: &Cluster, rules: &[PolicyRule], f: &Flow) -> Decision {
    verdict(cluster, rules, f).decision
}

pub fn allow(expected: bool) -> Decision {
    if expected {
        Decision::Allow
    } else {
        Decision::Deny
    }
}

#[allow(unused_imports)]
pub use policyc_ir::oracle::Reason as R_;
pub use Decision::{Allow, Deny};
