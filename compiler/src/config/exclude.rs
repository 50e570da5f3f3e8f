//! `exclude:` globs of the configuration: files and directories skipped while walking input
//! directories. A glob is matched against the path relative to the configuration file's
//! directory, and against each of its parent directories (so `policies/drafts` skips everything
//! under it); `*` stays within one path component, `**` crosses any number.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use policyc_diagnostics::{codes, Finding};
use policyc_frontend::yaml::Node;
use std::path::{Path, PathBuf};

/// The compiled globs and the directory they are relative to.
#[derive(Debug, Clone, Default)]
pub struct Exclude {
    base: PathBuf,
    set: Option<GlobSet>,
}

impl Exclude {
    /// Compiles `globs` (each with the node it was written at, for errors) relative to `base`.
    pub fn new(base: &Path, globs: &[(String, &Node)]) -> Result<Exclude, Vec<Finding>> {
        let mut builder = GlobSetBuilder::new();
        let mut findings = Vec::new();
        for (text, node) in globs {
            let pattern = text.trim_end_matches('/').trim_start_matches("./");
            match GlobBuilder::new(pattern).literal_separator(true).build() {
                Ok(glob) => {
                    builder.add(glob);
                }
                Err(e) => findings.push(
                    Finding::error(
                        &codes::INVALID_CONFIG,
                        format!("invalid glob `{text}` in `exclude`: {}", e.kind()),
                    )
                    .at(node.span, "invalid glob"),
                ),
            }
        }
        if !findings.is_empty() {
            return Err(findings);
        }
        let set = builder.build().map_err(|e| {
            vec![Finding::error(
                &codes::INVALID_CONFIG,
                format!("invalid `exclude`: {e}"),
            )]
        })?;
        Ok(Exclude {
            base: base.to_path_buf(),
            set: Some(set),
        })
    }

    /// Whether `path` (relative to `cwd`, or absolute) is excluded: it or one of its parent
    /// directories, relative to the configuration's directory, matches a glob. Paths outside
    /// that directory are never excluded.
    #[must_use]
    pub fn excludes(&self, path: &Path, cwd: &Path) -> bool {
        let Some(set) = &self.set else {
            return false;
        };
        let absolute = crate::paths::normalize(&cwd.join(path));
        let Ok(relative) = absolute.strip_prefix(crate::paths::normalize(&self.base)) else {
            return false;
        };
        relative
            .ancestors()
            .filter(|a| !a.as_os_str().is_empty())
            .any(|a| set.is_match(a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use policyc_diagnostics::source::{SourceMap, Span};
    use policyc_frontend::yaml::{NodeKind, Style};
    use test_case::test_case;

    fn exclude(globs: &[&str]) -> Exclude {
        let mut sources = SourceMap::new();
        let id = sources.add("c", "");
        let node = Node::new(Span::point(id, 0), NodeKind::Null, Style::Plain);
        let globs: Vec<(String, &Node)> = globs.iter().map(|g| (g.to_string(), &node)).collect();
        Exclude::new(Path::new("/repo"), &globs).unwrap_or_else(|e| panic!("{e:?}"))
    }

    #[test_case(&["drafts"], "drafts/a.yaml", true; "a directory excludes what is under it")]
    #[test_case(&["drafts/"], "drafts/x/a.yaml", true; "trailing slash is the same")]
    #[test_case(&["*.gen.yaml"], "a.gen.yaml", true; "star at the top")]
    #[test_case(&["*.gen.yaml"], "sub/a.gen.yaml", false; "star does not cross a slash")]
    #[test_case(&["**/*.gen.yaml"], "sub/deep/a.gen.yaml", true; "double star crosses")]
    #[test_case(&["drafts"], "policies/a.yaml", false; "other paths are kept")]
    #[test_case(&["drafts"], "/elsewhere/drafts/a.yaml", false; "outside the base never")]
    fn matches_relative_to_the_config_directory(globs: &[&str], path: &str, excluded: bool) {
        assert_eq!(
            exclude(globs).excludes(Path::new(path), Path::new("/repo")),
            excluded
        );
    }

    #[test]
    fn cwd_below_the_config_directory() {
        let e = exclude(&["policies/drafts"]);
        assert!(e.excludes(Path::new("drafts/a.yaml"), Path::new("/repo/policies")));
        assert!(!e.excludes(Path::new("a.yaml"), Path::new("/repo/policies")));
    }
}
