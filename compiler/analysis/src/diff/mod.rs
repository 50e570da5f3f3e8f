//! `policyc diff`: what a policy change opens and closes. Both sides are resolved over the same
//! identities (exact port functions from [`policyc_compile::resolve`], plus toFQDNs peers through the
//! oracle), compared interval by interval, grouped into readable rows with the rules behind the
//! old and the new verdict, with risk callouts first; rendered as markdown (PR comment), JSON
//! (schema in [`model`]) or text.
//!
//! Entry points: [`diff_loaded`] (two loaded sides + inventories → report) and
//! [`semantic_diff`] (two rule sets → report without file information).

pub mod delta;
pub mod fqdn;
pub mod group;
pub mod model;
pub mod peers;
pub mod render_json;
pub mod render_markdown;
pub mod render_text;
pub mod revision;
pub mod risk;
pub mod shared_resolution;
pub mod verdict;

pub use model::{ChangeRow, DiffReport, Effect, Risk, RiskKind, SCHEMA_VERSION};
pub use revision::{load_side, lower_texts, LoadedPolicies, PolicySource, RevisionError};

use delta::{DeltaSet, Side};
use group::{Naming, MAX_NAMES};
use model::{EndpointChanges, FileChanges, Summary};
use policyc_compile::resolve::ResolveError;
use policyc_diagnostics::Finding;
use policyc_frontend::identity::build_universe;
use policyc_frontend::inventory::Inventory;
use policyc_ir::universe::{UniverseError, UniverseOptions};
use policyc_ir::PolicyRule;
use shared_resolution::resolve_shared;
use std::collections::BTreeSet;

#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    /// A side has files that were not read (YAML errors, unreadable files...): diffing it would
    /// show their policies as removed.
    #[error("the {} policies do not load", .sides.iter().map(|(s, _)| *s).collect::<Vec<_>>().join(" and "))]
    NotLoaded {
        sides: Vec<(&'static str, Vec<Finding>)>,
    },
    #[error("cannot build the {side} universe: {source}")]
    Universe {
        side: &'static str,
        source: UniverseError,
    },
    #[error("cannot resolve the {side} policies: {source}")]
    Resolve {
        side: &'static str,
        source: ResolveError,
    },
}

/// One side of a comparison: its rules and the inventory they apply to.
#[derive(Debug, Clone, Copy)]
pub struct DiffSide<'a> {
    pub rules: &'a [PolicyRule],
    pub inventory: &'a Inventory,
}

