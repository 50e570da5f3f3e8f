//! The input digest of a build: sha256 over every input file (inventory and policies), sorted by
//! path, each as `path NUL length NUL bytes`, so the same inputs always give the same digest.

use policyc_frontend::input_files::{collect_input_files, is_yaml_or_json};
use sha2::{Digest, Sha256};
use std::path::PathBuf;

/// Every file under `paths` (files as given, directories recursively: `*.yaml|*.yml|*.json`),
/// sorted and deduplicated.
pub fn input_files(paths: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    // The loaders already reported unreadable paths and files reached twice.
    let mut out = collect_input_files(paths, &is_yaml_or_json).files;
    out.sort();
    out.dedup();
    Ok(out)
}

/// `sha256:<hex>` over the files.
pub fn input_digest(files: &[PathBuf]) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    for file in files {
        let bytes = std::fs::read(file)?;
        hasher.update(file.to_string_lossy().as_bytes());
        hasher.update([0]);
        hasher.update(bytes.len().to_string().as_bytes());
        hasher.update([0]);
        hasher.update(&bytes);
    }
    Ok(format!("sha256:{}", hex::encode(hasher.finalize())))
}
