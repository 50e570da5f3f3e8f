//! Throw-away network topologies for end-to-end tests (root only), routed through the ROOT
//! network namespace as on a real node: each endpoint namespace is joined to the root namespace
//! by a veth pair whose host side (in the root namespace, where tcx programs attach) is the
//! endpoint's interface; the root namespace routes between them.
//!
//! Confinement, so that a test never touches the node's own networking nor sends a packet
//! anywhere else:
//! - forwarding is enabled per test interface only (`net.ipv4.conf.<veth>.forwarding=1`,
//!   `net.ipv6.conf.<veth>.force_forwarding=1` — per-interface IPv6 forwarding, Linux 6.17+);
//!   the global switches are never written;
//! - routes to the endpoint addresses (/32, /128) live in a routing table of the test's own,
//!   consulted only for packets arriving on the test's veths (`ip rule iif <veth>`), and that
//!   table ends in `unreachable default` (IPv4 and IPv6): a packet to any other address is
//!   refused in the root namespace instead of leaving by the node's default route;
//! - every name (namespaces, interfaces, table) carries a per-topology id (process id and a
//!   counter), so topologies of parallel tests cannot collide.
//!
//! [`Topology`]'s `Drop` kills the servers, then removes every rule, route table, interface
//! (their per-interface sysctls go with them) and namespace it created, in reverse order, even
//! when a test fails or panics. Probes run inside namespaces as small python3 programs (TCP
//! connect, UDP echo, ICMP echo).

use std::io::{BufRead, BufReader};
use std::net::IpAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// One endpoint namespace.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Namespace name.
    pub netns: String,
    /// Host-side interface name (in the root namespace).
    pub interface: String,
    /// Its addresses (IPv4 /32 and IPv6 /128).
    pub addrs: Vec<IpAddr>,
}

/// Endpoint namespaces joined to the root namespace, and listening servers.
#[derive(Debug)]
pub struct Topology {
    /// The per-topology id in every name.
    pub id: String,
    /// The routing table holding this topology's routes in the root namespace.
    pub table: u32,
    /// Endpoints by short name.
    pub endpoints: Vec<(String, Endpoint)>,
    servers: Vec<Child>,
    /// `ip` commands undoing what was created, run in reverse order on drop.
    undo: Vec<Vec<String>>,
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

/// A sysctl of the root namespace (only per-interface ones of the test's veths are written).
fn root_sysctl(setting: &str) -> Result<(), String> {
    run("sysctl", &["-qw", setting]).map(|_| ())
}

/// Rule priority of the test's `iif` rules (before the main table at 32766).
const RULE_PRIORITY: &str = "1000";
/// The gateway address the endpoints use (IPv4), on every host-side veth.
const GATEWAY_V4: &str = "198.19.255.254";
/// The gateway address the endpoints use (IPv6 link-local), on every host-side veth.
const GATEWAY_V6: &str = "fe80::1";

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

/// One probe: prints 1 when the flow worked, 0 when not. UDP probes carry a DNS question.
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
        # A well-formed DNS question (api.shop.svc.cluster.local A), so that a datagram to port 53
        # is a lookup the in-kernel DNS policy can judge; the server echoes it back unchanged.
        query = struct.pack("!HHHHHH", 0x5043, 0x0100, 1, 0, 0, 0) + b"".join(
            bytes([len(l)]) + l for l in b"api.shop.svc.cluster.local".split(b".")) + b"\0" + struct.pack("!HH", 1, 1)
        s.sendto(query, (dst, port)); data, _ = s.recvfrom(512); ok = int(data == query)
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

/// One expected verdict: name, protocol, sending endpoint, source, destination, port, and
/// whether the probe must get through.
pub type ProbeCase<'a> = (&'a str, Probe, &'a str, IpAddr, IpAddr, u16, bool);

impl Topology {
    /// A fresh id: process id and a per-process counter (tests of one binary run in threads).
    fn fresh_id() -> (String, u32) {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let counter = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) & 0xf;
        let pid = std::process::id() & 0xfffff;
        // Table ids up to 255 belong to the kernel and the distribution; stay far above them.
        (
            format!("{pid:x}{counter:x}"),
            0x1000_0000 | (pid << 4) | counter,
        )
    }

    /// Runs an `ip` command and remembers how to undo it.
    fn create_undoable(&mut self, args: &[&str], undo: &[&str]) -> Result<(), String> {
        ip(args)?;
        self.undo
            .push(undo.iter().map(|a| (*a).to_owned()).collect());
        Ok(())
    }

