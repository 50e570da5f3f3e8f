//! policyc-bench: the benchmark suite of BENCHMARKS.md (T0–T5) in one invocation — policyc
//! against a Cilium-layout reference datapath, iptables and nftables on the same generated
//! policies — printing a markdown table and writing `bench/results/<date>.{json,md}`.

mod cilium_ref;
mod flood;
mod machine;
mod objects;
mod policy_gen;
mod report;
mod scale;
mod stats;
mod t0_floors;
mod t1_verdict;
mod t2_netns;
mod t3_build;
mod t4_footprint;
mod t6_dns;
mod trace;
mod workload;

use clap::{Parser, Subcommand};
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(
    about = "policyc benchmarks T0–T5 against a Cilium-layout reference, iptables and nftables"
)]
struct Cli {
    /// Fewer N and repetitions (≤ 3 minutes).
    #[arg(long)]
    quick: bool,
    /// Where to write <date>.json and <date>.md.
    #[arg(long, default_value = "bench/results")]
    out: PathBuf,
    /// Skip T2 (network namespaces, iptables, nftables).
    #[arg(long)]
    no_netns: bool,
    #[command(subcommand)]
    command: Option<Sub>,
}

#[derive(Subcommand)]
enum Sub {
    /// (internal) T2 traffic source, run inside the sender namespace.
    Flood {
        #[arg(long)]
        src: Ipv4Addr,
        #[arg(long)]
        dst: Ipv4Addr,
        #[arg(long)]
        port: u16,
        #[arg(long)]
        count: u64,
        #[arg(long)]
        seconds: f64,
    },
    /// Scale only: `policyc build` of many endpoints and `policyc lint` of large inputs (wall
    /// time, peak RSS, artifact bytes and files), printed as markdown.
    Scale {
        /// Smaller sizes (≤ 2 minutes).
        #[arg(long)]
        quick: bool,
    },
    /// T6 only (DNS policy: in-kernel vs proxy mode), printed as markdown.
    Dns {
        #[arg(long, default_value_t = 2_000)]
        queries: usize,
    },
    /// (internal) T6 DNS client, run inside the client namespace: resolve h<i>.<zone> and
    /// connect to the answer at once, `count` times; prints a JSON report.
    DnsClient {
        #[arg(long)]
        server: Ipv4Addr,
        #[arg(long)]
        zone: String,
        #[arg(long)]
        count: usize,
        #[arg(long)]
        port: u16,
    },
    /// T3 steps repeated for a profiler (`perf record`): prints the mean time of one.
    T3Profile {
        #[arg(long)]
        rules: usize,
        #[arg(long)]
        identities: usize,
        #[arg(long, value_enum)]
        what: t3_build::Profiled,
        #[arg(long, default_value_t = 20)]
        times: usize,
    },
    /// (internal) T3 in a child process, so that the parent can bound its time.
    T3 {
        #[arg(long)]
        rules: usize,
        #[arg(long)]
        identities: usize,
    },
}

/// Sizes of one run.
pub struct Plan {
    pub quick: bool,
    pub rule_counts: Vec<usize>,
    pub reps: usize,
    pub repeat: u32,
    pub trace_len: usize,
    pub lpm_sizes: Vec<u32>,
    pub t2_rule_counts: Vec<usize>,
    pub t2_count: u64,
    pub t2_seconds: f64,
    pub t3: (usize, usize),
    /// Time allowed for T3 (compile + both updates), seconds.
    pub t3_budget_s: u64,
    /// Skip an N whose estimated policyc compile time exceeds this.
    pub compile_budget_ms: f64,
    /// T6: fresh names resolved (and connected to) per DNS mode.
    pub dns_queries: usize,
}

impl Plan {
    fn new(quick: bool) -> Plan {
        if quick {
            Plan {
                quick,
                rule_counts: vec![10, 100, 1_000],
                reps: 5,
                repeat: 200_000,
                trace_len: 10_000,
                lpm_sizes: vec![1_000, 10_000, 100_000],
                t2_rule_counts: vec![1_000],
                t2_count: 200_000,
                t2_seconds: 0.5,
                t3: (1_000, 300),
                t3_budget_s: 45,
                compile_budget_ms: 40_000.0,
                dns_queries: 1_000,
            }
        } else {
            Plan {
                quick,
                rule_counts: vec![10, 100, 1_000, 10_000, 100_000],
                reps: 7,
                repeat: 1_000_000,
                trace_len: 20_000,
                lpm_sizes: vec![1_000, 10_000, 100_000],
                t2_rule_counts: vec![100, 1_000, 10_000],
                t2_count: 1_000_000,
                t2_seconds: 2.0,
                t3: (3_000, 1_000),
                t3_budget_s: 200,
                compile_budget_ms: 240_000.0,
                dns_queries: 10_000,
            }
        }
    }
}

