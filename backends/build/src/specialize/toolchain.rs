//! Compiling generated C at `policyc build --specialize` time. The template sources and the
//! libbpf headers they include are embedded in the policyc binary, so an installed policyc needs
//! only clang on PATH: each compile writes them with the generated header into a private
//! temporary directory and runs clang there with relative paths only (no temporary path reaches
//! the object, so the same inputs give the same bytes). Flags are those of the cargo build of
//! the template (`backends/build.rs` through libbpf-cargo) plus `-DPOLICYC_SPECIALIZED` and
//! `-Wno-unused-function`.

use super::emit::SPECIALIZED_HEADER;
use super::error::SpecializeError;
use policyc_backends::clang::{find_clang, multiarch_include, CLANG_CANDIDATES};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

// `TEMPLATE_FILES`: the template and every header of `bpf-templates/`, embedded by build.rs.
include!(concat!(env!("OUT_DIR"), "/bpf_template_files.rs"));

const TEMPLATE_FILE: &str = "policyc_datapath.bpf.c";
const OBJECT_FILE: &str = "policyc_specialized.bpf.o";
const SOURCE_DIR: &str = "src";
const INCLUDE_DIR: &str = "include";

/// Every embedded file the compile writes, with its path relative to the compile directory.
pub fn embedded_files() -> Vec<(String, &'static str)> {
    let mut files: Vec<(String, &'static str)> = TEMPLATE_FILES
        .iter()
        .map(|(name, contents)| (format!("{SOURCE_DIR}/{name}"), *contents))
        .collect();
    for (name, contents) in libbpf_sys::API_HEADERS.iter() {
        files.push((format!("{INCLUDE_DIR}/bpf/{name}"), *contents));
    }
    files
}

fn target_arch_define() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "x86",
        "aarch64" => "arm64",
        "powerpc64" => "powerpc",
        "s390x" => "s390",
        "riscv64" => "riscv",
        other => other,
    };
    format!("-D__TARGET_ARCH_{arch}")
}

/// A clang able to compile BPF, and the exact flags used.
#[derive(Debug, Clone)]
pub struct Toolchain {
    pub clang: PathBuf,
    /// First line of `clang --version` (part of the cache key).
    pub version: String,
    pub flags: Vec<String>,
}

impl Toolchain {
    /// `explicit`, else `$CLANG`, else the first of [`CLANG_CANDIDATES`] on PATH.
    pub fn find(explicit: Option<&Path>) -> Result<Toolchain, SpecializeError> {
        let Some(clang) = find_clang(explicit) else {
            return Err(SpecializeError::ClangNotFound {
                tried: CLANG_CANDIDATES.join(", "),
            });
        };
        let output = Command::new(&clang)
            .arg("--version")
            .output()
            .map_err(|source| SpecializeError::ClangUnusable {
                clang: clang.clone(),
                problem: source.to_string(),
            })?;
        if !output.status.success() {
            return Err(SpecializeError::ClangUnusable {
                clang,
                problem: format!("`--version` exited with {}", output.status),
            });
        }
        let version = String::from_utf8_lossy(&output.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_string();
        let mut flags = vec![
            format!("-I{SOURCE_DIR}"),
            "-Wall".to_string(),
            "-Werror".to_string(),
        ];
        if let Some(dir) = multiarch_include(std::env::consts::ARCH) {
            flags.push(format!("-I{}", dir.display()));
        }
        flags.extend([
            format!("-I{INCLUDE_DIR}"),
            "-fno-stack-protector".to_string(),
            target_arch_define(),
            "-DPOLICYC_SPECIALIZED".to_string(),
            // The template's table-driven helpers (port_function) are unused once the
            // generated policy_lookup replaces theirs.
            "-Wno-unused-function".to_string(),
            "-g".to_string(),
            "-O2".to_string(),
            "-target".to_string(),
            "bpf".to_string(),
            "-fdebug-compilation-dir=.".to_string(),
        ]);
        Ok(Toolchain {
            clang,
            version,
            flags,
        })
    }

    /// Compiles the template with `header` as `policyc_specialized.h`; returns the object.
    /// `endpoints` names who the header was generated for (in the error).
    pub fn compile(&self, header: &str, endpoints: &str) -> Result<Vec<u8>, SpecializeError> {
        let dir = ScratchDir::create()?;
        for (relative, contents) in embedded_files() {
            dir.write(&relative, contents)?;
        }
        dir.write(&format!("{SOURCE_DIR}/{SPECIALIZED_HEADER}"), header)?;
        let output = Command::new(&self.clang)
            .current_dir(dir.path())
            .args(&self.flags)
            .arg("-c")
            .arg(format!("{SOURCE_DIR}/{TEMPLATE_FILE}"))
            .arg("-o")
            .arg(OBJECT_FILE)
            .output()
            .map_err(|source| SpecializeError::ClangUnusable {
                clang: self.clang.clone(),
                problem: source.to_string(),
            })?;
        if !output.status.success() {
            return Err(SpecializeError::ClangFailed {
                endpoints: endpoints.to_string(),
                clang: self.clang.clone(),
                status: output.status.to_string(),
                log: String::from_utf8_lossy(&output.stderr).into_owned(),
            });
        }
        let object = dir.path().join(OBJECT_FILE);
        std::fs::read(&object).map_err(|source| SpecializeError::Io {
            path: object,
            source,
        })
    }
}

/// A private directory under the system temp dir, removed on drop.
struct ScratchDir(PathBuf);

static SCRATCH_COUNTER: AtomicU64 = AtomicU64::new(0);

impl ScratchDir {
    fn create() -> Result<ScratchDir, SpecializeError> {
        let n = SCRATCH_COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!(
            "policyc-specialize-{}-{n}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&path).map_err(|source| SpecializeError::Io {
            path: path.clone(),
            source,
        })?;
        Ok(ScratchDir(path))
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn write(&self, relative: &str, contents: &str) -> Result<(), SpecializeError> {
        let path = self.0.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| SpecializeError::Io {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        std::fs::write(&path, contents).map_err(|source| SpecializeError::Io { path, source })
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
