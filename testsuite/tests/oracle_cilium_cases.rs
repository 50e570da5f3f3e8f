//! Cases of Cilium's `pkg/policy/rule_test.go` and `distillery_test.go`, re-expressed as flows
//! between pods `foo`, `bar`, `baz` and `other` of namespace `prod` (the Go tests compare
//! resolved L4 filters / map states; here the same rules are judged by the flows they admit).

use crate::oracle_support;

use oracle_support::*;
use policyc_ir::l7::{KafkaRule, L7Rules};
use policyc_ir::oracle::{Decision, KafkaRequest, L7Request, Transport};
use policyc_ir::{Entity, Protocol};
use test_case::test_case;

fn cluster() -> Cluster {
    Cluster::new()
        .pod("prod", "foo", &[("foo", "")], "198.18.1.1")
        .pod("prod", "bar", &[("bar", "")], "198.18.1.2")
        .pod("prod", "baz", &[("baz", "")], "198.18.1.3")
        .pod("prod", "other", &[("other", "")], "198.18.1.4")
        .node("node-1", "198.18.255.1", true)
}

fn s(label: &str) -> policyc_ir::EndpointSelector {
    sel(Some("prod"), &[(label, "")])
}

fn p(label: &str) -> policyc_ir::rule::Peer {
    peer_sel(Some("prod"), &[(label, "")])
}

/// TestL4Policy rule1: bar accepts 80 and 8080/TCP from anyone with HTTP GET /, and may send
/// to 3000 over ANY protocol.
fn l4_policy() -> Vec<policyc_ir::PolicyRule> {
    rules(vec![
        ingress(s("bar")).port_rules(vec![port_rule(
            vec![pp(Protocol::Tcp, 80), pp(Protocol::Tcp, 8080)],
            L7Rules::Http(vec![http(Some("GET"), Some("/"))]),
        )]),
        egress(s("bar")).ports(&[(Protocol::Any, 3000)]),
    ])
}

#[test_case("prod/foo", "prod/bar", tcp(80), Some(http_get("/")), Allow; "ingress 80 matching http")]
#[test_case("prod/foo", "prod/bar", tcp(8080), Some(http_get("/")), Allow; "ingress 8080 matching http")]
#[test_case("prod/foo", "prod/bar", tcp(80), Some(http_req("POST", "/")), Deny; "ingress 80 wrong method")]
#[test_case("prod/foo", "prod/bar", tcp(81), None, Deny; "ingress other port")]
#[test_case("prod/bar", "prod/baz", tcp(3000), None, Allow; "egress 3000 tcp")]
#[test_case("prod/bar", "prod/baz", udp(3000), None, Allow; "egress 3000 udp")]
#[test_case("prod/bar", "prod/baz", sctp(3000), None, Allow; "egress 3000 sctp")]
#[test_case("prod/bar", "prod/baz", tcp(3001), None, Deny; "egress other port")]
#[test_case("prod/foo", "prod/baz", tcp(1), None, Allow; "foo is not selected")]
fn test_l4_policy(from: &str, to: &str, t: Transport, l7: Option<L7Request>, expected: Decision) {
    let mut f = flow(from, to, t);
    f.l7 = l7;
    assert_eq!(decide(&cluster(), &l4_policy(), &f), expected);
}

/// TestMergeL4PolicyEgress: bar may reach foo and baz on 80/TCP (two rules, one filter).
#[test_case("prod/foo", Allow; "foo")]
#[test_case("prod/baz", Allow; "baz")]
#[test_case("prod/other", Deny; "other")]
fn test_merge_l4_policy_egress(to: &str, expected: Decision) {
    let rs = rules(vec![
        egress(s("bar"))
            .endpoints(p("foo"))
            .ports(&[(Protocol::Tcp, 80)]),
        egress(s("bar"))
            .endpoints(p("baz"))
            .ports(&[(Protocol::Tcp, 80)]),
    ]);
    assert_eq!(
        decide(&cluster(), &rs, &flow("prod/bar", to, tcp(80))),
        expected
    );
}

