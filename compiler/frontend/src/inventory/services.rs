//! Kubernetes `Service` and `EndpointSlice` objects in the inventory, for `toServices`
//! (`kubectl get svc,endpointslices -A -o yaml`). Cilium's service cache keeps, per service, its
//! labels, its selector and the backend addresses of its EndpointSlices; the policy watcher
//! (`cilium:pkg/policy/k8s/service.go` `resolveToServices`) turns a `toServices` entry into
//! those backends or that selector. Other fields (ports, cluster IPs) play no part in policy.

use super::fields::{ip, req_string, seq, string_map};
use crate::yaml::Node;
use policyc_diagnostics::Finding;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// A Service: `namespace/name`, its labels and its pod selector (empty = a service without a
/// selector, Cilium's `Service.IsExternal`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryService {
    pub namespace: String,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub selector: BTreeMap<String, String>,
}

/// The backend addresses one EndpointSlice gives the service it names
/// (`kubernetes.io/service-name`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryEndpointSlice {
    pub namespace: String,
    pub service: String,
    pub addresses: Vec<IpAddr>,
}

fn namespace_of(meta: &Node) -> String {
    meta.get("namespace")
        .and_then(Node::as_str)
        .unwrap_or("default")
        .to_string()
}

/// A `kind: Service` object.
pub fn read_service(root: &Node, findings: &mut Vec<Finding>) -> Option<InventoryService> {
    let meta = root.get("metadata")?;
    let (name, _) = req_string(meta, "name", "a Service", findings)?;
    let selector = string_map(root.get("spec").and_then(|s| s.get("selector")), findings);
    Some(InventoryService {
        namespace: namespace_of(meta),
        name,
        labels: string_map(meta.get("labels"), findings),
        selector,
    })
}

/// A `kind: EndpointSlice` object (discovery.k8s.io/v1). Cilium's `ParseEndpointSliceV1`
/// (`cilium:pkg/k8s/endpoints.go`, v1.18+) keeps every endpoint of an IPv4/IPv6 slice as a
/// backend, its ready/serving/terminating conditions recorded but not filtered, and
/// `Endpoints.Prefixes` lists every backend address: so does this (an `FQDN` slice has none).
pub fn read_endpoint_slice(
    root: &Node,
    findings: &mut Vec<Finding>,
) -> Option<InventoryEndpointSlice> {
    let meta = root.get("metadata")?;
    let Some(service) = meta
        .get("labels")
        .and_then(|l| l.get("kubernetes.io/service-name"))
        .and_then(Node::as_str)
    else {
        // A slice of no service (custom controllers) backs no `toServices` entry.
        return None;
    };
    if !matches!(
        root.get("addressType").and_then(Node::as_str),
        Some("IPv4" | "IPv6")
    ) {
        return None;
    }
    let mut addresses = Vec::new();
    for endpoint in seq(root, "endpoints", findings) {
        for address in seq(endpoint, "addresses", findings) {
            if let Some(parsed) = ip(address, findings) {
                if !addresses.contains(&parsed) {
                    addresses.push(parsed);
                }
            }
        }
    }
    Some(InventoryEndpointSlice {
        namespace: namespace_of(meta),
        service: service.to_string(),
        addresses,
    })
}
