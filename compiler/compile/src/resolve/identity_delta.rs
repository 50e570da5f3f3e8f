//! One identity added to a resolved endpoint, in place: when the new identity's match signature
//! (which selected rules' peers match it, in each direction) is one an existing peer group
//! already has, it joins that group and nothing else of the resolution changes — the group's
//! functions, the unknown peer's and the FQDN pseudo-groups' depend on the signatures present,
//! not on how many identities carry them. A signature no group has yet means new functions:
//! [`add_identity`] says so and the caller resolves anew.
//!
//! The signature is asked of the oracle's `peer_matches` (as the selector cache does for the
//! whole universe), once per selected rule of the direction.

use super::model::{DirectionContext, PortEvaluation, ResolveError, ResolvedEndpoint};
use policyc_ir::oracle::{peer_matches, Party, PeerMatch};
use policyc_ir::universe::Universe;
use policyc_ir::{Direction, NumericIdentity, PeerSet, PolicyRule, ReservedIdentity, RuleId};
use std::collections::HashMap;

/// The groups (index into `groups` of ingress, egress) a new identity joined.
pub type JoinedGroups = [usize; 2];

/// The selected rules of a resolved endpoint's two directions by distinct peer set, so that
/// a new identity is matched once per distinct peer set rather than once per rule.
#[derive(Debug, Clone, Default)]
pub struct SelectedPeers {
    /// Per direction (ingress, egress).
    directions: [DirectionPeers; 2],
}

#[derive(Debug, Clone, Default)]
struct DirectionPeers {
    /// The selected rules' ids, in order.
    selected: Vec<RuleId>,
    /// Their positions in the rule table.
    positions: Vec<usize>,
    /// Per distinct peer set: the position of one rule with it, and the indices (into
    /// `selected`) of every rule with it.
    sets: Vec<(usize, Vec<usize>)>,
}

impl SelectedPeers {
    /// Indexes the selected rules of `resolved`; `None` when a selected rule is not in `rules`
    /// (`positions`: rule id → position).
    pub fn new(
        resolved: &ResolvedEndpoint,
        rules: &[PolicyRule],
        positions: &HashMap<RuleId, usize>,
    ) -> Option<Self> {
        let mut out = Self::default();
        for (slot, direction) in [Direction::Ingress, Direction::Egress]
            .into_iter()
            .enumerate()
        {
            let selected = &resolved.direction(direction).selected_rules;
            let mut by_peers: HashMap<&PeerSet, usize> = HashMap::new();
            let mut sets: Vec<(usize, Vec<usize>)> = Vec::new();
            let mut own = Vec::with_capacity(selected.len());
            for (index, id) in selected.iter().enumerate() {
                let position = *positions.get(id)?;
                let rule = rules.get(position)?;
                own.push(position);
                let next = sets.len();
                let set = *by_peers.entry(&rule.peers).or_insert(next);
                if set == next {
                    sets.push((position, Vec::new()));
                }
                sets[set].1.push(index);
            }
            out.directions[slot] = DirectionPeers {
                selected: selected.clone(),
                positions: own,
                sets,
            };
        }
        Some(out)
    }
}

/// Adds `identity` (already in `universe`, not yet in `resolved`) to the peer group of its
/// signature in both directions. `Ok(None)`, with `resolved` unchanged, when a direction has no
/// group of that signature (or the identity is the host, whose group is its own). `peers`
/// indexes `resolved`'s selected rules, positions into `rules`.
pub fn add_identity(
    resolved: &mut ResolvedEndpoint,
    universe: &Universe,
    rules: &[PolicyRule],
    peers: &SelectedPeers,
    identity: NumericIdentity,
) -> Result<Option<JoinedGroups>, ResolveError> {
    if identity.0 == ReservedIdentity::Host.number() {
        return Ok(None);
    }
    let party =
        Party::from_identity(universe, identity).map_err(|source| ResolveError::Oracle {
            endpoint: resolved.key.clone(),
            source,
        })?;
    let cluster = universe.cluster();
    let host = NumericIdentity(ReservedIdentity::Host.number());
    let mut joined = [0; 2];
    let mut matching_of: [Vec<&PolicyRule>; 2] = [Vec::new(), Vec::new()];
    for (slot, direction) in [Direction::Ingress, Direction::Egress]
        .into_iter()
        .enumerate()
    {
        let DirectionPeers {
            selected,
            positions,
            sets,
        } = &peers.directions[slot];
        if *selected != resolved.direction(direction).selected_rules {
            return Ok(None);
        }
        let mut matches = vec![false; selected.len()];
        for (position, members) in sets {
            let Some(rule) = rules.get(*position) else {
                return Ok(None);
            };
            if matches!(peer_matches(rule, &party, cluster), PeerMatch::Yes) {
                for index in members {
                    matches[*index] = true;
                }
            }
        }
        let signature: Vec<RuleId> = selected
            .iter()
            .zip(&matches)
            .filter(|(_, m)| **m)
            .map(|(id, _)| *id)
            .collect();
        let group = resolved.direction(direction).groups.iter().position(|g| {
            g.matching_rules == signature
                && g.identities
                    .first()
                    .is_some_and(|first| *first != host && universe.identity(*first).is_some())
        });
        match group {
            Some(group) => joined[slot] = group,
            None => return Ok(None),
        }
        for (position, m) in positions.iter().zip(&matches) {
            if *m {
                let Some(rule) = rules.get(*position) else {
                    return Ok(None);
                };
                matching_of[slot].push(rule);
            }
        }
    }
    for (slot, direction) in [Direction::Ingress, Direction::Egress]
        .into_iter()
        .enumerate()
    {
        let ctx = DirectionContext {
            universe,
            key: &resolved.key,
            direction,
            selected: &[],
            coverage: &[],
            fqdn: None,
            evaluation: PortEvaluation::Algebra,
            memo: None,
            versions: &[],
        };
        for r in &matching_of[slot] {
            if matches!(r.peers, PeerSet::Some(_)) {
                for scope in ctx.cilium_scopes(r) {
                    resolved.cilium.add(Some(identity), direction, scope);
                }
            }
        }
        let groups = match direction {
            Direction::Ingress => &mut resolved.ingress.groups,
            Direction::Egress => &mut resolved.egress.groups,
        };
        if let Some(group) = groups.get_mut(joined[slot]) {
            if let Err(at) = group.identities.binary_search(&identity) {
                group.identities.insert(at, identity);
            }
        }
    }
    Ok(Some(joined))
}
