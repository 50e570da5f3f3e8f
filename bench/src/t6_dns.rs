//! T6: DNS policy — policyc's in-kernel DNS object against a "proxy mode" control built on the
//! same testbed (Cilium's design: a userspace DNS proxy that forwards the question, writes the
//! answer's addresses into the learned map, then releases the answer), and against no policy.
//!
//! Testbed (testsuite `Topology`, 198.18.0.0/15 only): a client namespace whose veth carries
//! policyc's main datapath; a server namespace with dnsmasq (10,000-name hosts file, TTL 60 s)
//! and a listener on port 80 of every address of 198.19.0.0/17 (AnyIP local route). The client
//! (`policyc-bench dns-client`, run inside the client namespace) resolves a fresh name and
//! connects to its address at once, `queries` times. Modes:
//! - `no policy`: nothing installed (the latency floor);
//! - `in-kernel`: `policy-loader apply` of a `rules.dns` + `toFQDNs` policy (DNS object + main
//!   datapath consulting the learned map);
//! - `proxy, wait`: the same `toFQDNs` policy without `rules.dns` (no DNS object), and a
//!   userspace UDP proxy on the server's address:53 (dnsmasq moved to 127.0.0.1:5353) that
//!   writes the learned map, THEN sends the answer;
//! - `proxy, no wait`: the same proxy sends the answer first, then writes the map (the race
//!   Cilium's 100 ms release timeout allows).
//!
//! Reported per mode: client DNS round trip p50/p99 and the added latency vs no policy; CPU
//! per query (in-kernel: bpf_stats run time of the two DNS programs over all packets they saw;
//! proxy: the proxy thread's CPU time, user + system, while it handles a query); first-packet
//! drops (the datapath's drop events towards the learned addresses, and client connects not
//! completed within 0.5 s, i.e. whose first SYN was lost).

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream, UdpSocket};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use libbpf_rs::{MapCore, MapFlags, MapHandle};
use policyc_backends::fqdn::{LearnedKey, LearnedValue};
use policyc_build::{build_artifact, BuildRequest};
use policyc_diagnostics::source::SourceMap;
use policyc_kernel::fqdn::query_message;
use policyc_loader::node::artifact::Artifact;
use policyc_loader::node::dns::learned::monotonic_ns;
use policyc_loader::node::install::{apply, ApplyOptions};
use policyc_loader::node::pins::NodePaths;
use policyc_testsuite::dnsmasq::{write_hosts, DnsServer};
use policyc_testsuite::listener::Listener;
use policyc_testsuite::netns::{run as sh, Topology};
use policyc_testsuite::workspace;

use crate::stats::{summarize, Summary};

const CLIENT: &str = "198.18.0.10";
const SERVER: &str = "198.18.0.53";
const WORLD: &str = "198.19.0.0/17";
const ZONE: &str = "allowed.test";
const TTL_S: u32 = 60;
const ENDPOINT: &str = "e2e/client";
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
/// Rounds the modes alternate over.
const ROUNDS: usize = 4;

/// The `toFQDNs` policy of the proxy modes: DNS allowed at L4 only (no `rules.dns`, so no DNS
/// object), the learned map filled by the proxy.
const PROXY_POLICY: &str = r#"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: client-fqdn-proxy
  namespace: e2e
spec:
  endpointSelector:
    matchLabels:
      app: client
  egress:
    - toEndpoints:
        - matchLabels:
            k8s:io.kubernetes.pod.namespace: e2e
            app: dns
      toPorts:
        - ports:
            - port: "53"
              protocol: ANY
    - toFQDNs:
        - matchPattern: "*.allowed.test"
      toPorts:
        - ports:
            - port: "80"
              protocol: TCP
"#;

