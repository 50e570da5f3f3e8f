//! A hostile pod against the loader-installed datapath, end to end with real packets crafted
//! on raw sockets in the test's own network namespaces (issue 17): a pod allowed to talk to
//! one peer forges ICMP errors about that live flow to carry its own data elsewhere; a pod
//! forges another pod's source address to be judged by a third pod's ingress as that pod; a
//! pod hides data in "neighbor discovery" sent to another pod's global address; a pod hides a
//! DNS question from the DNS stage behind an IPv6 extension chain or in a GSO datagram.

use std::io::{BufRead, BufReader, Read};
use std::net::IpAddr;
use std::path::Path;
use std::process::{Child, ChildStdout, Stdio};

use policyc_testsuite::loader::Loader;
use policyc_testsuite::netns::{run, Probe, Topology};
use policyc_testsuite::{loader_binary, workspace};

fn addr(text: &str) -> IpAddr {
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn require_root() {
    assert!(
        run("id", &["-u"]).is_ok_and(|u| u.trim() == "0"),
        "the hostile-pod tests need root (network namespaces, raw sockets, bpffs)"
    );
}

/// What every script below starts with: the Internet checksum and an IPv4 header builder.
const PY_PACKETS: &str = r#"
import select, socket, struct, sys, time
def csum(data):
    if len(data) % 2: data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff
def ipv4(src, dst, proto, payload):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0x1234, 0, 64, proto, 0,
                    socket.inet_aton(src), socket.inet_aton(dst))
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + payload
def count_matching(s, seconds, match):
    """Prints "ready", then how many packets received on `s` within `seconds` `match`."""
    s.settimeout(0.1)
    print("ready", flush=True)
    count, deadline = 0, time.time() + seconds
    while time.time() < deadline:
        try:
            data, peer = s.recvfrom(65535)
        except socket.timeout:
            continue
        if match(data, peer[0]):
            count += 1
    print(count, flush=True)
"#;

fn python(
    topology: &Topology,
    short: &str,
    script: &str,
    args: &[String],
) -> std::process::Command {
    let mut command = topology.in_endpoint(short, "python3");
    command
        .arg("-c")
        .arg(format!("{PY_PACKETS}{script}"))
        .args(args);
    command
}

