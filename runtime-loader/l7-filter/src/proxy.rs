//! One redirected connection: HTTP/1.1 (kept-alive and pipelined requests, each judged on its
//! own) or HTTP/2 with prior knowledge (h2c, each stream judged on its own). An allowed
//! request goes upstream, over one upstream connection per downstream connection, with the
//! headers the mismatch actions left; a denied one gets Cilium's local reply: `403` with the
//! body `Access denied\r\n`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper::{Request, Response, StatusCode, Version};
use hyper_util::rt::{TokioExecutor, TokioIo};
use policyc_backends::l7::L7Key;
use tokio::net::TcpStream;
use tokio::sync::Mutex;

use crate::generation::Generations;
use crate::request::{view, write_back};
use crate::stats::{Stats, VerdictRecord};
use crate::upstream::{connect, UpstreamOptions};

/// Cilium's body for a request the policy denies (Envoy local reply of `cilium.l7policy`).
pub const ACCESS_DENIED_BODY: &[u8] = b"Access denied\r\n";

/// Which L7 policy judges a connection's requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyRef {
    /// An id of one set of tables (`l7/http.json` `policies[].id`).
    Id(u32),
    /// The policy of this endpoint id and direction in the tables in force when each request
    /// is judged (what the datapath records, `pc_l7_redir`: ids differ between generations).
    Endpoint {
        endpoint_id: u32,
        direction: policyc_ir::Direction,
    },
}

impl PolicyRef {
    /// The policy id in `tables`; `u32::MAX` (no policy: every request denied) when the
    /// tables have none for the endpoint and direction.
    pub fn resolve(self, tables: &policyc_backends::artifact::l7::L7Tables) -> u32 {
        match self {
            PolicyRef::Id(id) => id,
            PolicyRef::Endpoint {
                endpoint_id,
                direction,
            } => tables
                .policies
                .iter()
                .find(|p| p.endpoint_id == endpoint_id && p.direction == direction)
                .map_or(u32::MAX, |p| p.id),
        }
    }
}

/// What the datapath told the filter about one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionContext {
    /// The L7 policy.
    pub policy: PolicyRef,
    /// The peer's identity (the source on ingress, the destination on egress).
    pub peer_identity: u32,
    /// The client's address (source of the downstream connection).
    pub client: SocketAddr,
    /// The original destination: where the upstream connection goes.
    pub destination: SocketAddr,
    /// The destination port the datapath judged (the policy port; the destination's own port
    /// unless a test points the upstream elsewhere).
    pub port: u16,
    pub upstream: UpstreamOptions,
}

type Body = BoxBody<Bytes, hyper::Error>;

enum Upstream {
    H1(http1::SendRequest<Incoming>),
    H2(http2::SendRequest<Incoming>),
}

struct Connection {
    context: ConnectionContext,
    generations: Generations,
    stats: Arc<Stats>,
    upstream: Mutex<Option<Upstream>>,
}

/// Serves one downstream connection until it closes.
pub async fn serve_connection(
    stream: TcpStream,
    context: ConnectionContext,
    generations: Generations,
    stats: Arc<Stats>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let connection = Arc::new(Connection {
        context,
        generations,
        stats,
        upstream: Mutex::new(None),
    });
    let service = hyper::service::service_fn(move |request| {
        let connection = Arc::clone(&connection);
        async move { Ok::<_, Infallible>(connection.handle(request).await) }
    });
    hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
        .serve_connection(TokioIo::new(stream), service)
        .await
}

fn local_reply(status: StatusCode, body: &'static [u8]) -> Response<Body> {
    let mut response = Response::new(
        Full::new(Bytes::from_static(body))
            .map_err(|never| match never {})
            .boxed(),
    );
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain"),
    );
    response
}

impl Connection {
    async fn handle(&self, mut request: Request<Incoming>) -> Response<Body> {
        let generation = self.generations.current();
        let mut judged = view(&request);
        let key = L7Key {
            policy: self.context.policy.resolve(generation.judge.tables()),
            peer_identity: self.context.peer_identity,
            port: self.context.port,
        };
        let judgement = generation.judge.judge(key, &mut judged);
        let allowed = judgement.allowed && write_back(&mut request, &judged).is_ok();
        self.stats.record(VerdictRecord {
            generation: generation.number,
            policy: key.policy,
            peer_identity: key.peer_identity,
            port: key.port,
            method: judged.method.clone(),
            path: judged.path.clone(),
            rules: judgement.rules,
            allowed,
        });
        if !allowed {
            return local_reply(StatusCode::FORBIDDEN, ACCESS_DENIED_BODY);
        }
        match self.forward(request).await {
            Ok(response) => response.map(BodyExt::boxed),
            Err(_) => {
                // The next request connects again.
                *self.upstream.lock().await = None;
                local_reply(
                    StatusCode::SERVICE_UNAVAILABLE,
                    b"upstream connect error\r\n",
                )
            }
        }
    }

    async fn forward(
        &self,
        mut request: Request<Incoming>,
    ) -> Result<Response<Incoming>, Box<dyn std::error::Error + Send + Sync>> {
        let mut upstream = self.upstream.lock().await;
        if upstream.is_none() {
            *upstream = Some(self.connect(request.version()).await?);
        }
        match upstream.as_mut() {
            Some(Upstream::H1(send)) => {
                send.ready().await?;
                Ok(send.send_request(request).await?)
            }
            Some(Upstream::H2(send)) => {
                let mut send = send.clone();
                drop(upstream);
                // HTTP/2 requests carry scheme and authority.
                if request.uri().scheme().is_none() {
                    let authority = request
                        .uri()
                        .authority()
                        .map(|a| a.to_string())
                        .unwrap_or_else(|| self.context.destination.to_string());
                    let path = request
                        .uri()
                        .path_and_query()
                        .map_or("/", |p| p.as_str())
                        .to_string();
                    *request.uri_mut() = hyper::Uri::builder()
                        .scheme("http")
                        .authority(authority)
                        .path_and_query(path)
                        .build()?;
                }
                send.ready().await?;
                Ok(send.send_request(request).await?)
            }
            None => Err("no upstream connection".into()),
        }
    }

    async fn connect(
        &self,
        version: Version,
    ) -> Result<Upstream, Box<dyn std::error::Error + Send + Sync>> {
        let stream = connect(
            self.context.destination,
            self.context.client,
            self.context.upstream,
        )
        .await?;
        let io = TokioIo::new(stream);
        if version == Version::HTTP_2 {
            let (send, conn) = http2::handshake(TokioExecutor::new(), io).await?;
            tokio::spawn(conn);
            Ok(Upstream::H2(send))
        } else {
            let (send, conn) = http1::handshake(io).await?;
            tokio::spawn(conn);
            Ok(Upstream::H1(send))
        }
    }
}
