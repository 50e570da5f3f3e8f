//! Compiles the datapath, DNS and dispatch templates (`bpf-templates/`) once, at cargo build
//! time, into BPF objects that `policyc-backends` embeds as bytes, so no run-time command needs
//! clang.

use std::env;
use std::path::PathBuf;

const TEMPLATE_DIR: &str = "../bpf-templates";
const PROGRAMS: &[&str] = &["policyc_datapath", "policyc_dns", "policyc_dispatch"];

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    compile_bpf_objects(&manifest_dir.join(TEMPLATE_DIR), PROGRAMS);
}

include!("../bpf-templates/build_support.rs");
