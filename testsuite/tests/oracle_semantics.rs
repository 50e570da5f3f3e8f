//! Oracle behaviour beyond the pitfalls: localhost, both-sides rule, non-endpoint peers, replies,
//! enforcement modes, world identities, identity allocation and the ipcache.

use crate::oracle_support;

use oracle_support::*;
use policyc_ir::oracle::{Decision, Oracle};
use policyc_ir::universe::{AllowLocalhost, EnforcementMode, UniverseOptions};
use policyc_ir::{Entity, NumericIdentity, Protocol};
use test_case::test_case;

fn api() -> policyc_ir::EndpointSelector {
    sel(Some("prod"), &[("app", "api")])
}

fn lockdown() -> Vec<policyc_ir::PolicyRule> {
    rules(vec![ingress(api())
        .endpoints(peer_sel(Some("prod"), &[("app", "web")]))
        .ports(&[(Protocol::Tcp, 80)])])
}

#[test_case(AllowLocalhost::Always, Allow; "allow-localhost always")]
#[test_case(AllowLocalhost::Policy, Deny; "allow-localhost policy")]
fn host_reaches_local_endpoints(mode: AllowLocalhost, expected: Decision) {
    let c = standard().options(UniverseOptions {
        allow_localhost: mode,
        ..Default::default()
    });
    assert_eq!(
        decide(&c, &lockdown(), &flow("host", "prod/api", tcp(9999))),
        expected
    );
    assert_eq!(
        decide(
            &c,
            &lockdown(),
            &flow("198.18.255.1", "prod/api", tcp(9999))
        ),
        expected
    );
}

#[test]
fn explicit_deny_beats_localhost() {
    let rs = rules(vec![ingress(api()).deny().entity(Entity::Host)]);
    let v = verdict(&standard(), &rs, &flow("host", "prod/api", tcp(80)));
    assert_eq!((v.decision, v.ingress.reason), (Deny, R_::DeniedByRule));
}

#[test]
fn remote_node_is_not_localhost() {
    assert_eq!(
        decide(
            &standard(),
            &lockdown(),
            &flow("remote-node", "prod/api", tcp(80))
        ),
        Deny
    );
}

#[test]
fn both_sides_must_allow() {
    let mut rs = lockdown();
    rs.extend(rules(vec![
        egress(sel(Some("prod"), &[("app", "web")])).nothing()
    ]));
    for (i, r) in rs.iter_mut().enumerate() {
        r.id = policyc_ir::RuleId(u32::try_from(i).unwrap_or(0));
    }
    let v = verdict(&standard(), &rs, &flow("prod/web", "prod/api", tcp(80)));
    assert_eq!(
        (v.egress.decision, v.ingress.decision, v.decision),
        (Deny, Allow, Deny)
    );
}

#[test]
fn non_endpoint_side_is_not_judged() {
    let v = verdict(
        &standard(),
        &lockdown(),
        &flow("prod/api", "203.0.113.1", tcp(443)),
    );
    assert_eq!(v.ingress.reason, R_::NotAnEndpoint);
    assert_eq!(v.egress.reason, R_::NotEnforced);
    assert_eq!(v.decision, Allow);
}

#[test]
fn replies_follow_the_forward_direction() {
    let c = standard();
    let rs = lockdown();
    let u = c.universe(&rs);
    let oracle = Oracle::new(&u, &rs);
    assert_eq!(
        oracle
            .is_reply_allowed(&flow("prod/web", "prod/api", tcp(80)))
            .ok(),
        Some(true)
    );
    assert_eq!(
        oracle
            .is_reply_allowed(&flow("prod/db", "prod/api", tcp(80)))
            .ok(),
        Some(false)
    );
}

#[test]
fn pod_to_itself_is_loopback() {
    let v = verdict(
        &standard(),
        &lockdown(),
        &flow("prod/api", "198.18.1.2", tcp(1)),
    );
    assert_eq!((v.decision, v.ingress.reason), (Allow, R_::Loopback));
}

#[test_case(EnforcementMode::Always, Deny; "always denies without policy")]
#[test_case(EnforcementMode::Default, Allow; "default allows without policy")]
#[test_case(EnforcementMode::Never, Allow; "never allows")]
fn enforcement_modes(mode: EnforcementMode, expected: Decision) {
    let c = standard().options(UniverseOptions {
        enforcement: mode,
        ..Default::default()
    });
    assert_eq!(
        decide(&c, &[], &flow("prod/web", "prod/db", tcp(80))),
        expected
    );
}

#[test]
fn enforcement_never_ignores_denies() {
    let c = standard().options(UniverseOptions {
        enforcement: EnforcementMode::Never,
        ..Default::default()
    });
    assert_eq!(
        decide(&c, &lockdown(), &flow("prod/db", "prod/api", tcp(80))),
        Allow
    );
}

#[test]
fn unknown_addresses_are_world_single_stack() {
    let u = standard().universe(&[]);
    assert_eq!(
        u.identity_of_ip(
            &"8.8.8.8"
                .parse()
                .unwrap_or(std::net::Ipv4Addr::LOCALHOST.into())
        ),
        NumericIdentity(2)
    );
    assert!(!u.is_dual_stack());
}

