//! The synthetic multi-tenant policy of the build-report acceptance: `tenants` namespaces of
//! `apps` pods each (one identity per pod) plus a shared `infra` namespace; every tenant lets its
//! own pods reach each other on 20 ports and ranges, may query DNS in `infra`, and lets
//! `infra` scrape a metrics range. This is the shape where Cilium's identity × port-prefix map
//! explodes and identity classes do not.

use super::GeneratedSet;
use policyc_frontend::inventory::{
    Inventory, InventoryEndpoint, InventoryNamespace, InventoryNode,
};
use policyc_ir::labels::POD_NAMESPACE_KEY;
use policyc_ir::universe::UniverseOptions;
use policyc_ir::{
    Direction, EndpointSelector, L7Rules, LabelKey, LabelSource, Peer, PeerSet, PolicyKind,
    PolicyOrigin, PolicyRule, PortMatch, PortProtocol, PortRange, PortRule, PortSpec, Protocol,
    Provenance, Requirement, RuleAction, RuleId, Subject,
};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

/// 10 single ports and 10 ranges.
pub const TENANT_PORTS: [(u16, u16); 20] = [
    (80, 80),
    (443, 443),
    (5432, 5432),
    (6379, 6379),
    (8080, 8080),
    (8443, 8443),
    (9000, 9000),
    (11211, 11211),
    (27017, 27017),
    (50051, 50051),
    (1024, 2047),
    (3000, 3999),
    (4000, 4100),
    (6000, 6063),
    (7000, 7777),
    (10000, 20000),
    (20001, 20999),
    (30000, 32767),
    (40000, 40999),
    (60000, 65535),
];

fn in_namespace(namespace: &str) -> EndpointSelector {
    EndpointSelector::wildcard().with(Requirement::equals(
        LabelKey::new(LabelSource::K8s, POD_NAMESPACE_KEY),
        namespace,
    ))
}

fn port_rule(ranges: &[(u16, u16)], protocol: Protocol) -> PortMatch {
    PortMatch::Ports(vec![PortRule {
        ports: ranges
            .iter()
            .map(|(lo, hi)| PortProtocol {
                protocol,
                port: PortSpec::Range(PortRange::from_port_end(*lo, Some(*hi))),
            })
            .collect(),
        l7: L7Rules::None,
        server_names: Vec::new(),
        unsupported: Vec::new(),
    }])
}

fn rule(
    id: usize,
    namespace: &str,
    direction: Direction,
    peer: EndpointSelector,
    ports: PortMatch,
) -> PolicyRule {
    PolicyRule {
        id: RuleId(u32::try_from(id).unwrap_or(u32::MAX)),
        origin: PolicyOrigin {
            kind: PolicyKind::CiliumNetworkPolicy,
            namespace: Some(namespace.to_string()),
            name: "tenant".to_string(),
        },
        provenance: Provenance::synthetic(format!("spec.{direction}[0]")),
        subject: Subject::Endpoints(in_namespace(namespace)),
        direction,
        action: RuleAction::Allow,
        peers: PeerSet::Some(vec![Peer::Endpoints(peer)]),
        ports,
        default_deny: true,
        auth: None,
        log: None,
    }
}

/// `tenants × apps` tenant pods plus 4 infra pods.
pub fn multi_tenant(tenants: usize, apps: usize) -> GeneratedSet {
    let mut namespaces = BTreeMap::new();
    let mut endpoints = Vec::new();
    let mut rules = Vec::new();
    let infra = "infra";
    namespaces.insert(
        infra.to_string(),
        InventoryNamespace {
            name: infra.to_string(),
            labels: BTreeMap::new(),
            span: None,
        },
    );
    for i in 0..4u8 {
        endpoints.push(InventoryEndpoint {
            namespace: infra.to_string(),
            name: format!("infra-{i}"),
            labels: BTreeMap::from([("app".to_string(), format!("infra-{i}"))]),
            service_account: None,
            ips: vec![IpAddr::V4(Ipv4Addr::new(198, 18, 200, i + 1))],
            named_ports: BTreeMap::new(),
            interface: None,
            span: None,
            namespace_span: None,
            ip_spans: Vec::new(),
        });
    }
    for t in 0..tenants {
        let ns = format!("tenant-{t}");
        namespaces.insert(
            ns.clone(),
            InventoryNamespace {
                name: ns.clone(),
                labels: BTreeMap::new(),
                span: None,
            },
        );
        for a in 0..apps {
            let n = t * apps + a;
            endpoints.push(InventoryEndpoint {
                namespace: ns.clone(),
                name: format!("app-{a}"),
                labels: BTreeMap::from([("app".to_string(), format!("app-{a}"))]),
                service_account: None,
                ips: vec![IpAddr::V4(Ipv4Addr::new(
                    198,
                    19,
                    (n / 250) as u8,
                    (n % 250) as u8 + 1,
                ))],
                named_ports: BTreeMap::new(),
                interface: None,
                span: None,
                namespace_span: None,
                ip_spans: Vec::new(),
            });
        }
        let base = rules.len();
        rules.push(rule(
            base,
            &ns,
            Direction::Ingress,
            in_namespace(&ns),
            port_rule(&TENANT_PORTS, Protocol::Tcp),
        ));
        rules.push(rule(
            base + 1,
            &ns,
            Direction::Ingress,
            in_namespace(infra),
            port_rule(&[(9100, 9199)], Protocol::Tcp),
        ));
        rules.push(rule(
            base + 2,
            &ns,
            Direction::Egress,
            in_namespace(&ns),
            port_rule(&TENANT_PORTS, Protocol::Tcp),
        ));
        rules.push(rule(
            base + 3,
            &ns,
            Direction::Egress,
            in_namespace(infra),
            port_rule(&[(53, 53)], Protocol::Udp),
        ));
    }
    let node = InventoryNode {
        name: "node-1".to_string(),
        ips: vec![IpAddr::V4(Ipv4Addr::new(198, 18, 255, 1))],
        labels: BTreeMap::new(),
        local: true,
        span: None,
        ip_spans: Vec::new(),
    };
    GeneratedSet {
        seed: 0,
        inventory: Inventory {
            cluster: "default".to_string(),
            namespaces,
            nodes: vec![node],
            endpoints,
            secrets: Default::default(),
            services: Vec::new(),
            endpoint_slices: Vec::new(),
            cidr_groups: Vec::new(),
            node_selector_labels: false,
        },
        rules,
        options: UniverseOptions::default(),
    }
}
