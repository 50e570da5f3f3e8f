//! `policyc build --specialize` end to end through the binary: a build that runs generated
//! objects (manifest format 2, objects named per endpoint, progress and cache lines), a missing
//! clang as exit 2 with the install hint, and the flags it needs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../policy-examples")
}

fn build(out: &Path, extra: &[&str]) -> Output {
    let examples = examples();
    match Command::new(env!("CARGO_BIN_EXE_policyc"))
        .arg("build")
        .arg("--inventory")
        .arg(examples.join("inventory.yaml"))
        .arg("-o")
        .arg(out)
        .args(extra)
        .arg(examples.join("policies"))
        .output()
    {
        Ok(o) => o,
        Err(e) => panic!("cannot run policyc: {e}"),
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

#[test]
fn specialize_builds_an_artifact_of_generated_objects() {
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let cache = work.path().join("cache");
    let cache_arg = cache.to_string_lossy().into_owned();
    let out = work.path().join("out");
    let first = build(&out, &["--specialize", "--cache-dir", &cache_arg]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let err = stderr(&first);
    assert!(err.contains("distinct object(s) to compile"), "{err}");
    assert!(err.contains("0 from the cache"), "{err}");
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out.join("manifest.json")).unwrap_or_else(|e| panic!("{e}")),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(manifest["format_version"], 3);
    let endpoints = manifest["endpoints"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(!endpoints.is_empty());
    for e in &endpoints {
        let object = e["object"].as_str().unwrap_or_default();
        assert!(out.join(object).is_file(), "{object}");
        assert_eq!(e["specialized"], true, "{e}");
    }

    let again = build(&out, &["--specialize", "--cache-dir", &cache_arg]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("(0 compiled with clang"),
        "{}",
        stderr(&again)
    );
}

#[test]
fn a_missing_clang_exits_2_with_the_install_hint() {
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let o = build(
        &work.path().join("out"),
        &["--specialize", "--clang", "/nonexistent/clang-16"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("apt-get install clang-16"), "{err}");
    assert!(
        !work.path().join("out/manifest.json").exists(),
        "nothing is written"
    );
}

#[test]
fn cache_dir_needs_specialize() {
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let o = build(&work.path().join("out"), &["--cache-dir", "/tmp/x"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}
