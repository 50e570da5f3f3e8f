//! Identity classes: per endpoint and direction, identities whose port functions are equal on
//! every protocol (as the datapath sees them: verdict + counted rule + DNS rule set per interval) share one
//! class. The function maps are hash-consed, so the number of classes is the number of distinct
//! behaviours, not of identities or rules.

use crate::fast_hash::FxHashMap;
use crate::resolve::{DnsRuleSets, PolicyProtocol, ResolvedDirection, Verdict};
use policyc_ir::{Direction, NumericIdentity, RuleId};
use serde::Serialize;
use std::collections::BTreeMap;

/// Index of a class within one endpoint direction. Class 0 is always the class of identities
/// unknown at build time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ClassId(pub u32);

/// One interval as the datapath stores it: verdict, the single rule it credits and the DNS
/// rule set that judges its DNS questions (`crate::resolve::DnsRuleSets`; 0 = none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct DatapathInterval {
    pub lo: u16,
    pub hi: u16,
    pub verdict: Verdict,
    pub rule: Option<RuleId>,
    pub l7_set: u8,
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

/// The datapath's view of a function: per interval the first deciding rule and the DNS rule
/// set, adjacent intervals merged when those and the verdict agree.
fn merged(
    protocol: PolicyProtocol,
    function: &crate::resolve::PortFunction,
    dns_sets: &DnsRuleSets,
) -> MergedFunction {
    let mut out: MergedFunction = Vec::with_capacity(function.intervals().len());
    for i in function.intervals() {
        let next = DatapathInterval {
            lo: i.lo,
            hi: i.hi,
            verdict: i.verdict,
            rule: i.rules.first().copied(),
            l7_set: dns_sets.set_of(protocol, i),
        };
        match out.last_mut() {
            Some(last)
                if last.verdict == next.verdict
                    && last.rule == next.rule
                    && last.l7_set == next.l7_set =>
            {
                last.hi = next.hi;
            }
            _ => out.push(next),
        }
    }
    out
}

fn behaviour(
    functions: &crate::resolve::ProtocolFunctions,
    dns_sets: &DnsRuleSets,
) -> ClassBehaviour {
    functions
        .iter()
        .map(|(p, f)| (*p, merged(*p, f, dns_sets)))
        .collect()
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
    intern(behaviour(&resolved.unknown_peer, &resolved.dns_sets));
    let mut class_of = BTreeMap::new();
    for group in &resolved.groups {
        let class = intern(behaviour(&group.functions, &resolved.dns_sets));
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
