//! The filter tests' harness: an upstream server that echoes what it received (method,
//! target, version, the peer address it saw, every header), the filter on its own listener
//! with one fixed connection context, and HTTP/1.1, h2c and raw clients.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use policyc_backends::artifact::l7::{HttpMatcher, L7Entry, L7Policy, L7RuleSet, L7Tables};
use policyc_backends::l7::{compile_regex, L7Judge};
use policyc_ir::Direction;
use policyc_l7_filter::upstream::UpstreamOptions;
use policyc_l7_filter::{serve_connection, ConnectionContext, Generations, Stats};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

pub const PEER_IDENTITY: u32 = 1000;
pub const CLIENT_IP: &str = "198.18.7.10";
const FILTER_IP: &str = "198.18.7.1";
const SERVER_IP: &str = "198.18.7.20";

/// Where the harness runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// 127.0.0.1, upstream from the filter's own address.
    Loopback,
    /// Inside a private network namespace: 198.18.7.0/24 local on `lo`, transparent upstream
    /// from the client's address.
    Netns,
}
pub use Mode::*;

/// Tables with policy 0 judging peer [`PEER_IDENTITY`] on every port by `rules`.
pub fn tables(regexes: &[&str], rules: Vec<(u32, HttpMatcher)>) -> L7Judge {
    let mut t = L7Tables::new();
    for r in regexes {
        t.regexes.push(compile_regex(r).expect("regex compiles"));
    }
    t.rule_sets.push(L7RuleSet {
        entries: rules
            .into_iter()
            .map(|(rule, http)| L7Entry {
                port_lo: 0,
                port_hi: u16::MAX,
                rule,
                http,
            })
            .collect(),
    });
    t.policies.push(L7Policy {
        id: 0,
        endpoint: "web/server".into(),
        endpoint_id: 1,
        direction: Direction::Ingress,
        peers: BTreeMap::from([(PEER_IDENTITY, 0)]),
        unknown_peer: None,
    });
    L7Judge::from_bytes(&t.to_bytes().expect("serializes")).expect("loads")
}

pub struct Harness {
    pub mode: Mode,
    pub filter: SocketAddr,
    pub server: SocketAddr,
    pub generations: Generations,
    pub stats: Arc<Stats>,
    requests: Arc<AtomicUsize>,
}

fn ip(text: &str) -> IpAddr {
    text.parse().expect("address")
}

impl Harness {
    pub async fn start(regexes: &[&str], rules: Vec<(u32, HttpMatcher)>, mode: Mode) -> Harness {
        let (server_ip, filter_ip) = match mode {
            Loopback => (ip("127.0.0.1"), ip("127.0.0.1")),
            Netns => {
                netns_setup();
                (ip(SERVER_IP), ip(FILTER_IP))
            }
        };
        let requests = Arc::new(AtomicUsize::new(0));
        let server = start_server(server_ip, Arc::clone(&requests)).await;
        let generations = Generations::new(1, tables(regexes, rules));
        let stats = Arc::new(Stats::default());
        let listener = TcpListener::bind(SocketAddr::new(filter_ip, 0))
            .await
            .expect("filter listens");
        let filter = listener.local_addr().expect("address");
        let upstream = UpstreamOptions {
            transparent: mode == Netns,
            mark: 0,
        };
        let (g, s) = (generations.clone(), Arc::clone(&stats));
        tokio::spawn(async move {
            while let Ok((stream, client)) = listener.accept().await {
                let context = ConnectionContext {
                    policy: policyc_l7_filter::PolicyRef::Id(0),
                    peer_identity: PEER_IDENTITY,
                    client,
                    destination: server,
                    port: server.port(),
                    upstream,
                };
                let (g, s) = (g.clone(), Arc::clone(&s));
                tokio::spawn(async move {
                    let _ = serve_connection(stream, context, g, s).await;
                });
            }
        });
        Harness {
            mode,
            filter,
            server,
            generations,
            stats,
            requests,
        }
    }

    pub fn install(&self, number: u64, regexes: &[&str], rules: Vec<(u32, HttpMatcher)>) {
        self.generations.install(number, tables(regexes, rules));
    }

    pub fn upstream_requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    async fn connect(&self) -> TcpStream {
        let socket = TcpSocket::new_v4().expect("socket");
        if self.mode == Netns {
            socket
                .bind(SocketAddr::new(ip(CLIENT_IP), 0))
                .expect("bind the client address");
        }
        socket
            .connect(self.filter)
            .await
            .expect("connect to the filter")
    }

    pub async fn http1_client(&self) -> Client {
        let io = TokioIo::new(self.connect().await);
        let (send, conn) = hyper::client::conn::http1::handshake(io)
            .await
            .expect("handshake");
        tokio::spawn(conn);
        Client::H1(send)
    }

