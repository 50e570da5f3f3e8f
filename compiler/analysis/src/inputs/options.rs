//! Options that hold for a whole run of FlowTests or explanations.

use policyc_frontend::inventory::InventoryOptions;
use policyc_ir::universe::UniverseOptions;

/// Options that apply to every test of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunOptions {
    pub universe: UniverseOptions,
    pub inventory: InventoryOptions,
}
