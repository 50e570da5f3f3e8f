//! Layout: lowers an endpoint direction's identity classes to the datapath's tables
//! (`pc_class` identity → class, `pc_portfn` (class or identity, protocol) → sparse port
//! function, `pc_intervals` overflow ranges), choosing the encoding by a written-down cost model.
//!
//! # Encoding
//! - **Sparse port functions**: a function is stored as a default (verdict, rule) plus the
//!   ranges whose verdict or rule differ from it (the default is the pair covering the most
//!   intervals, so the fewest ranges are listed); up to
//!   [`INLINE_RANGES`](policyc_backends::layout::INLINE_RANGES) ranges live in the
//!   `pc_portfn` value, the rest in `pc_intervals`. A function costs `1 + max(0, n − 4)` entries.
//! - **Unknown class**: identities of the class chosen as `unknown_class[dir]` get no entry at
//!   all; every other peer falls back to its functions for a protocol it has no function of its
//!   own for, and finally to `default_verdict[dir]` (chosen so the unknown class lists the fewest
//!   functions). The unknown class is chosen by total entries among class 0 (the behaviour of
//!   a peer matched by no rule) and the most populous classes; ties go to class 0.
//! - **Per class keying**: a class of `k` identities whose functions (relative to the unknown
//!   class: only protocols that differ, with or without its own protocol-0 function, whichever
//!   is cheaper) take `e` entries is either *class-keyed* (`k` `pc_class` entries + `e`) or
//!   *identity-keyed* (`k × e` entries keyed by the identity itself, no `pc_class` entry);
//!   the cheaper wins, ties go to class-keyed. A class with no identity at build time (it can
//!   only gain members through `endpoint add`) is class-keyed, so its functions exist for them.
//!
//! # Why this never needs more entries than Cilium
//! With class 0 as the unknown class, identities matched by no rule cost nothing (Cilium: none
//! either); every function we emit for a class or identity covers a protocol on which some
//! rule put at least one key into Cilium's map for each of that class's identities (or for the
//! wildcard identity 0, for class 0), and a function listing `n` ranges stands for at least
//! `n` masked-port prefixes in Cilium's map (each listed range is a maximal run that starts or
//! ends at a boundary of one of the rules' prefixes). Identity-keyed classes pay `k × e ≤`
//! Cilium's `k ×` keys; class-keyed ones pay less. The unknown class is only moved when that
//! lowers the total. `testsuite/tests/build_report.rs` checks the corpus.
//!
//! toFQDNs, like for like: Cilium's map gets a toFQDNs selector's keys only at run time, per
//! learned address; the comparison assumes ONE learned address per selector (the minimum for
//! the policy to allow anything), i.e. per FQDN class the keys of a CIDR identity selected by
//! exactly that selector under the rules naming it (`cilium_encoding`). Our FQDN-class
//! pseudo-identity stands for that identity and is counted like any other. Its "no opinion"
//! ports (no rule naming the selector decides them) carry class 0's verdict wherever the
//! datapath's combination cannot observe it (`crate::resolve::fqdn`), so with class 0 as the
//! unknown class it needs functions only for the protocols its rules put keys on — as for any
//! other identity. The exception: a port where some outside-cluster peer's own verdict ranks
//! below class 0's (a peer-specific L7 or auth rule under a wildcard allow) keeps an explicit
//! "no opinion", which may cost a function Cilium has no key for (the corpus test would show
//! it; every corpus set is within Cilium's count today).
//!
//! # Cost model
//! | term | meaning |
//! |---|---|
//! | entries | `pc_class` + `pc_portfn` + `pc_intervals` records: the quantity minimised |
//! | bytes | key + value bytes per record ([`CLASS_ENTRY_BYTES`], [`PORTFN_ENTRY_BYTES`], [`INTERVAL_ENTRY_BYTES`]: the sizes of the `#[repr(C)]` key and value types) |
//! | lookups | worst case per new flow: ipcache LPM 1 + `pc_class` 1 + `pc_portfn` 4 (own exact/any, unknown class exact/any) + overflow binary search `ceil(log2(max overflow ranges)) + 1` |
//! | verifier instructions | constant: one template program with 4 unrolled inline-range checks and an overflow search bounded at 17 steps whatever the tables hold, so rule counts never reach the control flow |
//!
//! Entries decide (ties: class-keyed, which needs no per-identity copies); bytes and lookups
//! are reported per direction in the build report.

