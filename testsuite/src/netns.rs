//! Throw-away network topologies for end-to-end tests (root only): a "node" namespace that
//! routes between endpoint namespaces joined to it by veth pairs (the host side of each pair is
//! the endpoint's interface, where tcx programs attach), plus probes run inside namespaces with
//! small python3 programs (TCP connect, UDP echo, ICMP echo). Every name carries a per-run id;
//! [`Topology`]'s `Drop` kills the servers and deletes the namespaces (and so the veths) even
//! when a test fails.

use std::io::{BufRead, BufReader};
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// One endpoint namespace.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Namespace name.
    pub netns: String,
    /// Host-side interface name (in the node namespace).
    pub interface: String,
    /// Its addresses (IPv4 /32 and IPv6 /128).
    pub addrs: Vec<IpAddr>,
}

/// A node namespace, endpoint namespaces and listening servers.
#[derive(Debug)]
pub struct Topology {
    /// The per-run id in every name.
    pub id: String,
    /// The namespace that plays the node's root namespace (routing, tcx attach points).
    pub node: String,
    /// Endpoints by short name.
    pub endpoints: Vec<(String, Endpoint)>,
    servers: Vec<Child>,
}

/// Runs a command; `Err` with its output when it fails.
pub fn run(program: &str, args: &[&str]) -> Result<String, String> {
    let output = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(format!(
            "{program} {}: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

fn ip(args: &[&str]) -> Result<(), String> {
    run("ip", args).map(|_| ())
}

fn sysctl(netns: &str, setting: &str) -> Result<(), String> {
    ip(&["netns", "exec", netns, "sysctl", "-qw", setting])
}

/// The first IPv6 and IPv4 address of a list.
fn family(addrs: &[IpAddr], v6: bool) -> Option<IpAddr> {
    addrs.iter().copied().find(|a| a.is_ipv6() == v6)
}

/// Listens on TCP ports (accepts and closes) and UDP ports (echoes) on all addresses.
const SERVER: &str = r#"
import selectors, socket, sys
sel = selectors.DefaultSelector()
tcp = [int(p) for p in sys.argv[1].split(",") if p]
udp = [int(p) for p in sys.argv[2].split(",") if p]
for fam, addr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
    for port in tcp:
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if fam == socket.AF_INET6: s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind((addr, port)); s.listen(128); s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, "tcp")
    for port in udp:
        s = socket.socket(fam, socket.SOCK_DGRAM)
        if fam == socket.AF_INET6: s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind((addr, port)); s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, "udp")
print("ready", flush=True)
while True:
    for key, _ in sel.select():
        s = key.fileobj
        try:
            if key.data == "tcp":
                c, _ = s.accept(); c.close()
            else:
                data, peer = s.recvfrom(2048); s.sendto(data, peer)
        except OSError:
            pass
"#;

/// One probe: prints 1 when the flow worked, 0 when not.
const PROBE: &str = r#"
import socket, struct, sys, os, time
kind, src, dst, port, timeout = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
def checksum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b)); s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
ok = 0
try:
    if kind == "tcp":
        s = socket.socket(fam, socket.SOCK_STREAM); s.settimeout(timeout); s.bind((src, 0))
        s.connect((dst, port)); ok = 1
    elif kind == "udp":
        s = socket.socket(fam, socket.SOCK_DGRAM); s.settimeout(timeout); s.bind((src, 0))
        s.sendto(b"policyc", (dst, port)); data, _ = s.recvfrom(64); ok = int(data == b"policyc")
    elif kind == "icmp":
        proto = socket.IPPROTO_ICMPV6 if fam == socket.AF_INET6 else socket.IPPROTO_ICMP
        s = socket.socket(fam, socket.SOCK_RAW, proto); s.settimeout(timeout); s.bind((src, 0))
        ident = os.getpid() & 0xffff
        typ = 128 if fam == socket.AF_INET6 else 8
        hdr = struct.pack("!BBHHH", typ, 0, 0, ident, 1) + b"policyc"
        if fam == socket.AF_INET: hdr = hdr[:2] + struct.pack("!H", checksum(hdr)) + hdr[4:]
        s.sendto(hdr, (dst, 0))
        deadline = time.time() + timeout
        while time.time() < deadline:
            data, _ = s.recvfrom(2048)
            icmp = data[20:] if fam == socket.AF_INET else data
            want = 129 if fam == socket.AF_INET6 else 0
            if icmp[0] == want and struct.unpack("!H", icmp[4:6])[0] == ident:
                ok = 1; break
except OSError:
    ok = 0
print(ok)
"#;

/// A probe's protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// TCP connect (handshake needs the reply direction).
    Tcp,
    /// UDP datagram echoed back.
    Udp,
    /// ICMP echo request/reply.
    Icmp,
}

