//! `policyc build` artifacts: byte-identical across runs, complete (every endpoint has its
//! config and map images, the object is content-addressed), and refused on lint errors.

use policyc_backends::ImageFile;
use policyc_build::{build_artifact, BuildFailure, BuildRequest};
use policyc_diagnostics::source::SourceMap;
use std::path::{Path, PathBuf};
use test_case::test_case;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn examples_request(output: &Path) -> BuildRequest {
    BuildRequest {
        inventory: root().join("policy-examples/inventory.yaml"),
        policies: vec![root().join("policy-examples/policies")],
        output: output.to_path_buf(),
        options: Default::default(),
        local_node: None,
        allow_unenforced: Vec::new(),
    }
}

fn build(output: &Path) -> policyc_build::ArtifactSummary {
    let mut sources = SourceMap::default();
    match build_artifact(&examples_request(output), &mut sources, &|_| {}, &|| {}) {
        Ok((summary, _)) => summary,
        Err(e) => panic!("build failed: {e}"),
    }
}

#[test]
fn same_inputs_give_byte_identical_artifacts() {
    let a = tempfile::tempdir().expect("tempdir");
    let b = tempfile::tempdir().expect("tempdir");
    build(a.path());
    build(b.path());
    let (ta, tb) = (
        policyc_testsuite::file_tree(a.path()),
        policyc_testsuite::file_tree(b.path()),
    );
    assert_eq!(
        ta.keys().collect::<Vec<_>>(),
        tb.keys().collect::<Vec<_>>(),
        "different file sets"
    );
    for (path, bytes) in &ta {
        assert!(
            tb.get(path) == Some(bytes),
            "{path} differs between two builds of the same inputs"
        );
    }
    assert!(ta.len() > 10, "only {} files", ta.len());
}

#[test]
fn rebuilding_into_the_same_directory_gives_the_same_bytes() {
    let a = tempfile::tempdir().expect("tempdir");
    build(a.path());
    let first = policyc_testsuite::file_tree(a.path());
    build(a.path());
    assert_eq!(first, policyc_testsuite::file_tree(a.path()));
}

#[test]
fn manifest_points_at_existing_images_for_every_endpoint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let summary = build(dir.path());
    let manifest = &summary.manifest;
    assert_eq!(
        manifest.format_version,
        policyc_backends::artifact::ARTIFACT_FORMAT_VERSION
    );
    assert!(manifest.input_digest.starts_with("sha256:"));
    assert_eq!(manifest.endpoints.len(), 8);
    assert!(dir.path().join(&manifest.object).is_file());
    assert!(manifest.object.starts_with("objects/") && manifest.object.ends_with(".bpf.o"));
    assert!(
        !manifest.rules.is_empty()
            && manifest
                .rules
                .iter()
                .all(|r| r.datapath_rule_id == r.id + 1)
    );
    for endpoint in &manifest.endpoints {
        // The config image is the endpoint's shape's: its id comes from the manifest.
        let config = ImageFile::read(&dir.path().join(&endpoint.config)).expect("config image");
        assert_eq!(config.config.map(|c| c.endpoint_id), Some(0));
        assert!(
            !endpoint.addresses.is_empty(),
            "{} has no addresses",
            endpoint.name
        );
        for name in ["pc_class", "pc_portfn", "pc_intervals", "pc_counters"] {
            let path = endpoint
                .maps
                .get(name)
                .unwrap_or_else(|| panic!("{}: no {name}", endpoint.name));
            let image = ImageFile::read(&dir.path().join(path)).expect("map image");
            assert_eq!(image.maps.len(), 1);
            assert_eq!(image.maps[0].name, name);
        }
        assert!(
            endpoint.attach.interface.is_some(),
            "{} has no interface",
            endpoint.name
        );
    }
    let report = std::fs::read_to_string(dir.path().join("report.md")).expect("report.md");
    assert!(
        report.contains("Cilium") && report.contains("toFQDNs"),
        "report misses the comparison or the FQDN note"
    );
}

