//! Everything about a rule table that does not depend on the endpoint being resolved, computed
//! once and shared by every endpoint: the identity index, the selector cache (rule → matched
//! identities), the rules indexed by subject, and the node-wide FQDN classes.

use super::function_memo::FunctionMemo;
use super::identity_index::IdentityIndex;
use super::model::{
    DirectionContext, PortEvaluation, ResolveError, ResolvedDirection, ResolvedEndpoint,
};
use super::rule_coverage::RuleCoverage;
use super::selector_cache::SelectorCache;
use crate::dns::FqdnClasses;
use crate::fast_hash::FxHashMap;
use crate::resolve::cilium_encoding::{CiliumEncoding, CiliumPortScope};
use fixedbitset::FixedBitSet;
use policyc_ir::oracle::{subject_selects, FlowPeer, Party};
use policyc_ir::universe::{AllowLocalhost, EndpointKey, Universe};
use policyc_ir::{Direction, NumericIdentity, PolicyRule, ReservedIdentity, Subject};
use std::cell::RefCell;

/// Rules sharing one subject, per direction, in rule-table order.
struct SubjectRules {
    /// A rule with this subject (what `subject_selects` is asked with).
    representative: usize,
    ingress: Vec<usize>,
    egress: Vec<usize>,
}

/// The endpoint-independent part of resolution over one universe and rule table.
pub struct PolicyIndex<'u> {
    universe: &'u Universe,
    rules: &'u [PolicyRule],
    identities: IdentityIndex<'u>,
    selectors: SelectorCache,
    subjects: Vec<SubjectRules>,
    fqdn: Option<FqdnClasses>,
}

impl<'u> PolicyIndex<'u> {
    pub fn new(universe: &'u Universe, rules: &'u [PolicyRule]) -> Result<Self, ResolveError> {
        let identities = IdentityIndex::new(universe).map_err(ResolveError::Index)?;
        let selectors = SelectorCache::new(&identities, rules, universe.cluster());
        Ok(Self::from_parts(universe, rules, identities, selectors))
    }

    /// An index over an identity index and selector cache built by the caller (for `rules`
    /// over `universe`).
    pub fn from_parts(
        universe: &'u Universe,
        rules: &'u [PolicyRule],
        identities: IdentityIndex<'u>,
        selectors: SelectorCache,
    ) -> Self {
        let mut by_subject: FxHashMap<&Subject, usize> = FxHashMap::default();
        let mut subjects: Vec<SubjectRules> = Vec::new();
        for (position, rule) in rules.iter().enumerate() {
            let next = subjects.len();
            let slot = *by_subject.entry(&rule.subject).or_insert(next);
            if slot == next {
                subjects.push(SubjectRules {
                    representative: position,
                    ingress: Vec::new(),
                    egress: Vec::new(),
                });
            }
            match rule.direction {
                Direction::Ingress => subjects[slot].ingress.push(position),
                Direction::Egress => subjects[slot].egress.push(position),
            }
        }
        Self {
            universe,
            rules,
            identities,
            selectors,
            subjects,
            fqdn: FqdnClasses::node_wide(rules).ok(),
        }
    }

    pub fn selectors(&self) -> &SelectorCache {
        &self.selectors
    }

    pub fn resolve_endpoint(&self, key: &EndpointKey) -> Result<ResolvedEndpoint, ResolveError> {
        self.resolve_endpoint_with(key, PortEvaluation::Algebra)
    }

    /// Positions of the rules selecting `subject` in `direction`, in rule-table order.
    fn selected(&self, subject: &Party<'_>, direction: Direction) -> Vec<usize> {
        let cluster = self.universe.cluster();
        let mut selected: Vec<usize> = Vec::new();
        for s in &self.subjects {
            if subject_selects(&self.rules[s.representative], subject, cluster) {
                selected.extend(match direction {
                    Direction::Ingress => &s.ingress,
                    Direction::Egress => &s.egress,
                });
            }
        }
        selected.sort_unstable();
        selected
    }

    pub fn resolve_endpoint_with(
        &self,
        key: &EndpointKey,
        evaluation: PortEvaluation,
    ) -> Result<ResolvedEndpoint, ResolveError> {
        self.resolve_endpoint_memo(key, evaluation, None)
    }

    /// Resolves one endpoint; with `memo`, port functions are looked up by the content
    /// `versions` of their rules (one per rule-table position) before being computed. Without,
    /// a memo of this resolution alone shares functions between groups (keyed by rule-table
    /// positions, which identify rules within one resolution).
    pub(super) fn resolve_endpoint_memo(
        &self,
        key: &EndpointKey,
        evaluation: PortEvaluation,
        memo: Option<(&RefCell<FunctionMemo>, &[u64])>,
    ) -> Result<ResolvedEndpoint, ResolveError> {
        let universe = self.universe;
        let endpoint = universe
            .endpoint(key)
            .ok_or_else(|| ResolveError::UnknownEndpoint(key.clone()))?;
        let subject =
            Party::resolve(universe, &FlowPeer::Endpoint(key.clone())).map_err(|source| {
                ResolveError::Oracle {
                    endpoint: key.clone(),
                    source,
                }
            })?;
        let mut cilium = CiliumEncoding::new();
        let local = RefCell::new(FunctionMemo::default());
        let positions_as_versions: Vec<u64>;
        let (memo, all_versions): (&RefCell<FunctionMemo>, &[u64]) = match memo {
            Some(given) => given,
            None => {
                positions_as_versions = (0..self.rules.len() as u64).collect();
                (&local, &positions_as_versions)
            }
        };
        let mut resolve_dir = |direction| -> Result<ResolvedDirection, ResolveError> {
            let positions = self.selected(&subject, direction);
            let selected: Vec<&PolicyRule> = positions.iter().map(|p| &self.rules[*p]).collect();
            let coverage: Vec<RuleCoverage> = selected
                .iter()
                .map(|r| RuleCoverage::of(r, direction, endpoint, universe))
                .collect();
            let versions: Vec<u64> = positions
                .iter()
                .filter_map(|p| all_versions.get(*p))
                .copied()
                .collect();
            let matched: Vec<&FixedBitSet> = positions
                .iter()
                .map(|p| self.selectors.matched(*p))
                .collect();
            let ctx = DirectionContext {
                universe,
                key,
                direction,
                selected: &selected,
                coverage: &coverage,
                fqdn: self.fqdn.as_ref(),
                evaluation,
                memo: Some(memo),
                versions: &versions,
            };
            ctx.resolve(&self.identities, &matched, &mut cilium)
        };
        let ingress = resolve_dir(Direction::Ingress)?;
        let egress = resolve_dir(Direction::Egress)?;
        if universe.options().allow_localhost == AllowLocalhost::Always && ingress.enforced {
            // Cilium inserts one host allow entry for allow-localhost.
            cilium.add(
                Some(NumericIdentity(ReservedIdentity::Host.number())),
                Direction::Ingress,
                CiliumPortScope::AllProtocols,
            );
        }
        Ok(ResolvedEndpoint {
            key: key.clone(),
            identity: endpoint.identity,
            ingress,
            egress,
            cilium,
        })
    }
}
