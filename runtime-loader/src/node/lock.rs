//! The node lock: one mutating `policy-loader` command (apply, unload, endpoint add|remove, a
//! DNS sweep round) at a time. Two applies racing used to delete each other's pins, records
//! and links, and leave endpoints with no policy at all while both said the previous one was
//! kept.
//!
//! The lock is an advisory `flock` on two things, always taken in this order so that two
//! loaders can never hold one each: the state directory's `lock` file (which also holds the
//! holder's pid and command, for the waiting loader's message) and the bpffs directory itself
//! (so that loaders given different state directories for the same pins still exclude each
//! other). Neither is ever removed — a lock on a file that a holder deletes and another
//! recreates would let two loaders in. The kernel releases both when the holder exits, killed
//! or not, so a crashed loader never leaves the node locked.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::error::NodeError;
use super::pins::NodePaths;

/// How long a loader waits for another to finish before refusing.
#[derive(Debug, Clone, Copy)]
pub struct LockWait(pub Duration);

/// The node lock, held until dropped.
#[derive(Debug)]
pub struct NodeLock {
    _state: File,
    _bpffs: Option<File>,
}

/// How often a waiting loader retries (the lock has no wake-up: flock would block forever).
const RETRY: Duration = Duration::from_millis(20);

impl NodeLock {
    /// The lock file in the state directory.
    pub fn path(paths: &NodePaths) -> PathBuf {
        paths.state_dir.join("lock")
    }

    /// Takes the node lock for `command`, waiting up to `wait` for another loader (and saying
    /// on stderr whom it waits for). Refuses with [`NodeError::Busy`] when the time is up:
    /// nothing has been changed then.
    pub fn acquire(
        paths: &NodePaths,
        command: &str,
        wait: LockWait,
    ) -> Result<NodeLock, NodeError> {
        std::fs::create_dir_all(&paths.state_dir).map_err(NodeError::io(&paths.state_dir))?;
        let state_path = Self::path(paths);
        let mut state = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&state_path)
            .map_err(NodeError::io(&state_path))?;
        let bpffs_dir = paths.pin_root.parent().unwrap_or(&paths.pin_root);
        // No bpffs directory, no pins to race on (apply refuses to run without it).
        let bpffs = match File::open(bpffs_dir) {
            Ok(dir) => Some(dir),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(NodeError::io(bpffs_dir)(e)),
        };
        let deadline = Instant::now() + wait.0;
        let mut told = false;
        let locks = std::iter::once((&state, state_path.as_path()))
            .chain(bpffs.as_ref().map(|dir| (dir, bpffs_dir)));
        for (file, path) in locks {
            loop {
                match file.try_lock() {
                    Ok(()) => break,
                    Err(TryLockError::WouldBlock) => {
                        let holder = holder(&state_path);
                        if Instant::now() >= deadline {
                            return Err(NodeError::Busy {
                                lock: path.to_path_buf(),
                                holder,
                                waited: wait.0,
                            });
                        }
                        if !told {
                            eprintln!(
                                "policy-loader: waiting for {holder} to finish (lock {}; up to {} s, --lock-timeout)",
                                path.display(),
                                wait.0.as_secs_f64()
                            );
                            told = true;
                        }
                        std::thread::sleep(RETRY);
                    }
                    Err(TryLockError::Error(e)) => return Err(NodeError::io(path)(e)),
                }
            }
        }
        // Ours now: say who holds it (best effort; the lock does not depend on it).
        let _ = state.set_len(0);
        let _ = writeln!(state, "pid {} ({command})", std::process::id());
        Ok(NodeLock {
            _state: state,
            _bpffs: bpffs,
        })
    }
}

/// Who holds the lock, as its holder wrote it (`pid N (command)`).
fn holder(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let line = text.lines().next().unwrap_or("").trim();
    if line.is_empty() {
        "another policy-loader".to_owned()
    } else {
        format!("another policy-loader, {line},")
    }
}
