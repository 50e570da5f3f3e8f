//! Property: incremental resolution equals full resolution. Over random edit sequences on
//! generated policy sets — rules added, replaced and removed, endpoints (and so identities)
//! added with and without named ports — the `IncrementalResolver`'s resolution of every
//! endpoint after every edit is exactly the full `resolve_endpoint` of the same universe and
//! rules, and the reuse actually happens (groups are taken from the memo).

use policyc_compile::resolve::{resolve_endpoint, IncrementalResolver};
use policyc_frontend::identity::build_universe;
use policyc_frontend::inventory::Inventory;
use policyc_ir::{PolicyRule, RuleId};
use policyc_testsuite::gen::{self, Rng};

/// One edit of the sequence.
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
    match rng.below(6) {
        0 | 1 => {
            *next_id += 1;
            Edit::AddRule(fresh(rng, *next_id))
        }
        2 if !rules.is_empty() => {
            let id = rng.pick(rules).id;
            Edit::ReplaceRule(fresh(rng, id.0))
        }
        3 if !rules.is_empty() => Edit::RemoveRule(rng.pick(rules).id),
        4 => Edit::AddEndpoint { named_ports: false },
        _ => Edit::AddEndpoint {
            named_ports: rng.chance(30),
        },
    }
}

/// Added endpoints: 198.18.2.200–249, an identity of their own half of the time.
const ADDED: gen::AddedEndpoints = gen::AddedEndpoints {
    subnet: 2,
    first: 200,
    count: 50,
    own_identity_percent: 50,
};

fn add_endpoint(inventory: &mut Inventory, rng: &mut Rng, named_ports: bool, n: usize) {
    inventory
        .endpoints
        .push(ADDED.endpoint(rng, named_ports, n));
}

/// Runs one edit sequence; returns (resolutions compared, port functions reused).
fn sequence(seed: u64) -> (usize, usize) {
    let set = gen::generate(seed);
    let mut rng = Rng::new(seed ^ 0x1c4e_3e7a);
    let mut inventory = set.inventory.clone();
    let mut rules = set.rules.clone();
    let mut next_id = u32::try_from(rules.len()).unwrap_or(u32::MAX) + 100;
    let universe = build_universe(&inventory, &rules, set.options).expect("universe");
    let mut incremental = IncrementalResolver::new(universe, rules.clone());
    let (mut compared, mut reused) = (0, 0);
    for step in 0..12 {
        let edit = random_edit(&mut rng, &rules, &mut next_id);
        match &edit {
            Edit::AddRule(rule) => {
                rules.push(rule.clone());
                incremental.add_rule(rule.clone());
            }
            Edit::ReplaceRule(rule) => {
                if let Some(slot) = rules.iter_mut().find(|r| r.id == rule.id) {
                    *slot = rule.clone();
                }
                incremental.replace_rule(rule.clone()).expect("known rule");
            }
            Edit::RemoveRule(id) => {
                rules.retain(|r| r.id != *id);
                incremental.remove_rule(*id).expect("known rule");
            }
            Edit::AddEndpoint { named_ports } => {
                add_endpoint(&mut inventory, &mut rng, *named_ports, step);
            }
        }
        // The universe follows the rules too (CIDR identities of the rules' prefixes).
        let universe = build_universe(&inventory, &rules, set.options).expect("universe");
        incremental
            .set_universe(universe.clone())
            .expect("set universe");
        for endpoint in universe.endpoints() {
            let full = resolve_endpoint(&universe, &rules, &endpoint.key).expect("full");
            let fast = incremental
                .resolve_endpoint(&endpoint.key)
                .expect("incremental");
            assert_eq!(
                (&fast.ingress, &fast.egress),
                (&full.ingress, &full.egress),
                "seed {seed} step {step} after {edit:?}: {}",
                endpoint.key
            );
            assert_eq!(format!("{:?}", fast.cilium), format!("{:?}", full.cilium));
            compared += 1;
            reused += incremental.memo_stats().0;
        }
    }
    (compared, reused)
}

#[test]
fn incremental_resolution_equals_full_over_random_edits() {
    let (mut compared, mut reused) = (0, 0);
    for seed in 0..40 {
        let (c, r) = sequence(seed);
        compared += c;
        reused += r;
    }
    eprintln!("{compared} resolutions compared, {reused} port functions reused");
    assert!(compared > 2000, "only {compared} resolutions compared");
    assert!(
        reused > compared,
        "the memo is barely used: {reused} reuses"
    );
}
