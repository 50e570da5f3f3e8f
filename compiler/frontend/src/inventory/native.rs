//! The native `policyc/v1 Inventory` document, and the builder every inventory source feeds.

use super::fields::{check_keys, ip, named_port, opt_string, req_string, seq, string_map};
use super::workloads::OwnerFacts;
use super::{Inventory, InventoryEndpoint, InventoryNamespace, InventoryNode, InventoryOptions};
use crate::yaml::Node;
use policyc_diagnostics::codes::{self, Code};
use policyc_diagnostics::render::location::Region;
use policyc_diagnostics::source::{SourceMap, Span};
use policyc_diagnostics::Finding;
use std::collections::BTreeMap;

/// Accumulates inventory objects from every document.
#[derive(Debug, Default)]
pub struct Builder {
    pub cluster: Option<(String, Span)>,
    /// Every endpoint `interface` with where it is written, in reading order.
    pub interfaces: Vec<(String, Span)>,
    pub namespaces: Vec<InventoryNamespace>,
    pub nodes: Vec<InventoryNode>,
    pub endpoints: Vec<InventoryEndpoint>,
    /// Pods' owners and owner objects (Kubernetes inputs only).
    pub owners: OwnerFacts,
    /// Kubernetes Secrets (see `secrets`).
    pub secrets: BTreeMap<(String, String), Option<String>>,
    /// Kubernetes Services, EndpointSlices and CiliumCIDRGroups (see `services`, `cidr_groups`).
    pub services: Vec<super::services::InventoryService>,
    pub endpoint_slices: Vec<super::services::InventoryEndpointSlice>,
    pub cidr_groups: Vec<super::cidr_groups::InventoryCidrGroup>,
    /// `enableNodeSelectorLabels` of a native Inventory.
    pub node_selector_labels: bool,
}

impl Builder {
    /// Picks the local node and assembles the inventory; a namespace or node listed twice and
    /// an interface used by two endpoints are errors naming both places.
    pub fn finish(
        self,
        options: &InventoryOptions,
        sources: &SourceMap,
        findings: &mut Vec<Finding>,
    ) -> Inventory {
        let mut namespaces: BTreeMap<String, InventoryNamespace> = BTreeMap::new();
        for ns in self.namespaces {
            match (namespaces.get(&ns.name), ns.span) {
                // Merging or overriding labels would silently change namespaceSelector verdicts.
                (Some(first), Some(span)) => findings.push(
                    second_definition(
                        &codes::DUPLICATE_NAMESPACE,
                        format!("namespace `{}` is listed twice", ns.name),
                        span,
                        first.span,
                        sources,
                    )
                        .help("list each namespace once (in `namespaces:` or as a Namespace object) with all its labels"),
                ),
                (Some(_), None) => {}
                (None, _) => {
                    namespaces.insert(ns.name.clone(), ns);
                }
            }
        }
        let mut devices: BTreeMap<&str, Span> = BTreeMap::new();
        for (name, span) in &self.interfaces {
            match devices.get(name.as_str()) {
                // Both endpoints' programs would be stacked on one device.
                Some(first) => findings.push(
                    second_definition(
                        &codes::DUPLICATE_INTERFACE,
                        format!("interface `{name}` is the interface of two endpoints"),
                        *span,
                        Some(*first),
                        sources,
                    )
                    .help("give each endpoint its own interface"),
                ),
                None => {
                    devices.insert(name, *span);
                }
            }
        }
        let mut named: BTreeMap<&str, Option<Span>> = BTreeMap::new();
        for node in &self.nodes {
            match (named.get(node.name.as_str()), node.span) {
                // `local` is chosen by name: both would be local, the other's IPs `host`.
                (Some(first), Some(span)) => findings.push(
                    second_definition(
                        &codes::DUPLICATE_NODE,
                        format!("node `{}` is listed twice", node.name),
                        span,
                        *first,
                        sources,
                    )
                    .help("list each node once (in `nodes:` or as a Node object) with all its addresses"),
                ),
                (Some(_), None) => {}
                (None, span) => {
                    named.insert(&node.name, span);
                }
            }
        }
        let mut nodes = self.nodes;
        match &options.local_node {
            Some(name) => {
                if !nodes.iter().any(|n| &n.name == name) {
                    findings.push(Finding::error(
                        &codes::UNKNOWN_INVENTORY_REFERENCE,
                        format!("local node `{name}` is not in the inventory"),
                    ));
                }
                for n in &mut nodes {
                    n.local = &n.name == name;
                }
            }
            None => {
                let first_local = nodes.iter().position(|n| n.local).unwrap_or(0);
                for (i, n) in nodes.iter_mut().enumerate() {
                    n.local = i == first_local;
                }
            }
        }
        Inventory {
            cluster: self
                .cluster
                .map_or_else(|| "default".to_string(), |(c, _)| c),
            namespaces,
            nodes,
            endpoints: self.endpoints,
            secrets: self.secrets,
            services: self.services,
            endpoint_slices: self.endpoint_slices,
            cidr_groups: self.cidr_groups,
            node_selector_labels: self.node_selector_labels,
        }
    }
}

/// A value written a second time where it must be unique: the error at the second place, naming
/// the first in the message too (one-line formats show only the primary location).
fn second_definition(
    code: &'static Code,
    what: String,
    second: Span,
    first: Option<Span>,
    sources: &SourceMap,
) -> Finding {
    match first {
        Some(first) => Finding::error(
            code,
            format!("{what} (first at {})", Region::position(sources, first)),
        )
        .at(second, "second definition")
        .related(first, "first definition"),
        None => Finding::error(code, what).at(second, "second definition"),
    }
}

