//! Without a kernel: every HTTP case of the example FlowTests and of `fixtures/l7/` judged on
//! each endpoint side by what the node would do — the port function's verdict, and for
//! redirect-l7 the compiled L7 tables (`l7/http.json`, loaded from its bytes as the filter
//! loads it) — must get the oracle's decision. No HTTP case may be left unjudged.

use policyc::kernel::flowtest::universe_of;
use policyc_analysis::flowtest::{run_file, RunOptions, TestOutcome};
use policyc_backends::l7::{L7Judge, L7Key, L7Request};
use policyc_build::compile;
use policyc_compile::resolve::{PolicyProtocol, Verdict};
use policyc_diagnostics::source::SourceMap;
use policyc_ir::oracle::{Decision, FlowPeer, L7Request as OracleRequest, Transport};
use policyc_ir::universe::{EndpointKey, Universe};
use policyc_ir::{Direction, NumericIdentity};
use std::path::Path;

fn endpoint_of(universe: &Universe, peer: &FlowPeer) -> Option<EndpointKey> {
    match peer {
        FlowPeer::Endpoint(key) => Some(key.clone()),
        FlowPeer::Ip(ip) => universe.endpoint_by_ip(ip).map(|e| e.key.clone()),
        FlowPeer::Entity(_) => None,
    }
}

fn identity_of(universe: &Universe, peer: &FlowPeer) -> Option<u32> {
    match peer {
        FlowPeer::Endpoint(key) => universe.endpoint(key).map(|e| e.identity.0),
        FlowPeer::Ip(ip) => Some(universe.identity_of_ip(ip).0),
        FlowPeer::Entity(_) => None,
    }
}

/// What the filter sees of an oracle request (header names lower-cased, as hyper gives them).
pub fn filter_request(r: &policyc_ir::l7::HttpRequest) -> L7Request {
    L7Request {
        method: r.method.clone(),
        path: r.path.clone(),
        host: r.host.as_ref().map(|h| h.as_bytes().to_vec()),
        headers: r
            .headers
            .iter()
            .map(|(n, v)| (n.to_ascii_lowercase(), v.as_bytes().to_vec()))
            .collect(),
    }
}

/// How a redirect-l7 request is judged: by the tables, or through the real filter.
pub type RedirectJudge<'a> = dyn FnMut(&L7Judge, L7Key, &policyc_ir::l7::HttpRequest) -> bool + 'a;

/// Judges with the tables directly.
fn by_tables(judge: &L7Judge, key: L7Key, request: &policyc_ir::l7::HttpRequest) -> bool {
    judge.judge(key, &mut filter_request(request)).allowed
}

/// (HTTP cases, sides judged) of one FlowTests file; panics on a disagreement.
pub fn check_file(path: &Path, redirect: &mut RedirectJudge<'_>) -> (usize, usize) {
    let mut sources = SourceMap::default();
    let options = RunOptions::default();
    let reports = run_file(path, &options, &mut sources)
        .unwrap_or_else(|f| panic!("{}: {} finding(s)", path.display(), f.len()));
    let (mut cases, mut sides) = (0, 0);
    for report in &reports {
        let universe = universe_of(report, &options, &mut sources).expect("universe");
        let compilation = compile(&universe, &report.rules, &|| {}).expect("compiles");
        let judge = compilation.l7.as_ref().map(|tables| {
            let bytes = tables.to_bytes().expect("serializes");
            L7Judge::from_bytes(&bytes).expect("loads")
        });
        for outcome in &report.outcomes {
            let Some(OracleRequest::Http(request)) = &outcome.flow.l7 else {
                continue;
            };
            assert!(
                outcome.passed(),
                "{}: the oracle fails the case itself",
                outcome.case.name
            );
            cases += 1;
            let judged = [
                (
                    Direction::Egress,
                    &outcome.flow.source,
                    &outcome.flow.destination,
                ),
                (
                    Direction::Ingress,
                    &outcome.flow.destination,
                    &outcome.flow.source,
                ),
            ]
            .into_iter()
            .filter_map(|(direction, local, peer)| {
                let endpoint = endpoint_of(&universe, local)?;
                let identity = identity_of(&universe, peer)
                    .unwrap_or_else(|| panic!("{}: peer without identity", outcome.case.name));
                Some((direction, endpoint, identity))
            })
            .map(|(direction, endpoint, identity)| {
                check_side(
                    outcome,
                    &compilation,
                    judge.as_ref(),
                    (direction, &endpoint, identity),
                    request,
                    &mut *redirect,
                )
            })
            .count();
            assert!(judged > 0, "{}: no endpoint side", outcome.case.name);
            sides += judged;
        }
    }
    (cases, sides)
}

