//! Messages of issue #16 finding 8 (compiler part): an empty FlowTests file fails with its
//! location, a load error is printed without a "0 passed, 0 failed" summary, a diagnostic on a
//! very long line shows a window of it, and a huge integer is shown as written, once.

use crate::cli_support::{printed, run_in, write};
use test_case::test_case;

const INVENTORY: &str = "apiVersion: policyc/v1\nkind: Inventory\nendpoints:\n  - {name: a, namespace: shop, ips: [198.18.1.1]}\n";
const POLICY: &str = "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: p, namespace: shop}\nspec:\n  endpointSelector: {}\n  ingress: [{}]\n";

#[test_case("[]"; "flow list")]
#[test_case("\n  []"; "flow list on its own line")]
fn a_flowtests_file_without_tests_fails_with_its_location(tests: &str) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(dir.path(), "inv.yaml", INVENTORY);
    write(dir.path(), "p.yaml", POLICY);
    let text = format!(
        "apiVersion: policyc/v1\nkind: FlowTests\ninventory: inv.yaml\npolicies: [p.yaml]\ntests: {tests}\n"
    );
    write(dir.path(), "ft.yaml", &text);
    let line = if tests.starts_with('\n') { 6 } else { 5 };
    let col = if tests.starts_with('\n') { 3 } else { 8 };
    let o = run_in(dir.path(), &["test", "ft.yaml"]);
    let out = printed(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(out.contains("FlowTests with no tests"), "{out}");
    assert!(out.contains(&format!("ft.yaml:{line}:{col}")), "{out}");
    assert!(!out.contains("0 passed"), "{out}");
}

#[test_case("text"; "text")]
#[test_case("json"; "json")]
#[test_case("junit"; "junit")]
fn a_load_error_is_printed_without_a_summary(format: &str) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(dir.path(), "p.yaml", POLICY);
    write(
        dir.path(),
        "ft.yaml",
        "apiVersion: policyc/v1\nkind: FlowTests\ninventory: missing.yaml\npolicies: [p.yaml]\ntests:\n  - {from: shop/a, to: shop/a, port: 80, expect: allow}\n",
    );
    let o = run_in(dir.path(), &["test", "ft.yaml", "--format", format]);
    assert_eq!(o.status.code(), Some(2), "{}", printed(&o));
    assert!(
        o.stdout.is_empty(),
        "only the load error may be printed: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("missing.yaml"),
        "{}",
        printed(&o)
    );
}

/// One line of `pad` bytes, with the error after it (`tail`) or before it.
#[test_case("{port: \"65536\"}", "port 65536 is out of range", 1; "error after a long value")]
#[test_case("{port: \"80\"}]", "invalid YAML", 1; "syntax error at the end of a long line")]
fn a_diagnostic_on_a_long_line_shows_a_window_of_it(ports: &str, message: &str, line: usize) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let pad = "x".repeat(200_000);
    let text = format!(
        "{{apiVersion: cilium.io/v2, kind: CiliumNetworkPolicy, metadata: {{name: long, namespace: shop, annotations: {{pad: \"{pad}\"}}}}, spec: {{endpointSelector: {{}}, ingress: [{{toPorts: [{{ports: [{ports}]}}]}}]}}}}\n"
    );
    write(dir.path(), "long.yaml", &text);
    for format in ["human", "concise", "json", "sarif", "github"] {
        let o = run_in(dir.path(), &["lint", "long.yaml", "--format", format]);
        let out = printed(&o);
        assert_eq!(
            o.status.code(),
            Some(1),
            "{format}: {}",
            &out[..out.len().min(2000)]
        );
        assert!(
            out.len() < 8_000,
            "{format}: {} bytes printed, the line must not be echoed",
            out.len()
        );
        assert!(out.contains(message), "{format}: {out}");
        if matches!(format, "human" | "concise") {
            assert!(
                out.contains(&format!("long.yaml:{line}:")),
                "{format}: {out}"
            );
        }
    }
}

#[test_case("port: 99999999999999999999", "port 99999999999999999999 is out of range"; "unquoted port")]
#[test_case("port: \"99999999999999999999\"", "port 99999999999999999999 is out of range"; "quoted port")]
#[test_case("port: \"80\"\n              endPort: 99999999999999999999", "endPort 99999999999999999999 is out of range"; "end port")]
fn a_huge_integer_is_shown_as_written_once(port: &str, message: &str) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let text = format!(
        "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: big\n  namespace: shop\nspec:\n  endpointSelector: {{}}\n  ingress:\n    - toPorts:\n        - ports:\n            - {port}\n              protocol: TCP\n"
    );
    write(dir.path(), "big.yaml", &text);
    let o = run_in(dir.path(), &["lint", "big.yaml", "--format", "concise"]);
    let out = printed(&o);
    let first = out.lines().next().unwrap_or_default();
    assert!(first.contains(message), "{out}");
    assert_eq!(first.matches("99999999999999999999").count(), 1, "{out}");
}

/// The inventory holds text (labels, named ports): an integer too large for an i64 must stay
/// as written, in values and in messages.
#[test]
fn a_huge_integer_in_the_inventory_is_kept_as_written() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(
        dir.path(),
        "inv.yaml",
        "apiVersion: policyc/v1\nkind: Inventory\nendpoints:\n  - {name: a, namespace: shop, ips: [198.18.1.1], labels: {build: 20240101123456789012}}\n  - {name: db, namespace: shop, ips: [198.18.1.2], labels: {app: db}}\n",
    );
    write(
        dir.path(),
        "p.yaml",
        "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: db, namespace: shop}\nspec:\n  endpointSelector: {matchLabels: {app: db}}\n  ingress:\n    - fromEndpoints: [{matchLabels: {build: \"20240101123456789012\"}}]\n",
    );
    write(
        dir.path(),
        "ft.yaml",
        "apiVersion: policyc/v1\nkind: FlowTests\ninventory: inv.yaml\npolicies: [p.yaml]\ntests:\n  - {from: shop/a, to: shop/db, port: 80, expect: allow}\n",
    );
    let o = run_in(dir.path(), &["test", "ft.yaml"]);
    assert_eq!(o.status.code(), Some(0), "{}", printed(&o));

    write(
        dir.path(),
        "inv.yaml",
        "apiVersion: policyc/v1\nkind: Inventory\nendpoints:\n  - {name: a, namespace: shop, ips: [198.18.1.1], namedPorts: {http: 99999999999999999999}}\n",
    );
    let o = run_in(dir.path(), &["lint", "--inventory", "inv.yaml", "p.yaml"]);
    let out = printed(&o);
    let message = out
        .lines()
        .find(|l| l.contains("PC0408"))
        .unwrap_or_else(|| panic!("{out}"));
    assert_eq!(message.matches("99999999999999999999").count(), 1, "{out}");
}
