//! Kubernetes-shaped benchmark policy sets: `namespaces × apps` peer pods (one identity each,
//! labels `app` and `tier`), one measured endpoint `bench/api` that every rule selects, and N
//! allow rules whose peers are one app, a namespace tier, a whole namespace, a CIDR inside
//! 198.19.0.0/16 or everyone (L4-only), on single TCP ports, TCP ranges, UDP ports or all ports,
//! drawn from fixed pools of ports, ranges and CIDRs.
//! The generator also keeps, per rule, what a packet must look like to hit it (for traces).
//!
//! Allow rules only: the Cilium-layout reference is filled from the keys Cilium would write
//! (`CiliumEncoding`), which carry no deny bit.

use policyc_frontend::inventory::{
    Inventory, InventoryEndpoint, InventoryNamespace, InventoryNode,
};
use policyc_ir::labels::POD_NAMESPACE_KEY;
use policyc_ir::prefix::Prefix;
use policyc_ir::universe::EndpointKey;
use policyc_ir::{
    Direction, EndpointSelector, L7Rules, LabelKey, LabelSource, Peer, PeerSet, PolicyKind,
    PolicyOrigin, PolicyRule, PortMatch, PortProtocol, PortRange, PortRule, PortSpec, Protocol,
    Provenance, Requirement, RuleAction, RuleId, Subject,
};
use policyc_testsuite::gen::Rng;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

pub const TARGET_NAMESPACE: &str = "bench";
pub const TARGET_NAME: &str = "api";
pub const TARGET_IP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const TIERS: [&str; 4] = ["web", "api", "db", "cache"];
const WELL_KNOWN: [u16; 10] = [80, 443, 8080, 5432, 6379, 9090, 3306, 27017, 8443, 9092];

/// Who a generated rule lets in.
#[derive(Debug, Clone)]
pub enum GenPeer {
    /// Indices into [`BenchSet::pods`].
    Pods(Vec<usize>),
    Cidr(Ipv4Addr, u8),
    Everyone,
}

/// What ports a generated rule opens.
#[derive(Debug, Clone, Copy)]
pub enum GenPorts {
    Tcp(u16, u16),
    Udp(u16),
    AllPorts,
}

#[derive(Debug, Clone)]
pub struct GenRule {
    pub direction: Direction,
    pub peer: GenPeer,
    pub ports: GenPorts,
}

/// One peer pod: its address.
#[derive(Debug, Clone)]
pub struct GenPod {
    pub ip: Ipv4Addr,
}

/// A generated set: inventory, IR rules, and the generator's view of each rule.
#[derive(Debug, Clone)]
pub struct BenchSet {
    pub inventory: Inventory,
    pub rules: Vec<PolicyRule>,
    pub shapes: Vec<GenRule>,
    pub pods: Vec<GenPod>,
}

impl BenchSet {
    pub fn target() -> EndpointKey {
        EndpointKey::new(TARGET_NAMESPACE, TARGET_NAME)
    }
}

fn label(key: &str) -> LabelKey {
    if key == POD_NAMESPACE_KEY {
        LabelKey::new(LabelSource::K8s, POD_NAMESPACE_KEY)
    } else {
        LabelKey::new(LabelSource::K8s, key)
    }
}

fn selector(pairs: &[(&str, &str)]) -> EndpointSelector {
    pairs
        .iter()
        .fold(EndpointSelector::wildcard(), |s, (k, v)| {
            s.with(Requirement::equals(label(k), *v))
        })
}

/// The selector of one generated pod (`ns-<n>`, `app-<a>`).
pub fn pod_selector(namespace: &str, app: &str) -> EndpointSelector {
    selector(&[(POD_NAMESPACE_KEY, namespace), ("app", app)])
}

fn endpoint(
    namespace: &str,
    name: &str,
    labels: &[(&str, &str)],
    ip: Ipv4Addr,
) -> InventoryEndpoint {
    InventoryEndpoint {
        namespace: namespace.to_string(),
        name: name.to_string(),
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        service_account: None,
        ips: vec![IpAddr::V4(ip)],
        named_ports: BTreeMap::new(),
        interface: None,
        span: None,
        namespace_span: None,
        ip_spans: Vec::new(),
    }
}

