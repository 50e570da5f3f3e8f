//! Loads `l7/http.json` from an artifact directory: the manifest names it, the bytes must have
//! the digest the manifest pins, and every DFA must load (`DFA::from_bytes` checks them).

use std::path::{Path, PathBuf};

use policyc_backends::artifact::l7::L7FormatError;
use policyc_backends::artifact::{file_digest, Manifest, MANIFEST_FILE};
use policyc_backends::l7::L7Judge;

/// Why an artifact's L7 tables cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TablesError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a manifest: {source}")]
    Manifest {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("the artifact has no L7 tables (no HTTP rule on a redirect-l7 verdict)")]
    NoTables,
    #[error("{path}: the manifest pins no digest for it")]
    Unpinned { path: PathBuf },
    #[error("{path}: digest {found}, the manifest pins {pinned}; rebuild the artifact")]
    Digest {
        path: PathBuf,
        found: String,
        pinned: String,
    },
    #[error("{path}: {source}")]
    Format {
        path: PathBuf,
        source: L7FormatError,
    },
}

/// The manifest of the artifact at `dir`.
pub fn read_manifest(dir: &Path) -> Result<Manifest, TablesError> {
    let path = dir.join(MANIFEST_FILE);
    let bytes = std::fs::read(&path).map_err(|source| TablesError::Read {
        path: path.clone(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|source| TablesError::Manifest { path, source })
}

/// The loaded L7 tables of the artifact at `dir`.
pub fn load_artifact_tables(dir: &Path) -> Result<L7Judge, TablesError> {
    let manifest = read_manifest(dir)?;
    let relative = manifest.l7.as_ref().ok_or(TablesError::NoTables)?;
    let path = dir.join(relative);
    let pinned = manifest
        .file_digests
        .get(relative)
        .ok_or_else(|| TablesError::Unpinned { path: path.clone() })?;
    let bytes = std::fs::read(&path).map_err(|source| TablesError::Read {
        path: path.clone(),
        source,
    })?;
    let found = file_digest(&bytes);
    if &found != pinned {
        return Err(TablesError::Digest {
            path,
            found,
            pinned: pinned.clone(),
        });
    }
    L7Judge::from_bytes(&bytes).map_err(|source| TablesError::Format { path, source })
}
