//! `policyc test --format github`: one `::error` annotation per failing test, at the test's own
//! line in the FlowTests file, and the summary; passing tests are not annotated.

use crate::cli_support::{run_in, write};

const FLOWTESTS: &str = "\
apiVersion: policyc/v1
kind: FlowTests
inventory: {examples}/inventory.yaml
policies: [{examples}/policies/]
tests:
  - name: storefront on 443
    from: world
    to: shop/frontend
    port: 443
    expect: allow
  - name: storefront on ssh, wrongly expected open
    from: 198.19.7.7
    to: shop/frontend
    port: 22
    expect: allow
";

#[test]
fn github_format_annotates_each_failing_test_at_its_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let examples =
        std::fs::canonicalize(concat!(env!("CARGO_MANIFEST_DIR"), "/../policy-examples"))
            .expect("policy-examples");
    write(
        dir.path(),
        "flows.yaml",
        &FLOWTESTS.replace("{examples}", &examples.display().to_string()),
    );
    let out = run_in(dir.path(), &["test", "--format", "github", "flows.yaml"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(
        lines[0].starts_with(
            "::error file=flows.yaml,line=11,col=5,title=FlowTest storefront on ssh%2C wrongly expected open failed::expect allow but got deny"
        ),
        "{stdout}"
    );
    assert!(
        lines[0].contains("%0A"),
        "the deciding rules follow on a second line: {stdout}"
    );
    assert_eq!(lines[1], "1 passed, 1 failed");
}

/// Every machine format names the failing test's file and line (11), and only the failing one.
#[test]
fn every_format_locates_the_failing_test() {
    let dir = tempfile::tempdir().expect("tempdir");
    let examples =
        std::fs::canonicalize(concat!(env!("CARGO_MANIFEST_DIR"), "/../policy-examples"))
            .expect("policy-examples");
    write(
        dir.path(),
        "flows.yaml",
        &FLOWTESTS.replace("{examples}", &examples.display().to_string()),
    );
    let run = |format: &str| {
        let out = run_in(dir.path(), &["test", "--format", format, "flows.yaml"]);
        assert_eq!(out.status.code(), Some(1), "{format}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };

    let sarif: serde_json::Value = serde_json::from_str(&run("sarif")).expect("SARIF is JSON");
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    assert_eq!(results.len(), 1, "{sarif}");
    assert_eq!(results[0]["ruleId"], "PC0402");
    let location = &results[0]["locations"][0]["physicalLocation"];
    assert_eq!(location["artifactLocation"]["uri"], "flows.yaml");
    assert_eq!(location["region"]["startLine"], 11);
    assert!(
        results[0]["message"]["text"]
            .as_str()
            .is_some_and(|t| t.contains("storefront on ssh")),
        "{sarif}"
    );

    let json: serde_json::Value = serde_json::from_str(&run("json")).expect("JSON");
    let tests = json["files"][0]["tests"].as_array().expect("tests");
    let failing: Vec<&serde_json::Value> = tests.iter().filter(|t| t["passed"] == false).collect();
    assert_eq!(failing.len(), 1, "{json}");
    assert_eq!(failing[0]["location"], "flows.yaml:11:5");
    assert_eq!(failing[0]["line"], 11);

    let junit = run("junit");
    assert!(
        junit.contains(
            "<testcase name=\"storefront on ssh, wrongly expected open\" classname=\"flows.yaml\" file=\"flows.yaml\" line=\"11\">"
        ),
        "{junit}"
    );
    assert!(junit.contains("FAIL flows.yaml:11:5"), "{junit}");

    let text = run("text");
    assert!(text.starts_with("FAIL flows.yaml:11:5 "), "{text}");
}
