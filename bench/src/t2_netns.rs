//! T2: real packets netns → veth → netns, the filter on the receiving side. The bench creates two
//! namespaces (`pcb-a` sends, `pcb-b` receives; 198.18.0.0/15 addresses only), floods bounded
//! UDP bursts of new flows from the generated policy's first pod address to the measured
//! endpoint's address, and counts what B's UDP layer received (/proc/net/snmp). Filters on B:
//! none; policyc's endpoint-ingress program at tcx ingress of B's veth; iptables (legacy and nft
//! backend) with the policy as one linear chain, the flood's rule last; nftables with one
//! concatenated interval set (address . protocol . port). Namespaces are deleted afterwards.

use crate::objects;
use crate::policy_gen::{self, BenchSet, GenPeer, GenPorts, TARGET_IP};
use crate::stats::{summarize, Summary};
use crate::workload::Workload;
use policyc_backends::layout::Direction;
use policyc_ir::{Peer, PeerSet};
use policyc_kernel::{AttachKind, DatapathInstance, LoadRequest};
use std::io::Write;
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};

pub const NS_SEND: &str = "pcb-a";
pub const NS_RECV: &str = "pcb-b";
const DEV_SEND: &str = "pcb-a0";
const DEV_RECV: &str = "pcb-b0";
const FLOOD_PORT: u16 = 9;

#[derive(Debug, Clone, serde::Serialize)]
pub struct ThroughputRow {
    pub filter: String,
    pub rules: usize,
    /// Rules/elements actually installed (iptables expands selectors to addresses).
    pub installed: usize,
    pub pps: Summary,
    /// Share of sent packets that reached B's UDP layer (median over repetitions).
    pub delivered: f64,
    /// bpf_stats run_time_ns / run_cnt of the BPF filter (policyc only).
    pub bpf_ns_per_run: Option<f64>,
    pub setup_ms: f64,
}