use super::classes::{ClassBehaviour, ClassId, DatapathInterval, DirectionClasses, MergedFunction};
use crate::resolve::{PolicyProtocol, Verdict};
use policyc_backends::layout::{
    ArrayIndex, ClassKey, ClassValue, Interval, PortfnKey, PortfnValue, Verdict as DpVerdict,
};
use policyc_backends::{DirectionTables, PortFunction as DpFunction, PortInterval as DpInterval};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Bytes of one `pc_class` record (key + value).
pub const CLASS_ENTRY_BYTES: usize = size_of::<ClassKey>() + size_of::<ClassValue>();
/// Bytes of one `pc_portfn` record (key + value, inline ranges included).
pub const PORTFN_ENTRY_BYTES: usize = size_of::<PortfnKey>() + size_of::<PortfnValue>();
/// Bytes of one `pc_intervals` record (array index + range).
pub const INTERVAL_ENTRY_BYTES: usize = size_of::<ArrayIndex>() + size_of::<Interval>();
/// `pc_portfn` lookups per new flow in the worst case.
pub const PORTFN_LOOKUPS: usize = 4;
/// Classes besides class 0 tried as the unknown class (the most populous ones).
pub const UNKNOWN_CLASS_CANDIDATES: usize = 8;

/// How the functions of a class reach its identities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Keying {
    /// The class is the unknown class: its identities have no entry at all.
    Unknown,
    /// `pc_class` entries point the identities at the class's functions.
    Class,
    /// Every identity carries its own copy of the class's functions.
    Identity,
}

/// What the chosen layout costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LayoutCost {
    pub class_entries: usize,
    pub portfn_entries: usize,
    pub interval_entries: usize,
    pub bytes: usize,
    pub lookups_per_packet: usize,
}

impl LayoutCost {
    pub fn entries(&self) -> usize {
        self.class_entries + self.portfn_entries + self.interval_entries
    }
}

/// The chosen tables of one direction and how they were chosen.
#[derive(Debug, Clone)]
pub struct DirectionLayout {
    pub tables: DirectionTables,
    pub cost: LayoutCost,
    /// The class identities unknown at build time fall into.
    pub unknown_class: ClassId,
    /// Keying of every class (the unknown class: [`Keying::Unknown`]).
    pub keying: BTreeMap<ClassId, Keying>,
    /// Entries the layout would need with class 0 as the unknown class.
    pub entries_with_class_zero_unknown: usize,
    /// What the choice was made from, kept so that one more identity can be laid out without
    /// choosing again ([`add_member`]).
    plans: Plans,
}

/// The candidate layouts of a direction, as [`lay_out`] weighed them.
#[derive(Debug, Clone)]
enum Plans {
    /// Every class allows everything: no tables, whatever the identities.
    AllAllow,
    /// No layout could be planned (no classes).
    None,
    Weighed(Weighed),
}

#[derive(Debug, Clone)]
struct Weighed {
    /// Identities per class (index = class id).
    members: Vec<usize>,
    /// One identity of each class that has one (to copy identity-keyed functions from).
    a_member: Vec<Option<u32>>,
    /// Each candidate unknown class, in the order they were tried, with its total entries and
    /// the entries of every class's emitted functions under it (index = class id).
    candidates: Vec<(ClassId, usize, Vec<usize>)>,
}

impl DirectionLayout {
    pub fn cost(&self) -> LayoutCost {
        self.cost
    }

    /// Classes with the given keying.
    pub fn classes_keyed(&self, keying: Keying) -> usize {
        self.keying.values().filter(|k| **k == keying).count()
    }
}

/// Datapath verdict of a resolved verdict.
pub fn datapath_verdict(verdict: Verdict) -> DpVerdict {
    match verdict {
        Verdict::Allow => DpVerdict::Allow,
        Verdict::Deny => DpVerdict::Deny,
        Verdict::RedirectL7(_) => DpVerdict::RedirectL7,
        Verdict::AuthRequired => DpVerdict::AuthRequired,
        Verdict::DefaultDeny => DpVerdict::DefaultDeny,
    }
}

/// Datapath rule id of a rule (0 means "no rule", so ids are shifted by one).
pub fn datapath_rule_id(rule: Option<policyc_ir::RuleId>) -> u32 {
    rule.map_or(0, |r| r.0.saturating_add(1))
}