/// Compares two rule sets. Both are evaluated over identities allocated for the prefixes of
/// both sets, so CIDR peers line up; when the inventories differ, the base rules are also
/// evaluated over the head inventory to tell label-driven changes from policy-driven ones.
pub fn semantic_diff(
    base: DiffSide<'_>,
    head: DiffSide<'_>,
    options: UniverseOptions,
) -> Result<DiffReport, DiffError> {
    let all: Vec<PolicyRule> = base.rules.iter().chain(head.rules).cloned().collect();
    let universe = |inventory: &Inventory, side: &'static str| {
        build_universe(inventory, &all, options)
            .map_err(|source| DiffError::Universe { side, source })
    };
    let base_universe = universe(base.inventory, "base")?;
    let head_universe = universe(head.inventory, "head")?;
    let same_inventory = base_universe == head_universe;
    let resolved = |u, rules, side| {
        resolve_shared(u, rules).map_err(|source| DiffError::Resolve { side, source })
    };
    let base_resolved = resolved(&base_universe, base.rules, "base")?;
    let head_resolved = resolved(&head_universe, head.rules, "head")?;
    let mixed_resolved = if same_inventory {
        None
    } else {
        Some(resolved(&head_universe, base.rules, "base")?)
    };

    let base_side = Side::new(&base_universe, base.rules, &base_resolved);
    let head_side = Side::new(&head_universe, head.rules, &head_resolved);
    let mixed_side = mixed_resolved
        .as_ref()
        .map(|r| Side::new(&head_universe, base.rules, r));

    let mut deltas = DeltaSet::default();
    delta::identity_deltas(&base_side, &head_side, mixed_side.as_ref(), &mut deltas);
    fqdn::fqdn_deltas(&base_side, &head_side, &mut deltas);
    let naming = Naming {
        base_index: &base_side.index,
        head_index: &head_side.index,
        universes: [&head_universe, &base_universe],
    };
    let changes = group::rows(&deltas, &naming);

    let mut risks = risk::row_risks(&changes, MAX_NAMES);
    risks.extend(risk::default_deny_disabled(
        &base_side, &head_side, MAX_NAMES,
    ));
    risks.extend(risk::removed_denies(base.rules, head.rules));
    risks.sort();
    risks.dedup();

    let keys = |u: &policyc_ir::universe::Universe| -> BTreeSet<String> {
        u.endpoints().iter().map(|e| e.key.to_string()).collect()
    };
    let (bk, hk) = (keys(&base_universe), keys(&head_universe));
    let endpoints = EndpointChanges {
        added: hk.difference(&bk).cloned().collect(),
        removed: bk.difference(&hk).cloned().collect(),
    };
    let affected: BTreeSet<&String> = changes.iter().flat_map(|r| r.endpoints.iter()).collect();
    let count = |e: Effect| changes.iter().filter(|r| r.effect == e).count();
    let summary = Summary {
        opened: count(Effect::Opened),
        closed: count(Effect::Closed),
        changed: count(Effect::Changed),
        endpoints_affected: affected.len(),
        rows: changes.len(),
        files_changed: 0,
    };
    Ok(DiffReport {
        version: SCHEMA_VERSION,
        semantic_change: !changes.is_empty(),
        summary,
        endpoints,
        risks,
        changes,
        ..DiffReport::default()
    })
}

/// Compares two loaded sides: the semantic diff plus which files changed and which objects
/// were ignored as invalid. A side with files that did not load is an error
/// ([`DiffError::NotLoaded`]): never a diff that shows their policies as removed.
pub fn diff_loaded(
    base: &LoadedPolicies,
    head: &LoadedPolicies,
    base_inventory: &Inventory,
    head_inventory: &Inventory,
    options: UniverseOptions,
) -> Result<DiffReport, DiffError> {
    let sides: Vec<(&'static str, Vec<Finding>)> = [("base", base), ("head", head)]
        .into_iter()
        .map(|(name, side)| (name, side.set.load_errors()))
        .filter(|(_, errors)| !errors.is_empty())
        .collect();
    if !sides.is_empty() {
        return Err(DiffError::NotLoaded { sides });
    }
    let mut report = semantic_diff(
        DiffSide {
            rules: &base.set.rules,
            inventory: base_inventory,
        },
        DiffSide {
            rules: &head.set.rules,
            inventory: head_inventory,
        },
        options,
    )?;
    report.base = base.label.clone();
    report.head = head.label.clone();
    report.files = file_changes(base, head);
    report.summary.files_changed = report.files.count();
    for (name, side) in [("base", base), ("head", head)] {
        let invalid: Vec<String> = side
            .set
            .objects
            .iter()
            .filter(|o| !o.valid)
            .map(|o| o.qualified_name())
            .collect();
        if !invalid.is_empty() {
            report.warnings.push(format!(
                "{name}: {} invalid policy object(s) ignored, as Cilium would reject them: {} (run `policyc lint`)",
                invalid.len(),
                invalid.join(", ")
            ));
        }
    }
    Ok(report)
}

fn file_changes(base: &LoadedPolicies, head: &LoadedPolicies) -> FileChanges {
    let mut files = FileChanges::default();
    for (name, text) in &head.texts {
        match base.texts.get(name) {
            None => files.added.push(name.clone()),
            Some(old) if old != text => files.modified.push(name.clone()),
            Some(_) => {}
        }
    }
    files.removed = base
        .texts
        .keys()
        .filter(|n| !head.texts.contains_key(*n))
        .cloned()
        .collect();
    files
}

#[cfg(test)]
mod tests;