const TOP_KEYS: &[&str] = &[
    "apiVersion",
    "kind",
    "cluster",
    "enableNodeSelectorLabels",
    "namespaces",
    "nodes",
    "endpoints",
    "metadata",
];
const NAMESPACE_KEYS: &[&str] = &["name", "labels"];
const NODE_KEYS: &[&str] = &["name", "ips", "labels", "local"];
const ENDPOINT_KEYS: &[&str] = &[
    "name",
    "namespace",
    "labels",
    "serviceAccount",
    "ips",
    "namedPorts",
    "interface",
];

pub fn read(root: &Node, b: &mut Builder, findings: &mut Vec<Finding>) {
    check_keys(root, TOP_KEYS, "the Inventory", findings);
    match root.get("apiVersion").and_then(Node::as_str) {
        Some("policyc/v1") => {}
        _ => findings.push(
            Finding::error(
                &codes::INVALID_INVENTORY,
                "an Inventory must have `apiVersion: policyc/v1`",
            )
            .at(
                root.get("apiVersion").map_or(root.span, |n| n.span),
                "expected `policyc/v1`",
            ),
        ),
    }
    if let Some(flag) = root.get("enableNodeSelectorLabels") {
        match flag.as_bool() {
            Some(on) => b.node_selector_labels |= on,
            None => findings.push(
                Finding::error(
                    &codes::INVALID_INVENTORY,
                    "`enableNodeSelectorLabels` must be true or false",
                )
                .at(flag.span, "expected a boolean"),
            ),
        }
    }
    if let Some((cluster, span)) = opt_string(root, "cluster", findings) {
        if let Some((first, first_span)) = &b.cluster {
            if *first != cluster {
                findings.push(
                    Finding::error(
                        &codes::INVALID_INVENTORY,
                        format!("cluster `{cluster}` conflicts with `{first}`"),
                    )
                    .at(span, "second cluster name")
                    .related(*first_span, "first cluster name"),
                );
            }
        } else {
            b.cluster = Some((cluster, span));
        }
    }
    for ns in seq(root, "namespaces", findings) {
        check_keys(ns, NAMESPACE_KEYS, "a namespace", findings);
        if let Some((name, span)) = req_string(ns, "name", "a namespace", findings) {
            let labels = string_map(ns.get("labels"), findings);
            b.namespaces.push(InventoryNamespace {
                name,
                labels,
                span: Some(span),
            });
        }
    }
    for node in seq(root, "nodes", findings) {
        check_keys(node, NODE_KEYS, "a node", findings);
        let Some((name, span)) = req_string(node, "name", "a node", findings) else {
            continue;
        };
        let (ips, ip_spans) = ips(node, findings);
        let local = match node.get("local") {
            None => false,
            Some(n) => n.as_bool().unwrap_or_else(|| {
                findings.push(
                    Finding::error(&codes::INVALID_INVENTORY, "`local` must be true or false")
                        .at(n.span, "expected a boolean"),
                );
                false
            }),
        };
        let labels = string_map(node.get("labels"), findings);
        b.nodes.push(InventoryNode {
            name,
            ips,
            labels,
            local,
            span: Some(span),
            ip_spans,
        });
    }
    for ep in seq(root, "endpoints", findings) {
        check_keys(ep, ENDPOINT_KEYS, "an endpoint", findings);
        let Some((name, span)) = req_string(ep, "name", "an endpoint", findings) else {
            continue;
        };
        let (namespace, namespace_span) = match opt_string(ep, "namespace", findings) {
            Some((ns, s)) => (ns, Some(s)),
            None => ("default".to_string(), None),
        };
        let (ips, ip_spans) = ips(ep, findings);
        let mut named_ports = BTreeMap::new();
        if let Some(np) = ep.get("namedPorts").filter(|n| !n.is_null()) {
            match np.map_entries() {
                Some(entries) => {
                    for (k, v) in entries {
                        if let Some((name, port)) = named_port(k, v, findings) {
                            named_ports.insert(name, port);
                        }
                    }
                }
                None => findings.push(
                    Finding::error(
                        &codes::INVALID_NAMED_PORT,
                        "`namedPorts` must be a mapping `name: port/PROTOCOL`",
                    )
                    .at(np.span, "expected a mapping"),
                ),
            }
        }
        let interface = opt_string(ep, "interface", findings).map(|(name, span)| {
            b.interfaces.push((name.clone(), span));
            name
        });
        b.endpoints.push(InventoryEndpoint {
            namespace,
            name,
            labels: string_map(ep.get("labels"), findings),
            service_account: opt_string(ep, "serviceAccount", findings).map(|(s, _)| s),
            ips,
            named_ports,
            interface,
            span: Some(span),
            namespace_span,
            ip_spans,
        });
    }
}

fn ips(map: &Node, findings: &mut Vec<Finding>) -> (Vec<std::net::IpAddr>, Vec<Option<Span>>) {
    let mut out = (Vec::new(), Vec::new());
    for n in seq(map, "ips", findings) {
        if let Some(ip) = ip(n, findings) {
            out.0.push(ip);
            out.1.push(Some(n.span));
        }
    }
    out
}