#[test]
fn l7_rules_make_the_build_warn_loudly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let summary = build(dir.path());
    assert!(summary.manifest.warnings.iter().any(|w| w.contains("L7")));
    assert!(summary
        .manifest
        .endpoints
        .iter()
        .any(|e| e.verdict_kinds.iter().any(|k| k == "redirect-l7")));
}

#[test]
fn inputs_with_errors_are_refused_with_findings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut request = examples_request(dir.path());
    request.policies = vec![root().join("policy-examples/broken")];
    let mut sources = SourceMap::default();
    match build_artifact(&request, &mut sources, &|_| {}, &|| {}) {
        Err(BuildFailure::Findings(findings)) => assert!(!findings.is_empty()),
        Err(other) => panic!("expected findings, got {other}"),
        Ok(_) => panic!("a broken policy set was built"),
    }
    assert!(!dir.path().join("manifest.json").exists());
}

/// Fields the node cannot be given their Cilium meaning: `policyc build` refuses them by name,
/// with the location of every use (testsuite/fixtures/refused/).
#[test_case("host-policy.yaml", "[host-policy]", "host-policy.yaml:8:3 (spec.nodeSelector)" ; "a host policy")]
#[test_case("deny-with-runtime-peer.yaml", "[runtime-peer-deny]", "deny-with-runtime-peer.yaml:12:11 (spec.ingressDeny[0].fromCIDRSet[0].cidrGroupRef)" ; "a deny rule with a runtime-only peer")]
#[test_case("authentication-required.yaml", "[mutual-auth]", "authentication-required.yaml:15:15 (spec.ingress[0].authentication.mode)" ; "mutual authentication")]
#[test_case("vrrp-deny.yaml", "[vrrp-igmp-deny]", "vrrp-deny.yaml:16:25 (spec.ingressDeny[0].toPorts[0].ports[0].protocol)" ; "a VRRP deny")]
#[test_case("server-names.yaml", "[server-names]", "server-names.yaml:16:11 (spec.egress[0].toPorts[0].serverNames)" ; "TLS server names")]
fn build_refuses_what_the_node_cannot_enforce(file: &str, field: &str, location: &str) {
    use policyc_build::{build_artifact_with, BuildProgress};
    let out = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let request = BuildRequest {
        inventory: policyc_testsuite::workspace().join("policy-examples/inventory.yaml"),
        policies: vec![policyc_testsuite::workspace()
            .join("testsuite/fixtures/refused")
            .join(file)],
        output: out.path().join("artifact"),
        options: Default::default(),
        local_node: None,
        allow_unenforced: Vec::new(),
    };
    let mut sources = SourceMap::new();
    match build_artifact_with(&request, None, &mut sources, &BuildProgress::silent()) {
        Err(e @ BuildFailure::Refused(_)) => {
            let text = e.to_string();
            assert!(text.contains(field) && text.contains(location), "{text}");
        }
        other => panic!("expected a refusal, got {:?}", other.map(|_| ())),
    }
    assert!(!out.path().join("artifact").exists(), "nothing is written");
}

