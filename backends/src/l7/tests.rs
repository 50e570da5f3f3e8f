use std::collections::BTreeMap;

use policyc_ir::Direction;
use test_case::test_case;

use super::*;
use crate::artifact::l7::{L7Entry, L7Policy, L7RuleSet};

/// Tables with one policy (id 0) whose peer 1000 is judged by `entries`, every regex compiled.
fn judge_of(regexes: &[&str], entries: Vec<L7Entry>) -> L7Judge {
    let mut tables = L7Tables::new();
    for r in regexes {
        tables.regexes.push(compile_regex(r).expect("compiles"));
    }
    tables.rule_sets.push(L7RuleSet { entries });
    tables.policies.push(L7Policy {
        id: 0,
        endpoint: "shop/api".into(),
        endpoint_id: 1,
        direction: Direction::Ingress,
        peers: BTreeMap::from([(1000, 0)]),
        unknown_peer: None,
    });
    let bytes = tables.to_bytes().expect("serializes");
    L7Judge::from_bytes(&bytes).expect("loads")
}

fn entry(rule: u32, http: HttpMatcher) -> L7Entry {
    L7Entry {
        port_lo: 80,
        port_hi: 80,
        rule,
        http,
    }
}

fn request(method: &str, path: &str, headers: &[(&str, &str)]) -> L7Request {
    L7Request {
        method: method.into(),
        path: path.into(),
        host: Some(b"api.shop".to_vec()),
        headers: headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
            .collect(),
    }
}

const KEY: L7Key = L7Key {
    policy: 0,
    peer_identity: 1000,
    port: 80,
};

#[test_case("GET", "GET", true; "literal method")]
#[test_case("GET", "GETX", false; "a prefix is not a full match")]
#[test_case("/api/products/[0-9]+", "/api/products/42", true; "class repetition")]
#[test_case("/api/.*", "/api", false; "the slash must be there")]
#[test_case("/public", "/public?x=1", false; "the query is part of the path")]
#[test_case("a|ab", "ab", true; "alternation is tried to the end")]
#[test_case("\\d{3}", "1234", false; "bounded repetition is whole-string")]
#[test_case("/caf\u{e9}", "/caf\u{e9}", true; "unicode literal")]
fn regexes_match_the_whole_value(regex: &str, text: &str, expected: bool) {
    let loaded = LoadedRegex::load(&compile_regex(regex).expect("compiles")).expect("loads");
    assert_eq!(loaded.full_match(text.as_bytes()), expected);
    // The IR's own full-match regex (the oracle's) agrees.
    let ir = policyc_ir::l7::FullMatchRegex::new(regex).expect("valid");
    assert_eq!(ir.is_full_match(text), expected);
}

#[test]
fn a_regex_the_dfa_cannot_express_is_a_build_error_naming_it() {
    let err = compile_regex("\\bword\\b").expect_err("unicode word boundary");
    assert!(err.to_string().contains("\\bword\\b"), "{err}");
}

#[test]
fn a_corrupted_dfa_is_refused_when_loading() {
    let mut regex = compile_regex("GET").expect("compiles");
    regex.dfa = base64::engine::general_purpose::STANDARD.encode([1u8, 2, 3, 4, 5, 6, 7, 8]);
    assert!(LoadedRegex::load(&regex).is_err());
}

#[test_case("GET", "/api/products/1", &[], true; "method and path match")]
#[test_case("POST", "/api/products/1", &[], false; "wrong method")]
#[test_case("GET", "/api/products", &[], false; "wrong path")]
#[test_case("GET", "/api/products/1", &[("x-extra", "1")], true; "extra headers do not matter")]
fn method_and_path_must_both_match(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    allowed: bool,
) {
    let judge = judge_of(
        &["GET", "/api/products/[0-9]+"],
        vec![entry(
            7,
            HttpMatcher {
                method: Some(0),
                path: Some(1),
                ..HttpMatcher::default()
            },
        )],
    );
    let j = judge.judge(KEY, &mut request(method, path, headers));
    assert_eq!(j.allowed, allowed);
    assert_eq!(j.rules, vec![7]);
}

#[test_case(&[("x-token", "abc")], true; "exact value")]
#[test_case(&[("x-token", "abd")], false; "other value")]
#[test_case(&[], false; "missing")]
#[test_case(&[("x-token", "abc"), ("x-token", "def")], false; "two values are joined before comparing")]
fn a_required_header_value_is_exact(headers: &[(&str, &str)], allowed: bool) {
    let judge = judge_of(
        &[],
        vec![entry(
            1,
            HttpMatcher {
                headers: vec![HeaderRequirement {
                    name: "x-token".into(),
                    value: Some("abc".into()),
                }],
                ..HttpMatcher::default()
            },
        )],
    );
    assert_eq!(
        judge.judge(KEY, &mut request("GET", "/", headers)).allowed,
        allowed
    );
}

#[test]
fn a_presence_requirement_accepts_any_value() {
    let judge = judge_of(
        &[],
        vec![entry(
            1,
            HttpMatcher {
                headers: vec![HeaderRequirement {
                    name: "x-any".into(),
                    value: None,
                }],
                ..HttpMatcher::default()
            },
        )],
    );
    assert!(
        judge
            .judge(KEY, &mut request("GET", "/", &[("x-any", "")]))
            .allowed
    );
    assert!(!judge.judge(KEY, &mut request("GET", "/", &[])).allowed);
}

