//! The HTTP cases of the example FlowTests and of `fixtures/l7/` sent as real requests through
//! the L7 filter (policyc-l7-filter, on loopback sockets) wherever the node's verdict is
//! redirect-l7: the filter's 200/403 must be the oracle's decision on every side. The
//! connection context is the one the datapath will hand over (L7 policy, peer identity,
//! port); the upstream is an echo server.

use crate::l7_tables_agree_with_oracle::check_file;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use policyc_backends::l7::{L7Judge, L7Key};
use policyc_l7_filter::upstream::UpstreamOptions;
use policyc_l7_filter::{serve_connection, ConnectionContext, Generations, Stats};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream};

async fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("listen");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let service = hyper::service::service_fn(|r: Request<Incoming>| async move {
                    let text = format!("{} {}", r.method(), r.uri());
                    Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from(text))))
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    address
}

/// Sends `request` through a filter serving one connection with `key`; the status it got.
async fn through_filter(
    judge: &L7Judge,
    key: L7Key,
    request: &policyc_ir::l7::HttpRequest,
    upstream: SocketAddr,
) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("listen");
    let filter = listener.local_addr().expect("address");
    let generations = Generations::new(1, judge.clone());
    tokio::spawn(async move {
        if let Ok((stream, client)) = listener.accept().await {
            let context = ConnectionContext {
                policy: policyc_l7_filter::PolicyRef::Id(key.policy),
                peer_identity: key.peer_identity,
                client,
                destination: upstream,
                port: key.port,
                upstream: UpstreamOptions {
                    transparent: false,
                    mark: 0,
                },
            };
            let _ =
                serve_connection(stream, context, generations, Arc::new(Stats::default())).await;
        }
    });
    let stream = TcpStream::connect(filter).await.expect("connect");
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    let mut builder = Request::builder()
        .method(request.method.as_str())
        .uri(request.path.as_str());
    if let Some(host) = &request.host {
        builder = builder.header("host", host.as_str());
    }
    for (name, value) in &request.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let response = send
        .send_request(builder.body(Empty::<Bytes>::new()).expect("request"))
        .await
        .expect("response");
    let status = response.status().as_u16();
    let _ = response.into_body().collect().await;
    status
}

fn check_through_filter(path: &Path) -> (usize, usize) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let upstream = runtime.block_on(echo_server());
    let mut redirected = 0;
    let counts = check_file(path, &mut |judge, key, request| {
        redirected += 1;
        let status = runtime.block_on(through_filter(judge, key, request, upstream));
        assert!(status == 200 || status == 403, "unexpected status {status}");
        status == 200
    });
    assert!(
        redirected > 0,
        "{}: no request went through the filter",
        path.display()
    );
    counts
}

#[test]
fn the_example_http_cases_get_the_oracles_decision_through_the_filter() {
    let (cases, _) = check_through_filter(Path::new("../policy-examples/flowtests.yaml"));
    assert!(cases >= 5);
}

#[test]
fn the_l7_fixture_cases_get_the_oracles_decision_through_the_filter() {
    let (cases, _) = check_through_filter(Path::new("fixtures/l7/flowtests.yaml"));
    assert!(cases >= 16);
}

/// The built artifact of `fixtures/l7/`: the manifest names `l7/http.json` and pins it; the
/// filter loads it only with that digest.
#[test]
fn the_filter_loads_the_built_l7_tables_only_with_the_pinned_digest() {
    use policyc_build::{build_artifact, BuildRequest};
    let out = tempfile::tempdir().expect("tempdir");
    let mut sources = policyc_diagnostics::source::SourceMap::default();
    let request = BuildRequest {
        inventory: "fixtures/l7/inventory.yaml".into(),
        policies: vec!["fixtures/l7/policies".into()],
        output: out.path().to_path_buf(),
        options: Default::default(),
        local_node: None,
        allow_unenforced: Vec::new(),
    };
    let (summary, _) = build_artifact(&request, &mut sources, &|_| {}, &|| {})
        .unwrap_or_else(|e| panic!("build: {e}"));
    let l7 = summary
        .manifest
        .l7
        .clone()
        .expect("manifest names the L7 tables");
    assert!(summary.manifest.file_digests.contains_key(&l7));
    let judge = policyc_l7_filter::load_artifact_tables(out.path()).expect("loads");
    // server ingress and client egress.
    assert_eq!(judge.tables().policies.len(), 2);
    let path = out.path().join(&l7);
    let mut bytes = std::fs::read(&path).expect("read");
    bytes.push(b' ');
    std::fs::write(&path, bytes).expect("write");
    let err = policyc_l7_filter::load_artifact_tables(out.path()).expect_err("tampered");
    assert!(err.to_string().contains("digest"), "{err}");
}

