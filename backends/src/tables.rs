//! The per-endpoint decision tables the optimizer produces and the datapath consumes:
//! identity -> class, and per (class or identity, direction, protocol) a port function, kept
//! here as total covering intervals and encoded sparsely (a default plus the ranges that differ
//! from it, see [`PortFunction::sparse`]) by the map-image encoder.

use std::collections::BTreeMap;
use std::time::Duration;

use ipnet::IpNet;

use crate::error::BackendError;
use crate::layout::{Direction, Verdict, IDENTITY_WORLD, INLINE_RANGES, PROTOCOL_ANY};

/// Largest rule id accepted: rule ids index the per-CPU counters array (16 bytes per CPU each).
pub const MAX_RULE_ID: u32 = 1 << 20;

/// One interval `[lo, hi]` of a port function (ports, or ICMP types for ICMP/ICMPv6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortInterval {
    /// First port.
    pub lo: u16,
    /// Last port (inclusive).
    pub hi: u16,
    /// Verdict for every port of the interval.
    pub verdict: Verdict,
    /// Rule id credited in counters and events (0 = none). Must be < the counters size.
    pub rule_id: u32,
}

/// A total function from port (0..=65535) to verdict: intervals sorted, contiguous, covering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortFunction {
    intervals: Vec<PortInterval>,
}

impl PortFunction {
    /// Builds a function from disjoint ranges; ports outside every range get `fill`.
    /// Adjacent intervals with the same verdict and rule are merged.
    pub fn from_ranges(
        fill: (Verdict, u32),
        ranges: &[PortInterval],
    ) -> Result<PortFunction, BackendError> {
        let mut sorted = ranges.to_vec();
        sorted.sort_by_key(|r| (r.lo, r.hi));
        let mut out: Vec<PortInterval> = Vec::with_capacity(sorted.len() * 2 + 1);
        let mut next: u32 = 0;
        for r in sorted {
            if r.lo > r.hi || u32::from(r.lo) < next {
                return Err(BackendError::OverlappingRange { lo: r.lo, hi: r.hi });
            }
            if u32::from(r.lo) > next {
                push_merged(&mut out, gap(next, r.lo - 1, fill));
            }
            push_merged(&mut out, r);
            next = u32::from(r.hi) + 1;
        }
        if next <= u32::from(u16::MAX) {
            push_merged(&mut out, gap(next, u16::MAX, fill));
        }
        Ok(PortFunction { intervals: out })
    }

    /// A function with one verdict for every port.
    pub fn constant(verdict: Verdict, rule_id: u32) -> PortFunction {
        PortFunction {
            intervals: vec![PortInterval {
                lo: 0,
                hi: u16::MAX,
                verdict,
                rule_id,
            }],
        }
    }

    /// Takes intervals as they are; [`EndpointTables::validate`] checks them.
    pub fn from_intervals(intervals: Vec<PortInterval>) -> PortFunction {
        PortFunction { intervals }
    }

    /// The intervals, sorted by `lo`.
    pub fn intervals(&self) -> &[PortInterval] {
        &self.intervals
    }

    /// The sparse form the datapath stores: the (verdict, rule id) covering the most intervals
    /// becomes the default, every interval with another (verdict, rule id) is listed (adjacent
    /// intervals with equal verdict and rule merged). Ties: the lowest (verdict, rule id).
    pub fn sparse(&self) -> SparseFunction {
        let mut merged: Vec<PortInterval> = Vec::with_capacity(self.intervals.len());
        for iv in &self.intervals {
            push_merged(&mut merged, *iv);
        }
        let mut counts: BTreeMap<(Verdict, u32), usize> = BTreeMap::new();
        for iv in &merged {
            *counts.entry((iv.verdict, iv.rule_id)).or_default() += 1;
        }
        let default = counts
            .iter()
            .max_by_key(|(pair, n)| (**n, std::cmp::Reverse(**pair)))
            .map_or((Verdict::DefaultDeny, 0), |(pair, _)| *pair);
        SparseFunction {
            default,
            ranges: merged
                .into_iter()
                .filter(|iv| (iv.verdict, iv.rule_id) != default)
                .collect(),
        }
    }

