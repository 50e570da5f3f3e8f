//! Kubernetes objects as inventory: `Pod` (IPs from `status.podIPs`/`status.podIP`, named ports
//! from container ports), `Namespace` (labels) and `Node` (InternalIP/ExternalIP addresses).
//! Host-network pods share their node's addresses and identity, so they are skipped. Pods'
//! `ownerReferences` and owner objects (ReplicaSet, Job, ...) feed [`super::workloads`].

use super::fields::{ip, named_port, opt_string, req_string, scalar_text, seq, string_map};
use super::native::Builder;
use super::workloads::controller_of;
use super::{InventoryEndpoint, InventoryNamespace, InventoryNode};
use crate::yaml::{Node, NodeKind, Style};
use policyc_diagnostics::Finding;
use std::collections::BTreeMap;

fn metadata(root: &Node) -> Option<&Node> {
    root.get("metadata").filter(|m| m.map_entries().is_some())
}

pub fn read_namespace(root: &Node, b: &mut Builder, findings: &mut Vec<Finding>) {
    let Some(meta) = metadata(root) else { return };
    if let Some((name, span)) = req_string(meta, "name", "a Namespace", findings) {
        let labels = string_map(meta.get("labels"), findings);
        b.namespaces.push(InventoryNamespace {
            name,
            labels,
            span: Some(span),
        });
    }
}

pub fn read_node(root: &Node, b: &mut Builder, findings: &mut Vec<Finding>) {
    let Some(meta) = metadata(root) else { return };
    let Some((name, span)) = req_string(meta, "name", "a Node", findings) else {
        return;
    };
    let mut ips = Vec::new();
    let mut ip_spans = Vec::new();
    if let Some(status) = root.get("status") {
        for addr in seq(status, "addresses", findings) {
            let kind = addr.get("type").and_then(Node::as_str);
            if !matches!(kind, Some("InternalIP" | "ExternalIP")) {
                continue;
            }
            if let Some(a) = addr.get("address") {
                if let Some(parsed) = ip(a, findings) {
                    if !ips.contains(&parsed) {
                        ips.push(parsed);
                        ip_spans.push(Some(a.span));
                    }
                }
            }
        }
    }
    let labels = string_map(meta.get("labels"), findings);
    b.nodes.push(InventoryNode {
        name,
        ips,
        labels,
        local: false,
        span: Some(span),
        ip_spans,
    });
}

/// A workload object (ReplicaSet, Job, ...): only its name and owner matter.
pub fn read_owner_object(root: &Node, kind: &str, b: &mut Builder) {
    let Some(meta) = metadata(root) else { return };
    let Some(name) = meta.get("name").and_then(Node::as_str) else {
        return;
    };
    let namespace = meta
        .get("namespace")
        .and_then(Node::as_str)
        .unwrap_or("default");
    b.owners
        .add_object(namespace, kind, name, controller_of(meta));
}

pub fn read_pod(root: &Node, b: &mut Builder, findings: &mut Vec<Finding>) {
    let Some(meta) = metadata(root) else { return };
    let Some((name, span)) = req_string(meta, "name", "a Pod", findings) else {
        return;
    };
    let (namespace, namespace_span) = match opt_string(meta, "namespace", findings) {
        Some((ns, s)) => (ns, Some(s)),
        None => ("default".to_string(), None),
    };
    let spec = root.get("spec");
    if spec
        .and_then(|s| s.get("hostNetwork"))
        .and_then(Node::as_bool)
        == Some(true)
    {
        return;
    }
    let service_account = spec.and_then(|s| {
        opt_string(s, "serviceAccountName", findings)
            .or_else(|| opt_string(s, "serviceAccount", findings))
    });
    let mut named_ports = BTreeMap::new();
    if let Some(spec) = spec {
        for container in seq(spec, "containers", findings) {
            for port in seq(container, "ports", findings) {
                let (Some(pname), Some(number)) = (port.get("name"), port.get("containerPort"))
                else {
                    continue;
                };
                let proto = port
                    .get("protocol")
                    .and_then(scalar_text)
                    .unwrap_or_else(|| "TCP".to_string());
                let value = scalar_text(number)
                    .map(|n| format!("{n}/{proto}"))
                    .unwrap_or_default();
                let synthetic = Node::new(number.span, NodeKind::Str(value), Style::Plain);
                if let Some((n, p)) = named_port(pname, &synthetic, findings) {
                    named_ports.insert(n, p);
                }
            }
        }
    }
    let mut ips = Vec::new();
    let mut ip_spans = Vec::new();
    if let Some(status) = root.get("status") {
        let mut push = |node: &Node, findings: &mut Vec<Finding>| {
            if let Some(parsed) = ip(node, findings) {
                if !ips.contains(&parsed) {
                    ips.push(parsed);
                    ip_spans.push(Some(node.span));
                }
            }
        };
        for entry in seq(status, "podIPs", findings) {
            if let Some(a) = entry.get("ip") {
                push(a, findings);
            }
        }
        if let Some(a) = status.get("podIP").filter(|n| !n.is_null()) {
            push(a, findings);
        }
    }
    let labels = string_map(meta.get("labels"), findings);
    if let Some(owner) = controller_of(meta) {
        let hash = labels.get("pod-template-hash").cloned();
        b.owners.add_pod(&namespace, &name, owner, hash);
    }
    b.endpoints.push(InventoryEndpoint {
        namespace,
        name,
        labels,
        service_account: service_account.map(|(s, _)| s),
        ips,
        named_ports,
        interface: None,
        span: Some(span),
        namespace_span,
        ip_spans,
    });
}