fn check_side(
    outcome: &TestOutcome,
    compilation: &policyc_build::Compilation,
    judge: Option<&L7Judge>,
    (direction, endpoint, identity): (Direction, &EndpointKey, u32),
    request: &policyc_ir::l7::HttpRequest,
    redirect: &mut RedirectJudge<'_>,
) {
    let Transport::Tcp { port } = outcome.flow.transport else {
        panic!(
            "{}: HTTP over a transport other than TCP",
            outcome.case.name
        );
    };
    let compiled = compilation.endpoint(endpoint).expect("compiled endpoint");
    let verdict = compiled
        .resolved
        .direction(direction)
        .functions_for(NumericIdentity(identity))
        .get(&PolicyProtocol::Tcp)
        .expect("tcp function")
        .lookup(port)
        .verdict;
    let node_allows = match verdict {
        Verdict::RedirectL7(_) => {
            let judge = judge.expect("redirect-l7 without L7 tables");
            let policy = judge
                .tables()
                .policy_of(compiled.endpoint_id, direction)
                .expect("redirect-l7 without an L7 policy");
            let key = L7Key {
                policy: policy.id,
                peer_identity: identity,
                port,
            };
            redirect(judge, key, request)
        }
        other => other.passes_l4(),
    };
    let side = match direction {
        Direction::Egress => &outcome.verdict.egress,
        Direction::Ingress => &outcome.verdict.ingress,
    };
    assert_eq!(
        node_allows,
        side.decision == Decision::Allow,
        "{}: {endpoint} {direction}: node verdict {verdict} says allowed={node_allows}, oracle says {:?} ({:?})",
        outcome.case.name,
        side.decision,
        side.reason
    );
}

#[test]
fn the_example_http_cases_get_the_oracles_decision_from_the_l7_tables() {
    let (cases, sides) = check_file(
        Path::new("../policy-examples/flowtests.yaml"),
        &mut by_tables,
    );
    assert!(cases >= 5 && sides >= cases, "{cases} cases, {sides} sides");
}

#[test]
fn the_l7_fixture_cases_get_the_oracles_decision_from_the_l7_tables() {
    let (cases, sides) = check_file(Path::new("fixtures/l7/flowtests.yaml"), &mut by_tables);
    assert!(cases >= 16 && sides >= 30, "{cases} cases, {sides} sides");
}

/// Requests the exhaustive check sends: every method × path × token header × host.
fn request_corpus() -> Vec<policyc_ir::l7::HttpRequest> {
    let methods = ["GET", "POST", "PUT", "HEAD", "DELETE"];
    let paths = [
        "/",
        "/a",
        "/a?x=1",
        "/b",
        "/public/x",
        "/public/",
        "/r/17",
        "/r/x",
        "/api",
        "/api/orders",
        "/api/products/42",
        "/ext",
    ];
    let tokens = [None, Some(("X-Token", "t")), Some(("x-token", "u"))];
    let hosts = [None, Some("server.web"), Some("server.web:8081")];
    let mut out = Vec::new();
    for method in methods {
        for path in paths {
            for token in tokens {
                for host in hosts {
                    out.push(policyc_ir::l7::HttpRequest {
                        method: method.into(),
                        path: path.into(),
                        host: host.map(String::from),
                        headers: token
                            .iter()
                            .map(|(n, v)| (n.to_string(), v.to_string()))
                            .collect(),
                    });
                }
            }
        }
    }
    out
}

