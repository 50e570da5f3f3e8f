//! Live-map operations of `endpoint add|remove` that never take a kernel error for an absent
//! key: [`lookup`] is `Ok(None)` only for ENOENT, [`delete_if_present`] passes over ENOENT only,
//! and a [`Journal`] of the updates made so far undoes them (restoring each previous value,
//! deleting each new key) and names every entry it could not restore.

use std::path::{Path, PathBuf};

use libbpf_rs::{ErrorKind, MapCore, MapFlags, MapHandle};

use super::error::NodeError;

/// Whether a libbpf error means "no such entry" (ENOENT) rather than a failed operation.
pub fn is_absent(error: &libbpf_rs::Error) -> bool {
    error.kind() == ErrorKind::NotFound
}

/// The pinned map `map_name` of `endpoint` at `path`.
pub fn open_pinned(endpoint: &str, map_name: &str, path: &Path) -> Result<MapHandle, NodeError> {
    MapHandle::from_pinned_path(path).map_err(NodeError::kernel(
        endpoint,
        format!("opening pinned {map_name} ({})", path.display()),
    ))
}

/// The value under `key`: `Ok(None)` when the map has no such entry, `Err` for any other
/// failure (a map that cannot be read is not an empty one).
pub fn lookup(
    map: &MapHandle,
    endpoint: &str,
    map_name: &str,
    key: &[u8],
) -> Result<Option<Vec<u8>>, NodeError> {
    match map.lookup(key, MapFlags::ANY) {
        Ok(value) => Ok(value),
        Err(e) if is_absent(&e) => Ok(None),
        Err(e) => Err(NodeError::kernel(endpoint, format!("reading {map_name}"))(
            e,
        )),
    }
}

/// Deletes `key`; `Ok(false)` when it was already absent.
pub fn delete_if_present(
    map: &MapHandle,
    endpoint: &str,
    map_name: &str,
    key: &[u8],
) -> Result<bool, NodeError> {
    match map.delete(key) {
        Ok(()) => Ok(true),
        Err(e) if is_absent(&e) => Ok(false),
        Err(e) => Err(NodeError::kernel(
            endpoint,
            format!("deleting from {map_name}"),
        )(e)),
    }
}

/// One update made so far.
struct Written {
    endpoint: String,
    map_name: String,
    path: PathBuf,
    key: Vec<u8>,
    previous: Option<Vec<u8>>,
}

/// The updates made so far, newest last, to undo them.
#[derive(Default)]
pub struct Journal {
    written: Vec<Written>,
}

impl Journal {
    /// Writes `value` under `key` into the pinned map `map_name` of `endpoint` at `path`, after
    /// reading the previous value (a failed read writes nothing).
    pub fn put(
        &mut self,
        endpoint: &str,
        map_name: &str,
        path: &Path,
        key: Vec<u8>,
        value: &[u8],
    ) -> Result<(), NodeError> {
        let map = open_pinned(endpoint, map_name, path)?;
        let previous = lookup(&map, endpoint, map_name, &key)?;
        map.update(&key, value, MapFlags::ANY)
            .map_err(NodeError::kernel(endpoint, format!("writing {map_name}")))?;
        self.written.push(Written {
            endpoint: endpoint.to_owned(),
            map_name: map_name.to_owned(),
            path: path.to_path_buf(),
            key,
            previous,
        });
        Ok(())
    }

    /// Undoes every update, newest first, after `cause` stopped the change. Returns `cause`
    /// when everything was undone, or a [`NodeError::RollbackFailed`] naming each entry that
    /// could not be restored and `repair`, the command that restores the maps.
    pub fn roll_back(self, cause: NodeError, repair: &str) -> NodeError {
        let mut failures = Vec::new();
        for w in self.written.into_iter().rev() {
            let undone =
                open_pinned(&w.endpoint, &w.map_name, &w.path).and_then(|map| match &w.previous {
                    Some(value) => {
                        map.update(&w.key, value, MapFlags::ANY)
                            .map_err(NodeError::kernel(
                                &w.endpoint,
                                format!("restoring {}", w.map_name),
                            ))
                    }
                    None => delete_if_present(&map, &w.endpoint, &w.map_name, &w.key).map(|_| ()),
                });
            if let Err(e) = undone {
                let what = if w.previous.is_some() {
                    "restore"
                } else {
                    "delete"
                };
                failures.push(format!(
                    "{what} key {} of {}: {e}",
                    hex::encode(&w.key),
                    w.path.display()
                ));
            }
        }
        if failures.is_empty() {
            return cause;
        }
        NodeError::RollbackFailed {
            cause: Box::new(cause),
            failures,
            repair: repair.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_case::test_case;

    #[test_case(libc::ENOENT, true ; "ENOENT is an absent key")]
    #[test_case(libc::EPERM, false ; "EPERM is a failure")]
    #[test_case(libc::EINVAL, false ; "EINVAL is a failure")]
    #[test_case(libc::EBADF, false ; "EBADF is a failure")]
    #[test_case(libc::E2BIG, false ; "E2BIG is a failure")]
    fn only_enoent_means_absent(errno: i32, absent: bool) {
        let error = libbpf_rs::Error::from(std::io::Error::from_raw_os_error(errno));
        assert_eq!(is_absent(&error), absent);
    }
}
