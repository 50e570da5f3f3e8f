//! One identity added to a resolved endpoint, in place: when the new identity's match signature
//! (which selected rules' peers match it, in each direction) is one an existing peer group
//! already has, it joins that group and nothing else of the resolution changes — the group's
//! functions, the unknown peer's and the FQDN pseudo-groups' depend on the signatures present,
//! not on how many identities carry them. A signature no group has yet means new functions:
//! [`add_identity`] says so and the caller resolves anew.
//!
//! The signature is asked of the oracle's `peer_matches` (as the selector cache does for the
//! whole universe), once per distinct peer set of the selected rules that a label index says
//! the identity can match at all.

use super::model::{DirectionContext, PortEvaluation, ResolveError, ResolvedEndpoint};
use crate::fast_hash::FxHashMap;
use policyc_ir::oracle::{peer_matches, Party, PeerMatch};
use policyc_ir::selector::{Operator, Requirement};
use policyc_ir::universe::Universe;
use policyc_ir::{
    Direction, LabelSet, NumericIdentity, Peer, PeerSet, PolicyRule, ReservedIdentity, RuleId,
};
use std::collections::HashMap;

/// The groups (index into `groups` of ingress, egress) a new identity joined.
pub type JoinedGroups = [usize; 2];

/// The selected rules of a resolved endpoint's two directions by distinct peer set, so that
/// a new identity is matched once per distinct peer set rather than once per rule.
#[derive(Debug, Clone, Default)]
pub struct SelectedPeers {
    /// Per direction (ingress, egress).
    directions: [DirectionPeers; 2],
    /// Distinct peer sets of both directions: the rule-table position of one rule with it.
    peer_sets: Vec<usize>,
    /// Which peer sets a new identity can match at all, by its labels.
    candidates: CandidateIndex,
}

/// A label index over the peer sets, the reverse of the selector cache's: an endpoint
/// selector with an `In` requirement can only match labels carrying that requirement's key
/// with one of its values, so the peer set is listed under those (key, value) pairs; a set
/// with any other kind of peer (entities, CIDRs, nodes, the wildcard, selectors without an
/// `In` requirement) is a candidate for every identity. Only candidates are asked of
/// `peer_matches`.
#[derive(Debug, Clone, Default)]
struct CandidateIndex {
    /// label key → value → peer sets (indices into `peer_sets`).
    by_label: HashMap<String, HashMap<String, Vec<usize>>>,
    always: Vec<usize>,
}

impl CandidateIndex {
    fn add(&mut self, set: usize, peers: &PeerSet) {
        let PeerSet::Some(peers) = peers else {
            self.always.push(set);
            return;
        };
        let mut keyed: Vec<&Requirement> = Vec::with_capacity(peers.len());
        for peer in peers {
            let requirement = match peer {
                Peer::Endpoints(selector) => {
                    selector.requirements().find(|r| r.operator == Operator::In)
                }
                _ => None,
            };
            match requirement {
                Some(r) => keyed.push(r),
                None => {
                    self.always.push(set);
                    return;
                }
            }
        }
        for r in keyed {
            let values = self.by_label.entry(r.key.key.clone()).or_default();
            for value in &r.values {
                values.entry(value.clone()).or_default().push(set);
            }
        }
    }

    /// Per peer set: can an identity with `labels` match it?
    fn of(&self, labels: &LabelSet, sets: usize) -> Vec<bool> {
        let mut out = vec![false; sets];
        for set in &self.always {
            out[*set] = true;
        }
        for (_, key, value) in labels.entries() {
            let listed = self.by_label.get(key).and_then(|values| values.get(value));
            for set in listed.into_iter().flatten() {
                out[*set] = true;
            }
        }
        out
    }
}

