//! Compiles the datapath, DNS and dispatch templates (`bpf-templates/`) once, at cargo build
//! time, into BPF objects that `policyc-backends` embeds as bytes, so no run-time command needs
//! clang. Only with feature `objects`: without it (the CI half of policyc, built without clang)
//! nothing is compiled and no `*_OBJECT` exists.

#![cfg_attr(not(feature = "objects"), allow(dead_code, unused_imports))]

use std::env;
use std::path::PathBuf;

const TEMPLATE_DIR: &str = "../bpf-templates";
const PROGRAMS: &[&str] = &["policyc_datapath", "policyc_dns", "policyc_dispatch"];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    #[cfg(feature = "objects")]
    {
        let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
        compile_bpf_objects(&manifest_dir.join(TEMPLATE_DIR), PROGRAMS);
    }
}

#[cfg(feature = "objects")]
include!("../bpf-templates/build_support.rs");
