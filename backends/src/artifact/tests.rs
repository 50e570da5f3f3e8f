//! The format round-trips: what the writer serializes, the reader parses back to an equal
//! value, and serializing that again gives the same bytes; what an older writer left out gets
//! its default.

use std::collections::BTreeMap;

use policyc_ir::Direction;
use test_case::test_case;

use super::*;

/// `manifest.json` exactly as `policyc build` writes it.
fn write(manifest: &Manifest) -> String {
    let mut text = serde_json::to_string_pretty(manifest).unwrap_or_else(|e| panic!("{e}"));
    text.push('\n');
    text
}

fn parse(text: &str) -> Manifest {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn paths(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn attach(interface: Option<&str>) -> ManifestAttach {
    ManifestAttach {
        interface: interface.map(str::to_owned),
        egress_program: "pc_egress_tcx".into(),
        ingress_program: "pc_ingress_tcx".into(),
        egress_cgroup_program: "pc_egress_cg".into(),
        ingress_cgroup_program: "pc_ingress_cg".into(),
    }
}

/// One template endpoint, no DNS, no CIDR identity, a cluster-wide rule: every optional field
/// absent.
fn minimal() -> Manifest {
    Manifest {
        format_version: ARTIFACT_FORMAT_VERSION,
        layout_version: LAYOUT_VERSION,
        input_digest: "sha256:00".into(),
        inputs: vec!["policies/".into()],
        cluster: "default".into(),
        object: "objects/aa.bpf.o".into(),
        ipcache: IPCACHE_FILE.into(),
        classifier: Some("classifier.json".into()),
        identities: vec![ManifestIdentity {
            id: 1,
            kind: "reserved".into(),
            prefix: None,
            labels: vec!["reserved:host".into()],
        }],
        rules: vec![ManifestRule {
            id: 0,
            datapath_rule_id: 1,
            policy_kind: "CCNP".into(),
            namespace: None,
            name: "allow-dns".into(),
            file: "p.yaml".into(),
            line: 3,
            column: 7,
            yaml_path: "spec.egress[0]".into(),
            direction: Direction::Egress,
            action: "allow".into(),
        }],
        endpoints: vec![ManifestEndpoint {
            name: "ns/a".into(),
            endpoint_id: 1,
            identity: 1000,
            object: Some("objects/aa.bpf.o".into()),
            specialized: false,
            redirect_l7_rules: Vec::new(),
            config: "images/c1.bin".into(),
            addresses: Vec::new(),
            maps: paths(&[("pc_class", "images/a1.bin")]),
            decision_maps: BTreeMap::new(),
            attach: attach(Some("pc-a")),
            enforced: [(Direction::Ingress, true), (Direction::Egress, false)].into(),
            verdict_kinds: vec!["allow".into()],
            dns: None,
        }],
        warnings: Vec::new(),
        allowed_unenforced: Vec::new(),
        file_digests: paths(&[("objects/aa.bpf.o", "sha256:aa")]),
        dns: None,
        l7: None,
    }
}

/// Every optional field present: a specialized endpoint with DNS tables, a CIDR identity, a
/// namespaced rule, node-wide FQDN classes.
fn full() -> Manifest {
    let mut m = minimal();
    m.warnings = vec!["L7 is not enforced".into()];
    m.identities.push(ManifestIdentity {
        id: 16_777_217,
        kind: "cidr".into(),
        prefix: Some("10.0.0.0/8".into()),
        labels: vec!["cidr:10.0.0.0/8".into()],
    });
    m.rules.push(ManifestRule {
        id: 1,
        datapath_rule_id: 2,
        policy_kind: "CNP".into(),
        namespace: Some("ns".into()),
        name: "api".into(),
        file: "q.yaml".into(),
        line: 9,
        column: 5,
        yaml_path: "spec.ingress[1]".into(),
        direction: Direction::Ingress,
        action: "deny".into(),
    });
    m.endpoints.push(ManifestEndpoint {
        name: "ns/b".into(),
        endpoint_id: 2,
        identity: 1001,
        object: Some("objects/bb.bpf.o".into()),
        specialized: true,
        redirect_l7_rules: vec![2],
        config: "images/c1.bin".into(),
        addresses: vec![
            std::net::Ipv4Addr::new(198, 18, 1, 10).into(),
            std::net::Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 1, 0x10).into(),
        ],
        maps: paths(&[("pc_class", "images/a1.bin")]),
        decision_maps: paths(&[("pc_portfn", "images/b2.bin")]),
        attach: attach(None),
        enforced: [(Direction::Ingress, true), (Direction::Egress, true)].into(),
        verdict_kinds: vec!["allow".into(), "redirect-l7".into()],
        dns: Some(ManifestDns {
            maps: paths(&[("pc_dns_config", "images/d3.bin")]),
            dns_rules: vec![1],
            dns_ports: vec!["53".into()],
        }),
    });
    m.l7 = Some(super::l7::L7_TABLES_FILE.into());
    m.dns = Some(ManifestNodeDns {
        object: "objects/cc.dns.bpf.o".into(),
        fqdn_classes: vec![ManifestFqdnClass {
            class: 0,
            selector: "matchName: api.example.com".into(),
        }],
    });
    m
}

#[test_case(minimal() ; "every optional field absent")]
#[test_case(full() ; "every optional field present")]
fn what_the_writer_serializes_the_reader_parses_back_equal(manifest: Manifest) {
    let text = write(&manifest);
    let parsed = parse(&text);
    assert_eq!(parsed, manifest);
    assert_eq!(write(&parsed), text, "re-serializing changed the bytes");
}

/// The writer's bytes, key order included (the artifact is byte-reproducible, and the
/// testsuite's example builds compare whole files).
#[test]
fn absent_optional_fields_are_left_out_and_keys_keep_their_order() {
    let expected = r#"{
  "format_version": FORMAT,
  "layout_version": LAYOUT,
  "input_digest": "sha256:00",
  "inputs": [
    "policies/"
  ],
  "cluster": "default",
  "object": "objects/aa.bpf.o",
  "ipcache": "maps/ipcache.bin",
  "classifier": "classifier.json",
  "identities": [
    {
      "id": 1,
      "kind": "reserved",
      "labels": [
        "reserved:host"
      ]
    }
  ],
  "rules": [
    {
      "id": 0,
      "datapath_rule_id": 1,
      "policy_kind": "CCNP",
      "name": "allow-dns",
      "file": "p.yaml",
      "line": 3,
      "column": 7,
      "yaml_path": "spec.egress[0]",
      "direction": "egress",
      "action": "allow"
    }
  ],
  "endpoints": [
    {
      "name": "ns/a",
      "endpoint_id": 1,
      "identity": 1000,
      "object": "objects/aa.bpf.o",
      "config": "images/c1.bin",
      "maps": {
        "pc_class": "images/a1.bin"
      },
      "attach": {
        "interface": "pc-a",
        "egress_program": "pc_egress_tcx",
        "ingress_program": "pc_ingress_tcx",
        "egress_cgroup_program": "pc_egress_cg",
        "ingress_cgroup_program": "pc_ingress_cg"
      },
      "enforced": {
        "ingress": true,
        "egress": false
      },
      "verdict_kinds": [
        "allow"
      ]
    }
  ],
  "warnings": [],
  "file_digests": {
    "objects/aa.bpf.o": "sha256:aa"
  }
}
"#
    .replace("LAYOUT", &LAYOUT_VERSION.to_string())
    .replace("FORMAT", &ARTIFACT_FORMAT_VERSION.to_string());
    assert_eq!(write(&minimal()), expected);
}

