//! T1 (verdict cost vs N) and T5 (verifier cost): policyc's endpoint-ingress program and the
//! Cilium-layout reference, loaded for the same policy, run over the same trace of distinct new
//! flows (BPF_PROG_TEST_RUN, repeat 1 per packet, conntrack emptied before every repetition so
//! that every packet takes the policy path). Before timing, every packet's pass/drop outcome is
//! compared between the two programs.

use crate::cilium_ref;
use crate::objects;
use crate::stats::{summarize, Summary};
use crate::trace::ingress_trace;
use crate::workload::Workload;
use policyc_backends::layout::Direction;
use policyc_kernel::testrun::TCX_DROP;
use policyc_kernel::{AttachKind, DatapathInstance, LoadRequest};
use std::time::Instant;

#[derive(Debug, Clone, serde::Serialize)]
pub struct PeerVerdict {
    /// Per-packet ns over all repetitions (pooled): median, p99, mean.
    pub per_packet: Summary,
    /// Mean ns/packet of each repetition, summarised over the repetitions.
    pub rep_means: Summary,
    /// One hot denied packet, repeated (no conntrack entry is created on a drop).
    pub hot_deny: Summary,
    pub verified_insns: u32,
    /// Open + verify + load + fill the maps, ms.
    pub load_fill_ms: f64,
    /// The load (verifier) call alone, where measured separately.
    pub verify_ms: f64,
    pub map_entries: usize,
    pub allowed: usize,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct VerdictRow {
    pub rules: usize,
    pub trace_packets: usize,
    pub disagreements: usize,
    pub policyc: PeerVerdict,
    pub cilium_ref: PeerVerdict,
}

fn passes(return_value: u32) -> bool {
    return_value != TCX_DROP
}

pub fn run(
    workload: &Workload,
    trace_len: usize,
    reps: usize,
    hot_repeat: u32,
) -> Result<VerdictRow, String> {
    let frames = ingress_trace(&workload.set, trace_len, 7);

    let t = Instant::now();
    let mut maps: Vec<_> = workload.images.maps.iter().collect();
    maps.push(&workload.ipcache_image);
    let request = LoadRequest {
        config: workload.images.config,
        maps,
        kinds: vec![AttachKind::Tcx],
    };
    let instance = DatapathInstance::load(&request).map_err(|e| format!("policyc load: {e}"))?;
    let pc_total_ms = t.elapsed().as_secs_f64() * 1e3;
    let pc_prog = instance
        .program(Direction::Ingress, AttachKind::Tcx)
        .map_err(|e| e.to_string())?;
    let pc_insns = instance
        .verified_insns(Direction::Ingress, AttachKind::Tcx)
        .map_err(|e| e.to_string())?;

    let t = Instant::now();
    let (cr, cr_entries) = cilium_ref::load(workload)?;
    let cr_total_ms = t.elapsed().as_secs_f64() * 1e3;
    let cr_prog = objects::program(&cr.object, cilium_ref::INGRESS_PROGRAM)?;
    let cr_insns = objects::prog_info(&cr_prog)?.0;

    let flush_pc = || instance.flush_flows().map_err(|e| e.to_string());
    let flush_cr = || objects::clear(&cr.object, cilium_ref::CT_MAP);

    // Agreement and allowed counts (fresh conntrack).
    flush_pc()?;
    flush_cr()?;
    let mut disagreements = 0;
    let (mut pc_allowed, mut cr_allowed) = (0, 0);
    for f in &frames {
        let a = passes(objects::run_ns(&pc_prog, f, 1)?.0);
        let b = passes(objects::run_ns(&cr_prog, f, 1)?.0);
        pc_allowed += usize::from(a);
        cr_allowed += usize::from(b);
        disagreements += usize::from(a != b);
    }

    let mut pc_samples = Vec::with_capacity(frames.len() * reps);
    let mut cr_samples = Vec::with_capacity(frames.len() * reps);
    let (mut pc_means, mut cr_means) = (Vec::new(), Vec::new());
    for rep in 0..reps {
        flush_pc()?;
        flush_cr()?;
        let one = |prog: &libbpf_rs::ProgramMut<'_>,
                   out: &mut Vec<f64>,
                   means: &mut Vec<f64>|
         -> Result<(), String> {
            let start = out.len();
            for f in &frames {
                out.push(objects::run_ns(prog, f, 1)?.1);
            }
            let n = (out.len() - start).max(1) as f64;
            means.push(out[start..].iter().sum::<f64>() / n);
            Ok(())
        };
        if rep % 2 == 0 {
            one(&pc_prog, &mut pc_samples, &mut pc_means)?;
            one(&cr_prog, &mut cr_samples, &mut cr_means)?;
        } else {
            one(&cr_prog, &mut cr_samples, &mut cr_means)?;
            one(&pc_prog, &mut pc_samples, &mut pc_means)?;
        }
    }

    // A denied packet repeated: the whole policy path every time (drops create no flow).
    flush_pc()?;
    flush_cr()?;
    let denied = frames
        .iter()
        .find(|f| objects::run_ns(&pc_prog, f, 1).is_ok_and(|(rv, _)| !passes(rv)));
    let (mut pc_hot, mut cr_hot) = (Vec::new(), Vec::new());
    if let Some(f) = denied {
        for _ in 0..reps {
            pc_hot.push(objects::run_ns(&pc_prog, f, hot_repeat)?.1);
            cr_hot.push(objects::run_ns(&cr_prog, f, hot_repeat)?.1);
        }
    }

    let (pc_entries, _) = workload.policyc_entries();
    Ok(VerdictRow {
        rules: workload.set.rules.len(),
        trace_packets: frames.len(),
        disagreements,
        policyc: PeerVerdict {
            per_packet: summarize(&pc_samples),
            rep_means: summarize(&pc_means),
            hot_deny: summarize(&pc_hot),
            verified_insns: pc_insns,
            load_fill_ms: pc_total_ms,
            verify_ms: f64::NAN,
            map_entries: pc_entries + workload.ipcache.len(),
            allowed: pc_allowed,
        },
        cilium_ref: PeerVerdict {
            per_packet: summarize(&cr_samples),
            rep_means: summarize(&cr_means),
            hot_deny: summarize(&cr_hot),
            verified_insns: cr_insns,
            load_fill_ms: cr_total_ms,
            verify_ms: cr.load_time.as_secs_f64() * 1e3,
            map_entries: cr_entries + workload.ipcache.len(),
            allowed: cr_allowed,
        },
    })
}