/// TestMergeL7PolicyIngress rule1: an L4-only rule for all peers on 80 next to HTTP rules on 80
/// (for all peers and for foo): the L4-only rule wildcards L7 for everyone.
#[test_case("prod/foo", "POST"; "foo any method")]
#[test_case("prod/baz", "DELETE"; "baz any method")]
fn test_merge_l7_policy_ingress_wildcard(from: &str, method: &str) {
    let rs = rules(vec![
        ingress(s("bar")).ports(&[(Protocol::Tcp, 80)]),
        ingress(s("bar")).http(80, vec![http(Some("GET"), Some("/"))]),
        ingress(s("bar"))
            .endpoints(p("foo"))
            .http(80, vec![http(Some("GET"), Some("/"))]),
    ]);
    let f = flow(from, "prod/bar", tcp(80)).with_l7(http_req(method, "/x"));
    assert_eq!(decide(&cluster(), &rs, &f), Allow);
}

fn kafka(topic: &str) -> L7Request {
    L7Request::Kafka(KafkaRequest {
        api_key: "produce".into(),
        topics: vec![topic.into()],
        ..Default::default()
    })
}

/// TestMergeL7PolicyIngress rule2: Kafka topic `foo` for all peers and for foo on 80.
#[test_case("prod/foo", "foo", Allow; "foo topic foo")]
#[test_case("prod/baz", "foo", Allow; "baz topic foo")]
#[test_case("prod/foo", "bar", Deny; "foo topic bar")]
#[test_case("prod/baz", "bar", Deny; "baz topic bar")]
fn test_merge_l7_policy_ingress_kafka(from: &str, topic: &str, expected: Decision) {
    let topic_foo = || {
        L7Rules::Kafka(vec![KafkaRule {
            topic: Some("foo".into()),
            ..Default::default()
        }])
    };
    let rs = rules(vec![
        ingress(s("bar")).port_rules(vec![port_rule(vec![pp(Protocol::Tcp, 80)], topic_foo())]),
        ingress(s("bar"))
            .endpoints(p("foo"))
            .port_rules(vec![port_rule(vec![pp(Protocol::Tcp, 80)], topic_foo())]),
    ]);
    let f = flow(from, "prod/bar", tcp(80)).with_l7(kafka(topic));
    assert_eq!(decide(&cluster(), &rs, &f), expected);
}

/// TestICMPPolicy: icmps type 8 allows echo requests only, nothing on TCP.
#[test_case(ping(), Allow; "echo request")]
#[test_case(Transport::Icmp { family: policyc_ir::IpFamily::IPv4, icmp_type: 0 }, Deny; "echo reply type")]
#[test_case(Transport::Icmp { family: policyc_ir::IpFamily::IPv6, icmp_type: 8 }, Deny; "other family")]
#[test_case(tcp(80), Deny; "tcp")]
fn test_icmp_policy(t: Transport, expected: Decision) {
    let rs = rules(vec![ingress(s("bar")).icmps(&[8])]);
    assert_eq!(
        decide(&cluster(), &rs, &flow("prod/foo", "prod/bar", t)),
        expected
    );
}

/// Test_MergeRules (distillery): L3-only allow for foo plus L4 allow for all on 80 — foo gets
/// everything, others only 80.
#[test_case("prod/foo", tcp(81), Allow; "foo any port")]
#[test_case("prod/foo", ping(), Allow; "foo icmp")]
#[test_case("prod/baz", tcp(80), Allow; "baz port 80")]
#[test_case("prod/baz", tcp(81), Deny; "baz other port")]
fn test_merge_rules_l3_and_l4(from: &str, t: Transport, expected: Decision) {
    let rs = rules(vec![
        ingress(s("bar")).endpoints(p("foo")),
        ingress(s("bar")).ports(&[(Protocol::Tcp, 80)]),
    ]);
    assert_eq!(
        decide(&cluster(), &rs, &flow(from, "prod/bar", t)),
        expected
    );
}

