//! The selector cache: which identities each rule's peers match (the oracle's `peer_matches`
//! answering `Yes`), as identity bitsets. Each distinct peer and each distinct peer set is
//! evaluated once for the whole rule table, whatever the number of endpoints and rules that
//! repeat it.

use super::identity_index::IdentityIndex;
use crate::fast_hash::FxHashMap;
use fixedbitset::FixedBitSet;
use policyc_ir::oracle::cidr_matches;
use policyc_ir::{Peer, PeerSet, PolicyRule};
use std::sync::Arc;

/// Rule position → the identities its peers match (rules with equal peers share one set).
pub struct SelectorCache {
    of_rule: Vec<Arc<FixedBitSet>>,
}

impl SelectorCache {
    pub fn new(index: &IdentityIndex<'_>, rules: &[PolicyRule], cluster: &str) -> Self {
        Self::reusing(index, rules, cluster, |_| None)
    }

    /// Like [`Self::new`], taking the set of the rule at a position from `known` when it has
    /// one (already valid for `index`) instead of evaluating the rule's peers.
    pub fn reusing(
        index: &IdentityIndex<'_>,
        rules: &[PolicyRule],
        cluster: &str,
        known: impl Fn(usize) -> Option<Arc<FixedBitSet>>,
    ) -> Self {
        let mut peers: FxHashMap<&Peer, FixedBitSet> = FxHashMap::default();
        let mut sets: FxHashMap<&PeerSet, Arc<FixedBitSet>> = FxHashMap::default();
        let mut of_rule = Vec::with_capacity(rules.len());
        for (position, rule) in rules.iter().enumerate() {
            let set = match sets.get(&rule.peers) {
                Some(set) => set.clone(),
                None => {
                    let set = known(position).unwrap_or_else(|| {
                        Arc::new(peer_set_matches(index, &rule.peers, cluster, &mut peers))
                    });
                    sets.insert(&rule.peers, set.clone());
                    set
                }
            };
            of_rule.push(set);
        }
        Self { of_rule }
    }

    /// The identities the peers of the rule at `position` match.
    pub fn matched(&self, position: usize) -> &FixedBitSet {
        &self.of_rule[position]
    }

    /// The same set, shared (to keep it for a later resolution).
    pub fn shared(&self, position: usize) -> Arc<FixedBitSet> {
        self.of_rule[position].clone()
    }
}

fn peer_set_matches<'r>(
    index: &IdentityIndex<'_>,
    peers: &'r PeerSet,
    cluster: &str,
    cache: &mut FxHashMap<&'r Peer, FixedBitSet>,
) -> FixedBitSet {
    let peers = match peers {
        PeerSet::All => return index.all(),
        PeerSet::Some(peers) => peers,
    };
    let mut set = FixedBitSet::with_capacity(index.len());
    for peer in peers {
        let matched = cache
            .entry(peer)
            .or_insert_with(|| peer_matches(index, peer, cluster));
        set.union_with(matched);
    }
    set
}

/// One peer, as the oracle's `single_peer_matches`.
fn peer_matches(index: &IdentityIndex<'_>, peer: &Peer, cluster: &str) -> FixedBitSet {
    let mut set = FixedBitSet::with_capacity(index.len());
    match peer {
        Peer::Endpoints(selector) => set = index.select(selector),
        Peer::Entity(entity) => {
            for selector in entity.selectors(cluster) {
                set.union_with(&index.select(&selector));
            }
        }
        Peer::Cidr { prefix, except } => {
            for position in index.cidr_like() {
                if cidr_matches(prefix, except, &index.party(*position).identity.kind) {
                    set.insert(*position);
                }
            }
        }
        Peer::Nodes(selector) => {
            for position in index.with_node() {
                let labels = index.party(*position).node_labels(cluster);
                if labels.is_some_and(|l| selector.matches(&l)) {
                    set.insert(*position);
                }
            }
        }
        // toFQDNs match only through a learned address (`PeerMatch::ViaFqdn`), never `Yes`.
        Peer::Fqdn(_) | Peer::Unresolved { .. } => {}
    }
    set
}
