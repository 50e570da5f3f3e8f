//! The configuration file (`.policyc.yaml` / `.policyc.toml`, issue 15): found upward from the
//! working directory up to the git root, `--config` and `--no-config`, default inventory and
//! policy paths, enabled/disabled codes, severity overrides, `exclude` globs, and every mistake
//! in it an error at its line and column.

use crate::cli_support::{printed, run_in, write};
use std::path::Path;
use test_case::test_case;

/// Two identical ingress rules: PC0304 (shadowed-rule, a warning).
const SHADOWED: &str = "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: web, namespace: shop}\nspec:\n  endpointSelector: {matchLabels: {app: web}}\n  ingress:\n    - fromEndpoints: [{matchLabels: {app: frontend}}]\n      toPorts: [{ports: [{port: \"8080\", protocol: TCP}]}]\n    - fromEndpoints: [{matchLabels: {app: frontend}}]\n      toPorts: [{ports: [{port: \"8080\", protocol: TCP}]}]\n";

/// An invalid CIDR: an error (PC0202).
const BAD_CIDR: &str = "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: bad, namespace: shop}\nspec:\n  endpointSelector: {}\n  egress:\n    - toCIDR: [\"10.0.0.0/33\"]\n";

fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir_all(dir.path().join(".git")).unwrap_or_else(|e| panic!("{e}"));
    write(dir.path(), "policies/web.yaml", SHADOWED);
    dir
}

fn concise(dir: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let mut args = vec!["lint", "--format", "concise"];
    args.extend_from_slice(extra);
    let o = run_in(dir, &args);
    (o.status.code(), printed(&o))
}