/// Runs a forging script in `short`'s namespace; it must succeed.
fn send(topology: &Topology, short: &str, script: &str, args: &[String]) {
    let out = python(topology, short, script, args)
        .output()
        .unwrap_or_else(|e| panic!("python3: {e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A receiving script in an endpoint namespace: it prints "ready" once it listens, then its
/// result when its time is up.
struct Listener {
    child: Child,
    reader: BufReader<ChildStdout>,
}

impl Listener {
    fn start(topology: &Topology, short: &str, script: &str, args: &[String]) -> Listener {
        let mut child = python(topology, short, script, args)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("python3: {e}"));
        let mut reader = BufReader::new(child.stdout.take().unwrap_or_else(|| panic!("stdout")));
        let mut line = String::new();
        reader
            .read_line(&mut line)
            .unwrap_or_else(|e| panic!("listener: {e}"));
        assert_eq!(line.trim(), "ready", "the listener did not start");
        Listener { child, reader }
    }

    /// Everything it printed after "ready".
    fn result(mut self) -> String {
        let mut rest = String::new();
        self.reader
            .read_to_string(&mut rest)
            .unwrap_or_else(|e| panic!("listener: {e}"));
        let status = self
            .child
            .wait()
            .unwrap_or_else(|e| panic!("listener: {e}"));
        assert!(status.success(), "the listener failed ({status}): {rest}");
        rest
    }

    /// Its result as a count.
    fn count(self) -> usize {
        let text = self.result();
        text.trim()
            .parse()
            .unwrap_or_else(|e| panic!("listener printed {text:?}: {e}"))
    }
}

/// Installs `policies` for endpoints named like their namespaces in the topology (namespace
/// `lab`, label `app: <name>`, the topology's addresses and interface), built and applied.
fn lab<'t>(topology: &'t Topology, work: &Path, names: &[&str], policies: &[&str]) -> Loader<'t> {
    let mut inventory = String::from("apiVersion: policyc/v1\nkind: Inventory\nendpoints:\n");
    for name in names {
        let endpoint = topology.endpoint(name);
        let ips: Vec<String> = endpoint.addrs.iter().map(|a| format!("\"{a}\"")).collect();
        inventory.push_str(&format!(
            "  - name: {name}\n    namespace: lab\n    labels: {{app: {name}}}\n    ips: [{}]\n    interface: {}\n",
            ips.join(", "),
            endpoint.interface
        ));
    }
    let inventory_path = work.join("inventory.yaml");
    std::fs::write(&inventory_path, inventory).unwrap_or_else(|e| panic!("{e}"));
    let policy_dir = work.join("policies");
    std::fs::create_dir_all(&policy_dir).unwrap_or_else(|e| panic!("{e}"));
    for (i, policy) in policies.iter().enumerate() {
        std::fs::write(policy_dir.join(format!("p{i}.yaml")), policy)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let artifact = work.join("artifact");
    policyc_testsuite::build_artifact(&inventory_path, vec![policy_dir], &artifact, None);
    let loader = Loader::on_private_bpffs(loader_binary(), topology, work);
    loader.ok(&["apply", &artifact.to_string_lossy()]);
    loader
}

/// Connects to `api:port` (a live, allowed flow), then sends one ICMP port-unreachable from
/// the pod's own address to `target`, quoting that flow's reply (api:port → pod:sport) and
/// carrying `extra` bytes of its own.
const FORGE_ICMP_ERROR: &str = r#"
pod, api, port, target, extra = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
flow = socket.create_connection((api, port), timeout=2)
sport = flow.getsockname()[1]
quoted_tcp = struct.pack("!HHIIBBHHH", port, sport, 1, 1, 0x50, 0x12, 65535, 0, 0)
quoted = ipv4(api, pod, 6, quoted_tcp + b"\x07" * extra)
icmp = struct.pack("!BBHI", 3, 3, 0, 0) + quoted
icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
raw.sendto(ipv4(pod, target, 1, icmp), (target, 0))
flow.close()
"#;

/// Counts ICMP destination-unreachable packets from `src` of at least `min_len` bytes that
/// arrive within `seconds`.
const COUNT_ICMP_ERRORS: &str = r#"
src, min_len, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
count_matching(s, seconds, lambda data, peer: peer == src
               and data[(data[0] & 0xf) * 4] == 3 and len(data) >= min_len)
"#;

#[test]
fn a_forged_icmp_error_cannot_carry_data_to_a_peer_the_policy_denies() {
    require_root();
    let (front, api, world) = (addr("198.18.1.10"), addr("198.18.1.20"), addr("198.19.7.7"));
    let mut topology = Topology::create(&[
        ("front", vec![front]),
        ("api", vec![api]),
        ("out", vec![world]),
    ])
    .unwrap_or_else(|e| panic!("creating the topology: {e}"));
    topology
        .serve("api", &[8080], &[])
        .unwrap_or_else(|e| panic!("{e}"));
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let inventory_path = topology.example_inventory(
        &[("frontend", "front"), ("api", "api")],
        &work.path().join("inventory.yaml"),
    );
    let artifact = work.path().join("artifact");
    policyc_testsuite::build_artifact(
        &inventory_path,
        vec![workspace().join("policy-examples/policies")],
        &artifact,
        None,
    );
    let loader = Loader::on_private_bpffs(loader_binary(), &topology, work.path());
    loader.ok(&[
        "apply",
        &artifact.to_string_lossy(),
        "--l7-fallback=allow-l4",
        "--endpoint",
        "shop/frontend",
        "--endpoint",
        "shop/api",
    ]);
    let errors_at = |short: &str, min_len: usize| {
        Listener::start(
            &topology,
            short,
            COUNT_ICMP_ERRORS,
            &[front.to_string(), min_len.to_string(), "1.5".into()],
        )
    };
    let forge = |target: IpAddr, extra: usize| {
        let args = [front, api].map(|a| a.to_string());
        send(
            &topology,
            "front",
            FORGE_ICMP_ERROR,
            &[
                args[0].clone(),
                args[1].clone(),
                "8080".into(),
                target.to_string(),
                extra.to_string(),
            ],
        );
    };

    // Control: a real-sized error about the flow, to the flow's own peer, is related and
    // arrives (so the counter and the forging work).
    let at_api = errors_at("api", 0);
    forge(api, 64);
    assert_eq!(
        at_api.count(),
        1,
        "an error to the flow's own peer must arrive"
    );
    // The attack: the same live flow, the error sent to the world (denied to the storefront),
    // carrying 1,200 bytes of the pod's own data.
    let at_world = errors_at("out", 1000);
    forge(world, 1200);
    assert_eq!(
        at_world.count(),
        0,
        "a forged ICMP error rode the storefront's flow to api to a peer its policy denies"
    );
    // Nor a small one: the world is not the flow's peer.
    let at_world = errors_at("out", 0);
    forge(world, 64);
    assert_eq!(
        at_world.count(),
        0,
        "an error to a third address is not related"
    );
}

/// Sends one TCP SYN from `src` (any address: a raw socket) to `dst:port`.
const FORGE_SYN: &str = r#"
src, dst, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
tcp = struct.pack("!HHIIBBHHH", 40123, port, 1, 0, 0x50, 0x02, 65535, 0, 0)
pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(tcp))
tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
raw.sendto(ipv4(src, dst, 6, tcp), (dst, 0))
"#;

