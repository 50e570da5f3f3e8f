//! `--format sarif` output validates against the official SARIF 2.1.0 JSON schema
//! (`fixtures/sarif/sarif-schema-2.1.0.json`, provenance in `fixtures/sarif/README.md`).

use policyc_diagnostics::source::{SourceMap, Span};
use policyc_diagnostics::{
    codes, render, sort_findings, Finding, Format, ObjectContext, RenderOptions, SarifOptions,
};
use serde_json::Value;

fn schema() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/sarif/sarif-schema-2.1.0.json"
    );
    let text = std::fs::read_to_string(path).expect("schema fixture readable");
    serde_json::from_str(&text).expect("schema is JSON")
}

fn schema_errors(instance: &Value) -> Vec<String> {
    let validator = jsonschema::validator_for(&schema()).expect("schema compiles");
    validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect()
}

/// Every shape of finding the renderer handles: primary only, secondary + related in another
/// file, help, no location at all, info level, multi-byte text, repeated fingerprints.
fn synthetic_findings() -> (SourceMap, Vec<Finding>) {
    let mut map = SourceMap::new();
    let a = map.add(
        "./policies/a b/allow.yaml",
        "spec:\n  ingress:\n    - fromEntities: [wörld]\n",
    );
    let b = map.add("policies/other.yaml", "spec: {}\n");
    let ctx = ObjectContext {
        kind: "CiliumNetworkPolicy".into(),
        namespace: Some("prod".into()),
        name: "allow".into(),
        yaml_path: "spec.ingress[0]".into(),
        document: 0,
    };
    let findings = vec![
        Finding::error(&codes::INVALID_ENUM_VALUE, "unknown entity `wörld`")
            .at(Span::new(a, 36, 42), "not an entity")
            .help("did you mean `world`?")
            .context(ctx.clone()),
        Finding::warning(&codes::SHADOWED_RULE, "rule is shadowed")
            .at(Span::new(a, 16, 42), "this rule")
            .secondary(Span::new(a, 0, 4), "in this spec")
            .related(Span::new(b, 0, 4), "by this policy")
            .context(ctx.clone()),
        Finding::warning(&codes::SHADOWED_RULE, "rule is shadowed")
            .at(Span::new(a, 16, 42), "")
            .context(ctx),
        Finding::info(&codes::EMPTY_RULE_IDIOM, "empty rule").at(Span::point(b, 6), "here"),
        Finding::error(
            &codes::UNREADABLE_FILE,
            "cannot read `missing.yaml`: No such file or directory",
        ),
    ];
    (map, findings)
}

fn sarif(findings: &mut [Finding], map: &SourceMap, automation_id: Option<&str>) -> Value {
    sort_findings(findings, map);
    let options = RenderOptions {
        sarif: SarifOptions {
            automation_id: automation_id.map(str::to_owned),
        },
        ..RenderOptions::default()
    };
    serde_json::from_str(&render(Format::Sarif, findings, map, &options))
        .expect("renderer emits JSON")
}

#[test]
fn sarif_output_validates_against_the_official_schema() {
    let (map, mut findings) = synthetic_findings();
    let log = sarif(&mut findings, &map, Some("policyc/prod/"));
    assert_eq!(schema_errors(&log), Vec::<String>::new());
    assert_eq!(log["runs"][0]["results"].as_array().map(Vec::len), Some(5));
}

#[test]
fn empty_sarif_log_validates() {
    let map = SourceMap::new();
    let log = sarif(&mut [], &map, None);
    assert_eq!(schema_errors(&log), Vec::<String>::new());
}

#[test]
fn schema_check_rejects_a_broken_log() {
    let (map, mut findings) = synthetic_findings();
    let mut log = sarif(&mut findings, &map, None);
    log["runs"][0]["results"][0]["level"] = Value::from("fatal");
    log["version"] = Value::from("2.0.0");
    assert!(
        schema_errors(&log).len() >= 2,
        "the validator must notice invalid values"
    );
}

#[test]
fn results_point_at_relative_uris_and_distinct_fingerprints() {
    let (map, mut findings) = synthetic_findings();
    let log = sarif(&mut findings, &map, None);
    let results = log["runs"][0]["results"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let uris: Vec<&str> = results
        .iter()
        .filter_map(|r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str())
        .collect();
    assert!(uris.contains(&"policies/a%20b/allow.yaml"), "{uris:?}");
    let prints: std::collections::HashSet<&str> = results
        .iter()
        .filter_map(|r| r["partialFingerprints"]["policycFinding/v1"].as_str())
        .collect();
    assert_eq!(prints.len(), results.len(), "fingerprints must be unique");
}
