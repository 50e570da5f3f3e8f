//! toFQDNs through the oracle: the pattern examples of cilium-semantics.md §1.7 as flows, the
//! DNS-proxy requirement, and in-cluster addresses never matching.

use crate::oracle_support;

use oracle_support::*;
use policyc_ir::oracle::Decision;
use policyc_ir::{Entity, Protocol};
use test_case::test_case;

fn fqdn_policy(to_fqdns: &str, dns_allows: &str) -> Vec<policyc_ir::PolicyRule> {
    let web = sel(Some("prod"), &[("app", "web")]);
    rules(vec![
        egress(web.clone())
            .fqdn(&[to_fqdns])
            .ports(&[(Protocol::Tcp, 443)]),
        egress(web).entity(Entity::Cluster).dns(&[dns_allows]),
    ])
}

#[test_case("*.cilium.io", "a.cilium.io", Allow; "star label matches one label")]
#[test_case("*.cilium.io", "cilium.io", Deny; "star label needs a label")]
#[test_case("*.cilium.io", "a.b.cilium.io", Deny; "star never crosses a dot")]
#[test_case("*cilium.io", "cilium.io", Allow; "star may be empty")]
#[test_case("*cilium.io", "subcilium.io", Allow; "star inside a label")]
#[test_case("sub*.cilium.io", "subdomain.cilium.io", Allow; "star suffix")]
#[test_case("**.cilium.io", "a.cilium.io", Allow; "double star one label")]
#[test_case("**.cilium.io", "a.b.cilium.io", Allow; "double star many labels")]
#[test_case("**.cilium.io", "cilium.io", Deny; "double star needs a label")]
#[test_case("*", "anything.example.org", Allow; "lone star matches every name")]
#[test_case("api.cilium.io", "API.Cilium.IO.", Allow; "case and trailing dot do not matter")]
fn section_1_7_patterns(pattern: &str, name: &str, expected: Decision) {
    let rs = fqdn_policy(pattern, "*");
    let f = flow("prod/web", "203.0.113.50", tcp(443)).with_resolved_from(name);
    assert_eq!(decide(&standard(), &rs, &f), expected);
}

#[test_case("*.cilium.io", "a.cilium.io", Allow; "lookup allowed by dns rule")]
#[test_case("docs.cilium.io", "a.cilium.io", Deny; "lookup refused by dns rule")]
fn dns_rule_must_let_the_lookup_through(dns: &str, name: &str, expected: Decision) {
    let rs = fqdn_policy("*.cilium.io", dns);
    let f = flow("prod/web", "203.0.113.50", tcp(443)).with_resolved_from(name);
    assert_eq!(decide(&standard(), &rs, &f), expected);
}

#[test]
fn fqdn_never_matches_cluster_addresses() {
    let rs = fqdn_policy("*", "*");
    let f =
        flow("prod/web", "198.18.1.2", tcp(443)).with_resolved_from("api.prod.svc.cluster.local");
    assert_eq!(decide(&standard(), &rs, &f), Deny);
}

#[test]
fn fqdn_port_still_applies() {
    let rs = fqdn_policy("*.cilium.io", "*");
    let f = flow("prod/web", "203.0.113.50", tcp(80)).with_resolved_from("a.cilium.io");
    assert_eq!(decide(&standard(), &rs, &f), Deny);
}

#[test]
fn flow_without_resolved_from_does_not_match_fqdn() {
    let rs = fqdn_policy("*.cilium.io", "*");
    let v = verdict(
        &standard(),
        &rs,
        &flow("prod/web", "203.0.113.50", tcp(443)),
    );
    assert_eq!(v.decision, Deny);
    assert!(!v.egress.notes.is_empty());
}

#[test_case("a.cilium.io", Allow; "query matching the dns rule")]
#[test_case("evil.example.org", Deny; "query outside the dns rule is refused")]
fn dns_query_is_judged_by_dns_rules(query: &str, expected: Decision) {
    let rs = fqdn_policy("*.cilium.io", "*.cilium.io");
    let f = flow("prod/web", "prod/db", udp(53)).with_l7(policyc_ir::oracle::L7Request::Dns {
        query: query.to_string(),
    });
    let v = verdict(&standard(), &rs, &f);
    assert_eq!(v.egress.decision, expected);
}