/// An artifact without HTTP rules has no L7 tables, and the filter says so.
#[test]
fn an_artifact_without_http_rules_has_no_l7_tables() {
    use policyc_build::{build_artifact, BuildRequest};
    let out = tempfile::tempdir().expect("tempdir");
    let mut sources = policyc_diagnostics::source::SourceMap::default();
    let request = BuildRequest {
        inventory: "fixtures/l7/inventory.yaml".into(),
        policies: vec![],
        output: out.path().to_path_buf(),
        options: Default::default(),
        local_node: None,
        allow_unenforced: Vec::new(),
    };
    let (summary, _) = build_artifact(&request, &mut sources, &|_| {}, &|| {})
        .unwrap_or_else(|e| panic!("build: {e}"));
    assert_eq!(summary.manifest.l7, None);
    assert!(matches!(
        policyc_l7_filter::load_artifact_tables(out.path()),
        Err(policyc_l7_filter::TablesError::NoTables)
    ));
}

/// `policyc-l7 check` and `judge` on the built `fixtures/l7/` artifact, as an operator runs
/// them: judge exits 0 for an allowed request and 1 (403) for a denied one.
#[test]
fn the_policyc_l7_command_checks_and_judges_a_built_artifact() {
    use std::process::Command;
    let workspace = policyc_testsuite::workspace();
    let status = Command::new(env!("CARGO"))
        .args([
            "build",
            "-q",
            "-p",
            "policyc-l7-filter",
            "--bin",
            "policyc-l7",
        ])
        .current_dir(&workspace)
        .status()
        .expect("cargo build");
    assert!(status.success(), "building policyc-l7");
    let binary = workspace.join("target/debug/policyc-l7");
    let out = tempfile::tempdir().expect("tempdir");
    policyc_testsuite::build_artifact(
        Path::new("fixtures/l7/inventory.yaml"),
        vec!["fixtures/l7/policies".into()],
        out.path(),
        None,
    );
    let check = Command::new(&binary)
        .arg("check")
        .arg(out.path())
        .output()
        .expect("policyc-l7 check");
    let text = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "{text}");
    assert!(text.contains("web/server ingress"), "{text}");
    let client_identity = {
        let manifest: serde_json::Value = serde_json::from_slice(
            &std::fs::read(out.path().join("manifest.json")).expect("manifest"),
        )
        .expect("json");
        let endpoints = manifest["endpoints"].as_array().expect("endpoints").clone();
        endpoints
            .iter()
            .find(|e| e["name"] == "web/client")
            .and_then(|e| e["identity"].as_u64())
            .expect("client identity")
    };
    let judge = |method: &str, extra: &[&str]| {
        let mut command = Command::new(&binary);
        command.arg("judge").arg(out.path()).args([
            "--endpoint",
            "web/server",
            "--direction",
            "ingress",
            "--peer-identity",
            &client_identity.to_string(),
            "--port",
            "80",
            "--method",
            method,
            "--path",
            "/a",
        ]);
        command.args(extra);
        let o = command.output().expect("policyc-l7 judge");
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
        )
    };
    let (code, text) = judge("GET", &["--header", "X-Token: t"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.starts_with("allowed"), "{text}");
    let (code, text) = judge("GET", &[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("403 Access denied"), "{text}");
}
