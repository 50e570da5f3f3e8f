//! One test per pitfall of cilium-semantics.md §2.9 (pitfall 6, an invalid `specs[]` entry
//! dropping the whole CNP, is a frontend matter and lives in the flowtests suites).

use crate::oracle_support;

use oracle_support::*;
use policyc_ir::rule::PeerSet;
use policyc_ir::{Entity, Protocol};
use test_case::test_case;

fn api() -> policyc_ir::EndpointSelector {
    sel(Some("prod"), &[("app", "api")])
}

fn web() -> policyc_ir::EndpointSelector {
    sel(Some("prod"), &[("app", "web")])
}

#[test]
fn p1_cnp_empty_ingress_rule_denies_all_but_knp_allows_all() {
    let cnp = rules(vec![ingress(api()).nothing()]);
    let knp = rules(vec![ingress(api())]); // no peers, no ports: PeerSet::All × PortMatch::Any
    assert!(matches!(knp[0].peers, PeerSet::All));
    let f = flow("prod/web", "prod/api", tcp(80));
    assert_eq!(decide(&standard(), &cnp, &f), Deny);
    assert_eq!(
        verdict(&standard(), &cnp, &f).ingress.reason,
        R_::DefaultDeny
    );
    assert_eq!(decide(&standard(), &knp, &f), Allow);
    assert_eq!(
        decide(&standard(), &knp, &flow("world", "prod/api", tcp(80))),
        Allow
    );
}

#[test_case("prod/web", Allow; "same namespace pod")]
#[test_case("dev/web", Deny; "other namespace pod")]
#[test_case("world", Deny; "world")]
fn p2_cnp_empty_endpoint_selector_is_own_namespace(
    from: &str,
    expected: policyc_ir::oracle::Decision,
) {
    let rs = rules(vec![ingress(api()).endpoints(peer_sel(Some("prod"), &[]))]);
    assert_eq!(
        decide(&standard(), &rs, &flow(from, "prod/api", tcp(80))),
        expected
    );
}

#[test_case("prod/web", Allow; "same namespace pod")]
#[test_case("dev/web", Allow; "other namespace pod")]
#[test_case("world", Deny; "world is not a namespaced pod")]
#[test_case("host", Allow; "host is allowed by allow-localhost anyway")]
#[test_case("remote-node", Deny; "remote node is not a pod")]
fn p2_ccnp_empty_endpoint_selector_is_every_namespaced_pod(
    from: &str,
    expected: policyc_ir::oracle::Decision,
) {
    let rs = rules(vec![ingress(api()).endpoints(peer_sel(None, &[]))]);
    assert_eq!(
        decide(&standard(), &rs, &flow(from, "prod/api", tcp(80))),
        expected
    );
}

#[test_case("world"; "world")]
#[test_case("remote-node"; "remote node")]
#[test_case("dev/web"; "pod")]
#[test_case("203.0.113.9"; "external address")]
fn p2_entity_all_is_everything(from: &str) {
    let rs = rules(vec![ingress(api()).entity(Entity::All)]);
    assert_eq!(
        decide(&standard(), &rs, &flow(from, "prod/api", tcp(80))),
        Allow
    );
}

#[test_case(tcp(80), Allow; "tcp 80")]
#[test_case(udp(80), Allow; "udp 80")]
#[test_case(sctp(80), Allow; "sctp 80")]
#[test_case(tcp(81), Deny; "other port")]
#[test_case(ping(), Deny; "icmp is not covered by ANY")]
fn p3_protocol_any_is_not_icmp(
    t: policyc_ir::oracle::Transport,
    expected: policyc_ir::oracle::Decision,
) {
    let rs = rules(vec![ingress(api()).ports(&[(Protocol::Any, 80)])]);
    assert_eq!(
        decide(&standard(), &rs, &flow("prod/web", "prod/api", t)),
        expected
    );
}

#[test_case("prod/api", Deny; "pod inside the prefix")]
#[test_case("198.18.1.2", Deny; "pod address inside the prefix")]
#[test_case("198.18.255.2", Deny; "node address inside the prefix")]
#[test_case("198.18.99.99", Allow; "non-cluster address inside the prefix")]
#[test_case("203.0.113.1", Deny; "address outside the prefix")]
fn p4_cidr_never_matches_pods_or_nodes(to: &str, expected: policyc_ir::oracle::Decision) {
    let rs = rules(vec![egress(web()).cidr("198.18.0.0/16", &[])]);
    assert_eq!(
        decide(&standard(), &rs, &flow("prod/web", to, tcp(443))),
        expected
    );
}

fn fqdn_rules(with_dns: bool) -> Vec<policyc_ir::PolicyRule> {
    let mut rs = vec![egress(web())
        .fqdn(&["api.example.com"])
        .ports(&[(Protocol::Tcp, 443)])];
    if with_dns {
        rs.push(
            egress(web())
                .entity(Entity::Cluster)
                .dns(&["*.example.com"]),
        );
    }
    rules(rs)
}

#[test_case(false, Deny; "without a dns rule nothing is learned")]
#[test_case(true, Allow; "with a dns rule the answer is learned")]
fn p5_to_fqdns_needs_a_dns_rule(with_dns: bool, expected: policyc_ir::oracle::Decision) {
    let f = flow("prod/web", "203.0.113.50", tcp(443)).with_resolved_from("api.example.com");
    let v = verdict(&standard(), &fqdn_rules(with_dns), &f);
    assert_eq!(v.decision, expected);
    if !with_dns {
        assert!(
            v.egress.notes.iter().any(|n| n.contains("rules.dns")),
            "{:?}",
            v.egress.notes
        );
    }
}