    /// Map records the function takes: one `pc_portfn` entry plus the listed ranges beyond the
    /// [`INLINE_RANGES`] stored inline (each one `pc_intervals` record).
    pub fn entries(&self) -> usize {
        1 + self.sparse().ranges.len().saturating_sub(INLINE_RANGES)
    }

    /// The interval containing `port`, if the function is well formed.
    pub fn lookup(&self, port: u16) -> Option<&PortInterval> {
        let idx = self.intervals.partition_point(|iv| iv.lo <= port);
        self.intervals
            .get(idx.checked_sub(1)?)
            .filter(|iv| iv.hi >= port)
    }
}

/// A port function as the datapath stores it: ports in a listed range get the range's verdict,
/// every other port gets `default`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SparseFunction {
    /// (verdict, rule id) of ports outside every listed range.
    pub default: (Verdict, u32),
    /// Disjoint ranges sorted by `lo`, none with the default's (verdict, rule id).
    pub ranges: Vec<PortInterval>,
}

impl SparseFunction {
    /// The total function again.
    pub fn to_function(&self) -> Result<PortFunction, BackendError> {
        PortFunction::from_ranges(self.default, &self.ranges)
    }
}

fn gap(lo: u32, hi: u16, (verdict, rule_id): (Verdict, u32)) -> PortInterval {
    PortInterval {
        lo: u16::try_from(lo).unwrap_or(u16::MAX),
        hi,
        verdict,
        rule_id,
    }
}

fn push_merged(out: &mut Vec<PortInterval>, iv: PortInterval) {
    if let Some(last) = out.last_mut() {
        if last.verdict == iv.verdict
            && last.rule_id == iv.rule_id
            && u32::from(last.hi) + 1 == u32::from(iv.lo)
        {
            last.hi = iv.hi;
            return;
        }
    }
    out.push(iv);
}

/// One direction of an endpoint's policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectionTables {
    /// false = every packet passes (flows are still tracked so replies of the other direction pass).
    pub enforced: bool,
    /// Class whose functions apply when a peer has none of its own (see [`Self::function_for`]).
    pub unknown_class: u32,
    /// Peer identity -> class (class-keyed peers).
    pub class_of_identity: BTreeMap<u32, u32>,
    /// (class, IP protocol) -> port function. Protocol 0 ([`PROTOCOL_ANY`]) is the fallback for
    /// protocols without their own function, so a protocol's own function must already include
    /// what the fallback says for it.
    pub port_functions: BTreeMap<(u32, u8), PortFunction>,
    /// (peer identity, IP protocol) -> port function, for identities without a `pc_class`
    /// entry (identity-keyed peers); same protocol-0 fallback.
    pub identity_functions: BTreeMap<(u32, u8), PortFunction>,
    /// Verdict when neither the peer nor the unknown class has a function for the protocol.
    pub default_verdict: Verdict,
}

impl DirectionTables {
    /// Enforced direction with no rules: everything default-denied.
    pub fn default_deny() -> DirectionTables {
        DirectionTables {
            enforced: true,
            unknown_class: 0,
            class_of_identity: BTreeMap::new(),
            port_functions: BTreeMap::new(),
            identity_functions: BTreeMap::new(),
            default_verdict: Verdict::DefaultDeny,
        }
    }

    /// The port function the datapath applies to `identity` and `protocol`, in its lookup order:
    /// the peer's own functions (through its class when it has a `pc_class` entry, else keyed by
    /// the identity), exact protocol then protocol 0; failing both, the unknown class's, exact
    /// protocol then protocol 0. `None`: the default verdict applies.
    pub fn function_for(&self, identity: u32, protocol: u8) -> Option<&PortFunction> {
        fn find(
            map: &BTreeMap<(u32, u8), PortFunction>,
            id: u32,
            protocol: u8,
        ) -> Option<&PortFunction> {
            map.get(&(id, protocol))
                .or_else(|| map.get(&(id, PROTOCOL_ANY)))
        }
        let own = match self.class_of_identity.get(&identity) {
            Some(class) => find(&self.port_functions, *class, protocol),
            None => find(&self.identity_functions, identity, protocol),
        };
        own.or_else(|| find(&self.port_functions, self.unknown_class, protocol))
    }