fn lower_function(function: &[DatapathInterval]) -> DpFunction {
    DpFunction::from_intervals(
        function
            .iter()
            .map(|i| DpInterval {
                lo: i.lo,
                hi: i.hi,
                verdict: datapath_verdict(i.verdict),
                rule_id: datapath_rule_id(i.rule),
            })
            .collect(),
    )
}

fn constant_verdict(function: &MergedFunction) -> Option<Verdict> {
    match function.as_slice() {
        [only] if only.rule.is_none() => Some(only.verdict),
        _ => None,
    }
}

/// Protocols with their own function key, then the protocol-0 fallback (`Other`).
const SPECIFIC: [PolicyProtocol; 5] = [
    PolicyProtocol::Tcp,
    PolicyProtocol::Udp,
    PolicyProtocol::Sctp,
    PolicyProtocol::Icmp,
    PolicyProtocol::Icmpv6,
];

/// A class's behaviour lowered to datapath functions: index 0..5 = [`SPECIFIC`], 5 = other.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Lowered {
    functions: [DpFunction; 6],
    entries: [usize; 6],
}

const OTHER: usize = 5;

fn lowered(behaviour: &ClassBehaviour, enforced: bool) -> Lowered {
    let fill = if enforced {
        DpVerdict::DefaultDeny
    } else {
        DpVerdict::Allow
    };
    let function = |p: PolicyProtocol| {
        behaviour
            .get(&p)
            .map_or_else(|| DpFunction::constant(fill, 0), |f| lower_function(f))
    };
    let functions = [
        function(SPECIFIC[0]),
        function(SPECIFIC[1]),
        function(SPECIFIC[2]),
        function(SPECIFIC[3]),
        function(SPECIFIC[4]),
        function(PolicyProtocol::Other),
    ];
    let entries = [0, 1, 2, 3, 4, 5].map(|i| functions[i].entries());
    Lowered { functions, entries }
}

fn protocol_number(index: usize) -> u8 {
    SPECIFIC
        .get(index)
        .map_or(PolicyProtocol::Other.number(), |p| p.number())
}

/// A set of function slots (indices into [`Lowered`]; [`OTHER`] = the protocol-0 function).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Emitted {
    slots: Vec<usize>,
    entries: usize,
}

/// The unknown class's own functions with the direction default `default`, and what it
/// decides per slot (`effective`).
struct UnknownEncoding {
    default: DpVerdict,
    emitted: Emitted,
    effective: [DpFunction; 6],
}

fn encode_unknown(u: &Lowered) -> UnknownEncoding {
    let mut candidates: BTreeSet<DpVerdict> = BTreeSet::from([DpVerdict::DefaultDeny]);
    for f in &u.functions {
        if let [only] = f.intervals() {
            if only.rule_id == 0 {
                candidates.insert(only.verdict);
            }
        }
    }
    let mut best: Option<UnknownEncoding> = None;
    for default in candidates {
        let constant = DpFunction::constant(default, 0);
        let mut emitted = Emitted::default();
        let fallback = if u.functions[OTHER] == constant {
            constant.clone()
        } else {
            emitted.slots.push(OTHER);
            emitted.entries += u.entries[OTHER];
            u.functions[OTHER].clone()
        };
        for i in 0..OTHER {
            if u.functions[i] != fallback {
                emitted.slots.push(i);
                emitted.entries += u.entries[i];
            }
        }
        let better = best
            .as_ref()
            .is_none_or(|b| emitted.entries < b.emitted.entries);
        if better {
            best = Some(UnknownEncoding {
                default,
                emitted,
                effective: u.functions.clone(),
            });
        }
    }
    best.unwrap_or_else(|| UnknownEncoding {
        default: DpVerdict::DefaultDeny,
        emitted: Emitted::default(),
        effective: u.functions.clone(),
    })
}

/// The cheapest function set making a peer of class `c` behave as `c` when it falls back to
/// the unknown class (`effective`) for slots it has no function for.
fn encode_relative(c: &Lowered, effective: &[DpFunction; 6]) -> Emitted {
    // Without a protocol-0 function: list every protocol that differs from the unknown class.
    let without_fallback = (c.functions[OTHER] == effective[OTHER]).then(|| {
        let slots: Vec<usize> = (0..OTHER)
            .filter(|i| c.functions[*i] != effective[*i])
            .collect();
        let entries = slots.iter().map(|i| c.entries[*i]).sum();
        Emitted { slots, entries }
    });
    // With its own protocol-0 function: list every protocol that differs from it.
    let mut slots = vec![OTHER];
    slots.extend((0..OTHER).filter(|i| c.functions[*i] != c.functions[OTHER]));
    let entries = slots.iter().map(|i| c.entries[*i]).sum();
    let with_fallback = Emitted { slots, entries };
    match without_fallback {
        Some(w) if w.entries <= with_fallback.entries => w,
        _ => with_fallback,
    }
}

