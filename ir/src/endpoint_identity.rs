//! One implementation, shared by the compiler and the loader, of an endpoint's identity: its
//! labels (own labels plus the ones Cilium adds: `io.kubernetes.pod.namespace`,
//! `io.cilium.k8s.namespace.labels.*`, `io.cilium.k8s.policy.serviceaccount`,
//! `io.cilium.k8s.policy.cluster`), filtered as Cilium's agent filters them, and the number of
//! each label set.
//!
//! Each label set's number is derived from a hash of its canonical text (FNV-1a, 64 bit) into
//! the cluster-local range 256..65536; collisions are resolved by probing upwards, processing
//! label sets in canonical (sorted) order. Compared with numbering the sorted sets 256, 257, ...,
//! this keeps an endpoint's identity when unrelated label sets are added or removed (which
//! matters for map images and diffs); only a hash collision with a new set (about n/65280 per
//! added set) can move the later set of the colliding pair.

use crate::identity::{Identity, IdentityKind};
use crate::labels::{CLUSTER_KEY, NAMESPACE_LABELS_PREFIX, POD_NAMESPACE_KEY, SERVICE_ACCOUNT_KEY};
use crate::{Label, LabelKey, LabelSet, LabelSource, NumericIdentity};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use crate::label_filter::LabelFilter;

const FIRST: u32 = NumericIdentity::FIRST_ENDPOINT;
/// One past the last cluster-local identity (16-bit identity space of cluster 0).
const END: u32 = 1 << 16;

fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn home_slot(labels: &LabelSet) -> u32 {
    let span = u64::from(END - FIRST);
    // The remainder is < span <= u32::MAX, so the conversion cannot fail.
    FIRST + u32::try_from(fnv1a(&labels.to_string()) % span).unwrap_or(0)
}

/// The number [`allocate_endpoint_identities`] gives a label set added to those of the
/// endpoint identities in `identities`, when it can be told without renumbering: the set is
/// already there, or its home slot is free and the range is not full. A slot free after the
/// allocation was never reached by any other set's probe, so every other set keeps its number
/// and the new one gets its home slot, whatever its place in the sorted order. `None`: allocate
/// all of them again.
pub fn number_of_added_label_set(
    identities: &BTreeMap<NumericIdentity, Identity>,
    labels: &LabelSet,
) -> Option<NumericIdentity> {
    let home = home_slot(labels);
    let mut count: usize = 0;
    let mut home_taken = false;
    for identity in identities.values() {
        if identity.kind != IdentityKind::Endpoint {
            continue;
        }
        if identity.labels == *labels {
            return Some(identity.id);
        }
        count += 1;
        home_taken |= identity.id.0 == home;
    }
    let fits = u32::try_from(count + 1).is_ok_and(|n| n <= END - FIRST);
    (fits && !home_taken).then_some(NumericIdentity(home))
}

/// Allocates one identity per label set. More than 65280 label sets wrap into numbers above
/// 65535 (never reused), which Cilium would not do but keeps the function total.
pub fn allocate_endpoint_identities(
    label_sets: &BTreeSet<LabelSet>,
) -> BTreeMap<LabelSet, NumericIdentity> {
    let mut taken = BTreeSet::new();
    let mut out = BTreeMap::new();
    let capacity = END - FIRST;
    for (n, labels) in label_sets.iter().enumerate() {
        let mut id = home_slot(labels);
        if u32::try_from(n).map_or(true, |n| n >= capacity) {
            id = END + u32::try_from(n).unwrap_or(u32::MAX - END);
        } else {
            while taken.contains(&id) {
                id = if id + 1 >= END { FIRST } else { id + 1 };
            }
        }
        taken.insert(id);
        out.insert(labels.clone(), NumericIdentity(id));
    }
    out
}

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

/// Cilium's default label filter, built once.
static DEFAULT_FILTER: LazyLock<LabelFilter> = LazyLock::new(LabelFilter::default);

/// The identity labels of an endpoint, through Cilium's default label filter
/// ([`crate::label_filter`]: `pod-template-hash` and the like take no part). A missing service
/// account is Kubernetes' `default`.
pub fn identity_labels<'a>(
    own: impl IntoIterator<Item = (&'a String, &'a String)>,
    namespace: &str,
    namespace_labels: &BTreeMap<String, String>,
    service_account: Option<&str>,
    cluster: &str,
) -> LabelSet {
    let mut labels: LabelSet = own.into_iter().map(|(k, v)| parse_label(k, v)).collect();
    labels.insert(Label::k8s(POD_NAMESPACE_KEY, namespace));
    for (k, v) in namespace_labels {
        labels.insert(Label::k8s(format!("{NAMESPACE_LABELS_PREFIX}{k}"), v));
    }
    labels.insert(Label::k8s(
        SERVICE_ACCOUNT_KEY,
        service_account.unwrap_or("default"),
    ));
    labels.insert(Label::k8s(CLUSTER_KEY, cluster));
    DEFAULT_FILTER.apply(&labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn pods_differing_only_in_filtered_labels_share_an_identity() {
        let ns = labels(&[("kubernetes.io/metadata.name", "x")]);
        let one = identity_labels(
            &labels(&[("app", "web"), ("pod-template-hash", "5d8f7c9b6")]),
            "x",
            &ns,
            None,
            "default",
        );
        let two = identity_labels(
            &labels(&[("app", "web"), ("pod-template-hash", "7f9c6d5b4")]),
            "x",
            &ns,
            None,
            "default",
        );
        assert_eq!(one, two);
        let ids = allocate_endpoint_identities(&[one.clone(), two].into_iter().collect());
        assert_eq!(ids.len(), 1, "one identity for both pods");
        // The namespace's own labels and the implicit ones stay.
        assert!(one
            .to_string()
            .contains("io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name"));
        assert!(one.to_string().contains("io.kubernetes.pod.namespace"));
        assert!(!one.to_string().contains("pod-template-hash"));
    }
}
