use super::*;
use crate::yaml::parse_documents;
use policyc_diagnostics::source::SourceMap;
use std::collections::BTreeSet;
use std::path::PathBuf;

fn crd_path(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testsuite/fixtures/cilium-crds/pkg/k8s/apis/cilium.io/client/crds/v2")
        .join(file)
}

/// Every field path of an OpenAPI v3 schema node (`properties`, list `items`), `[]` for list
/// items. A free-form map (`additionalProperties`) has no fields below it.
fn schema_paths(schema: &Node, path: &str, out: &mut BTreeSet<String>) {
    if let Some(items) = schema.get("items") {
        schema_paths(items, &format!("{path}[]"), out);
    }
    let Some(properties) = schema.get("properties").and_then(Node::map_entries) else {
        return;
    };
    for (key, child) in properties {
        let name = key.as_str().expect("property names are strings");
        let child_path = join_path(path, name);
        out.insert(child_path.clone());
        schema_paths(child, &child_path, out);
    }
}

/// Every field path of the table; below `Children::Any` fields, `any:` + the prefix.
fn table_paths(fields: &[Field], path: &str, out: &mut BTreeSet<String>) {
    for field in fields {
        let field_path = join_path(path, field.name);
        out.insert(field_path.clone());
        match field.children {
            Children::None => {}
            Children::Any => {
                out.insert(format!("any:{field_path}"));
            }
            Children::Fields(children) => {
                // Lists and mappings look alike in the table; the schema says which it is.
                table_paths(children, &field_path, out);
                table_paths(children, &format!("{field_path}[]"), out);
            }
        }
    }
}

fn crd_schema_paths(file: &str) -> BTreeSet<String> {
    let text = std::fs::read_to_string(crd_path(file)).expect("the CRD fixture is readable");
    let mut sources = SourceMap::default();
    let id = sources.add(file.to_string(), text);
    let (documents, findings) = parse_documents(&sources, id);
    assert!(findings.is_empty(), "{findings:?}");
    let root = &documents[0].root;
    let versions = root
        .get("spec")
        .and_then(|s| s.get("versions"))
        .and_then(Node::as_seq)
        .expect("spec.versions");
    let mut paths = BTreeSet::new();
    for version in versions {
        let schema = version
            .get("schema")
            .and_then(|s| s.get("openAPIV3Schema"))
            .expect("openAPIV3Schema");
        schema_paths(schema, "", &mut paths);
    }
    paths
}

/// Schema paths the table has no row for (a path below an `any` field is covered).
fn missing_from_table(schema: &BTreeSet<String>, table: &BTreeSet<String>) -> Vec<String> {
    schema
        .iter()
        .filter(|p| !table.contains(*p))
        .filter(|p| {
            !table
                .iter()
                .filter_map(|t| t.strip_prefix("any:"))
                .any(|prefix| {
                    p.starts_with(&format!("{prefix}.")) || p.starts_with(&format!("{prefix}[]"))
                })
        })
        .cloned()
        .collect()
}

#[test_case::test_case("ciliumnetworkpolicies.yaml" ; "cnp")]
#[test_case::test_case("ciliumclusterwidenetworkpolicies.yaml" ; "ccnp")]
fn every_crd_schema_field_has_a_status(file: &str) {
    let schema = crd_schema_paths(file);
    assert!(
        schema.len() > 300,
        "the walk found the fields ({})",
        schema.len()
    );
    let mut table = BTreeSet::new();
    table_paths(CILIUM_OBJECT, "", &mut table);
    let missing = missing_from_table(&schema, &table);
    assert!(
        missing.is_empty(),
        "schema fields without a row in field_status.rs: {missing:#?}"
    );
}

#[test_case::test_case("ciliumnetworkpolicies.yaml" ; "cnp")]
#[test_case::test_case("ciliumclusterwidenetworkpolicies.yaml" ; "ccnp")]
fn every_row_is_a_crd_schema_field(file: &str) {
    let schema = crd_schema_paths(file);
    let mut table = BTreeSet::new();
    table_paths(CILIUM_OBJECT, "", &mut table);
    // The table does not say which fields are lists: compare without list markers.
    let schema: BTreeSet<String> = schema.iter().map(|s| s.replace("[]", "")).collect();
    let unknown: Vec<&String> = table
        .iter()
        .filter(|p| !p.starts_with("any:"))
        .filter(|p| !schema.contains(&p.replace("[]", "")))
        .collect();
    assert!(
        unknown.is_empty(),
        "rows that are no schema field: {unknown:#?}"
    );
}

