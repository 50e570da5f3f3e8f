//! The filter on local sockets: a real upstream server, the filter serving each accepted
//! connection with a fixed context, and real clients — kept-alive and pipelined HTTP/1.1,
//! h2c, header actions reaching the server, a new generation taking over between requests.
//! `transparent_upstream_in_a_private_netns` re-runs itself under `unshare -n` (root).

mod common;

use common::*;
use policyc_backends::artifact::l7::{
    HeaderAction, HeaderRequirement, HeaderValue, HttpMatcher, MismatchAction,
};

fn rules() -> Vec<(u32, HttpMatcher)> {
    vec![
        (
            1,
            HttpMatcher {
                method: Some(0),
                path: Some(1),
                ..HttpMatcher::default()
            },
        ),
        (
            2,
            HttpMatcher {
                path: Some(2),
                headers: vec![HeaderRequirement {
                    name: "x-token".into(),
                    value: Some("t".into()),
                }],
                header_actions: vec![HeaderAction {
                    name: "user-agent".into(),
                    value: HeaderValue::Exact("policyc".into()),
                    mismatch: MismatchAction::Replace,
                }],
                ..HttpMatcher::default()
            },
        ),
    ]
}

const REGEXES: &[&str] = &["GET", "/api/.*", "/private"];

#[tokio::test(flavor = "current_thread")]
async fn kept_alive_requests_are_judged_one_by_one() {
    let h = Harness::start(REGEXES, rules(), Loopback).await;
    let mut client = h.http1_client().await;
    let ok = client.get("/api/x", &[]).await;
    assert_eq!(ok.status, 200, "{ok:?}");
    assert!(ok.body.contains("GET /api/x"), "{ok:?}");
    let denied = client.request("POST", "/api/x", &[]).await;
    assert_eq!(
        (denied.status, denied.body.as_str()),
        (403, "Access denied\r\n")
    );
    let again = client.get("/api/y", &[]).await;
    assert_eq!(again.status, 200, "the connection stays usable after a 403");
    assert_eq!(h.upstream_requests(), 2);
}

#[tokio::test(flavor = "current_thread")]
async fn pipelined_requests_are_judged_one_by_one() {
    let h = Harness::start(REGEXES, rules(), Loopback).await;
    let responses = h
        .raw_http1(
            b"GET /api/a HTTP/1.1\r\nHost: s\r\n\r\n\
              DELETE /api/b HTTP/1.1\r\nHost: s\r\n\r\n\
              GET /api/c HTTP/1.1\r\nHost: s\r\nConnection: close\r\n\r\n",
        )
        .await;
    let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![200, 403, 200], "{responses:?}");
    assert!(responses[2].body.contains("GET /api/c"));
    assert_eq!(h.upstream_requests(), 2);
}

#[tokio::test(flavor = "current_thread")]
async fn h2c_streams_are_judged_one_by_one() {
    let h = Harness::start(REGEXES, rules(), Loopback).await;
    let mut client = h.http2_client().await;
    assert_eq!(client.get("/api/x", &[]).await.status, 200);
    let denied = client.get("/other", &[]).await;
    assert_eq!(
        (denied.status, denied.body.as_str()),
        (403, "Access denied\r\n")
    );
    let ok = client.get("/api/z", &[]).await;
    assert!(
        ok.body.contains("GET /api/z") && ok.body.contains("HTTP/2"),
        "{ok:?}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_replace_action_reaches_the_server_and_a_missing_header_is_denied() {
    let h = Harness::start(REGEXES, rules(), Loopback).await;
    let mut client = h.http1_client().await;
    let ok = client
        .get("/private", &[("x-token", "t"), ("user-agent", "curl")])
        .await;
    assert_eq!(ok.status, 200);
    assert!(ok.body.contains("user-agent: policyc"), "{ok:?}");
    assert!(!ok.body.contains("user-agent: curl"), "{ok:?}");
    let denied = client.get("/private", &[]).await;
    assert_eq!(denied.status, 403);
}

#[tokio::test(flavor = "current_thread")]
async fn a_new_generation_judges_the_next_request_of_the_same_connection() {
    let h = Harness::start(REGEXES, rules(), Loopback).await;
    let mut client = h.http1_client().await;
    assert_eq!(client.get("/api/x", &[]).await.status, 200);
    // Generation 2: only POST.
    h.install(
        2,
        &["POST", "/api/.*"],
        vec![(
            1,
            HttpMatcher {
                method: Some(0),
                path: Some(1),
                ..HttpMatcher::default()
            },
        )],
    );
    assert_eq!(client.get("/api/x", &[]).await.status, 403);
    assert_eq!(client.request("POST", "/api/x", &[]).await.status, 200);
    let generations: Vec<u64> = h.stats.records().iter().map(|r| r.generation).collect();
    assert_eq!(generations, vec![1, 2, 2]);
}

#[tokio::test(flavor = "current_thread")]
async fn counters_credit_the_deciding_rules() {
    let h = Harness::start(REGEXES, rules(), Loopback).await;
    let mut client = h.http1_client().await;
    client.get("/api/x", &[]).await;
    client.request("PUT", "/api/x", &[]).await;
    let counters = h.stats.counters();
    assert_eq!(counters[&1].allowed, 1);
    assert_eq!(counters[&1].denied, 1);
    assert_eq!(counters[&2].denied, 1);
}

#[test]
fn transparent_upstream_in_a_private_netns() {
    if !in_private_netns("transparent_upstream_in_a_private_netns") {
        return;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let h = Harness::start(REGEXES, rules(), Netns).await;
        let mut client = h.http1_client().await;
        let ok = client.get("/api/x", &[]).await;
        assert_eq!(ok.status, 200);
        // The server sees the client's own address, not the filter's.
        assert!(ok.body.contains(&format!("peer {}", CLIENT_IP)), "{ok:?}");
    });
}