fn l3_plus_http() -> Vec<policyc_ir::PolicyRule> {
    rules(vec![
        ingress(api()).endpoints(peer_sel(Some("prod"), &[("app", "web")])),
        ingress(api()).http(80, vec![http(Some("GET"), Some("/public"))]),
    ])
}

#[test_case("prod/web", "POST", Allow; "l3 allowed peer is unrestricted at l7")]
#[test_case("prod/db", "GET", Allow; "other peer matching request")]
#[test_case("prod/db", "POST", Deny; "other peer non matching request gets 403")]
fn p7_l3_allow_wildcards_l7_for_that_peer(
    from: &str,
    method: &str,
    expected: policyc_ir::oracle::Decision,
) {
    let f = flow(from, "prod/api", tcp(80)).with_l7(http_req(method, "/public"));
    let v = verdict(&standard(), &l3_plus_http(), &f);
    assert_eq!(v.decision, expected);
    if expected == Deny {
        assert_eq!(v.ingress.reason, R_::L7Denied);
    }
}

#[test]
fn p8_default_allow_rule_with_http_still_restricts_l7() {
    let rs = rules(vec![ingress(api())
        .no_default_deny()
        .http(80, vec![http(Some("GET"), None)])]);
    let c = standard();
    let post = flow("prod/web", "prod/api", tcp(80)).with_l7(http_req("POST", "/"));
    let get = flow("prod/web", "prod/api", tcp(80)).with_l7(http_req("GET", "/"));
    assert_eq!(decide(&c, &rs, &post), Deny);
    assert_eq!(decide(&c, &rs, &get), Allow);
    let other_port = verdict(&c, &rs, &flow("prod/web", "prod/api", tcp(81)));
    assert_eq!(
        (other_port.decision, other_port.ingress.reason),
        (Allow, R_::NotEnforced)
    );
}

#[test_case("/public", Allow; "exact path")]
#[test_case("/public?x=1", Deny; "query string is part of the path")]
#[test_case("/public/x", Deny; "prefix is not enough")]
#[test_case("/xpublic", Deny; "no substring match")]
fn p9_http_path_is_full_match(path: &str, expected: policyc_ir::oracle::Decision) {
    let rs = rules(vec![
        ingress(api()).http(80, vec![http(None, Some("/public"))])
    ]);
    let f = flow("prod/web", "prod/api", tcp(80)).with_l7(http_get(path));
    assert_eq!(decide(&standard(), &rs, &f), expected);
}

#[test]
fn p10_deny_world_cidr_hits_fqdn_destinations() {
    let mut rs = fqdn_rules(true);
    rs.extend(rules(vec![egress(web()).deny().cidr("0.0.0.0/0", &[])]));
    for (i, r) in rs.iter_mut().enumerate() {
        r.id = policyc_ir::RuleId(u32::try_from(i).unwrap_or(0));
    }
    let f = flow("prod/web", "203.0.113.50", tcp(443)).with_resolved_from("api.example.com");
    let v = verdict(&standard(), &rs, &f);
    assert_eq!((v.decision, v.egress.reason), (Deny, R_::DeniedByRule));
}

#[test_case("prod/api", 8080, Allow; "name resolves on the destination")]
#[test_case("prod/api", 80, Deny; "other port")]
#[test_case("prod/db", 8080, Deny; "destination without that port name gets nothing")]
fn p11_named_ports_resolve_per_endpoint(
    to: &str,
    port: u16,
    expected: policyc_ir::oracle::Decision,
) {
    let c = standard()
        .named_port("prod/api", "http", 8080, Protocol::Tcp)
        .named_port("prod/db", "sql", 5432, Protocol::Tcp);
    let rs = rules(vec![
        ingress(sel(Some("prod"), &[])).named_port(Protocol::Tcp, "http")
    ]);
    assert_eq!(decide(&c, &rs, &flow("prod/web", to, tcp(port))), expected);
}

#[test]
fn p11_egress_named_ports_use_every_endpoint() {
    let c = standard().named_port("prod/db", "sql", 5432, Protocol::Tcp);
    let rs = rules(vec![egress(web()).named_port(Protocol::Tcp, "sql")]);
    assert_eq!(
        decide(&c, &rs, &flow("prod/web", "prod/api", tcp(5432))),
        Allow
    );
    assert_eq!(
        decide(&c, &rs, &flow("prod/web", "prod/api", tcp(5433))),
        Deny
    );
}

#[test_case(90, Allow; "the port itself")]
#[test_case(85, Deny; "inside the would-be range")]
#[test_case(80, Deny; "the end port")]
fn p12_end_port_below_port_is_single_port(port: u16, expected: policyc_ir::oracle::Decision) {
    let rs = rules(vec![ingress(api()).port_range(Protocol::Any, 90, Some(80))]);
    assert_eq!(
        decide(&standard(), &rs, &flow("prod/web", "prod/api", tcp(port))),
        expected
    );
}

#[test]
fn l7_restricted_port_without_request_is_a_proxy_redirect() {
    let rs = rules(vec![ingress(api()).http(80, vec![http(Some("GET"), None)])]);
    let v = verdict(&standard(), &rs, &flow("prod/web", "prod/api", tcp(80)));
    assert_eq!((v.decision, v.ingress.reason), (Allow, R_::L7ProxyRedirect));
}
