//! Without a kernel: the tables the optimizer lays out decide every probe (boundary ports,
//! range edges, ICMP types, IPv4/IPv6, unknown peers) exactly as the oracle does, for the
//! example policies and for generated policy sets. Walks the tables in the datapath's lookup
//! order (`tables_decide`), and the decision DAG too.

use policyc::kernel::tables::{agrees, KernelSide};
use policyc_backends::layout::Verdict as DpVerdict;
use policyc_build::compile;
use policyc_build::load_inputs;
use policyc_compile::optimize::layout::{datapath_rule_id, datapath_verdict, tables_decide};
use policyc_compile::resolve::PolicyProtocol;
use policyc_diagnostics::source::SourceMap;
use policyc_ir::universe::Universe;
use policyc_ir::PolicyRule;
use policyc_testsuite::gen::{generate, probes::probes};
use std::path::PathBuf;

/// Returns (probes, passing probes).
fn check(name: &str, universe: &Universe, rules: &[PolicyRule]) -> (usize, usize) {
    let compilation =
        compile(universe, rules, &|| {}).unwrap_or_else(|e| panic!("{name}: compile failed: {e}"));
    let probes = probes(universe, rules);
    for probe in &probes {
        let endpoint = compilation
            .endpoint(&probe.endpoint)
            .unwrap_or_else(|| panic!("{name}: no endpoint"));
        let direction_tables = match probe.side.direction {
            policyc_ir::Direction::Ingress => &endpoint.optimized.tables.ingress,
            policyc_ir::Direction::Egress => &endpoint.optimized.tables.egress,
        };
        let protocol = probe.side.transport.protocol().number();
        let port = match probe.side.transport {
            policyc_ir::oracle::Transport::Icmp { icmp_type, .. } => u16::from(icmp_type),
            other => other.port().unwrap_or(0),
        };
        let (verdict, rule_id) =
            tables_decide(direction_tables, probe.peer_identity, protocol, port);
        let lookup = direction_tables.enforced.then_some(verdict);
        let got = KernelSide {
            passed: verdict == DpVerdict::Allow,
            verdict: lookup,
            reason: None,
            identity: Some(probe.peer_identity),
            rule_id: Some(rule_id),
        };
        // The decision DAG (what diff/explain read) must say the same.
        let classes = endpoint.optimized.classes(probe.side.direction);
        let class = classes.class_for(policyc_ir::NumericIdentity(probe.peer_identity));
        let dag = endpoint.optimized.dag().decide(
            probe.side.direction,
            class,
            PolicyProtocol::of(probe.side.transport.protocol()),
            port,
        );
        let (dag_verdict, dag_rule) =
            dag.unwrap_or_else(|| panic!("{name}: DAG has no path for {class:?}"));
        assert_eq!(
            // A direction laid out as "not enforced" credits no rule.
            (
                datapath_verdict(dag_verdict),
                if direction_tables.enforced {
                    datapath_rule_id(dag_rule)
                } else {
                    0
                }
            ),
            (verdict, rule_id),
            "{name}: DAG and tables disagree for {} {} peer {} {}",
            probe.endpoint,
            probe.side.direction,
            probe.side.peer,
            probe.side.transport
        );
        assert!(
            agrees(probe.expected, got),
            "{name}: {} {} peer {} (identity {}) {}: tables say {got}, oracle says {} ({})",
            probe.endpoint,
            probe.side.direction,
            probe.side.peer,
            probe.peer_identity,
            probe.side.transport,
            probe.expected,
            probe.oracle_detail
        );
    }
    (
        probes.len(),
        probes.iter().filter(|p| p.expected.passes).count(),
    )
}

#[test]
fn example_policies_tables_agree_with_oracle() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut sources = SourceMap::default();
    let (universe, rules, _) = load_inputs(
        &root.join("policy-examples/inventory.yaml"),
        &[root.join("policy-examples/policies")],
        Default::default(),
        &mut sources,
    )
    .expect("examples load");
    let (n, passing) = check("policy-examples", &universe, &rules);
    assert!(n > 1000, "only {n} probes");
    assert!(
        passing > 0 && passing < n,
        "{passing} of {n} probes pass: the probes do not exercise both outcomes"
    );
}

#[test]
fn generated_policy_sets_tables_agree_with_oracle() {
    let (mut total, mut passing) = (0, 0);
    for seed in 0..40 {
        let set = generate(seed);
        let universe = set.universe().expect("universe");
        let (n, p) = check(&format!("seed {seed}"), &universe, &set.rules);
        total += n;
        passing += p;
    }
    println!("{total} probes, {passing} pass");
    assert!(total > 10_000, "only {total} probes");
    assert!(
        passing > total / 20 && passing < total - total / 20,
        "{passing} of {total} pass: too one-sided"
    );
}