/// One candidate layout: unknown class, direction default, per class keying and functions.
struct Plan {
    unknown: ClassId,
    unknown_encoding: UnknownEncoding,
    classes: Vec<(ClassId, Keying, Emitted)>,
    entries: usize,
}

fn plan(
    unknown: ClassId,
    lowered: &[Lowered],
    members: &BTreeMap<ClassId, Vec<u32>>,
) -> Option<Plan> {
    let u = lowered.get(unknown.0 as usize)?;
    let unknown_encoding = encode_unknown(u);
    let mut entries = unknown_encoding.emitted.entries;
    let mut classes = Vec::new();
    for (index, c) in lowered.iter().enumerate() {
        let class = ClassId(u32::try_from(index).unwrap_or(u32::MAX));
        if class == unknown {
            continue;
        }
        let emitted = encode_relative(c, &unknown_encoding.effective);
        let k = members.get(&class).map_or(0, Vec::len);
        let class_keyed = k + emitted.entries;
        let identity_keyed = k * emitted.entries;
        let keying = if k > 0 && identity_keyed < class_keyed {
            Keying::Identity
        } else {
            Keying::Class
        };
        entries += match keying {
            Keying::Identity => identity_keyed,
            _ => class_keyed,
        };
        classes.push((class, keying, emitted));
    }
    Some(Plan {
        unknown,
        unknown_encoding,
        classes,
        entries,
    })
}

fn tables_of(
    plan: &Plan,
    lowered: &[Lowered],
    members: &BTreeMap<ClassId, Vec<u32>>,
) -> DirectionTables {
    let mut tables = DirectionTables {
        enforced: true,
        unknown_class: plan.unknown.0,
        default_verdict: plan.unknown_encoding.default,
        ..DirectionTables::default_deny()
    };
    let insert = |map: &mut BTreeMap<(u32, u8), DpFunction>, id: u32, c: &Lowered, e: &Emitted| {
        for slot in &e.slots {
            map.insert((id, protocol_number(*slot)), c.functions[*slot].clone());
        }
    };
    if let Some(u) = lowered.get(plan.unknown.0 as usize) {
        insert(
            &mut tables.port_functions,
            plan.unknown.0,
            u,
            &plan.unknown_encoding.emitted,
        );
    }
    for (class, keying, emitted) in &plan.classes {
        let Some(c) = lowered.get(class.0 as usize) else {
            continue;
        };
        let ids = members.get(class).map_or(&[][..], Vec::as_slice);
        match keying {
            Keying::Identity => {
                for id in ids {
                    insert(&mut tables.identity_functions, *id, c, emitted);
                }
            }
            _ => {
                for id in ids {
                    tables.class_of_identity.insert(*id, class.0);
                }
                insert(&mut tables.port_functions, class.0, c, emitted);
            }
        }
    }
    tables
}

