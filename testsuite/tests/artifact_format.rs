//! The artifact format is defined once (`policyc_backends::artifact`) for `policyc build` and
//! `policy-loader`: a real build of `policy-examples/` (template and `--specialize`) is read by
//! the loader into exactly the manifest the writer held, serializing what the loader read gives
//! `manifest.json` byte for byte, and the loader installs the format versions the writer stamps
//! and refuses the others.

use policyc_backends::artifact::{
    file_digest, Manifest, ARTIFACT_FORMAT_VERSION, LAYOUT_VERSION, MANIFEST_FILE,
    SUPPORTED_FORMAT_VERSIONS,
};
use policyc_build::specialize::SpecializeOptions;
use policyc_build::{build_artifact_with, BuildProgress, BuildRequest};
use policyc_diagnostics::source::SourceMap;
use policyc_loader::node::artifact::Artifact;
use policyc_testsuite::workspace;
use std::path::Path;
use test_case::test_case;

/// `policyc build` of the examples into `out` (with `--specialize` when `specialize`), as the
/// CLI runs it; returns the manifest the writer wrote.
fn build(out: &Path, specialize: bool) -> Manifest {
    let request = BuildRequest {
        inventory: workspace().join("policy-examples/inventory.yaml"),
        policies: vec![workspace().join("policy-examples/policies")],
        output: out.to_path_buf(),
        options: Default::default(),
        local_node: None,
        allow_unenforced: Vec::new(),
    };
    let options = specialize.then(|| SpecializeOptions {
        cache_dir: out.join("../cache"),
        ..SpecializeOptions::default()
    });
    let mut sources = SourceMap::default();
    match build_artifact_with(
        &request,
        options.as_ref(),
        &mut sources,
        &BuildProgress::silent(),
    ) {
        Ok((summary, _, _)) => summary.manifest,
        Err(e) => panic!("policyc build: {e}"),
    }
}

#[test_case(false ; "template objects")]
#[test_case(true ; "specialized objects")]
fn the_loader_reads_back_exactly_the_manifest_the_writer_wrote(specialize: bool) {
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = work.path().join("out");
    let written = build(&out, specialize);
    let bytes = std::fs::read(out.join(MANIFEST_FILE)).unwrap_or_else(|e| panic!("{e}"));

    let artifact = Artifact::open(&out).unwrap_or_else(|e| panic!("the loader refused: {e}"));
    assert_eq!(artifact.manifest, written);
    assert_eq!(artifact.digest, file_digest(&bytes));
    let mut reserialized =
        serde_json::to_string_pretty(&artifact.manifest).unwrap_or_else(|e| panic!("{e}"));
    reserialized.push('\n');
    assert!(
        reserialized.as_bytes() == bytes.as_slice(),
        "the loader's manifest serializes differently from manifest.json"
    );

    // What the examples exercise: every optional part of the format.
    let m = &artifact.manifest;
    assert_eq!(m.format_version, ARTIFACT_FORMAT_VERSION);
    assert_eq!(m.endpoints.iter().any(|e| e.specialized), specialize);
    assert!(m.dns.is_some() && m.endpoints.iter().any(|e| e.dns.is_some()));
    assert!(m.identities.iter().any(|i| i.prefix.is_some()));
    for endpoint in &m.endpoints {
        artifact
            .endpoint_install(&endpoint.name)
            .unwrap_or_else(|e| panic!("{}: {e}", endpoint.name));
    }
}

/// What the loader reads for each endpoint (config with its own id and addresses, map images,
/// DNS images) is exactly what the compiler computed for it, although the artifact stores one
/// config per shape and each distinct image once.
#[test]
fn the_loader_installs_exactly_the_images_the_compiler_computed() {
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = work.path().join("out");
    build(&out, false);
    let mut sources = SourceMap::default();
    let (universe, rules, _) = policyc_build::load_inputs(
        &workspace().join("policy-examples/inventory.yaml"),
        &[workspace().join("policy-examples/policies")],
        Default::default(),
        &mut sources,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let compiled =
        policyc_build::compile(&universe, &rules, &|| {}).unwrap_or_else(|e| panic!("{e}"));
    let dns = policyc_build::dns_images::build_node_dns(&compiled, &rules)
        .unwrap_or_else(|e| panic!("{e}"));
    let artifact = Artifact::open(&out).unwrap_or_else(|e| panic!("the loader refused: {e}"));
    assert_eq!(artifact.manifest.endpoints.len(), compiled.endpoints.len());
    for endpoint in &compiled.endpoints {
        let name = endpoint.key.to_string();
        let install = artifact
            .endpoint_install(&name)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            install.images.config, endpoint.images.config,
            "{name}: config"
        );
        assert_ne!(
            install.images.config.source_families, [0; 4],
            "{name}: addresses"
        );
        // The manifest lists maps by name.
        let mut expected_maps = endpoint.images.maps.clone();
        expected_maps.sort_by(|a, b| a.name.cmp(&b.name));
        assert_eq!(install.images.maps, expected_maps, "{name}: maps");
        let dns_images = dns
            .endpoints
            .get(&endpoint.key)
            .map(|d| d.images.clone())
            .unwrap_or_default();
        let mut read = install.dns_images.clone();
        let mut expected = dns_images;
        read.sort_by(|a, b| a.name.cmp(&b.name));
        expected.sort_by(|a, b| a.name.cmp(&b.name));
        assert_eq!(read, expected, "{name}: DNS images");
    }
}

fn set_versions(out: &Path, format_version: u32, layout_version: u32) {
    let path = out.join(MANIFEST_FILE);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
    let mut value: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    value["format_version"] = format_version.into();
    value["layout_version"] = layout_version.into();
    std::fs::write(&path, value.to_string()).unwrap_or_else(|e| panic!("{e}"));
}

#[test_case(false, ARTIFACT_FORMAT_VERSION, None ; "template endpoints in format 3 install")]
#[test_case(true, ARTIFACT_FORMAT_VERSION, None ; "specialized endpoints in format 3 install")]
#[test_case(false, 1, Some("this loader installs versions") ; "format 1 with per endpoint configs is refused")]
#[test_case(true, 2, Some("this loader installs versions") ; "format 2 with per endpoint configs is refused")]
#[test_case(false, ARTIFACT_FORMAT_VERSION + 1, Some("this loader installs versions") ; "a newer format is refused")]
#[test_case(false, 0, Some("this loader installs versions") ; "format 0 is refused")]
fn the_loader_installs_the_format_versions_the_writer_stamps(
    specialize: bool,
    format_version: u32,
    refusal: Option<&str>,
) {
    assert_eq!(
        SUPPORTED_FORMAT_VERSIONS.contains(&format_version),
        refusal.is_none()
    );
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = work.path().join("out");
    build(&out, specialize);
    set_versions(&out, format_version, LAYOUT_VERSION);
    match (Artifact::open(&out), refusal) {
        (Ok(_), None) => {}
        (Ok(_), Some(expected)) => panic!("installed; expected a refusal naming {expected:?}"),
        (Err(e), None) => panic!("refused: {e}"),
        (Err(e), Some(expected)) => assert!(e.to_string().contains(expected), "{e}"),
    }
}

#[test]
fn another_layout_version_is_refused() {
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = work.path().join("out");
    build(&out, false);
    set_versions(&out, ARTIFACT_FORMAT_VERSION, LAYOUT_VERSION + 1);
    let err = Artifact::open(&out).expect_err("another layout version installed");
    assert!(
        err.to_string()
            .contains(&format!("map layout version {}", LAYOUT_VERSION + 1)),
        "{err}"
    );
}
