//! Semantic lints on the real-policy corpus (`fixtures/corpus`): each `parse=ok` file is linted
//! on its own; no lint may report an error or panic, and the semantic findings (PC03xx) are
//! snapshotted so that false positives show up in review.

use policyc_diagnostics::source::SourceMap;
use policyc_diagnostics::{Finding, Severity};
use policyc_frontend::{load_policies, FrontendOptions};
use policyc_lint::lint_policy_set;
use policyc_testsuite::corpus;

/// `parse=ok` files of every `MANIFEST.tsv`, relative to the corpus root, sorted.
fn ok_files() -> Vec<String> {
    let mut files: Vec<String> = corpus::manifest_entries()
        .into_iter()
        .filter(|e| e.parse.starts_with("ok"))
        .map(|e| e.rel)
        .collect();
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
    let root = corpus::root();
    let files = ok_files();
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
        // PC0320 (a field `policyc build` refuses, e.g. `authentication.mode: required`) is an
        // error by design: the field does not mean in policyc what it means in Cilium.
        for finding in findings
            .iter()
            .filter(|f| f.code.category() == "semantic" && f.code.id != "PC0320")
        {
            assert_ne!(
                finding.severity,
                Severity::Error,
                "{}",
                line(rel, finding, &sources)
            );
            report.push_str(&line(rel, finding, &sources));
            report.push('\n');
        }
    }
    insta::assert_snapshot!("lint_corpus_semantic_findings", report);
}