/// Chooses the layout of one direction and produces its tables.
pub fn lay_out(classes: &DirectionClasses) -> DirectionLayout {
    let all_allow = classes.classes.iter().all(|b| {
        b.values()
            .all(|f| constant_verdict(f) == Some(Verdict::Allow))
    });
    if all_allow {
        // Nothing to decide: the datapath passes everything without lookups.
        let tables = DirectionTables::not_enforced();
        return DirectionLayout {
            cost: cost_of(&tables),
            tables,
            unknown_class: DirectionClasses::UNKNOWN,
            keying: BTreeMap::new(),
            entries_with_class_zero_unknown: 0,
            plans: Plans::AllAllow,
        };
    }
    let lowered: Vec<Lowered> = classes
        .classes
        .iter()
        .map(|b| lowered(b, classes.enforced))
        .collect();
    let mut members: BTreeMap<ClassId, Vec<u32>> = BTreeMap::new();
    for (id, class) in &classes.class_of {
        members.entry(*class).or_default().push(id.0);
    }
    let mut by_size: Vec<(usize, ClassId)> = members
        .iter()
        .filter(|(c, _)| **c != DirectionClasses::UNKNOWN)
        .map(|(c, ids)| (ids.len(), *c))
        .collect();
    by_size.sort_by_key(|(k, c)| (std::cmp::Reverse(*k), *c));
    let candidates = std::iter::once(DirectionClasses::UNKNOWN).chain(
        by_size
            .into_iter()
            .take(UNKNOWN_CLASS_CANDIDATES)
            .map(|(_, c)| c),
    );
    let mut best: Option<Plan> = None;
    let mut class_zero_entries = 0;
    let mut weighed = Weighed {
        members: (0..lowered.len())
            .map(|c| {
                let class = ClassId(u32::try_from(c).unwrap_or(u32::MAX));
                members.get(&class).map_or(0, Vec::len)
            })
            .collect(),
        a_member: (0..lowered.len())
            .map(|c| {
                let class = ClassId(u32::try_from(c).unwrap_or(u32::MAX));
                members.get(&class).and_then(|ids| ids.first().copied())
            })
            .collect(),
        candidates: Vec::new(),
    };
    for candidate in candidates {
        let Some(p) = plan(candidate, &lowered, &members) else {
            continue;
        };
        let mut emitted = vec![p.unknown_encoding.emitted.entries; lowered.len()];
        for (class, _, e) in &p.classes {
            if let Some(slot) = emitted.get_mut(class.0 as usize) {
                *slot = e.entries;
            }
        }
        weighed.candidates.push((candidate, p.entries, emitted));
        if candidate == DirectionClasses::UNKNOWN {
            class_zero_entries = p.entries;
        }
        if best.as_ref().is_none_or(|b| p.entries < b.entries) {
            best = Some(p);
        }
    }
    let Some(best) = best else {
        let tables = DirectionTables::default_deny();
        return DirectionLayout {
            cost: cost_of(&tables),
            tables,
            unknown_class: DirectionClasses::UNKNOWN,
            keying: BTreeMap::new(),
            entries_with_class_zero_unknown: 0,
            plans: Plans::None,
        };
    };
    let tables = tables_of(&best, &lowered, &members);
    let mut keying: BTreeMap<ClassId, Keying> =
        best.classes.iter().map(|(c, k, _)| (*c, *k)).collect();
    keying.insert(best.unknown, Keying::Unknown);
    DirectionLayout {
        cost: cost_of(&tables),
        tables,
        unknown_class: best.unknown,
        keying,
        entries_with_class_zero_unknown: class_zero_entries,
        plans: Plans::Weighed(weighed),
    }
}

/// The keying [`plan`] gives a class of `k` identities whose functions take `e` entries, and
/// the entries it then costs.
fn keying_of(k: usize, e: usize) -> (Keying, usize) {
    if k > 0 && k * e < k + e {
        (Keying::Identity, k * e)
    } else {
        (Keying::Class, k + e)
    }
}

/// The candidate unknown classes [`lay_out`] tries for these class sizes, in its order.
fn candidate_order(members: &[usize]) -> Vec<ClassId> {
    let mut by_size: Vec<(usize, ClassId)> = members
        .iter()
        .enumerate()
        .skip(1)
        .filter(|(_, k)| **k > 0)
        .map(|(c, k)| (*k, ClassId(u32::try_from(c).unwrap_or(u32::MAX))))
        .collect();
    by_size.sort_by_key(|(k, c)| (std::cmp::Reverse(*k), *c));
    std::iter::once(DirectionClasses::UNKNOWN)
        .chain(
            by_size
                .into_iter()
                .take(UNKNOWN_CLASS_CANDIDATES)
                .map(|(_, c)| c),
        )
        .collect()
}

/// What one more identity adds to a direction's tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberTables {
    /// Nothing (the identity is in the unknown class, or the direction allows everything).
    Nothing,
    /// Its `pc_class` entry (identity, class).
    Class(u32, u32),
    /// Its own copy of its class's functions ((identity, protocol) → function).
    Functions(Vec<((u32, u8), DpFunction)>),
}

impl MemberTables {
    /// Applies the change to tables of the same direction.
    pub fn apply(&self, tables: &mut DirectionTables) {
        match self {
            MemberTables::Nothing => {}
            MemberTables::Class(identity, class) => {
                tables.class_of_identity.insert(*identity, *class);
            }
            MemberTables::Functions(functions) => {
                tables.identity_functions.extend(functions.iter().cloned());
            }
        }
    }
}

