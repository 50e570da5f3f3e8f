//! Inputs that would silently change meaning (issue #16 finding 6) are errors naming both
//! places, in every command that reads them: lint, test, explain, build and diff. A symbolic-link
//! loop in a policy directory is walked once.

use crate::cli_support::{printed, run_in, write};
use std::path::Path;
use test_case::test_case;

const INVENTORY: &str = "\
apiVersion: policyc/v1
kind: Inventory
namespaces:
  - name: shop
    labels: {team: shop}
nodes:
  - name: node-1
    ips: [198.18.255.1]
endpoints:
  - name: api
    namespace: shop
    labels: {app: api}
    ips: [198.18.1.20]
    interface: pc-api
  - name: db
    namespace: shop
    labels: {app: db}
    ips: [198.18.1.40]
    interface: pc-db
";

const DB_POLICY: &str = "\
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: db
  namespace: shop
spec:
  endpointSelector:
    matchLabels: {app: db}
  ingress:
    - fromEndpoints:
        - matchLabels: {app: api}
      toPorts:
        - ports: [{port: \"5432\", protocol: TCP}]
";

/// A policy that must not be mistaken for `DB_POLICY`: other kind, other namespace or none.
const NOT_DUPLICATES: &str = "\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: db
  namespace: shop
spec:
  podSelector:
    matchLabels: {app: db}
  policyTypes: [Ingress]
  ingress:
    - from:
        - podSelector:
            matchLabels: {app: api}
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: db
  namespace: other
spec:
  endpointSelector: {}
  ingress: [{}]
---
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata:
  name: db
spec:
  endpointSelector:
    matchLabels: {app: db}
  ingress:
    - fromEndpoints:
        - matchLabels: {app: api}
";

/// `file:line:col` of the `nth` (0-based) occurrence of `needle` in `text`, 1-based like every
/// diagnostic.
fn location(file: &str, text: &str, needle: &str, nth: usize) -> String {
    let Some((offset, _)) = text.match_indices(needle).nth(nth) else {
        panic!("`{needle}` occurs fewer than {} times", nth + 1)
    };
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    format!("{file}:{line}:{col}")
}

/// Every command over the same inventory and policy paths.
fn commands(policies: &[&str]) -> Vec<Vec<String>> {
    let owned = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let paths = owned(policies);
    let mut lint = owned(&["lint", "--inventory", "inv.yaml"]);
    lint.extend(paths.clone());
    let mut explain = owned(&[
        "explain",
        "--inventory",
        "inv.yaml",
        "--from",
        "shop/api",
        "--to",
        "shop/db",
        "--port",
        "5432",
    ]);
    explain.extend(paths.clone());
    let mut build = owned(&["build", "--inventory", "inv.yaml", "-o", "out"]);
    build.extend(paths.clone());
    let mut diff = owned(&[
        "diff",
        "--inventory",
        "inv.yaml",
        "--base",
        "empty",
        "--paths",
    ]);
    diff.extend(paths);
    vec![
        lint,
        owned(&["test", "flowtests.yaml"]),
        explain,
        build,
        diff,
    ]
}

/// A temp dir with the inventory, the policy, an empty base for diff and a FlowTests file over
/// `policies`; `edit` changes it into the case under test.
fn tree(policies: &[&str], edit: &dyn Fn(&Path)) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(dir.path(), "inv.yaml", INVENTORY);
    write(dir.path(), "policies/db.yaml", DB_POLICY);
    std::fs::create_dir_all(dir.path().join("empty")).unwrap_or_else(|e| panic!("{e}"));
    let list = policies
        .iter()
        .map(|p| format!("\"{p}\""))
        .collect::<Vec<_>>()
        .join(", ");
    write(
        dir.path(),
        "flowtests.yaml",
        &format!(
            "apiVersion: policyc/v1\nkind: FlowTests\ninventory: inv.yaml\npolicies: [{list}]\ntests:\n  - {{name: api to db, from: shop/api, to: shop/db, port: 5432, expect: allow}}\n"
        ),
    );
    edit(dir.path());
    dir
}

/// Runs every command of [`commands`] over `policies` in `dir`: each must fail (exit 1 or 2)
/// and print every one of `needles`.
fn every_command_fails_naming(dir: &Path, policies: &[&str], needles: &[&str]) {
    for args in commands(policies) {
        let o = run_in(dir, &args.iter().map(String::as_str).collect::<Vec<_>>());
        let out = printed(&o);
        assert!(
            matches!(o.status.code(), Some(1 | 2)),
            "{args:?} must fail: {out}"
        );
        for needle in needles {
            assert!(out.contains(needle), "{args:?} must print {needle}: {out}");
        }
    }
}

fn duplicate_namespace(dir: &Path) {
    write(
        dir,
        "inv.yaml",
        &INVENTORY.replace(
            "    labels: {team: shop}\n",
            "    labels: {team: shop}\n  - name: shop\n    labels: {team: payments}\n",
        ),
    );
}

fn duplicate_node(dir: &Path) {
    write(
        dir,
        "inv.yaml",
        &INVENTORY.replace(
            "    ips: [198.18.255.1]\n",
            "    ips: [198.18.255.1]\n  - name: node-1\n    ips: [198.18.255.2]\n",
        ),
    );
}

fn duplicate_interface(dir: &Path) {
    write(
        dir,
        "inv.yaml",
        &INVENTORY.replace("interface: pc-db", "interface: pc-api"),
    );
}

fn same_policy_twice_in_one_file(dir: &Path) {
    write(
        dir,
        "policies/db.yaml",
        &format!("{DB_POLICY}---\n{DB_POLICY}"),
    );
}

fn same_policy_in_two_files(dir: &Path) {
    write(dir, "policies/db-copy.yaml", DB_POLICY);
}

fn default_namespace_written_and_implied(dir: &Path) {
    let explicit = DB_POLICY.replace("namespace: shop", "namespace: default");
    let implied = DB_POLICY.replace("  namespace: shop\n", "");
    write(
        dir,
        "policies/db.yaml",
        &format!("{explicit}---\n{implied}"),
    );
}

/// (file, needle, occurrence) of the first and the second definition.
type Place = (&'static str, &'static str, usize);

#[test_case(&duplicate_namespace, "namespace `shop` is listed twice", ("inv.yaml", "shop", 0), ("inv.yaml", "shop", 2); "a namespace listed twice")]
#[test_case(&duplicate_node, "node `node-1` is listed twice", ("inv.yaml", "node-1", 0), ("inv.yaml", "node-1", 1); "a node listed twice")]
#[test_case(&duplicate_interface, "interface `pc-api` is the interface of two endpoints", ("inv.yaml", "pc-api", 0), ("inv.yaml", "pc-api", 1); "two endpoints on one interface")]
#[test_case(&same_policy_twice_in_one_file, "CiliumNetworkPolicy `shop/db` is defined twice", ("policies/db.yaml", "db\n", 0), ("policies/db.yaml", "db\n", 1); "a policy twice in one file")]
#[test_case(&same_policy_in_two_files, "CiliumNetworkPolicy `shop/db` is defined twice", ("policies/db-copy.yaml", "db\n", 0), ("policies/db.yaml", "db\n", 0); "a policy in two files")]
#[test_case(&default_namespace_written_and_implied, "CiliumNetworkPolicy `default/db` is defined twice", ("policies/db.yaml", "db\n", 0), ("policies/db.yaml", "db\n", 1); "default namespace written and implied")]
fn a_second_definition_is_an_error_naming_both(
    edit: &dyn Fn(&Path),
    message: &str,
    first: Place,
    second: Place,
) {
    let dir = tree(&["policies"], edit);
    let text = |file: &str| {
        std::fs::read_to_string(dir.path().join(file)).unwrap_or_else(|e| panic!("{e}"))
    };
    let first = location(first.0, &text(first.0), first.1, first.2);
    let second = location(second.0, &text(second.0), second.1, second.2);
    every_command_fails_naming(dir.path(), &["policies"], &[message, &first, &second]);
}

#[test_case(&["policies/db.yaml", "policies/db.yaml"], "`policies/db.yaml` is read twice"; "the same file twice")]
#[test_case(&["policies/db.yaml", "policies"], "`policies/db.yaml` is read twice"; "a file and its directory")]
#[test_case(&["policies", "policies/db.yaml"], "`policies/db.yaml` is read twice"; "a directory and a file in it")]
#[test_case(&["policies", "policies"], "directory `policies` is read twice"; "the same directory twice")]
fn a_path_read_twice_is_an_error_naming_both(policies: &[&str], message: &str) {
    let dir = tree(policies, &|_| {});
    every_command_fails_naming(
        dir.path(),
        policies,
        &[message, "input path 1", "input path 2"],
    );
}

#[test]
fn policies_that_only_share_a_name_are_not_duplicates() {
    let dir = tree(&["policies"], &|d| {
        write(d, "policies/others.yaml", NOT_DUPLICATES)
    });
    let o = run_in(dir.path(), &["lint", "policies", "--format", "concise"]);
    assert_eq!(o.status.code(), Some(0), "{}", printed(&o));
}

#[cfg(unix)]
#[test]
fn a_symlink_loop_is_walked_once() {
    let dir = tree(&["policies"], &|d| {
        if let Err(e) = std::os::unix::fs::symlink(".", d.join("policies/loop")) {
            panic!("{e}");
        }
    });
    let o = run_in(dir.path(), &["lint", "policies", "--format", "concise"]);
    let out = printed(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("in 1 file"), "{out}");
    for args in commands(&["policies"]) {
        let o = run_in(
            dir.path(),
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", printed(&o));
    }
}
