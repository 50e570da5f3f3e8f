// Shared by the build scripts that compile BPF C (backends/build.rs, bench/build.rs) through
// `include!`: one clang selection and one include-path rule. No `use` lines here, so the
// including scripts keep their own imports.

/// `$CLANG`, else the first of clang-16, clang-19, clang found on PATH.
fn find_clang() -> std::path::PathBuf {
    if let Some(clang) = std::env::var_os("CLANG") {
        return std::path::PathBuf::from(clang);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for candidate in ["clang-16", "clang-19", "clang"] {
        for dir in std::env::split_paths(&path) {
            let full = dir.join(candidate);
            if full.is_file() {
                return full;
            }
        }
    }
    std::path::PathBuf::from("clang")
}

/// Debian keeps `asm/types.h` (needed by `<linux/bpf.h>`) under the multiarch include dir.
fn multiarch_include() -> Option<std::path::PathBuf> {
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").ok()?;
    let triple = match arch.as_str() {
        "x86_64" => "x86_64-linux-gnu",
        "aarch64" => "aarch64-linux-gnu",
        _ => return None,
    };
    let dir = std::path::Path::new("/usr/include").join(triple);
    dir.is_dir().then_some(dir)
}