#[test]
fn unknown_addresses_are_world_per_family_dual_stack() {
    let u = standard().pod("prod", "v6", &[], "fd00::1").universe(&[]);
    assert!(u.is_dual_stack());
    let ip = |s: &str| s.parse().unwrap_or(std::net::Ipv4Addr::LOCALHOST.into());
    assert_eq!(u.identity_of_ip(&ip("8.8.8.8")), NumericIdentity(9));
    assert_eq!(u.identity_of_ip(&ip("2001:db8::1")), NumericIdentity(10));
}

#[test]
fn ipcache_is_longest_prefix_match() {
    let rs = rules(vec![
        egress(api()).cidr("10.0.0.0/8", &["10.96.0.0/12"]),
        egress(api()).cidr("10.96.0.0/16", &[]),
    ]);
    let u = standard().universe(&rs);
    let id = |s: &str| u.identity_of_ip(&s.parse().unwrap_or(std::net::Ipv4Addr::LOCALHOST.into()));
    let prefix_of = |s: &str| {
        u.identity(id(s))
            .and_then(|i| i.cidr_prefix())
            .map(|p| p.to_string())
    };
    assert_eq!(prefix_of("10.1.1.1").as_deref(), Some("10.0.0.0/8"));
    assert_eq!(prefix_of("10.97.0.1").as_deref(), Some("10.96.0.0/12"));
    assert_eq!(prefix_of("10.96.1.1").as_deref(), Some("10.96.0.0/16"));
    assert_eq!(
        id("198.18.1.2"),
        u.endpoints()
            .iter()
            .find(|e| e.key.name == "api")
            .map(|e| e.identity)
            .unwrap_or(NumericIdentity(0))
    );
    assert_eq!(id("198.18.255.1"), NumericIdentity(1));
    assert_eq!(id("198.18.255.2"), NumericIdentity(6));
    assert!(u.cidr_identities().all(|(_, i)| i.id.0 > 1 << 24));
}

#[test]
fn identities_do_not_depend_on_inventory_order() {
    let a = standard();
    let mut b = standard();
    b.inventory.endpoints.reverse();
    let (ua, ub) = (a.universe(&[]), b.universe(&[]));
    for ep in ua.endpoints() {
        assert_eq!(ub.endpoint(&ep.key).map(|e| e.identity), Some(ep.identity));
    }
    // Same labels in different namespaces are different identities; the same labels in one
    // namespace share one.
    let c = standard().pod("prod", "web-2", &[("app", "web")], "198.18.1.9");
    let u = c.universe(&[]);
    let id = |ns: &str, n: &str| {
        u.endpoint(&policyc_ir::universe::EndpointKey::new(ns, n))
            .map(|e| e.identity)
    };
    assert_eq!(id("prod", "web"), id("prod", "web-2"));
    assert_ne!(id("prod", "web"), id("dev", "web"));
}

#[test]
fn cluster_entity_covers_pods_and_nodes_but_not_world() {
    let rs = rules(vec![ingress(api()).entity(Entity::Cluster)]);
    let c = standard();
    assert_eq!(decide(&c, &rs, &flow("dev/web", "prod/api", tcp(1))), Allow);
    assert_eq!(
        decide(&c, &rs, &flow("remote-node", "prod/api", tcp(1))),
        Allow
    );
    assert_eq!(decide(&c, &rs, &flow("world", "prod/api", tcp(1))), Deny);
}

#[test]
fn unknown_endpoint_is_an_error() {
    let u = standard().universe(&[]);
    let rs = lockdown();
    assert!(Oracle::new(&u, &rs)
        .evaluate(&flow("prod/nope", "prod/api", tcp(1)))
        .is_err());
    assert!(Oracle::new(&u, &rs)
        .evaluate(&flow("cluster", "prod/api", tcp(1)))
        .is_err());
}

fn host_policy() -> Vec<policyc_ir::PolicyRule> {
    let mut r = ingress(policyc_ir::EndpointSelector::wildcard())
        .endpoints(peer_sel(Some("prod"), &[("app", "web")]))
        .ports(&[(Protocol::Tcp, 22)]);
    r.0.subject = policyc_ir::Subject::Nodes(policyc_ir::EndpointSelector::wildcard());
    rules(vec![r])
}

#[test_case("prod/web", 22, Allow; "allowed by host policy")]
#[test_case("prod/web", 23, Deny; "host policy default deny")]
#[test_case("prod/db", 22, Deny; "other pod")]
fn host_policies_judge_traffic_to_nodes(from: &str, port: u16, expected: Decision) {
    let v = verdict(
        &standard(),
        &host_policy(),
        &flow(from, "198.18.255.1", tcp(port)),
    );
    assert_eq!(v.decision, expected);
    assert_eq!(v.destination.node.as_deref(), Some("node-1"));
}

#[test]
fn nodes_without_host_policy_are_not_enforced() {
    let v = verdict(
        &standard(),
        &lockdown(),
        &flow("prod/web", "198.18.255.2", tcp(22)),
    );
    assert_eq!((v.decision, v.ingress.reason), (Allow, R_::NotAnEndpoint));
}