/// Peer pods (one identity each) generated for N rules. Capped at 100: policyc's resolver costs
/// O(identities × rules × port boundaries), which would not fit the time budget beyond that.
pub fn identities_for(rules: usize) -> usize {
    (rules / 10).clamp(20, 100)
}

fn main() {
    let cli = Cli::parse();
    if let Some(Sub::T3Profile {
        rules,
        identities,
        what,
        times,
    }) = cli.command
    {
        if let Err(e) = t3_build::run_profile(rules, identities, what, times) {
            eprintln!("t3-profile: {e}");
            std::process::exit(1);
        }
        return;
    }
    if let Some(Sub::T3 { rules, identities }) = cli.command {
        if let Err(e) = t3_build::run_child(rules, identities) {
            eprintln!("t3: {e}");
            std::process::exit(1);
        }
        return;
    }
    if let Some(Sub::Flood {
        src,
        dst,
        port,
        count,
        seconds,
    }) = cli.command
    {
        match flood::flood(src, dst, port, count, Duration::from_secs_f64(seconds)) {
            Ok((sent, elapsed)) => println!("{sent} {}", elapsed.as_nanos()),
            Err(e) => {
                eprintln!("flood: {e}");
                std::process::exit(1);
            }
        }
        return;
    }
    if let Some(Sub::DnsClient {
        server,
        zone,
        count,
        port,
    }) = &cli.command
    {
        match t6_dns::client(*server, zone, *count, *port) {
            Ok(report) => println!("{}", serde_json::to_string(&report).unwrap_or_default()),
            Err(e) => {
                eprintln!("dns-client: {e}");
                std::process::exit(1);
            }
        }
        return;
    }
    if let Some(Sub::Scale { quick }) = &cli.command {
        let plan = scale::ScalePlan::new(*quick || cli.quick);
        match scale::run(&plan) {
            Ok(rows) => {
                let machine = machine::detect();
                let md = format!(
                    "## policyc-bench scale — {} — {} ({} CPUs), Linux {}\n\n{}",
                    machine.date_utc,
                    machine.cpu_model,
                    machine.cpus,
                    machine.kernel,
                    scale::markdown(&rows)
                );
                println!("{md}");
                if let Err(e) = scale::write(&cli.out, &machine, &rows, &md) {
                    eprintln!("writing results: {e}");
                    std::process::exit(1);
                }
            }
            Err(e) => {
                eprintln!("scale: {e}");
                std::process::exit(1);
            }
        }
        return;
    }
    if let Some(Sub::Dns { queries }) = &cli.command {
        match t6_dns::run(*queries) {
            Ok(result) => {
                let machine = machine::detect();
                let md = format!(
                    "## policyc-bench T6 — {} — {} ({} CPUs), Linux {}\n{}",
                    machine.date_utc,
                    machine.cpu_model,
                    machine.cpus,
                    machine.kernel,
                    t6_dns::markdown(&result)
                );
                println!("{md}");
                if let Err(e) = t6_dns::write(&cli.out, &machine, &result, &md) {
                    eprintln!("writing results: {e}");
                    std::process::exit(1);
                }
            }
            Err(e) => {
                eprintln!("T6: {e}");
                std::process::exit(1);
            }
        }
        return;
    }
    let started = Instant::now();
    let plan = Plan::new(cli.quick);
    match report::run_all(&plan, !cli.no_netns) {
        Ok(results) => {
            let md = report::markdown(&results);
            println!("{md}");
            if let Err(e) = report::write(&cli.out, &results, &md) {
                eprintln!("writing results: {e}");
                std::process::exit(1);
            }
            eprintln!(
                "policyc-bench: done in {:.0} s",
                started.elapsed().as_secs_f64()
            );
        }
        Err(e) => {
            eprintln!("policyc-bench: {e}");
            t2_netns::teardown();
            std::process::exit(1);
        }
    }
}
