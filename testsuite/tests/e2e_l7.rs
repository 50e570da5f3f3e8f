//! L7 HTTP end to end on this machine (root): `policyc build` of a server policy that lets the
//! client `GET /api/.*` on 8080 → `policy-loader apply` onto both endpoints' veths → real HTTP
//! requests from the client namespace to a real server (python's http.server) in the server
//! namespace. The datapath hands the connection to the node's L7 filter (`policyc-l7`, started
//! by the loader) with `bpf_sk_assign`; the filter judges each request and forwards allowed ones
//! from the client's own address. Checked: an allowed request gets the server's 200 and the
//! server saw the client's address; a wrong path (full match) or method gets 403 with
//! `Access denied\r\n` from the filter; a second request on a kept-alive connection is judged
//! on its own; `status` shows the filter; an apply that changes the rule makes the new rule
//! hold (the running filter takes the new tables); a killed filter makes redirected
//! connections fail (never pass unchecked) until the next apply starts it again; `unload` stops
//! the filter, and then everything flows. Everything is removed at the end,
//! also on failure (Drop guards).

use std::io::BufRead;
use std::net::IpAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use policyc_testsuite::loader::Loader;
use policyc_testsuite::netns::{run, Topology};
use policyc_testsuite::{l7_filter_binary, loader_binary};

const CLIENT: &str = "198.18.14.10";
const SERVER: &str = "198.18.14.20";
const PORT: u16 = 8080;

fn addr(text: &str) -> IpAddr {
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

const INVENTORY: &str = "apiVersion: policyc/v1
kind: Inventory
cluster: default
namespaces:
  - name: e2e
    labels: {kubernetes.io/metadata.name: e2e}
nodes:
  - name: node-1
    ips: [198.18.255.1]
    local: true
endpoints:
  - name: client
    namespace: e2e
    labels: {app: client}
    ips: [198.18.14.10]
    interface: IFACE_CLIENT
  - name: server
    namespace: e2e
    labels: {app: server}
    ips: [198.18.14.20]
    interface: IFACE_SERVER
";

/// The server's ingress: the client may send `METHOD PATH` requests on 8080, nothing else.
fn policy(method: &str, path: &str) -> String {
    format!(
        "apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: server
  namespace: e2e
spec:
  endpointSelector:
    matchLabels: {{app: server}}
  ingress:
    - fromEndpoints:
        - matchLabels: {{app: client}}
      toPorts:
        - ports: [{{port: \"8080\", protocol: TCP}}]
          rules:
            http:
              - method: {method}
                path: \"{path}\"
"
    )
}

/// Answers every GET and POST with 200 and `METHOD PATH from CLIENT-ADDRESS`.
const SERVER_PY: &str = r#"
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n: self.rfile.read(n)
        body = ("%s %s from %s" % (self.command, self.path, self.client_address[0])).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_GET = do_POST = answer
    def log_message(self, *args): pass
s = ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])), H)
print("ready", flush=True)
s.serve_forever()
"#;

/// Sends `METHOD PATH` requests on ONE kept-alive connection; prints one JSON line per
/// response (`status`, `body`), or `{"error": ...}` when the connection fails.
const CLIENT_PY: &str = r#"
import http.client, json, sys
src, dst, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
try:
    c = http.client.HTTPConnection(dst, port, timeout=3, source_address=(src, 0))
    for pair in sys.argv[4:]:
        method, path = pair.split(" ", 1)
        c.request(method, path, body=(b"data" if method == "POST" else None))
        r = c.getresponse()
        print(json.dumps({"status": r.status, "body": r.read().decode()}), flush=True)
except Exception as e:
    print(json.dumps({"error": repr(e)}), flush=True)
"#;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_server(netns: &str) -> Server {
    let mut child = Command::new("ip")
        .args(["netns", "exec", netns, "python3", "-c", SERVER_PY])
        .args([SERVER, &PORT.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("http server: {e}"));
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        let _ = std::io::BufReader::new(out).read_line(&mut line);
    }
    assert_eq!(line.trim(), "ready", "the HTTP server did not start");
    Server(child)
}

/// The responses to `requests` sent on one connection from the client: (status, body), or
/// (0, error) for a failed connection.
fn requests(topology: &Topology, requests: &[&str]) -> Vec<(u16, String)> {
    let output = topology
        .in_endpoint("client", "python3")
        .args(["-c", CLIENT_PY, CLIENT, SERVER, &PORT.to_string()])
        .args(requests)
        .output()
        .unwrap_or_else(|e| panic!("client: {e}"));
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| {
            let v: serde_json::Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
            match v.get("error") {
                Some(e) => (0, e.to_string()),
                None => (
                    v["status"].as_u64().map_or(0, |s| s as u16),
                    v["body"].as_str().unwrap_or_default().to_owned(),
                ),
            }
        })
        .collect()
}

fn one(topology: &Topology, request: &str) -> (u16, String) {
    let mut responses = requests(topology, &[request]);
    assert_eq!(responses.len(), 1, "{request}: {responses:?}");
    responses.remove(0)
}

const DENIED: (u16, &str) = (403, "Access denied\r\n");

fn served(request: &str) -> (u16, String) {
    (200, format!("{request} from {CLIENT}"))
}