impl Topology {
    /// Creates the node namespace and one endpoint namespace per `(short name, addresses)`;
    /// the interface of endpoint `i` is `pc<id><short name's first letter><i>`.
    pub fn create(endpoints: &[(&str, Vec<IpAddr>)]) -> Result<Topology, String> {
        let id = format!("{:x}", std::process::id() & 0xfffff);
        let node = format!("pce2e-{id}-node");
        let mut topology = Topology {
            id: id.clone(),
            node: node.clone(),
            endpoints: Vec::new(),
            servers: Vec::new(),
        };
        ip(&["netns", "add", &node])?;
        for setting in [
            "net.ipv4.ip_forward=1",
            "net.ipv6.conf.all.forwarding=1",
            "net.ipv6.conf.default.accept_dad=0",
            "net.ipv6.conf.all.accept_dad=0",
        ] {
            sysctl(&node, setting)?;
        }
        ip(&["-n", &node, "link", "set", "lo", "up"])?;
        for (index, (short, addrs)) in endpoints.iter().enumerate() {
            let netns = format!("pce2e-{id}-{short}");
            let interface = format!("pc{id}{}{index}", short.chars().next().unwrap_or('e'));
            ip(&["netns", "add", &netns])?;
            topology.endpoints.push((
                (*short).to_owned(),
                Endpoint {
                    netns: netns.clone(),
                    interface: interface.clone(),
                    addrs: addrs.clone(),
                },
            ));
            sysctl(&netns, "net.ipv6.conf.default.accept_dad=0")?;
            sysctl(&netns, "net.ipv6.conf.all.accept_dad=0")?;
            ip(&[
                "-n", &node, "link", "add", &interface, "type", "veth", "peer", "name", "eth0",
                "netns", &netns,
            ])?;
            ip(&[
                "-n",
                &node,
                "addr",
                "add",
                "198.19.255.254/32",
                "dev",
                &interface,
            ])?;
            ip(&[
                "-n",
                &node,
                "addr",
                "add",
                "fe80::1/64",
                "dev",
                &interface,
                "nodad",
            ])?;
            ip(&["-n", &node, "link", "set", &interface, "up"])?;
            ip(&["-n", &netns, "link", "set", "lo", "up"])?;
            ip(&["-n", &netns, "link", "set", "eth0", "up"])?;
            for addr in addrs {
                let (plen, v6) = if addr.is_ipv6() {
                    ("128", true)
                } else {
                    ("32", false)
                };
                let cidr = format!("{addr}/{plen}");
                if v6 {
                    ip(&["-n", &netns, "addr", "add", &cidr, "dev", "eth0", "nodad"])?;
                    ip(&["-n", &node, "-6", "route", "add", &cidr, "dev", &interface])?;
                } else {
                    ip(&["-n", &netns, "addr", "add", &cidr, "dev", "eth0"])?;
                    ip(&["-n", &node, "route", "add", &cidr, "dev", &interface])?;
                }
            }
            if family(addrs, false).is_some() {
                ip(&[
                    "-n",
                    &netns,
                    "route",
                    "add",
                    "198.19.255.254",
                    "dev",
                    "eth0",
                    "scope",
                    "link",
                ])?;
                ip(&[
                    "-n",
                    &netns,
                    "route",
                    "add",
                    "default",
                    "via",
                    "198.19.255.254",
                    "dev",
                    "eth0",
                ])?;
            }
            if family(addrs, true).is_some() {
                ip(&[
                    "-n", &netns, "-6", "route", "add", "default", "via", "fe80::1", "dev", "eth0",
                ])?;
            }
        }
        Ok(topology)
    }

    /// The endpoint called `short`.
    pub fn endpoint(&self, short: &str) -> &Endpoint {
        &self
            .endpoints
            .iter()
            .find(|(s, _)| s == short)
            .unwrap_or_else(|| panic!("no endpoint {short} in the topology"))
            .1
    }

    /// Starts a server in `short`'s namespace on these TCP and UDP ports; waits until it listens.
    pub fn serve(&mut self, short: &str, tcp: &[u16], udp: &[u16]) -> Result<(), String> {
        let netns = self.endpoint(short).netns.clone();
        let join = |ports: &[u16]| {
            ports
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(",")
        };
        let mut child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &netns,
                "python3",
                "-c",
                SERVER,
                &join(tcp),
                &join(udp),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("starting the server in {netns}: {e}"))?;
        let mut line = String::new();
        if let Some(stdout) = child.stdout.take() {
            let _ = BufReader::new(stdout).read_line(&mut line);
        }
        self.servers.push(child);
        if line.trim() == "ready" {
            Ok(())
        } else {
            Err(format!("the server in {netns} did not start"))
        }
    }

    /// Whether a flow from `from` (source address `src`) to `dst:port` works.
    pub fn probe(&self, kind: Probe, from: &str, src: IpAddr, dst: IpAddr, port: u16) -> bool {
        let netns = &self.endpoint(from).netns;
        let kind = match kind {
            Probe::Tcp => "tcp",
            Probe::Udp => "udp",
            Probe::Icmp => "icmp",
        };
        let output = Command::new("ip")
            .args(["netns", "exec", netns, "python3", "-c", PROBE, kind])
            .args([&src.to_string(), &dst.to_string(), &port.to_string(), "0.7"])
            .output();
        output.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "1")
    }

    /// A command run inside the node namespace (network only; bpffs and files are shared).
    pub fn in_node(&self, program: &PathBuf) -> Command {
        let mut command = Command::new("nsenter");
        command
            .arg(format!("--net=/run/netns/{}", self.node))
            .arg("--")
            .arg(program);
        command
    }

    /// A command run inside `short`'s namespace.
    pub fn in_endpoint(&self, short: &str, program: &str) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.endpoint(short).netns, program]);
        command
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        for child in &mut self.servers {
            let _ = child.kill();
            let _ = child.wait();
        }
        for (_, endpoint) in &self.endpoints {
            let _ = ip(&["netns", "del", &endpoint.netns]);
        }
        let _ = ip(&["netns", "del", &self.node]);
    }
}