/// Counts TCP SYNs from `src` to `port` arriving within `seconds`.
const COUNT_SYNS: &str = r#"
src, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
def syn_to_port(data, peer):
    ihl = (data[0] & 0xf) * 4
    dport = struct.unpack("!H", data[ihl + 2:ihl + 4])[0]
    return peer == src and dport == port and data[ihl + 13] & 0x02
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
count_matching(s, seconds, syn_to_port)
"#;

const LAB_POLICY: &str = "apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: vault
  namespace: lab
spec:
  endpointSelector:
    matchLabels:
      app: vault
  ingress:
    - fromEndpoints:
        - matchLabels:
            app: trusted
      toPorts:
        - ports:
            - port: \"7000\"
              protocol: TCP
    - fromEndpoints:
        - matchLabels:
            app: mallory
      toPorts:
        - ports:
            - port: \"7001\"
              protocol: TCP
";

#[test]
fn a_pod_forging_another_pods_source_is_not_judged_as_that_pod() {
    require_root();
    let (mallory, vault, trusted) = (
        addr("198.18.5.10"),
        addr("198.18.5.20"),
        addr("198.18.5.30"),
    );
    let topology = Topology::create(&[
        ("mallory", vec![mallory]),
        ("vault", vec![vault]),
        ("trusted", vec![trusted]),
    ])
    .unwrap_or_else(|e| panic!("creating the topology: {e}"));
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let loader = lab(
        &topology,
        work.path(),
        &["mallory", "vault", "trusted"],
        &[LAB_POLICY],
    );
    let syns = |from: IpAddr, port: u16| {
        let at_vault = Listener::start(
            &topology,
            "vault",
            COUNT_SYNS,
            &[from.to_string(), port.to_string(), "1.5".into()],
        );
        send(
            &topology,
            "mallory",
            FORGE_SYN,
            &[from.to_string(), vault.to_string(), port.to_string()],
        );
        at_vault.count()
    };
    // Control: mallory's own SYN to the port the vault allows it reaches the vault.
    let own = syns(mallory, 7001);
    let (_, events) = loader.run_combined(&["events", "--count", "50", "--timeout", "1"]);
    assert_eq!(
        own, 1,
        "mallory's own allowed SYN must arrive; events:\n{events}"
    );
    // The attack: the same raw socket, the source forged as `trusted`, to the port only
    // `trusted` may use. Judged by the vault's ingress as `trusted`, it would be allowed.
    assert_eq!(
        syns(trusted, 7000),
        0,
        "a SYN forged with trusted's address got through as trusted"
    );
    // Reported as its own drop reason.
    let (_, events) = loader.run_combined(&["events", "--count", "50", "--timeout", "1"]);
    assert!(
        events
            .lines()
            .any(|l| l.contains("reason source_invalid") && l.contains("port 7000")),
        "{events}"
    );
}

