//! Loading the policies a FlowTests document or `explain` names, through the frontend.

use policyc_diagnostics::source::SourceMap;
use policyc_diagnostics::Finding;
use policyc_ir::PolicyRule;
use std::path::PathBuf;

/// The lowered rules of every policy under `paths` (cluster scoping and Secrets from
/// `options`, see `FrontendOptions::for_inventory`), and the frontend's findings.
pub fn load_rules(
    paths: &[PathBuf],
    options: &policyc_frontend::FrontendOptions,
    sources: &mut SourceMap,
) -> (Vec<PolicyRule>, Vec<Finding>) {
    let set = policyc_frontend::load_policies(paths, options, sources);
    (set.rules, set.findings)
}