/// Test_MergeRules deny cases: an L3 deny of foo beats an L4 allow of everyone; an L4 deny on
/// 80 beats an L3 allow of foo on that port only.
#[test_case(true, "prod/foo", tcp(80), Deny; "l3 deny beats l4 allow")]
#[test_case(true, "prod/baz", tcp(80), Allow; "l3 deny leaves others")]
#[test_case(false, "prod/foo", tcp(80), Deny; "l4 deny beats l3 allow")]
#[test_case(false, "prod/foo", tcp(81), Allow; "l4 deny leaves other ports")]
fn test_merge_rules_deny(l3_deny: bool, from: &str, t: Transport, expected: Decision) {
    let rs = if l3_deny {
        rules(vec![
            ingress(s("bar")).ports(&[(Protocol::Tcp, 80)]),
            ingress(s("bar")).deny().endpoints(p("foo")),
        ])
    } else {
        rules(vec![
            ingress(s("bar")).endpoints(p("foo")),
            ingress(s("bar")).deny().ports(&[(Protocol::Tcp, 80)]),
        ])
    };
    assert_eq!(
        decide(&cluster(), &rs, &flow(from, "prod/bar", t)),
        expected
    );
}

/// Test_EnsureEntitiesSelectableByCIDR: `toEntities: [world]` covers CIDR identities, and
/// `toCIDR: 0.0.0.0/0` covers world.
#[test_case(true, "203.0.113.7", Allow; "world entity covers cidr identity")]
#[test_case(false, "198.51.100.1", Allow; "default route covers world")]
#[test_case(true, "prod/foo", Deny; "world entity is not a pod")]
fn test_entities_selectable_by_cidr(entity: bool, to: &str, expected: Decision) {
    let mut rs = vec![egress(s("bar"))
        .cidr("203.0.113.0/24", &[])
        .ports(&[(Protocol::Tcp, 9)])];
    rs.push(if entity {
        egress(s("bar")).entity(Entity::World)
    } else {
        egress(s("bar")).cidr("0.0.0.0/0", &[])
    });
    assert_eq!(
        decide(&cluster(), &rules(rs), &flow("prod/bar", to, tcp(443))),
        expected
    );
}

/// CIDR except: the except prefix carves the ipcache; a second rule allowing it still does.
#[test_case(false, "10.1.2.3", Allow; "inside cidr outside except")]
#[test_case(false, "10.96.0.10", Deny; "inside except")]
#[test_case(true, "10.96.0.10", Allow; "another rule allows the except")]
fn test_cidr_except(second_rule: bool, to: &str, expected: Decision) {
    let mut rs = vec![egress(s("bar")).cidr("10.0.0.0/8", &["10.96.0.0/12"])];
    if second_rule {
        rs.push(egress(s("bar")).cidr("10.96.0.10/32", &[]));
    }
    assert_eq!(
        decide(&cluster(), &rules(rs), &flow("prod/bar", to, tcp(443))),
        expected
    );
}

/// TestDefaultAllow (repository_test.go): default-allow rules add no restriction; one
/// default-deny rule flips the direction.
#[test_case(false, Allow; "only default allow rules")]
#[test_case(true, Deny; "plus one default deny rule")]
fn test_default_allow(with_default_deny: bool, expected: Decision) {
    let mut rs = vec![ingress(s("bar")).no_default_deny().endpoints(p("foo"))];
    if with_default_deny {
        rs.push(
            ingress(s("bar"))
                .endpoints(p("baz"))
                .ports(&[(Protocol::Tcp, 9)]),
        );
    }
    assert_eq!(
        decide(
            &cluster(),
            &rules(rs),
            &flow("prod/other", "prod/bar", tcp(80))
        ),
        expected
    );
}