#[test]
fn without_a_configuration_the_warning_is_reported() {
    let dir = repo();
    let (code, out) = concise(dir.path(), &["policies"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("warning[PC0304]"), "{out}");
}

#[test_case(".policyc.yaml", "lint:\n  disable: [shadowed-rule]\n"; "yaml by name")]
#[test_case(".policyc.yaml", "lint:\n  disable: [PC0304]\n"; "yaml by id")]
#[test_case(".policyc.toml", "[lint]\ndisable = [\"shadowed-rule\"]\n"; "toml")]
fn disable_found_upward_from_a_subdirectory(name: &str, text: &str) {
    let dir = repo();
    write(dir.path(), name, text);
    let sub = dir.path().join("policies");
    let (code, out) = concise(&sub, &["web.yaml"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(!out.contains("PC0304"), "{out}");
    let (_, out) = concise(&sub, &["web.yaml", "--no-config"]);
    assert!(out.contains("warning[PC0304]"), "--no-config: {out}");
}

#[test]
fn enable_keeps_only_the_listed_warnings() {
    let dir = repo();
    write(dir.path(), ".policyc.yaml", "lint:\n  enable: [PC0308]\n");
    let (_, out) = concise(dir.path(), &["policies"]);
    assert!(!out.contains("PC0304"), "{out}");
    write(dir.path(), ".policyc.yaml", "lint:\n  enable: [PC0304]\n");
    let (_, out) = concise(dir.path(), &["policies"]);
    assert!(out.contains("PC0304"), "{out}");
}

#[test_case("lint:\n  severity: {shadowed-rule: error}\n"; "severity override")]
#[test_case("lint:\n  fail-level: warning\n"; "fail level")]
fn a_warning_can_fail_the_run(text: &str) {
    let dir = repo();
    write(dir.path(), ".policyc.yaml", text);
    let (code, out) = concise(dir.path(), &["policies"]);
    assert_eq!(code, Some(1), "{out}");
}

#[test]
fn default_policies_and_exclude_globs() {
    let dir = repo();
    write(dir.path(), "policies/drafts/bad.yaml", BAD_CIDR);
    write(dir.path(), "elsewhere/bad.yaml", BAD_CIDR);
    write(
        dir.path(),
        ".policyc.yaml",
        "policies: [policies/]\nexclude: [policies/drafts]\n",
    );
    // No path: the configuration's policies, relative to the configuration's directory, from a
    // subdirectory too; the excluded directory is not read.
    for cwd in [dir.path().to_path_buf(), dir.path().join("elsewhere")] {
        let (code, out) = concise(&cwd, &[]);
        assert_eq!(code, Some(0), "{out}");
        assert!(out.contains("PC0304") && out.contains("in 1 file"), "{out}");
        assert!(!out.contains("bad.yaml"), "{out}");
    }
    // A path on the command line wins over `policies`.
    let (code, out) = concise(dir.path(), &["elsewhere"]);
    assert_eq!(code, Some(1), "{out}");
}

#[test]
fn default_inventory_enables_the_inventory_lints() {
    let dir = repo();
    write(
        dir.path(),
        "inv.yaml",
        "apiVersion: policyc/v1\nkind: Inventory\nendpoints:\n  - {name: a, namespace: shop, labels: {app: api}, ips: [198.18.1.1]}\n",
    );
    write(dir.path(), ".policyc.yaml", "inventory: inv.yaml\n");
    let (_, out) = concise(dir.path(), &["policies"]);
    // With an inventory, a selector that matches no endpoint is reported (PC0319).
    assert!(out.contains("PC0319"), "{out}");
    let (_, out) = concise(dir.path(), &["policies", "--no-config"]);
    assert!(!out.contains("PC0319"), "{out}");
}

#[test]
fn explicit_config_path() {
    let dir = repo();
    write(
        dir.path(),
        "ci/policyc.yaml",
        "lint:\n  disable: [shadowed-rule]\n",
    );
    let (_, out) = concise(dir.path(), &["policies", "--config", "ci/policyc.yaml"]);
    assert!(!out.contains("PC0304"), "{out}");
    let (code, out) = concise(dir.path(), &["policies", "--config", "ci/missing.yaml"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("ci/missing.yaml"), "{out}");
}

#[test]
fn discovery_stops_at_the_git_root() {
    let outer = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(
        outer.path(),
        ".policyc.yaml",
        "lint:\n  disable: [shadowed-rule]\n",
    );
    write(outer.path(), "repo/.git/HEAD", "");
    write(outer.path(), "repo/web.yaml", SHADOWED);
    let (_, out) = concise(&outer.path().join("repo"), &["web.yaml"]);
    assert!(out.contains("PC0304"), "{out}");
}

#[test_case(".policyc.yaml", "policies: [policies/]\nlint:\n  disabel: [PC0304]\n", "3:3", "did you mean `disable`?"; "yaml unknown key")]
#[test_case(".policyc.toml", "policies = [\"policies/\"]\n[lint]\ndisabel = [\"PC0304\"]\n", "3:1", "did you mean `disable`?"; "toml unknown key")]
#[test_case(".policyc.yaml", "inventroy: inv.yaml\n", "1:1", "did you mean `inventory`?"; "unknown top key")]
#[test_case(".policyc.yaml", "lint:\n  disable: [PC9999]\n", "2:13", "unknown lint code `PC9999`"; "unknown code")]
#[test_case(".policyc.yaml", "lint:\n  disable: [invalid-cidr]\n", "2:13", "cannot be disabled"; "error code cannot be disabled")]
#[test_case(".policyc.yaml", "lint:\n  severity: {PC0202: warning}\n", "2:14", "cannot be lowered"; "error code cannot be lowered")]
#[test_case(".policyc.yaml", "lint:\n  severity: {PC0304: loud}\n", "2:22", "`error`, `warning` or `info`"; "unknown severity")]
#[test_case(".policyc.yaml", "exclude: [\"a[\"]\n", "1:11", "invalid glob"; "bad glob")]
#[test_case(".policyc.yaml", "inventory: [a, b]\n", "1:12", "must be a string"; "wrong type")]
#[test_case(".policyc.yaml", "lint: [\n", "2:1", "PC0001"; "yaml syntax")]
#[test_case(".policyc.toml", "[lint\n", "1:", "TOML syntax error"; "toml syntax")]
fn mistakes_are_errors_at_line_and_column(name: &str, text: &str, at: &str, says: &str) {
    let dir = repo();
    write(dir.path(), name, text);
    let (code, out) = concise(dir.path(), &["policies"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains(&format!("{name}:{at}")), "{out}");
    assert!(out.contains(says), "{out}");
    assert!(out.contains("PC0011") || says == "PC0001", "{out}");
}

#[test]
fn unknown_key_report() {
    let dir = repo();
    write(
        dir.path(),
        ".policyc.yaml",
        "policies: [policies/]\nlint:\n  disabel: [PC0304]\n",
    );
    let o = run_in(dir.path(), &["lint"]);
    insta::assert_snapshot!(printed(&o));
}

#[test]
fn both_files_in_one_directory_is_an_error() {
    let dir = repo();
    write(dir.path(), ".policyc.yaml", "");
    write(dir.path(), ".policyc.toml", "");
    let (code, out) = concise(dir.path(), &["policies"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("keep one"), "{out}");
}

#[test]
fn explain_and_diff_take_the_default_inventory_and_policies() {
    let dir = repo();
    write(
        dir.path(),
        "inv.yaml",
        "apiVersion: policyc/v1\nkind: Inventory\nendpoints:\n  - {name: web, namespace: shop, labels: {app: web}, ips: [198.18.1.1]}\n  - {name: fe, namespace: shop, labels: {app: frontend}, ips: [198.18.1.2]}\n",
    );
    write(
        dir.path(),
        ".policyc.yaml",
        "inventory: inv.yaml\npolicies: [policies]\n",
    );
    let o = run_in(
        dir.path(),
        &[
            "explain", "--from", "shop/fe", "--to", "shop/web", "--port", "8080",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", printed(&o));
    assert!(printed(&o).contains("ALLOW"), "{}", printed(&o));
    let o = run_in(
        dir.path(),
        &["diff", "--base", "policies", "--head", "policies"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", printed(&o));
    let o = run_in(
        dir.path(),
        &[
            "--no-config",
            "explain",
            "--from",
            "shop/fe",
            "--to",
            "shop/web",
            "--port",
            "8080",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", printed(&o));
    assert!(printed(&o).contains("no inventory"), "{}", printed(&o));
}
