//! The deny-policy table of Cilium's docs (`Documentation/security/policy/language.rst`,
//! "Deny Policies"): five sets of ingress policies on the server × three client flows.

use crate::oracle_support;

use oracle_support::*;
use policyc_ir::oracle::Decision;
use policyc_ir::Protocol::Tcp;
use test_case::test_case;

/// Allow set of columns 1-4: L7 HTTP on 80, L4 80, L4 81, L3 from the client.
fn allows() -> Vec<R> {
    let server = sel(Some("prod"), &[("app", "api")]);
    let client = peer_sel(Some("prod"), &[("app", "web")]);
    vec![
        ingress(server.clone())
            .endpoints(client.clone())
            .http(80, vec![http(Some("GET"), Some("/.*"))]),
        ingress(server.clone())
            .endpoints(client.clone())
            .ports(&[(Tcp, 80)]),
        ingress(server.clone())
            .endpoints(client.clone())
            .ports(&[(Tcp, 81)]),
        ingress(server).endpoints(client),
    ]
}

fn deny_l4_80() -> R {
    ingress(sel(Some("prod"), &[("app", "api")]))
        .deny()
        .endpoints(peer_sel(Some("prod"), &[("app", "web")]))
        .ports(&[(Tcp, 80)])
}

fn deny_l3() -> R {
    ingress(sel(Some("prod"), &[("app", "api")]))
        .deny()
        .endpoints(peer_sel(Some("prod"), &[("app", "web")]))
}

fn column(n: u8) -> Vec<R> {
    match n {
        1 => allows(),
        2 => [allows(), vec![deny_l4_80()]].concat(),
        3 => [allows(), vec![deny_l3()]].concat(),
        4 => [allows(), vec![deny_l4_80(), deny_l3()]].concat(),
        _ => vec![deny_l4_80()],
    }
}

#[test_case(1, Allow, Allow, Allow; "column 1 allows only")]
#[test_case(2, Allow, Deny, Allow; "column 2 l4 deny on 80 leaves 81 and ping")]
#[test_case(3, Deny, Deny, Deny; "column 3 l3 deny blocks everything")]
#[test_case(4, Deny, Deny, Deny; "column 4 l3 and l4 deny block everything")]
#[test_case(5, Deny, Deny, Deny; "column 5 l4 deny alone makes default deny")]
fn docs_deny_table(col: u8, curl81: Decision, curl80: Decision, ping_: Decision) {
    let rs = rules(column(col));
    let c = standard();
    assert_eq!(
        decide(&c, &rs, &flow("prod/web", "prod/api", tcp(81))),
        curl81,
        "curl server:81"
    );
    assert_eq!(
        decide(&c, &rs, &flow("prod/web", "prod/api", tcp(80))),
        curl80,
        "curl server:80"
    );
    assert_eq!(
        decide(&c, &rs, &flow("prod/web", "prod/api", ping())),
        ping_,
        "ping server"
    );
}

#[test]
fn l7_allow_never_overrides_deny() {
    let rs = rules(vec![
        ingress(sel(Some("prod"), &[("app", "api")])).http(80, vec![http(None, None)]),
        deny_l4_80(),
    ]);
    let f = flow("prod/web", "prod/api", tcp(80)).with_l7(http_get("/"));
    let v = verdict(&standard(), &rs, &f);
    assert_eq!(v.decision, Deny);
    assert_eq!(v.ingress.reason, R_::DeniedByRule);
    assert_eq!(v.ingress.deciding, vec![rs[1].id]);
}