/// A manifest of an older writer: no `inputs`, no `classifier`, no per-endpoint `object`,
/// attach without program names, no `enforced`/`verdict_kinds`, no DNS, warnings or digests.
const OLDER_MANIFEST: &str = r#"{
  "format_version": 1,
  "layout_version": 3,
  "input_digest": "sha256:00",
  "cluster": "default",
  "object": "objects/aa.bpf.o",
  "ipcache": "maps/ipcache.bin",
  "identities": [{"id": 1, "kind": "reserved", "prefix": null, "labels": []}],
  "rules": [],
  "endpoints": [{
    "name": "ns/a",
    "endpoint_id": 1,
    "identity": 1000,
    "config": "maps/ns/a/config.bin",
    "maps": {},
    "attach": {"interface": null}
  }]
}"#;

#[test]
fn fields_an_older_writer_left_out_get_their_defaults() {
    let m = parse(OLDER_MANIFEST);
    assert!(m.inputs.is_empty() && m.warnings.is_empty() && m.file_digests.is_empty());
    assert_eq!((&m.classifier, &m.dns), (&None, &None));
    assert_eq!(m.identities[0].prefix, None);
    let e = &m.endpoints[0];
    assert_eq!((&e.object, e.specialized, &e.dns), (&None, false, &None));
    assert!(e.addresses.is_empty());
    assert!(e.redirect_l7_rules.is_empty() && e.decision_maps.is_empty());
    assert!(e.enforced.is_empty() && e.verdict_kinds.is_empty());
    assert_eq!(e.attach.interface, None);
    assert!(e.attach.egress_program.is_empty());
    assert_eq!(m.endpoint_object(e), "objects/aa.bpf.o");
}

