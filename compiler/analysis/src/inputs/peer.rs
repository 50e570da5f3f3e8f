//! Flow peers as users write them (`namespace/name` of a pod or a workload,
//! `namespace/key=value` for the pods with those labels, an IP address, or an entity name),
//! checked against the universe with "did you mean" help.

use super::named_pods;
use policyc_diagnostics::{codes, did_you_mean};
use policyc_frontend::inventory::Workloads;
use policyc_ir::oracle::FlowPeer;
use policyc_ir::universe::{EndpointKey, Universe};
use policyc_ir::Entity;
use std::net::IpAddr;

pub use super::peer_error::PeerError;

/// Entities that name one concrete peer.
const CONCRETE_ENTITIES: &[&str] = &[
    "world",
    "world-ipv4",
    "world-ipv6",
    "host",
    "remote-node",
    "kube-apiserver",
    "health",
    "init",
    "ingress",
    "unmanaged",
];

fn looks_like_address(text: &str) -> bool {
    text.contains(':')
        || (text.contains('.')
            && text
                .chars()
                .all(|c| c.is_ascii_digit() || c == '.' || c == '/'))
}

/// Parses and checks a peer against the universe (pods only: no workload names).
pub fn parse_peer(text: &str, universe: &Universe) -> Result<FlowPeer, PeerError> {
    resolve_peer(text, universe, &Workloads::default())
}

/// Parses and checks a peer against the universe; `namespace/name` names a pod, else a workload
/// of `workloads`; a workload or a selector must name pods of one identity, and stands for its
/// first pod.
pub fn resolve_peer(
    text: &str,
    universe: &Universe,
    workloads: &Workloads,
) -> Result<FlowPeer, PeerError> {
    let text = text.trim();
    let endpoint_names: Vec<String> = universe
        .endpoints()
        .iter()
        .map(|e| e.key.to_string())
        .collect();
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Ok(FlowPeer::Ip(ip));
    }
    if let Some(selector) = named_pods::parse_selector(text) {
        let (namespace, requirements) = selector?;
        return named_pods::select(text, &namespace, &requirements, universe);
    }
    if let Some(key) = EndpointKey::parse(text) {
        if universe.endpoint(&key).is_some() {
            return Ok(FlowPeer::Endpoint(key));
        }
        if let Some(resolved) = named_pods::workload(text, &key, universe, workloads) {
            return resolved;
        }
        if !looks_like_address(text) {
            let mut names = endpoint_names.clone();
            names.extend(workloads.names());
            let in_namespace = named_pods::candidates_in(&key.namespace, universe, workloads);
            return Err(PeerError {
                code: &codes::UNKNOWN_INVENTORY_REFERENCE,
                message: format!("unknown endpoint `{text}`"),
                help: did_you_mean(text, names.iter()).or_else(|| {
                    Some(if in_namespace.is_empty() {
                        format!(
                            "the inventory has {} endpoints; write them as namespace/name",
                            endpoint_names.len()
                        )
                    } else {
                        format!(
                            "pods and workloads in `{}`: {}",
                            key.namespace,
                            named_pods::listed(in_namespace.into_iter())
                        )
                    })
                }),
            });
        }
    }
    if looks_like_address(text) {
        return Err(PeerError {
            code: &codes::INVALID_ADDRESS,
            message: format!("`{text}` is not an IP address"),
            help: Some(
                "write a plain IPv4 or IPv6 address (no prefix length), e.g. 198.51.100.7"
                    .to_string(),
            ),
        });
    }
    if let Some(entity) = Entity::parse(text) {
        return if CONCRETE_ENTITIES.contains(&text) {
            Ok(FlowPeer::Entity(entity))
        } else {
            Err(PeerError {
                code: &codes::UNKNOWN_INVENTORY_REFERENCE,
                message: format!("entity `{text}` is a set of peers, not one peer"),
                help: Some(format!(
                    "name one peer: an endpoint, an address, or one of {}",
                    CONCRETE_ENTITIES.join(", ")
                )),
            })
        };
    }
    // A bare pod name: suggest its namespace/name if unique.
    let by_name: Vec<&String> = universe
        .endpoints()
        .iter()
        .zip(endpoint_names.iter())
        .filter(|(e, _)| e.key.name == text)
        .map(|(_, n)| n)
        .collect();
    let help = match by_name.as_slice() {
        [one] => Some(format!(
            "did you mean `{one}`? endpoints are written namespace/name"
        )),
        _ => did_you_mean(
            text,
            CONCRETE_ENTITIES
                .iter()
                .copied()
                .chain(endpoint_names.iter().map(String::as_str)),
        ),
    };
    Err(PeerError {
        code: &codes::UNKNOWN_INVENTORY_REFERENCE,
        message: format!(
            "unknown peer `{text}`: not an endpoint (namespace/name), an IP address or an entity"
        ),
        help,
    })
}
