//! DNS end to end on this machine (root): `policyc build` of a `toFQDNs` + `rules.dns` policy →
//! `policy-loader apply` onto the veth of a client namespace; a real DNS server (dnsmasq from
//! Debian's `dnsmasq-base`) in a server namespace answers 10,000 fresh names with short TTLs,
//! every one an address in 198.19.0.0/17 that a listener in the server namespace accepts
//! (AnyIP local route). Checked: a disallowed name gets REFUSED at once, over UDP or TCP (reply in,
//! rcode 5, no client timeout); allowed names are learned by the kernel before the answer is
//! delivered (`policy-loader dns dump`), with their TTL; the learned map outlives no loader
//! (nothing runs between commands); expired entries are swept; the main datapath lets a freshly
//! learned address through at once and drops (with a drop event naming it) a new connection to
//! an address after its TTL or to the address of a name `rules.dns` allows but no `toFQDNs`
//! selects; "resolve a fresh name, connect at once" 10,000 times with zero first-packet drops
//! (counted from the datapath's drop events). Applies killed at each step of a replace that
//! changes `rules.dns` leave ONE whole generation (main and DNS programs of both directions, by
//! status, by the pinned programs read back, and by REFUSED vs answered), and a recreated client
//! interface is re-attached (DNS right after main) by the next apply. Everything is removed at
//! the end, also on failure (Drop guards).

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use policyc_testsuite::dnsmasq::{write_hosts, DnsServer};
use policyc_testsuite::listener::Listener;
use policyc_testsuite::loader::Loader;
use policyc_testsuite::netns::{run, Topology};
use policyc_testsuite::{loader_binary, workspace};

const CLIENT: &str = "198.18.0.10";
const SERVER: &str = "198.18.0.53";
const WORLD: &str = "198.19.0.0/17";
/// TTL of every answer, and the loader's min-ttl (entries live max of the two).
const TTL_S: u32 = 2;
const MIN_TTL_S: u32 = 3;

