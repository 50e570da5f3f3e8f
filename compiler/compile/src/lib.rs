//! policyc-compile: from lowered policy and an inventory to the artifact a node installs.
//!
//! The modules follow the pipeline: [`resolve`] (per endpoint and direction: peer groups and
//! port functions, with Cilium's map encoding in `resolve::cilium_encoding`) → [`optimize`]
//! (identity classes, decision DAGs, map layouts) → [`build`] (map images, the DNS stage's
//! tables from [`dns`], `--specialize` C, `manifest.json`, the report). Nothing here needs
//! privileges or a BPF-capable kernel. [`build`] embeds the template objects compiled by
//! `policyc-backends` with clang, so it exists only with feature `bpf`.

#[cfg(feature = "bpf")]
pub mod build;
pub mod dns;
pub mod optimize;
pub mod resolve;
