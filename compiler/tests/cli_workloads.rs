//! `policyc test` and `explain` on a kubectl inventory, naming pods by workload
//! (`web/frontend`) and by label selector (`web/app=api`); ambiguous and unknown names are
//! errors that name the candidates.

use crate::cli_support::{printed, run_in};
use std::path::{Path, PathBuf};
use test_case::test_case;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testsuite/fixtures/workloads")
}

#[test]
fn flow_tests_naming_workloads_and_selectors_pass() {
    let o = run_in(&fixtures(), &["test", "flowtests.yaml"]);
    let out = printed(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("8 passed, 0 failed"), "{out}");
}

#[test_case("errors/ambiguous.yaml", &[
    "error[PC0413]",
    "`web/app=worker` names pods of 2 different identities",
    // The renderer wraps the message; the pod names may be split after `web/`.
    "worker-canary-9a8b7c6d5-cnry1",
    "worker-8b7c6d5e4-stbl1",
    "`web/app=worker,track=canary`",
]; "an ambiguous selector names both groups and how to narrow it")]
#[test_case("errors/unknown.yaml", &[
    "error[PC0403]",
    "unknown endpoint `web/frontnd`",
    "did you mean `web/frontend`?",
    "no pod in namespace `web` has the labels `app=apii`",
    "did you mean `app=api`?",
]; "unknown workload and selector suggest the candidates")]
fn bad_names_are_load_errors_with_candidates(file: &str, expected: &[&str]) {
    let o = run_in(&fixtures(), &["test", file]);
    let out = printed(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    for e in expected {
        assert!(out.contains(e), "missing {e:?} in:\n{out}");
    }
    assert!(
        !out.contains("passed"),
        "no summary for a file that cannot load:\n{out}"
    );
}

#[test_case("web/frontend", "web/app=api", 0; "workload to selector")]
#[test_case("web/app=worker", "web/api", 2; "ambiguous selector")]
fn explain_takes_workload_names(from: &str, to: &str, code: i32) {
    let o = run_in(
        &fixtures(),
        &[
            "explain",
            "--inventory",
            "inventory.yaml",
            "--from",
            from,
            "--to",
            to,
            "--port",
            "8080",
            "policies/",
        ],
    );
    assert_eq!(o.status.code(), Some(code), "{}", printed(&o));
}
