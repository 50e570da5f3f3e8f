//! Differential test, oracle vs kernel: every probe of the example policies and of generated
//! policy sets (boundary ports, range edges, IPv4 and IPv6, unknown peers, ICMP types) runs
//! through the compiled endpoint program under BPF_PROG_TEST_RUN and must get the oracle's
//! verdict, and the reply of every flow the kernel passed must pass too (conntrack). Both
//! datapaths run the same probes: the template (table-driven `policy_lookup`) and
//! `--specialize` (generated `policy_lookup` compiled with clang; objects cached under the
//! cargo target tmpdir). Needs root (CAP_BPF); fails loudly without it unless
//! POLICYC_SKIP_KERNEL_TESTS=1.

use policyc::kernel::tables::{agrees, KernelChecker};
use policyc_build::specialize::{specialize, SpecializeOptions};
use policyc_build::{compile, load_inputs};
use policyc_diagnostics::source::SourceMap;
use policyc_ir::universe::Universe;
use policyc_ir::PolicyRule;
use policyc_testsuite::gen::{generate, probes::probes};
use std::path::PathBuf;
use std::time::Instant;

const GENERATED_SETS: u64 = 16;
const MIN_PACKETS: u64 = 100_000;
/// `make soak`: keep generating policy sets (seed 16, 17, …) until this many packets went
/// through the kernel (unset: the 16 sets of `make test`).
const SOAK_PACKETS: &str = "POLICYC_SOAK_PACKETS";

fn soak_packets() -> u64 {
    std::env::var(SOAK_PACKETS)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}
const MAX_REPORTED_MISMATCHES: usize = 20;

fn skip_kernel_tests() -> bool {
    std::env::var("POLICYC_SKIP_KERNEL_TESTS").is_ok_and(|v| v == "1")
}

/// Which datapath the endpoints run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Datapath {
    Template,
    Specialized,
}

fn specialize_options() -> SpecializeOptions {
    SpecializeOptions {
        cache_dir: PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("specialize-cache"),
        ..SpecializeOptions::default()
    }
}

/// Runs every probe of one set in the kernel; returns (packets, mismatch descriptions).
fn run_set(
    name: &str,
    universe: &Universe,
    rules: &[PolicyRule],
    datapath: Datapath,
) -> (u64, Vec<String>) {
    let mut compilation =
        compile(universe, rules, &|| {}).unwrap_or_else(|e| panic!("{name}: compile failed: {e}"));
    if datapath == Datapath::Specialized {
        let done = specialize(&mut compilation, &specialize_options(), &|_| {}, &|| {})
            .unwrap_or_else(|e| panic!("{name}: --specialize failed: {e}"));
        let generic: Vec<&str> = done
            .report
            .endpoints
            .iter()
            .filter(|e| !e.specialized)
            .map(|e| e.name.as_str())
            .collect();
        // Endpoints without an enforced direction never reach policy_lookup: template by design.
        for e in &compilation.endpoints {
            let enforced = e.images.config.enforced.iter().any(|x| *x != 0);
            assert_eq!(
                e.object.is_specialized(),
                enforced,
                "{name}: {} specialized={} (template endpoints: {generic:?})",
                e.key,
                e.object.is_specialized()
            );
        }
    }
    let mut checker = KernelChecker::new(&compilation);
    let mut mismatches = Vec::new();
    for probe in probes(universe, rules) {
        let (kernel, reply) = match checker.run_with_reply(&probe.endpoint, probe.side, true) {
            Ok(k) => k,
            Err(e) => panic!(
                "{name}: BPF datapath unavailable or failing ({e}); run as root, or set POLICYC_SKIP_KERNEL_TESTS=1 to skip"
            ),
        };
        if let Some(reply) = reply.filter(|r| !r.passed) {
            mismatches.push(format!(
                "{name}: endpoint {} {} peer {} {}: the reply of an allowed flow was dropped: {reply}",
                probe.endpoint, probe.side.direction, probe.side.peer, probe.side.transport
            ));
        }
        if !agrees(probe.expected, kernel) {
            mismatches.push(format!(
                "{name}: endpoint {} {} peer {} (identity {}) {}: kernel {kernel}, oracle {} ({})",
                probe.endpoint,
                probe.side.direction,
                probe.side.peer,
                probe.peer_identity,
                probe.side.transport,
                probe.expected,
                probe.oracle_detail
            ));
        }
    }
    (checker.packets(), mismatches)
}

#[test]
fn kernel_agrees_with_oracle_on_examples_and_generated_sets() {
    run_differential(Datapath::Template);
}

#[test]
fn specialized_kernel_agrees_with_oracle_on_examples_and_generated_sets() {
    run_differential(Datapath::Specialized);
}

fn run_differential(datapath: Datapath) {
    if skip_kernel_tests() {
        eprintln!(
            "SKIPPED: POLICYC_SKIP_KERNEL_TESTS=1 (differential oracle-vs-kernel test not run)"
        );
        return;
    }
    let started = Instant::now();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut sources = SourceMap::default();
    let (universe, rules, _) = load_inputs(
        &root.join("policy-examples/inventory.yaml"),
        &[root.join("policy-examples/policies")],
        Default::default(),
        &mut sources,
    )
    .expect("examples load");
    let (mut packets, mut mismatches) = run_set("policy-examples", &universe, &rules, datapath);
    let soak = soak_packets();
    let mut seed = 0;
    while seed < GENERATED_SETS || packets < soak {
        let set = generate(seed);
        seed += 1;
        let universe = set.universe().expect("universe");
        let (n, m) = run_set(
            &format!("generated seed {seed}"),
            &universe,
            &set.rules,
            datapath,
        );
        packets += n;
        mismatches.extend(m);
    }
    println!(
        "{datapath:?}: {packets} packets through the kernel ({seed} generated sets) in {:.1?}, {} mismatches",
        started.elapsed(),
        mismatches.len()
    );
    assert!(
        mismatches.is_empty(),
        "{} of {packets} packets disagree with the oracle; first ones:\n{}",
        mismatches.len(),
        mismatches
            .iter()
            .take(MAX_REPORTED_MISMATCHES)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        packets >= MIN_PACKETS,
        "only {packets} packets (want at least {MIN_PACKETS})"
    );
}
