//! Semantic lints on the real-policy corpus (`../shared/corpus`): each `parse=ok` file is linted
//! on its own; no lint may report an error or panic, and the semantic findings (PC03xx) are
//! snapshotted so that false positives show up in review.

use policyc_diagnostics::source::SourceMap;
use policyc_diagnostics::{Finding, Severity};
use policyc_frontend::{load_policies, FrontendOptions};
use policyc_lint::lint_policy_set;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn corpus_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus")
}

/// `parse=ok` files of every `MANIFEST.tsv`, relative to the corpus root, sorted.
fn ok_files(root: &Path) -> Vec<String> {
    let mut files = Vec::new();
    let dirs = std::fs::read_dir(root).map(|rd| {
        rd.filter_map(|e| e.ok())
            .map(|e| e.path())
            .collect::<Vec<_>>()
    });
    for dir in dirs.unwrap_or_default() {
        let Ok(text) = std::fs::read_to_string(dir.join("MANIFEST.tsv")) else {
            continue;
        };
        let mut lines = text.lines().filter(|l| !l.starts_with('#'));
        let Some(header) = lines.next() else { continue };
        let columns: Vec<&str> = header.split('\t').collect();
        let path_col = columns.iter().position(|c| *c == "local_path");
        let parse_col = columns.iter().position(|c| *c == "parse");
        let (Some(path_col), Some(parse_col)) = (path_col, parse_col) else {
            continue;
        };
        let dir_name = dir
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        for line in lines {
            let cells: Vec<&str> = line.split('\t').collect();
            if let (Some(path), Some(parse)) = (cells.get(path_col), cells.get(parse_col)) {
                if parse.starts_with("ok") {
                    files.push(format!("{dir_name}/{path}"));
                }
            }
        }
    }
    files.sort();
    files
}

fn line(rel: &str, finding: &Finding, sources: &SourceMap) -> String {
    let (l, c) = finding.primary.as_ref().map_or((0, 0), |p| {
        let at = sources.line_col(p.span.source, p.span.start);
        (at.line, at.col)
    });
    format!(
        "{rel}:{l}:{c}: {}[{}] {}",
        finding.severity, finding.code.id, finding.message
    )
}

#[test]
fn corpus_semantic_findings_are_warnings_or_infos() {
    let root = corpus_root();
    let files = ok_files(&root);
    assert!(
        files.len() >= 100,
        "corpus manifests not found under {}",
        root.display()
    );
    let mut report = String::new();
    for rel in &files {
        let mut sources = SourceMap::new();
        let set = load_policies(&[root.join(rel)], &FrontendOptions::default(), &mut sources);
        let findings = lint_policy_set(&set, &sources, None);
        for finding in findings.iter().filter(|f| f.code.category() == "semantic") {
            assert_ne!(
                finding.severity,
                Severity::Error,
                "{}",
                line(rel, finding, &sources)
            );
            let _ = writeln!(report, "{}", line(rel, finding, &sources));
        }
    }
    insta::assert_snapshot!("lint_corpus_semantic_findings", report);
}