/// Lays out one more identity of an existing class in place: `layout` becomes what
/// [`lay_out`] gives for the classes with `identity` added to `class` (which the caller has
/// done in its `DirectionClasses`), when the same unknown class wins and `class` keeps its
/// keying — then the identity only gains its `pc_class` entry, or its copy of the class's
/// functions, or nothing (the unknown class): returned, and applied to `layout.tables`.
/// `None`, with `layout` unchanged: call [`lay_out`] again.
pub fn add_member(
    layout: &mut DirectionLayout,
    class: ClassId,
    identity: u32,
) -> Option<MemberTables> {
    let weighed = match &layout.plans {
        Plans::AllAllow => return Some(MemberTables::Nothing),
        Plans::None => return None,
        Plans::Weighed(w) => w,
    };
    let c = class.0 as usize;
    let old_k = weighed.members.get(c).copied()?;
    let mut members = weighed.members.clone();
    members[c] = old_k + 1;
    let order = candidate_order(&members);
    let mut tried: Vec<ClassId> = weighed.candidates.iter().map(|(u, _, _)| *u).collect();
    let mut wanted = order.clone();
    tried.sort_unstable();
    wanted.sort_unstable();
    if tried != wanted {
        return None;
    }
    // (candidate, its entries with the new member, index into `weighed.candidates`), in the
    // order lay_out tries them.
    let mut candidates: Vec<(ClassId, usize, usize)> = Vec::with_capacity(order.len());
    for unknown in &order {
        let at = weighed
            .candidates
            .iter()
            .position(|(u, _, _)| u == unknown)?;
        let (_, entries, emitted) = &weighed.candidates[at];
        let entries = if *unknown == class {
            *entries
        } else {
            let e = emitted.get(c).copied().unwrap_or(0);
            entries - keying_of(old_k, e).1 + keying_of(old_k + 1, e).1
        };
        candidates.push((*unknown, entries, at));
    }
    let mut best: Option<&(ClassId, usize, usize)> = None;
    for candidate in &candidates {
        if best.is_none_or(|b| candidate.1 < b.1) {
            best = Some(candidate);
        }
    }
    let (winner, _, at) = *best?;
    if winner != layout.unknown_class {
        return None;
    }
    let keying = if winner == class {
        Keying::Unknown
    } else {
        let emitted = &weighed.candidates[at].2;
        keying_of(old_k + 1, emitted.get(c).copied().unwrap_or(0)).0
    };
    if layout.keying.get(&class) != Some(&keying) {
        return None;
    }
    let change = match keying {
        Keying::Unknown => MemberTables::Nothing,
        Keying::Class => MemberTables::Class(identity, class.0),
        Keying::Identity => {
            let sample = weighed.a_member.get(c).copied().flatten()?;
            MemberTables::Functions(
                layout
                    .tables
                    .identity_functions
                    .range((sample, 0)..=(sample, u8::MAX))
                    .map(|((_, protocol), f)| ((identity, *protocol), f.clone()))
                    .collect(),
            )
        }
    };
    change.apply(&mut layout.tables);
    add_cost(&mut layout.cost, &change);
    if let Plans::Weighed(weighed) = &mut layout.plans {
        weighed.members = members;
        if let Some(slot @ None) = weighed.a_member.get_mut(c) {
            *slot = Some(identity);
        }
        for (unknown, entries, at) in &candidates {
            if let Some(candidate) = weighed.candidates.get_mut(*at) {
                candidate.1 = *entries;
            }
            if *unknown == DirectionClasses::UNKNOWN {
                layout.entries_with_class_zero_unknown = *entries;
            }
        }
        // Keep them in the order lay_out tries them.
        let mut reordered = Vec::with_capacity(candidates.len());
        for (_, _, at) in &candidates {
            reordered.push(std::mem::replace(
                &mut weighed.candidates[*at],
                (DirectionClasses::UNKNOWN, 0, Vec::new()),
            ));
        }
        weighed.candidates = reordered;
    }
    Some(change)
}

/// [`cost_of`] of tables after `change`, from their cost before: the new records only (a
/// member's own functions are copies of its class's, so the longest overflow search is the
/// same).
fn add_cost(cost: &mut LayoutCost, change: &MemberTables) {
    match change {
        MemberTables::Nothing => {}
        MemberTables::Class(..) => {
            cost.class_entries += 1;
            cost.bytes += CLASS_ENTRY_BYTES;
        }
        MemberTables::Functions(functions) => {
            for (_, f) in functions {
                let overflow = f.entries() - 1;
                cost.portfn_entries += 1;
                cost.interval_entries += overflow;
                cost.bytes += PORTFN_ENTRY_BYTES + overflow * INTERVAL_ENTRY_BYTES;
            }
        }
    }
}

