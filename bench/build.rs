//! Compiles the benchmark's own BPF programs (`bpf/`: T0 floors and the Cilium-layout
//! reference) at cargo build time, with the same clang selection and flags as
//! `backends/build.rs`.

use std::env;
use std::path::PathBuf;

const BPF_DIR: &str = "bpf";
const PROGRAMS: &[&str] = &["floors", "cilium_ref"];

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    compile_bpf_objects(&manifest_dir.join(BPF_DIR), PROGRAMS);
}

include!("../bpf-templates/build_support.rs");
