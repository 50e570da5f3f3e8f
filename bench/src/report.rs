//! Runs every benchmark of a plan, then renders the results as markdown (every figure next to
//! its ratio to the best peer at the same N) and writes `<date>.json` and `<date>.md`.

use crate::machine::{self, Machine};
use crate::policy_gen;
use crate::t0_floors::{self, Floor};
use crate::t1_verdict::{self, VerdictRow};
use crate::t2_netns::{self, ThroughputRow};
use crate::t3_build::{self, BuildReport};
use crate::t4_footprint::{self, Footprint};
use crate::workload::{StageTimes, Workload};
use crate::{identities_for, Plan};
use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

#[derive(Debug, Clone, serde::Serialize)]
pub struct CompileRow {
    pub rules: usize,
    pub identities: usize,
    pub stages: StageTimes,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Results {
    pub machine: Machine,
    pub mode: &'static str,
    pub seconds: f64,
    pub reps: usize,
    pub floors: Vec<Floor>,
    pub verdicts: Vec<VerdictRow>,
    pub compiles: Vec<CompileRow>,
    pub throughput: Vec<ThroughputRow>,
    pub throughput_error: Option<String>,
    pub build: BuildReport,
    pub footprint: Vec<Footprint>,
    /// Inputs that were not measured, and why.
    pub skipped: Vec<String>,
    /// T6 DNS policy: in-kernel vs proxy mode.
    pub dns: Option<crate::t6_dns::DnsBench>,
    pub dns_error: Option<String>,
}

fn step(name: &str) {
    eprintln!("policyc-bench: {name}");
}

pub fn run_all(plan: &Plan, netns: bool) -> Result<Results, String> {
    let start = Instant::now();
    let machine = machine::detect();
    step("T0 floors");
    let floors = t0_floors::run(plan.repeat, plan.reps, &plan.lpm_sizes)?;
    let mut verdicts = Vec::new();
    let mut compiles = Vec::new();
    let mut footprint = Vec::new();
    let mut skipped = Vec::new();
    let mut previous: Option<(usize, f64)> = None;
    let mut growth = 2.0f64;
    for &n in &plan.rule_counts {
        if let Some((pn, ms)) = previous {
            // Extrapolate with the growth exponent measured between the last two N (≥ 1).
            let estimate_ms = ms * (n as f64 / pn as f64).powf(growth.max(1.0));
            if estimate_ms > plan.compile_budget_ms {
                let why = format!(
                    "N = {n} not measured: policyc's resolver took {:.1} s at N = {pn} and grows about as N^{growth:.2} (estimate {:.0} s > budget {:.0} s)",
                    ms / 1e3,
                    estimate_ms / 1e3,
                    plan.compile_budget_ms / 1e3
                );
                eprintln!("  {why}");
                skipped.push(why);
                continue;
            }
        }
        step(&format!("T1/T4/T5 N = {n}"));
        let set = policy_gen::generate(n, identities_for(n), 1);
        let w = Workload::compile(set)?;
        eprintln!(
            "  compiled: universe {:.0} ms, resolve {:.0} ms, optimize {:.0} ms, images {:.0} ms; {} identities, {} Cilium keys",
            w.times.universe_ms,
            w.times.resolve_ms,
            w.times.optimize_ms,
            w.times.images_ms,
            w.universe.identities().len(),
            w.resolved.cilium.entries()
        );
        if let Some((pn, ms)) = previous {
            if ms > 1.0 {
                growth = (w.times.endpoint_ms() / ms).ln() / (n as f64 / pn as f64).ln();
            }
        }
        previous = Some((n, w.times.endpoint_ms()));
        compiles.push(CompileRow {
            rules: n,
            identities: w.universe.identities().len(),
            stages: w.times,
        });
        footprint.push(t4_footprint::of_workload(&w));
        verdicts.push(t1_verdict::run(&w, plan.trace_len, plan.reps, plan.repeat)?);
    }
    step("T4 multi-tenant");
    footprint.push(t4_footprint::multi_tenant(51, 10)?);
    step("T3 build and updates");
    let build = t3_build::run_bounded(
        plan.t3.0,
        plan.t3.1,
        std::time::Duration::from_secs(plan.t3_budget_s),
    )?;
    let (mut throughput, mut throughput_error) = (Vec::new(), None);
    if netns {
        step("T2 netns throughput");
        let workloads: Result<Vec<Workload>, String> = plan
            .t2_rule_counts
            .iter()
            .map(|&n| {
                Workload::compile(t2_netns::with_flood_rule(&policy_gen::generate(
                    n,
                    identities_for(n),
                    1,
                )))
            })
            .collect();
        match workloads.and_then(|w| t2_netns::run(&w, plan.t2_count, plan.t2_seconds, plan.reps)) {
            Ok(rows) => throughput = rows,
            Err(e) => {
                eprintln!("T2 failed: {e}");
                throughput_error = Some(e);
            }
        }
    }
    let (mut dns, mut dns_error) = (None, None);
    if netns {
        step("T6 DNS policy: in-kernel vs proxy mode");
        match crate::t6_dns::run(plan.dns_queries) {
            Ok(result) => dns = Some(result),
            Err(e) => {
                eprintln!("T6 failed: {e}");
                dns_error = Some(e);
            }
        }
    }
    Ok(Results {
        machine,
        mode: if plan.quick { "quick" } else { "full" },
        seconds: start.elapsed().as_secs_f64(),
        reps: plan.reps,
        floors,
        verdicts,
        compiles,
        throughput,
        throughput_error,
        build,
        footprint,
        skipped,
        dns,
        dns_error,
    })
}

fn r(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.2}×")
    } else {
        "–".into()
    }
}

