//! The real-policy corpus in `fixtures/corpus/` (third-party files with their `MANIFEST.tsv`,
//! see its README): where it is, its manifest rows, and its policy files.

use std::path::{Path, PathBuf};

/// `testsuite/fixtures/corpus`, inside the repository.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/corpus")
}

/// One row of a `MANIFEST.tsv` that has a `parse` column.
#[derive(Debug, Clone)]
pub struct ManifestEntry {
    /// Path relative to the corpus root (`cilium-examples/examples/...`).
    pub rel: String,
    /// `ok`, `invalid` or `template` (see the manifest's header comment).
    pub parse: String,
}

/// Every manifest row with a `parse` column, folder by folder in name order, rows in manifest
/// order. Panics when a folder has no readable manifest: a missing corpus must fail the tests
/// that read it, not make them pass on nothing.
pub fn manifest_entries() -> Vec<ManifestEntry> {
    let root = root();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("the corpus at {}: {e}", root.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let mut entries = Vec::new();
    for dir in dirs {
        let manifest = dir.join("MANIFEST.tsv");
        let text = std::fs::read_to_string(&manifest)
            .unwrap_or_else(|e| panic!("{}: {e}", manifest.display()));
        let mut lines = text.lines().filter(|l| !l.starts_with('#'));
        let header: Vec<&str> = lines.next().unwrap_or_default().split('\t').collect();
        let column = |name: &str| {
            header
                .iter()
                .position(|c| *c == name)
                .unwrap_or_else(|| panic!("{}: no column {name}", manifest.display()))
        };
        let (path_col, parse_col) = (column("local_path"), column("parse"));
        let dir_name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for line in lines {
            let cells: Vec<&str> = line.split('\t').collect();
            if let (Some(path), Some(parse)) = (cells.get(path_col), cells.get(parse_col)) {
                entries.push(ManifestEntry {
                    rel: format!("{dir_name}/{path}"),
                    parse: (*parse).to_owned(),
                });
            }
        }
    }
    entries
}

/// Every `.yaml`/`.yml` file under `dir` (recursively), sorted.
pub fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out.sort();
    out
}
