//! The FlowTests format: what parses into which flow, and spanned errors for malformed tests
//! and bad references.

use policyc_analysis::flowtest::{parse_flow_tests, run_file, RunOptions};
use policyc_diagnostics::source::SourceMap;
use policyc_ir::oracle::{L7Request, Transport};
use policyc_ir::IpFamily;
use std::path::Path;
use test_case::test_case;

const HEAD: &str =
    "apiVersion: policyc/v1\nkind: FlowTests\ninventory: inv.yaml\npolicies: [p/]\ntests:\n";

fn parse(
    tests: &str,
) -> (
    SourceMap,
    Vec<policyc_analysis::flowtest::FlowTestsDoc>,
    Vec<policyc_diagnostics::Finding>,
) {
    let mut sources = SourceMap::new();
    let id = sources.add("ft.yaml", format!("{HEAD}{tests}"));
    let (docs, findings) = parse_flow_tests(&sources, id, Path::new("/base"));
    (sources, docs, findings)
}

#[test]
fn tests_parse_into_flows() {
    let (_, docs, findings) = parse(
        "  - {name: a, from: x/a, to: x/b, port: 80, expect: allow}\n\
         \x20 - {name: b, from: x/a, to: world, protocol: icmp, icmpType: EchoRequest, expect: deny}\n\
         \x20 - {name: c, from: x/a, to: x/b, protocol: ICMPv6, expectIngress: deny}\n\
         \x20 - {name: d, from: x/a, to: x/b, port: 80, http: {method: POST, path: /x, headers: {X-A: b}}, expect: deny}\n\
         \x20 - {name: e, from: x/a, to: x/b, protocol: UDP, port: 53, dns: {query: a.b}, expect: deny}\n\
         \x20 - {name: f, from: x/a, to: 1.2.3.4, port: 443, resolvedFrom: api.example.com, expect: allow}\n\
         \x20 - {name: g, from: x/a, to: x/b, port: 9092, kafka: {apiKey: produce, topic: t}, expect: allow}\n",
    );
    assert!(findings.is_empty(), "{findings:?}");
    let doc = &docs[0];
    assert_eq!(doc.inventory.value, Path::new("/base/inv.yaml"));
    assert_eq!(doc.policies[0].value, Path::new("/base/p/"));
    let t = &doc.tests;
    assert_eq!(t[0].transport, Transport::Tcp { port: 80 });
    assert_eq!(
        t[1].transport,
        Transport::Icmp {
            family: IpFamily::IPv4,
            icmp_type: 8
        }
    );
    assert_eq!(
        t[2].transport,
        Transport::Icmp {
            family: IpFamily::IPv6,
            icmp_type: 128
        }
    );
    assert!(
        matches!(&t[3].l7, Some(L7Request::Http(r)) if r.method == "POST" && r.headers.len() == 1)
    );
    assert!(matches!(&t[4].l7, Some(L7Request::Dns { query }) if query == "a.b"));
    assert_eq!(t[5].resolved_from.as_deref(), Some("api.example.com"));
    assert!(matches!(&t[6].l7, Some(L7Request::Kafka(k)) if k.topics == ["t"]));
}

#[test_case("  - {name: a, from: x/a, to: x/b, port: 80}\n", "no expectation"; "missing expect")]
#[test_case("  - {name: a, from: x/a, to: x/b, expect: allow}\n", "needs a `port`"; "missing port")]
#[test_case("  - {name: a, from: x/a, to: x/b, port: 70000, expect: allow}\n", "0-65535"; "port out of range")]
#[test_case("  - {name: a, from: x/a, to: x/b, protocol: GRE, port: 1, expect: allow}\n", "not a flow protocol"; "bad protocol")]
#[test_case("  - {name: a, from: x/a, to: x/b, port: 1, expect: maybe}\n", "not allow or deny"; "bad expectation")]
#[test_case("  - {name: a, from: x/a, to: x/b, port: 1, expcet: allow}\n", "unknown field `expcet`"; "misspelt field")]
#[test_case("  - {name: a, to: x/b, port: 1, expect: allow}\n", "without `from`"; "missing from")]
#[test_case("  - {name: a, from: x/a, to: x/b, protocol: ICMP, icmpType: Bogus, expect: deny}\n", "icmpType"; "bad icmp type")]
fn malformed_tests_are_spanned_errors(test: &str, message: &str) {
    let (sources, _, findings) = parse(test);
    let f = findings
        .iter()
        .find(|f| f.message.contains(message))
        .unwrap_or_else(|| panic!("no finding with `{message}` in {findings:?}"));
    assert_eq!(f.code.id, "PC0409");
    let span = f
        .primary
        .as_ref()
        .map(|l| l.span)
        .unwrap_or_else(|| panic!("no span"));
    assert_eq!(sources.line_col(span.source, span.start).line, 6, "{f:?}");
}

#[test]
fn misspelt_field_gets_a_suggestion() {
    let (_, _, findings) = parse("  - {name: a, from: x/a, to: x/b, port: 1, expcet: allow}\n");
    assert!(
        findings
            .iter()
            .any(|f| f.help.as_deref() == Some("did you mean `expect`?")),
        "{findings:?}"
    );
}

#[test]
fn unknown_endpoint_in_a_test_is_a_load_error_at_the_reference() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("policy-examples");
    let text = format!(
        "apiVersion: policyc/v1\nkind: FlowTests\ninventory: {inv}\npolicies: [{pol}]\ntests:\n  - {{name: a, from: shop/frontnd, to: shop/api, port: 80, expect: allow}}\n",
        inv = root.join("inventory.yaml").display(),
        pol = root.join("policies").display()
    );
    let file = dir.path().join("ft.yaml");
    std::fs::write(&file, text).unwrap_or_else(|e| panic!("{e}"));
    let mut sources = SourceMap::new();
    let findings = match run_file(&file, &RunOptions::default(), &mut sources) {
        Ok(_) => panic!("unknown endpoint accepted"),
        Err(f) => f,
    };
    let f = findings
        .iter()
        .find(|f| f.code.id == "PC0403")
        .unwrap_or_else(|| panic!("{findings:?}"));
    assert_eq!(f.help.as_deref(), Some("did you mean `shop/frontend`?"));
    let span = f
        .primary
        .as_ref()
        .map(|l| l.span)
        .unwrap_or_else(|| panic!("no span"));
    assert_eq!(sources.slice(span), Some("shop/frontnd"));
}
