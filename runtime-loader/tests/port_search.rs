//! The datapath's bounded binary search agrees with `PortFunction::lookup` on functions of
//! 1 to 65,536 intervals (every power-of-two boundary nearby), at every interval edge
//! (lo - 1, lo, hi, hi + 1) and at random ports; the functions and ports are proptest
//! strategies.

use crate::common;

use std::cell::Cell;
use std::collections::BTreeSet;

use common::*;
use policyc_backends::layout::{Direction, Verdict};
use policyc_backends::{
    DatapathOptions, DirectionTables, EndpointTables, IpcacheEntry, PortFunction, PortInterval,
};
use policyc_kernel::packet::Packet;
use policyc_kernel::AttachKind;
use proptest::arbitrary::any;
use proptest::collection;
use proptest::prop_assert_eq;
use proptest::sample::{select, subsequence};
use proptest::strategy::Strategy;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

const VERDICTS: [Verdict; 5] = [
    Verdict::Allow,
    Verdict::Deny,
    Verdict::DefaultDeny,
    Verdict::RedirectL7,
    Verdict::AuthRequired,
];

/// Interval counts of the functions of one case: every power-of-two boundary up to 32, then
/// large ones up to every port its own interval.
const COUNTS: [usize; 18] = [
    1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 100, 1000, 4096, 65_536,
];

/// A function of exactly `count` intervals with random boundaries and verdicts: interval `i`
/// starts at the `i`-th of `count - 1` distinct ports of 1..=65535 (the first at 0).
fn function(count: usize) -> impl Strategy<Value = Vec<(u16, Verdict)>> {
    let ports: Vec<u16> = (1..=u16::MAX).collect();
    (
        subsequence(ports, count - 1),
        collection::vec(select(&VERDICTS[..]), count),
    )
        .prop_map(|(starts, verdicts)| std::iter::once(0).chain(starts).zip(verdicts).collect())
}

/// A function to load (interval starts and verdicts) and the random ports to probe it at.
#[derive(Debug, Clone)]
struct Probed {
    intervals: Vec<(u16, Verdict)>,
    random_ports: Vec<u16>,
}

/// One case: a function of each size in `COUNTS`, each with 64 random ports.
fn case() -> impl Strategy<Value = Vec<Probed>> {
    COUNTS
        .iter()
        .map(|&count| {
            (function(count), collection::vec(any::<u16>(), 64)).prop_map(
                |(intervals, random_ports)| Probed {
                    intervals,
                    random_ports,
                },
            )
        })
        .collect::<Vec<_>>()
}

fn port_function(intervals: &[(u16, Verdict)], rule_base: u32) -> PortFunction {
    PortFunction::from_intervals(
        intervals
            .iter()
            .enumerate()
            .map(|(i, &(lo, verdict))| PortInterval {
                lo,
                hi: intervals.get(i + 1).map_or(u16::MAX, |next| next.0 - 1),
                verdict,
                rule_id: rule_base + u32::try_from(i).unwrap_or(0),
            })
            .collect(),
    )
}

/// Loads one datapath with every function of `case` (peer `10.9.0.<n>`) and checks each at
/// its interval edges (lo - 1, lo, hi, hi + 1; at most ~1500 intervals sampled) and at its
/// random ports. Returns the number of ports checked.
fn check(case: &[Probed]) -> Result<usize, TestCaseError> {
    let mut ingress = DirectionTables::default_deny();
    let mut ipcache = Vec::new();
    let mut functions = Vec::new();
    let mut rule_base = 1;
    for (i, probed) in case.iter().enumerate() {
        let (intervals, random_ports) = (&probed.intervals, &probed.random_ports);
        let class = u32::try_from(i).unwrap_or(0) + 1;
        let identity = 50_000 + class;
        let function = port_function(intervals, rule_base);
        prop_assert_eq!(function.intervals().len(), intervals.len());
        rule_base += u32::try_from(intervals.len()).unwrap_or(0);
        ingress.class_of_identity.insert(identity, class);
        ingress.port_functions.insert((class, 6), function.clone());
        let peer = format!("10.9.0.{class}");
        ipcache.push(IpcacheEntry {
            prefix: format!("{peer}/32")
                .parse()
                .unwrap_or_else(|e| panic!("{e}")),
            identity,
        });
        functions.push((peer, function, random_ports));
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
    for (peer, function, random_ports) in &functions {
        let mut ports: BTreeSet<u16> = random_ports.iter().copied().collect();
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
            prop_assert_eq!(
                (event.verdict(), event.rule_id),
                (Some(expected.verdict), expected.rule_id),
                "{} intervals, port {}",
                intervals.len(),
                port
            );
            checked += 1;
        }
    }
    Ok(checked)
}

#[test]
fn binary_search_matches_the_reference_lookup() {
    if !kernel_tests_enabled() {
        return;
    }
    // Two datapaths of 18 random functions each (was one, from a hand-written xorshift).
    // Shrinking reloads a datapath per step: bounded, the failing port is named anyway.
    let mut runner = TestRunner::new(Config {
        cases: 2,
        max_shrink_iters: 64,
        failure_persistence: None,
        ..Config::default()
    });
    let checked = Cell::new(0usize);
    runner
        .run(&case(), |case| {
            checked.set(checked.get() + check(&case)?);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let checked = checked.get();
    eprintln!("{checked} ports checked");
    assert!(checked > 10_000, "only {checked} ports checked");
}
