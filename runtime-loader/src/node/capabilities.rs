//! Least privilege: the capabilities each command needs, checked up front from the effective
//! set in `/proc/self/status`, with an error naming what is missing.
//!
//! - `apply`, `unload`: CAP_BPF (create maps, load programs, pin, open pins) and CAP_NET_ADMIN
//!   (SCHED_CLS/CGROUP_SKB programs and tcx/cgroup links). The dispatcher's program arrays,
//!   tail calls and generation flips need nothing more (map updates on pinned maps: CAP_BPF).
//!   CAP_PERFMON is recommended: without it the verifier applies Spectre-v1 sanitation and may
//!   reject larger tables' programs.
//! - `status`, `dump`, `events`: CAP_BPF (bpf() on pinned objects; with
//!   `kernel.unprivileged_bpf_disabled` set, every bpf() command needs it).
//! - CAP_SYS_ADMIN is never required by policyc itself; the kernel demands it only to mount
//!   bpffs when `/sys/fs/bpf` is not mounted yet, and for `bpftool`-style lookups by id, which
//!   policyc avoids by always going through its own pins.

use super::error::NodeError;

/// A Linux capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capability {
    /// CAP_NET_ADMIN.
    NetAdmin,
    /// CAP_SYS_ADMIN.
    SysAdmin,
    /// CAP_PERFMON.
    Perfmon,
    /// CAP_BPF.
    Bpf,
}

impl Capability {
    fn bit(self) -> u32 {
        match self {
            Capability::NetAdmin => 12,
            Capability::SysAdmin => 21,
            Capability::Perfmon => 38,
            Capability::Bpf => 39,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Capability::NetAdmin => "CAP_NET_ADMIN",
            Capability::SysAdmin => "CAP_SYS_ADMIN",
            Capability::Perfmon => "CAP_PERFMON",
            Capability::Bpf => "CAP_BPF",
        }
    }
}

/// Capabilities to install or remove policy.
pub const INSTALL: &[Capability] = &[Capability::Bpf, Capability::NetAdmin];
/// Capabilities to read installed policy.
pub const INSPECT: &[Capability] = &[Capability::Bpf];

/// The effective capability mask of this process.
pub fn effective() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("CapEff:"))?;
    u64::from_str_radix(line.trim_start_matches("CapEff:").trim(), 16).ok()
}

/// Which of `needed` are missing from `mask`.
pub fn missing_from(mask: u64, needed: &[Capability]) -> Vec<Capability> {
    needed
        .iter()
        .copied()
        .filter(|c| mask & (1u64 << c.bit()) == 0)
        .collect()
}

/// `Err` naming the missing capabilities for `command`.
pub fn require(command: &str, needed: &[Capability]) -> Result<(), NodeError> {
    let Some(mask) = effective() else {
        return Ok(()); // not Linux procfs: let the kernel answer
    };
    let missing = missing_from(mask, needed);
    if missing.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = missing.iter().map(|c| c.name()).collect();
    Err(NodeError::Capabilities(format!(
        "policy-loader {command} needs {} (missing: {}); run as root or grant them, e.g. \
         `setcap cap_bpf,cap_net_admin,cap_perfmon+ep policy-loader` or systemd \
         AmbientCapabilities=CAP_BPF CAP_NET_ADMIN CAP_PERFMON",
        needed
            .iter()
            .map(|c| c.name())
            .collect::<Vec<_>>()
            .join(" + "),
        names.join(", ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_case::test_case;

    #[test_case(0, &[Capability::Bpf, Capability::NetAdmin] ; "nothing effective misses both")]
    #[test_case(1 << 39, &[Capability::NetAdmin] ; "bpf only misses net admin")]
    #[test_case((1 << 39) | (1 << 12), &[] ; "bpf and net admin are enough")]
    fn missing_capabilities_are_named(mask: u64, expected: &[Capability]) {
        assert_eq!(missing_from(mask, INSTALL), expected);
    }
}