#[test]
fn a_host_rule_needs_an_authority() {
    let judge = judge_of(
        &["api\\.shop"],
        vec![entry(
            1,
            HttpMatcher {
                host: Some(0),
                ..HttpMatcher::default()
            },
        )],
    );
    let mut with_host = request("GET", "/", &[]);
    assert!(judge.judge(KEY, &mut with_host).allowed);
    let mut without = request("GET", "/", &[]);
    without.host = None;
    assert!(!judge.judge(KEY, &mut without).allowed);
}

#[test]
fn the_first_matching_rule_is_reported() {
    let judge = judge_of(
        &["GET", "POST"],
        vec![
            entry(
                2,
                HttpMatcher {
                    method: Some(1),
                    ..HttpMatcher::default()
                },
            ),
            entry(
                5,
                HttpMatcher {
                    method: Some(0),
                    ..HttpMatcher::default()
                },
            ),
            entry(9, HttpMatcher::default()),
        ],
    );
    let j = judge.judge(KEY, &mut request("GET", "/", &[]));
    assert!(j.allowed);
    assert_eq!(j.rules, vec![5]);
}

fn action(value: HeaderValue, mismatch: MismatchAction) -> L7Judge {
    judge_of(
        &[],
        vec![entry(
            4,
            HttpMatcher {
                header_actions: vec![HeaderAction {
                    name: "user-agent".into(),
                    value,
                    mismatch,
                }],
                ..HttpMatcher::default()
            },
        )],
    )
}

/// `(allowed, headers sent upstream)` after judging a request with `headers`.
fn run(judge: &L7Judge, headers: &[(&str, &str)]) -> (bool, Vec<(String, String)>) {
    let mut r = request("GET", "/", headers);
    let allowed = judge.judge(KEY, &mut r).allowed;
    let sent = r
        .headers
        .into_iter()
        .map(|(n, v)| (n, String::from_utf8(v).expect("utf-8")))
        .collect();
    (allowed, sent)
}

fn owned(headers: &[(&str, &str)]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

#[test_case(MismatchAction::Fail, &[("user-agent", "wget")], false, &[("user-agent", "wget")]; "fail: denied, untouched")]
#[test_case(MismatchAction::Log, &[("user-agent", "wget")], true, &[("user-agent", "wget")]; "log: allowed, untouched")]
#[test_case(MismatchAction::Add, &[("user-agent", "wget")], true, &[("user-agent", "wget"), ("user-agent", "curl")]; "add: appended beside the other value")]
#[test_case(MismatchAction::Add, &[], true, &[("user-agent", "curl")]; "add: added when missing")]
#[test_case(MismatchAction::Delete, &[("user-agent", "wget"), ("x", "1")], true, &[("x", "1")]; "delete: the wrong value goes")]
#[test_case(MismatchAction::Delete, &[], true, &[]; "delete: nothing to delete")]
#[test_case(MismatchAction::Replace, &[("user-agent", "wget")], true, &[("user-agent", "curl")]; "replace: set to the value")]
#[test_case(MismatchAction::Replace, &[], true, &[("user-agent", "curl")]; "replace: set when missing")]
#[test_case(MismatchAction::Replace, &[("user-agent", "curl")], true, &[("user-agent", "curl")]; "a match needs no action")]
fn mismatch_actions_edit_the_request_as_cilium_does(
    mismatch: MismatchAction,
    headers: &[(&str, &str)],
    allowed: bool,
    sent: &[(&str, &str)],
) {
    let judge = action(HeaderValue::Exact("curl".into()), mismatch);
    assert_eq!(run(&judge, headers), (allowed, owned(sent)));
}

#[test_case(MismatchAction::Fail; "fail")]
#[test_case(MismatchAction::Log; "log")]
#[test_case(MismatchAction::Add; "add")]
#[test_case(MismatchAction::Replace; "replace")]
fn an_unknown_secret_fails_the_match_whatever_the_action(mismatch: MismatchAction) {
    let judge = action(HeaderValue::UnknownSecret("shop/token".into()), mismatch);
    assert_eq!(
        run(&judge, &[("user-agent", "x")]),
        (false, owned(&[("user-agent", "x")]))
    );
}

#[test]
fn every_matching_rule_runs_its_actions_when_some_rule_has_them() {
    let judge = judge_of(
        &[],
        vec![
            entry(
                1,
                HttpMatcher {
                    header_actions: vec![HeaderAction {
                        name: "x-a".into(),
                        value: HeaderValue::Exact("1".into()),
                        mismatch: MismatchAction::Add,
                    }],
                    ..HttpMatcher::default()
                },
            ),
            entry(
                2,
                HttpMatcher {
                    header_actions: vec![HeaderAction {
                        name: "x-b".into(),
                        value: HeaderValue::Exact("2".into()),
                        mismatch: MismatchAction::Add,
                    }],
                    ..HttpMatcher::default()
                },
            ),
        ],
    );
    let mut r = request("GET", "/", &[]);
    let j = judge.judge(KEY, &mut r);
    assert!(j.allowed);
    assert_eq!(j.rules, vec![1, 2]);
    assert_eq!(r.headers.len(), 2);
}

#[test_case(L7Key { policy: 1, ..KEY }; "unknown policy")]
#[test_case(L7Key { peer_identity: 2000, ..KEY }; "peer without a rule set")]
#[test_case(L7Key { port: 81, ..KEY }; "port no entry covers")]
fn what_the_tables_do_not_describe_is_denied(key: L7Key) {
    let judge = judge_of(&[], vec![entry(1, HttpMatcher::default())]);
    assert!(judge.judge(KEY, &mut request("GET", "/", &[])).allowed);
    assert!(!judge.judge(key, &mut request("GET", "/", &[])).allowed);
}
