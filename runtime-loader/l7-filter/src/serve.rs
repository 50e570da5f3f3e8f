//! The filter as the node's daemon (`policyc-l7 serve`, started and stopped by
//! `policy-loader`): transparent listeners on the L7 port, where the datapath sk-assigns every
//! redirect-l7 connection (`policyc_config.l7_proxy_port`), and the control files the loader
//! drives it with.
//!
//! Who a connection is from and which policy judges it comes from the node-wide pinned map
//! `pc_l7_redir` the datapath fills on the connection's SYN (keyed by the client's and the
//! original destination's address and port, exactly what the accepted socket's peer and local
//! addresses are). A connection without an entry is closed unjudged (fail closed).
//!
//! Control (the loader's state directory `dir`): `dir/current` names the artifact and the
//! generation to serve (`<generation> <artifact dir>`); the filter loads it at start and on
//! SIGHUP, and then writes `dir/loaded` (`<generation>`, replaced atomically) — only after its
//! listeners are bound, so `loaded` also says it is ready. A reload that fails leaves the
//! tables in force and writes `dir/failed` with the reason.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use libbpf_rs::{MapCore, MapFlags, MapHandle};
use policyc_backends::layout::{
    Direction as CDirection, L7RedirectKey, L7RedirectValue, L7_FROM_PROXY_EGRESS_MARK,
    L7_FROM_PROXY_INGRESS_MARK,
};
use policyc_ir::Direction;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::net::TcpListener;

use crate::generation::Generations;
use crate::proxy::{serve_connection, ConnectionContext, PolicyRef};
use crate::stats::Stats;
use crate::tables::load_artifact_tables;
use crate::upstream::UpstreamOptions;

/// `dir/current`: what the loader wants served.
pub const CURRENT_FILE: &str = "current";
/// `dir/loaded`: the generation in force.
pub const LOADED_FILE: &str = "loaded";
/// `dir/failed`: why the last reload failed.
pub const FAILED_FILE: &str = "failed";

/// Why the daemon cannot run.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: expected `<generation> <artifact dir>`")]
    Current { path: PathBuf },
    #[error("{0}")]
    Tables(#[from] crate::tables::TablesError),
    #[error("listening on {address}: {source}")]
    Listen {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("opening the redirect map {path}: {source}")]
    Map {
        path: PathBuf,
        source: libbpf_rs::Error,
    },
}

/// How the daemon runs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The loader's L7 state directory (control files).
    pub dir: PathBuf,
    /// The port the datapath assigns connections to (IPv4 and IPv6, any address).
    pub port: u16,
    /// The pinned `pc_l7_redir` map.
    pub redirect_map: PathBuf,
}

/// What `dir/current` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    pub generation: u64,
    pub artifact: PathBuf,
}

/// Reads `dir/current`.
pub fn read_current(dir: &Path) -> Result<Wanted, ServeError> {
    let path = dir.join(CURRENT_FILE);
    let text = std::fs::read_to_string(&path).map_err(|source| ServeError::Io {
        path: path.clone(),
        source,
    })?;
    let (generation, artifact) = text
        .trim_end_matches('\n')
        .split_once(' ')
        .ok_or_else(|| ServeError::Current { path: path.clone() })?;
    let generation = generation
        .parse()
        .map_err(|_| ServeError::Current { path: path.clone() })?;
    Ok(Wanted {
        generation,
        artifact: PathBuf::from(artifact),
    })
}

