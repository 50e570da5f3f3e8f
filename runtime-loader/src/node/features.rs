//! Kernel feature probe, run before anything is loaded: the program types (SCHED_CLS for tcx,
//! CGROUP_SKB), the map types the datapath declares (LPM trie, hash, LRU hash, array, per-CPU
//! array, ring buffer) and tcx links (Linux ≥ 6.6). Every missing feature is listed at once.

use libbpf_rs::{MapType, ProgramType};

use super::error::NodeError;

/// The attach mechanism an apply needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// tcx on interfaces.
    Tcx,
    /// cgroup_skb on cgroups.
    Cgroup,
}

fn kernel_release() -> Option<(u32, u32)> {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").ok()?;
    let mut parts = release.trim().split(['.', '-']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

fn probe_prog(ty: ProgramType, what: &str, missing: &mut Vec<String>) {
    match ty.is_supported() {
        Ok(true) => {}
        Ok(false) => missing.push(format!("program type {what}")),
        Err(e) => missing.push(format!("program type {what} (probe failed: {e})")),
    }
}

fn probe_map(ty: MapType, what: &str, missing: &mut Vec<String>) {
    match ty.is_supported() {
        Ok(true) => {}
        Ok(false) => missing.push(format!("map type {what}")),
        Err(e) => missing.push(format!("map type {what} (probe failed: {e})")),
    }
}

/// Probes everything `needs` requires; `Err` names every missing feature.
pub fn check_kernel_features(needs: &[Needs]) -> Result<(), NodeError> {
    let mut missing = Vec::new();
    probe_map(
        MapType::LpmTrie,
        "BPF_MAP_TYPE_LPM_TRIE (ipcache)",
        &mut missing,
    );
    probe_map(
        MapType::Hash,
        "BPF_MAP_TYPE_HASH (class/port tables)",
        &mut missing,
    );
    probe_map(
        MapType::LruHash,
        "BPF_MAP_TYPE_LRU_HASH (conntrack)",
        &mut missing,
    );
    probe_map(
        MapType::Array,
        "BPF_MAP_TYPE_ARRAY (intervals)",
        &mut missing,
    );
    probe_map(
        MapType::PercpuArray,
        "BPF_MAP_TYPE_PERCPU_ARRAY (counters)",
        &mut missing,
    );
    probe_map(
        MapType::RingBuf,
        "BPF_MAP_TYPE_RINGBUF (events, Linux ≥ 5.8)",
        &mut missing,
    );
    if needs.contains(&Needs::Tcx) {
        probe_prog(
            ProgramType::SchedCls,
            "BPF_PROG_TYPE_SCHED_CLS (tcx)",
            &mut missing,
        );
        match kernel_release() {
            Some(release) if release >= (6, 6) => {}
            Some((major, minor)) => missing.push(format!(
                "tcx links (Linux ≥ 6.6; this kernel is {major}.{minor}) — attach with cgroup_skb instead"
            )),
            None => missing.push("tcx links (kernel release unreadable)".into()),
        }
    }
    if needs.contains(&Needs::Cgroup) {
        probe_prog(
            ProgramType::CgroupSkb,
            "BPF_PROG_TYPE_CGROUP_SKB",
            &mut missing,
        );
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(NodeError::KernelFeatures(format!(
            "missing {}",
            missing.join("; ")
        )))
    }
}
