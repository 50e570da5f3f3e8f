//! Layout: lowers an endpoint's identity classes to the datapath's tables
//! (`pc_class` identity → class, `pc_portfn` (class, protocol) → interval slice,
//! `pc_intervals`), choosing per endpoint and direction between two encodings by a written-down
//! cost model.
//!
//! # Encodings
//! - **flat**: every identity of the universe gets a `pc_class` entry and every (class,
//!   protocol) pair — TCP, UDP, SCTP, ICMP, ICMPv6 and the protocol-0 fallback — gets its own
//!   port function. One `pc_portfn` lookup per packet.
//! - **compressed**: identities in the unknown class (class 0: matched by no rule beyond the
//!   L3 wildcard) get no `pc_class` entry (the datapath's `unknown_class` covers them); a
//!   protocol whose function equals the class's protocol-0 function is left out (the datapath
//!   falls back to protocol 0); a protocol-0 function equal to the direction's constant default
//!   verdict is left out (the datapath falls back to `default_verdict`). Up to two `pc_portfn`
//!   lookups per packet.
//!
//! # Cost model
//! | term | meaning |
//! |---|---|
//! | entries | `pc_class` + `pc_portfn` + `pc_intervals` records |
//! | bytes | key + value bytes: `pc_class` 8 + 4, `pc_portfn` 8 + 8, `pc_intervals` 8 (array value) |
//! | lookups | worst case per new flow: ipcache LPM 1 + `pc_class` 1 + `pc_portfn` 1 (flat) or 2 (compressed) + binary search `ceil(log2(max intervals)) + 1` |
//! | verifier instructions | constant: one template program whose interval search is bounded at 17 steps whatever the tables hold, so rule counts never reach the control flow |
//!
//! `cost = bytes + LOOKUP_WEIGHT_BYTES × lookups` with `LOOKUP_WEIGHT_BYTES = 64` (one cache
//! line per map lookup); the encoding with the lower cost wins, ties go to flat (fewer lookups).

use super::classes::{ClassBehaviour, ClassId, DatapathInterval, DirectionClasses, MergedFunction};
use crate::resolve::{PolicyProtocol, Verdict};
use policyc_backends::layout::Verdict as DpVerdict;
use policyc_backends::{DirectionTables, PortFunction as DpFunction, PortInterval as DpInterval};
use serde::Serialize;
use std::collections::BTreeMap;

/// Bytes of one `pc_class` record (key + value).
pub const CLASS_ENTRY_BYTES: usize = 12;
/// Bytes of one `pc_portfn` record.
pub const PORTFN_ENTRY_BYTES: usize = 16;
/// Bytes of one `pc_intervals` record.
pub const INTERVAL_ENTRY_BYTES: usize = 8;
/// What one map lookup costs in the model, in bytes.
pub const LOOKUP_WEIGHT_BYTES: usize = 64;

/// The two encodings the datapath supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    Flat,
    Compressed,
}

/// What one encoding costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LayoutCost {
    pub class_entries: usize,
    pub portfn_entries: usize,
    pub interval_entries: usize,
    pub bytes: usize,
    pub lookups_per_packet: usize,
    pub score: usize,
}

impl LayoutCost {
    pub fn entries(&self) -> usize {
        self.class_entries + self.portfn_entries + self.interval_entries
    }
}

/// The chosen tables of one direction, with the costs of both candidates.
#[derive(Debug, Clone)]
pub struct DirectionLayout {
    pub chosen: Encoding,
    pub tables: DirectionTables,
    pub flat: LayoutCost,
    pub compressed: LayoutCost,
}

