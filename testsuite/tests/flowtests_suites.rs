//! Every FlowTests file of the repository passes through the runner: the Kubernetes
//! NetworkPolicy truth table (`fixtures/knp-truth/`), the examples (`policy-examples/`), the
//! fidelity fixtures and the Cilium conformance suite (`fixtures/cilium-conformance/`).

use policyc_analysis::flowtest::{collect_files, render_text, run_file, RunOptions, Summary};
use policyc_diagnostics::source::SourceMap;
use std::path::{Path, PathBuf};

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Runs every FlowTests file under `dir`; returns the number of tests and the failure report.
fn run_dir(dir: &Path) -> (usize, String) {
    let files = match collect_files(&[dir.to_path_buf()]) {
        Ok(f) => f,
        Err(findings) => panic!("cannot collect {}: {findings:?}", dir.display()),
    };
    let mut sources = SourceMap::new();
    let mut reports = Vec::new();
    let mut errors = Vec::new();
    for f in &files {
        match run_file(f, &RunOptions::default(), &mut sources) {
            Ok(r) => reports.extend(r),
            Err(findings) => errors.push(format!(
                "{}: {}",
                f.display(),
                policyc_diagnostics::render(
                    policyc_diagnostics::Format::Concise,
                    &findings,
                    &sources,
                    &Default::default()
                )
            )),
        }
    }
    assert!(errors.is_empty(), "load errors:\n{}", errors.join("\n"));
    let s = Summary::of(&reports);
    let text = if s.failed > 0 {
        render_text(&reports, &sources)
    } else {
        String::new()
    };
    (s.passed + s.failed, text)
}

#[test]
fn knp_truth_table_fixtures_all_pass() {
    let dir = repo("fixtures/knp-truth");
    let (count, failures) = run_dir(&dir);
    assert!(failures.is_empty(), "{failures}");
    assert!(
        count >= 1000,
        "expected the full truth table, ran {count} tests"
    );
    let cases = std::fs::read_dir(&dir)
        .map(|d| d.flatten().filter(|e| e.path().is_dir()).count())
        .unwrap_or(0);
    assert!(cases >= 30, "expected at least 30 policies, found {cases}");
}

#[test]
fn policy_examples_flow_tests_all_pass() {
    let (count, failures) = run_dir(&repo("../policy-examples"));
    assert!(failures.is_empty(), "{failures}");
    assert!(count > 0);
}

#[test]
fn fidelity_fixtures_all_pass() {
    // One folder per fixed divergence from Cilium (fixtures/fidelity/README.md); the same files
    // run through the kernel datapath in scripts/test-examples.sh.
    let (count, failures) = run_dir(&repo("fixtures/fidelity"));
    assert!(failures.is_empty(), "{failures}");
    assert!(count >= 41, "expected every fidelity case, ran {count}");
}

#[test]
fn cilium_conformance_fixtures_all_pass() {
    // Verdict tables ported from Cilium's own unit tests (fixtures/cilium-conformance/README.md);
    // the same files run through the kernel datapath in scripts/test-examples.sh. The flows
    // policyc still gets wrong live in fixtures/cilium-conformance-pending/, not run here.
    let (count, failures) = run_dir(&repo("fixtures/cilium-conformance"));
    assert!(failures.is_empty(), "{failures}");
    assert!(
        count >= 1800,
        "expected the whole conformance suite, ran {count}"
    );
}
