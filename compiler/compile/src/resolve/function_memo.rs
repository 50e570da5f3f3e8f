//! Port functions shared between peer groups and kept between resolutions: a group's function
//! on one oracle protocol depends only on the endpoint (named ports), the direction, the
//! precedence flags and the L4 parts, actions, auth modes and ids of the group's rules that
//! cover something on that protocol — so it is keyed by the endpoint, direction, flags,
//! protocol and the *content versions* of those rules (a rule keeps its version while it is
//! unchanged). Groups that differ only in rules of other protocols share one function; an
//! edit leaves the functions of protocols it does not touch valid. Entries not used since the
//! last edit are dropped.

use super::port_function::PortFunction;
use crate::fast_hash::FxHashMap;
use policyc_ir::universe::EndpointKey;
use policyc_ir::Direction;

/// What a group's function on one oracle protocol depends on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MemoKey {
    pub endpoint: EndpointKey,
    pub direction: Direction,
    /// (enforcement disabled, localhost bypass, enforced).
    pub flags: (bool, bool, bool),
    /// Index into `rule_coverage::ORACLE_PROTOCOLS`.
    pub slot: usize,
    /// Content versions of the group's rules covering something on that protocol, in
    /// signature order.
    pub rules: Vec<u64>,
}

/// Memoized group functions: `current` holds what the resolution in progress used.
#[derive(Debug, Default, Clone)]
pub struct FunctionMemo {
    /// Keep every function (incremental use). Otherwise only functions likely shared between
    /// groups are kept: storing a key and a copy of every function (most TCP functions are
    /// one group's own) would double the resolution's memory on large policies.
    keep_all: bool,
    previous: FxHashMap<MemoKey, PortFunction>,
    current: FxHashMap<MemoKey, PortFunction>,
    hits: usize,
    misses: usize,
}

impl FunctionMemo {
    /// A memo that keeps every function (for incremental resolution).
    pub fn keeping_all() -> Self {
        Self {
            keep_all: true,
            ..Self::default()
        }
    }

    /// Starts a resolution: what the last one used becomes reusable, the rest is dropped.
    pub fn begin(&mut self) {
        self.previous = std::mem::take(&mut self.current);
        self.hits = 0;
        self.misses = 0;
    }

    /// Is a function of `members` of a group's `group_rules` rules worth keeping? (Always when
    /// incremental; else when the protocol left out most of the group's rules, which is when
    /// other groups tend to have the same members.)
    pub fn worth_keeping(&self, members: usize, group_rules: usize) -> bool {
        self.keep_all || members * 2 < group_rules
    }

    pub fn get(&mut self, key: &MemoKey) -> Option<&PortFunction> {
        if !self.current.contains_key(key) {
            let (key, value) = self.previous.remove_entry(key)?;
            self.current.insert(key, value);
        }
        self.hits += 1;
        self.current.get(key)
    }

    pub fn insert(&mut self, key: MemoKey, functions: PortFunction) {
        self.misses += 1;
        self.current.insert(key, functions);
    }

    /// Forgets everything (the L4 coverage of rules may have changed).
    pub fn clear(&mut self) {
        self.previous.clear();
        self.current.clear();
    }

    /// (functions reused, functions computed) since the last edit.
    pub fn stats(&self) -> (usize, usize) {
        (self.hits, self.misses)
    }
}