    /// (verdict, rule id) the datapath gives a new flow (not counting conntrack and knobs).
    pub fn decide(&self, identity: u32, protocol: u8, port: u16) -> (Verdict, u32) {
        if !self.enforced {
            return (Verdict::Allow, 0);
        }
        match self
            .function_for(identity, protocol)
            .and_then(|f| f.lookup(port))
        {
            Some(iv) => (iv.verdict, iv.rule_id),
            None => (self.default_verdict, 0),
        }
    }

    /// Every (key, function) of the direction: class-keyed, then identity-keyed.
    pub fn all_functions(&self) -> impl Iterator<Item = (FunctionKey, &PortFunction)> {
        let classes = self.port_functions.iter().map(|(&(id, protocol), f)| {
            (
                FunctionKey::Class {
                    class: id,
                    protocol,
                },
                f,
            )
        });
        let identities = self.identity_functions.iter().map(|(&(id, protocol), f)| {
            (
                FunctionKey::Identity {
                    identity: id,
                    protocol,
                },
                f,
            )
        });
        classes.chain(identities)
    }

    /// Direction without policy: everything passes.
    pub fn not_enforced() -> DirectionTables {
        DirectionTables {
            enforced: false,
            default_verdict: Verdict::Allow,
            ..Self::default_deny()
        }
    }
}

/// What a port function is keyed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FunctionKey {
    /// A class's function for a protocol.
    Class {
        /// Class id.
        class: u32,
        /// IP protocol (0 = fallback).
        protocol: u8,
    },
    /// An identity-keyed function for a protocol.
    Identity {
        /// Peer identity.
        identity: u32,
        /// IP protocol (0 = fallback).
        protocol: u8,
    },
}

impl FunctionKey {
    /// (id, protocol) as stored in the key.
    pub fn id_and_protocol(self) -> (u32, u8) {
        match self {
            FunctionKey::Class { class, protocol } => (class, protocol),
            FunctionKey::Identity { identity, protocol } => (identity, protocol),
        }
    }
}

/// Per-endpoint knobs that end up in `.rodata`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatapathOptions {
    /// Identity of IPv4 addresses not in the ipcache (2 = world, or 9 = world-ipv4).
    pub world_identity_ipv4: u32,
    /// Identity of IPv6 addresses not in the ipcache (2 = world, or 10 = world-ipv6).
    pub world_identity_ipv6: u32,
    /// REDIRECT_L7 verdicts pass at L4 (otherwise they are dropped).
    pub l7_fallback_allow_l4: bool,
    /// Ingress from the host identity (1) always passes.
    pub allow_localhost: bool,
    /// Emit ring-buffer events for passed packets too (drops always emit).
    pub emit_allow_events: bool,
    /// ICMPv6 neighbor discovery (types 133..=137) passes regardless of policy; IPv6 does not
    /// work without it on the endpoint's link.
    pub allow_neighbor_discovery: bool,
    /// Conntrack lifetime of TCP flows.
    pub ct_lifetime_tcp: Duration,
    /// Conntrack lifetime of other flows.
    pub ct_lifetime_other: Duration,
    /// How long an allowed first fragment lets later fragments pass.
    pub frag_lifetime: Duration,
}

impl Default for DatapathOptions {
    fn default() -> Self {
        DatapathOptions {
            world_identity_ipv4: IDENTITY_WORLD,
            world_identity_ipv6: IDENTITY_WORLD,
            l7_fallback_allow_l4: false,
            allow_localhost: true,
            emit_allow_events: false,
            allow_neighbor_discovery: true,
            ct_lifetime_tcp: Duration::from_secs(21_600),
            ct_lifetime_other: Duration::from_secs(60),
            frag_lifetime: Duration::from_secs(30),
        }
    }
}

/// Everything one endpoint's object needs besides the node-wide ipcache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointTables {
    /// Endpoint id reported in events.
    pub endpoint_id: u32,
    /// Policy of traffic the endpoint receives.
    pub ingress: DirectionTables,
    /// Policy of traffic the endpoint sends.
    pub egress: DirectionTables,
    /// Knobs.
    pub options: DatapathOptions,
    /// The endpoint's own addresses: the only sources its egress may use (at most
    /// [`crate::layout::MAX_SOURCE_ADDRS`]; none = every egress packet drops).
    pub source_addrs: Vec<std::net::IpAddr>,
}

