//! Reports of a `policyc test` run: one line per failing test with the deciding rules and the
//! summary `N passed, M failed` (text), a JSON document, JUnit XML for CI, or GitHub Actions
//! annotations at each failing test's line.

use super::run::{SuiteReport, TestOutcome};
use crate::explain::{explain, side_summary};
use policyc_diagnostics::render::github::{escape_data, escape_property, MAX_PER_TYPE};
use policyc_diagnostics::source::SourceMap;
use policyc_diagnostics::{codes, render, Finding, Format, RenderOptions};
use serde_json::json;
use std::fmt::Write;

/// Totals of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
}

impl Summary {
    pub fn of(reports: &[SuiteReport]) -> Self {
        let mut s = Self::default();
        for o in reports.iter().flat_map(|r| &r.outcomes) {
            if o.passed() {
                s.passed += 1;
            } else {
                s.failed += 1;
            }
        }
        s
    }
}

fn location(sources: &SourceMap, o: &TestOutcome) -> String {
    let lc = sources.line_col(o.case.span.source, o.case.span.start);
    format!(
        "{}:{}:{}",
        sources.path(o.case.span.source),
        lc.line,
        lc.col
    )
}

/// The failing test's mismatches, `expect allow but got deny, ...`.
fn mismatches(o: &TestOutcome) -> String {
    let what: Vec<String> = o
        .mismatches
        .iter()
        .map(|m| format!("{} {} but got {}", m.field, m.expected, m.actual))
        .collect();
    what.join(", ")
}

/// Why the verdict is what it is, in one line (the sides that matter, with their rules).
fn because(report: &SuiteReport, o: &TestOutcome) -> String {
    let e = explain(&report.rules, &o.flow, &o.verdict);
    format!("{}; {}", side_summary(&e.egress), side_summary(&e.ingress))
}

fn failure_line(sources: &SourceMap, report: &SuiteReport, o: &TestOutcome) -> String {
    format!(
        "FAIL {} {}: {} ({}) — {}",
        location(sources, o),
        o.case.name,
        mismatches(o),
        o.flow,
        because(report, o)
    )
}

/// Text: one line per failing test, then `N passed, M failed`.
pub fn render_text(reports: &[SuiteReport], sources: &SourceMap) -> String {
    let mut out = String::new();
    for r in reports {
        for o in r.outcomes.iter().filter(|o| !o.passed()) {
            let _ = writeln!(out, "{}", failure_line(sources, r, o));
        }
    }
    let s = Summary::of(reports);
    let _ = writeln!(out, "{} passed, {} failed", s.passed, s.failed);
    out
}

/// GitHub Actions: an `::error` workflow command at the line of each failing test in its
/// FlowTests file (GitHub shows at most [`MAX_PER_TYPE`] per step: the rest are plain `FAIL`
/// lines in the log, with one notice saying so), then `N passed, M failed`.
pub fn render_github(reports: &[SuiteReport], sources: &SourceMap) -> String {
    let mut out = String::new();
    let mut logged = String::new();
    let mut annotated = 0;
    for r in reports {
        for o in r.outcomes.iter().filter(|o| !o.passed()) {
            if annotated == MAX_PER_TYPE {
                let _ = writeln!(logged, "{}", failure_line(sources, r, o));
                continue;
            }
            annotated += 1;
            let span = o.case.span;
            let start = sources.line_col(span.source, span.start);
            let _ = writeln!(
                out,
                "::error file={},line={},col={},title={}::{}",
                escape_property(sources.path(span.source)),
                start.line,
                start.col,
                escape_property(&format!("FlowTest {} failed", o.case.name)),
                escape_data(&format!(
                    "{} ({})\n{}",
                    mismatches(o),
                    o.flow,
                    because(r, o)
                ))
            );
        }
    }
    out.push_str(&logged);
    let s = Summary::of(reports);
    if s.failed > annotated {
        let _ = writeln!(
            out,
            "::notice::{} more failing tests not annotated; see the job log",
            s.failed - annotated
        );
    }
    let _ = writeln!(out, "{} passed, {} failed", s.passed, s.failed);
    out
}

/// JSON: every test with its verdict per side.
pub fn render_json(reports: &[SuiteReport], sources: &SourceMap) -> String {
    let files: Vec<serde_json::Value> = reports
        .iter()
        .map(|r| {
            let tests: Vec<serde_json::Value> = r
                .outcomes
                .iter()
                .map(|o| {
                    json!({
                        "name": o.case.name,
                        "location": location(sources, o),
                        "line": sources.line_col(o.case.span.source, o.case.span.start).line,
                        "flow": o.flow.to_string(),
                        "passed": o.passed(),
                        "verdict": o.verdict.decision,
                        "egress": {"decision": o.verdict.egress.decision, "reason": o.verdict.egress.reason},
                        "ingress": {"decision": o.verdict.ingress.decision, "reason": o.verdict.ingress.reason},
                        "mismatches": o.mismatches.iter().map(|m| json!({
                            "field": m.field, "expected": m.expected, "actual": m.actual
                        })).collect::<Vec<_>>(),
                        "explanation": (!o.passed()).then(|| because(r, o)),
                    })
                })
                .collect();
            json!({"file": r.file, "tests": tests})
        })
        .collect();
    let s = Summary::of(reports);
    let doc = json!({"files": files, "passed": s.passed, "failed": s.failed});
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// JUnit XML: one `<testsuite>` per FlowTests document.
pub fn render_junit(reports: &[SuiteReport], sources: &SourceMap) -> String {
    let s = Summary::of(reports);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"policyc test\" tests=\"{}\" failures=\"{}\">",
        s.passed + s.failed,
        s.failed
    );
    for r in reports {
        let failed = r.outcomes.iter().filter(|o| !o.passed()).count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\">",
            xml_escape(&r.file),
            r.outcomes.len()
        );
        for o in &r.outcomes {
            let _ = write!(
                out,
                "    <testcase name=\"{}\" classname=\"{}\" file=\"{}\" line=\"{}\"",
                xml_escape(&o.case.name),
                xml_escape(&r.file),
                xml_escape(sources.path(o.case.span.source)),
                sources.line_col(o.case.span.source, o.case.span.start).line
            );
            if o.passed() {
                let _ = writeln!(out, "/>");
            } else {
                let line = failure_line(sources, r, o);
                let _ = writeln!(
                    out,
                    ">\n      <failure message=\"{}\"/>\n    </testcase>",
                    xml_escape(&line)
                );
            }
        }
        let _ = writeln!(out, "  </testsuite>");
    }
    out.push_str("</testsuites>\n");
    out
}

/// SARIF 2.1.0 (the lint renderer's): one `PC0402` result per failing test at its line in the
/// FlowTests file, for code scanning.
pub fn render_sarif(reports: &[SuiteReport], sources: &SourceMap) -> String {
    let findings: Vec<Finding> = reports
        .iter()
        .flat_map(|r| {
            r.outcomes.iter().filter(|o| !o.passed()).map(move |o| {
                Finding::error(
                    &codes::FLOW_TEST_FAILED,
                    format!(
                        "FlowTest {} failed: {} ({})",
                        o.case.name,
                        mismatches(o),
                        o.flow
                    ),
                )
                .at(o.case.span, "this test")
                .help(because(r, o))
            })
        })
        .collect();
    render(Format::Sarif, &findings, sources, &RenderOptions::default())
}
