//! Maps shared between objects (conntrack, events, the DNS stage's maps): an opened object
//! reuses the map another object already pinned, and a loaded object pins the maps it created.

use std::path::Path;

use libbpf_rs::{Map, MapHandle, OpenMapMut};

use super::error::NodeError;

/// Makes `map` (named `map_name`) reuse the map pinned at `pinned`; nothing when no map is
/// pinned there yet (the object creates it, and the caller pins it).
pub fn reuse_if_pinned(
    map: &mut OpenMapMut<'_>,
    map_name: &str,
    pinned: &Path,
) -> Result<(), policyc_kernel::LoaderError> {
    if !pinned.exists() {
        return Ok(());
    }
    map.reuse_pinned_map(pinned)
        .map_err(|source| policyc_kernel::LoaderError::Map {
            map: format!("{map_name} (reusing {})", pinned.display()),
            source,
        })
}

/// Pins `map` (named `map_name`, looked up in a loaded object of `endpoint`) at `path`.
pub fn pin_map(
    endpoint: &str,
    map_name: &str,
    map: Result<Map<'_>, policyc_kernel::LoaderError>,
    path: &Path,
) -> Result<(), NodeError> {
    let map = map.map_err(|source| NodeError::Load {
        endpoint: endpoint.to_owned(),
        source,
    })?;
    let mut handle = MapHandle::try_from(&map).map_err(NodeError::kernel(
        endpoint,
        format!("duplicating {map_name}"),
    ))?;
    handle.pin(path).map_err(NodeError::kernel(
        endpoint,
        format!("pinning {}", path.display()),
    ))
}
