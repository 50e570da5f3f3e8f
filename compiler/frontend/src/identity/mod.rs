//! Identity allocation: reserved identities 1–10 as Cilium numbers them, one identity per
//! distinct endpoint label set (with the implicit labels Cilium adds), node-local CIDR
//! identities for every prefix the rules mention, and the [`Universe`] built from them.

mod cidr;
mod endpoint_ids;
mod implicit_labels;

pub use cidr::{cidr_identities, mentioned_prefixes};
pub use endpoint_ids::allocate_endpoint_identities;
pub use implicit_labels::{endpoint_labels, parse_label};

use crate::inventory::Inventory;
use policyc_ir::identity::IdentityKind;
use policyc_ir::universe::{Endpoint, EndpointKey, Node, Universe, UniverseError, UniverseOptions};
use policyc_ir::{Identity, LabelSet, PolicyRule};
use std::collections::BTreeSet;

/// Builds the universe of an inventory for a rule set: identities for every endpoint label set
/// and every CIDR prefix the rules mention, endpoints, nodes and the ipcache.
pub fn build_universe(
    inventory: &Inventory,
    rules: &[PolicyRule],
    options: UniverseOptions,
) -> Result<Universe, UniverseError> {
    let labelled: Vec<(&crate::inventory::InventoryEndpoint, LabelSet)> = inventory
        .endpoints
        .iter()
        .map(|ep| {
            (
                ep,
                endpoint_labels(
                    ep,
                    &inventory.namespace_labels(&ep.namespace),
                    &inventory.cluster,
                ),
            )
        })
        .collect();
    let label_sets: BTreeSet<LabelSet> = labelled.iter().map(|(_, l)| l.clone()).collect();
    let numbers = allocate_endpoint_identities(&label_sets);
    let mut identities: Vec<Identity> = numbers
        .iter()
        .map(|(labels, id)| Identity {
            id: *id,
            kind: IdentityKind::Endpoint,
            labels: labels.clone(),
        })
        .collect();
    identities.extend(cidr_identities(&mentioned_prefixes(rules)));
    let endpoints = labelled
        .into_iter()
        .filter_map(|(ep, labels)| {
            let identity = *numbers.get(&labels)?;
            Some(Endpoint {
                key: EndpointKey::new(&ep.namespace, &ep.name),
                labels,
                ips: ep.ips.clone(),
                named_ports: ep.named_ports.clone(),
                identity,
                interface: ep.interface.clone(),
                service_account: ep.service_account.clone(),
            })
        })
        .collect();
    let mut nodes: Vec<Node> = inventory
        .nodes
        .iter()
        .map(|n| Node {
            name: n.name.clone(),
            ips: n.ips.clone(),
            labels: n.labels.iter().map(|(k, v)| parse_label(k, v)).collect(),
            local: n.local,
            remote_identity: None,
        })
        .collect();
    if inventory.node_selector_labels {
        identities.extend(remote_node_identities(&mut nodes, &inventory.cluster));
    }
    Universe::new(&inventory.cluster, options, identities, endpoints, nodes)
}

/// With `enable-node-selector-labels`, Cilium gives each remote node an identity from its labels
/// (`cilium:pkg/node/manager` `nodeIdentityLabels`: `reserved:remote-node`, every node label —
/// the node label filter `node-labels` keeps all by default, `pkg/labelsfilter`
/// `ParseLabelPrefixCfg` — and the cluster label), allocated per label set in the remote-node
/// scope. Sets each remote node's `remote_identity`; returns the identities.
fn remote_node_identities(nodes: &mut [Node], cluster: &str) -> Vec<Identity> {
    let label_set = |node: &Node| {
        let mut labels = node.labels.clone();
        labels.insert(policyc_ir::Label::reserved("remote-node"));
        labels.insert(policyc_ir::Label::k8s(
            policyc_ir::labels::CLUSTER_KEY,
            cluster,
        ));
        labels
    };
    let sets: BTreeSet<LabelSet> = nodes.iter().filter(|n| !n.local).map(label_set).collect();
    let numbered: Vec<(LabelSet, policyc_ir::NumericIdentity)> = sets
        .into_iter()
        .zip(1u32..)
        .map(|(labels, n)| {
            let id =
                policyc_ir::NumericIdentity(policyc_ir::NumericIdentity::REMOTE_NODE_SCOPE | n);
            (labels, id)
        })
        .collect();
    for node in nodes.iter_mut().filter(|n| !n.local) {
        let labels = label_set(node);
        node.remote_identity = numbered
            .iter()
            .find(|(l, _)| *l == labels)
            .map(|(_, id)| *id);
    }
    numbered
        .into_iter()
        .map(|(labels, id)| Identity {
            id,
            kind: IdentityKind::RemoteNode,
            labels,
        })
        .collect()
}

/// Adds one inventory endpoint of `inventory` (its namespace labels and cluster) to a universe
/// [`build_universe`] built without it, in place: the universe `build_universe` would build
/// with it. `Ok(false)` (nothing changed) when that cannot be done in place — its label set's
/// number would move another's, or it would make the universe dual-stack: build it anew then.
pub fn add_inventory_endpoint(
    universe: &mut Universe,
    inventory: &Inventory,
    endpoint: &crate::inventory::InventoryEndpoint,
) -> Result<bool, UniverseError> {
    let labels = endpoint_labels(
        endpoint,
        &inventory.namespace_labels(&endpoint.namespace),
        &inventory.cluster,
    );
    let Some(id) =
        policyc_ir::endpoint_identity::number_of_added_label_set(universe.identities(), &labels)
    else {
        return Ok(false);
    };
    let identity = universe.identity(id).is_none().then(|| Identity {
        id,
        kind: IdentityKind::Endpoint,
        labels: labels.clone(),
    });
    universe.add_endpoint(
        Endpoint {
            key: EndpointKey::new(&endpoint.namespace, &endpoint.name),
            labels,
            ips: endpoint.ips.clone(),
            named_ports: endpoint.named_ports.clone(),
            identity: id,
            interface: endpoint.interface.clone(),
            service_account: endpoint.service_account.clone(),
        },
        identity,
    )
}
