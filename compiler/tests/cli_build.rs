//! `policyc build` for a node (issue 15): `--local-node` chooses whose addresses are `host`, and
//! the build warns about endpoints `policy-loader apply` will refuse.

use crate::cli_support::{printed, run_in, write};
use std::path::{Path, PathBuf};

fn examples() -> PathBuf {
    std::fs::canonicalize(concat!(env!("CARGO_MANIFEST_DIR"), "/../policy-examples"))
        .unwrap_or_else(|e| panic!("{e}"))
}

fn build(dir: &Path, out: &str, extra: &[&str]) -> std::process::Output {
    let ex = examples();
    let inventory = ex.join("inventory.yaml").display().to_string();
    let policies = ex.join("policies").display().to_string();
    let mut args = vec!["build", "--inventory", &inventory, "-o", out];
    args.extend_from_slice(extra);
    args.push(&policies);
    run_in(dir, &args)
}

#[test]
fn local_node_chooses_whose_addresses_are_host() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let node1 = build(dir.path(), "n1", &["--local-node", "node-1"]);
    assert_eq!(node1.status.code(), Some(0), "{}", printed(&node1));
    let default = build(dir.path(), "default", &[]);
    assert_eq!(default.status.code(), Some(0), "{}", printed(&default));
    let node2 = build(dir.path(), "n2", &["--local-node", "node-2"]);
    assert_eq!(node2.status.code(), Some(0), "{}", printed(&node2));
    let ipcache = |d: &str| {
        std::fs::read(dir.path().join(d).join("maps/ipcache.bin"))
            .unwrap_or_else(|e| panic!("{d}: {e}"))
    };
    // node-1 is `local: true`: the default; node-2 sees node-1 as a remote node.
    assert_eq!(ipcache("n1"), ipcache("default"));
    assert_ne!(ipcache("n1"), ipcache("n2"));

    let unknown = build(dir.path(), "nope", &["--local-node", "node-9"]);
    assert_ne!(unknown.status.code(), Some(0), "{}", printed(&unknown));
    assert!(
        printed(&unknown).contains("node-9"),
        "{}",
        printed(&unknown)
    );
}

#[test]
fn warns_about_endpoints_the_loader_will_refuse() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(
        dir.path(),
        "inv.yaml",
        "apiVersion: policyc/v1\nkind: Inventory\nnodes: [{name: n, ips: [198.18.255.1], local: true}]\nendpoints:\n  - {name: plain, namespace: shop, labels: {app: plain}, ips: [198.18.1.1]}\n  - {name: dns, namespace: shop, labels: {app: dns}, ips: [198.18.1.2]}\n  - {name: tcx, namespace: shop, labels: {app: tcx}, ips: [198.18.1.3], interface: pc-tcx}\n",
    );
    write(
        dir.path(),
        "p.yaml",
        "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: dns, namespace: shop}\nspec:\n  endpointSelector: {matchLabels: {app: dns}}\n  egress:\n    - toEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: kube-system}}]\n      toPorts: [{ports: [{port: \"53\", protocol: UDP}], rules: {dns: [{matchPattern: \"*.example.com\"}]}}]\n",
    );
    let o = run_in(
        dir.path(),
        &["build", "--inventory", "inv.yaml", "-o", "out", "p.yaml"],
    );
    let out = printed(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains("WARNING: shop/plain has no interface in the inventory: policy-loader apply refuses it unless run with --cgroup shop/plain=PATH"),
        "{out}"
    );
    assert!(
        out.contains("WARNING: shop/dns has no interface in the inventory and has rules.dns: policy-loader apply refuses it"),
        "{out}"
    );
    assert!(!out.contains("shop/tcx"), "{out}");
}