fn cost_of(tables: &DirectionTables) -> LayoutCost {
    let class_entries = tables.class_of_identity.len();
    let mut portfn_entries = 0;
    let mut interval_entries = 0;
    let mut max_overflow = 0;
    for (_, f) in tables.all_functions() {
        let overflow = f.entries() - 1;
        portfn_entries += 1;
        interval_entries += overflow;
        max_overflow = max_overflow.max(overflow);
    }
    let search = if max_overflow == 0 {
        0
    } else {
        ceil_log2(max_overflow) + 1
    };
    let lookups = if tables.enforced {
        1 + 1 + PORTFN_LOOKUPS + search
    } else {
        1
    };
    LayoutCost {
        class_entries,
        portfn_entries,
        interval_entries,
        bytes: class_entries * CLASS_ENTRY_BYTES
            + portfn_entries * PORTFN_ENTRY_BYTES
            + interval_entries * INTERVAL_ENTRY_BYTES,
        lookups_per_packet: lookups,
    }
}

fn ceil_log2(n: usize) -> usize {
    if n <= 1 {
        return 0;
    }
    (usize::BITS - (n - 1).leading_zeros()) as usize
}

/// What the datapath decides with these tables (the same lookup order as the BPF program):
/// used by tests to check that every layout keeps the classes' meaning.
pub fn tables_decide(
    tables: &DirectionTables,
    identity: u32,
    protocol: u8,
    port: u16,
) -> (DpVerdict, u32) {
    tables.decide(identity, protocol, port)
}

#[cfg(test)]
mod tests {
    use super::*;
    use policyc_ir::{Direction, NumericIdentity, RuleId};
    use test_case::test_case;

    fn constant(verdict: Verdict) -> MergedFunction {
        vec![DatapathInterval {
            lo: 0,
            hi: u16::MAX,
            verdict,
            rule: None,
        }]
    }

    fn behaviour(tcp: MergedFunction, other: MergedFunction) -> ClassBehaviour {
        PolicyProtocol::ALL
            .into_iter()
            .map(|p| {
                (
                    p,
                    if p == PolicyProtocol::Tcp {
                        tcp.clone()
                    } else {
                        other.clone()
                    },
                )
            })
            .collect()
    }

    fn sample() -> DirectionClasses {
        let port_80 = vec![
            DatapathInterval {
                lo: 0,
                hi: 79,
                verdict: Verdict::DefaultDeny,
                rule: None,
            },
            DatapathInterval {
                lo: 80,
                hi: 80,
                verdict: Verdict::Allow,
                rule: Some(RuleId(1)),
            },
            DatapathInterval {
                lo: 81,
                hi: u16::MAX,
                verdict: Verdict::DefaultDeny,
                rule: None,
            },
        ];
        DirectionClasses {
            direction: Direction::Ingress,
            enforced: true,
            classes: vec![
                behaviour(
                    constant(Verdict::DefaultDeny),
                    constant(Verdict::DefaultDeny),
                ),
                behaviour(port_80, constant(Verdict::DefaultDeny)),
                behaviour(constant(Verdict::Allow), constant(Verdict::Allow)),
                behaviour(constant(Verdict::Deny), constant(Verdict::Deny)),
            ],
            class_of: [(300, 1), (301, 2), (302, 0), (303, 3)]
                .into_iter()
                .map(|(id, c)| (NumericIdentity(id), ClassId(c)))
                .collect(),
        }
    }

    fn expected(
        classes: &DirectionClasses,
        identity: u32,
        protocol: u8,
        port: u16,
    ) -> (DpVerdict, u32) {
        let class = classes.class_for(NumericIdentity(identity));
        let policy_protocol = PolicyProtocol::ALL
            .into_iter()
            .find(|p| p.number() == protocol)
            .unwrap_or(PolicyProtocol::Other);
        let behaviour = classes.behaviour(class).map(|b| &b[&policy_protocol]);
        let interval = behaviour.and_then(|f| f.iter().find(|i| i.lo <= port && port <= i.hi));
        interval.map_or((DpVerdict::DefaultDeny, 0), |i| {
            (datapath_verdict(i.verdict), datapath_rule_id(i.rule))
        })
    }

