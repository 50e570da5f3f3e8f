//! Reads one side of a diff — files and directories of the working tree, or the same paths at a
//! git revision of the current repository — into an in-memory source set and lowers it.

use policyc_diagnostics::source::SourceMap;
use policyc_diagnostics::Finding;
use policyc_frontend::input_files::{collect_input_files, is_yaml_or_json};
use policyc_frontend::{load_policy_texts, FrontendOptions, PolicySet};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where one side's policies come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicySource {
    /// Files or directories on disk (directories are searched recursively, sorted); files are
    /// named by their path as given.
    Paths(Vec<PathBuf>),
    /// One directory whose files are named relative to it, so `--base old/ --head new/`
    /// compares `old/a.yaml` with `new/a.yaml`.
    Directory(PathBuf),
    /// `paths` (relative to the current directory) as they are at `revision`.
    Git {
        revision: String,
        paths: Vec<PathBuf>,
    },
}

impl PolicySource {
    /// `BASE`/`HEAD` as the user wrote it: an existing path, else a git revision of the
    /// repository in the current directory (read at `paths`).
    pub fn detect(spec: &str, paths: &[PathBuf]) -> Result<Self, RevisionError> {
        let path = Path::new(spec);
        if path.is_dir() {
            return Ok(Self::Directory(path.to_path_buf()));
        }
        if path.exists() {
            return Ok(Self::Paths(vec![path.to_path_buf()]));
        }
        let check = git(&[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{spec}^{{commit}}"),
        ]);
        match check {
            Ok(_) => Ok(Self::Git {
                revision: spec.to_string(),
                paths: paths.to_vec(),
            }),
            Err(_) => Err(RevisionError::NotPathOrRevision(spec.to_string())),
        }
    }

    /// How the report names this side (`origin/main:policies`, `policies/`).
    pub fn label(&self) -> String {
        let join = |paths: &[PathBuf]| {
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            Self::Paths(paths) => join(paths),
            Self::Directory(dir) => dir.display().to_string(),
            Self::Git { revision, paths } => format!("{revision}:{}", join(paths)),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RevisionError {
    #[error("`{0}` is neither an existing path nor a git revision of the repository in the current directory")]
    NotPathOrRevision(String),
    #[error("cannot read `{path}`: {message}")]
    Unreadable { path: String, message: String },
    #[error("git {command} failed: {message}")]
    Git { command: String, message: String },
}

/// One side of a diff after loading: the lowered policies and the text of every file read
/// (keyed by the name used in provenance, for "which files changed").
#[derive(Debug, Clone)]
pub struct LoadedPolicies {
    pub label: String,
    pub set: PolicySet,
    pub texts: BTreeMap<String, String>,
}

/// Reads and lowers one side. Rule ids are dense in load order, as [`policyc_frontend::load_policies`]
/// assigns them. Paths that cannot be walked or are reached twice are error findings of the
/// set (see [`PolicySet::load_errors`]).
pub fn load_side(
    source: &PolicySource,
    options: &FrontendOptions,
    sources: &mut SourceMap,
) -> Result<LoadedPolicies, RevisionError> {
    let (texts, findings) = match source {
        Source::Paths(paths) => read_paths(paths, None)?,
        Source::Directory(dir) => read_paths(std::slice::from_ref(dir), Some(dir))?,
        Source::Git { revision, paths } => (read_revision(revision, paths)?, Vec::new()),
    };
    let mut set = lower_texts(&texts, options, sources);
    set.findings.extend(findings);
    Ok(LoadedPolicies {
        label: source.label(),
        set,
        texts,
    })
}

use PolicySource as Source;

/// Lowers in-memory files (sorted by name) into one policy set with dense rule ids.
pub fn lower_texts(
    texts: &BTreeMap<String, String>,
    options: &FrontendOptions,
    sources: &mut SourceMap,
) -> PolicySet {
    load_policy_texts(
        texts
            .iter()
            .map(|(name, text)| (name.as_str(), text.as_str())),
        options,
        sources,
    )
}

/// `./a/b.yaml` → `a/b.yaml`, so working-tree and revision names compare equal.
fn display_name(path: &Path) -> String {
    let text = path.display().to_string();
    text.strip_prefix("./").map(str::to_string).unwrap_or(text)
}

/// The texts of the files under `paths`, named relative to `root` when given, and the walk's
/// findings (unreadable directories, files reached twice).
fn read_paths(
    paths: &[PathBuf],
    root: Option<&Path>,
) -> Result<(BTreeMap<String, String>, Vec<Finding>), RevisionError> {
    let inputs = collect_input_files(paths, &is_yaml_or_json);
    let mut texts = BTreeMap::new();
    for file in inputs.files {
        let text = std::fs::read_to_string(&file).map_err(|e| RevisionError::Unreadable {
            path: file.display().to_string(),
            message: e.to_string(),
        })?;
        let name = root
            .and_then(|r| file.strip_prefix(r).ok())
            .unwrap_or(&file);
        texts.insert(display_name(name), text);
    }
    Ok((texts, inputs.findings))
}

fn read_revision(
    revision: &str,
    paths: &[PathBuf],
) -> Result<BTreeMap<String, String>, RevisionError> {
    let mut args = vec![
        "ls-tree".to_string(),
        "-r".into(),
        "--name-only".into(),
        revision.to_string(),
        "--".into(),
    ];
    args.extend(paths.iter().map(|p| p.display().to_string()));
    let listing = git(&args.iter().map(String::as_str).collect::<Vec<_>>())?;
    let mut texts = BTreeMap::new();
    for name in listing.lines().filter(|l| is_yaml_or_json(Path::new(l))) {
        let text = git(&["show", &format!("{revision}:./{name}")])?;
        texts.insert(display_name(Path::new(name)), text);
    }
    Ok(texts)
}

fn git(args: &[&str]) -> Result<String, RevisionError> {
    let command = args.first().copied().unwrap_or_default().to_string();
    let output = Command::new("git")
        .args(args)
        .output()
        .map_err(|e| RevisionError::Git {
            command: command.clone(),
            message: e.to_string(),
        })?;
    if !output.status.success() {
        let message = String::from_utf8_lossy(&output.stderr).trim().to_string();
        return Err(RevisionError::Git { command, message });
    }
    String::from_utf8(output.stdout).map_err(|_| RevisionError::Git {
        command,
        message: "output is not UTF-8".to_string(),
    })
}
