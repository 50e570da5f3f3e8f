//! The build report of the example policies, as committed snapshots: a change in classes,
//! entries, layout choice or the Cilium comparison shows up in review.

use policyc_build::compile;
use policyc_build::load_inputs;
use policyc_build::report::{build_report, render_markdown};
use policyc_diagnostics::source::SourceMap;
use std::path::PathBuf;

#[test]
fn example_policies_build_report() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut sources = SourceMap::default();
    let (universe, rules, _) = load_inputs(
        &root.join("policy-examples/inventory.yaml"),
        &[root.join("policy-examples/policies")],
        Default::default(),
        &mut sources,
    )
    .expect("examples load");
    let compilation = compile(&universe, &rules, &|| {}).expect("compile");
    let report = build_report(
        &compilation,
        universe.identities().len(),
        "sha256:<digest>".to_string(),
        Vec::new(),
    );
    insta::assert_snapshot!("example_policies_report_md", render_markdown(&report));
}
