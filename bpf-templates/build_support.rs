// Shared by the build scripts that compile BPF C (backends/build.rs, bench/build.rs) through
// `include!`: one clang selection (clang.rs, also used at run time), one set of flags, and
// change tracking by directory, so a new header can never be missed. No `use` lines here, so
// the including scripts keep their own imports.

include!("clang.rs");

/// Compiles `<source_dir>/<program>.bpf.c` into `$OUT_DIR/<program>.bpf.o` for each program,
/// with `-I<source_dir>` and the multiarch include directory, through libbpf-cargo. Cargo
/// reruns the script when anything under `source_dir` or bpf-templates/ (this file, clang.rs)
/// changes, or `$CLANG`.
fn compile_bpf_objects(source_dir: &std::path::Path, programs: &[&str]) {
    let templates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../bpf-templates");
    println!("cargo:rerun-if-changed={}", source_dir.display());
    if templates != source_dir {
        println!("cargo:rerun-if-changed={}", templates.display());
    }
    println!("cargo:rerun-if-env-changed=CLANG");
    println!("cargo:rerun-if-changed=build.rs");

    let clang = find_clang(None).unwrap_or_else(|| std::path::PathBuf::from("clang"));
    let mut args = vec![
        format!("-I{}", source_dir.display()),
        "-Wall".to_owned(),
        "-Werror".to_owned(),
    ];
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    if let Some(multiarch) = multiarch_include(&arch) {
        args.push(format!("-I{}", multiarch.display()));
    }
    let out_dir = std::path::PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());
    for program in programs {
        let source = format!("{program}.bpf.c");
        let result = libbpf_cargo::SkeletonBuilder::new()
            .source(source_dir.join(&source))
            .obj(out_dir.join(format!("{program}.bpf.o")))
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
