//! The semantic delta: for every endpoint, direction and peer, the port intervals whose verdict
//! differs between base and head. Works on the resolved port functions (exact intervals, one
//! oracle question per elementary interval), compared by refining both interval lists.

use super::model::Cause;
use super::peers::{atoms, PeerAtom};
use super::verdict::{
    absent_functions, behaviour, semantic_function, RuleIndex, SemFunction, SemFunctions,
    SemVerdict,
};
use policyc_compile::resolve::{PolicyProtocol, ResolvedDirection, ResolvedPolicy};
use policyc_ir::universe::{EndpointKey, Universe};
use policyc_ir::{Direction, NumericIdentity, PolicyRule, RuleId};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// One interval whose verdict changed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PortChange {
    pub protocol: PolicyProtocol,
    pub lo: u16,
    pub hi: u16,
    pub before: SemVerdict,
    pub before_rules: Vec<RuleId>,
    pub after: SemVerdict,
    pub after_rules: Vec<RuleId>,
    pub before_default_deny: bool,
    pub after_default_deny: bool,
}

/// The changes towards one peer of one endpoint direction.
#[derive(Debug, Clone)]
pub struct PeerDelta {
    pub subject: EndpointKey,
    pub direction: Direction,
    pub atom: PeerAtom,
    pub cause: Cause,
    /// Index into [`DeltaSet::changes`].
    pub changes: usize,
}

/// All peer deltas with their change lists interned (equal lists share an index).
#[derive(Debug, Default)]
pub struct DeltaSet {
    pub peers: Vec<PeerDelta>,
    pub changes: Vec<Vec<PortChange>>,
    interned: HashMap<Vec<PortChange>, usize>,
}

impl DeltaSet {
    pub fn intern(&mut self, changes: Vec<PortChange>) -> usize {
        if let Some(i) = self.interned.get(&changes) {
            return *i;
        }
        let i = self.changes.len();
        self.changes.push(changes.clone());
        self.interned.insert(changes, i);
        i
    }
}

/// Where the two functions of one protocol disagree (adjacent equal changes merged).
pub fn refine(
    protocol: PolicyProtocol,
    before: &SemFunction,
    after: &SemFunction,
    out: &mut Vec<PortChange>,
) {
    let (mut i, mut j) = (0usize, 0usize);
    let mut lo: u32 = 0;
    while let (Some(a), Some(b)) = (before.get(i), after.get(j)) {
        let hi = a.hi.min(b.hi);
        if a.verdict.differs(&b.verdict) {
            let change = PortChange {
                protocol,
                lo: u16::try_from(lo).unwrap_or(u16::MAX),
                hi,
                before: a.verdict.clone(),
                before_rules: a.rules.clone(),
                after: b.verdict.clone(),
                after_rules: b.rules.clone(),
                before_default_deny: a.default_deny,
                after_default_deny: b.default_deny,
            };
            match out.last_mut() {
                Some(last)
                    if last.protocol == protocol
                        && u32::from(last.hi) + 1 == lo
                        && last.before == change.before
                        && last.after == change.after
                        && last.before_rules == change.before_rules
                        && last.after_rules == change.after_rules
                        && last.before_default_deny == change.before_default_deny
                        && last.after_default_deny == change.after_default_deny =>
                {
                    last.hi = hi
                }
                _ => out.push(change),
            }
        }
        if a.hi == hi {
            i += 1;
        }
        if b.hi == hi {
            j += 1;
        }
        lo = u32::from(hi) + 1;
        if lo > u32::from(u16::MAX) {
            break;
        }
    }
}

/// One side (a rule set over a universe) with its resolution, ready to be compared.
pub struct Side<'a> {
    pub universe: &'a Universe,
    pub rules: &'a [PolicyRule],
    pub resolved: &'a ResolvedPolicy,
    pub index: RuleIndex<'a>,
    pub atoms: BTreeMap<PeerAtom, NumericIdentity>,
}

impl<'a> Side<'a> {
    pub fn new(
        universe: &'a Universe,
        rules: &'a [PolicyRule],
        resolved: &'a ResolvedPolicy,
    ) -> Self {
        Self {
            universe,
            rules,
            resolved,
            index: RuleIndex::new(rules),
            atoms: atoms(universe),
        }
    }

    fn direction(
        &self,
        subject: &EndpointKey,
        direction: Direction,
    ) -> Option<&'a ResolvedDirection> {
        let eps = &self.resolved.endpoints;
        let i = eps.binary_search_by(|e| e.key.cmp(subject)).ok()?;
        eps.get(i).map(|e| e.direction(direction))
    }

    /// The diff view of one endpoint direction (`None` when the endpoint does not exist here).
    pub fn view(&self, subject: &EndpointKey, direction: Direction) -> Option<DirectionView<'a>> {
        let dir = self.direction(subject, direction)?;
        let mut group_of = HashMap::new();
        let mut functions = Vec::with_capacity(dir.groups.len() + 1);
        for (n, g) in dir.groups.iter().enumerate() {
            for id in &g.identities {
                group_of.insert(*id, n);
            }
            functions.push(self.semantic(&g.functions, &dir.default_deny_by));
        }
        functions.push(self.semantic(&dir.unknown_peer, &dir.default_deny_by));
        Some(DirectionView {
            dir,
            group_of,
            functions,
        })
    }

    fn semantic(
        &self,
        functions: &policyc_compile::resolve::ProtocolFunctions,
        default_deny_by: &[RuleId],
    ) -> SemFunctions {
        PolicyProtocol::ALL
            .into_iter()
            .filter_map(|p| {
                functions
                    .get(&p)
                    .map(|f| (p, semantic_function(f, p, &self.index, default_deny_by)))
            })
            .collect()
    }
}

