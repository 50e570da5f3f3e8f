//! policyc-compile: from lowered policy and an inventory to per-endpoint decisions.
//!
//! The modules follow the pipeline: [`resolve`] (per endpoint and direction: peer groups and
//! port functions, with Cilium's map encoding in `resolve::cilium_encoding`) → [`optimize`]
//! (identity classes, decision DAGs, map layouts); [`dns`] gives the FQDN classes of the DNS
//! stage; [`incremental`] keeps one endpoint compiled across edits. Nothing here needs clang, libbpf or a BPF-capable kernel: `policyc-build` turns the
//! result into the artifact (map images, objects, `--specialize` C).

pub mod dns;
pub mod fast_hash;
pub mod incremental;
pub mod ipcache;
pub mod l7;
pub mod optimize;
pub mod resolve;
