//! Running FlowTests: load the inventory and policies a document names, build the universe,
//! evaluate every test with the oracle and compare with its expectations.

use super::spec::{is_flow_tests_text, parse_flow_tests, FlowTestCase, FlowTestsDoc};
use crate::inputs::{load_rules, resolve_peer, RunOptions};
use policyc_diagnostics::source::{SourceId, SourceMap};
use policyc_diagnostics::{codes, Finding, Severity};
use policyc_frontend::identity::build_universe;
use policyc_frontend::input_files::{collect_input_files, same_file_normalized};
use policyc_frontend::inventory::load_inventory_with_workloads;
use policyc_ir::oracle::{Decision, Flow, FlowVerdict, Oracle};
use policyc_ir::PolicyRule;
use std::path::{Path, PathBuf};

/// One expectation that did not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// `expect`, `expectEgress` or `expectIngress`.
    pub field: &'static str,
    pub expected: Decision,
    pub actual: Decision,
}

/// The result of one test.
#[derive(Debug, Clone, PartialEq)]
pub struct TestOutcome {
    pub case: FlowTestCase,
    pub flow: Flow,
    pub verdict: FlowVerdict,
    pub mismatches: Vec<Mismatch>,
}

impl TestOutcome {
    pub fn passed(&self) -> bool {
        self.mismatches.is_empty()
    }
}

/// The results of one FlowTests document.
#[derive(Debug, Clone)]
pub struct SuiteReport {
    pub file: String,
    pub source: SourceId,
    pub rules: Vec<PolicyRule>,
    pub outcomes: Vec<TestOutcome>,
}

fn has_errors(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.severity == Severity::Error)
}

/// Expands directories into the FlowTests files under them (recursively, sorted); files are
/// taken as given. Each file is taken once: a path given or reached twice is an error.
pub fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Vec<Finding>> {
    let is_flow_tests = |p: &Path| {
        p.extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e == "yaml" || e == "yml")
            && std::fs::read_to_string(p).is_ok_and(|t| is_flow_tests_text(&t))
    };
    let inputs = collect_input_files(paths, &is_flow_tests);
    let mut findings = inputs.findings;
    for dir in paths.iter().filter(|p| p.is_dir()) {
        // The files are named from the normalized input (`a/../b` → `b`).
        let shown = same_file_normalized(dir);
        if !inputs.files.iter().any(|f| f.starts_with(&shown)) {
            findings.push(Finding::error(
                &codes::INVALID_FLOW_TEST,
                format!(
                    "no FlowTests files (kind: FlowTests) under {}",
                    dir.display()
                ),
            ));
        }
    }
    if findings.is_empty() {
        Ok(inputs.files)
    } else {
        Err(findings)
    }
}

/// Runs every FlowTests document of one file.
pub fn run_file(
    path: &Path,
    options: &RunOptions,
    sources: &mut SourceMap,
) -> Result<Vec<SuiteReport>, Vec<Finding>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        vec![Finding::error(
            &codes::INVALID_FLOW_TEST,
            format!("cannot read {}: {e}", path.display()),
        )]
    })?;
    let display = path.display().to_string();
    let id = sources.add(display.clone(), text);
    let base = path.parent().unwrap_or_else(|| Path::new("."));
    let (docs, findings) = parse_flow_tests(sources, id, base);
    if has_errors(&findings) {
        return Err(findings);
    }
    if docs.is_empty() {
        return Err(vec![Finding::error(
            &codes::INVALID_FLOW_TEST,
            format!("{display}: no `kind: FlowTests` document"),
        )]);
    }
    let mut reports = Vec::new();
    let mut errors = Vec::new();
    for doc in docs {
        match run_doc(&doc, &display, options, sources) {
            Ok(r) => reports.push(r),
            Err(f) => errors.extend(f),
        }
    }
    if errors.is_empty() {
        Ok(reports)
    } else {
        Err(errors)
    }
}

fn run_doc(
    doc: &FlowTestsDoc,
    display: &str,
    options: &RunOptions,
    sources: &mut SourceMap,
) -> Result<SuiteReport, Vec<Finding>> {
    let (inventory, workloads) =
        load_inventory_with_workloads(&doc.inventory.value, &options.inventory, sources).map_err(
            |mut f| {
                f.push(
                    Finding::error(
                        &codes::INVALID_INVENTORY,
                        format!("cannot load inventory {}", doc.inventory.value.display()),
                    )
                    .at(doc.inventory.span, "named here"),
                );
                f
            },
        )?;
    let paths: Vec<PathBuf> = doc.policies.iter().map(|p| p.value.clone()).collect();
    for p in &doc.policies {
        if !p.value.exists() {
            return Err(vec![Finding::error(
                &codes::INVALID_FLOW_TEST,
                format!("policy path {} does not exist", p.value.display()),
            )
            .at(p.span, "named here")]);
        }
    }
    let (rules, policy_findings) = load_rules(
        &paths,
        &policyc_frontend::FrontendOptions::for_inventory(&inventory),
        sources,
    );
    if has_errors(&policy_findings) {
        return Err(policy_findings);
    }
    let universe = build_universe(&inventory, &rules, options.universe).map_err(|e| {
        vec![Finding::error(&codes::INVALID_INVENTORY, e.to_string())
            .at(doc.inventory.span, "in this inventory")]
    })?;
    let oracle = Oracle::new(&universe, &rules);
    let mut outcomes = Vec::new();
    let mut errors = Vec::new();
    for case in &doc.tests {
        let peers = (
            resolve_peer(&case.from.value, &universe, &workloads),
            resolve_peer(&case.to.value, &universe, &workloads),
        );
        let (source, destination) = match peers {
            (Ok(s), Ok(d)) => (s, d),
            (a, b) => {
                for (res, span) in [(a.err(), case.from.span), (b.err(), case.to.span)] {
                    if let Some(e) = res {
                        let label = if e.code.id == codes::AMBIGUOUS_PEER.id {
                            "names pods of several identities"
                        } else {
                            "not in the inventory"
                        };
                        let mut f = Finding::error(e.code, e.message).at(span, label);
                        if let Some(h) = e.help {
                            f = f.help(h);
                        }
                        errors.push(f);
                    }
                }
                continue;
            }
        };
        let flow = Flow {
            source,
            destination,
            transport: case.transport,
            l7: case.l7.clone(),
            resolved_from: case.resolved_from.clone(),
        };
        let verdict = match oracle.evaluate(&flow) {
            Ok(v) => v,
            Err(e) => {
                errors.push(
                    Finding::error(&codes::UNKNOWN_INVENTORY_REFERENCE, e.to_string())
                        .at(case.span, "in this test"),
                );
                continue;
            }
        };
        let mut mismatches = Vec::new();
        let checks = [
            ("expect", case.expect, verdict.decision),
            ("expectEgress", case.expect_egress, verdict.egress.decision),
            (
                "expectIngress",
                case.expect_ingress,
                verdict.ingress.decision,
            ),
        ];
        for (field, expected, actual) in checks {
            if let Some(expected) = expected {
                if expected != actual {
                    mismatches.push(Mismatch {
                        field,
                        expected,
                        actual,
                    });
                }
            }
        }
        outcomes.push(TestOutcome {
            case: case.clone(),
            flow,
            verdict,
            mismatches,
        });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(SuiteReport {
        file: display.to_string(),
        source: doc.source,
        rules,
        outcomes,
    })
}
