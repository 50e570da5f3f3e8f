//! Incremental resolution across edits: a resolver that owns the universe and the rule table
//! and keeps, between resolutions, the selector cache (each rule's matched identities) and the
//! peer groups' port functions, both keyed by rule *content versions* (a rule keeps its version
//! while it is unchanged). After a rule is added, replaced or removed, only the new peer sets
//! are evaluated and only groups whose rules changed get new functions; after identities are
//! added, the cached sets are renumbered and only the new identities are matched against the
//! rules. The result is always equal to a full [`super::resolve_endpoint`] (the random-edit
//! test in `testsuite/tests/resolver_incremental.rs` checks it).

use super::function_memo::FunctionMemo;
use super::identity_index::IdentityIndex;
use super::model::{PortEvaluation, ResolveError, ResolvedEndpoint};
use super::policy_index::PolicyIndex;
use super::selector_cache::SelectorCache;
use fixedbitset::FixedBitSet;
use policyc_ir::oracle::{peer_matches, PeerMatch};
use policyc_ir::universe::{EndpointKey, Universe};
use policyc_ir::{Identity, NumericIdentity, PolicyRule, RuleId};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// A rule edit that names a rule the table does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rule {0} is not in the rule table")]
pub struct UnknownRule(pub RuleId);

/// The resolver state kept between edits.
#[derive(Clone)]
pub struct IncrementalResolver {
    universe: Universe,
    rules: Vec<PolicyRule>,
    /// Content version of each rule, same order as `rules`.
    versions: Vec<u64>,
    next_version: u64,
    /// Rule version → matched identities, numbered as in `universe`.
    matched: HashMap<u64, Arc<FixedBitSet>>,
    memo: RefCell<FunctionMemo>,
}

impl IncrementalResolver {
    pub fn new(universe: Universe, rules: Vec<PolicyRule>) -> Self {
        let versions: Vec<u64> = (0..rules.len() as u64).collect();
        Self {
            universe,
            next_version: versions.len() as u64,
            rules,
            versions,
            matched: HashMap::new(),
            memo: RefCell::new(FunctionMemo::keeping_all()),
        }
    }

    pub fn universe(&self) -> &Universe {
        &self.universe
    }

    pub fn rules(&self) -> &[PolicyRule] {
        &self.rules
    }

    /// (port functions reused, computed) since the last edit.
    pub fn memo_stats(&self) -> (usize, usize) {
        self.memo.borrow().stats()
    }

    fn fresh_version(&mut self) -> u64 {
        self.next_version += 1;
        self.next_version - 1
    }

    /// Appends a rule (it gets a new version: its peers and groups are evaluated anew).
    pub fn add_rule(&mut self, rule: PolicyRule) {
        let version = self.fresh_version();
        self.rules.push(rule);
        self.versions.push(version);
        self.memo.borrow_mut().begin();
    }

    /// Replaces the rule with `rule.id` in place.
    pub fn replace_rule(&mut self, rule: PolicyRule) -> Result<(), UnknownRule> {
        let position = self.position(rule.id)?;
        let version = self.fresh_version();
        if let Some(old) = self.versions.get(position) {
            self.matched.remove(old);
        }
        self.rules[position] = rule;
        self.versions[position] = version;
        self.memo.borrow_mut().begin();
        Ok(())
    }

    /// Removes the rule with `id`.
    pub fn remove_rule(&mut self, id: RuleId) -> Result<PolicyRule, UnknownRule> {
        let position = self.position(id)?;
        let version = self.versions.remove(position);
        self.matched.remove(&version);
        self.memo.borrow_mut().begin();
        Ok(self.rules.remove(position))
    }

    fn position(&self, id: RuleId) -> Result<usize, UnknownRule> {
        self.rules
            .iter()
            .position(|r| r.id == id)
            .ok_or(UnknownRule(id))
    }