/// One mode's figures.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DnsModeRow {
    pub mode: &'static str,
    /// Client DNS round trip, µs.
    pub rtt_us: Summary,
    /// p50 / p99 minus the no-policy p50 / p99, µs.
    pub added_p50_us: f64,
    pub added_p99_us: f64,
    /// CPU ns per query (see `cpu_what`); NaN without policy.
    pub cpu_ns_per_query: f64,
    pub cpu_what: &'static str,
    /// Drop events of the main datapath towards the learned world during the loop.
    pub datapath_drops: usize,
    /// Connects not completed within 0.5 s (their first SYN was lost).
    pub connect_fail: u64,
    pub dns_fail: u64,
}

/// T6 results.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DnsBench {
    pub queries: usize,
    /// Modes alternate this many times (each round: every mode, `queries / rounds` names).
    pub rounds: usize,
    pub rows: Vec<DnsModeRow>,
}

/// What the client reports (JSON on stdout).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct ClientReport {
    pub rtt_ns: Vec<u64>,
    pub ok: u64,
    pub dns_fail: u64,
    pub connect_fail: u64,
}

/// The A records (address, TTL) of an answer; `None` when it is not a parseable answer.
fn answer_records(message: &[u8]) -> Option<Vec<(Ipv4Addr, u32)>> {
    let count = usize::from(u16::from_be_bytes([*message.get(6)?, *message.get(7)?]));
    let mut off = 12;
    while *message.get(off)? != 0 {
        off += 1 + usize::from(*message.get(off)?);
    }
    off += 5;
    let mut out = Vec::new();
    for _ in 0..count {
        if message.get(off)? & 0xc0 == 0xc0 {
            off += 2;
        } else {
            while *message.get(off)? != 0 {
                off += 1 + usize::from(*message.get(off)?);
            }
            off += 1;
        }
        let fixed = message.get(off..off + 10)?;
        let rtype = u16::from_be_bytes([fixed[0], fixed[1]]);
        let ttl = u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]);
        let rdlen = usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
        off += 10;
        let rdata = message.get(off..off + rdlen)?;
        if rtype == 1 && rdlen == 4 {
            out.push((Ipv4Addr::new(rdata[0], rdata[1], rdata[2], rdata[3]), ttl));
        }
        off += rdlen;
    }
    Some(out)
}

/// `policyc-bench dns-client`: resolve `h<i>.<zone>` and connect to its address at once.
pub fn client(
    server: Ipv4Addr,
    zone: &str,
    count: usize,
    port: u16,
) -> Result<ClientReport, String> {
    let socket = UdpSocket::bind("0.0.0.0:0").map_err(|e| e.to_string())?;
    socket
        .set_read_timeout(Some(Duration::from_secs(3)))
        .map_err(|e| e.to_string())?;
    socket.connect((server, 53)).map_err(|e| e.to_string())?;
    let mut report = ClientReport::default();
    let mut buf = [0u8; 4096];
    for i in 0..count {
        let id = (i as u16) ^ 0x5a5a;
        let question = query_message(id, &format!("h{i}.{zone}"), false);
        let started = Instant::now();
        socket.send(&question).map_err(|e| e.to_string())?;
        let answer = loop {
            match socket.recv(&mut buf) {
                Ok(n) if n >= 12 && u16::from_be_bytes([buf[0], buf[1]]) == id => {
                    break buf.get(..n).map(<[u8]>::to_vec);
                }
                Ok(_) => continue,
                Err(_) => break None,
            }
        };
        report.rtt_ns.push(started.elapsed().as_nanos() as u64);
        let Some(addr) = answer
            .as_deref()
            .and_then(answer_records)
            .and_then(|records| records.first().map(|r| r.0))
        else {
            report.dns_fail += 1;
            continue;
        };
        if port == 0 {
            report.ok += 1;
            continue;
        }
        // The first SYN is retransmitted after 1 s (initial RTO): a connect not done within
        // 0.5 s lost its first SYN. Giving up then keeps a lossy mode from taking 1 s per loss.
        match TcpStream::connect_timeout(&SocketAddr::from((addr, port)), CONNECT_TIMEOUT) {
            Ok(_) => report.ok += 1,
            Err(_) => report.connect_fail += 1,
        }
    }
    Ok(report)
}