    #[test]
    fn the_layout_keeps_the_classes_meaning() {
        let classes = sample();
        let layout = lay_out(&classes);
        for identity in [300, 301, 302, 303, 999] {
            for protocol in [0, 1, 6, 17, 47, 58, 132] {
                for port in [0, 79, 80, 81, 65535] {
                    assert_eq!(
                        tables_decide(&layout.tables, identity, protocol, port),
                        expected(&classes, identity, protocol, port),
                        "identity {identity} protocol {protocol} port {port}"
                    );
                }
            }
        }
    }

    #[test]
    fn singleton_classes_are_identity_keyed_and_the_unknown_class_costs_nothing() {
        let layout = lay_out(&sample());
        assert_eq!(layout.unknown_class, ClassId(0));
        // class 1: one TCP function; class 2: a protocol-0 allow; class 3: a protocol-0 deny.
        assert!(layout.tables.class_of_identity.is_empty());
        assert_eq!(layout.tables.identity_functions.len(), 3);
        assert!(layout.tables.port_functions.is_empty());
        assert_eq!(layout.cost().entries(), 3);
    }

    /// 10 more identities in class 1, and 30 more in class 0, which stays the most populous and
    /// so stays the unknown class.
    fn populate(classes: &mut DirectionClasses) {
        for id in 400..410 {
            classes.class_of.insert(NumericIdentity(id), ClassId(1));
        }
        for id in 500..530 {
            classes.class_of.insert(NumericIdentity(id), ClassId(0));
        }
    }

    #[test]
    fn populous_classes_are_class_keyed() {
        let mut classes = sample();
        populate(&mut classes);
        let layout = lay_out(&classes);
        assert_eq!(layout.unknown_class, ClassId(0));
        assert_eq!(layout.keying.get(&ClassId(1)), Some(&Keying::Identity));
        // 11 identities × 1 entry (identity-keyed) = 11 < 11 pc_class entries + 1 function.
        assert_eq!(layout.tables.identity_functions.len(), 11 + 2);
        let mut wide = sample();
        let two_functions = behaviour(
            constant(Verdict::Allow),
            vec![DatapathInterval {
                lo: 0,
                hi: u16::MAX,
                verdict: Verdict::Deny,
                rule: Some(RuleId(4)),
            }],
        );
        wide.classes[1] = two_functions;
        populate(&mut wide);
        let layout = lay_out(&wide);
        assert_eq!(layout.unknown_class, ClassId(0));
        assert_eq!(layout.keying.get(&ClassId(1)), Some(&Keying::Class));
        assert_eq!(layout.tables.class_of_identity.len(), 11);
    }

    #[test]
    fn the_unknown_class_moves_to_the_most_populous_class_when_cheaper() {
        let mut classes = sample();
        for id in 400..420 {
            classes.class_of.insert(NumericIdentity(id), ClassId(2));
        }
        let layout = lay_out(&classes);
        assert_eq!(layout.unknown_class, ClassId(2));
        assert!(layout.cost().entries() < layout.entries_with_class_zero_unknown);
        // Identities of the build keep their meaning (one unknown at build time would be
        // admitted with `endpoint add`, which writes its entries).
        for identity in [300, 301, 302, 303, 405] {
            for protocol in [0, 6, 17, 47] {
                for port in [0, 80, 81] {
                    assert_eq!(
                        tables_decide(&layout.tables, identity, protocol, port),
                        expected(&classes, identity, protocol, port),
                        "identity {identity} protocol {protocol} port {port}"
                    );
                }
            }
        }
    }

    #[test]
    fn all_allow_direction_is_laid_out_without_tables() {
        let mut classes = sample();
        classes.classes = vec![behaviour(
            constant(Verdict::Allow),
            constant(Verdict::Allow),
        )];
        classes.class_of.clear();
        let layout = lay_out(&classes);
        assert!(!layout.tables.enforced);
        assert_eq!(layout.cost().entries(), 0);
    }

    #[test_case(0, 0; "zero")]
    #[test_case(1, 0; "one")]
    #[test_case(2, 1; "two")]
    #[test_case(3, 2; "three")]
    #[test_case(1024, 10; "power of two")]
    #[test_case(1025, 11; "just above")]
    fn ceil_log2_rounds_up(n: usize, expected: usize) {
        assert_eq!(ceil_log2(n), expected);
    }
}
