//! Generated inventories: a few namespaces with labels, two nodes (one local), and endpoints
//! with random app/tier labels, IPv4 + IPv6 addresses and named ports.

use super::rng::Rng;
use policyc_frontend::inventory::{
    Inventory, InventoryEndpoint, InventoryNamespace, InventoryNode,
};
use policyc_ir::universe::NamedPort;
use policyc_ir::Protocol;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub const NAMESPACES: [&str; 3] = ["alpha", "beta", "gamma"];
pub const APPS: [&str; 5] = ["web", "api", "db", "cache", "worker"];
pub const TIERS: [&str; 2] = ["front", "back"];
pub const NAMED_PORTS: [(&str, u16, Protocol); 4] = [
    ("http", 8080, Protocol::Tcp),
    ("metrics", 9090, Protocol::Tcp),
    ("dns", 53, Protocol::Udp),
    ("grpc", 7443, Protocol::Tcp),
];

fn namespace(name: &str, team: &str) -> InventoryNamespace {
    InventoryNamespace {
        name: name.to_string(),
        labels: BTreeMap::from([("team".to_string(), team.to_string())]),
        span: None,
    }
}

fn node(name: &str, index: u8, local: bool) -> InventoryNode {
    InventoryNode {
        name: name.to_string(),
        ips: vec![
            IpAddr::V4(Ipv4Addr::new(198, 18, 255, index)),
            IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0xff, u16::from(index))),
        ],
        labels: BTreeMap::from([("zone".to_string(), format!("z{index}"))]),
        local,
        span: None,
        ip_spans: Vec::new(),
    }
}

/// An inventory with `endpoints` endpoints (at least one per namespace when possible).
pub fn inventory(rng: &mut Rng, endpoints: usize) -> Inventory {
    let namespaces = BTreeMap::from([
        ("alpha".to_string(), namespace("alpha", "red")),
        ("beta".to_string(), namespace("beta", "blue")),
        ("gamma".to_string(), namespace("gamma", "red")),
    ]);
    let mut list = Vec::with_capacity(endpoints);
    for i in 0..endpoints {
        let ns = NAMESPACES[i % NAMESPACES.len()];
        let app = *rng.pick(&APPS);
        let tier = *rng.pick(&TIERS);
        let mut named_ports = BTreeMap::new();
        for (name, port, protocol) in NAMED_PORTS {
            if rng.chance(40) {
                // Same name, sometimes a different number: named ports resolve per endpoint.
                let port = if rng.chance(30) { port + 1 } else { port };
                named_ports.insert(name.to_string(), NamedPort { port, protocol });
            }
        }
        let n = u8::try_from(i + 10).unwrap_or(u8::MAX);
        let mut ips = vec![IpAddr::V4(Ipv4Addr::new(198, 18, 1, n))];
        if rng.chance(80) {
            ips.push(IpAddr::V6(Ipv6Addr::new(
                0xfd00,
                0,
                0,
                0,
                0,
                0,
                1,
                u16::from(n),
            )));
        }
        list.push(InventoryEndpoint {
            namespace: ns.to_string(),
            name: format!("{app}-{i}"),
            labels: BTreeMap::from([
                ("app".to_string(), app.to_string()),
                ("tier".to_string(), tier.to_string()),
            ]),
            service_account: None,
            ips,
            named_ports,
            interface: Some(format!("pc-gen{i}")),
            span: None,
            namespace_span: None,
            ip_spans: Vec::new(),
        });
    }
    Inventory {
        cluster: "default".to_string(),
        namespaces,
        nodes: vec![node("node-1", 1, true), node("node-2", 2, false)],
        endpoints: list,
        secrets: Default::default(),
        services: Vec::new(),
        endpoint_slices: Vec::new(),
        cidr_groups: Vec::new(),
        node_selector_labels: false,
    }
}