fn ns(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.0}")
    } else {
        "–".into()
    }
}

pub fn markdown(res: &Results) -> String {
    let mut s = String::new();
    let m = &res.machine;
    let _ = writeln!(
        s,
        "## policyc-bench ({} mode) — {} — {} ({} CPUs), Linux {}\n",
        res.mode, m.date_utc, m.cpu_model, m.cpus, m.kernel
    );
    let _ = writeln!(
        s,
        "Every timing: median and p99 over {} repetitions (T1: over all packets of all repetitions). Ratios: policyc / best peer at the same N (< 1 = policyc ahead), unless stated. Run time {:.0} s.\n",
        res.reps, res.seconds
    );

    let _ = writeln!(s, "### T0 floors (BPF_PROG_TEST_RUN, one IPv4/TCP frame)\n");
    let _ = writeln!(
        s,
        "| primitive | repeat | median ns/run | p99 ns/run |\n|---|---:|---:|---:|"
    );
    for f in &res.floors {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            f.name,
            f.repeat,
            ns(f.ns.median),
            ns(f.ns.p99)
        );
    }

    let _ = writeln!(
        s,
        "\n### T1 verdict cost vs N (new flows, {} distinct packets per repetition, repeat 1 per packet; includes the per-run floor above)\n",
        res.verdicts.first().map_or(0, |v| v.trace_packets)
    );
    let _ = writeln!(
        s,
        "| N rules | policyc mean / p50 / p99 ns | Cilium-layout ref mean / p50 / p99 ns | policyc / ref (mean) | hot deny policyc / ref ns (ratio) | allowed pc / ref | verdict disagreements |\n|---:|---:|---:|---:|---:|---:|---:|"
    );
    for v in &res.verdicts {
        let (p, c) = (&v.policyc, &v.cilium_ref);
        let _ = writeln!(
            s,
            "| {} | {} / {} / {} | {} / {} / {} | {} | {} / {} ({}) | {} / {} | {} |",
            v.rules,
            ns(p.rep_means.median),
            ns(p.per_packet.median),
            ns(p.per_packet.p99),
            ns(c.rep_means.median),
            ns(c.per_packet.median),
            ns(c.per_packet.p99),
            r(p.rep_means.median / c.rep_means.median),
            ns(p.hot_deny.median),
            ns(c.hot_deny.median),
            r(p.hot_deny.median / c.hot_deny.median),
            p.allowed,
            c.allowed,
            v.disagreements
        );
    }
    for why in &res.skipped {
        let _ = writeln!(s, "\n**{why}.**");
    }
    let growth = |pick: fn(&VerdictRow) -> f64| {
        let at = |n: usize| res.verdicts.iter().find(|v| v.rules == n).map(pick);
        let last = res.verdicts.last().map(|v| v.rules).unwrap_or(0);
        match (at(100), at(last)) {
            (Some(a), Some(b)) => format!("{} (N = 100 → {last})", r(b / a)),
            _ => "–".into(),
        }
    };
    let _ = writeln!(
        s,
        "\nGrowth of the mean: policyc {}, Cilium-layout ref {}. iptables/nftables per-packet cost: see T2 (added ns/packet).",
        growth(|v| v.policyc.rep_means.median),
        growth(|v| v.cilium_ref.rep_means.median)
    );

    let _ = writeln!(s, "\n### T2 throughput netns → veth → netns (UDP, one new flow per packet, filter on the receiver)\n");
    if let Some(e) = &res.throughput_error {
        let _ = writeln!(s, "T2 did not run: {e}\n");
    }
    if !res.throughput.is_empty() {
        let base = res
            .throughput
            .iter()
            .find(|t| t.rules == 0)
            .map_or(f64::NAN, |t| t.pps.median);
        let _ = writeln!(
            s,
            "| filter | N rules | installed rules/elements | pps median / p99 | vs no filter | added ns/packet | policyc / best netfilter peer (pps) | BPF ns/run (bpf_stats) | setup ms |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for t in &res.throughput {
            let best_peer = res
                .throughput
                .iter()
                .filter(|o| o.rules == t.rules && o.rules > 0 && !o.filter.starts_with("policyc"))
                .map(|o| o.pps.median)
                .fold(f64::NAN, f64::max);
            let vs_peer = if t.filter.starts_with("policyc") {
                // pps: higher is better, so report best peer / policyc (< 1 = policyc ahead).
                r(best_peer / t.pps.median)
            } else {
                "".into()
            };
            let added = if t.rules > 0 {
                ns(1e9 / t.pps.median - 1e9 / base)
            } else {
                "".into()
            };
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} / {} | {:.0} % | {} | {} | {} | {:.0} |",
                t.filter,
                t.rules,
                t.installed,
                ns(t.pps.median),
                ns(t.pps.p99),
                100.0 * t.pps.median / base,
                added,
                vs_peer,
                t.bpf_ns_per_run.map_or("".into(), ns),
                t.setup_ms
            );
        }
        let _ = writeln!(
            s,
            "\nRatio column: best netfilter peer pps / policyc pps (< 1 = policyc ahead)."
        );
    }

    let b = &res.build;
    let _ = writeln!(
        s,
        "\n### T3 build time, {} rules × {} identities, one endpoint (Cilium anchor: 1354 ms for 3k × 1k)\n",
        b.rules, b.identities
    );
    if !b.finished {
        let _ = writeln!(
            s,
            "**T3 did not finish within its {:.0} s budget; the parts below that are missing did not complete in time.**\n",
            b.budget_s
        );
    }
    match &b.stages {
        Some(st) => {
            let _ = writeln!(
                s,
                "| universe ms | resolve ms | optimize ms | map images ms | ipcache ms | total ms | policyc / Cilium anchor | load+verify+fill ms |\n|---:|---:|---:|---:|---:|---:|---:|---:|"
            );
            let _ = writeln!(
                s,
                "| {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {} |",
                st.universe_ms,
                st.resolve_ms,
                st.optimize_ms,
                st.images_ms,
                st.ipcache_ms,
                st.total_ms(),
                r(st.total_ms() / 1354.0),
                b.load_fill_ms.map_or("–".into(), |v| format!("{v:.1}"))
            );
        }
        None => {
            let _ = writeln!(s, "The first compile alone took longer than {:.0} s (Cilium anchor: 1.354 s): policyc / anchor > {}.", b.budget_s, r(b.budget_s / 1.354));
        }
    }
    let _ = writeln!(
        s,
        "\n| update | recompute ms | universe / resolve / optimize / images ms | port functions reused / computed | full recompile ms | write changed entries ms | entries written / deleted | needs reload |\n|---|---:|---:|---:|---:|---:|---:|---|"
    );
    for (name, u) in [
        ("one rule (TCP 7 from everyone)", &b.one_rule),
        (
            "one identity (new pod matched by tier rules)",
            &b.one_identity,
        ),
    ] {
        match u {
            Some(u) => {
                let _ = writeln!(
                    s,
                    "| {name} | {:.1} | {:.1} / {:.1} / {:.1} / {:.1} | {} / {} | {:.1} | {:.2} | {} / {} | {} |",
                    u.recompute_ms,
                    u.universe_ms,
                    u.resolve_ms,
                    u.optimize_ms,
                    u.images_ms,
                    u.functions_reused,
                    u.functions_computed,
                    u.full_recompute_ms,
                    u.write_ms,
                    u.written,
                    u.deleted,
                    u.needs_reload
                );
            }
            None => {
                let _ = writeln!(s, "| {name} | not finished | | | | | | |");
            }
        }
    }
    let _ = writeln!(
        s,
        "\nResolution is incremental (selector cache and peer-group functions kept between updates); the universe, the optimizer's tables and the map images are still rebuilt in full, then only the changed entries are written. The incremental images are checked equal to a full recompile's."
    );
    let _ = writeln!(s, "\nCompile stages of the T1 inputs:\n\n| N rules | identities | universe ms | resolve ms | optimize ms | images ms |\n|---:|---:|---:|---:|---:|---:|");
    for c in &res.compiles {
        let _ = writeln!(
            s,
            "| {} | {} | {:.1} | {:.1} | {:.1} | {:.1} |",
            c.rules,
            c.identities,
            c.stages.universe_ms,
            c.stages.resolve_ms,
            c.stages.optimize_ms,
            c.stages.images_ms
        );
    }

    let _ = writeln!(s, "\n### T4 map entries vs Cilium's encoding\n");
    let _ = writeln!(
        s,
        "| input | endpoints | policyc entries (bytes) | Cilium entries (bytes) | policyc / Cilium |\n|---|---:|---:|---:|---:|"
    );
    for f in &res.footprint {
        let _ = writeln!(
            s,
            "| {} | {} | {} ({}) | {} ({}) | {} |",
            f.input,
            f.endpoints,
            f.policyc_entries,
            f.policyc_bytes,
            f.cilium_entries,
            f.cilium_bytes,
            r(f.policyc_entries as f64 / f.cilium_entries.max(1) as f64)
        );
    }

    let _ = writeln!(
        s,
        "\n### T5 verifier cost vs N (endpoint-ingress program)\n"
    );
    let _ = writeln!(
        s,
        "| N rules | policyc verified_insns | Cilium-layout ref verified_insns | policyc / ref | policyc load+fill ms | ref load+fill ms |\n|---:|---:|---:|---:|---:|---:|"
    );
    for v in &res.verdicts {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {:.1} | {:.1} |",
            v.rules,
            v.policyc.verified_insns,
            v.cilium_ref.verified_insns,
            r(f64::from(v.policyc.verified_insns) / f64::from(v.cilium_ref.verified_insns.max(1))),
            v.policyc.load_fill_ms,
            v.cilium_ref.load_fill_ms
        );
    }
    if let Some(e) = &res.dns_error {
        let _ = writeln!(s, "\n### T6 DNS policy\n\nT6 did not run: {e}");
    }
    if let Some(dns) = &res.dns {
        s.push_str(&crate::t6_dns::markdown(dns));
    }
    s
}

pub fn write(dir: &Path, res: &Results, md: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let stamp = res.machine.date_utc.replace(':', "");
    let stem = format!("{stamp}-{}", res.mode);
    let json = serde_json::to_string_pretty(res).map_err(std::io::Error::other)?;
    std::fs::write(dir.join(format!("{stem}.json")), json)?;
    std::fs::write(dir.join(format!("{stem}.md")), md)?;
    eprintln!("policyc-bench: wrote {}/{stem}.{{json,md}}", dir.display());
    Ok(())
}
