//! Node-local CIDR identities (`1 << 24 | n`) for every prefix the rules mention, `except`
//! prefixes included (they carve the ipcache). Default routes are the world identities instead.

use policyc_ir::rule::{Peer, PeerSet};
use policyc_ir::{Identity, NumericIdentity, PolicyRule, Prefix};
use std::collections::BTreeSet;

/// Every CIDR and except prefix of every rule, sorted, without default routes.
pub fn mentioned_prefixes(rules: &[PolicyRule]) -> BTreeSet<Prefix> {
    let mut out = BTreeSet::new();
    for rule in rules {
        let PeerSet::Some(peers) = &rule.peers else {
            continue;
        };
        for peer in peers {
            if let Peer::Cidr { prefix, except } = peer {
                out.insert(*prefix);
                out.extend(except.iter().copied());
            }
        }
    }
    out.retain(|p| !p.is_default_route());
    out
}

/// Identities `16777217, 16777218, ...` in prefix order.
pub fn cidr_identities(prefixes: &BTreeSet<Prefix>) -> Vec<Identity> {
    (1u32..)
        .zip(prefixes)
        .map(|(n, p)| Identity::cidr(NumericIdentity(NumericIdentity::LOCAL_CIDR_SCOPE | n), *p))
        .collect()
}