#[test_case("format_version" ; "format version")]
#[test_case("layout_version" ; "layout version")]
#[test_case("object" ; "datapath object")]
#[test_case("endpoints" ; "endpoints")]
fn a_manifest_without_a_required_field_is_refused(field: &str) {
    let mut value: serde_json::Value =
        serde_json::from_str(OLDER_MANIFEST).unwrap_or_else(|e| panic!("{e}"));
    let removed = value.as_object_mut().and_then(|m| m.remove(field));
    assert!(removed.is_some(), "{field} is not in the fixture");
    assert!(serde_json::from_value::<Manifest>(value).is_err());
}

/// Addresses are written as text, IPv4 and IPv6 alike, and read back.
#[test]
fn endpoint_addresses_are_written_as_text() {
    let m = full();
    let value = serde_json::to_value(&m).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        value["endpoints"][1]["addresses"],
        serde_json::json!(["198.18.1.10", "fd00::1:10"])
    );
    assert!(value["endpoints"][0].get("addresses").is_none());
}

#[test]
fn a_rule_direction_other_than_ingress_or_egress_is_refused() {
    let mut value = serde_json::to_value(minimal()).unwrap_or_else(|e| panic!("{e}"));
    value["rules"][0]["direction"] = "sideways".into();
    assert!(serde_json::from_value::<Manifest>(value).is_err());
}

#[test_case(0b1, &["matchName: api.example.com"] ; "a known class by its selector")]
#[test_case(0b10, &["class 1"] ; "an unknown class by its bit")]
#[test_case(1 << 63, &[] ; "the rules.dns bit is not a selector")]
fn selector_bits_are_named_by_the_node_wide_classes(bits: u64, names: &[&str]) {
    let dns = full().dns.unwrap_or_else(|| panic!("full() has DNS"));
    assert_eq!(dns.selector_names(bits), names);
}

#[test]
fn a_rule_describes_itself_with_its_provenance() {
    let m = full();
    let described: Vec<String> = m.rules.iter().map(ManifestRule::describe).collect();
    assert_eq!(
        described,
        [
            "CCNP allow-dns allow (p.yaml:3:7 spec.egress[0])",
            "CNP ns/api deny (q.yaml:9:5 spec.ingress[1])",
        ]
    );
    assert_eq!(m.rule(2).map(|r| r.name.as_str()), Some("api"));
    assert_eq!(m.identity_labels(16_777_217), "cidr:10.0.0.0/8");
    assert_eq!(m.identity_labels(1), "reserved:host");
    assert_eq!(m.identity_labels(7), "?");
}