/// networking.k8s.io/v1 NetworkPolicy, from the Kubernetes API reference
/// (`k8s.io/api/networking/v1/types.go`: NetworkPolicySpec, NetworkPolicyIngressRule,
/// NetworkPolicyEgressRule, NetworkPolicyPeer, IPBlock, NetworkPolicyPort; LabelSelector).
const KNP_SCHEMA: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "spec",
    "spec.podSelector",
    "spec.podSelector.matchLabels",
    "spec.podSelector.matchExpressions",
    "spec.podSelector.matchExpressions[].key",
    "spec.podSelector.matchExpressions[].operator",
    "spec.podSelector.matchExpressions[].values",
    "spec.policyTypes",
    "spec.ingress",
    "spec.ingress[].from",
    "spec.ingress[].from[].podSelector",
    "spec.ingress[].from[].namespaceSelector",
    "spec.ingress[].from[].ipBlock",
    "spec.ingress[].from[].ipBlock.cidr",
    "spec.ingress[].from[].ipBlock.except",
    "spec.ingress[].ports",
    "spec.ingress[].ports[].protocol",
    "spec.ingress[].ports[].port",
    "spec.ingress[].ports[].endPort",
    "spec.egress",
    "spec.egress[].to",
    "spec.egress[].to[].podSelector",
    "spec.egress[].to[].namespaceSelector",
    "spec.egress[].to[].ipBlock",
    "spec.egress[].to[].ipBlock.cidr",
    "spec.egress[].to[].ipBlock.except",
    "spec.egress[].ports",
    "spec.egress[].ports[].protocol",
    "spec.egress[].ports[].port",
    "spec.egress[].ports[].endPort",
];

#[test]
fn every_network_policy_field_has_a_status() {
    let mut table = BTreeSet::new();
    table_paths(KNP_OBJECT, "", &mut table);
    let schema: BTreeSet<String> = KNP_SCHEMA.iter().map(ToString::to_string).collect();
    let missing = missing_from_table(&schema, &table);
    assert!(missing.is_empty(), "{missing:#?}");
}

#[test]
fn every_gap_code_is_unique_and_kebab_case() {
    let codes: BTreeSet<&str> = ALL_GAPS.iter().map(|g| g.code).collect();
    assert_eq!(codes.len(), ALL_GAPS.len());
    for code in codes {
        assert!(code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
        assert_eq!(gap(code).map(|g| g.code), Some(code));
    }
}

/// Every gap of the table is listed in `ALL_GAPS` (so `--allow-unenforced` knows its code).
#[test]
fn every_gap_of_the_table_is_listed() {
    fn walk(fields: &[Field], out: &mut Vec<&'static Gap>) {
        for f in fields {
            if let Status::Gap(g) = f.status {
                out.push(g);
            }
            for (_, s) in f.by_value {
                if let Status::Gap(g) = s {
                    out.push(g);
                }
            }
            if let Children::Fields(c) = f.children {
                walk(c, out);
            }
        }
    }
    let mut used = Vec::new();
    walk(CILIUM_OBJECT, &mut used);
    walk(KNP_OBJECT, &mut used);
    for g in used {
        assert!(ALL_GAPS.contains(&g), "{} is not in ALL_GAPS", g.code);
    }
}

fn uses_in(kind: PolicyKind, yaml: &str) -> Vec<(String, String, &'static str)> {
    let mut sources = SourceMap::default();
    let id = sources.add("p.yaml".to_string(), yaml.to_string());
    let (documents, _) = parse_documents(&sources, id);
    unenforced_uses(kind, &documents[0].root, "")
        .into_iter()
        .map(|u| (u.field, u.yaml_path, u.gap.code))
        .collect()
}

#[test_case::test_case(
    "spec:\n  nodeSelector: {}\n",
    &[("spec.nodeSelector", "spec.nodeSelector", "host-policy")] ; "host policy")]
#[test_case::test_case(
    "specs:\n- endpointSelector: {}\n  ingress:\n  - authentication:\n      mode: disabled\n  - authentication:\n      mode: required\n",
    &[("specs[].ingress[].authentication.mode", "specs[0].ingress[1].authentication.mode", "mutual-auth")] ; "auth by value")]
#[test_case::test_case(
    "spec:\n  egressDeny:\n  - toCIDRSet:\n    - cidrGroupRef: g\n  egress:\n  - toCIDRSet:\n    - cidrGroupRef: g\n",
    &[("spec.egressDeny[].toCIDRSet[].cidrGroupRef", "spec.egressDeny[0].toCIDRSet[0].cidrGroupRef", "runtime-peer-deny"),
      ("spec.egress[].toCIDRSet[].cidrGroupRef", "spec.egress[0].toCIDRSet[0].cidrGroupRef", "runtime-peer")] ; "deny and allow differ")]
#[test_case::test_case(
    "spec:\n  endpointSelector: {}\n  ingress:\n  - toPorts:\n    - ports: [{port: '443'}]\n      serverNames: [a.com]\n",
    &[("spec.ingress[].toPorts[].serverNames", "spec.ingress[0].toPorts[0].serverNames", "server-names")] ; "server names")]
#[test_case::test_case(
    "spec:\n  ingressDeny:\n  - toPorts:\n    - ports: [{protocol: vrrp}, {protocol: TCP}]\n  ingress:\n  - toPorts:\n    - ports: [{protocol: VRRP}]\n",
    &[("spec.ingressDeny[].toPorts[].ports[].protocol", "spec.ingressDeny[0].toPorts[0].ports[0].protocol", "vrrp-igmp-deny")] ; "vrrp deny by value, any case")]
#[test_case::test_case(
    "spec:\n  endpointSelector: {}\n  ingress:\n  - fromEndpoints: [{}]\n  description: x\n",
    &[] ; "exact fields have no use")]
fn uses_name_each_gapped_field(yaml: &str, expected: &[(&str, &str, &str)]) {
    let got = uses_in(PolicyKind::CiliumNetworkPolicy, yaml);
    let expected: Vec<(String, String, &str)> = expected
        .iter()
        .map(|(f, p, c)| (f.to_string(), p.to_string(), *c))
        .collect();
    assert_eq!(got, expected);
}
