//! Compiles the datapath template (`bpf-templates/`) once, at cargo build time, into a BPF
//! object that `policyc-backends` embeds as bytes, so no run-time command needs clang.

#![cfg_attr(not(feature = "objects"), allow(dead_code, unused_imports))]

use std::env;
use std::path::PathBuf;

#[cfg(feature = "objects")]
use libbpf_cargo::SkeletonBuilder;

const TEMPLATE_DIR: &str = "../bpf-templates";
const DATAPATH_SOURCE: &str = "policyc_datapath.bpf.c";
const DNS_SOURCE: &str = "policyc_dns.bpf.c";
const DISPATCH_SOURCE: &str = "policyc_dispatch.bpf.c";
const TEMPLATE_FILES: &[&str] = &[
    "policyc_datapath.bpf.c",
    "policyc_layout.h",
    "policyc_dns.bpf.c",
    "policyc_dispatch.bpf.c",
    "dns_layout.h",
    "fqdn_learned.h",
    "policyc_fqdn.h",
    "policyc_ipv6_ext.h",
];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // Feature `objects` off (the CI half of policyc, built without clang): nothing to compile,
    // and no `*_OBJECT` exists (the crates that embed one need the feature).
    #[cfg(feature = "objects")]
    compile_templates();
}

#[cfg(feature = "objects")]
fn compile_templates() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let template_dir = manifest_dir.join(TEMPLATE_DIR);
    for file in TEMPLATE_FILES {
        println!(
            "cargo:rerun-if-changed={}",
            template_dir.join(file).display()
        );
    }
    println!("cargo:rerun-if-env-changed=CLANG");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=../bpf-templates/build_support.rs");

    let out_dir = PathBuf::from(env::var_os("OUT_DIR").unwrap_or_default());
    let object = out_dir.join("policyc_datapath.bpf.o");
    let clang = find_clang();

    let mut args = vec![
        format!("-I{}", template_dir.display()),
        "-Wall".to_owned(),
        "-Werror".to_owned(),
    ];
    if let Some(multiarch) = multiarch_include() {
        args.push(format!("-I{}", multiarch.display()));
    }

    for (source, object) in [
        (DATAPATH_SOURCE, object),
        (DNS_SOURCE, out_dir.join("policyc_dns.bpf.o")),
        (DISPATCH_SOURCE, out_dir.join("policyc_dispatch.bpf.o")),
    ] {
        let result = SkeletonBuilder::new()
            .source(template_dir.join(source))
            .obj(&object)
            .clang(&clang)
            .clang_args(args.clone())
            .build();
        if let Err(error) = result {
            panic!(
                "compiling {source} with {} failed (set $CLANG to choose a compiler): {error:#}",
                clang.display()
            );
        }
    }
}

#[cfg(feature = "objects")]
include!("../bpf-templates/build_support.rs");