/// What the proxy did.
#[derive(Debug, Clone, Copy, Default)]
struct ProxyStats {
    queries: u64,
    cpu_ns: u64,
}

struct Proxy {
    stop: Arc<AtomicBool>,
    handle: std::thread::JoinHandle<Result<ProxyStats, String>>,
}

fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (ts.tv_sec as u64) * 1_000_000_000 + ts.tv_nsec as u64
}

fn enter_netns(netns: &str) -> Result<(), String> {
    let file = std::fs::File::open(format!("/run/netns/{netns}")).map_err(|e| e.to_string())?;
    // SAFETY: a valid namespace fd; CLONE_NEWNET moves only this thread.
    let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc != 0 {
        return Err(format!(
            "setns {netns}: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

/// The learned-map entry of an address: key (`pc_dns_addr`) and value (`pc_dns_learned`).
fn learned_entry(addr: Ipv4Addr, ttl_s: u32, selectors: u64) -> (Vec<u8>, Vec<u8>) {
    let value = LearnedValue {
        expiry_ns: monotonic_ns() + u64::from(ttl_s) * 1_000_000_000,
        selectors,
        owner: 0,
        pad: 0,
    };
    (
        LearnedKey::from_ip(IpAddr::V4(addr)).encode(),
        value.encode(),
    )
}

impl Proxy {
    /// Starts the proxy thread inside `netns` on `listen`, forwarding to `upstream`.
    fn start(
        netns: &str,
        listen: SocketAddr,
        upstream: SocketAddr,
        learned_pin: PathBuf,
        selectors: u64,
        wait: bool,
    ) -> Result<Proxy, String> {
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
        let netns = netns.to_owned();
        let flag = stop.clone();
        let handle = std::thread::spawn(move || -> Result<ProxyStats, String> {
            let setup = (|| -> Result<(UdpSocket, UdpSocket, MapHandle), String> {
                enter_netns(&netns)?;
                let front = UdpSocket::bind(listen).map_err(|e| format!("bind {listen}: {e}"))?;
                front
                    .set_read_timeout(Some(Duration::from_millis(100)))
                    .map_err(|e| e.to_string())?;
                let back = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
                back.connect(upstream).map_err(|e| e.to_string())?;
                back.set_read_timeout(Some(Duration::from_secs(2)))
                    .map_err(|e| e.to_string())?;
                let map = MapHandle::from_pinned_path(&learned_pin)
                    .map_err(|e| format!("{}: {e}", learned_pin.display()))?;
                Ok((front, back, map))
            })();
            let (front, back, map) = match setup {
                Ok(parts) => {
                    let _ = ready_tx.send(Ok(()));
                    parts
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e.clone()));
                    return Err(e);
                }
            };
            let write = |records: &[(Ipv4Addr, u32)]| {
                for (addr, ttl) in records {
                    let (key, value) = learned_entry(*addr, *ttl, selectors);
                    let _ = map.update(&key, &value, MapFlags::ANY);
                }
            };
            let mut stats = ProxyStats::default();
            let mut question = [0u8; 4096];
            let mut answer = [0u8; 4096];
            while !flag.load(Ordering::Relaxed) {
                let Ok((n, client)) = front.recv_from(&mut question) else {
                    continue;
                };
                let cpu_start = thread_cpu_ns();
                if back.send(question.get(..n).unwrap_or_default()).is_err() {
                    continue;
                }
                let Ok(m) = back.recv(&mut answer) else {
                    continue;
                };
                let message = answer.get(..m).unwrap_or_default();
                let records = answer_records(message).unwrap_or_default();
                if wait {
                    write(&records);
                    let _ = front.send_to(message, client);
                } else {
                    let _ = front.send_to(message, client);
                    write(&records);
                }
                stats.queries += 1;
                stats.cpu_ns += thread_cpu_ns() - cpu_start;
            }
            Ok(stats)
        });
        match ready_rx.recv_timeout(Duration::from_secs(10)) {
            Ok(Ok(())) => Ok(Proxy { stop, handle }),
            Ok(Err(e)) => Err(format!("proxy: {e}")),
            Err(_) => Err("proxy did not start".into()),
        }
    }

    fn stop(self) -> Result<ProxyStats, String> {
        self.stop.store(true, Ordering::Relaxed);
        self.handle
            .join()
            .map_err(|_| "the proxy thread panicked".to_string())?
    }
}

/// A private bpffs instance, unmounted on drop.
struct Bpffs(PathBuf);

impl Drop for Bpffs {
    fn drop(&mut self) {
        let _ = sh("umount", &["-l", &self.0.to_string_lossy()]);
    }
}

/// Holds bpf_stats run-time accounting on while it lives (BPF_ENABLE_STATS).
struct StatsOn {
    _fd: Option<OwnedFd>,
}

fn stats_on() -> StatsOn {
    // SAFETY: plain syscall wrapper; a non-negative result is an fd we own.
    let fd = unsafe { libbpf_sys::bpf_enable_stats(libbpf_sys::BPF_STATS_RUN_TIME) };
    // SAFETY: `fd` is a fresh descriptor returned by the kernel when >= 0.
    StatsOn {
        _fd: (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) }),
    }
}

