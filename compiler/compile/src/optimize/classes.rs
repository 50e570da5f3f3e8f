//! Identity classes: per endpoint and direction, identities whose port functions are equal on
//! every protocol (as the datapath sees them: verdict + counted rule per interval) share one
//! class. The function maps are hash-consed, so the number of classes is the number of distinct
//! behaviours, not of identities or rules.

use crate::fast_hash::FxHashMap;
use crate::resolve::{PolicyProtocol, ResolvedDirection, Verdict};
use policyc_ir::{Direction, NumericIdentity, RuleId};
use serde::Serialize;
use std::collections::BTreeMap;

/// Index of a class within one endpoint direction. Class 0 is always the class of identities
/// unknown at build time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ClassId(pub u32);

/// One interval as the datapath stores it: verdict and the single rule it credits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct DatapathInterval {
    pub lo: u16,
    pub hi: u16,
    pub verdict: Verdict,
    pub rule: Option<RuleId>,
}

/// Sorted, merged intervals covering `0..=65535` (deny already took precedence in resolution).
pub type MergedFunction = Vec<DatapathInterval>;

/// The behaviour of a class: one merged function per protocol.
pub type ClassBehaviour = BTreeMap<PolicyProtocol, MergedFunction>;

/// The classes of one endpoint direction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DirectionClasses {
    pub direction: Direction,
    pub enforced: bool,
    /// Indexed by [`ClassId`].
    pub classes: Vec<ClassBehaviour>,
    /// Every identity of the universe.
    pub class_of: BTreeMap<NumericIdentity, ClassId>,
}

impl DirectionClasses {
    pub const UNKNOWN: ClassId = ClassId(0);

    pub fn behaviour(&self, class: ClassId) -> Option<&ClassBehaviour> {
        self.classes.get(class.0 as usize)
    }

    /// The class of a peer identity (the unknown class for identities not in the universe).
    pub fn class_for(&self, identity: NumericIdentity) -> ClassId {
        self.class_of
            .get(&identity)
            .copied()
            .unwrap_or(Self::UNKNOWN)
    }

    /// Number of identities whose class is not the unknown class.
    pub fn identities_outside_unknown_class(&self) -> usize {
        self.class_of
            .values()
            .filter(|c| **c != Self::UNKNOWN)
            .count()
    }
}

fn merged(function: &crate::resolve::PortFunction) -> MergedFunction {
    function
        .datapath_view()
        .into_iter()
        .map(|(lo, hi, verdict, rule)| DatapathInterval {
            lo,
            hi,
            verdict,
            rule,
        })
        .collect()
}

fn behaviour(functions: &crate::resolve::ProtocolFunctions) -> ClassBehaviour {
    functions.iter().map(|(p, f)| (*p, merged(f))).collect()
}

/// Builds the classes of one resolved direction (deterministic: unknown class first, then in
/// the order of the resolved peer groups).
pub fn classify(resolved: &ResolvedDirection) -> DirectionClasses {
    let mut classes: Vec<ClassBehaviour> = Vec::new();
    let mut index: FxHashMap<ClassBehaviour, ClassId> = FxHashMap::default();
    let mut intern = |b: ClassBehaviour| -> ClassId {
        if let Some(id) = index.get(&b) {
            return *id;
        }
        let id = ClassId(u32::try_from(classes.len()).unwrap_or(u32::MAX));
        classes.push(b.clone());
        index.insert(b, id);
        id
    };
    intern(behaviour(&resolved.unknown_peer));
    let mut class_of = BTreeMap::new();
    for group in &resolved.groups {
        let class = intern(behaviour(&group.functions));
        for id in &group.identities {
            class_of.insert(*id, class);
        }
    }
    DirectionClasses {
        direction: resolved.direction,
        enforced: resolved.enforced,
        classes,
        class_of,
    }
}