/// Sends one ICMPv6 neighbor solicitation (type 135) with hop limit 255 to `dst`, carrying
/// `extra` bytes after the target address (the kernel fills in the checksum).
const FORGE_NDP: &str = r#"
dst, extra = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 255)
s.sendto(bytes([135, 0, 0, 0, 0, 0, 0, 0]) + socket.inet_pton(socket.AF_INET6, dst) + b"\x07" * extra, (dst, 0))
"#;

/// Counts ICMPv6 type-135 messages from `src` of at least `min_len` bytes arriving within
/// `seconds`.
const COUNT_NDP: &str = r#"
src, min_len, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
count_matching(s, seconds, lambda data, peer: peer == src and data[0] == 135 and len(data) >= min_len)
"#;

#[test]
fn neighbor_discovery_is_no_channel_to_another_pods_address() {
    require_root();
    let (mallory, vault) = (addr("fd00::5:10"), addr("fd00::5:20"));
    let mut topology = Topology::create(&[("mallory", vec![mallory]), ("vault", vec![vault])])
        .unwrap_or_else(|e| panic!("creating the topology: {e}"));
    topology
        .serve("vault", &[7001], &[])
        .unwrap_or_else(|e| panic!("{e}"));
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let _loader = lab(&topology, work.path(), &["mallory", "vault"], &[LAB_POLICY]);
    // IPv6 still works with the tightened exemption: mallory's allowed port connects, its
    // neighbours resolved through both datapaths.
    assert!(
        topology.probe(Probe::Tcp, "mallory", mallory, vault, 7001),
        "mallory -> vault:7001 over IPv6 must connect"
    );
    let at_vault = Listener::start(
        &topology,
        "vault",
        COUNT_NDP,
        &[mallory.to_string(), "1000".into(), "1.5".into()],
    );
    send(
        &topology,
        "mallory",
        FORGE_NDP,
        &[vault.to_string(), "1000".into()],
    );
    assert_eq!(
        at_vault.count(),
        0,
        "1,000 bytes in a 'neighbor solicitation' reached a pod whose policy admits nothing of the kind"
    );
}

const DNS_SERVER: &str = r#"
seconds = float(sys.argv[1])
socks = []
for family, addr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
    s = socket.socket(family, socket.SOCK_DGRAM)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((addr, 53))
    socks.append(s)
print("ready", flush=True)
deadline = time.time() + seconds
while time.time() < deadline:
    ready, _, _ = select.select(socks, [], [], 0.1)
    for s in ready:
        data, _ = s.recvfrom(65535)
        labels, i = [], 12
        while i < len(data) and data[i]:
            labels.append(data[i + 1:i + 1 + data[i]].decode("ascii", "replace"))
            i += 1 + data[i]
        print(".".join(labels), flush=True)
"#;

