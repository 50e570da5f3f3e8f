//! Resolution shared between endpoints that policy cannot tell apart: an endpoint's verdicts
//! depend on it only through its identity (selectors see labels) and its named ports (ingress
//! `toPorts` by name), so one endpoint per (identity, named ports) is resolved and the result is
//! reused for the others.

use policyc_compile::resolve::{PolicyIndex, ResolveError, ResolvedEndpoint, ResolvedPolicy};
use policyc_ir::universe::{EndpointKey, NamedPort, Universe};
use policyc_ir::{NumericIdentity, PolicyRule};
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap};

/// Same result as [`policyc_compile::resolve::resolve`], resolving each class of endpoints once.
pub fn resolve_shared(
    universe: &Universe,
    rules: &[PolicyRule],
) -> Result<ResolvedPolicy, ResolveError> {
    let mut representatives: BTreeMap<
        (NumericIdentity, &BTreeMap<String, NamedPort>),
        &EndpointKey,
    > = BTreeMap::new();
    for ep in universe.endpoints() {
        representatives
            .entry((ep.identity, &ep.named_ports))
            .or_insert(&ep.key);
    }
    // One index shared by every representative (built per endpoint, it is rebuilt N times).
    let index = PolicyIndex::new(universe, rules)?;
    let resolved: Vec<ResolvedEndpoint> = representatives
        .values()
        .collect::<Vec<_>>()
        .par_iter()
        .map(|key| index.resolve_endpoint(key))
        .collect::<Result<_, _>>()?;
    let by_key: HashMap<&EndpointKey, &ResolvedEndpoint> =
        resolved.iter().map(|r| (&r.key, r)).collect();
    let mut endpoints = Vec::with_capacity(universe.endpoints().len());
    for ep in universe.endpoints() {
        let Some(rep_key) = representatives.get(&(ep.identity, &ep.named_ports)) else {
            continue;
        };
        let Some(rep) = by_key.get(rep_key) else {
            continue;
        };
        let mut copy = (*rep).clone();
        copy.key = ep.key.clone();
        endpoints.push(copy);
    }
    Ok(ResolvedPolicy { endpoints })
}
