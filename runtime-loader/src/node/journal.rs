//! The switch journal of an apply: which endpoints it is switching, from which generation to
//! which, written after every endpoint's new generation is staged (loaded, pinned, recorded,
//! in its inactive slots) and removed once every endpoint has flipped.
//!
//! An apply of several endpoints flips their generation words one after the other (one map
//! update each, microseconds apart). A loader killed between two flips leaves some endpoints
//! on the new artifact and others on the old one — the one state an apply must never leave.
//! The journal makes that state visible and repairable: `status` reports every endpoint the
//! journal names that is not on its new generation as unhealthy, and the next mutating
//! command (under the node lock) completes the switch from the staged generations before it
//! does anything else ([`super::install::complete_interrupted_switch`]).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::error::NodeError;
use super::pins::NodePaths;

/// One endpoint's switch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Switch {
    /// `namespace/name`.
    pub endpoint: String,
    /// The generation it ran before (None: a first install).
    pub from: Option<u64>,
    /// The staged generation it switches to.
    pub to: u64,
}

/// The switches of one apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journal {
    /// The artifact being applied.
    pub artifact_dir: PathBuf,
    /// Every endpoint of the apply, in switch order.
    pub switches: Vec<Switch>,
}

impl Journal {
    /// The switch of `endpoint`, if the journal names it.
    pub fn switch_of(&self, endpoint: &str) -> Option<&Switch> {
        self.switches.iter().find(|s| s.endpoint == endpoint)
    }

    /// What `status` says about an endpoint of an interrupted switch that still runs
    /// `active` (None when the endpoint already runs its new generation, or is not named).
    pub fn problem(&self, endpoint: &str, active: Option<u64>) -> Option<String> {
        let switch = self.switch_of(endpoint)?;
        if active == Some(switch.to) {
            return None;
        }
        let switched: Vec<&str> = self
            .switches
            .iter()
            .filter(|s| s.endpoint != endpoint)
            .map(|s| s.endpoint.as_str())
            .collect();
        Some(format!(
            "INTERRUPTED APPLY: an apply of {} was killed while switching endpoints; this one still runs {} while {} may already run the new artifact — re-run `policy-loader apply` (it completes the switch first)",
            self.artifact_dir.display(),
            active.map_or("no policy".to_owned(), |g| format!("generation {g}")),
            if switched.is_empty() {
                "no other endpoint".to_owned()
            } else {
                switched.join(", ")
            },
        ))
    }
}

/// Where the journal lives: `<state-dir>/apply-journal.json` (a file, so never taken for an
/// endpoint's record directory).
pub fn path(paths: &NodePaths) -> PathBuf {
    paths.state_dir.join("apply-journal.json")
}

/// Writes the journal durably (temporary file, fsync, rename) before the first flip.
pub fn write(paths: &NodePaths, journal: &Journal) -> Result<(), NodeError> {
    use std::io::Write;
    std::fs::create_dir_all(&paths.state_dir).map_err(NodeError::io(&paths.state_dir))?;
    let path = path(paths);
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_vec_pretty(journal).map_err(|source| NodeError::Json {
        path: path.clone(),
        source,
    })?;
    let mut file = std::fs::File::create(&tmp).map_err(NodeError::io(&tmp))?;
    file.write_all(&text).map_err(NodeError::io(&tmp))?;
    file.sync_all().map_err(NodeError::io(&tmp))?;
    std::fs::rename(&tmp, &path).map_err(NodeError::io(&path))
}

/// The journal of an interrupted switch, if there is one.
pub fn read(paths: &NodePaths) -> Result<Option<Journal>, NodeError> {
    let path = path(paths);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| NodeError::Json { path, source }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(NodeError::io(&path)(e)),
    }
}

/// Removes the journal once every endpoint has switched (or every flip was undone).
pub fn remove(paths: &NodePaths) -> Result<(), NodeError> {
    let path = path(paths);
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(NodeError::io(&path)(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn journal() -> Journal {
        Journal {
            artifact_dir: PathBuf::from("/art/b"),
            switches: vec![
                Switch {
                    endpoint: "shop/frontend".into(),
                    from: Some(3),
                    to: 4,
                },
                Switch {
                    endpoint: "shop/api".into(),
                    from: None,
                    to: 1,
                },
            ],
        }
    }

    #[test]
    fn an_endpoint_on_its_new_generation_has_no_problem() {
        assert_eq!(journal().problem("shop/frontend", Some(4)), None);
        assert_eq!(journal().problem("shop/api", Some(1)), None);
    }

    #[test]
    fn an_endpoint_left_behind_is_reported_with_the_others() {
        let text = journal()
            .problem("shop/frontend", Some(3))
            .unwrap_or_default();
        assert!(text.contains("INTERRUPTED APPLY"), "{text}");
        assert!(text.contains("generation 3"), "{text}");
        assert!(text.contains("shop/api"), "{text}");
        let fresh = journal().problem("shop/api", None).unwrap_or_default();
        assert!(fresh.contains("no policy"), "{fresh}");
    }

    #[test]
    fn an_endpoint_not_in_the_journal_has_no_problem() {
        assert_eq!(journal().problem("shop/worker", Some(1)), None);
    }

    #[test]
    fn the_journal_round_trips_through_the_state_directory() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let paths = NodePaths::new(dir.path(), &dir.path().join("state"));
        assert_eq!(read(&paths).ok().flatten(), None);
        write(&paths, &journal()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read(&paths).ok().flatten(), Some(journal()));
        remove(&paths).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read(&paths).ok().flatten(), None);
        remove(&paths).unwrap_or_else(|e| panic!("removing twice: {e}"));
    }
}
