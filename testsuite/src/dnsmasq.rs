//! A real DNS server for the DNS end-to-end test and bench: `dnsmasq` (Debian's
//! `dnsmasq-base`, the binary only, no system service) started inside a network namespace,
//! answering from a generated hosts file with a fixed TTL; killed on drop.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian installs the binary (`/usr/sbin` is not on every PATH).
pub fn dnsmasq_binary() -> Option<PathBuf> {
    ["/usr/sbin/dnsmasq", "/usr/bin/dnsmasq", "/sbin/dnsmasq"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// `count` fresh names `h<i>.<zone>` → distinct addresses `198.19.(i/250+1).(i%250+1)`
/// (inside 198.19.0.0/17), written as a hosts file; returns the pairs.
pub fn write_hosts(
    path: &Path,
    zone: &str,
    count: u32,
) -> std::io::Result<Vec<(String, Ipv4Addr)>> {
    let mut text = String::new();
    let mut names = Vec::new();
    for i in 0..count {
        let addr = Ipv4Addr::new(198, 19, (i / 250 + 1) as u8, (i % 250 + 1) as u8);
        let name = format!("h{i}.{zone}");
        text.push_str(&format!("{addr} {name}\n"));
        names.push((name, addr));
    }
    std::fs::write(path, text)?;
    Ok(names)
}

/// A running dnsmasq.
#[derive(Debug)]
pub struct DnsServer {
    child: Child,
}

impl DnsServer {
    /// Starts dnsmasq in `netns` on `listen:53` (UDP and TCP), answering only from `hosts`
    /// (extra `address=/name/ip` pairs in `extra`) with TTL `ttl_s`; waits until it answers
    /// TCP connections on port 53.
    pub fn start(
        netns: &str,
        listen: IpAddr,
        hosts: &Path,
        extra: &[(&str, IpAddr)],
        ttl_s: u32,
    ) -> Result<DnsServer, String> {
        Self::start_on(netns, listen, 53, hosts, extra, ttl_s)
    }

    /// [`DnsServer::start`] on another port.
    pub fn start_on(
        netns: &str,
        listen: IpAddr,
        port: u16,
        hosts: &Path,
        extra: &[(&str, IpAddr)],
        ttl_s: u32,
    ) -> Result<DnsServer, String> {
        let binary =
            dnsmasq_binary().ok_or("dnsmasq not found: install dnsmasq-base (scripts/setup.sh)")?;
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", netns])
            .arg(binary)
            .args([
                "--keep-in-foreground",
                "--conf-file=/dev/null",
                "--no-resolv",
                "--no-hosts",
                "--no-poll",
                "--user=root",
                "--group=root",
                "--pid-file=",
                "--log-facility=/dev/null",
                "--bind-interfaces",
                "--cache-size=0",
                "--dns-forward-max=1000",
            ])
            .arg(format!("--listen-address={listen}"))
            .arg(format!("--port={port}"))
            .arg(format!("--addn-hosts={}", hosts.display()))
            .arg(format!("--local-ttl={ttl_s}"))
            .arg(format!("--auth-ttl={ttl_s}"));
        for (name, addr) in extra {
            command.arg(format!("--address=/{name}/{addr}"));
        }
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("starting dnsmasq: {e}"))?;
        let mut server = DnsServer { child };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let probe = Command::new("ip")
                .args(["netns", "exec", netns, "python3", "-c"])
                .arg(format!(
                    "import socket; s=socket.create_connection(('{listen}', {port}), 0.2)"
                ))
                .output();
            if probe.is_ok_and(|o| o.status.success()) {
                return Ok(server);
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!("dnsmasq exited: {status}"));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "dnsmasq did not start listening on {listen}:{port} within 10 s"
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        // Best effort, also while unwinding from a failed assertion: a failure here has nobody to
        // report to, and a panic in drop would abort the test run.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
