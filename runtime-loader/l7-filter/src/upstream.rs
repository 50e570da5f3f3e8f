//! The upstream connection of one redirected connection: to the original destination, from
//! the client's own address (`IP_TRANSPARENT`, so the server sees the client, as Cilium's
//! proxy does), marked with `SO_MARK` so the datapath does not redirect the filter's own
//! traffic again.

use std::net::SocketAddr;

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::net::{TcpSocket, TcpStream};

/// How the filter connects upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpstreamOptions {
    /// Bind to the client's address (needs `CAP_NET_ADMIN`, and a route that delivers the
    /// replies to this host: the datapath's job). Off: the server sees the filter's address.
    pub transparent: bool,
    /// `SO_MARK` of upstream packets (0: none).
    pub mark: u32,
}

/// Connects to `destination`, from `client` when transparent.
pub async fn connect(
    destination: SocketAddr,
    client: SocketAddr,
    options: UpstreamOptions,
) -> std::io::Result<TcpStream> {
    let domain = if destination.is_ipv6() {
        Domain::IPV6
    } else {
        Domain::IPV4
    };
    let socket = Socket::new(domain, Type::STREAM, Some(Protocol::TCP))?;
    socket.set_nonblocking(true)?;
    socket.set_tcp_nodelay(true)?;
    if options.mark != 0 {
        socket.set_mark(options.mark)?;
    }
    if options.transparent {
        if destination.is_ipv6() {
            socket.set_ip_transparent_v6(true)?;
        } else {
            socket.set_ip_transparent_v4(true)?;
        }
        // The client's address with any port: the kernel picks one (the client's own port is
        // still in use by the downstream connection on the same tuple space).
        let mut source = client;
        source.set_port(0);
        socket.bind(&SockAddr::from(source))?;
    }
    let socket = TcpSocket::from_std_stream(socket.into());
    socket.connect(destination).await
}