/// Writes `name` in `dir` whole (a temporary file renamed over it).
pub fn write_atomically(dir: &Path, name: &str, text: &str) -> std::io::Result<()> {
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, dir.join(name))
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> ServeError + '_ {
    move |source| ServeError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A transparent listener (the accepted sockets keep the original destination as their local
/// address and may answer from it).
fn listener(address: SocketAddr) -> Result<TcpListener, ServeError> {
    let error = |source| ServeError::Listen { address, source };
    let domain = if address.is_ipv6() {
        Domain::IPV6
    } else {
        Domain::IPV4
    };
    let socket = Socket::new(domain, Type::STREAM, Some(Protocol::TCP)).map_err(error)?;
    socket.set_reuse_address(true).map_err(error)?;
    if address.is_ipv6() {
        socket.set_only_v6(true).map_err(error)?;
        socket.set_ip_transparent_v6(true).map_err(error)?;
    } else {
        socket.set_ip_transparent_v4(true).map_err(error)?;
    }
    socket.set_nonblocking(true).map_err(error)?;
    socket.bind(&SockAddr::from(address)).map_err(error)?;
    socket.listen(1024).map_err(error)?;
    TcpListener::from_std(socket.into()).map_err(error)
}

/// Who a connection is from, as the datapath recorded it.
fn lookup(map: &MapHandle, client: SocketAddr, server: SocketAddr) -> Option<L7RedirectValue> {
    let key = L7RedirectKey::new(client, server);
    let bytes = map.lookup(&key.encode(), MapFlags::ANY).ok()??;
    L7RedirectValue::decode(&bytes)
}

/// The connection's context from its map entry.
fn context(value: &L7RedirectValue, client: SocketAddr, server: SocketAddr) -> ConnectionContext {
    let (direction, mark) = match CDirection::from_code(value.direction) {
        Some(CDirection::Egress) => (Direction::Egress, L7_FROM_PROXY_EGRESS_MARK),
        _ => (Direction::Ingress, L7_FROM_PROXY_INGRESS_MARK),
    };
    ConnectionContext {
        policy: PolicyRef::Endpoint {
            endpoint_id: value.endpoint_id,
            direction,
        },
        peer_identity: value.identity,
        client,
        destination: server,
        port: server.port(),
        upstream: UpstreamOptions {
            transparent: true,
            mark,
        },
    }
}

async fn accept_loop(
    listener: TcpListener,
    map: Arc<MapHandle>,
    generations: Generations,
    stats: Arc<Stats>,
) {
    loop {
        let Ok((stream, client)) = listener.accept().await else {
            continue;
        };
        let Ok(server) = stream.local_addr() else {
            continue;
        };
        // No entry: not a connection the datapath handed over; closed unjudged.
        let Some(value) = lookup(&map, client, server) else {
            continue;
        };
        let context = context(&value, client, server);
        let generations = generations.clone();
        let stats = Arc::clone(&stats);
        tokio::spawn(async move {
            let _ = serve_connection(stream, context, generations, stats).await;
        });
    }
}

/// Loads what `dir/current` names.
fn load_wanted(dir: &Path) -> Result<(u64, policyc_backends::l7::L7Judge), ServeError> {
    let wanted = read_current(dir)?;
    let judge = load_artifact_tables(&wanted.artifact)?;
    Ok((wanted.generation, judge))
}

/// Runs the daemon until SIGTERM/SIGINT.
pub async fn serve(options: ServeOptions) -> Result<(), ServeError> {
    let (generation, judge) = load_wanted(&options.dir)?;
    let generations = Generations::new(generation, judge);
    let map = Arc::new(
        MapHandle::from_pinned_path(&options.redirect_map).map_err(|source| ServeError::Map {
            path: options.redirect_map.clone(),
            source,
        })?,
    );
    let stats = Arc::new(Stats::default());
    let listeners = [
        listener(SocketAddr::from((Ipv4Addr::UNSPECIFIED, options.port)))?,
        listener(SocketAddr::from((Ipv6Addr::UNSPECIFIED, options.port)))?,
    ];
    for l in listeners {
        tokio::spawn(accept_loop(
            l,
            Arc::clone(&map),
            generations.clone(),
            Arc::clone(&stats),
        ));
    }
    write_atomically(&options.dir, LOADED_FILE, &format!("{generation}\n"))
        .map_err(io_error(&options.dir))?;

    use tokio::signal::unix::{signal, SignalKind};
    let mut hangup = signal(SignalKind::hangup()).map_err(io_error(&options.dir))?;
    let mut terminate = signal(SignalKind::terminate()).map_err(io_error(&options.dir))?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(io_error(&options.dir))?;
    loop {
        tokio::select! {
            _ = hangup.recv() => match load_wanted(&options.dir) {
                Ok((number, judge)) => {
                    generations.install(number, judge);
                    let _ = std::fs::remove_file(options.dir.join(FAILED_FILE));
                    write_atomically(&options.dir, LOADED_FILE, &format!("{number}\n"))
                        .map_err(io_error(&options.dir))?;
                }
                Err(e) => {
                    write_atomically(&options.dir, FAILED_FILE, &format!("{e}\n"))
                        .map_err(io_error(&options.dir))?;
                }
            },
            _ = terminate.recv() => return Ok(()),
            _ = interrupt.recv() => return Ok(()),
        }
    }
}