impl EndpointTables {
    /// The tables of one direction.
    pub fn direction(&self, direction: Direction) -> &DirectionTables {
        match direction {
            Direction::Ingress => &self.ingress,
            Direction::Egress => &self.egress,
        }
    }

    /// Checks every port function (non-empty, sorted, contiguous, covering 0..=65535) and
    /// that rule ids stay within [`MAX_RULE_ID`].
    pub fn validate(&self) -> Result<(), BackendError> {
        let rule_id = self.max_rule_id();
        if rule_id > MAX_RULE_ID {
            return Err(BackendError::RuleIdTooLarge {
                rule_id,
                max: MAX_RULE_ID,
            });
        }
        for direction in Direction::ALL {
            for (key, function) in self.direction(*direction).all_functions() {
                let (id, protocol) = key.id_and_protocol();
                validate_function(id, *direction, protocol, function.intervals())?;
            }
        }
        Ok(())
    }

    /// Highest rule id mentioned anywhere (sizes the counters map).
    pub fn max_rule_id(&self) -> u32 {
        Direction::ALL
            .iter()
            .flat_map(|d| self.direction(*d).all_functions().map(|(_, f)| f))
            .flat_map(|f| f.intervals().iter().map(|iv| iv.rule_id))
            .max()
            .unwrap_or(0)
    }
}

fn validate_function(
    class: u32,
    direction: Direction,
    protocol: u8,
    intervals: &[PortInterval],
) -> Result<(), BackendError> {
    let bad = |index, problem| BackendError::BadInterval {
        class,
        direction,
        protocol,
        index,
        problem,
    };
    let Some(first) = intervals.first() else {
        return Err(BackendError::EmptyPortFunction {
            class,
            direction,
            protocol,
        });
    };
    if first.lo != 0 {
        return Err(bad(0, "first interval does not start at port 0"));
    }
    for (index, iv) in intervals.iter().enumerate() {
        if iv.lo > iv.hi {
            return Err(bad(index, "lo > hi"));
        }
        if let Some(next) = intervals.get(index + 1) {
            if u32::from(iv.hi) + 1 != u32::from(next.lo) {
                return Err(bad(index, "gap or overlap with the next interval"));
            }
        } else if iv.hi != u16::MAX {
            return Err(bad(index, "last interval does not end at port 65535"));
        }
    }
    Ok(())
}

