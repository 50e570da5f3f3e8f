//! The datapath's bounded binary search agrees with `PortFunction::lookup` on functions of
//! 1 to 65,536 intervals (every power-of-two boundary nearby), at every interval edge
//! (lo - 1, lo, hi, hi + 1) and at pseudo-random ports.

use crate::common;

use std::collections::BTreeSet;

use common::*;
use policyc_backends::layout::{Direction, Verdict};
use policyc_backends::{
    DatapathOptions, DirectionTables, EndpointTables, IpcacheEntry, PortFunction, PortInterval,
};
use policyc_kernel::packet::Packet;
use policyc_kernel::AttachKind;

/// xorshift64*: deterministic pseudo-random numbers without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const VERDICTS: [Verdict; 5] = [
    Verdict::Allow,
    Verdict::Deny,
    Verdict::DefaultDeny,
    Verdict::RedirectL7,
    Verdict::AuthRequired,
];

/// A function of exactly `count` intervals with random boundaries and verdicts.
fn random_function(rng: &mut Rng, count: usize, rule_base: u32) -> PortFunction {
    let mut starts = BTreeSet::from([0u32]);
    while starts.len() < count {
        starts.insert(u32::try_from(rng.below(65_536)).unwrap_or(0));
    }
    let starts: Vec<u32> = starts.into_iter().collect();
    let intervals = starts
        .iter()
        .enumerate()
        .map(|(i, &lo)| {
            let hi = starts.get(i + 1).map_or(65_535, |next| next - 1);
            let verdict = VERDICTS[usize::try_from(rng.below(5)).unwrap_or(0)];
            PortInterval {
                lo: u16::try_from(lo).unwrap_or(u16::MAX),
                hi: u16::try_from(hi).unwrap_or(u16::MAX),
                verdict,
                rule_id: rule_base + u32::try_from(i).unwrap_or(0),
            }
        })
        .collect();
    PortFunction::from_intervals(intervals)
}

#[test]
fn binary_search_matches_the_reference_lookup() {
    if !kernel_tests_enabled() {
        return;
    }
    let counts = [
        1usize, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 100, 1000, 4096, 65_536,
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut ingress = DirectionTables::default_deny();
    let mut ipcache = Vec::new();
    let mut functions = Vec::new();
    let mut rule_base = 1;
    for (i, &count) in counts.iter().enumerate() {
        let class = u32::try_from(i).unwrap_or(0) + 1;
        let identity = 50_000 + class;
        let function = random_function(&mut rng, count, rule_base);
        assert_eq!(function.intervals().len(), count);
        rule_base += u32::try_from(count).unwrap_or(0);
        ingress.class_of_identity.insert(identity, class);
        ingress.port_functions.insert((class, 6), function.clone());
        let peer = format!("10.9.0.{class}");
        ipcache.push(IpcacheEntry {
            prefix: format!("{peer}/32")
                .parse()
                .unwrap_or_else(|e| panic!("{e}")),
            identity,
        });
        functions.push((peer, function));
    }
    let mut tables = EndpointTables {
        endpoint_id: 3,
        ingress,
        egress: DirectionTables::not_enforced(),
        options: DatapathOptions::default(),
        source_addrs: endpoint_addrs(),
    };
    tables.options.ct_lifetime_tcp = std::time::Duration::from_secs(1);
    let h = harness(&tables, &ipcache);

    let mut sport: u16 = 1;
    let mut checked = 0usize;
    for (peer, function) in &functions {
        let mut ports = BTreeSet::new();
        let intervals = function.intervals();
        let step = (intervals.len() / 1500).max(1);
        for iv in intervals.iter().step_by(step) {
            for p in [
                i64::from(iv.lo) - 1,
                i64::from(iv.lo),
                i64::from(iv.hi),
                i64::from(iv.hi) + 1,
            ] {
                if let Ok(p) = u16::try_from(p) {
                    ports.insert(p);
                }
            }
        }
        for _ in 0..64 {
            ports.insert(u16::try_from(rng.below(65_536)).unwrap_or(0));
        }
        for port in ports {
            let expected = function
                .lookup(port)
                .unwrap_or_else(|| panic!("reference has a hole"));
            sport = sport.wrapping_add(1).max(1); // a new flow each time: no conntrack hits
            let frame = Packet::tcp(ip(peer), ip(ENDPOINT_V4), sport, port).frame();
            let o = h
                .run(Direction::Ingress, AttachKind::Tcx, &frame)
                .unwrap_or_else(|e| panic!("{e}"));
            let event = o.event.unwrap_or_else(|| panic!("no event"));
            assert_eq!(
                (event.verdict(), event.rule_id),
                (Some(expected.verdict), expected.rule_id),
                "{} intervals, port {port}",
                intervals.len()
            );
            checked += 1;
        }
    }
    assert!(checked > 5_000, "only {checked} ports checked");
}
