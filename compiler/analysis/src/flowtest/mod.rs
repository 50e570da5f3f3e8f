//! `policyc test`: FlowTests files (FORMATS.md) — assertions about which flows the policies
//! allow — checked with the oracle, reported as text, JSON or JUnit.
//!
//! `expect` judges the forward direction of the flow (source egress AND destination ingress);
//! replies of an allowed connection always pass (see `policyc_ir::oracle`).

mod report;
mod run;
mod spec;

pub use crate::inputs::{load_rules, parse_peer, resolve_peer, PeerError, RunOptions};
pub use report::{render_github, render_json, render_junit, render_sarif, render_text, Summary};
pub use run::{collect_files, run_file, Mismatch, SuiteReport, TestOutcome};
pub use spec::{is_flow_tests_text, parse_flow_tests, FlowTestCase, FlowTestsDoc, Spanned};