/// A deny rule whose `cidrGroupRef` the inventory resolves (CiliumCIDRGroup objects) builds
/// without a refusal or a runtime-peer warning; the same policy over the inventory without the
/// CIDR groups and Services is refused by name (issue 13, divergence 9).
#[test]
fn build_resolves_runtime_peers_from_the_inventory() {
    use policyc_build::{build_artifact_with, BuildProgress};
    let fixture =
        policyc_testsuite::workspace().join("testsuite/fixtures/fidelity/11-runtime-peers");
    let out = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let request = |inventory: std::path::PathBuf, output: &str| BuildRequest {
        inventory,
        policies: vec![fixture.join("policy.yaml")],
        output: out.path().join(output),
        options: Default::default(),
        local_node: None,
        allow_unenforced: Vec::new(),
    };
    let mut sources = SourceMap::new();
    let (summary, _, _) = build_artifact_with(
        &request(fixture.join("inventory.yaml"), "resolved"),
        None,
        &mut sources,
        &BuildProgress::silent(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !summary
            .manifest
            .warnings
            .iter()
            .any(|w| w.contains("runtime-peer")),
        "{:?}",
        summary.manifest.warnings
    );
    let full = std::fs::read_to_string(fixture.join("inventory.yaml")).unwrap_or_default();
    let pods_only = full.split("\n---\n").next().unwrap_or_default();
    let inventory = out.path().join("pods-only.yaml");
    std::fs::write(&inventory, pods_only).unwrap_or_else(|e| panic!("{e}"));
    match build_artifact_with(
        &request(inventory, "unresolved"),
        None,
        &mut SourceMap::new(),
        &BuildProgress::silent(),
    ) {
        Err(e @ BuildFailure::Refused(_)) => {
            let text = e.to_string();
            assert!(
                text.contains("[runtime-peer-deny]")
                    && text.contains("spec.egressDeny[0].toCIDRSet[0].cidrGroupRef"),
                "{text}"
            );
        }
        other => panic!("expected a refusal, got {:?}", other.map(|_| ())),
    }
}

/// `rules.dns` that differ between peers cannot be kept apart by the in-kernel DNS stage (one
/// union per endpoint): `build` refuses the endpoint, naming both rules, and writes nothing.
#[test]
fn build_refuses_dns_rules_that_differ_between_peers() {
    use policyc_build::{build_artifact_with, BuildProgress};
    let out = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let request = BuildRequest {
        inventory: policyc_testsuite::workspace().join("policy-examples/inventory.yaml"),
        policies: vec![policyc_testsuite::workspace()
            .join("testsuite/fixtures/refused/dns-rules-per-peer.yaml")],
        output: out.path().join("artifact"),
        options: Default::default(),
        local_node: None,
        allow_unenforced: Vec::new(),
    };
    let mut sources = SourceMap::new();
    match build_artifact_with(&request, None, &mut sources, &BuildProgress::silent()) {
        Err(e) => {
            let text = e.to_string();
            assert!(
                text.contains("shop/frontend")
                    && text.contains("differ between peers")
                    && text.contains("dns-rules-per-peer.yaml:13:7")
                    && text.contains("dns-rules-per-peer.yaml:24:7"),
                "{text}"
            );
        }
        Ok(_) => panic!("an endpoint with per-peer rules.dns was built"),
    }
    assert!(!out.path().join("artifact").exists(), "nothing is written");
}

/// `--allow-unenforced CODE` builds anyway; the manifest names the code and a warning every
/// use.
#[test]
fn allow_unenforced_builds_and_names_the_code() {
    use policyc_build::{build_artifact_with, BuildProgress};
    let out = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let request = BuildRequest {
        inventory: policyc_testsuite::workspace().join("policy-examples/inventory.yaml"),
        policies: vec![
            policyc_testsuite::workspace().join("testsuite/fixtures/refused/server-names.yaml")
        ],
        output: out.path().join("artifact"),
        options: Default::default(),
        local_node: None,
        allow_unenforced: vec!["server-names".to_string()],
    };
    let mut sources = SourceMap::new();
    let (summary, _, _) =
        build_artifact_with(&request, None, &mut sources, &BuildProgress::silent())
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        summary.manifest.allowed_unenforced,
        vec!["server-names".to_string()]
    );
    assert!(
        summary
            .manifest
            .warnings
            .iter()
            .any(|w| w.contains("[server-names]") && w.contains("server-names.yaml:16:11")),
        "{:?}",
        summary.manifest.warnings
    );
}

#[test]
fn allow_unenforced_rejects_an_unknown_code() {
    use policyc_build::{build_artifact_with, BuildProgress};
    let out = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let request = BuildRequest {
        inventory: policyc_testsuite::workspace().join("policy-examples/inventory.yaml"),
        policies: vec![
            policyc_testsuite::workspace().join("testsuite/fixtures/refused/server-names.yaml")
        ],
        output: out.path().join("artifact"),
        options: Default::default(),
        local_node: None,
        allow_unenforced: vec!["server-name".to_string()],
    };
    let mut sources = SourceMap::new();
    match build_artifact_with(&request, None, &mut sources, &BuildProgress::silent()) {
        Err(e @ BuildFailure::UnknownGapCode(_)) => {
            assert!(e.to_string().contains("server-names"), "{e}")
        }
        other => panic!("expected an unknown code, got {:?}", other.map(|_| ())),
    }
}