/// Asks, from the client pod, (1) `ok.allowed.test` and (2) `evil.other.test` plainly; (3)
/// `evil1.other.test` as an atomic IPv6 fragment whose fragment header is followed by a
/// destination-options header (raw frame on the pod's eth0 to the host side's MAC); (4) one
/// UDP_SEGMENT (GSO) sendto() carrying `ok2.allowed.test` then `evil2.other.test`.
const DNS_CLIENT: &str = r#"
src4, dst4, src6, dst6, gw_mac = sys.argv[1:6]
def query(name, qid):
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack("!HH", 1, 1)
plain = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
plain.sendto(query("ok.allowed.test", 1), (dst4, 53))
plain.sendto(query("evil.other.test", 2), (dst4, 53))
# (3) IPv6: fixed header, fragment header (offset 0, M=0), destination options, UDP/53.
body = query("evil1.other.test", 3)
s6, d6 = socket.inet_pton(socket.AF_INET6, src6), socket.inet_pton(socket.AF_INET6, dst6)
udp = struct.pack("!HHHH", 40053, 53, 8 + len(body), 0) + body
pseudo = s6 + d6 + struct.pack("!IxxxB", len(udp), 17)
udp = udp[:6] + struct.pack("!H", csum(pseudo + udp) or 0xffff) + udp[8:]
frag = struct.pack("!BBHI", 60, 0, 0, 0x1234)
dest = bytes([17, 0, 1, 4, 0, 0, 0, 0])
payload = frag + dest + udp
ip6 = struct.pack("!IHBB", 0x60000000, len(payload), 44, 64) + s6 + d6
mac = open("/sys/class/net/eth0/address").read().strip()
eth = bytes.fromhex(gw_mac.replace(":", "")) + bytes.fromhex(mac.replace(":", "")) + b"\x86\xdd"
raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
raw.bind(("eth0", 0))
raw.send(eth + ip6 + payload)
# (4) GSO: two datagrams of one segment size in one skb.
a, b = query("ok2.allowed.test", 4), query("evil2.other.test", 5)
size = max(len(a), len(b))
gso = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
gso.setsockopt(socket.SOL_UDP, 103, size)  # UDP_SEGMENT
gso.sendto(a.ljust(size, b"\0") + b.ljust(size, b"\0"), (dst4, 53))
"#;

const CLIENT_POLICY: &str = "apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: client
  namespace: lab
spec:
  endpointSelector:
    matchLabels:
      app: client
  egress:
    - toCIDR:
        - 198.18.6.53/32
        - fd00::6:53/128
      toPorts:
        - ports:
            - port: \"53\"
              protocol: UDP
          rules:
            dns:
              - matchPattern: \"*.allowed.test\"
";

#[test]
fn a_dns_question_cannot_hide_from_the_dns_stage() {
    require_root();
    let (client4, client6) = (addr("198.18.6.10"), addr("fd00::6:10"));
    let (server4, server6) = (addr("198.18.6.53"), addr("fd00::6:53"));
    let topology = Topology::create(&[
        ("client", vec![client4, client6]),
        ("dns", vec![server4, server6]),
    ])
    .unwrap_or_else(|e| panic!("creating the topology: {e}"));
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let _loader = lab(&topology, work.path(), &["client"], &[CLIENT_POLICY]);
    let server = Listener::start(&topology, "dns", DNS_SERVER, &["2.5".into()]);
    let gateway_mac = std::fs::read_to_string(format!(
        "/sys/class/net/{}/address",
        topology.endpoint("client").interface
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    send(
        &topology,
        "client",
        DNS_CLIENT,
        &[
            client4.to_string(),
            server4.to_string(),
            client6.to_string(),
            server6.to_string(),
            gateway_mac.trim().to_owned(),
        ],
    );
    let heard = server.result();
    let names: Vec<&str> = heard.lines().collect();
    // Controls: the stage is there (the plain allowed question arrives, the denied one is
    // answered REFUSED by the stage and never reaches the server).
    assert!(names.contains(&"ok.allowed.test"), "{names:?}");
    assert!(!names.contains(&"evil.other.test"), "{names:?}");
    // The hiding places.
    assert!(
        !names.contains(&"evil1.other.test"),
        "a question behind a fragment header + destination options reached the server: {names:?}"
    );
    assert!(
        !names.contains(&"evil2.other.test"),
        "the second datagram of a GSO send reached the server unjudged: {names:?}"
    );
}
