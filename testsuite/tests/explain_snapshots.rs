//! `policyc explain` output (text and JSON) for flows of the example cluster: default allow,
//! default deny, explicit deny, L4 allow, L7 allow/deny/redirect, DNS, toFQDNs, ipBlock except,
//! localhost and a KNP egress default deny.

use policyc_analysis::explain::{explain, render_text, Session};
use policyc_analysis::flowtest::RunOptions;
use policyc_ir::l7::HttpRequest;
use policyc_ir::oracle::{Flow, L7Request, Transport};
use std::path::PathBuf;
use test_case::test_case;

fn session() -> Session {
    // Relative paths (the test runs in testsuite/) keep the snapshots machine-independent.
    let inventory = PathBuf::from("../policy-examples/inventory.yaml");
    let policies = vec![PathBuf::from("../policy-examples/policies")];
    match Session::load(&inventory, &policies, &RunOptions::default()) {
        Ok(s) => s,
        Err(f) => panic!("examples do not load: {:?}", f.findings),
    }
}

fn l7_of(http: Option<(&str, &str)>, dns: Option<&str>) -> Option<L7Request> {
    if let Some((method, path)) = http {
        return Some(L7Request::Http(HttpRequest {
            method: method.into(),
            path: path.into(),
            ..Default::default()
        }));
    }
    dns.map(|q| L7Request::Dns { query: q.into() })
}

fn explain_flow(
    from: &str,
    to: &str,
    transport: Transport,
    l7: Option<L7Request>,
    resolved: Option<&str>,
) -> (String, String) {
    let mut s = session();
    let (Ok(source), Ok(destination)) = (s.peer("--from", from), s.peer("--to", to)) else {
        panic!("bad peers {from} {to}");
    };
    let flow = Flow {
        source,
        destination,
        transport,
        l7,
        resolved_from: resolved.map(str::to_string),
    };
    let verdict = match s.evaluate(&flow) {
        Ok(v) => v,
        Err(f) => panic!("{f:?}"),
    };
    let e = explain(&s.rules, &flow, &verdict);
    (
        render_text(&e),
        serde_json::to_string_pretty(&e).unwrap_or_default(),
    )
}

fn tcp(port: u16) -> Transport {
    Transport::Tcp { port }
}

#[test_case(
    "01_world_to_frontend_allowed",
    "world",
    "shop/frontend",
    tcp(443),
    None,
    None,
    None
)]
#[test_case(
    "02_worker_to_db_default_deny",
    "shop/worker",
    "shop/db",
    tcp(5432),
    None,
    None,
    None
)]
#[test_case(
    "03_world_to_db_explicit_deny",
    "world",
    "shop/db",
    tcp(5432),
    None,
    None,
    None
)]
#[test_case(
    "04_frontend_to_api_l7_redirect",
    "shop/frontend",
    "shop/api",
    tcp(8080),
    None,
    None,
    None
)]
#[test_case("05_frontend_get_product_l7_allowed", "shop/frontend", "shop/api", tcp(8080), Some(("GET", "/api/products/42")), None, None)]
#[test_case("06_frontend_post_products_l7_denied", "shop/frontend", "shop/api", tcp(8080), Some(("POST", "/api/products")), None, None)]
#[test_case(
    "07_api_to_stripe_fqdn_allowed",
    "shop/api",
    "198.19.10.5",
    tcp(443),
    None,
    None,
    Some("api.stripe.com")
)]
#[test_case(
    "08_frontend_to_stripe_fqdn_denied",
    "shop/frontend",
    "198.19.10.5",
    tcp(443),
    None,
    None,
    Some("api.stripe.com")
)]
#[test_case("09_api_dns_query_refused", "shop/api", "kube-system/coredns", Transport::Udp { port: 53 }, None, Some("evil.example.org"), None)]
#[test_case(
    "10_payments_ipblock_except",
    "payments/payments-api",
    "198.19.100.200",
    tcp(443),
    None,
    None,
    None
)]
#[test_case(
    "11_host_to_db_localhost",
    "host",
    "shop/db",
    tcp(5432),
    None,
    None,
    None
)]
#[test_case(
    "12_ledger_knp_egress_default_deny",
    "payments/ledger",
    "payments/payments-api",
    tcp(8443),
    None,
    None,
    None
)]
#[test_case("13_coredns_metadata_deny", "kube-system/coredns", "169.254.169.254", Transport::Udp { port: 53 }, None, None, None)]
fn explain_example_flow(
    name: &str,
    from: &str,
    to: &str,
    transport: Transport,
    http: Option<(&str, &str)>,
    dns: Option<&str>,
    resolved: Option<&str>,
) {
    let (text, json) = explain_flow(from, to, transport, l7_of(http, dns), resolved);
    insta::assert_snapshot!(name, text);
    if name.starts_with("05") || name.starts_with("07") {
        insta::assert_snapshot!(format!("{name}_json"), json);
    }
}
