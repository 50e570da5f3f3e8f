//! `load_policies` input handling: recursive sorted directory walks over `*.yaml|*.yml|*.json`,
//! unreadable paths as findings, JSON input, and `kind: List`.

use policyc_diagnostics::source::SourceMap;
use policyc_diagnostics::Severity;
use policyc_frontend::{load_policies, load_policy_text, FrontendOptions};
use std::path::PathBuf;

const CNP: &str = "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: NAME\n  namespace: shop\nspec:\n  endpointSelector: {}\n  ingress: [{}]\n";

fn write(dir: &std::path::Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(path, text).expect("write");
}

#[test]
fn directories_are_walked_recursively_in_sorted_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "b.yaml", &CNP.replace("NAME", "b"));
    write(dir.path(), "a/z.yml", &CNP.replace("NAME", "az"));
    write(dir.path(), "a/notes.txt", "not a policy");
    write(
        dir.path(),
        "c.json",
        r#"{"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy", "metadata": {"name": "c", "namespace": "shop"}, "spec": {"endpointSelector": {}, "egress": [{"toEntities": ["world"]}]}}"#,
    );
    let mut sources = SourceMap::new();
    let set = load_policies(
        &[dir.path().to_path_buf()],
        &FrontendOptions::default(),
        &mut sources,
    );
    let names: Vec<&str> = set.objects.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, vec!["az", "b", "c"]);
    assert_eq!(set.files.len(), 3);
    assert!(set.findings.is_empty(), "{:?}", set.findings);
    assert_eq!(
        set.rules.iter().map(|r| r.id.0).collect::<Vec<_>>(),
        vec![0, 1, 2]
    );
}

#[test]
fn a_missing_path_is_an_error_and_the_rest_still_loads() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "ok.yaml", &CNP.replace("NAME", "ok"));
    let missing = PathBuf::from("/definitely/not/here.yaml");
    let mut sources = SourceMap::new();
    let set = load_policies(
        &[missing, dir.path().join("ok.yaml")],
        &FrontendOptions::default(),
        &mut sources,
    );
    assert_eq!(set.objects.len(), 1);
    let codes: Vec<(&str, Severity)> = set
        .findings
        .iter()
        .map(|f| (f.code.id, f.severity))
        .collect();
    assert_eq!(codes, vec![("PC0007", Severity::Error)]);
}

#[test]
fn list_items_are_policies_with_their_own_paths() {
    let yaml = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata: {name: s}\n- apiVersion: networking.k8s.io/v1\n  kind: NetworkPolicy\n  metadata: {name: k, namespace: shop}\n  spec:\n    podSelector: {}\n    ingress: [{}]\n";
    let mut sources = SourceMap::new();
    let set = load_policy_text("list.yaml", yaml, &FrontendOptions::default(), &mut sources);
    assert!(set.findings.is_empty(), "{:?}", set.findings);
    assert_eq!(set.objects.len(), 1);
    assert_eq!(set.rules[0].provenance.path, "items[1].spec.ingress[0]");
    assert_eq!(set.objects[0].qualified_name(), "shop/k");
}
