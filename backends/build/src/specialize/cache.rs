//! The object cache of `--specialize`: compiled objects keyed by the sha256 of everything that
//! produced them (generated C, embedded template sources, clang version and flags), so a
//! rebuild, or another endpoint with the same generated code, never runs clang again.
//! Layout: `<dir>/objects/<key>.bpf.o`, written to a temporary name and renamed into place.

use std::path::{Path, PathBuf};

/// `$XDG_CACHE_HOME/policyc`, else `$HOME/.cache/policyc`, else `<tmp>/policyc-cache`.
pub fn default_cache_dir() -> PathBuf {
    if let Some(xdg) = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(xdg).join("policyc");
    }
    if let Some(home) = std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(home).join(".cache").join("policyc");
    }
    std::env::temp_dir().join("policyc-cache")
}

const ELF_MAGIC: &[u8] = b"\x7fELF";

/// A cache directory.
#[derive(Debug, Clone)]
pub struct ObjectCache {
    dir: PathBuf,
}

impl ObjectCache {
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
        }
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join("objects").join(format!("{key}.bpf.o"))
    }

    /// The cached object for `key` (a truncated or foreign file counts as a miss).
    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        std::fs::read(self.path(key))
            .ok()
            .filter(|bytes| bytes.starts_with(ELF_MAGIC))
    }

    /// Stores an object; concurrent writers of the same key write the same bytes.
    pub fn put(&self, key: &str, bytes: &[u8]) -> std::io::Result<()> {
        let path = self.path(key);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let partial = path.with_extension(format!("partial-{}", std::process::id()));
        std::fs::write(&partial, bytes)?;
        std::fs::rename(&partial, &path)
    }
}
