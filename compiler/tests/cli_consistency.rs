//! One spelling and one meaning across commands (issue 15): `-q/--quiet`, paths shown
//! normalized, the enforcement-mode flag named alike in test, explain and build.

use crate::cli_support::{printed, run_in, write};
use std::path::PathBuf;

const SHADOWED: &str = "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: web, namespace: shop}\nspec:\n  endpointSelector: {matchLabels: {app: web}}\n  ingress:\n    - fromEndpoints: [{matchLabels: {app: frontend}}]\n      toPorts: [{ports: [{port: \"8080\", protocol: TCP}]}]\n    - fromEndpoints: [{matchLabels: {app: frontend}}]\n      toPorts: [{ports: [{port: \"8080\", protocol: TCP}]}]\n";

fn examples() -> PathBuf {
    std::fs::canonicalize(concat!(env!("CARGO_MANIFEST_DIR"), "/../policy-examples"))
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn quiet_lint_prints_findings_without_the_summary() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(dir.path(), "p/web.yaml", SHADOWED);
    for quiet in ["-q", "--quiet"] {
        let o = run_in(dir.path(), &[quiet, "lint", "--format", "concise", "p"]);
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(out.contains("PC0304"), "{out}");
        assert!(!out.contains(" in 1 file"), "{quiet}: {out}");
    }
    let o = run_in(dir.path(), &["lint", "--format", "concise", "p"]);
    assert!(printed(&o).contains("in 1 file"), "{}", printed(&o));
}

#[test]
fn quiet_test_prints_failures_without_the_summary() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let ex = examples().display().to_string();
    write(
        dir.path(),
        "ft.yaml",
        &format!("apiVersion: policyc/v1\nkind: FlowTests\ninventory: {ex}/inventory.yaml\npolicies: [{ex}/policies/]\ntests:\n  - {{name: ssh, from: 198.19.7.7, to: shop/frontend, port: 22, expect: allow}}\n  - {{name: web, from: world, to: shop/frontend, port: 443, expect: allow}}\n"),
    );
    let o = run_in(dir.path(), &["test", "-q", "ft.yaml"]);
    assert_eq!(o.status.code(), Some(1), "{}", printed(&o));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(out.starts_with("FAIL ft.yaml:6:"), "{out}");
    assert!(!out.contains("passed"), "{out}");
    let o = run_in(dir.path(), &["test", "ft.yaml"]);
    assert!(
        printed(&o).contains("1 passed, 1 failed"),
        "{}",
        printed(&o)
    );
}

#[test]
fn paths_are_shown_normalized() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(dir.path(), "p/web.yaml", SHADOWED);
    std::fs::create_dir_all(dir.path().join("q")).unwrap_or_else(|e| panic!("{e}"));
    for given in ["./q/../p/web.yaml", "./p/./", "q/../p"] {
        let o = run_in(dir.path(), &["lint", "--format", "concise", given]);
        let out = printed(&o);
        assert!(
            out.contains("\np/web.yaml:") || out.starts_with("p/web.yaml:"),
            "{given}: {out}"
        );
        assert!(!out.contains("./") && !out.contains(".."), "{given}: {out}");
    }
}

#[test]
fn the_enforcement_mode_flag_has_one_name_and_cilium_s_as_an_alias() {
    let ex = examples();
    let inventory = ex.join("inventory.yaml").display().to_string();
    let policies = ex.join("policies").display().to_string();
    let explain = |flag: &str| {
        let o = run_in(
            &ex,
            &[
                "explain",
                "--inventory",
                &inventory,
                "--from",
                "world",
                "--to",
                "shop/frontend",
                "--port",
                "22",
                flag,
                "never",
                &policies,
            ],
        );
        assert_eq!(o.status.code(), Some(0), "{flag}: {}", printed(&o));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    assert_eq!(explain("--policy-enforcement"), explain("--enable-policy"));
    let help = run_in(&ex, &["build", "--help"]);
    let help = String::from_utf8_lossy(&help.stdout).into_owned();
    assert!(help.contains("--policy-enforcement"), "{help}");
    assert!(help.contains("--local-node"), "{help}");
}
