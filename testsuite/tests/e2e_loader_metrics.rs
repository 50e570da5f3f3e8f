//! `policy-loader metrics` (issue 15) after a real apply: the endpoint's generation, health,
//! apply latency, its rules' counters and its drops by reason in the Prometheus text format, as
//! a textfile and over HTTP.

use policyc_testsuite::loader::Loader;
use policyc_testsuite::netns::{Probe, Topology};
use policyc_testsuite::{loader_binary, workspace};
use std::io::{Read, Write};

#[test]
fn metrics_after_an_apply() {
    let binary = loader_binary();
    let addr = |t: &str| -> std::net::IpAddr { t.parse().unwrap_or_else(|e| panic!("{e}")) };
    let topology = Topology::create(&[("front", vec![addr("198.18.1.10")])])
        .unwrap_or_else(|e| panic!("creating the topology: {e}"));
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let inventory = topology.example_inventory(
        &[("frontend", "front")],
        &work.path().join("inventory.yaml"),
    );
    let artifact = work.path().join("artifact");
    policyc_testsuite::build_artifact(
        &inventory,
        vec![workspace().join("policy-examples/policies")],
        &artifact,
        None,
    );
    let art = artifact.to_string_lossy().into_owned();
    let loader = Loader::on_private_bpffs(binary, &topology, work.path());
    loader.ok(&["apply", &art, "--endpoint", "shop/frontend"]);

    // Two connects the frontend's explicit deny drops (deny-cloud-metadata): counted by reason.
    for _ in 0..2 {
        assert!(!topology.probe(
            Probe::Tcp,
            "front",
            addr("198.18.1.10"),
            addr("169.254.169.254"),
            80
        ));
    }
    let textfile = work.path().join("policyc.prom");
    loader.ok(&["metrics", "--textfile", &textfile.to_string_lossy()]);
    let text = std::fs::read_to_string(&textfile).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        text.contains("policyc_endpoint_generation{endpoint=\"shop/frontend\"} 1\n"),
        "{text}"
    );
    assert!(
        text.contains("policyc_endpoint_healthy{endpoint=\"shop/frontend\"} 1\n"),
        "{text}"
    );
    let latency = text
        .lines()
        .find_map(|l| l.strip_prefix("policyc_apply_duration_seconds{endpoint=\"shop/frontend\"} "))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no apply latency in\n{text}"));
    assert!(latency > 0.0 && latency < 120.0, "{latency}");
    assert!(
        text.lines()
            .any(|l| l
                .starts_with("policyc_rule_packets_total{endpoint=\"shop/frontend\",rule_id=\"")),
        "{text}"
    );

    let drops = text
        .lines()
        .find_map(|l| {
            l.strip_prefix(
                "policyc_drops_total{endpoint=\"shop/frontend\",direction=\"egress\",reason=\"policy\"} ",
            )
        })
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or_else(|| panic!("no policy drops in\n{text}"));
    assert!(drops >= 2, "{drops} drops counted for two denied connects");
    assert!(
        text.contains("# TYPE policyc_drop_bytes_total counter\n"),
        "{text}"
    );

    // Over HTTP: the same document.
    let port = 19000 + (std::process::id() % 1000) as u16;
    let listen = format!("127.0.0.1:{port}");
    let mut child = loader
        .command(&["metrics", "--listen", &listen])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let mut body = String::new();
    for _ in 0..50 {
        if let Ok(mut stream) = std::net::TcpStream::connect(&listen) {
            let _ = stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
            let _ = stream.read_to_string(&mut body);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(body.starts_with("HTTP/1.1 200 OK\r\n"), "{body}");
    assert!(body.contains("text/plain; version=0.0.4"), "{body}");
    assert!(
        body.contains("policyc_endpoint_generation{endpoint=\"shop/frontend\"} 1\n"),
        "{body}"
    );
}
