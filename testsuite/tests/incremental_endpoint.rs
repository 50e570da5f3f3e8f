//! Property: an endpoint kept compiled across edits (`IncrementalEndpoint`) is exactly a full
//! compile of the edited inputs. Over random edit sequences on generated policy sets — rules
//! added, replaced and removed, endpoints (new identities or shared ones, with and without
//! named ports) added — after every edit the incremental state's resolution, map images,
//! `.rodata` config and ipcache image equal those of `IncrementalEndpoint::new` on the same
//! universe and rules, byte for byte; and one more identity is usually applied in place.

use policyc_compile::incremental::{IncrementalEndpoint, UpdatePath};
use policyc_frontend::identity::build_universe;
use policyc_frontend::inventory::{Inventory, InventoryEndpoint};
use policyc_ir::{PolicyRule, RuleId};
use policyc_testsuite::gen::{self, Rng};
use proptest::prelude::*;

#[derive(Debug)]
enum Edit {
    AddRule(PolicyRule),
    ReplaceRule(PolicyRule),
    RemoveRule(RuleId),
    AddEndpoint { named_ports: bool },
}

fn random_edit(rng: &mut Rng, rules: &[PolicyRule], next_id: &mut u32) -> Edit {
    let fresh = |rng: &mut Rng, id: u32| {
        let mut rule = gen::rules(rng, 1).remove(0);
        rule.id = RuleId(id);
        rule
    };
    match rng.below(8) {
        0 => {
            *next_id += 1;
            Edit::AddRule(fresh(rng, *next_id))
        }
        1 if !rules.is_empty() => {
            let id = rng.pick(rules).id;
            Edit::ReplaceRule(fresh(rng, id.0))
        }
        2 if !rules.is_empty() => Edit::RemoveRule(rng.pick(rules).id),
        3 => Edit::AddEndpoint {
            named_ports: rng.chance(30),
        },
        _ => Edit::AddEndpoint { named_ports: false },
    }
}

/// Added endpoints: 198.18.3.100–249, an identity of their own 60% of the time.
const ADDED: gen::AddedEndpoints = gen::AddedEndpoints {
    subnet: 3,
    first: 100,
    count: 150,
    own_identity_percent: 60,
};

fn new_endpoint(rng: &mut Rng, named_ports: bool, n: usize) -> InventoryEndpoint {
    ADDED.endpoint(rng, named_ports, n)
}

/// Runs one edit sequence for one endpoint of a generated set; returns the identities added
/// in place and all identities added.
fn sequence(seed: u64, edits: usize) -> (usize, usize) {
    let set = gen::generate(seed);
    let mut rng = Rng::new(seed ^ 0x51ed_1c0d);
    let mut inventory: Inventory = set.inventory.clone();
    let mut rules = set.rules.clone();
    let mut next_id = u32::try_from(rules.len()).unwrap_or(u32::MAX) + 100;
    let universe = build_universe(&inventory, &rules, set.options).expect("universe");
    let Some(target) = universe.endpoints().first().map(|e| e.key.clone()) else {
        return (0, 0);
    };
    let mut state =
        IncrementalEndpoint::new(universe, rules.clone(), target.clone(), 1).expect("incremental");
    let (mut in_place, mut added) = (0, 0);
    for step in 0..edits {
        let edit = random_edit(&mut rng, &rules, &mut next_id);
        let path = match &edit {
            Edit::AddRule(rule) => {
                rules.push(rule.clone());
                state.add_rule(rule.clone()).expect("add rule")
            }
            Edit::ReplaceRule(rule) => {
                if let Some(slot) = rules.iter_mut().find(|r| r.id == rule.id) {
                    *slot = rule.clone();
                }
                state.replace_rule(rule.clone()).expect("replace rule")
            }
            Edit::RemoveRule(id) => {
                rules.retain(|r| r.id != *id);
                state.remove_rule(*id).expect("remove rule")
            }
            Edit::AddEndpoint { named_ports } => {
                let endpoint = new_endpoint(&mut rng, *named_ports, step);
                inventory.endpoints.push(endpoint.clone());
                added += 1;
                state
                    .add_endpoint(&inventory, &endpoint)
                    .expect("add endpoint")
            }
        };
        in_place += usize::from(path == UpdatePath::InPlace);
        let universe = build_universe(&inventory, &rules, set.options).expect("universe");
        assert_eq!(
            state.universe(),
            &universe,
            "seed {seed} step {step} after {edit:?}: universe"
        );
        let full =
            IncrementalEndpoint::new(universe, rules.clone(), target.clone(), 1).expect("full");
        let (fast, slow) = (state.resolved(), full.resolved());
        assert_eq!(
            (&fast.ingress, &fast.egress),
            (&slow.ingress, &slow.egress),
            "seed {seed} step {step} after {edit:?} ({path:?}): resolution"
        );
        assert_eq!(
            format!("{:?}", fast.cilium),
            format!("{:?}", slow.cilium),
            "seed {seed} step {step}: Cilium keys"
        );
        assert_eq!(
            state.optimized().tables,
            full.optimized().tables,
            "seed {seed} step {step} after {edit:?} ({path:?}): tables"
        );
        for direction in [
            policyc_ir::Direction::Ingress,
            policyc_ir::Direction::Egress,
        ] {
            let (fast, slow) = (
                state.optimized().layout(direction),
                full.optimized().layout(direction),
            );
            assert_eq!(
                (
                    fast.cost,
                    fast.unknown_class,
                    &fast.keying,
                    fast.entries_with_class_zero_unknown
                ),
                (
                    slow.cost,
                    slow.unknown_class,
                    &slow.keying,
                    slow.entries_with_class_zero_unknown
                ),
                "seed {seed} step {step} after {edit:?} ({path:?}): {direction:?} layout"
            );
            assert_eq!(
                state.optimized().classes(direction),
                full.optimized().classes(direction),
                "seed {seed} step {step} after {edit:?} ({path:?}): {direction:?} classes"
            );
        }
        assert_eq!(
            state.images(),
            full.images(),
            "seed {seed} step {step} after {edit:?} ({path:?}): images"
        );
        assert_eq!(
            state.ipcache_image(),
            full.ipcache_image(),
            "seed {seed} step {step} after {edit:?}: ipcache"
        );
    }
    (in_place, added)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn incremental_endpoint_equals_a_full_compile_over_random_edits(
        seed in any::<u64>(),
        edits in 1usize..10,
    ) {
        sequence(seed, edits);
    }
}

#[test]
fn most_new_identities_are_added_in_place() {
    let (mut in_place, mut added) = (0, 0);
    for seed in 0..30 {
        let (i, a) = sequence(seed, 8);
        in_place += i;
        added += a;
    }
    eprintln!("{in_place} of {added} added endpoints applied in place");
    assert!(added > 50, "only {added} endpoints added");
    assert!(
        in_place * 2 > added,
        "only {in_place} of {added} added endpoints applied in place"
    );
}
