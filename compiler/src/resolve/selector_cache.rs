//! The selector cache: which identities each rule's peers match (the oracle's `peer_matches`
//! answering `Yes`), as identity bitsets. Each distinct peer and each distinct peer set is
//! evaluated once for the whole rule table, whatever the number of endpoints and rules that
//! repeat it.

use super::identity_index::IdentityIndex;
use fixedbitset::FixedBitSet;
use policyc_ir::oracle::cidr_matches;
use policyc_ir::{Peer, PeerSet, PolicyRule};
use std::collections::HashMap;

/// Rule position → the identities its peers match.
pub struct SelectorCache {
    /// Distinct peer sets' matches.
    sets: Vec<FixedBitSet>,
    /// Rule position (in the rule table) → index into `sets`.
    of_rule: Vec<usize>,
}

impl SelectorCache {
    pub fn new(index: &IdentityIndex<'_>, rules: &[PolicyRule], cluster: &str) -> Self {
        let mut peers: HashMap<&Peer, FixedBitSet> = HashMap::new();
        let mut set_index: HashMap<&PeerSet, usize> = HashMap::new();
        let mut sets = Vec::new();
        let mut of_rule = Vec::with_capacity(rules.len());
        for rule in rules {
            let next = sets.len();
            let slot = *set_index.entry(&rule.peers).or_insert(next);
            if slot == next {
                sets.push(peer_set_matches(index, &rule.peers, cluster, &mut peers));
            }
            of_rule.push(slot);
        }
        Self { sets, of_rule }
    }

    /// The identities the peers of the rule at `position` match.
    pub fn matched(&self, position: usize) -> &FixedBitSet {
        &self.sets[self.of_rule[position]]
    }
}

fn peer_set_matches<'r>(
    index: &IdentityIndex<'_>,
    peers: &'r PeerSet,
    cluster: &str,
    cache: &mut HashMap<&'r Peer, FixedBitSet>,
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
