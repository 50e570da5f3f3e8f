//! Finding the configuration file: the working directory, then each parent, stopping after the
//! directory that holds `.git` (the repository's root: a configuration above it belongs to
//! something else) or at the filesystem root.

use std::path::{Path, PathBuf};

/// The file names looked for in each directory, in this order.
pub const CONFIG_NAMES: [&str; 2] = [".policyc.yaml", ".policyc.toml"];

/// The nearest configuration file from `start` upward, if any. When one directory holds both
/// names, the YAML file is returned (and `load` of the other is never attempted): see
/// [`both_in`] for the error the caller reports.
#[must_use]
pub fn discover(start: &Path) -> Option<PathBuf> {
    let mut dir = Some(start);
    while let Some(d) = dir {
        if let Some(found) = CONFIG_NAMES.iter().map(|n| d.join(n)).find(|p| p.is_file()) {
            return Some(found);
        }
        if d.join(".git").exists() {
            return None;
        }
        dir = d.parent();
    }
    None
}

/// Both configuration files in `dir` (an ambiguity the caller refuses).
#[must_use]
pub fn both_in(dir: &Path) -> bool {
    CONFIG_NAMES.iter().all(|n| dir.join(n).is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(path: &Path) {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
        }
        std::fs::write(path, "").unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn finds_the_nearest_file_upward() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        touch(&dir.path().join("repo/.git/HEAD"));
        touch(&dir.path().join("repo/.policyc.toml"));
        std::fs::create_dir_all(dir.path().join("repo/a/b")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            discover(&dir.path().join("repo/a/b")),
            Some(dir.path().join("repo/.policyc.toml"))
        );
        touch(&dir.path().join("repo/a/.policyc.yaml"));
        assert_eq!(
            discover(&dir.path().join("repo/a/b")),
            Some(dir.path().join("repo/a/.policyc.yaml"))
        );
    }

    #[test]
    fn stops_at_the_git_root() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        touch(&dir.path().join(".policyc.yaml"));
        touch(&dir.path().join("repo/.git/HEAD"));
        std::fs::create_dir_all(dir.path().join("repo/sub")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(discover(&dir.path().join("repo/sub")), None);
        assert_eq!(discover(dir.path()), Some(dir.path().join(".policyc.yaml")));
    }
}
