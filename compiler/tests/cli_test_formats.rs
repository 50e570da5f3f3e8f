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
