//! The labels of an endpoint's identity: its own labels plus the ones Cilium adds
//! (`io.kubernetes.pod.namespace`, `io.cilium.k8s.namespace.labels.*`,
//! `io.cilium.k8s.policy.serviceaccount`, `io.cilium.k8s.policy.cluster`).

use crate::inventory::InventoryEndpoint;
use policyc_ir::labels::{
    CLUSTER_KEY, NAMESPACE_LABELS_PREFIX, POD_NAMESPACE_KEY, SERVICE_ACCOUNT_KEY,
};
use policyc_ir::{Label, LabelKey, LabelSet, LabelSource};
use std::collections::BTreeMap;

/// `key: value` of an inventory label: plain keys are `k8s:` labels; `reserved:`, `cidr:` ...
/// prefixes are kept (`any:` becomes `k8s:`).
pub fn parse_label(key: &str, value: &str) -> Label {
    let parsed = LabelKey::parse(key, LabelSource::K8s);
    let source = if parsed.source == LabelSource::Any {
        LabelSource::K8s
    } else {
        parsed.source
    };
    Label::new(source, parsed.key, value)
}

/// The identity labels of an endpoint. A missing service account is Kubernetes' `default`.
pub fn endpoint_labels(
    ep: &InventoryEndpoint,
    namespace_labels: &BTreeMap<String, String>,
    cluster: &str,
) -> LabelSet {
    let mut labels: LabelSet = ep.labels.iter().map(|(k, v)| parse_label(k, v)).collect();
    labels.insert(Label::k8s(POD_NAMESPACE_KEY, &ep.namespace));
    for (k, v) in namespace_labels {
        labels.insert(Label::k8s(format!("{NAMESPACE_LABELS_PREFIX}{k}"), v));
    }
    labels.insert(Label::k8s(
        SERVICE_ACCOUNT_KEY,
        ep.service_account.as_deref().unwrap_or("default"),
    ));
    labels.insert(Label::k8s(CLUSTER_KEY, cluster));
    labels
}