fn pod_ip(index: usize) -> Ipv4Addr {
    // 198.18.1.1 onwards, 250 pods per /24 (198.18.0.0/24 holds the measured endpoint).
    let third = 1 + index / 250;
    Ipv4Addr::new(
        198,
        18,
        u8::try_from(third.min(255)).unwrap_or(255),
        (index % 250) as u8 + 1,
    )
}

pub fn port_match(ports: GenPorts) -> PortMatch {
    let (protocol, spec) = match ports {
        GenPorts::AllPorts => return PortMatch::Any,
        GenPorts::Tcp(lo, hi) if lo == hi => (
            Protocol::Tcp,
            PortSpec::Range(PortRange::from_port_end(lo, None)),
        ),
        GenPorts::Tcp(lo, hi) => (
            Protocol::Tcp,
            PortSpec::Range(PortRange::from_port_end(lo, Some(hi))),
        ),
        GenPorts::Udp(port) => (
            Protocol::Udp,
            PortSpec::Range(PortRange::from_port_end(port, None)),
        ),
    };
    PortMatch::Ports(vec![PortRule {
        ports: vec![PortProtocol {
            protocol,
            port: spec,
        }],
        l7: L7Rules::None,
        server_names: Vec::new(),
        unsupported: Vec::new(),
    }])
}