impl DirectionLayout {
    pub fn cost(&self) -> LayoutCost {
        match self.chosen {
            Encoding::Flat => self.flat,
            Encoding::Compressed => self.compressed,
        }
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

fn other(behaviour: &ClassBehaviour) -> Option<&MergedFunction> {
    behaviour.get(&PolicyProtocol::Other)
}

/// Chooses the encoding of one direction and produces its tables.
pub fn lay_out(classes: &DirectionClasses) -> DirectionLayout {
    let all_allow = classes.classes.iter().all(|b| {
        b.values()
            .all(|f| constant_verdict(f) == Some(Verdict::Allow))
    });
    if all_allow {
        // Nothing to decide: the datapath passes everything without lookups.
        let tables = DirectionTables::not_enforced();
        let cost = cost_of(&tables, 1);
        return DirectionLayout {
            chosen: Encoding::Compressed,
            tables,
            flat: cost,
            compressed: cost,
        };
    }
    let flat = flat_tables(classes);
    let compressed = compressed_tables(classes);
    let flat_cost = cost_of(&flat, 1);
    let compressed_cost = cost_of(&compressed, 2);
    if compressed_cost.score < flat_cost.score {
        DirectionLayout {
            chosen: Encoding::Compressed,
            tables: compressed,
            flat: flat_cost,
            compressed: compressed_cost,
        }
    } else {
        DirectionLayout {
            chosen: Encoding::Flat,
            tables: flat,
            flat: flat_cost,
            compressed: compressed_cost,
        }
    }
}

fn class_number(class: ClassId) -> u32 {
    class.0
}

fn flat_tables(classes: &DirectionClasses) -> DirectionTables {
    let mut port_functions = BTreeMap::new();
    for (index, behaviour) in classes.classes.iter().enumerate() {
        let class = u32::try_from(index).unwrap_or(u32::MAX);
        for (protocol, function) in behaviour {
            port_functions.insert((class, protocol.number()), lower_function(function));
        }
    }
    DirectionTables {
        enforced: true,
        unknown_class: class_number(DirectionClasses::UNKNOWN),
        class_of_identity: classes
            .class_of
            .iter()
            .map(|(id, c)| (id.0, class_number(*c)))
            .collect(),
        port_functions,
        default_verdict: DpVerdict::DefaultDeny,
    }
}

fn compressed_tables(classes: &DirectionClasses) -> DirectionTables {
    // The default verdict: the most common constant protocol-0 behaviour (ties: deny first).
    let mut counts: BTreeMap<Verdict, usize> = BTreeMap::new();
    for behaviour in &classes.classes {
        if let Some(v) = other(behaviour).and_then(constant_verdict) {
            *counts.entry(v).or_default() += 1;
        }
    }
    let default = counts
        .iter()
        .max_by_key(|(v, n)| (**n, std::cmp::Reverse(**v)))
        .map_or(
            if classes.enforced {
                Verdict::DefaultDeny
            } else {
                Verdict::Allow
            },
            |(v, _)| *v,
        );
    let mut port_functions = BTreeMap::new();
    for (index, behaviour) in classes.classes.iter().enumerate() {
        let class = u32::try_from(index).unwrap_or(u32::MAX);
        let fallback = other(behaviour);
        let fallback_is_default = fallback.and_then(constant_verdict) == Some(default);
        if let (Some(f), false) = (fallback, fallback_is_default) {
            port_functions.insert((class, PolicyProtocol::Other.number()), lower_function(f));
        }
        for (protocol, function) in behaviour {
            if *protocol == PolicyProtocol::Other {
                continue;
            }
            let same_as_fallback = match fallback {
                Some(f) => f == function,
                None => constant_verdict(function) == Some(default),
            };
            if !same_as_fallback {
                port_functions.insert((class, protocol.number()), lower_function(function));
            }
        }
    }
    DirectionTables {
        enforced: true,
        unknown_class: class_number(DirectionClasses::UNKNOWN),
        class_of_identity: classes
            .class_of
            .iter()
            .filter(|(_, c)| **c != DirectionClasses::UNKNOWN)
            .map(|(id, c)| (id.0, class_number(*c)))
            .collect(),
        port_functions,
        default_verdict: datapath_verdict(default),
    }
}

fn cost_of(tables: &DirectionTables, portfn_lookups: usize) -> LayoutCost {
    let class_entries = tables.class_of_identity.len();
    let portfn_entries = tables.port_functions.len();
    let interval_entries: usize = tables
        .port_functions
        .values()
        .map(|f| f.intervals().len())
        .sum();
    let max_intervals = tables
        .port_functions
        .values()
        .map(|f| f.intervals().len())
        .max()
        .unwrap_or(0);
    let search = if max_intervals <= 1 {
        usize::from(max_intervals == 1)
    } else {
        ceil_log2(max_intervals) + 1
    };
    let lookups = if tables.enforced {
        1 + 1 + portfn_lookups + search
    } else {
        1
    };
    let bytes = class_entries * CLASS_ENTRY_BYTES
        + portfn_entries * PORTFN_ENTRY_BYTES
        + interval_entries * INTERVAL_ENTRY_BYTES;
    LayoutCost {
        class_entries,
        portfn_entries,
        interval_entries,
        bytes,
        lookups_per_packet: lookups,
        score: bytes + LOOKUP_WEIGHT_BYTES * lookups,
    }
}

fn ceil_log2(n: usize) -> usize {
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
    if !tables.enforced {
        return (DpVerdict::Allow, 0);
    }
    let class = tables
        .class_of_identity
        .get(&identity)
        .copied()
        .unwrap_or(tables.unknown_class);
    let function = tables
        .port_functions
        .get(&(class, protocol))
        .or_else(|| tables.port_functions.get(&(class, 0)));
    match function.and_then(|f| f.lookup(port)) {
        Some(iv) => (iv.verdict, iv.rule_id),
        None => (tables.default_verdict, 0),
    }
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

    #[test_case(Encoding::Flat; "flat")]
    #[test_case(Encoding::Compressed; "compressed")]
    fn every_encoding_keeps_the_classes_meaning(encoding: Encoding) {
        let classes = sample();
        let tables = match encoding {
            Encoding::Flat => flat_tables(&classes),
            Encoding::Compressed => compressed_tables(&classes),
        };
        for identity in [300, 301, 302, 303, 999] {
            for protocol in [0, 1, 6, 17, 47, 58, 132] {
                for port in [0, 79, 80, 81, 65535] {
                    assert_eq!(
                        tables_decide(&tables, identity, protocol, port),
                        expected(&classes, identity, protocol, port),
                        "identity {identity} protocol {protocol} port {port}"
                    );
                }
            }
        }
    }

    #[test]
    fn compressed_elides_unknown_class_identities_and_fallback_copies() {
        let classes = sample();
        let flat = flat_tables(&classes);
        let compressed = compressed_tables(&classes);
        assert_eq!(flat.class_of_identity.len(), 4);
        assert_eq!(
            compressed.class_of_identity.len(),
            3,
            "identity 302 is in the unknown class"
        );
        // class 1: TCP only; class 2: protocol-0 allow; class 3: protocol-0 deny; class 0: nothing.
        assert_eq!(compressed.port_functions.len(), 3);
        assert!(cost_of(&compressed, 2).entries() < cost_of(&flat, 1).entries());
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

    #[test_case(1, 0; "one")]
    #[test_case(2, 1; "two")]
    #[test_case(3, 2; "three")]
    #[test_case(1024, 10; "power of two")]
    #[test_case(1025, 11; "just above")]
    fn ceil_log2_rounds_up(n: usize, expected: usize) {
        assert_eq!(ceil_log2(n), expected);
    }
}
