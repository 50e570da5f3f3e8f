//! Bad references given to `policyc explain` (unknown endpoint, bad address, set-valued or
//! unknown entity) are errors pointing at the argument, with "did you mean" help.

use policyc_analysis::explain::Session;
use policyc_analysis::flowtest::RunOptions;
use policyc_diagnostics::{render, Format, RenderOptions};
use std::path::PathBuf;
use test_case::test_case;

fn session() -> Session {
    let inventory = PathBuf::from("../policy-examples/inventory.yaml");
    let policies = vec![PathBuf::from("../policy-examples/policies")];
    match Session::load(&inventory, &policies, &RunOptions::default()) {
        Ok(s) => s,
        Err(f) => panic!("examples do not load: {:?}", f.findings),
    }
}

#[test_case("unknown_endpoint", "shop/frontnd"; "misspelt endpoint")]
#[test_case("bare_pod_name", "frontend"; "pod name without namespace")]
#[test_case("bad_address", "198.51.100.300"; "bad address")]
#[test_case("set_entity", "cluster"; "entity that is a set")]
#[test_case("unknown_entity", "wrld"; "misspelt entity")]
fn explain_peer_errors(name: &str, text: &str) {
    let mut s = session();
    let finding = match s.peer("--from", text) {
        Ok(p) => panic!("{text} resolved to {p}"),
        Err(f) => *f,
    };
    let out = render(
        Format::Human,
        &[finding],
        &s.sources,
        &RenderOptions::default(),
    );
    insta::assert_snapshot!(name, out);
}

#[test]
fn inventory_errors_stop_loading() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let inv = dir.path().join("inv.yaml");
    let text = "apiVersion: policyc/v1\nkind: Inventory\nendpoints:\n  - {name: a, namespace: x, ips: [1.2.3]}\n";
    std::fs::write(&inv, text).unwrap_or_else(|e| panic!("{e}"));
    let failure = match Session::load(
        &inv,
        &[PathBuf::from("../policy-examples/policies")],
        &RunOptions::default(),
    ) {
        Ok(_) => panic!("bad inventory loaded"),
        Err(f) => f,
    };
    assert!(failure.findings.iter().any(|f| f.code.id == "PC0406"));
}
