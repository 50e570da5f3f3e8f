//! Port functions shared between peer groups and kept between resolutions: a group's function
//! on one oracle protocol depends only on the endpoint (named ports), the direction, the
//! precedence flags and the L4 parts, actions, auth modes and ids of the group's rules that
//! cover something on that protocol — so it is keyed by the endpoint, direction, flags,
//! protocol and the *content versions* of those rules (a rule keeps its version while it is
//! unchanged). Groups that differ only in rules of other protocols share one function; an
//! edit leaves the functions of protocols it does not touch valid. Entries not used since the
//! last edit are dropped.

use super::port_function::PortFunction;
use policyc_ir::universe::EndpointKey;
use policyc_ir::Direction;
use std::collections::HashMap;

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
#[derive(Debug, Default)]
pub struct FunctionMemo {
    previous: HashMap<MemoKey, PortFunction>,
    current: HashMap<MemoKey, PortFunction>,
    hits: usize,
    misses: usize,
}

impl FunctionMemo {
    /// Starts a resolution: what the last one used becomes reusable, the rest is dropped.
    pub fn begin(&mut self) {
        self.previous = std::mem::take(&mut self.current);
        self.hits = 0;
        self.misses = 0;
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
