// The one clang lookup for BPF C: used by the build scripts that compile bpf-templates/ and
// bench/bpf/ (through build_support.rs) and, at run time, by `policyc build --specialize`
// (`policyc_backends::clang`, this file as a `#[path]` module). It must compile both ways, so:
// no `use` lines, no inner doc comments, std paths spelled out.

/// Compilers tried in order when neither an explicit one nor `$CLANG` names one.
pub const CLANG_CANDIDATES: [&str; 3] = ["clang-16", "clang-19", "clang"];

/// `explicit`, else `$CLANG`, else the first of [`CLANG_CANDIDATES`] found on `PATH`.
pub fn find_clang(explicit: Option<&std::path::Path>) -> Option<std::path::PathBuf> {
    if let Some(clang) = explicit {
        return Some(clang.to_path_buf());
    }
    if let Some(clang) = std::env::var_os("CLANG") {
        return Some(std::path::PathBuf::from(clang));
    }
    let path = std::env::var_os("PATH")?;
    CLANG_CANDIDATES.iter().find_map(|candidate| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(candidate))
            .find(|full| full.is_file())
    })
}

/// Debian keeps `asm/types.h` (needed by `<linux/bpf.h>`) under the multiarch include
/// directory of the target architecture (`arch` as in Rust's `target_arch`).
pub fn multiarch_include(arch: &str) -> Option<std::path::PathBuf> {
    let triple = match arch {
        "x86_64" => "x86_64-linux-gnu",
        "aarch64" => "aarch64-linux-gnu",
        _ => return None,
    };
    let dir = std::path::Path::new("/usr/include").join(triple);
    dir.is_dir().then_some(dir)
}