    /// Replaces the universe (e.g. with one more endpoint and identity). When the old
    /// identities are all still there unchanged, the cached matches are renumbered and only the
    /// new identities are matched; the group functions stay valid unless named ports changed.
    pub fn set_universe(&mut self, universe: Universe) -> Result<(), ResolveError> {
        if !same_named_ports(&self.universe, &universe) {
            self.memo.borrow_mut().clear();
        }
        let old = std::mem::replace(&mut self.universe, universe);
        self.matched = if identities_only_added(&old, &self.universe) {
            self.renumbered(&old)?
        } else {
            HashMap::new()
        };
        self.memo.borrow_mut().begin();
        Ok(())
    }

    /// The cached matches over `self.universe`, from those over `old` (a subset of it).
    fn renumbered(&self, old: &Universe) -> Result<HashMap<u64, Arc<FixedBitSet>>, ResolveError> {
        let index = IdentityIndex::new(&self.universe).map_err(ResolveError::Index)?;
        let new_position: Vec<usize> = old
            .identities()
            .keys()
            .filter_map(|id| index.position(*id))
            .collect();
        let added: Vec<usize> = (0..index.len())
            .filter(|p| old.identity(index.id(*p)).is_none())
            .collect();
        let cluster = self.universe.cluster();
        let by_version: HashMap<u64, &PolicyRule> =
            self.versions.iter().copied().zip(&self.rules).collect();
        let mut out = HashMap::with_capacity(self.matched.len());
        for (version, set) in &self.matched {
            let Some(rule) = by_version.get(version) else {
                continue;
            };
            let mut renumbered = FixedBitSet::with_capacity(index.len());
            for position in set.ones() {
                if let Some(p) = new_position.get(position) {
                    renumbered.insert(*p);
                }
            }
            for position in &added {
                if matches!(
                    peer_matches(rule, index.party(*position), cluster),
                    PeerMatch::Yes
                ) {
                    renumbered.insert(*position);
                }
            }
            out.insert(*version, Arc::new(renumbered));
        }
        Ok(out)
    }

    /// Resolves one endpoint, reusing what the edits since the last resolution left valid.
    pub fn resolve_endpoint(
        &mut self,
        key: &EndpointKey,
    ) -> Result<ResolvedEndpoint, ResolveError> {
        let identities = IdentityIndex::new(&self.universe).map_err(ResolveError::Index)?;
        let selectors = SelectorCache::reusing(
            &identities,
            &self.rules,
            self.universe.cluster(),
            |position| {
                self.versions
                    .get(position)
                    .and_then(|v| self.matched.get(v))
                    .cloned()
            },
        );
        for (position, version) in self.versions.iter().enumerate() {
            self.matched
                .entry(*version)
                .or_insert_with(|| selectors.shared(position));
        }
        let index = PolicyIndex::from_parts(&self.universe, &self.rules, identities, selectors);
        index.resolve_endpoint_memo(
            key,
            PortEvaluation::Algebra,
            Some((&self.memo, &self.versions)),
        )
    }
}

/// Does `new` hold every identity of `old`, unchanged?
fn identities_only_added(old: &Universe, new: &Universe) -> bool {
    old.cluster() == new.cluster()
        && old.options() == new.options()
        && old
            .identities()
            .iter()
            .all(|(id, identity): (&NumericIdentity, &Identity)| {
                new.identity(*id) == Some(identity)
            })
        && old.nodes() == new.nodes()
}

/// Rules' L4 coverage depends on named ports (an endpoint's own on ingress, every endpoint's on
/// egress): unchanged when every endpoint kept its named ports and new ones have none.
fn same_named_ports(old: &Universe, new: &Universe) -> bool {
    let before: BTreeMap<&EndpointKey, _> = old
        .endpoints()
        .iter()
        .map(|e| (&e.key, &e.named_ports))
        .collect();
    let after: BTreeMap<&EndpointKey, _> = new
        .endpoints()
        .iter()
        .map(|e| (&e.key, &e.named_ports))
        .collect();
    before
        .iter()
        .all(|(key, ports)| after.get(key) == Some(ports))
        && after
            .iter()
            .all(|(key, ports)| before.contains_key(key) || ports.is_empty())
}
