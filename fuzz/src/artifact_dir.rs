//! A per-process copy of the seed artifact that the artifact and classifier targets rewrite
//! (manifest, one image, the classifier) for every input.

use crate::examples::seed_artifact;
use policyc_loader::node::artifact::Manifest;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The copy (kept for the life of the process) and the seed's manifest.
pub struct Scratch {
    pub dir: PathBuf,
    pub manifest: Manifest,
    _keep: tempfile::TempDir,
}

/// Copies the seed artifact once.
pub fn scratch() -> &'static Scratch {
    static SCRATCH: OnceLock<Scratch> = OnceLock::new();
    SCRATCH.get_or_init(|| {
        let seed = seed_artifact();
        let keep = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let dir = keep.path().join("artifact");
        copy_tree(seed, &dir);
        let bytes = std::fs::read(seed.join("manifest.json"))
            .unwrap_or_else(|e| panic!("seed manifest: {e}"));
        let manifest =
            serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("seed manifest: {e}"));
        Scratch {
            dir,
            manifest,
            _keep: keep,
        }
    })
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("{}: {e}", to.display()));
    let entries = std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
    for entry in entries.flatten() {
        let path = entry.path();
        let target = to.join(entry.file_name());
        if path.is_dir() {
            copy_tree(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
    }
}

/// `sha256:<hex>`, as `file_digests` writes it.
pub fn digest(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Writes `manifest` as the scratch artifact's `manifest.json`.
pub fn write_manifest(dir: &Path, manifest: &Manifest) {
    let bytes = serde_json::to_vec(manifest).unwrap_or_else(|e| panic!("manifest: {e}"));
    std::fs::write(dir.join("manifest.json"), bytes).unwrap_or_else(|e| panic!("manifest: {e}"));
}
