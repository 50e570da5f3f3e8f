//! Expands input paths (command-line arguments, a FlowTests file's `policies:`) into the files to
//! read: directories recursively in sorted order, each directory followed once (a symbolic-link
//! loop is walked once, not until the kernel's 40-link limit), and no file read twice. A path
//! given twice, or a file reached twice (a file and its directory, two links to one file), is an
//! error naming both ways it was reached: its policies would otherwise be loaded twice.

use policyc_diagnostics::codes::{DUPLICATE_INPUT, UNREADABLE_FILE};
use policyc_diagnostics::Finding;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The files under some input paths, in load order, and the problems found on the way.
#[derive(Debug, Default)]
pub struct InputFiles {
    pub files: Vec<PathBuf>,
    /// Unreadable paths and paths reached twice (errors).
    pub findings: Vec<Finding>,
}

/// `*.yaml`, `*.yml` and `*.json`: the files a directory contributes to policies and inventories.
#[must_use]
pub fn is_yaml_or_json(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml" | "json")
    )
}

/// How a file was reached, for the message when it is reached again.
#[derive(Debug, Clone)]
struct Origin {
    /// 1-based position in the input paths.
    index: usize,
    input: PathBuf,
    file: PathBuf,
}

impl Origin {
    fn describe(&self) -> String {
        if self.file == self.input {
            format!(
                "given as `{}` (input path {})",
                self.input.display(),
                self.index
            )
        } else {
            format!(
                "found as `{}` under `{}` (input path {})",
                self.file.display(),
                self.input.display(),
                self.index
            )
        }
    }
}

struct Walk<'a> {
    out: InputFiles,
    /// Canonical path of every file taken → how it was first reached.
    files: BTreeMap<PathBuf, Origin>,
    /// Canonical path of every directory walked → how it was first reached.
    directories: BTreeMap<PathBuf, Origin>,
    wanted: &'a dyn Fn(&Path) -> bool,
}

/// Expands `paths`: files are taken as given, directories contribute the files under them for
/// which `wanted` is true (recursively, sorted by path). An input path is used in its
/// [`normalize_lexically`] form (`./a/../b` → `b`, the name every message shows) when that is
/// the same file or directory.
pub fn collect_input_files(paths: &[PathBuf], wanted: &dyn Fn(&Path) -> bool) -> InputFiles {
    let mut walk = Walk {
        out: InputFiles::default(),
        files: BTreeMap::new(),
        directories: BTreeMap::new(),
        wanted,
    };
    for (i, path) in paths.iter().enumerate() {
        walk.input(i + 1, &same_file_normalized(path));
    }
    walk.out
}

/// `path` without `.` components and with each `dir/..` removed, lexically (an empty result is
/// `.`). Across a symbolic link `dir/..` is not the lexical parent: callers that read the path
/// use [`same_file_normalized`].
#[must_use]
pub fn normalize_lexically(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out: Vec<Component<'_>> = Vec::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => match out.last() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                // `/..` is `/`.
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => out.push(component),
            },
            other => out.push(other),
        }
    }
    if out.is_empty() {
        PathBuf::from(".")
    } else {
        out.iter().collect()
    }
}

/// The lexically normalized `path` when it names the same file (or does not exist either way),
/// else `path` as given.
#[must_use]
pub fn same_file_normalized(path: &Path) -> PathBuf {
    let normalized = normalize_lexically(path);
    if normalized == path {
        return normalized;
    }
    match (
        std::fs::canonicalize(path),
        std::fs::canonicalize(&normalized),
    ) {
        (Ok(a), Ok(b)) if a == b => normalized,
        (Err(_), Err(_)) => normalized,
        _ => path.to_path_buf(),
    }
}

/// PC0009 for `what` (a file or a directory) reached a second time.
fn read_twice(what: &str, first: &Origin, second: &Origin) -> Finding {
    Finding::error(
        &DUPLICATE_INPUT,
        format!(
            "{what} is read twice: {} and {}",
            first.describe(),
            second.describe()
        ),
    )
    .help("give each file or directory once (a file and the directory that contains it are the file twice); its policies would be loaded twice")
}

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

impl Walk<'_> {
    fn input(&mut self, index: usize, path: &Path) {
        let meta = match std::fs::metadata(path) {
            Ok(meta) => meta,
            Err(err) => {
                self.out.findings.push(
                    Finding::error(
                        &UNREADABLE_FILE,
                        format!("cannot read `{}`: {err}", path.display()),
                    )
                    .help("check the path; directories are searched recursively for *.yaml, *.yml and *.json"),
                );
                return;
            }
        };
        let origin = Origin {
            index,
            input: path.to_path_buf(),
            file: path.to_path_buf(),
        };
        if !meta.is_dir() {
            self.file(origin);
            return;
        }
        let key = canonical(path);
        if let Some(first) = self.directories.get(&key) {
            let what = format!("directory `{}`", path.display());
            self.out.findings.push(read_twice(&what, first, &origin));
            return;
        }
        self.directory(path, key, &origin);
    }

    fn directory(&mut self, dir: &Path, key: PathBuf, origin: &Origin) {
        self.directories.insert(
            key,
            Origin {
                file: dir.to_path_buf(),
                ..origin.clone()
            },
        );
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(err) => {
                self.out.findings.push(Finding::error(
                    &UNREADABLE_FILE,
                    format!("cannot read directory `{}`: {err}", dir.display()),
                ));
                return;
            }
        };
        let mut children: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        children.sort();
        for child in children {
            if child.is_dir() {
                let key = canonical(&child);
                // Reached again through a symbolic link (a loop, or an alias of a directory
                // already walked): its files are already taken.
                if !self.directories.contains_key(&key) {
                    self.directory(&child, key, origin);
                }
            } else if (self.wanted)(&child) {
                self.file(Origin {
                    file: child,
                    ..origin.clone()
                });
            }
        }
    }

    fn file(&mut self, origin: Origin) {
        let key = canonical(&origin.file);
        if let Some(first) = self.files.get(&key) {
            let what = format!("`{}`", origin.file.display());
            self.out.findings.push(read_twice(&what, first, &origin));
            return;
        }
        self.out.files.push(origin.file.clone());
        self.files.insert(key, origin);
    }
}
