//! The datapath template object, compiled from `bpf-templates/` at cargo build time.

/// The compiled datapath template (ELF, BPF target, with BTF). One object per endpoint is
/// opened from these bytes and specialised through `.rodata` and map contents.
#[cfg(feature = "objects")]
pub static DATAPATH_OBJECT: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/policyc_datapath.bpf.o"));

/// Name of the `.rodata` variable holding `struct policyc_config`.
pub const CONFIG_VARIABLE: &str = "policyc_config";

/// Program names (ELF symbols) of the four entry points.
pub mod programs {
    /// Endpoint egress, tcx ingress on the host-side interface (packets start at Ethernet).
    pub const EGRESS_TCX: &str = "pc_egress_tcx";
    /// Endpoint ingress, tcx egress on the host-side interface.
    pub const INGRESS_TCX: &str = "pc_ingress_tcx";
    /// Endpoint egress as cgroup_skb/egress (packets start at L3).
    pub const EGRESS_CGROUP: &str = "pc_egress_cg";
    /// Endpoint ingress as cgroup_skb/ingress.
    pub const INGRESS_CGROUP: &str = "pc_ingress_cg";
}