/// Sum of run_time_ns of every loaded program whose name starts with `pc_dns_`: the DNS
/// object's two programs when they are attached directly, or the DNS stage dispatchers when the
/// loader reaches them by tail call (a tail-called program's time is accounted to its caller).
fn dns_programs_run_time() -> u64 {
    let mut total = 0;
    let mut id = 0u32;
    loop {
        let mut next = 0u32;
        // SAFETY: plain syscall wrapper writing one u32.
        if unsafe { libbpf_sys::bpf_prog_get_next_id(id, &mut next) } != 0 {
            break;
        }
        id = next;
        // SAFETY: plain syscall wrapper; a non-negative result is an fd we own.
        let fd = unsafe { libbpf_sys::bpf_prog_get_fd_by_id(id) };
        if fd < 0 {
            continue;
        }
        // SAFETY: `fd` is a fresh descriptor returned by the kernel.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: bpf_prog_info is plain old data; all-zero is its documented initial state.
        let mut info: libbpf_sys::bpf_prog_info = unsafe { std::mem::zeroed() };
        let mut len = size_of::<libbpf_sys::bpf_prog_info>() as u32;
        // SAFETY: `info` is a valid, writable bpf_prog_info of `len` bytes.
        let rc = unsafe {
            libbpf_sys::bpf_prog_get_info_by_fd(fd.as_fd().as_raw_fd(), &mut info, &mut len)
        };
        if rc != 0 {
            continue;
        }
        let name: Vec<u8> = info
            .name
            .iter()
            .take_while(|c| **c != 0)
            .map(|c| *c as u8)
            .collect();
        if name.starts_with(b"pc_dns_") {
            total += info.run_time_ns;
        }
    }
    total
}

/// Drop events of the client towards (or from) the learned world, draining the rings.
fn world_drops(paths: &NodePaths) -> usize {
    let mut drops = 0;
    let _ = policyc_loader::node::events::read_events(
        paths,
        None,
        false,
        Some(Duration::from_millis(500)),
        |event| {
            if event.action == "drop" && event.peer.starts_with("198.19.") {
                drops += 1;
            }
        },
    );
    drops
}

fn build(inventory: &Path, policy: &Path, out: &Path) -> Result<Artifact, String> {
    let request = BuildRequest {
        inventory: inventory.to_path_buf(),
        policies: vec![policy.to_path_buf()],
        output: out.to_path_buf(),
        options: Default::default(),
        local_node: None,
        allow_unenforced: Vec::new(),
    };
    let mut sources = SourceMap::default();
    build_artifact(&request, &mut sources, &|_| {}, &|| {})
        .map_err(|e| format!("policyc build: {e}"))?;
    Artifact::open(out).map_err(|e| e.to_string())
}