/// `rules` rules over about `identities` peer pods (seeded).
pub fn generate(rules: usize, identities: usize, seed: u64) -> BenchSet {
    let mut rng = Rng::new(seed);
    let identities = identities.max(4);
    let namespaces = (identities / 50).clamp(2, 40);
    let apps = identities.div_ceil(namespaces);
    let mut inventory = Inventory {
        cluster: "default".to_string(),
        namespaces: BTreeMap::new(),
        nodes: vec![InventoryNode {
            name: "node-1".to_string(),
            ips: vec![IpAddr::V4(Ipv4Addr::new(198, 18, 255, 254))],
            labels: BTreeMap::new(),
            local: true,
            span: None,
            ip_spans: Vec::new(),
        }],
        endpoints: Vec::new(),
        secrets: BTreeMap::new(),
        services: Vec::new(),
        endpoint_slices: Vec::new(),
        cidr_groups: Vec::new(),
        node_selector_labels: false,
    };
    let add_namespace = |name: &str, inventory: &mut Inventory| {
        inventory.namespaces.insert(
            name.to_string(),
            InventoryNamespace {
                name: name.to_string(),
                labels: BTreeMap::new(),
                span: None,
            },
        );
    };
    add_namespace(TARGET_NAMESPACE, &mut inventory);
    inventory.endpoints.push(endpoint(
        TARGET_NAMESPACE,
        TARGET_NAME,
        &[("app", "bench-api"), ("tier", "api")],
        TARGET_IP,
    ));
    let mut pods = Vec::new();
    for n in 0..namespaces {
        let ns = format!("ns-{n}");
        add_namespace(&ns, &mut inventory);
        for a in 0..apps {
            let ip = pod_ip(pods.len());
            let app = format!("app-{a}");
            inventory.endpoints.push(endpoint(
                &ns,
                &app,
                &[("app", &app), ("tier", TIERS[a % 4])],
                ip,
            ));
            pods.push(GenPod { ip });
        }
    }

    // Services reuse ports and external CIDRs: rules draw from fixed pools (48 TCP ports, 16 TCP
    // ranges, 8 UDP ports, 64 CIDRs inside 198.19.0.0/16), as real policy sets do.
    let mut pool_rng = Rng::new(0x5eed);
    let mut port_pool: Vec<u16> = WELL_KNOWN.to_vec();
    port_pool.extend((0..38).map(|_| 1024 + pool_rng.below(64_000) as u16));
    let range_pool: Vec<(u16, u16)> = (0..16)
        .map(|i| {
            let lo = 1024 + pool_rng.below(59_000) as u16;
            (lo, lo.saturating_add([10u16, 100, 1000, 5000][i % 4]))
        })
        .collect();
    let udp_pool: Vec<u16> = (0..8)
        .map(|_| 1024 + pool_rng.below(64_000) as u16)
        .collect();
    let cidr_pool: Vec<(Ipv4Addr, u8)> = (0..64)
        .map(|i| {
            let len = [24u8, 28, 32][i % 3];
            let raw =
                u32::from(Ipv4Addr::new(198, 19, 0, 0)) | (pool_rng.next_u64() as u32 & 0xffff);
            (
                Ipv4Addr::from(raw & (u32::MAX << (32 - u32::from(len)))),
                len,
            )
        })
        .collect();
    let subject = selector(&[(POD_NAMESPACE_KEY, TARGET_NAMESPACE), ("app", "bench-api")]);
    let mut out = Vec::with_capacity(rules);
    let mut shapes = Vec::with_capacity(rules);
    for id in 0..rules {
        let direction = if rng.below(100) < 80 {
            Direction::Ingress
        } else {
            Direction::Egress
        };
        let n = rng.index(namespaces);
        let ns = format!("ns-{n}");
        let (peers, peer) = match rng.below(100) {
            0..55 => {
                let a = rng.index(apps);
                let app = format!("app-{a}");
                (
                    PeerSet::Some(vec![Peer::Endpoints(selector(&[
                        (POD_NAMESPACE_KEY, &ns),
                        ("app", &app),
                    ]))]),
                    GenPeer::Pods(vec![n * apps + a]),
                )
            }
            55..75 => {
                let t = rng.index(TIERS.len());
                let members = (0..apps)
                    .filter(|a| a % 4 == t)
                    .map(|a| n * apps + a)
                    .collect();
                (
                    PeerSet::Some(vec![Peer::Endpoints(selector(&[
                        (POD_NAMESPACE_KEY, &ns),
                        ("tier", TIERS[t]),
                    ]))]),
                    GenPeer::Pods(members),
                )
            }
            75..85 => (
                PeerSet::Some(vec![Peer::Endpoints(selector(&[(POD_NAMESPACE_KEY, &ns)]))]),
                GenPeer::Pods((0..apps).map(|a| n * apps + a).collect()),
            ),
            85..97 => {
                let (base, len) = cidr_pool[rng.index(cidr_pool.len())];
                let prefix = Prefix::parse(&format!("{base}/{len}"))
                    .unwrap_or_else(|_| Prefix::host(IpAddr::V4(base)));
                (
                    PeerSet::Some(vec![Peer::Cidr {
                        prefix,
                        except: Vec::new(),
                    }]),
                    GenPeer::Cidr(base, len),
                )
            }
            _ => (PeerSet::All, GenPeer::Everyone),
        };
        let ports = match rng.below(100) {
            0..65 => {
                let port = port_pool[rng.index(port_pool.len())];
                GenPorts::Tcp(port, port)
            }
            65..85 => {
                let (lo, hi) = range_pool[rng.index(range_pool.len())];
                GenPorts::Tcp(lo, hi)
            }
            85..95 => GenPorts::Udp(udp_pool[rng.index(udp_pool.len())]),
            // L3-only (all ports) for selected peers; never "everyone on every port".
            _ if matches!(peer, GenPeer::Everyone) => GenPorts::Tcp(80, 80),
            _ => GenPorts::AllPorts,
        };
        out.push(PolicyRule {
            id: RuleId(u32::try_from(id).unwrap_or(u32::MAX)),
            origin: PolicyOrigin {
                kind: PolicyKind::CiliumNetworkPolicy,
                namespace: Some(TARGET_NAMESPACE.to_string()),
                name: format!("bench-{}", id / 10),
            },
            provenance: Provenance::synthetic(format!("spec.{direction}[{}]", id % 10)),
            subject: Subject::Endpoints(subject.clone()),
            direction,
            action: RuleAction::Allow,
            peers,
            ports: port_match(ports),
            default_deny: true,
            auth: None,
            log: None,
        });
        shapes.push(GenRule {
            direction,
            peer,
            ports,
        });
    }
    BenchSet {
        inventory,
        rules: out,
        shapes,
        pods,
    }
}