/// The peer groups of one endpoint direction in diff terms.
pub struct DirectionView<'a> {
    pub dir: &'a ResolvedDirection,
    group_of: HashMap<NumericIdentity, usize>,
    functions: Vec<SemFunctions>,
}

impl DirectionView<'_> {
    /// Group index of an identity (the unknown-peer functions when it is in no group).
    pub fn group(&self, identity: NumericIdentity) -> usize {
        self.group_of
            .get(&identity)
            .copied()
            .unwrap_or(self.functions.len() - 1)
    }

    pub fn functions(&self, group: usize) -> &SemFunctions {
        &self.functions[group.min(self.functions.len() - 1)]
    }
}

/// Changes between two function sets.
pub fn compare(before: &SemFunctions, after: &SemFunctions) -> Vec<PortChange> {
    let mut out = Vec::new();
    for ((p, b), (_, a)) in before.iter().zip(after.iter()) {
        refine(*p, b, a, &mut out);
    }
    out
}

/// Every endpoint key of either side, sorted.
pub fn subjects(base: &Side<'_>, head: &Side<'_>) -> Vec<EndpointKey> {
    let keys: BTreeSet<EndpointKey> = base
        .universe
        .endpoints()
        .iter()
        .chain(head.universe.endpoints())
        .map(|e| e.key.clone())
        .collect();
    keys.into_iter().collect()
}

/// Identity-backed peer deltas for every endpoint and direction. `labels_only` is the base rule
/// set over the head universe (present when the inventories differ): a change it already shows
/// is label-driven.
pub fn identity_deltas(
    base: &Side<'_>,
    head: &Side<'_>,
    labels_only: Option<&Side<'_>>,
    out: &mut DeltaSet,
) {
    let peer_atoms: BTreeSet<&PeerAtom> = base.atoms.keys().chain(head.atoms.keys()).collect();
    // Identities looked up once, not per endpoint and direction.
    let peer_ids: Vec<(&PeerAtom, Option<NumericIdentity>, Option<NumericIdentity>)> = peer_atoms
        .iter()
        .map(|a| (*a, base.atoms.get(*a).copied(), head.atoms.get(*a).copied()))
        .collect();
    let absent = absent_functions();
    for subject in subjects(base, head) {
        for direction in Direction::BOTH {
            let b = base.view(&subject, direction);
            let h = head.view(&subject, direction);
            let m = labels_only.and_then(|s| s.view(&subject, direction));
            let mut memo: HashMap<(Option<usize>, Option<usize>), Option<usize>> = HashMap::new();
            for (atom, base_id, head_id) in &peer_ids {
                let bg = b.as_ref().zip(*base_id).map(|(v, id)| v.group(id));
                let hg = h.as_ref().zip(*head_id).map(|(v, id)| v.group(id));
                let changes = *memo.entry((bg, hg)).or_insert_with(|| {
                    let bf = b.as_ref().zip(bg).map_or(&absent, |(v, g)| v.functions(g));
                    let hf = h.as_ref().zip(hg).map_or(&absent, |(v, g)| v.functions(g));
                    let c = compare(bf, hf);
                    (!c.is_empty()).then(|| out.intern(c))
                });
                let Some(changes) = changes else { continue };
                let cause = match (b.as_ref().zip(bg), h.as_ref().zip(hg)) {
                    _ if b.is_none() => Cause::EndpointAdded,
                    _ if h.is_none() => Cause::EndpointRemoved,
                    (None, _) => Cause::PeerAdded,
                    (_, None) => Cause::PeerRemoved,
                    (Some(before), Some(after)) => {
                        let mid = labels_only.zip(m.as_ref());
                        label_cause(mid, before, after, atom)
                    }
                };
                out.peers.push(PeerDelta {
                    subject: subject.clone(),
                    direction,
                    atom: (*atom).clone(),
                    cause,
                    changes,
                });
            }
        }
    }
}

/// Would the base rules over the head inventory already behave like head (labels), like base
/// (policy), or neither (both)?
fn label_cause(
    labels_only: Option<(&Side<'_>, &DirectionView<'_>)>,
    before: (&DirectionView<'_>, usize),
    after: (&DirectionView<'_>, usize),
    atom: &PeerAtom,
) -> Cause {
    let Some((side, m)) = labels_only else {
        return Cause::Policy;
    };
    let Some(mid_id) = side.atoms.get(atom) else {
        return Cause::Policy;
    };
    let ((b, bg), (h, hg)) = (before, after);
    let mid = behaviour(m.functions(m.group(*mid_id)));
    if mid == behaviour(h.functions(hg)) {
        Cause::Labels
    } else if mid == behaviour(b.functions(bg)) {
        Cause::Policy
    } else {
        Cause::PolicyAndLabels
    }
}