/// Every endpoint, direction, peer identity and port of interest, and for redirect-l7 every
/// request of the corpus: the node's decision (port function, then the L7 tables loaded from
/// their bytes) is the oracle's `endpoint_verdict`. Returns the redirect-l7 requests judged.
fn exhaustive(inventory: &str, policies: &str, ports: &[u16]) -> usize {
    use policyc_ir::oracle::{Flow, Oracle};
    let mut sources = SourceMap::default();
    let (universe, rules, _) = policyc_build::load_inputs(
        Path::new(inventory),
        &[policies.into()],
        Default::default(),
        &mut sources,
    )
    .unwrap_or_else(|e| panic!("{inventory}: {e}"));
    let compilation = compile(&universe, &rules, &|| {}).expect("compiles");
    let judge = compilation
        .l7
        .as_ref()
        .map(|tables| L7Judge::from_bytes(&tables.to_bytes().expect("serializes")).expect("loads"));
    let oracle = Oracle::new(&universe, &rules);
    let corpus = request_corpus();
    let identities: Vec<NumericIdentity> = universe.identities().keys().copied().collect();
    let mut judged = 0;
    for compiled in &compilation.endpoints {
        let me = FlowPeer::Endpoint(compiled.key.clone());
        for direction in Direction::BOTH {
            for identity in &identities {
                for port in ports {
                    let verdict = compiled
                        .resolved
                        .direction(direction)
                        .functions_for(*identity)
                        .get(&PolicyProtocol::Tcp)
                        .expect("tcp function")
                        .lookup(*port)
                        .verdict;
                    let requests = if matches!(verdict, Verdict::RedirectL7(_)) {
                        &corpus[..]
                    } else {
                        &corpus[..1]
                    };
                    for request in requests {
                        let flow =
                            Flow::new(me.clone(), me.clone(), Transport::Tcp { port: *port })
                                .with_l7(OracleRequest::Http(request.clone()));
                        let side = oracle
                            .endpoint_verdict(&compiled.key, direction, *identity, &flow)
                            .expect("oracle");
                        let node = match verdict {
                            Verdict::RedirectL7(_) => {
                                judged += 1;
                                let judge = judge.as_ref().expect("L7 tables");
                                let policy = judge
                                    .tables()
                                    .policy_of(compiled.endpoint_id, direction)
                                    .expect("L7 policy");
                                let key = L7Key {
                                    policy: policy.id,
                                    peer_identity: identity.0,
                                    port: *port,
                                };
                                judge.judge(key, &mut filter_request(request)).allowed
                            }
                            other => other.passes_l4(),
                        };
                        assert_eq!(
                            node,
                            side.decision == Decision::Allow,
                            "{} {direction} peer {} port {port} {} {} {:?} {:?}: node {verdict} allowed={node}, oracle {:?} ({:?})",
                            compiled.key,
                            identity.0,
                            request.method,
                            request.path,
                            request.host,
                            request.headers,
                            side.decision,
                            side.reason
                        );
                    }
                }
            }
        }
    }
    judged
}

#[test]
fn every_peer_port_and_request_of_the_l7_fixture_gets_the_oracles_decision() {
    let judged = exhaustive(
        "fixtures/l7/inventory.yaml",
        "fixtures/l7/policies",
        &[79, 80, 81, 82, 7999, 8000, 8005, 8010, 8011, 8080, 8081],
    );
    assert!(judged > 1000, "only {judged} redirect-l7 requests judged");
}

#[test]
fn every_peer_port_and_request_of_the_examples_gets_the_oracles_decision() {
    let judged = exhaustive(
        "../policy-examples/inventory.yaml",
        "../policy-examples/policies",
        &[80, 443, 8080, 8081, 9090],
    );
    assert!(judged > 100, "only {judged} redirect-l7 requests judged");
}