#[derive(Debug, Clone, Default)]
struct DirectionPeers {
    /// The selected rules' ids, in order.
    selected: Vec<RuleId>,
    /// Their positions in the rule table.
    positions: Vec<usize>,
    /// Per distinct peer set of the direction: its index into `SelectedPeers::peer_sets`, and
    /// the indices (into `selected`) of every rule with it.
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
        let mut distinct: FxHashMap<&PeerSet, usize> = FxHashMap::default();
        for (slot, direction) in [Direction::Ingress, Direction::Egress]
            .into_iter()
            .enumerate()
        {
            let selected = &resolved.direction(direction).selected_rules;
            let mut by_peers: HashMap<usize, usize> = HashMap::new();
            let mut sets: Vec<(usize, Vec<usize>)> = Vec::new();
            let mut own = Vec::with_capacity(selected.len());
            for (index, id) in selected.iter().enumerate() {
                let position = *positions.get(id)?;
                let rule = rules.get(position)?;
                own.push(position);
                let next_distinct = out.peer_sets.len();
                let peer_set = *distinct.entry(&rule.peers).or_insert(next_distinct);
                if peer_set == next_distinct {
                    out.peer_sets.push(position);
                    out.candidates.add(peer_set, &rule.peers);
                }
                let next = sets.len();
                let set = *by_peers.entry(peer_set).or_insert(next);
                if set == next {
                    sets.push((peer_set, Vec::new()));
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
    // Each distinct peer set of both directions is matched at most once, and only when the
    // label index says the identity can match it.
    let candidate = peers
        .candidates
        .of(&party.identity.labels, peers.peer_sets.len());
    let mut matched: Vec<Option<bool>> = vec![None; peers.peer_sets.len()];
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
        for (peer_set, members) in sets {
            let Some(rule) = peers.peer_sets.get(*peer_set).and_then(|p| rules.get(*p)) else {
                return Ok(None);
            };
            let is_match = match matched[*peer_set] {
                Some(known) => known,
                None => {
                    let m = candidate[*peer_set]
                        && matches!(peer_matches(rule, &party, cluster), PeerMatch::Yes);
                    matched[*peer_set] = Some(m);
                    m
                }
            };
            if is_match {
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

#[cfg(test)]
mod tests {
    use super::*;
    use policyc_ir::labels::{Label, LabelKey, LabelSource};
    use policyc_ir::{EndpointSelector, Entity};

    fn selects(key: &str, value: &str) -> Peer {
        Peer::Endpoints(EndpointSelector::from_requirements([
            Requirement::equals(LabelKey::new(LabelSource::K8s, key), value),
            Requirement::exists(LabelKey::new(LabelSource::Any, "tier")),
        ]))
    }

    fn index(sets: &[PeerSet]) -> CandidateIndex {
        let mut index = CandidateIndex::default();
        for (n, set) in sets.iter().enumerate() {
            index.add(n, set);
        }
        index
    }

    #[test]
    fn a_selector_is_a_candidate_only_for_labels_its_in_requirement_names() {
        let sets = [
            PeerSet::Some(vec![selects("app", "web")]),
            PeerSet::Some(vec![selects("app", "db"), selects("team", "x")]),
        ];
        let index = index(&sets);
        let web = LabelSet::new().with(Label::k8s("app", "web"));
        assert_eq!(index.of(&web, sets.len()), vec![true, false]);
        let team = LabelSet::new().with(Label::k8s("team", "x"));
        assert_eq!(index.of(&team, sets.len()), vec![false, true]);
        let other = LabelSet::new().with(Label::k8s("app", "cache"));
        assert_eq!(index.of(&other, sets.len()), vec![false, false]);
    }

    #[test]
    fn peers_the_index_cannot_narrow_are_candidates_for_every_identity() {
        let sets = [
            PeerSet::All,
            PeerSet::Some(vec![selects("app", "web"), Peer::Entity(Entity::World)]),
            PeerSet::Some(vec![Peer::Endpoints(EndpointSelector::from_requirements(
                [Requirement::exists(LabelKey::new(LabelSource::Any, "app"))],
            ))]),
        ];
        let index = index(&sets);
        let none = LabelSet::new();
        assert_eq!(index.of(&none, sets.len()), vec![true, true, true]);
    }
}
