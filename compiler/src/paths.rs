//! Paths as the user reads them: `./a/../b/x.yaml` is shown as `b/x.yaml`, and a path from the
//! configuration file (absolute once resolved against the file's directory) relative to the
//! working directory when it is under it.

use std::path::{Path, PathBuf};

/// `path` without `.` components and with each `dir/..` removed, lexically (one definition:
/// the frontend's, which also names input files).
#[must_use]
pub fn normalize(path: &Path) -> PathBuf {
    policyc_frontend::input_files::normalize_lexically(path)
}

/// `path` (relative paths are relative to `cwd`) normalized, and relative to `cwd` when it is
/// under it.
#[must_use]
pub fn shown(path: &Path, cwd: &Path) -> PathBuf {
    let absolute = normalize(&cwd.join(path));
    match absolute.strip_prefix(normalize(cwd)) {
        Ok(rel) if rel.as_os_str().is_empty() => PathBuf::from("."),
        Ok(rel) => rel.to_path_buf(),
        Err(_) => absolute,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_case::test_case;

    #[test_case("./a/../b/x.yaml", "b/x.yaml"; "dot and parent removed")]
    #[test_case("a/./b/", "a/b"; "inner dot")]
    #[test_case("../x.yaml", "../x.yaml"; "leading parent kept")]
    #[test_case("a/../../x", "../x"; "parent past the start kept")]
    #[test_case("/../x", "/x"; "parent of root is root")]
    #[test_case("./", "."; "only dot")]
    fn normalizes_lexically(input: &str, expected: &str) {
        assert_eq!(normalize(Path::new(input)), PathBuf::from(expected));
    }

    #[test_case("/repo/policies", "/repo", "policies"; "under cwd is relative")]
    #[test_case("/other/x", "/repo", "/other/x"; "outside cwd stays absolute")]
    #[test_case("sub/../p", "/repo", "p"; "relative normalized")]
    #[test_case("/repo", "/repo", "."; "cwd itself")]
    fn shows_relative_to_cwd(path: &str, cwd: &str, expected: &str) {
        assert_eq!(
            shown(Path::new(path), Path::new(cwd)),
            PathBuf::from(expected)
        );
    }
}
