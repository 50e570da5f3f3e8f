//! The dispatcher object (`bpf-templates/policyc_dispatch.bpf.c`), compiled at cargo build time:
//! the stable program `policy-loader` attaches per endpoint and direction, which tail-calls the
//! datapath program of the endpoint's active generation.

/// The compiled dispatcher (ELF, BPF target, with BTF).
#[cfg(feature = "objects")]
pub static DISPATCH_OBJECT: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/policyc_dispatch.bpf.o"));

/// Map names of the dispatcher.
pub mod map_names {
    /// `ARRAY[1]` of u32: the endpoint's active generation (slot = generation & 1).
    pub const ACTIVE_GENERATION: &str = "pc_active_gen";
    /// `PROG_ARRAY[2]`: endpoint-ingress datapath programs by slot.
    pub const PROGRAMS_INGRESS: &str = "pc_prog_ingress";
    /// `PROG_ARRAY[2]`: endpoint-egress datapath programs by slot.
    pub const PROGRAMS_EGRESS: &str = "pc_prog_egress";
    /// `PROG_ARRAY[2]`: endpoint-ingress DNS stage (answers) by slot.
    pub const DNS_PROGRAMS_INGRESS: &str = "pc_dns_prog_ingress";
    /// `PROG_ARRAY[2]`: endpoint-egress DNS stage (questions) by slot.
    pub const DNS_PROGRAMS_EGRESS: &str = "pc_dns_prog_egress";
}

/// Program names (ELF symbols) of the four dispatcher entry points.
pub mod programs {
    /// Endpoint egress, tcx ingress on the host-side interface.
    pub const EGRESS_TCX: &str = "pc_disp_egress_tcx";
    /// Endpoint ingress, tcx egress on the host-side interface.
    pub const INGRESS_TCX: &str = "pc_disp_ingress_tcx";
    /// Endpoint egress as cgroup_skb/egress.
    pub const EGRESS_CGROUP: &str = "pc_disp_egress_cg";
    /// Endpoint ingress as cgroup_skb/ingress.
    pub const INGRESS_CGROUP: &str = "pc_disp_ingress_cg";
    /// DNS stage dispatcher, endpoint egress (tcx ingress), after the main one.
    pub const DNS_EGRESS_TCX: &str = "pc_dns_disp_egress_tcx";
    /// DNS stage dispatcher, endpoint ingress (tcx egress), after the main one.
    pub const DNS_INGRESS_TCX: &str = "pc_dns_disp_ingress_tcx";
    /// DNS stage pass-through (`TCX_NEXT`), endpoint egress.
    pub const DNS_PASS_EGRESS_TCX: &str = "pc_dns_pass_egress_tcx";
    /// DNS stage pass-through (`TCX_NEXT`), endpoint ingress.
    pub const DNS_PASS_INGRESS_TCX: &str = "pc_dns_pass_ingress_tcx";
}

/// Program-array slots per direction (generation parity).
pub const SLOTS: u32 = 2;

/// The slot generation `generation` lives in.
pub fn slot_of(generation: u64) -> u32 {
    (generation & 1) as u32
}