    pub async fn http2_client(&self) -> Client {
        let io = TokioIo::new(self.connect().await);
        let (send, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
            .await
            .expect("h2 handshake");
        tokio::spawn(conn);
        Client::H2(send)
    }

    /// Writes `bytes` at once and reads every response until the filter closes.
    pub async fn raw_http1(&self, bytes: &[u8]) -> Vec<Reply> {
        let mut stream = self.connect().await;
        stream.write_all(bytes).await.expect("write");
        let mut all = Vec::new();
        tokio::time::timeout(
            std::time::Duration::from_secs(10),
            stream.read_to_end(&mut all),
        )
        .await
        .expect("the filter answers and closes")
        .expect("read");
        parse_responses(&all)
    }
}

/// A response as the tests look at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub body: String,
}

pub enum Client {
    H1(hyper::client::conn::http1::SendRequest<Empty<Bytes>>),
    H2(hyper::client::conn::http2::SendRequest<Empty<Bytes>>),
}

impl Client {
    pub async fn get(&mut self, path: &str, headers: &[(&str, &str)]) -> Reply {
        self.request("GET", path, headers).await
    }

    pub async fn request(&mut self, method: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
        let uri = match self {
            Client::H1(_) => path.to_string(),
            Client::H2(_) => format!("http://server.web{path}"),
        };
        let mut builder = Request::builder().method(method).uri(uri);
        if matches!(self, Client::H1(_)) {
            builder = builder.header("host", "server.web");
        }
        for (n, v) in headers {
            builder = builder.header(*n, *v);
        }
        let request = builder.body(Empty::<Bytes>::new()).expect("request");
        let response = match self {
            Client::H1(send) => {
                send.ready().await.expect("ready");
                send.send_request(request).await
            }
            Client::H2(send) => {
                send.ready().await.expect("ready");
                send.send_request(request).await
            }
        }
        .expect("response");
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        Reply {
            status,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }
}

fn parse_responses(mut all: &[u8]) -> Vec<Reply> {
    let mut replies = Vec::new();
    while let Some(end) = all.windows(4).position(|w| w == b"\r\n\r\n") {
        let head = String::from_utf8_lossy(&all[..end]).into_owned();
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status line");
        let length: usize = head
            .lines()
            .find_map(|l| {
                let (n, v) = l.split_once(':')?;
                n.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse().ok())?
            })
            .expect("content-length");
        let body = &all[end + 4..end + 4 + length];
        replies.push(Reply {
            status,
            body: String::from_utf8_lossy(body).into_owned(),
        });
        all = &all[end + 4 + length..];
    }
    replies
}

/// The upstream server: 200 with what it received.
async fn start_server(address: IpAddr, requests: Arc<AtomicUsize>) -> SocketAddr {
    let port = if address.is_loopback() { 0 } else { 8080 };
    let listener = TcpListener::bind(SocketAddr::new(address, port))
        .await
        .expect("server listens");
    let local = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((stream, peer)) = listener.accept().await {
            let requests = Arc::clone(&requests);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |r: Request<Incoming>| {
                    requests.fetch_add(1, Ordering::SeqCst);
                    let mut text = format!(
                        "{} {} {:?} peer {}\n",
                        r.method(),
                        r.uri().path_and_query().map_or("", |p| p.as_str()),
                        r.version(),
                        peer.ip()
                    );
                    for (n, v) in r.headers() {
                        text.push_str(&format!("{n}: {}\n", String::from_utf8_lossy(v.as_bytes())));
                    }
                    async move {
                        Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from(
                            text,
                        ))))
                    }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    local
}

const INNER: &str = "POLICYC_L7_FILTER_TEST_IN_NETNS";

/// Runs `test` of this binary again inside a new network namespace (root only; skipped with
/// a message otherwise). True inside it.
pub fn in_private_netns(test: &str) -> bool {
    if std::env::var(INNER).is_ok() {
        return true;
    }
    let exe = std::env::current_exe().expect("test binary");
    let status = Command::new("unshare")
        .arg("-n")
        .arg(exe)
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(INNER, "1")
        .status()
        .expect("running unshare -n (needed for the netns tests; run as root)");
    assert!(
        status.success(),
        "{test} failed inside its network namespace"
    );
    false
}

fn run(args: &[&str]) {
    let status = Command::new("ip").args(args).status().expect("ip");
    assert!(status.success(), "ip {}", args.join(" "));
}

/// lo up; every address of 198.18.7.0/24 local (AnyIP), so the client, filter and server
/// addresses exist and the transparent upstream's replies come home.
fn netns_setup() {
    run(&["link", "set", "lo", "up"]);
    run(&["route", "add", "local", "198.18.7.0/24", "dev", "lo"]);
}