    /// Creates one endpoint namespace per `(short name, addresses)`, joined to the root
    /// namespace; the host-side interface of endpoint `i` is
    /// `pc<id><short name's first letter><i>`. On error, what was created is removed.
    pub fn create(endpoints: &[(&str, Vec<IpAddr>)]) -> Result<Topology, String> {
        let (id, table) = Self::fresh_id();
        let mut topology = Topology {
            id,
            table,
            endpoints: Vec::new(),
            servers: Vec::new(),
            undo: Vec::new(),
        };
        topology.build(endpoints)?;
        Ok(topology)
    }

    fn build(&mut self, endpoints: &[(&str, Vec<IpAddr>)]) -> Result<(), String> {
        if !Path::new("/proc/sys/net/ipv6/conf/all/force_forwarding").exists() {
            return Err(
                "per-interface IPv6 forwarding (net.ipv6.conf.<if>.force_forwarding, \
                 Linux >= 6.17) is missing; this topology never writes the global switch"
                    .into(),
            );
        }
        let id = self.id.clone();
        let table = self.table.to_string();
        let table = table.as_str();
        // Nothing leaves through this table: other destinations are unreachable.
        for family in ["-4", "-6"] {
            self.create_undoable(
                &[
                    family,
                    "route",
                    "add",
                    "unreachable",
                    "default",
                    "table",
                    table,
                ],
                &[family, "route", "flush", "table", table],
            )?;
        }
        for (index, (short, addrs)) in endpoints.iter().enumerate() {
            let netns = format!("pce2e-{id}-{short}");
            let interface = format!("pc{id}{}{index}", short.chars().next().unwrap_or('e'));
            self.create_undoable(&["netns", "add", &netns], &["netns", "del", &netns])?;
            self.endpoints.push((
                (*short).to_owned(),
                Endpoint {
                    netns: netns.clone(),
                    interface: interface.clone(),
                    addrs: addrs.clone(),
                },
            ));
            sysctl(&netns, "net.ipv6.conf.default.accept_dad=0")?;
            sysctl(&netns, "net.ipv6.conf.all.accept_dad=0")?;
            self.create_undoable(
                &[
                    "link", "add", &interface, "type", "veth", "peer", "name", "eth0", "netns",
                    &netns,
                ],
                &["link", "del", &interface],
            )?;
            for setting in [
                format!("net.ipv4.conf.{interface}.forwarding=1"),
                format!("net.ipv6.conf.{interface}.force_forwarding=1"),
                format!("net.ipv4.conf.{interface}.rp_filter=0"),
                format!("net.ipv6.conf.{interface}.accept_dad=0"),
            ] {
                root_sysctl(&setting)?;
            }
            ip(&[
                "addr",
                "add",
                &format!("{GATEWAY_V4}/32"),
                "dev",
                &interface,
            ])?;
            ip(&[
                "addr",
                "add",
                &format!("{GATEWAY_V6}/64"),
                "dev",
                &interface,
                "nodad",
            ])?;
            ip(&["link", "set", &interface, "up"])?;
            for family in ["-4", "-6"] {
                let rule = [
                    family,
                    "rule",
                    "add",
                    "pref",
                    RULE_PRIORITY,
                    "iif",
                    &interface,
                    "lookup",
                    table,
                ];
                let mut undo = rule;
                undo[2] = "del";
                self.create_undoable(&rule, &undo)?;
            }
            ip(&["-n", &netns, "link", "set", "lo", "up"])?;
            ip(&["-n", &netns, "link", "set", "eth0", "up"])?;
            for addr in addrs {
                let (plen, family) = if addr.is_ipv6() {
                    ("128", "-6")
                } else {
                    ("32", "-4")
                };
                let cidr = format!("{addr}/{plen}");
                ip(&["-n", &netns, "addr", "add", &cidr, "dev", "eth0", "nodad"])?;
                // In the test's table (flushed on drop, and gone with the interface).
                ip(&[
                    family, "route", "add", &cidr, "dev", &interface, "table", table,
                ])?;
            }
            if family(addrs, false).is_some() {
                ip(&[
                    "-n", &netns, "route", "add", GATEWAY_V4, "dev", "eth0", "scope", "link",
                ])?;
                ip(&[
                    "-n", &netns, "route", "add", "default", "via", GATEWAY_V4, "dev", "eth0",
                ])?;
            }
            if family(addrs, true).is_some() {
                ip(&[
                    "-n", &netns, "-6", "route", "add", "default", "via", GATEWAY_V6, "dev", "eth0",
                ])?;
            }
        }
        Ok(())
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
        let read = child
            .stdout
            .take()
            .map(|stdout| BufReader::new(stdout).read_line(&mut line));
        self.servers.push(child);
        match read {
            Some(Ok(_)) if line.trim() == "ready" => Ok(()),
            read => Err(format!(
                "the server in {netns} did not start (read {read:?}: {line:?})"
            )),
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

    /// Runs every case and names those whose outcome differs from the expectation (empty: all
    /// verdicts right).
    pub fn wrong_verdicts(&self, cases: &[ProbeCase<'_>]) -> Vec<String> {
        cases
            .iter()
            .filter(|(_, kind, from, src, dst, port, expected)| {
                self.probe(*kind, from, *src, *dst, *port) != *expected
            })
            .map(|(name, .., expected)| {
                let outcome = if *expected { "delivered" } else { "dropped" };
                format!("{name}: expected {outcome}")
            })
            .collect()
    }

    /// How the root namespace routes a packet arriving from endpoint `from` (source `src`) to
    /// `dst`: the outgoing interface, or None when it refuses it (unreachable). Asks the kernel
    /// (`ip route get … iif`) without sending anything.
    pub fn root_route(&self, from: &str, src: IpAddr, dst: IpAddr) -> Option<String> {
        let interface = &self.endpoint(from).interface;
        let output = run(
            "ip",
            &[
                "route",
                "get",
                &dst.to_string(),
                "from",
                &src.to_string(),
                "iif",
                interface,
            ],
        )
        .ok()?;
        let mut words = output.split_whitespace();
        words.find(|w| *w == "dev")?;
        words.next().map(str::to_owned)
    }

    /// Writes the example inventory (`policy-examples/inventory.yaml`) to `out` with the
    /// interface of each `(example endpoint, short name)` pair — `frontend`, `api`, `coredns`,
    /// ... (its `pc-<name>` interface) — set to this topology's endpoint `short`.
    pub fn example_inventory(&self, endpoints: &[(&str, &str)], out: &Path) -> std::path::PathBuf {
        let example = crate::workspace().join("policy-examples/inventory.yaml");
        let mut text = std::fs::read_to_string(&example)
            .unwrap_or_else(|e| panic!("{}: {e}", example.display()));
        for (name, short) in endpoints {
            let from = format!("interface: pc-{name}\n");
            assert!(
                text.contains(&from),
                "the example inventory has no {from:?}"
            );
            text = text.replace(
                &from,
                &format!("interface: {}\n", self.endpoint(short).interface),
            );
        }
        std::fs::write(out, text).unwrap_or_else(|e| panic!("{}: {e}", out.display()));
        out.to_path_buf()
    }

    /// Routes traffic the node itself sends to the endpoints' addresses (a node-local proxy's
    /// connections, such as the L7 filter's) through the topology's table: one `to <addr> iif
    /// lo` rule per endpoint address (removed on drop), so nothing else is routed differently.
    pub fn route_from_node(&mut self) -> Result<(), String> {
        let table = self.table.to_string();
        let addrs: Vec<IpAddr> = self
            .endpoints
            .iter()
            .flat_map(|(_, e)| e.addrs.clone())
            .collect();
        for addr in addrs {
            let (family, plen) = if addr.is_ipv6() {
                ("-6", "128")
            } else {
                ("-4", "32")
            };
            let to = format!("{addr}/{plen}");
            let rule = [
                family,
                "rule",
                "add",
                "pref",
                RULE_PRIORITY,
                "to",
                &to,
                "iif",
                "lo",
                "lookup",
                &table,
            ];
            let mut undo = rule;
            undo[2] = "del";
            self.create_undoable(&rule, &undo)?;
        }
        Ok(())
    }

    /// A command run on the node, i.e. in the root namespace where the host-side interfaces
    /// are (the loader attaches there).
    pub fn in_node(&self, program: &Path) -> Command {
        Command::new(program)
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
        // Best effort, also while unwinding from a failed assertion: a failure here has nobody to
        // report to, and a panic in drop would abort the test run.
        for child in &mut self.servers {
            let _ = child.kill();
            let _ = child.wait();
        }
        for undo in self.undo.iter().rev() {
            let args: Vec<&str> = undo.iter().map(String::as_str).collect();
            let _ = ip(&args);
        }
    }
}
