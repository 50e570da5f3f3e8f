//! Port functions kept between resolutions: a peer group's functions on the five oracle
//! protocols depend only on the endpoint (named ports), the direction, the precedence flags and
//! the group's rules' L4 parts, actions and auth modes — so they are keyed by the endpoint,
//! direction, flags and the *content versions* of the group's rules (a rule keeps its version
//! while it is unchanged). Entries not used by the latest resolution of an endpoint are
//! dropped, so the memo holds one resolution's worth of functions per endpoint.

use super::port_function::{PolicyProtocol, PortFunction};
use policyc_ir::universe::EndpointKey;
use policyc_ir::Direction;
use std::collections::HashMap;

/// What a group's oracle-protocol functions depend on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MemoKey {
    pub endpoint: EndpointKey,
    pub direction: Direction,
    /// (enforcement disabled, localhost bypass, enforced).
    pub flags: (bool, bool, bool),
    /// Content versions of the group's rules, in signature order.
    pub rules: Vec<u64>,
}

/// The functions of one group on the oracle protocols.
pub type MemoFunctions = Vec<(PolicyProtocol, PortFunction)>;

/// Memoized group functions: `current` holds what the resolution in progress used.
#[derive(Debug, Default)]
pub struct FunctionMemo {
    previous: HashMap<MemoKey, MemoFunctions>,
    current: HashMap<MemoKey, MemoFunctions>,
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

    pub fn get(&mut self, key: &MemoKey) -> Option<&MemoFunctions> {
        if !self.current.contains_key(key) {
            let (key, value) = self.previous.remove_entry(key)?;
            self.current.insert(key, value);
        }
        self.hits += 1;
        self.current.get(key)
    }

    pub fn insert(&mut self, key: MemoKey, functions: MemoFunctions) {
        self.misses += 1;
        self.current.insert(key, functions);
    }

    /// Forgets everything (the L4 coverage of rules may have changed).
    pub fn clear(&mut self) {
        self.previous.clear();
        self.current.clear();
    }

    /// (groups reused, groups computed) by the latest resolution.
    pub fn stats(&self) -> (usize, usize) {
        (self.hits, self.misses)
    }
}
