//! Compiles the benchmark's own BPF programs (`bpf/`: T0 floors and the Cilium-layout
//! reference) at cargo build time, with the same clang selection as `backends/build.rs`.

use std::env;
use std::path::PathBuf;

use libbpf_cargo::SkeletonBuilder;

const BPF_DIR: &str = "bpf";
const PROGRAMS: &[&str] = &["floors", "cilium_ref"];
const HEADERS: &[&str] = &["bench_parse.h"];

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let bpf_dir = manifest_dir.join(BPF_DIR);
    for header in HEADERS {
        println!("cargo:rerun-if-changed={}", bpf_dir.join(header).display());
    }
    println!("cargo:rerun-if-env-changed=CLANG");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=../bpf-templates/build_support.rs");
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").unwrap_or_default());
    let clang = find_clang();
    for program in PROGRAMS {
        let source = bpf_dir.join(format!("{program}.bpf.c"));
        println!("cargo:rerun-if-changed={}", source.display());
        let mut args = vec![
            format!("-I{}", bpf_dir.display()),
            "-Wall".to_owned(),
            "-Werror".to_owned(),
        ];
        if let Some(multiarch) = multiarch_include() {
            args.push(format!("-I{}", multiarch.display()));
        }
        let result = SkeletonBuilder::new()
            .source(&source)
            .obj(out_dir.join(format!("{program}.bpf.o")))
            .clang(&clang)
            .clang_args(args)
            .build();
        if let Err(error) = result {
            panic!(
                "compiling {} with {} failed (set $CLANG to choose a compiler): {error:#}",
                source.display(),
                clang.display()
            );
        }
    }
}

include!("../bpf-templates/build_support.rs");
