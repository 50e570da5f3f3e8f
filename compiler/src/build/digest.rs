//! The input digest of a build: sha256 over every input file (inventory and policies), sorted by
//! path, each as `path NUL length NUL bytes`, so the same inputs always give the same digest.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

fn is_policy_file(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml" | "json")
    )
}

fn walk(path: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if path.is_dir() {
        let mut children: Vec<PathBuf> = std::fs::read_dir(path)?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()?;
        children.sort();
        for child in children {
            if child.is_dir() || is_policy_file(&child) {
                walk(&child, out)?;
            }
        }
    } else {
        out.push(path.to_path_buf());
    }
    Ok(())
}

/// Every file under `paths` (files as given, directories recursively: `*.yaml|*.yml|*.json`),
/// sorted and deduplicated.
pub fn input_files(paths: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        walk(p, &mut out)?;
    }
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