fn install(paths: &NodePaths, artifact: &Artifact) -> Result<(), String> {
    let options = ApplyOptions {
        endpoints: vec![ENDPOINT.to_owned()],
        ..Default::default()
    };
    let report = apply(paths, artifact, &options).map_err(|e| e.to_string())?;
    for (name, outcome) in &report.endpoints {
        if let Err(e) = outcome {
            return Err(format!("{name}: {e}"));
        }
    }
    Ok(())
}

fn uninstall(paths: &NodePaths) {
    let _ = policyc_loader::node::unload::unload(paths, &[]);
}

fn run_client(
    topology: &Topology,
    bench: &Path,
    count: usize,
    port: u16,
) -> Result<ClientReport, String> {
    let output = topology
        .in_endpoint("client", &bench.to_string_lossy())
        .args(["dns-client", "--server", SERVER, "--zone", ZONE])
        .args(["--count", &count.to_string(), "--port", &port.to_string()])
        .output()
        .map_err(|e| format!("dns-client: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "dns-client: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    serde_json::from_slice(&output.stdout).map_err(|e| format!("dns-client output: {e}"))
}

/// One mode's measurements over all rounds.
#[derive(Debug, Default)]
struct Acc {
    report: ClientReport,
    cpu_ns: u64,
    cpu_queries: usize,
    drops: usize,
}

impl Acc {
    fn add(&mut self, report: ClientReport, cpu_ns: u64, drops: usize, queries: usize) {
        self.report.rtt_ns.extend(report.rtt_ns);
        self.report.ok += report.ok;
        self.report.dns_fail += report.dns_fail;
        self.report.connect_fail += report.connect_fail;
        self.cpu_ns += cpu_ns;
        self.cpu_queries += queries;
        self.drops += drops;
    }

    fn cpu_per_query(&self) -> f64 {
        self.cpu_ns as f64 / self.cpu_queries.max(1) as f64
    }
}

fn row(
    mode: &'static str,
    acc: &Acc,
    floor: Option<&Summary>,
    cpu_ns_per_query: f64,
    cpu_what: &'static str,
) -> DnsModeRow {
    let rtts: Vec<f64> = acc.report.rtt_ns.iter().map(|n| *n as f64 / 1e3).collect();
    let rtt_us = summarize(&rtts);
    DnsModeRow {
        mode,
        rtt_us,
        added_p50_us: floor.map_or(0.0, |f| rtt_us.median - f.median),
        added_p99_us: floor.map_or(0.0, |f| rtt_us.p99 - f.p99),
        cpu_ns_per_query,
        cpu_what,
        datapath_drops: acc.drops,
        connect_fail: acc.report.connect_fail,
        dns_fail: acc.report.dns_fail,
    }
}

/// Runs the four modes with `queries` fresh names each.
pub fn run(queries: usize) -> Result<DnsBench, String> {
    let bench = std::env::current_exe().map_err(|e| e.to_string())?;
    let topology = Topology::create(&[
        ("client", vec![CLIENT.parse().map_err(|_| "addr")?]),
        ("dns", vec![SERVER.parse().map_err(|_| "addr")?]),
    ])?;
    let server_ns = topology.endpoint("dns").netns.clone();
    let server_if = topology.endpoint("dns").interface.clone();
    sh(
        "ip",
        &[
            "-n", &server_ns, "route", "add", "local", WORLD, "dev", "lo",
        ],
    )?;
    let table = topology.table.to_string();
    sh(
        "ip",
        &[
            "route", "add", WORLD, "via", SERVER, "dev", &server_if, "onlink", "table", &table,
        ],
    )?;
    let _listener = Listener::start(&server_ns)?;

    let work = std::env::temp_dir().join(format!("policyc-bench-dns-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    let result = (|| {
        let hosts = work.join("hosts");
        write_hosts(&hosts, ZONE, queries as u32).map_err(|e| e.to_string())?;
        let fixtures = workspace().join("testsuite/fixtures/dns");
        let inventory = std::fs::read_to_string(fixtures.join("inventory.yaml"))
            .map_err(|e| e.to_string())?
            .replace("IFACE_CLIENT", &topology.endpoint("client").interface)
            .replace("IFACE_DNS", &server_if);
        std::fs::write(work.join("inventory.yaml"), inventory).map_err(|e| e.to_string())?;
        std::fs::write(work.join("proxy.yaml"), PROXY_POLICY).map_err(|e| e.to_string())?;
        let kernel_artifact = build(
            &work.join("inventory.yaml"),
            &fixtures.join("policy.yaml"),
            &work.join("art-kernel"),
        )?;
        let proxy_artifact = build(
            &work.join("inventory.yaml"),
            &work.join("proxy.yaml"),
            &work.join("art-proxy"),
        )?;
        let class_bit = proxy_artifact
            .manifest
            .dns
            .as_ref()
            .and_then(|d| {
                d.fqdn_classes
                    .iter()
                    .find(|c| c.selector == "matchPattern: *.allowed.test")
            })
            .map(|c| 1u64 << c.class)
            .ok_or("the proxy artifact has no FQDN class for *.allowed.test")?;

        let bpffs_dir = work.join("bpffs");
        std::fs::create_dir_all(&bpffs_dir).map_err(|e| e.to_string())?;
        sh("mount", &["-t", "bpf", "bpf", &bpffs_dir.to_string_lossy()])?;
        let _bpffs = Bpffs(bpffs_dir.clone());
        let paths = NodePaths::new(&bpffs_dir, &work.join("state"));
        // Modes alternate over ROUNDS rounds (fresh learned map and names each time), so that
        // a slow phase of this shared machine does not land on one mode only.
        let server_ip: IpAddr = SERVER.parse().map_err(|_| "addr")?;
        let loopback: IpAddr = "127.0.0.1".parse().map_err(|_| "addr")?;
        let per_round = queries.div_ceil(ROUNDS);
        let mut acc: Vec<Acc> = (0..4).map(|_| Acc::default()).collect();
        for _ in 0..ROUNDS {
            // No policy: the floor.
            let direct = DnsServer::start(&server_ns, server_ip, &hosts, &[], TTL_S)?;
            acc[0].add(
                run_client(&topology, &bench, per_round, 80)?,
                0,
                0,
                per_round,
            );

            // In-kernel: the DNS object judges, learns before delivery.
            install(&paths, &kernel_artifact)?;
            let _ = world_drops(&paths);
            let stats = stats_on();
            let before = dns_programs_run_time();
            let report = run_client(&topology, &bench, per_round, 80);
            let cpu = dns_programs_run_time().saturating_sub(before);
            drop(stats);
            let drops = world_drops(&paths);
            uninstall(&paths);
            acc[1].add(report?, cpu, drops, per_round);
            drop(direct);

            // Proxy modes: dnsmasq behind the proxy.
            let behind = DnsServer::start_on(&server_ns, loopback, 5353, &hosts, &[], TTL_S)?;
            for (slot, wait) in [(2usize, true), (3usize, false)] {
                install(&paths, &proxy_artifact)?;
                let learned_pin = paths
                    .pin_root
                    .join(policyc_backends::dns::map_names::LEARNED);
                let proxy = Proxy::start(
                    &server_ns,
                    SocketAddr::from((server_ip, 53)),
                    SocketAddr::from((loopback, 5353)),
                    learned_pin,
                    class_bit,
                    wait,
                )?;
                let _ = world_drops(&paths);
                let report = run_client(&topology, &bench, per_round, 80);
                let proxy_stats = proxy.stop()?;
                let drops = world_drops(&paths);
                uninstall(&paths);
                acc[slot].add(
                    report?,
                    proxy_stats.cpu_ns,
                    drops,
                    usize::try_from(proxy_stats.queries).unwrap_or(usize::MAX),
                );
            }
            drop(behind);
        }
        let floor = row("no policy", &acc[0], None, f64::NAN, "");
        let floor_rtt = floor.rtt_us;
        let mut rows = vec![floor];
        rows.push(row(
            "in-kernel (policyc)",
            &acc[1],
            Some(&floor_rtt),
            acc[1].cpu_per_query(),
            "DNS programs' bpf_stats run time / query",
        ));
        for (slot, mode) in [
            (2usize, "proxy, wait for the map write"),
            (3usize, "proxy, no wait"),
        ] {
            rows.push(row(
                mode,
                &acc[slot],
                Some(&floor_rtt),
                acc[slot].cpu_per_query(),
                "proxy thread CPU from question received to answer released and map written / query",
            ));
        }
        Ok(DnsBench {
            queries: per_round * ROUNDS,
            rounds: ROUNDS,
            rows,
        })
    })();
    let _ = std::fs::remove_dir_all(&work);
    result
}

/// The T6 section of the results table.
pub fn markdown(bench: &DnsBench) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\n### T6 DNS policy: in-kernel vs proxy mode ({} fresh names per mode in {} alternating rounds: resolve, then connect at once)\n",
        bench.queries, bench.rounds
    );
    let _ = writeln!(
        s,
        "| mode | DNS RTT p50 / p99 µs | added p50 / p99 µs | CPU ns/query | RTT p50 / p99 vs in-kernel | CPU vs in-kernel | first-packet drops (datapath events) | connects not done in 0.5 s | DNS failures |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    let kernel = bench.rows.iter().find(|r| r.mode.starts_with("in-kernel"));
    let ratio = |x: f64, y: f64| {
        if x.is_finite() && y.is_finite() && y > 0.0 {
            format!("{:.2}×", x / y)
        } else {
            "–".into()
        }
    };
    for r in &bench.rows {
        let (vs_added, vs_cpu) = match kernel {
            Some(k) if !r.mode.starts_with("in-kernel") && !r.mode.starts_with("no policy") => (
                format!(
                    "{} / {}",
                    ratio(r.rtt_us.median, k.rtt_us.median),
                    ratio(r.rtt_us.p99, k.rtt_us.p99)
                ),
                ratio(r.cpu_ns_per_query, k.cpu_ns_per_query),
            ),
            _ => (String::new(), String::new()),
        };
        let cpu = if r.cpu_ns_per_query.is_finite() {
            format!("{:.0}", r.cpu_ns_per_query)
        } else {
            "–".into()
        };
        let _ = writeln!(
            s,
            "| {} | {:.1} / {:.1} | {:.1} / {:.1} | {} | {} | {} | {} | {} | {} |",
            r.mode,
            r.rtt_us.median,
            r.rtt_us.p99,
            r.added_p50_us,
            r.added_p99_us,
            cpu,
            vs_added,
            vs_cpu,
            r.datapath_drops,
            r.connect_fail,
            r.dns_fail
        );
    }
    let _ = writeln!(
        s,
        "\nCPU: in-kernel = bpf_stats run time of every `pc_dns_*` program (the DNS stage dispatchers, which account the DNS programs they tail-call) over every packet they saw, per query; proxy = the proxy thread's CPU time (user + system) from receiving the question to having released the answer and written the map (forwarding syscalls included, the wake-up for the question not), per query. Added latency vs the no-policy floor of the same run (negative = below the floor's noise); ratios vs in-kernel in the same run (> 1 = in-kernel ahead)."
    );
    s
}

/// Writes `<date>-dns.{json,md}` (the T6-only run of `policyc-bench dns`).
pub fn write(
    dir: &Path,
    machine: &crate::machine::Machine,
    bench: &DnsBench,
    md: &str,
) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let stem = format!("{}-dns", machine.date_utc.replace(':', ""));
    let json = serde_json::json!({ "machine": machine, "dns": bench });
    let text = serde_json::to_string_pretty(&json).map_err(std::io::Error::other)?;
    std::fs::write(dir.join(format!("{stem}.json")), text)?;
    std::fs::write(dir.join(format!("{stem}.md")), md)?;
    eprintln!("policyc-bench: wrote {}/{stem}.{{json,md}}", dir.display());
    Ok(())
}
