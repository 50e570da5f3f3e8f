//! Shared helpers for the cross-crate test suite (fixture paths, the loader binary, generators,
//! network namespaces).

pub mod corpus;
pub mod dnsmasq;
pub mod gen;
pub mod listener;
pub mod loader;
pub mod netns;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root (the parent of this crate).
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| panic!("workspace root"))
}

/// Builds the `policy-loader` binary (a no-op when it is fresh) and returns its path; the
/// end-to-end tests run it as a separate process, as an operator would. `POLICYC_LOADER_BIN`
/// names another binary to test instead (a release build, or an older loader to show that a
/// regression test fails without its fix); nothing is built then.
pub fn loader_binary() -> PathBuf {
    if let Some(binary) = std::env::var_os("POLICYC_LOADER_BIN") {
        return PathBuf::from(binary);
    }
    let status = Command::new(env!("CARGO"))
        .args([
            "build",
            "-q",
            "-p",
            "policyc-loader",
            "--bin",
            "policy-loader",
        ])
        .current_dir(workspace())
        .status()
        .unwrap_or_else(|e| panic!("cargo build: {e}"));
    assert!(status.success(), "building policy-loader");
    loader_path()
}

/// Builds the L7 filter binary `policyc-l7` next to the loader (where `policy-loader apply`
/// looks for it) and returns its path; with `POLICYC_LOADER_BIN` set, nothing is built and the
/// filter next to that binary is used.
pub fn l7_filter_binary() -> PathBuf {
    if let Some(binary) = std::env::var_os("POLICYC_LOADER_BIN") {
        return PathBuf::from(binary).with_file_name("policyc-l7");
    }
    let status = Command::new(env!("CARGO"))
        .args([
            "build",
            "-q",
            "-p",
            "policyc-l7-filter",
            "--bin",
            "policyc-l7",
        ])
        .current_dir(workspace())
        .status()
        .unwrap_or_else(|e| panic!("cargo build: {e}"));
    assert!(status.success(), "building policyc-l7");
    workspace().join("target/debug/policyc-l7")
}

/// Where `loader_binary` puts the loader (without building it).
pub fn loader_path() -> PathBuf {
    workspace().join("target/debug/policy-loader")
}

/// `policyc build` of `policies` for `inventory` into `out`, as the CLI runs it without a
/// progress display; `specialize`: with `--specialize`, objects cached in that directory.
/// Panics with the diagnostic when the build fails.
pub fn build_artifact(
    inventory: &Path,
    policies: Vec<PathBuf>,
    out: &Path,
    specialize: Option<&Path>,
) {
    use policyc_build::specialize::SpecializeOptions;
    use policyc_build::{build_artifact_with, BuildProgress, BuildRequest};
    let request = BuildRequest {
        inventory: inventory.to_path_buf(),
        policies,
        output: out.to_path_buf(),
        options: Default::default(),
        local_node: None,
        allow_unenforced: Vec::new(),
    };
    let options = specialize.map(|cache| SpecializeOptions {
        cache_dir: cache.to_path_buf(),
        ..SpecializeOptions::default()
    });
    let mut sources = policyc_diagnostics::source::SourceMap::default();
    if let Err(e) = build_artifact_with(
        &request,
        options.as_ref(),
        &mut sources,
        &BuildProgress::silent(),
    ) {
        panic!("policyc build of {}: {e}", out.display());
    }
}

/// Copies the text files under `from` to `to` (same tree), each through `transform`.
pub fn copy_tree(from: &Path, to: &Path, transform: &dyn Fn(&str) -> String) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("{}: {e}", to.display()));
    for entry in std::fs::read_dir(from)
        .unwrap_or_else(|e| panic!("{}: {e}", from.display()))
        .flatten()
    {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target, transform);
        } else {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_else(|e| panic!("{e}"));
            std::fs::write(&target, transform(&text)).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

/// Copies the example policies to `dir` with their DNS rules enforced at L4 (every `rules.dns`
/// section removed): the in-kernel DNS policy needs tcx, and the cgroup_skb tests' loader
/// refuses endpoints with `rules.dns` there (fail closed).
pub fn l4_example_policies(dir: &Path) -> PathBuf {
    fn indent(line: &str) -> usize {
        line.len() - line.trim_start().len()
    }
    fn without_dns_rules(text: &str) -> String {
        let lines: Vec<&str> = text.lines().collect();
        let mut out = Vec::new();
        let mut i = 0;
        while i < lines.len() {
            let line = lines[i];
            let dns_next = lines
                .get(i + 1)
                .is_some_and(|next| next.trim() == "dns:" && indent(next) > indent(line));
            if line.trim() == "rules:" && dns_next {
                let depth = indent(line);
                i += 1;
                while i < lines.len() && indent(lines[i]) > depth && !lines[i].trim().is_empty() {
                    i += 1;
                }
                continue;
            }
            out.push(line);
            i += 1;
        }
        out.join("\n") + "\n"
    }
    copy_tree(
        &workspace().join("policy-examples/policies"),
        dir,
        &without_dns_rules,
    );
    dir.to_path_buf()
}

/// Relative path → bytes of every file under `dir` (to compare two artifacts byte for byte).
pub fn file_tree(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)
            .unwrap_or_else(|e| panic!("{}: {e}", d.display()))
            .flatten()
        {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(relative) = p.strip_prefix(dir) {
                let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                out.insert(relative.display().to_string(), bytes);
            }
        }
    }
    out
}
