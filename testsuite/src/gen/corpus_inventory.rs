//! A small inventory for a policy set that has none (corpus files): one endpoint per distinct
//! endpoint selector of the rules (subjects and peers), labelled so the selector matches it
//! (`In` → its first value, `Exists` → a placeholder; namespace, namespace-label and
//! service-account keys become the endpoint's namespace, namespace labels and service account),
//! plus one bystander per namespace and a local and a remote node.

use policyc_frontend::inventory::{
    Inventory, InventoryEndpoint, InventoryNamespace, InventoryNode,
};
use policyc_ir::labels::{
    CLUSTER_KEY, NAMESPACE_LABELS_PREFIX, POD_NAMESPACE_KEY, SERVICE_ACCOUNT_KEY,
};
use policyc_ir::{EndpointSelector, LabelSource, Operator, Peer, PeerSet, PolicyRule, Subject};
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
struct Sketch {
    namespace: String,
    namespace_labels: BTreeMap<String, String>,
    service_account: Option<String>,
    labels: BTreeMap<String, String>,
}

fn sketch(selector: &EndpointSelector, default_namespace: &str) -> Option<Sketch> {
    let mut s = Sketch {
        namespace: default_namespace.to_string(),
        ..Sketch::default()
    };
    for r in selector.requirements() {
        if matches!(r.key.source, LabelSource::Reserved | LabelSource::Cidr) {
            return None;
        }
        let value = match r.operator {
            Operator::In => r.values.iter().next().cloned().unwrap_or_default(),
            Operator::Exists => "present".to_string(),
            Operator::NotIn | Operator::DoesNotExist | Operator::Gt | Operator::Lt => continue,
        };
        let key = r.key.key.as_str();
        if key == POD_NAMESPACE_KEY {
            s.namespace = value;
        } else if let Some(ns_key) = key.strip_prefix(NAMESPACE_LABELS_PREFIX) {
            s.namespace_labels.insert(ns_key.to_string(), value);
        } else if key == SERVICE_ACCOUNT_KEY {
            s.service_account = Some(value);
        } else if key != CLUSTER_KEY {
            s.labels.insert(key.to_string(), value);
        }
    }
    Some(s)
}

fn selectors(rule: &PolicyRule) -> Vec<&EndpointSelector> {
    let mut out = Vec::new();
    if let Subject::Endpoints(s) = &rule.subject {
        out.push(s);
    }
    if let PeerSet::Some(peers) = &rule.peers {
        out.extend(peers.iter().filter_map(|p| match p {
            Peer::Endpoints(s) => Some(s),
            _ => None,
        }));
    }
    out
}

/// The inventory for `rules`.
pub fn inventory_for(rules: &[PolicyRule]) -> Inventory {
    let mut sketches: BTreeSet<Sketch> = BTreeSet::new();
    for rule in rules {
        let ns = rule
            .origin
            .namespace
            .clone()
            .unwrap_or_else(|| "default".to_string());
        for s in selectors(rule)
            .into_iter()
            .filter_map(|sel| sketch(sel, &ns))
        {
            sketches.insert(s);
        }
        sketches.insert(Sketch {
            namespace: ns,
            labels: BTreeMap::from([("app".into(), "bystander".into())]),
            ..Sketch::default()
        });
    }
    let mut namespaces: BTreeMap<String, InventoryNamespace> = BTreeMap::new();
    let mut endpoints = Vec::new();
    for (i, s) in sketches.into_iter().enumerate() {
        let entry = namespaces
            .entry(s.namespace.clone())
            .or_insert_with(|| InventoryNamespace {
                name: s.namespace.clone(),
                labels: BTreeMap::new(),
                span: None,
            });
        // A namespace gets the labels every selector of it asked for (first one wins).
        for (k, v) in &s.namespace_labels {
            entry.labels.entry(k.clone()).or_insert_with(|| v.clone());
        }
        let n = u16::try_from(i + 1).unwrap_or(u16::MAX);
        endpoints.push(InventoryEndpoint {
            namespace: s.namespace.clone(),
            name: format!("pod-{i}"),
            labels: s.labels,
            service_account: s.service_account,
            ips: vec![
                IpAddr::V4(Ipv4Addr::new(198, 18, (n >> 8) as u8, (n & 0xff) as u8)),
                IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, n)),
            ],
            named_ports: BTreeMap::new(),
            interface: None,
            span: None,
            namespace_span: None,
            ip_spans: Vec::new(),
        });
    }
    let node = |name: &str, last: u8, local: bool| InventoryNode {
        name: name.to_string(),
        ips: vec![IpAddr::V4(Ipv4Addr::new(198, 18, 255, last))],
        labels: BTreeMap::new(),
        local,
        span: None,
        ip_spans: Vec::new(),
    };
    Inventory {
        cluster: "default".to_string(),
        namespaces,
        nodes: vec![node("node-1", 1, true), node("node-2", 2, false)],
        endpoints,
        secrets: Default::default(),
        services: Vec::new(),
        endpoint_slices: Vec::new(),
        cidr_groups: Vec::new(),
        node_selector_labels: false,
    }
}