/// One node-wide ipcache entry: every address in `prefix` has `identity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct IpcacheEntry {
    /// Address prefix (host bits are ignored).
    pub prefix: IpNet,
    /// Security identity.
    pub identity: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iv(lo: u16, hi: u16, verdict: Verdict, rule_id: u32) -> PortInterval {
        PortInterval {
            lo,
            hi,
            verdict,
            rule_id,
        }
    }

    #[test]
    fn from_ranges_fills_gaps_and_covers_the_port_space() {
        let f = PortFunction::from_ranges(
            (Verdict::DefaultDeny, 0),
            &[
                iv(80, 80, Verdict::Allow, 1),
                iv(8000, 8080, Verdict::Deny, 2),
            ],
        );
        let f = f.expect("disjoint ranges");
        let got: Vec<_> = f
            .intervals()
            .iter()
            .map(|i| (i.lo, i.hi, i.verdict))
            .collect();
        assert_eq!(
            got,
            vec![
                (0, 79, Verdict::DefaultDeny),
                (80, 80, Verdict::Allow),
                (81, 7999, Verdict::DefaultDeny),
                (8000, 8080, Verdict::Deny),
                (8081, 65535, Verdict::DefaultDeny),
            ]
        );
        assert_eq!(f.lookup(8080).map(|i| i.verdict), Some(Verdict::Deny));
        assert_eq!(
            f.lookup(8081).map(|i| i.verdict),
            Some(Verdict::DefaultDeny)
        );
    }

    #[test]
    fn sparse_form_lists_what_differs_from_the_most_common_verdict() {
        let f = PortFunction::from_ranges(
            (Verdict::Allow, 1),
            &[
                iv(80, 80, Verdict::Deny, 2),
                iv(1024, 65535, Verdict::DefaultDeny, 0),
            ],
        )
        .expect("disjoint ranges");
        let sparse = f.sparse();
        assert_eq!(sparse.default, (Verdict::Allow, 1));
        assert_eq!(
            sparse.ranges,
            vec![
                iv(80, 80, Verdict::Deny, 2),
                iv(1024, 65535, Verdict::DefaultDeny, 0)
            ]
        );
        assert_eq!(sparse.to_function(), Ok(f.clone()));
        assert_eq!(f.entries(), 1);
        assert_eq!(
            PortFunction::constant(Verdict::Allow, 0).sparse().ranges,
            vec![]
        );
    }

    #[test]
    fn functions_beyond_the_inline_ranges_take_overflow_records() {
        let ranges: Vec<PortInterval> = (0..10)
            .map(|i| iv(100 + i * 10, 100 + i * 10, Verdict::Allow, 1 + u32::from(i)))
            .collect();
        let f = PortFunction::from_ranges((Verdict::DefaultDeny, 0), &ranges).expect("disjoint");
        assert_eq!(f.entries(), 1 + 10 - INLINE_RANGES);
    }

    #[test]
    fn peers_without_functions_fall_back_to_the_unknown_class() {
        let mut t = DirectionTables::default_deny();
        t.unknown_class = 4;
        t.port_functions
            .insert((4, 6), PortFunction::constant(Verdict::Allow, 1));
        t.class_of_identity.insert(100, 1);
        t.port_functions
            .insert((1, 0), PortFunction::constant(Verdict::Deny, 2));
        t.identity_functions
            .insert((200, 17), PortFunction::constant(Verdict::Allow, 3));
        assert_eq!(t.decide(100, 6, 80), (Verdict::Deny, 2));
        assert_eq!(t.decide(200, 17, 53), (Verdict::Allow, 3));
        assert_eq!(t.decide(200, 6, 80), (Verdict::Allow, 1));
        assert_eq!(t.decide(200, 1, 0), (Verdict::DefaultDeny, 0));
        assert_eq!(t.decide(300, 6, 22), (Verdict::Allow, 1));
    }

    #[test]
    fn overlapping_ranges_are_rejected() {
        let f = PortFunction::from_ranges(
            (Verdict::DefaultDeny, 0),
            &[iv(80, 90, Verdict::Allow, 1), iv(85, 95, Verdict::Deny, 2)],
        );
        assert_eq!(f, Err(BackendError::OverlappingRange { lo: 85, hi: 95 }));
    }

    #[test]
    fn rule_ids_beyond_the_counter_bound_are_rejected() {
        let mut tables = EndpointTables {
            endpoint_id: 1,
            ingress: DirectionTables::default_deny(),
            egress: DirectionTables::default_deny(),
            options: DatapathOptions::default(),
            source_addrs: Vec::new(),
        };
        tables.egress.port_functions.insert(
            (0, 0),
            PortFunction::constant(Verdict::Allow, MAX_RULE_ID + 1),
        );
        let err = tables.validate();
        assert_eq!(
            err,
            Err(BackendError::RuleIdTooLarge {
                rule_id: MAX_RULE_ID + 1,
                max: MAX_RULE_ID
            })
        );
    }

    #[test]
    fn validation_rejects_gaps() {
        let mut tables = EndpointTables {
            endpoint_id: 1,
            ingress: DirectionTables::default_deny(),
            egress: DirectionTables::not_enforced(),
            options: DatapathOptions::default(),
            source_addrs: Vec::new(),
        };
        tables.ingress.port_functions.insert(
            (1, 6),
            PortFunction::from_intervals(vec![
                iv(0, 79, Verdict::DefaultDeny, 0),
                iv(81, 65535, Verdict::Allow, 1),
            ]),
        );
        assert!(matches!(
            tables.validate(),
            Err(BackendError::BadInterval { index: 0, .. })
        ));
    }
}
