//! Flow peers named by workload (`web/frontend`: pods through ownerReferences) or by label
//! selector (`web/app=api`) on a kubectl inventory (`fixtures/workloads/`): each resolves to one
//! pod standing for pods of one identity, or errors naming the candidates.

use policyc_analysis::flowtest::{resolve_peer, run_file, RunOptions, Summary};
use policyc_diagnostics::source::SourceMap;
use policyc_frontend::identity::build_universe;
use policyc_frontend::inventory::{load_inventory_with_workloads, InventoryOptions, Workloads};
use policyc_ir::oracle::FlowPeer;
use policyc_ir::universe::{EndpointKey, Universe};
use std::path::Path;
use test_case::test_case;

fn fixture() -> (Universe, Workloads) {
    let mut sources = SourceMap::new();
    let (inventory, workloads) = load_inventory_with_workloads(
        Path::new("fixtures/workloads/inventory.yaml"),
        &InventoryOptions::default(),
        &mut sources,
    )
    .unwrap_or_else(|f| panic!("fixture inventory is invalid: {f:?}"));
    let universe = build_universe(&inventory, &[], Default::default())
        .unwrap_or_else(|e| panic!("fixture universe: {e}"));
    (universe, workloads)
}

#[test_case("web/frontend", "web/frontend-5c4b3a2d1-q9w8e"; "deployment from pod template hash across a rollout")]
#[test_case("web/api", "web/api-6f7d8c9b4-aaaaa"; "deployment from the replicaset object")]
#[test_case("web/frontend-7d9f8b6c5", "web/frontend-7d9f8b6c5-k8m2p"; "replicaset name")]
#[test_case("web/db", "web/db-0"; "statefulset whose pods differ in pod-name labels")]
#[test_case("web/migrate", "web/migrate-x7k2p"; "job")]
#[test_case("web/log-agent", "web/log-agent-4kq7z"; "daemonset")]
#[test_case("web/app=api", "web/api-6f7d8c9b4-aaaaa"; "selector with one pod")]
#[test_case("web/app=db", "web/db-0"; "selector over a statefulset")]
#[test_case("web/app=worker,track=canary", "web/worker-canary-9a8b7c6d5-cnry1"; "selector with two labels")]
#[test_case("web/ app = api ", "web/api-6f7d8c9b4-aaaaa"; "selector with spaces")]
#[test_case("web/api-6f7d8c9b4-aaaaa", "web/api-6f7d8c9b4-aaaaa"; "pod name wins")]
fn names_resolve_to_one_pod(text: &str, pod: &str) {
    let (universe, workloads) = fixture();
    let expected = EndpointKey::parse(pod).map(FlowPeer::Endpoint);
    assert_eq!(resolve_peer(text, &universe, &workloads).ok(), expected);
}

#[test_case("web/app=worker", "PC0413", &["identity", "web/worker-canary-9a8b7c6d5-cnry1", "web/worker-8b7c6d5e4-stbl1", "track=canary", "track=stable"]; "selector over two identities")]
#[test_case("web/frontnd", "PC0403", &["did you mean `web/frontend`?"]; "misspelt workload")]
#[test_case("web/zzzzzzzzzzzzzz", "PC0403", &["pods and workloads in `web`", "web/frontend"]; "unknown name lists the namespace")]
#[test_case("web/app=apii", "PC0403", &["did you mean `app=api`?"]; "selector matching nothing")]
#[test_case("web/color=blue", "PC0403", &["labels of the pods in `web`", "app=api"]; "selector key nobody has")]
#[test_case("shop/app=api", "PC0403", &["namespaces with pods: web"]; "selector in a namespace without pods")]
#[test_case("web/app=api,=x", "PC0403", &["not a label selector"]; "malformed selector")]
#[test_case("web/app=a=b", "PC0403", &["not a label selector"]; "two equals signs")]
fn bad_names_error_with_candidates(text: &str, code: &str, mentions: &[&str]) {
    let (universe, workloads) = fixture();
    let err = match resolve_peer(text, &universe, &workloads) {
        Ok(peer) => panic!("{text} resolved to {peer:?}"),
        Err(e) => e,
    };
    assert_eq!(err.code.id, code, "{err:?}");
    let all = format!("{} {}", err.message, err.help.unwrap_or_default());
    for m in mentions {
        assert!(all.contains(m), "missing {m:?} in {all:?}");
    }
}

#[test]
fn workload_names_need_the_workloads() {
    // Without owner information (a native inventory) only pod names resolve.
    let (universe, _) = fixture();
    assert!(resolve_peer("web/frontend", &universe, &Workloads::default()).is_err());
}

#[test]
fn the_workload_flow_tests_pass() {
    let mut sources = SourceMap::new();
    let reports = run_file(
        Path::new("fixtures/workloads/flowtests.yaml"),
        &RunOptions::default(),
        &mut sources,
    )
    .unwrap_or_else(|f| panic!("{f:?}"));
    let summary = Summary::of(&reports);
    assert_eq!((summary.passed, summary.failed), (8, 0));
}

#[test_case("fixtures/workloads/errors/ambiguous.yaml", &["PC0413"]; "ambiguous")]
#[test_case("fixtures/workloads/errors/unknown.yaml", &["PC0403", "PC0403"]; "unknown workload and selector")]
fn bad_names_are_load_errors(file: &str, codes: &[&str]) {
    let mut sources = SourceMap::new();
    match run_file(Path::new(file), &RunOptions::default(), &mut sources) {
        Ok(_) => panic!("{file} loaded"),
        Err(findings) => {
            let got: Vec<&str> = findings.iter().map(|f| f.code.id).collect();
            assert_eq!(got, codes);
        }
    }
}
