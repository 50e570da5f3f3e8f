//! Seeded random policy sets for differential and report tests: an inventory (namespaces,
//! nodes, endpoints with named ports, dual-stack addresses) and IR rules over it (selectors,
//! entities, CIDRs with excepts, ports, ranges, named ports, ICMP, denies, L3-only rules,
//! `enableDefaultDeny: false`), plus a synthetic multi-tenant set for the build report.

mod added_endpoint;
pub mod corpus_inventory;
mod multi_tenant;
pub mod probes;
mod rng;
mod rules;
pub mod scale;
mod world;

pub use added_endpoint::AddedEndpoints;
pub use multi_tenant::multi_tenant;
pub use rng::Rng;
pub use rules::rules;
pub use world::inventory;

use policyc_frontend::inventory::Inventory;
use policyc_ir::universe::{Universe, UniverseError, UniverseOptions};
use policyc_ir::PolicyRule;

/// One generated policy set.
#[derive(Debug, Clone)]
pub struct GeneratedSet {
    pub seed: u64,
    pub inventory: Inventory,
    pub rules: Vec<PolicyRule>,
    pub options: UniverseOptions,
}

impl GeneratedSet {
    /// The universe of this set (identities for endpoints and every CIDR the rules mention).
    pub fn universe(&self) -> Result<Universe, UniverseError> {
        policyc_frontend::identity::build_universe(&self.inventory, &self.rules, self.options)
    }
}

/// The policy set of one seed: 4–9 endpoints, 3–14 rules.
pub fn generate(seed: u64) -> GeneratedSet {
    let mut rng = Rng::new(seed);
    let endpoints = rng.range(4, 9) as usize;
    let inventory = inventory(&mut rng, endpoints);
    let count = rng.range(3, 14) as usize;
    let rules = rules(&mut rng, count);
    GeneratedSet {
        seed,
        inventory,
        rules,
        options: UniverseOptions::default(),
    }
}
