//! Shared helpers for the cross-crate test suite (fixture paths, the loader binary, generators,
//! network namespaces).

pub mod dnsmasq;
pub mod gen;
pub mod netns;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root (the parent of this crate).
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| panic!("workspace root"))
}

/// Builds the `policy-loader` binary (a no-op when it is fresh) and returns its path; the
/// end-to-end tests run it as a separate process, as an operator would.
pub fn loader_binary() -> PathBuf {
    let status = Command::new(env!("CARGO"))
        .args([
            "build",
            "-q",
            "-p",
            "policyc-loader",
            "--bin",
            "policy-loader",
        ])
        .current_dir(workspace())
        .status()
        .unwrap_or_else(|e| panic!("cargo build: {e}"));
    assert!(status.success(), "building policy-loader");
    loader_path()
}

/// Where `loader_binary` puts the loader (without building it).
pub fn loader_path() -> PathBuf {
    workspace().join("target/debug/policy-loader")
}

/// `policyc build` of `policies` for `inventory` into `out`, as the CLI runs it without a
/// progress display; `specialize`: with `--specialize`, objects cached in that directory.
/// Panics with the diagnostic when the build fails.
pub fn build_artifact(
    inventory: &Path,
    policies: Vec<PathBuf>,
    out: &Path,
    specialize: Option<&Path>,
) {
    use policyc::build::specialize::SpecializeOptions;
    use policyc::build::{build_artifact_with, BuildProgress, BuildRequest};
    let request = BuildRequest {
        inventory: inventory.to_path_buf(),
        policies,
        output: out.to_path_buf(),
        options: Default::default(),
    };
    let options = specialize.map(|cache| SpecializeOptions {
        cache_dir: cache.to_path_buf(),
        ..SpecializeOptions::default()
    });
    let mut sources = policyc::frontend::source::SourceMap::default();
    if let Err(e) = build_artifact_with(
        &request,
        options.as_ref(),
        &mut sources,
        &BuildProgress::silent(),
    ) {
        panic!("policyc build of {}: {e}", out.display());
    }
}