fn addr(text: &str) -> IpAddr {
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// The DNS client run inside the client namespace (python3, standard library only).
///   resolve NAME            → {"rcode", "rtt_ms", "addrs"}, rcode null on a timeout
///   loop ZONE N PORT        → resolve h<i>.ZONE and connect to its address at once, N times
///   connect ADDR PORT       → {"ok"}
const CLIENT_PY: &str = r#"
import json, random, socket, struct, sys, time
server = sys.argv[1]
def query(name, timeout=3.0):
    qid = random.randrange(65536)
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack("!HH", 1, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(timeout)
    t0 = time.monotonic()
    s.sendto(q, (server, 53))
    try:
        while True:
            data, _ = s.recvfrom(4096)
            if len(data) >= 12 and struct.unpack("!H", data[:2])[0] == qid:
                break
    except socket.timeout:
        return None, (time.monotonic() - t0) * 1000, []
    finally:
        s.close()
    rtt = (time.monotonic() - t0) * 1000
    rcode = data[3] & 0xF
    an = struct.unpack("!H", data[6:8])[0]
    off = 12
    while data[off] != 0:
        off += 1 + data[off]
    off += 5
    addrs = []
    for _ in range(an):
        if data[off] & 0xC0 == 0xC0:
            off += 2
        else:
            while data[off] != 0:
                off += 1 + data[off]
            off += 1
        typ, _cls, _ttl, rdlen = struct.unpack("!HHIH", data[off:off + 10]); off += 10
        if typ == 1 and rdlen == 4:
            addrs.append(socket.inet_ntop(socket.AF_INET, data[off:off + 4]))
        off += rdlen
    return rcode, rtt, addrs
def query_tcp(name, timeout=3.0):
    qid = random.randrange(65536)
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack("!HH", 1, 1)
    s = socket.create_connection((server, 53), timeout=timeout)
    t0 = time.monotonic()
    s.sendall(struct.pack("!H", len(q)) + q)
    data = b""
    try:
        while len(data) < 2 or len(data) < 2 + struct.unpack("!H", data[:2])[0]:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        return {"rcode": None, "rtt_ms": (time.monotonic() - t0) * 1000}
    finally:
        s.close()
    m = data[2:]
    return {"rcode": m[3] & 0xF if len(m) >= 12 else None,
            "rtt_ms": (time.monotonic() - t0) * 1000,
            "same_id": len(m) >= 2 and struct.unpack("!H", m[:2])[0] == qid,
            "question_echoed": m[12:] == q[12:]}
def connect(a, port, timeout):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM); s.settimeout(timeout)
    try:
        s.connect((a, port)); return True
    except OSError:
        return False
    finally:
        s.close()
mode = sys.argv[2]
if mode == "resolve":
    rcode, rtt, addrs = query(sys.argv[3])
    print(json.dumps({"rcode": rcode, "rtt_ms": rtt, "addrs": addrs}))
elif mode == "resolve-tcp":
    print(json.dumps(query_tcp(sys.argv[3])))
elif mode == "connect":
    print(json.dumps({"ok": connect(sys.argv[3], int(sys.argv[4]), 1.0)}))
elif mode == "loop":
    zone, n, port = sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    ok = dns_fail = connect_fail = slow = 0
    failures = []
    rtts = []
    for i in range(n):
        rcode, rtt, addrs = query("h%d.%s" % (i, zone))
        rtts.append(rtt)
        if rcode != 0 or not addrs:
            dns_fail += 1; failures.append(("dns", i, rcode)); continue
        # Connect at once: no sleep between the answer and the SYN.
        t0 = time.monotonic()
        if connect(addrs[0], port, 3.0):
            ok += 1
            # Over 0.9 s: the SYN was retransmitted (the first one was lost somewhere).
            if time.monotonic() - t0 > 0.9:
                slow += 1; failures.append(("slow", i, addrs[0]))
        else:
            connect_fail += 1; failures.append(("connect", i, addrs[0]))
    rtts.sort()
    print(json.dumps({"ok": ok, "dns_fail": dns_fail, "connect_fail": connect_fail, "slow": slow,
                      "failures": failures[:10], "rtt_p50_ms": rtts[len(rtts) // 2],
                      "rtt_p99_ms": rtts[min(len(rtts) - 1, len(rtts) * 99 // 100)]}))
"#;

/// `nstat` counter of a namespace (absolute value).
fn nstat(netns: &str, name: &str) -> u64 {
    run("ip", &["netns", "exec", netns, "nstat", "-az", name])
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            let mut fields = l.split_whitespace();
            (fields.next() == Some(name)).then(|| fields.next()?.parse().ok())?
        })
        .unwrap_or(0)
}

fn client(topology: &Topology, args: &[&str]) -> serde_json::Value {
    let output = topology
        .in_endpoint("client", "python3")
        .args(["-c", CLIENT_PY, SERVER])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("client: {e}"));
    let text = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(text.trim()).unwrap_or_else(|e| {
        panic!(
            "client {args:?}: {e}\n{text}{}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn build(inventory: &Path, policy: &Path, out: &Path) {
    policyc_testsuite::build_artifact(inventory, vec![policy.to_path_buf()], out, None);
}

/// Learned addresses (`dns dump -o json`) → seconds left.
fn learned(loader: &Loader<'_>) -> Vec<(String, f64, Vec<String>)> {
    let rows = loader.json(&["dns", "dump", "--format", "json"]);
    rows.as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|r| {
            (
                r["addr"].as_str().unwrap_or_default().to_owned(),
                r["ttl_left_s"].as_f64().unwrap_or(f64::NAN),
                r["selectors"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect(),
            )
        })
        .collect()
}

fn counter(loader: &Loader<'_>, name: &str) -> u64 {
    let status = loader.json(&["dns", "status", "--format", "json"]);
    status["endpoints"][0]["counters"]
        .as_array()
        .and_then(|cs| {
            cs.iter()
                .find(|c| c[0].as_str() == Some(name))
                .and_then(|c| c[1].as_u64())
        })
        .unwrap_or_else(|| panic!("no counter {name} in {status}"))
}

/// The peers of the main datapath's drop events of the client to or from the DNS-learned world
/// since the last read (either direction: a dropped SYN names port 80, a dropped SYN-ACK the
/// client's port).
fn world_drops(loader: &Loader<'_>) -> Vec<String> {
    let (_, stdout, _) = loader.run(&["events", "--timeout", "1", "--format", "json"]);
    for line in stdout.lines().filter(|l| l.contains("198.19.")).take(5) {
        eprintln!("event: {line}");
    }
    stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|e| e["action"].as_str() == Some("drop"))
        .filter_map(|e| e["peer"].as_str().map(str::to_owned))
        .filter(|peer| peer.starts_with("198.19."))
        .collect()
}

/// The DNS object's `dns_refused` events of the client, each naming the DNS server as the
/// peer, the client's `rules.dns` as the rule and `evil.other.test.` as the question.
fn dns_refused_events(loader: &Loader<'_>) -> usize {
    let (_, stdout, _) = loader.run(&["events", "--timeout", "1", "--format", "json"]);
    let refused: Vec<serde_json::Value> = stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|e| e["reason"].as_str() == Some("dns_refused"))
        .collect();
    for e in &refused {
        assert_eq!(e["peer"], SERVER, "{e}");
        assert_eq!(e["action"], "drop", "{e}");
        assert_eq!(e["endpoint"], "e2e/client", "{e}");
        assert_eq!(e["rule"], "rules.dns of e2e/client", "{e}");
        assert_eq!(e["dns_name"], "evil.other.test.", "{e}");
    }
    refused.len()
}

/// The client endpoint's `status -o json` entry.
fn client_status(loader: &Loader<'_>) -> serde_json::Value {
    // Read whatever the exit code (non-zero when an endpoint is unhealthy).
    let (_, stdout, stderr) = loader.run(&["status", "--format", "json"]);
    let status: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("status -o json: {e}\n{stdout}{stderr}"));
    status
        .as_array()
        .and_then(|s| s.iter().find(|e| e["endpoint"] == "e2e/client"))
        .cloned()
        .unwrap_or_else(|| panic!("no e2e/client in {status:#}"))
}

/// Asserts that the client runs ONE whole generation of `artifact`: health ok, the main slots
/// of both directions hold that generation's pinned datapath programs and the DNS slots of
/// both directions its pinned DNS programs (read back from bpffs independently of `status`),
/// and the DNS stage runs right after the main dispatchers.
fn assert_one_generation(loader: &Loader<'_>, artifact: &Path, context: &str) {
    use policyc_backends::layout::Direction;
    use policyc_loader::node::dns::paths as dns_paths;
    use policyc_loader::node::pins::{pinned_program_id, NodePaths};
    let client = client_status(loader);
    assert_eq!(client["health"], "ok", "{context}: {client:#}");
    let generation = client["generation"]
        .as_u64()
        .unwrap_or_else(|| panic!("{context}: no generation: {client:#}"));
    assert_eq!(
        client["active_generation"], generation,
        "{context}: {client:#}"
    );
    let expected_dir = std::fs::canonicalize(artifact).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        client["artifact_dir"],
        expected_dir.to_string_lossy().as_ref(),
        "{context}: the live generation is not the expected artifact's"
    );
    let paths = NodePaths::new(&loader.bpffs, &loader.state);
    for (direction, name, hook) in [
        (Direction::Ingress, "ingress", "answer"),
        (Direction::Egress, "egress", "query"),
    ] {
        let main = pinned_program_id(&paths.program("e2e/client", generation, direction));
        assert!(main.is_some(), "{context}: no {name} program pinned");
        assert_eq!(
            client["program_ids"][name].as_u64(),
            main.map(u64::from),
            "{context}: main {name} slot: {client:#}"
        );
        let dns = pinned_program_id(&dns_paths::program(&paths, "e2e/client", generation, hook));
        assert!(
            dns.is_some(),
            "{context}: no DNS {hook} program of generation {generation}"
        );
        assert_eq!(
            client["dns_program_ids"][name].as_u64(),
            dns.map(u64::from),
            "{context}: DNS {name} slot: {client:#}"
        );
    }
    let dns = loader.json(&["dns", "status", "--format", "json"]);
    assert_eq!(
        dns["endpoints"][0]["runs_after_main"], true,
        "{context}: {dns}"
    );
}

/// Deletes the client's veth and creates it again with the same names and addresses (a pod
/// restarted with a new interface): a new ifindex, the old tcx links severed.
fn recreate_client_interface(topology: &Topology) {
    let endpoint = topology.endpoint("client");
    let (netns, interface) = (endpoint.netns.as_str(), endpoint.interface.as_str());
    let table = topology.table.to_string();
    let ip = |args: &[&str]| run("ip", args).unwrap_or_else(|e| panic!("ip {args:?}: {e}"));
    ip(&["link", "del", interface]);
    ip(&[
        "link", "add", interface, "type", "veth", "peer", "name", "eth0", "netns", netns,
    ]);
    for setting in [
        format!("net.ipv4.conf.{interface}.forwarding=1"),
        format!("net.ipv6.conf.{interface}.force_forwarding=1"),
        format!("net.ipv4.conf.{interface}.rp_filter=0"),
        format!("net.ipv6.conf.{interface}.accept_dad=0"),
    ] {
        run("sysctl", &["-qw", &setting]).unwrap_or_else(|e| panic!("{e}"));
    }
    ip(&["addr", "add", "198.19.255.254/32", "dev", interface]);
    ip(&["addr", "add", "fe80::1/64", "dev", interface, "nodad"]);
    ip(&["link", "set", interface, "up"]);
    ip(&["-n", netns, "link", "set", "eth0", "up"]);
    for (cidr, family) in [("198.18.0.10/32", "-4"), ("fd00::10/128", "-6")] {
        ip(&["-n", netns, "addr", "add", cidr, "dev", "eth0", "nodad"]);
        ip(&[
            family, "route", "add", cidr, "dev", interface, "table", &table,
        ]);
    }
    ip(&[
        "-n",
        netns,
        "route",
        "add",
        "198.19.255.254",
        "dev",
        "eth0",
        "scope",
        "link",
    ]);
    ip(&[
        "-n",
        netns,
        "route",
        "add",
        "default",
        "via",
        "198.19.255.254",
        "dev",
        "eth0",
    ]);
    ip(&[
        "-n", netns, "-6", "route", "add", "default", "via", "fe80::1", "dev", "eth0",
    ]);
}

#[test]
fn dns_policy_end_to_end_with_a_real_dns_server() {
    assert!(
        run("id", &["-u"]).is_ok_and(|u| u.trim() == "0"),
        "the DNS end-to-end test needs root (network namespaces, bpffs)"
    );
    let loader_bin = loader_binary();
    let topology = Topology::create(&[
        ("client", vec![addr(CLIENT), addr("fd00::10")]),
        ("dns", vec![addr(SERVER), addr("fd00::53")]),
    ])
    .unwrap_or_else(|e| panic!("creating the topology: {e}"));
    // The "internet": every address of 198.19.0.0/17 is local in the server namespace.
    let server_ns = topology.endpoint("dns").netns.clone();
    let server_if = topology.endpoint("dns").interface.clone();
    run(
        "ip",
        &[
            "-n", &server_ns, "route", "add", "local", WORLD, "dev", "lo",
        ],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    // In the topology's own routing table (flushed on drop), used only for packets arriving
    // on its veths: the client's packets to the world go to the server namespace.
    let table = topology.table.to_string();
    run(
        "ip",
        &[
            "route", "add", WORLD, "via", SERVER, "dev", &server_if, "onlink", "table", &table,
        ],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let _listener = Listener::start(&server_ns).unwrap_or_else(|e| panic!("{e}"));

    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let names = 10_000u32;
    let hosts = work.path().join("hosts");
    let pairs = write_hosts(&hosts, "allowed.test", names).unwrap_or_else(|e| panic!("{e}"));
    let _dns = DnsServer::start(
        &server_ns,
        addr(SERVER),
        &hosts,
        &[
            ("probe.allowed.test", addr("198.19.100.1")),
            ("late.allowed.test", addr("198.19.100.2")),
            ("evil.other.test", addr("198.19.100.3")),
            ("denied-but-asked.other.test", addr("198.19.100.4")),
        ],
        TTL_S,
    )
    .unwrap_or_else(|e| panic!("{e}"));

    let inventory =
        std::fs::read_to_string(workspace().join("testsuite/fixtures/dns/inventory.yaml"))
            .unwrap_or_else(|e| panic!("{e}"))
            .replace("IFACE_CLIENT", &topology.endpoint("client").interface)
            .replace("IFACE_DNS", &server_if);
    let inventory_path = work.path().join("inventory.yaml");
    std::fs::write(&inventory_path, inventory).unwrap_or_else(|e| panic!("{e}"));
    let artifact = work.path().join("artifact");
    build(
        &inventory_path,
        &workspace().join("testsuite/fixtures/dns/policy.yaml"),
        &artifact,
    );

    let loader = Loader::on_private_bpffs(loader_bin, &topology, work.path());
    let min_ttl = MIN_TTL_S.to_string();
    loader.ok(&[
        "apply",
        &artifact.to_string_lossy(),
        "--endpoint",
        "e2e/client",
        "--dns-min-ttl",
        &min_ttl,
    ]);
    let status = loader.ok(&["status"]);
    assert!(status.contains("dns e2e/client"), "{status}");
    assert!(status.contains("dns learned map: 0 / 65536"), "{status}");

    // A disallowed name: REFUSED, at once (no client timeout).
    let refused = client(&topology, &["resolve", "evil.other.test"]);
    assert_eq!(refused["rcode"], 5, "{refused}");
    let rtt = refused["rtt_ms"].as_f64().unwrap_or(f64::MAX);
    assert!(rtt < 500.0, "REFUSED took {rtt} ms");
    assert_eq!(counter(&loader, "refused"), 1);
    assert_eq!(dns_refused_events(&loader), 1, "one dns_refused event");
    // The same over TCP (one segment): answered REFUSED in-stream, at once.
    let refused_tcp = client(&topology, &["resolve-tcp", "evil.other.test"]);
    assert_eq!(refused_tcp["rcode"], 5, "{refused_tcp}");
    assert_eq!(refused_tcp["same_id"], true, "{refused_tcp}");
    assert_eq!(refused_tcp["question_echoed"], true, "{refused_tcp}");
    let rtt = refused_tcp["rtt_ms"].as_f64().unwrap_or(f64::MAX);
    assert!(rtt < 500.0, "REFUSED over TCP took {rtt} ms");
    assert_eq!(counter(&loader, "tcp_refused"), 1);
    assert_eq!(counter(&loader, "refused"), 1, "TCP not in refused");

    // An allowed name: answered, and learned before the client saw the answer.
    let late = client(&topology, &["resolve", "late.allowed.test"]);
    assert_eq!(late["rcode"], 0, "{late}");
    assert_eq!(late["addrs"][0], "198.19.100.2", "{late}");
    let rows = learned(&loader);
    let row = rows
        .iter()
        .find(|(a, _, _)| a == "198.19.100.2")
        .unwrap_or_else(|| panic!("198.19.100.2 not learned: {rows:?}"));
    assert!(
        row.1 > 0.0 && row.1 <= f64::from(MIN_TTL_S.max(TTL_S)),
        "TTL left {} (ttl {TTL_S}, min-ttl {MIN_TTL_S})",
        row.1
    );
    assert_eq!(row.2, vec!["matchPattern: *.allowed.test".to_owned()]);
    // ... and with the name the pod asked for (the pattern's match, not the pattern).
    let dump = loader.json(&["dns", "dump", "--format", "json"]);
    assert!(
        dump.as_array().is_some_and(|rows| rows
            .iter()
            .any(|r| r["addr"] == "198.19.100.2" && r["name"] == "late.allowed.test.")),
        "{dump:#}"
    );
    // Replace (same artifact): a new DNS generation, swapped in place after the main datapath;
    // the learned map and the counters are the node's and the endpoint's, not the generation's.
    let status = loader.json(&["dns", "status", "--format", "json"]);
    assert_eq!(status["endpoints"][0]["runs_after_main"], true, "{status}");
    let old_programs = status["endpoints"][0]["programs"].clone();
    loader.ok(&[
        "apply",
        &artifact.to_string_lossy(),
        "--endpoint",
        "e2e/client",
        "--dns-min-ttl",
        &min_ttl,
    ]);
    let status = loader.json(&["dns", "status", "--format", "json"]);
    assert_ne!(status["endpoints"][0]["programs"], old_programs, "{status}");
    assert_eq!(status["endpoints"][0]["runs_after_main"], true, "{status}");
    assert_eq!(counter(&loader, "refused"), 1);
    assert!(
        learned(&loader).iter().any(|(a, _, _)| a == "198.19.100.2"),
        "the learned map did not survive the replace"
    );
    let refused = client(&topology, &["resolve", "evil.other.test"]);
    assert_eq!(refused["rcode"], 5, "after the replace: {refused}");

    // Killed at every step of a replace that changes the DNS policy (version B also allows
    // asking for evil.other.test): before the flip the whole old generation runs — main and
    // DNS programs of both directions — from the flip on the whole new one. Checked from bpffs
    // (status, and the pinned programs read back here) and by traffic (REFUSED or answered).
    let policy_a = std::fs::read_to_string(workspace().join("testsuite/fixtures/dns/policy.yaml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let allowed_line = "              - matchName: \"denied-but-asked.other.test\"";
    let policy_b = policy_a.replace(
        allowed_line,
        &format!("{allowed_line}\n              - matchName: \"evil.other.test\""),
    );
    assert_ne!(
        policy_a, policy_b,
        "the fixture changed: version B is not different"
    );
    let policy_b_path = work.path().join("policy-b.yaml");
    std::fs::write(&policy_b_path, policy_b).unwrap_or_else(|e| panic!("{e}"));
    let artifact_b = work.path().join("artifact-b");
    build(&inventory_path, &policy_b_path, &artifact_b);
    // (artifact, rcode of evil.other.test under it)
    let versions = [(artifact.clone(), 5u64), (artifact_b.clone(), 0u64)];
    let apply_args = |artifact: &Path| {
        vec![
            "apply".to_owned(),
            artifact.to_string_lossy().into_owned(),
            "--endpoint".to_owned(),
            "e2e/client".to_owned(),
            "--dns-min-ttl".to_owned(),
            min_ttl.clone(),
        ]
    };
    assert_one_generation(&loader, &versions[0].0, "before the kills");
    let mut current = 0usize;
    for step in ["loaded", "pinned", "slots-written", "flipped", "cleaned"] {
        let next = 1 - current;
        let args = apply_args(&versions[next].0);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        loader.kill_apply_at(step, &args);
        let expected = if matches!(step, "flipped" | "cleaned") {
            next
        } else {
            current
        };
        let context = format!("killed at {step}");
        assert_one_generation(&loader, &versions[expected].0, &context);
        let answer = client(&topology, &["resolve", "evil.other.test"]);
        assert_eq!(answer["rcode"], versions[expected].1, "{context}: {answer}");
        let late = client(&topology, &["resolve", "late.allowed.test"]);
        assert_eq!(late["rcode"], 0, "{context}: {late}");
        current = expected;
    }
    // The restarted loader completes the interrupted apply; then back to version A.
    for version in [1 - current, 0] {
        let args = apply_args(&versions[version].0);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        loader.ok(&args);
        assert_one_generation(&loader, &versions[version].0, "a completed apply");
    }

    // A recreated interface (new ifindex, the old links severed): status says DETACHED, and
    // the next apply re-attaches the main and DNS dispatchers there (DNS right after main).
    recreate_client_interface(&topology);
    let detached = client_status(&loader);
    assert!(
        detached["health"]
            .as_str()
            .is_some_and(|h| h.starts_with("DETACHED")),
        "{detached:#}"
    );
    let args = apply_args(&versions[0].0);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    loader.ok(&args);
    assert_one_generation(&loader, &versions[0].0, "after the interface was recreated");
    let refused = client(&topology, &["resolve", "evil.other.test"]);
    assert_eq!(refused["rcode"], 5, "recreated interface: {refused}");
    let late = client(&topology, &["resolve", "late.allowed.test"]);
    assert_eq!(late["rcode"], 0, "recreated interface: {late}");

    // Allowed by rules.dns but matched by no toFQDNs selector: answered, learned for nothing,
    // and no connection to its address.
    let asked = client(&topology, &["resolve", "denied-but-asked.other.test"]);
    assert_eq!(asked["rcode"], 0, "{asked}");
    assert_eq!(asked["addrs"][0], "198.19.100.4", "{asked}");
    let rows = learned(&loader);
    let (_, _, selectors) = rows
        .iter()
        .find(|(a, _, _)| a == "198.19.100.4")
        .unwrap_or_else(|| panic!("198.19.100.4 not learned: {rows:?}"));
    assert!(selectors.is_empty(), "{selectors:?}");
    let asked_connect = client(&topology, &["connect", "198.19.100.4", "80"]);
    assert_eq!(
        asked_connect["ok"], false,
        "a connection to an address no toFQDNs selector learned"
    );

    // After TTL and min-ttl the entry is expired (no new connection may use it) and sweepable.
    std::thread::sleep(Duration::from_millis(
        u64::from(MIN_TTL_S.max(TTL_S)) * 1000 + 300,
    ));
    let rows = learned(&loader);
    let row = rows
        .iter()
        .find(|(a, _, _)| a == "198.19.100.2")
        .unwrap_or_else(|| panic!("{rows:?}"));
    assert!(row.1 <= 0.0, "still live: {row:?}");
    // The main datapath consults the learned map and its expiry: a name learned just now
    // connects at once, the expired address no longer does (and the datapath says so).
    let probe = client(&topology, &["resolve", "probe.allowed.test"]);
    assert_eq!(probe["rcode"], 0, "{probe}");
    assert_eq!(probe["addrs"][0], "198.19.100.1", "{probe}");
    let fresh_connect = client(&topology, &["connect", "198.19.100.1", "80"]);
    assert_eq!(
        fresh_connect["ok"], true,
        "no connection to a freshly learned address"
    );
    let late_connect = client(&topology, &["connect", "198.19.100.2", "80"]);
    assert_eq!(late_connect["ok"], false, "a new connection after the TTL");
    let drops = world_drops(&loader);
    assert!(
        drops.iter().any(|peer| peer == "198.19.100.2"),
        "no datapath drop event for the connection after the TTL: {drops:?}"
    );
    assert!(
        drops.iter().any(|peer| peer == "198.19.100.4"),
        "no datapath drop event for the connection no toFQDNs selector allows: {drops:?}"
    );
    assert!(
        !drops.iter().any(|peer| peer == "198.19.100.1"),
        "the freshly learned address was dropped: {drops:?}"
    );
    let swept = loader.ok(&["dns", "sweep"]);
    assert!(swept.contains("deleted"), "{swept}");
    assert!(
        !learned(&loader).iter().any(|(a, _, _)| a == "198.19.100.2"),
        "the expired entry was not swept"
    );
    // Every insert is live, swept or evicted: nothing evicted from a map this empty.
    let status = loader.json(&["dns", "status", "--format", "json"]);
    assert_eq!(status["learned_evicted"], 0, "{status}");
    assert!(status["learned_swept"].as_u64() >= Some(1), "{status}");
    assert_eq!(
        status["learned_inserted"].as_u64(),
        status["learned_entries"]
            .as_u64()
            .zip(status["learned_swept"].as_u64())
            .map(|(entries, swept)| entries + swept),
        "{status}"
    );

    // Resolve a fresh allowed name and connect at once, 10,000 times: no first packet dropped.
    let before = counter(&loader, "learned_new");
    let result = client(
        &topology,
        &["loop", "allowed.test", &names.to_string(), "80"],
    );
    eprintln!("resolve-and-connect loop: {result}");
    assert_eq!(result["dns_fail"], 0, "{result}");
    let learned_new = counter(&loader, "learned_new") - before;
    assert_eq!(
        learned_new,
        u64::from(names),
        "fresh addresses learned by the kernel"
    );
    let drops = world_drops(&loader);
    eprintln!(
        "datapath drop events towards the learned world on port 80: {}",
        drops.len()
    );
    eprintln!("{}", loader.ok(&["dns", "status"]));
    let overflows = nstat(&server_ns, "TcpExtListenOverflows");
    assert!(
        drops.is_empty(),
        "{} first-packet drops by the datapath (peers {:?}...): {result}",
        drops.len(),
        &drops[..drops.len().min(5)]
    );
    assert_eq!(result["ok"], names, "{result}");
    assert_eq!(result["connect_fail"], 0, "{result}");
    assert_eq!(overflows, 0, "the listener's accept queue overflowed");
    assert_eq!(result["slow"], 0, "SYNs retransmitted: {result}");
    assert_eq!(pairs.len(), names as usize);

    // Unload: the DNS programs are gone (the disallowed name resolves again) and so is the
    // node-wide learned map.
    loader.ok(&["unload"]);
    assert!(!loader.bpffs.join("policyc/pc_dns_learned").exists());
    let after = client(&topology, &["resolve", "evil.other.test"]);
    assert_eq!(after["rcode"], 0, "after unload: {after}");
}
