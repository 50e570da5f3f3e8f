//! Numbers for endpoint label sets, stable across builds and independent of file order (the
//! implementation lives in `policyc_ir::endpoint_identity`, shared with the loader).

pub use policyc_ir::endpoint_identity::allocate_endpoint_identities;

#[cfg(test)]
mod tests {
    use super::*;
    use policyc_ir::{LabelSet, NumericIdentity};
    use std::collections::BTreeSet;

    const FIRST: u32 = NumericIdentity::FIRST_ENDPOINT;
    const END: u32 = 1 << 16;
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
