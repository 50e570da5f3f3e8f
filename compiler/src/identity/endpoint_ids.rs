//! Numbers for endpoint label sets, stable across builds and independent of file order.
//!
//! Each label set's number is derived from a hash of its canonical text (FNV-1a, 64 bit) into
//! the cluster-local range 256..65536; collisions are resolved by probing upwards, processing
//! label sets in canonical (sorted) order. Compared with numbering the sorted sets 256, 257, ...,
//! this keeps an endpoint's identity when unrelated label sets are added or removed (which
//! matters for map images and diffs); only a hash collision with a new set (about n/65280 per
//! added set) can move the later set of the colliding pair.

use policyc_ir::{LabelSet, NumericIdentity};
use std::collections::{BTreeMap, BTreeSet};

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

#[cfg(test)]
mod tests {
    use super::*;
    use policyc_ir::Label;

    fn set(app: &str) -> LabelSet {
        LabelSet::new().with(Label::k8s("app", app))
    }

    #[test]
    fn adding_a_label_set_keeps_existing_numbers() {
        let before: BTreeSet<LabelSet> = ["a", "b", "c"].into_iter().map(set).collect();
        let mut after = before.clone();
        after.insert(set("aa"));
        let (x, y) = (
            allocate_endpoint_identities(&before),
            allocate_endpoint_identities(&after),
        );
        for labels in &before {
            assert_eq!(x.get(labels), y.get(labels));
        }
    }

    #[test]
    fn numbers_are_unique_and_in_range() {
        let sets: BTreeSet<LabelSet> = (0..2000).map(|i| set(&i.to_string())).collect();
        let ids = allocate_endpoint_identities(&sets);
        let unique: BTreeSet<_> = ids.values().collect();
        assert_eq!(unique.len(), sets.len());
        assert!(ids.values().all(|id| (FIRST..END).contains(&id.0)));
    }
}