fn build(work: &Path, topology: &Topology, name: &str, method: &str, path: &str) -> String {
    let inventory = work.join("inventory.yaml");
    std::fs::write(
        &inventory,
        INVENTORY
            .replace("IFACE_CLIENT", &topology.endpoint("client").interface)
            .replace("IFACE_SERVER", &topology.endpoint("server").interface),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let policy_file = work.join(format!("{name}.yaml"));
    std::fs::write(&policy_file, policy(method, path)).unwrap_or_else(|e| panic!("{e}"));
    let out = work.join(name);
    policyc_testsuite::build_artifact(&inventory, vec![policy_file], &out, None);
    out.to_string_lossy().into_owned()
}

fn filter_pid(status: &str) -> Option<String> {
    let line = status.lines().find(|l| l.contains("L7 filter"))?;
    let pid = line.split("pid ").nth(1)?;
    Some(pid.split_whitespace().next()?.trim_matches(',').to_owned())
}

/// Waits until process `pid` is gone (or a zombie); panics after 2 s.
fn wait_gone(pid: &str) {
    let gone = || {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |s| s.contains(") Z "))
    };
    for _ in 0..100 {
        if gone() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("process {pid} still runs");
}

#[test]
fn http_rules_are_enforced_by_the_l7_filter_the_datapath_steers_to() {
    assert!(
        run("id", &["-u"]).is_ok_and(|u| u.trim() == "0"),
        "the L7 end-to-end test needs root (network namespaces, bpffs)"
    );
    let loader_bin = loader_binary();
    let _filter_bin = l7_filter_binary();
    let mut topology = Topology::create(&[
        ("client", vec![addr(CLIENT)]),
        ("server", vec![addr(SERVER)]),
    ])
    .unwrap_or_else(|e| panic!("creating the topology: {e}"));
    // The filter's own connections (from the node) reach the endpoints through the test's table.
    topology.route_from_node().unwrap_or_else(|e| panic!("{e}"));
    let _server = start_server(&topology.endpoint("server").netns.clone());
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));

    // Without policy: everything is served directly.
    assert_eq!(one(&topology, "GET /admin"), served("GET /admin"));

    let v1 = build(work.path(), &topology, "v1", "GET", "/api/.*");
    let loader = Loader::on_private_bpffs(loader_bin, &topology, work.path());
    let port = (20_000 + std::process::id() % 20_000).to_string();
    loader.ok(&["apply", &v1, "--l7-port", &port]);
    let status = loader.ok(&["status"]);
    let pid = filter_pid(&status).unwrap_or_else(|| panic!("status shows no L7 filter:\n{status}"));
    assert!(
        Path::new(&format!("/proc/{pid}")).exists(),
        "filter pid {pid} is not running"
    );

    // Allowed: the real server answers, and it saw the client's own address.
    assert_eq!(one(&topology, "GET /api/x"), served("GET /api/x"));
    // Wrong path (full match: /admin, and /api without the slash), wrong method.
    assert_eq!(one(&topology, "GET /admin"), (DENIED.0, DENIED.1.into()));
    assert_eq!(one(&topology, "GET /api"), (DENIED.0, DENIED.1.into()));
    assert_eq!(one(&topology, "POST /api/x"), (DENIED.0, DENIED.1.into()));
    // One kept-alive connection: each request judged on its own.
    assert_eq!(
        requests(&topology, &["GET /api/a", "GET /admin", "GET /api/b"]),
        vec![
            served("GET /api/a"),
            (DENIED.0, DENIED.1.into()),
            served("GET /api/b"),
        ]
    );

    // A new rule: only GET /v2/.* — the old one no longer holds.
    let v2 = build(work.path(), &topology, "v2", "GET", "/v2/.*");
    loader.ok(&["apply", &v2, "--l7-port", &port]);
    assert_eq!(one(&topology, "GET /api/x"), (DENIED.0, DENIED.1.into()));
    assert_eq!(one(&topology, "GET /v2/x"), served("GET /v2/x"));
    let status = loader.ok(&["status"]);
    assert_eq!(
        filter_pid(&status).as_deref(),
        Some(pid.as_str()),
        "the running filter took the new tables:\n{status}"
    );

    // The filter dies: redirected connections fail, never pass unchecked; the next apply
    // starts it again with the current tables.
    run("kill", &["-9", &pid]).unwrap_or_else(|e| panic!("{e}"));
    wait_gone(&pid);
    let (status, _) = one(&topology, "GET /v2/x");
    assert_eq!(
        status, 0,
        "a redirected connection without a filter must fail"
    );
    let (status, _) = one(&topology, "GET /admin");
    assert_eq!(
        status, 0,
        "a redirected connection without a filter must fail"
    );
    loader.ok(&["apply", &v2, "--l7-port", &port]);
    let status = loader.ok(&["status"]);
    let pid =
        filter_pid(&status).unwrap_or_else(|| panic!("no L7 filter after re-apply:\n{status}"));
    assert_eq!(one(&topology, "GET /v2/x"), served("GET /v2/x"));
    assert_eq!(one(&topology, "GET /api/x"), (DENIED.0, DENIED.1.into()));

    // Unload: the filter is gone, and nothing is filtered.
    loader.ok(&["unload"]);
    wait_gone(&pid);
    assert!(!loader.ok(&["status"]).contains("L7 filter"));
    assert_eq!(one(&topology, "GET /admin"), served("GET /admin"));
}