fn sh(cmd: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .map_err(|e| format!("{cmd}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).to_string())
}

fn in_ns(ns: &str, args: &[&str]) -> Result<String, String> {
    let mut full = vec!["netns", "exec", ns];
    full.extend_from_slice(args);
    sh("ip", &full)
}

fn feed(ns: &str, args: &[&str], input: &str) -> Result<(), String> {
    let mut full = vec!["netns", "exec", ns];
    full.extend_from_slice(args);
    let mut child = Command::new("ip")
        .args(&full)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    child
        .stdin
        .take()
        .ok_or("no stdin")?
        .write_all(input.as_bytes())
        .map_err(|e| e.to_string())?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "{}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}

/// Installs iptables and nftables from Debian when a command is missing.
pub fn ensure_tools() -> Result<(), String> {
    let have = |c: &str| {
        Command::new("sh")
            .args(["-c", &format!("command -v {c}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !(have("iptables-legacy-restore") && have("iptables-nft-restore") && have("nft")) {
        eprintln!("T2: installing iptables nftables (apt-get)");
        let status = Command::new("apt-get")
            .args(["install", "-y", "-q", "iptables", "nftables"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(Stdio::null())
            .status()
            .map_err(|e| e.to_string())?;
        if !status.success() {
            return Err("apt-get install iptables nftables failed".into());
        }
    }
    Ok(())
}

pub fn teardown() {
    for ns in [NS_SEND, NS_RECV] {
        let _ = Command::new("ip")
            .args(["netns", "del", ns])
            .stderr(Stdio::null())
            .status();
    }
}

/// Creates both namespaces and the veth pair; `sender` is the flood's source address.
pub fn setup(sender: Ipv4Addr) -> Result<(), String> {
    teardown();
    sh("ip", &["netns", "add", NS_SEND])?;
    sh("ip", &["netns", "add", NS_RECV])?;
    sh(
        "ip",
        &[
            "link", "add", DEV_SEND, "netns", NS_SEND, "type", "veth", "peer", "name", DEV_RECV,
            "netns", NS_RECV,
        ],
    )?;
    let (s, r) = (format!("{sender}/32"), format!("{TARGET_IP}/32"));
    in_ns(NS_SEND, &["ip", "addr", "add", &s, "dev", DEV_SEND])?;
    in_ns(NS_RECV, &["ip", "addr", "add", &r, "dev", DEV_RECV])?;
    for (ns, dev) in [(NS_SEND, DEV_SEND), (NS_RECV, DEV_RECV)] {
        in_ns(ns, &["ip", "link", "set", "lo", "up"])?;
        in_ns(ns, &["ip", "link", "set", dev, "up"])?;
    }
    in_ns(NS_SEND, &["ip", "route", "add", &r, "dev", DEV_SEND])?;
    in_ns(NS_RECV, &["ip", "route", "add", &s, "dev", DEV_RECV])?;
    Ok(())
}

fn udp_received() -> Result<u64, String> {
    let snmp = in_ns(NS_RECV, &["cat", "/proc/net/snmp"])?;
    let mut lines = snmp.lines().filter(|l| l.starts_with("Udp:"));
    let names: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let values: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let get = |n: &str| {
        names
            .iter()
            .position(|x| *x == n)
            .and_then(|i| values.get(i))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Ok(get("InDatagrams") + get("NoPorts") + get("InErrors"))
}

/// One bounded burst; returns (pps delivered, delivered share).
fn burst(sender: Ipv4Addr, count: u64, seconds: f64) -> Result<(f64, f64), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let before = udp_received()?;
    let out = in_ns(
        NS_SEND,
        &[
            &exe.to_string_lossy(),
            "flood",
            "--src",
            &sender.to_string(),
            "--dst",
            &TARGET_IP.to_string(),
            "--port",
            &FLOOD_PORT.to_string(),
            "--count",
            &count.to_string(),
            "--seconds",
            &seconds.to_string(),
        ],
    )?;
    let after = udp_received()?;
    let mut it = out.split_whitespace();
    let sent: f64 = it
        .next()
        .and_then(|v| v.parse().ok())
        .ok_or("flood output")?;
    let ns: f64 = it
        .next()
        .and_then(|v| v.parse().ok())
        .ok_or("flood output")?;
    let delivered = after.saturating_sub(before) as f64;
    Ok((
        delivered / (ns / 1e9),
        if sent > 0.0 { delivered / sent } else { 0.0 },
    ))
}

/// The policy plus one rule allowing the flood (first pod → UDP 9), placed last.
pub fn with_flood_rule(set: &BenchSet) -> BenchSet {
    let mut out = set.clone();
    let rule = policyc_ir::PolicyRule {
        id: policyc_ir::RuleId(u32::try_from(out.rules.len()).unwrap_or(u32::MAX)),
        peers: PeerSet::Some(vec![Peer::Endpoints(policy_gen::pod_selector(
            "ns-0", "app-0",
        ))]),
        ports: policy_gen::port_match(GenPorts::Udp(FLOOD_PORT)),
        direction: policyc_ir::Direction::Ingress,
        ..out.rules[0].clone()
    };
    out.rules.push(rule);
    out.shapes.push(policy_gen::GenRule {
        direction: policyc_ir::Direction::Ingress,
        peer: GenPeer::Pods(vec![0]),
        ports: GenPorts::Udp(FLOOD_PORT),
    });
    out
}

/// (source, protocol, lo, hi) tuples of the ingress rules, in rule order.
fn tuples(set: &BenchSet) -> Vec<(String, &'static str, u16, u16)> {
    let mut out = Vec::new();
    for shape in set
        .shapes
        .iter()
        .filter(|s| s.direction == policyc_ir::Direction::Ingress)
    {
        let sources: Vec<String> = match &shape.peer {
            GenPeer::Pods(p) => p
                .iter()
                .map(|i| format!("{}/32", set.pods[*i].ip))
                .collect(),
            GenPeer::Cidr(base, len) => vec![format!("{base}/{len}")],
            GenPeer::Everyone => vec!["0.0.0.0/0".to_string()],
        };
        let ports: Vec<(&'static str, u16, u16)> = match shape.ports {
            GenPorts::Tcp(lo, hi) => vec![("tcp", lo, hi)],
            GenPorts::Udp(p) => vec![("udp", p, p)],
            GenPorts::AllPorts => vec![("all", 0, 65535)],
        };
        for s in &sources {
            for (proto, lo, hi) in &ports {
                out.push((s.clone(), *proto, *lo, *hi));
            }
        }
    }
    out
}

fn iptables_script(set: &BenchSet) -> (String, usize) {
    let t = tuples(set);
    let mut s = String::from("*filter\n:INPUT ACCEPT [0:0]\n:PCB - [0:0]\n-A INPUT -j PCB\n");
    for (src, proto, lo, hi) in &t {
        if *proto == "all" {
            s.push_str(&format!("-A PCB -s {src} -j ACCEPT\n"));
        } else {
            s.push_str(&format!(
                "-A PCB -s {src} -p {proto} -m {proto} --dport {lo}:{hi} -j ACCEPT\n"
            ));
        }
    }
    s.push_str("-A PCB -j DROP\nCOMMIT\n");
    (s, t.len())
}

/// Merges port intervals into disjoint, sorted ones.
fn merge(mut ranges: Vec<(u16, u16)>) -> Vec<(u16, u16)> {
    ranges.sort();
    let mut out: Vec<(u16, u16)> = Vec::new();
    for (lo, hi) in ranges {
        match out.last_mut() {
            Some(last) if u32::from(lo) <= u32::from(last.1) + 1 => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    out
}

/// nftables best case: table, chain and two interval sets (address . protocol . port, and
/// protocol . port for rules open to everyone); elements come separately (`nft_elements`).
fn nft_skeleton() -> String {
    "table ip pcb {\n set allow { type ipv4_addr . inet_proto . inet_service; flags interval; }\n set allow_any { type inet_proto . inet_service; flags interval; }\n chain input {\n  type filter hook input priority 0; policy drop;\n  ip saddr . meta l4proto . th dport @allow accept\n  meta l4proto . th dport @allow_any accept\n }\n}\n".to_string()
}

/// Set elements: per (source, protocol) the merged port intervals, so elements of one source
/// never overlap; sources open on all protocols get that one element only.
fn nft_elements(set: &BenchSet) -> Vec<(&'static str, String)> {
    let mut by_key: std::collections::BTreeMap<(String, &'static str), Vec<(u16, u16)>> =
        Default::default();
    for (src, proto, lo, hi) in tuples(set) {
        let p = match proto {
            "tcp" => "6",
            "udp" => "17",
            _ => "0-255",
        };
        by_key.entry((src, p)).or_default().push((lo, hi));
    }
    let mut out = Vec::new();
    for ((src, p), ranges) in &by_key {
        // A source open on every protocol and port needs no narrower element (nft would refuse
        // them as overlapping anyway).
        if *p != "0-255" && by_key.contains_key(&(src.clone(), "0-255")) {
            continue;
        }
        let (src, p) = (src.clone(), *p);
        for (lo, hi) in merge(ranges.clone()) {
            if src == "0.0.0.0/0" {
                out.push(("allow_any", format!("{p} . {lo}-{hi}")));
            } else {
                out.push(("allow", format!("{src} . {p} . {lo}-{hi}")));
            }
        }
    }
    out
}

/// Loads the nftables case; returns (elements accepted, elements refused as overlapping).
fn nft_load(set: &BenchSet) -> Result<(usize, usize), String> {
    feed(NS_RECV, &["nft", "-f", "-"], &nft_skeleton())?;
    let elements = nft_elements(set);
    let (mut ok, mut refused) = (0, 0);
    for chunk in elements.chunks(256) {
        let script: String = chunk
            .iter()
            .map(|(name, e)| format!("add element ip pcb {name} {{ {e} }}\n"))
            .collect();
        if feed(NS_RECV, &["nft", "-f", "-"], &script).is_ok() {
            ok += chunk.len();
            continue;
        }
        // One overlapping element aborts the batch: add this chunk one element at a time.
        for (name, e) in chunk {
            if feed(
                NS_RECV,
                &["nft", "-f", "-"],
                &format!("add element ip pcb {name} {{ {e} }}\n"),
            )
            .is_ok()
            {
                ok += 1;
            } else {
                refused += 1;
            }
        }
    }
    Ok((ok, refused))
}

fn measure(
    sender: Ipv4Addr,
    count: u64,
    seconds: f64,
    reps: usize,
) -> Result<(Summary, f64), String> {
    let mut pps = Vec::new();
    let mut share = Vec::new();
    for _ in 0..reps {
        let (p, d) = burst(sender, count, seconds)?;
        pps.push(p);
        share.push(d);
    }
    Ok((summarize(&pps), summarize(&share).median))
}

fn with_netns<T>(ns: &str, f: impl FnOnce() -> Result<T, String> + Send) -> Result<T, String>
where
    T: Send,
{
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let file = std::fs::File::open(format!("/var/run/netns/{ns}"))
                    .map_err(|e| e.to_string())?;
                use std::os::fd::AsRawFd;
                // SAFETY: setns on a namespace fd we own; affects only this thread.
                if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                    return Err(format!("setns {ns}: {}", std::io::Error::last_os_error()));
                }
                f()
            })
            .join()
            .map_err(|_| "netns thread panicked".to_string())?
    })
}

fn policyc_case(
    w: &Workload,
    sender: Ipv4Addr,
    count: u64,
    seconds: f64,
    reps: usize,
) -> Result<ThroughputRow, String> {
    let _ = sh("sysctl", &["-q", "-w", "kernel.bpf_stats_enabled=1"]);
    let result = with_netns(NS_RECV, || {
        let t = std::time::Instant::now();
        let mut maps: Vec<_> = w.images.maps.iter().collect();
        maps.push(&w.ipcache_image);
        let request = LoadRequest {
            config: w.images.config,
            maps,
            kinds: vec![AttachKind::Tcx],
        };
        // Endpoint ingress program, attached at tcx ingress of the receiving veth.
        let instance = DatapathInstance::load_with(&request, |open| {
            for mut prog in open.progs_mut() {
                if prog.name().to_string_lossy()
                    == policyc_backends::datapath::programs::INGRESS_TCX
                {
                    prog.set_attach_type(libbpf_rs::ProgramAttachType::TcxIngress);
                }
            }
            Ok(())
        })
        .map_err(|e| format!("policyc load: {e}"))?;
        let name = std::ffi::CString::new(DEV_RECV).map_err(|e| e.to_string())?;
        // SAFETY: valid NUL-terminated name.
        let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) };
        let _link = policyc_kernel::attach::attach_tcx(&instance, Direction::Ingress, ifindex)
            .map_err(|e| e.to_string())?;
        let setup_ms = t.elapsed().as_secs_f64() * 1e3;
        let prog = instance
            .program(Direction::Ingress, AttachKind::Tcx)
            .map_err(|e| e.to_string())?;
        let (_, t0, c0) = objects::prog_info(&prog)?;
        let (pps, delivered) = measure(sender, count, seconds, reps)?;
        let (_, t1, c1) = objects::prog_info(&prog)?;
        let per_run = (c1 > c0).then(|| (t1 - t0) as f64 / (c1 - c0) as f64);
        Ok((pps, delivered, per_run, setup_ms))
    });
    let _ = sh("sysctl", &["-q", "-w", "kernel.bpf_stats_enabled=0"]);
    let (pps, delivered, per_run, setup_ms) = result?;
    Ok(ThroughputRow {
        filter: "policyc (tcx)".into(),
        rules: w.set.rules.len(),
        installed: w.policyc_entries().0,
        pps,
        delivered,
        bpf_ns_per_run: per_run,
        setup_ms,
    })
}

/// Runs the no-filter case once and every filter at each workload.
pub fn run(
    workloads: &[Workload],
    count: u64,
    seconds: f64,
    reps: usize,
) -> Result<Vec<ThroughputRow>, String> {
    ensure_tools()?;
    let sender = workloads
        .first()
        .and_then(|w| w.set.pods.first())
        .map_or(Ipv4Addr::new(198, 18, 1, 1), |p| p.ip);
    setup(sender)?;
    let result = (|| {
        let mut rows = Vec::new();
        // Warm-up burst: resolves the neighbour so that measured bursts do not start with ARP.
        burst(sender, 1_000, 0.2)?;
        std::thread::sleep(std::time::Duration::from_millis(200));
        let (pps, delivered) = measure(sender, count, seconds, reps)?;
        rows.push(ThroughputRow {
            filter: "no filter".into(),
            rules: 0,
            installed: 0,
            pps,
            delivered,
            bpf_ns_per_run: None,
            setup_ms: 0.0,
        });
        for w in workloads {
            rows.push(policyc_case(w, sender, count, seconds, reps)?);
            for (label, restore, save_flush) in [
                (
                    "iptables-legacy (linear)",
                    "iptables-legacy-restore",
                    "iptables-legacy",
                ),
                (
                    "iptables-nft (linear)",
                    "iptables-nft-restore",
                    "iptables-nft",
                ),
            ] {
                let (script, installed) = iptables_script(&w.set);
                let t = std::time::Instant::now();
                feed(NS_RECV, &[restore], &script)?;
                let setup_ms = t.elapsed().as_secs_f64() * 1e3;
                let measured = measure(sender, count, seconds, reps);
                let _ = in_ns(NS_RECV, &[save_flush, "-F"]);
                let _ = in_ns(NS_RECV, &[save_flush, "-X"]);
                let (pps, delivered) = measured?;
                rows.push(ThroughputRow {
                    filter: label.into(),
                    rules: w.set.rules.len(),
                    installed,
                    pps,
                    delivered,
                    bpf_ns_per_run: None,
                    setup_ms,
                });
            }
            let t = std::time::Instant::now();
            let loaded = nft_load(&w.set);
            let setup_ms = t.elapsed().as_secs_f64() * 1e3;
            let measured =
                loaded.and_then(|l| measure(sender, count, seconds, reps).map(|m| (l, m)));
            let _ = in_ns(NS_RECV, &["nft", "delete", "table", "ip", "pcb"]);
            let ((installed, refused), (pps, delivered)) = measured?;
            rows.push(ThroughputRow {
                filter: if refused > 0 {
                    format!("nftables (interval sets; {refused} elements refused as overlapping)")
                } else {
                    "nftables (interval sets)".into()
                },
                rules: w.set.rules.len(),
                installed,
                pps,
                delivered,
                bpf_ns_per_run: None,
                setup_ms,
            });
        }
        Ok(rows)
    })();
    teardown();
    result
}
