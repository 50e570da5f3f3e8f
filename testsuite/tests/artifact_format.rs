//! The artifact format is defined once (`policyc_backends::artifact`) for `policyc build` and
//! `policy-loader`: a real build of `policy-examples/` (template and `--specialize`) is read by
//! the loader into exactly the manifest the writer held, serializing what the loader read gives
//! `manifest.json` byte for byte, and the loader installs the format versions the writer stamps
//! and refuses the others.

use policyc_backends::artifact::{
    file_digest, Manifest, ARTIFACT_FORMAT_VERSION, ARTIFACT_FORMAT_VERSION_SPECIALIZED,
    LAYOUT_VERSION, MANIFEST_FILE, SUPPORTED_FORMAT_VERSIONS,
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
    let expected_version = if specialize {
        ARTIFACT_FORMAT_VERSION_SPECIALIZED
    } else {
        ARTIFACT_FORMAT_VERSION
    };
    assert_eq!(m.format_version, expected_version);
    assert_eq!(m.endpoints.iter().any(|e| e.specialized), specialize);
    assert!(m.dns.is_some() && m.endpoints.iter().any(|e| e.dns.is_some()));
    assert!(m.identities.iter().any(|i| i.prefix.is_some()));
    for endpoint in &m.endpoints {
        artifact
            .endpoint_install(&endpoint.name)
            .unwrap_or_else(|e| panic!("{}: {e}", endpoint.name));
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

#[test_case(false, ARTIFACT_FORMAT_VERSION, None ; "template endpoints in format 1 install")]
#[test_case(false, ARTIFACT_FORMAT_VERSION_SPECIALIZED, None ; "template endpoints in format 2 install")]
#[test_case(true, ARTIFACT_FORMAT_VERSION, Some("is specialized, which format version 1 cannot express") ; "specialized endpoints in format 1 are refused")]
#[test_case(false, ARTIFACT_FORMAT_VERSION_SPECIALIZED + 1, Some("this loader installs versions") ; "a newer format is refused")]
#[test_case(false, 0, Some("this loader installs versions") ; "format 0 is refused")]
fn the_loader_installs_the_format_versions_the_writer_stamps(
    specialize: bool,
    format_version: u32,
    refusal: Option<&str>,
) {
    assert_eq!(
        SUPPORTED_FORMAT_VERSIONS.contains(&format_version),
        refusal.is_none() || specialize
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
