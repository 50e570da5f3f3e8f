//! The labels of an endpoint's identity: its own labels plus the ones Cilium adds
//! (`io.kubernetes.pod.namespace`, `io.cilium.k8s.namespace.labels.*`,
//! `io.cilium.k8s.policy.serviceaccount`, `io.cilium.k8s.policy.cluster`); the implementation
//! lives in `policyc_ir::endpoint_identity`, shared with the loader.

use crate::inventory::InventoryEndpoint;
pub use policyc_ir::endpoint_identity::parse_label;
use policyc_ir::LabelSet;
use std::collections::BTreeMap;

/// The identity labels of an endpoint. A missing service account is Kubernetes' `default`.
pub fn endpoint_labels(
    ep: &InventoryEndpoint,
    namespace_labels: &BTreeMap<String, String>,
    cluster: &str,
) -> LabelSet {
    policyc_ir::endpoint_identity::identity_labels(
        &ep.labels,
        &ep.namespace,
        namespace_labels,
        ep.service_account.as_deref(),
        cluster,
    )
}
