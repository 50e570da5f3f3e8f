//! Peers the diff can name on both sides even when identity numbers differ: an endpoint (by
//! `namespace/name`), a reserved identity, a CIDR identity (by prefix), or addresses learned
//! from a DNS name (toFQDNs); and how a group of them is summarized for a reader.

use super::model::PeersView;
use policyc_ir::identity::IdentityKind;
use policyc_ir::universe::{EndpointKey, Universe};
use policyc_ir::{NumericIdentity, Prefix, ReservedIdentity};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PeerAtom {
    Endpoint(EndpointKey),
    Reserved(ReservedIdentity),
    Cidr(Prefix),
    /// World addresses that a DNS answer for this name produced.
    Fqdn(String),
}

/// Every identity-backed peer of a universe with its identity.
pub fn atoms(universe: &Universe) -> BTreeMap<PeerAtom, NumericIdentity> {
    let mut out: BTreeMap<PeerAtom, NumericIdentity> = universe
        .endpoints()
        .iter()
        .map(|e| (PeerAtom::Endpoint(e.key.clone()), e.identity))
        .collect();
    for identity in universe.identities().values() {
        match &identity.kind {
            IdentityKind::Reserved(r) => {
                out.insert(PeerAtom::Reserved(*r), identity.id);
            }
            IdentityKind::Cidr(p) => {
                out.insert(PeerAtom::Cidr(*p), identity.id);
            }
            // Endpoints are added by key above. Remote nodes' own identities (with
            // `enableNodeSelectorLabels`) are not diff peers yet: `policyc diff` compares the
            // shared `remote-node` identity only (a known limitation, issue 13 item 11).
            IdentityKind::Endpoint | IdentityKind::RemoteNode => {}
        }
    }
    out
}

const WORLD: [ReservedIdentity; 3] = [
    ReservedIdentity::World,
    ReservedIdentity::WorldIpv4,
    ReservedIdentity::WorldIpv6,
];

/// Is this peer outside the cluster with no narrower prefix than the whole internet?
pub fn is_world(atom: &PeerAtom) -> bool {
    match atom {
        PeerAtom::Reserved(r) => WORLD.contains(r),
        PeerAtom::Cidr(p) => p.len() == 0,
        _ => false,
    }
}

/// Summarizes a set of peers: all endpoints, a namespace, common labels, or names.
pub fn view(atoms: &BTreeSet<PeerAtom>, universes: &[&Universe], max_names: usize) -> PeersView {
    let mut v = PeersView::default();
    let mut reserved = Vec::new();
    let mut keys = Vec::new();
    for atom in atoms {
        match atom {
            PeerAtom::Endpoint(k) => {
                v.endpoints.push(k.to_string());
                keys.push(k.clone());
            }
            PeerAtom::Reserved(r) => {
                v.entities.push(r.label_key().to_string());
                reserved.push(*r);
            }
            PeerAtom::Cidr(p) => v.cidrs.push(p.to_string()),
            PeerAtom::Fqdn(n) => v.fqdns.push(n.clone()),
        }
    }
    let mut parts = Vec::new();
    if !keys.is_empty() {
        parts.push(endpoint_summary(&keys, universes, max_names));
    }
    if !reserved.is_empty() {
        let all_world = WORLD.iter().all(|w| reserved.contains(w));
        let names: Vec<String> = reserved
            .iter()
            .filter(|r| {
                !(all_world
                    && matches!(r, ReservedIdentity::WorldIpv4 | ReservedIdentity::WorldIpv6))
            })
            .map(|r| format!("`{}`", r.label_key()))
            .collect();
        parts.push(names.join(", "));
    }
    if !v.cidrs.is_empty() {
        parts.push(shortened("CIDR", &v.cidrs, max_names));
    }
    if !v.fqdns.is_empty() {
        parts.push(shortened("FQDN", &v.fqdns, max_names));
    }
    v.summary = parts.join(", ");
    v
}

fn shortened(what: &str, names: &[String], max: usize) -> String {
    if names.len() <= max {
        let shown: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
        format!("{what} {}", shown.join(", "))
    } else {
        format!(
            "{} {what}s (`{}`, …)",
            names.len(),
            names.first().map_or("", String::as_str)
        )
    }
}

/// Labels that say something about a workload (not Cilium's implicit ones).
fn user_labels(universe: &Universe, key: &EndpointKey) -> Option<BTreeSet<(String, String)>> {
    let ep = universe.endpoint(key)?;
    Some(
        ep.labels
            .iter()
            .filter(|l| !l.key.starts_with("io.cilium.") && !l.key.starts_with("io.kubernetes."))
            .filter(|l| l.source == policyc_ir::LabelSource::K8s)
            .map(|l| (l.key.clone(), l.value.clone()))
            .collect(),
    )
}

fn endpoint_summary(keys: &[EndpointKey], universes: &[&Universe], max: usize) -> String {
    let Some(universe) = universes
        .iter()
        .copied()
        .find(|u| keys.iter().all(|k| u.endpoint(k).is_some()))
    else {
        return plain_list(keys, max);
    };
    let total = universe.endpoints().len();
    if keys.len() == total && total > 1 {
        return format!("all {total} endpoints");
    }
    if keys.len() <= max {
        return plain_list(keys, max);
    }
    let namespaces: BTreeSet<&str> = keys.iter().map(|k| k.namespace.as_str()).collect();
    let in_namespaces = universe
        .endpoints()
        .iter()
        .filter(|e| namespaces.contains(e.key.namespace.as_str()))
        .count();
    if in_namespaces == keys.len() {
        let ns: Vec<String> = namespaces.iter().map(|n| format!("`{n}/*`")).collect();
        return format!("{} ({} endpoints)", ns.join(", "), keys.len());
    }
    let common = keys
        .iter()
        .filter_map(|k| user_labels(universe, k))
        .reduce(|a, b| a.intersection(&b).cloned().collect())
        .unwrap_or_default();
    if !common.is_empty() {
        let selected = universe
            .endpoints()
            .iter()
            .filter(|e| namespaces.contains(e.key.namespace.as_str()) || namespaces.len() > 1)
            .filter(|e| user_labels(universe, &e.key).is_some_and(|l| common.is_subset(&l)))
            .count();
        if selected == keys.len() {
            let labels: Vec<String> = common.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let scope = if namespaces.len() == 1 {
                format!(
                    "`{}/*` ",
                    namespaces.iter().next().copied().unwrap_or_default()
                )
            } else {
                String::new()
            };
            return format!("{scope}`{}` ({} endpoints)", labels.join(","), keys.len());
        }
    }
    plain_list(keys, max)
}

fn plain_list(keys: &[EndpointKey], max: usize) -> String {
    let names: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    super::model::name_list(&names, max)
}
