//! `policyc lint` run as a process: exit codes 0/1/2, `--fail-level`, `--explain`, formats and
//! the summary line.

use std::path::PathBuf;
use std::process::{Command, Output};
use test_case::test_case;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testsuite/fixtures/lints")
}

fn policyc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_policyc"))
        .args(args)
        .current_dir(fixtures())
        .env("NO_COLOR", "1")
        .output()
        .unwrap_or_else(|e| panic!("cannot run policyc: {e}"))
}

fn code(output: &Output) -> Option<i32> {
    output.status.code()
}

#[test_case(&["lint", "clean.yaml"], 0; "clean file exits 0")]
#[test_case(&["lint", "broad_ingress_exposure.yaml"], 0; "warnings do not fail at the default level")]
#[test_case(&["lint", "broad_ingress_exposure.yaml", "--fail-level", "warning"], 1; "warnings fail at fail level warning")]
#[test_case(&["lint", "empty_rule_idiom.yaml", "--fail-level", "warning"], 0; "infos never fail")]
#[test_case(&["lint", "does-not-exist.yaml"], 2; "missing path is a usage error")]
#[test_case(&["lint", "clean.yaml", "--format", "yaml"], 2; "unknown format is a usage error")]
#[test_case(&["lint", "clean.yaml", "--inventory", "no-such-inventory.yaml"], 2; "missing inventory is a usage error")]
#[test_case(&["lint", "--explain", "PC0301"], 0; "explain a known code")]
#[test_case(&["lint", "--explain", "PC0399"], 2; "explain an unknown code")]
fn exit_codes(args: &[&str], expected: i32) {
    let output = policyc(args);
    assert_eq!(
        code(&output),
        Some(expected),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn errors_fail_at_the_default_level() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("bad.yaml");
    let text = "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: bad\nspec:\n  \
endpointSelector: {}\n  ingress:\n    - toPorts:\n        - ports:\n            - port: \"65536\"\n";
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    let output = policyc(&["lint", &path.display().to_string(), "--format", "concise"]);
    assert_eq!(
        code(&output),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
}

#[test]
fn concise_output_ends_with_a_summary_line() {
    let output = policyc(&[
        "lint",
        "end_port_not_above_port.yaml",
        "--format",
        "concise",
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("end_port_not_above_port.yaml:17:24: info[PC0310]"),
        "{stdout}"
    );
    assert_eq!(
        stdout.lines().last(),
        Some("0 errors, 1 warning, 2 infos in 1 file")
    );
}

#[test]
fn explain_prints_name_severity_and_explanation() {
    let output = policyc(&["lint", "--explain", "pc0308"]);
    insta::assert_snapshot!(String::from_utf8_lossy(&output.stdout));
}

#[test]
fn explain_accepts_a_name_like_an_id() {
    let by_name = policyc(&["lint", "--explain", "shadowed-rule"]);
    assert_eq!(code(&by_name), Some(0));
    let id = String::from_utf8_lossy(&by_name.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string();
    let by_id = policyc(&["lint", "--explain", &id]);
    assert_eq!(
        by_name.stdout, by_id.stdout,
        "`--explain {id}` and `--explain shadowed-rule`"
    );
}

#[test_case(&["lint", "--list-rules"]; "list rules")]
#[test_case(&["lint", "--explain"]; "explain without a code")]
fn list_rules_prints_every_code_once_with_its_severity(args: &[&str]) {
    let output = policyc(args);
    assert_eq!(code(&output), Some(0), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut lines = stdout.lines();
    let header = lines.next().unwrap_or_default();
    assert!(
        header.starts_with("CODE") && header.ends_with("SUMMARY"),
        "{header}"
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split_whitespace().collect()).collect();
    let mut ids: Vec<&str> = rows.iter().map(|r| r[0]).collect();
    assert!(ids.len() > 40, "{} codes listed", ids.len());
    assert!(
        ids.contains(&"PC0301") && ids.contains(&"PC0009"),
        "{ids:?}"
    );
    for row in &rows {
        assert!(
            ["error", "warning", "info"].contains(&row[2]) && row.len() > 3,
            "row without severity and summary: {row:?}"
        );
    }
    ids.dedup();
    assert_eq!(ids.len(), rows.len(), "each code once");
}

#[test]
fn explain_unknown_code_suggests_the_closest() {
    let output = policyc(&["lint", "--explain", "shadowed-rul"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unknown code `shadowed-rul`; did you mean `shadowed-rule`?"),
        "{stderr}"
    );
}

#[test]
fn github_format_emits_workflow_commands() {
    let output = policyc(&["lint", "shadowed_rule.yaml", "--format", "github"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("::warning ") && l.contains("PC0304")),
        "{stdout}"
    );
}

#[test]
fn output_file_receives_the_report() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("report.sarif");
    let out_arg = out.display().to_string();
    let output = policyc(&[
        "lint",
        "shadowed_rule.yaml",
        "--format",
        "sarif",
        "--output",
        &out_arg,
    ]);
    assert_eq!(code(&output), Some(0));
    let report = std::fs::read_to_string(&out).unwrap_or_default();
    let json: serde_json::Value = serde_json::from_str(&report).unwrap_or_default();
    assert_eq!(json["version"], "2.1.0");
    assert_eq!(json["runs"][0]["results"][0]["ruleId"], "PC0304");
}

#[test]
fn inventory_enables_the_cidr_lint() {
    let args = [
        "lint",
        "cidr_matches_cluster.yaml",
        "--inventory",
        "cidr_inventory.yaml",
        "--format",
        "concise",
    ];
    let output = policyc(&args);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("cidr_matches_cluster.yaml:15:19: warning[PC0305]"),
        "{stdout}"
    );
}

#[test]
fn human_output_to_a_pipe_has_no_colour_and_ends_with_the_summary() {
    let output = policyc(&["lint", "http_path_prefix.yaml"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!stdout.contains('\u{1b}'), "{stdout}");
    assert!(stdout.contains("warning[PC0308]"), "{stdout}");
    assert_eq!(
        stdout.lines().last(),
        Some("0 errors, 2 warnings, 0 infos in 1 file")
    );
}

/// SARIF names the tool's real home: the workspace's `repository`, the URL the README installs
/// from, never a placeholder domain.
#[test]
fn sarif_information_uri_is_the_package_repository() {
    let output = policyc(&["lint", "shadowed_rule.yaml", "--format", "sarif"]);
    let json: serde_json::Value =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}"));
    let uri = &json["runs"][0]["tool"]["driver"]["informationUri"];
    assert_eq!(uri, env!("CARGO_PKG_REPOSITORY"));
    let uri = uri.as_str().unwrap_or_default();
    assert!(
        uri.starts_with("https://github.com/") && !uri.contains("example.invalid"),
        "{uri}"
    );
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        readme.contains(&format!("--git {uri} ")),
        "the README's cargo install lines use {uri}"
    );
}
