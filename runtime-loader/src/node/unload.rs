//! `unload`: detaches and removes what policyc installed — the named endpoints, or every
//! endpoint under `<bpffs>/policyc` when none is named. Every link (main and DNS dispatchers,
//! both directions) is detached synchronously before the pins of what it runs go: see
//! [`detach_pinned_link`] for the window that closes.

use super::error::NodeError;
use super::pins::{detach_pinned_link, NodePaths, DIRECTIONS};

/// Removes the endpoints (all installed ones when `endpoints` is empty); returns their names.
pub fn unload(paths: &NodePaths, endpoints: &[String]) -> Result<Vec<String>, NodeError> {
    let installed = paths.installed_endpoints()?;
    let targets: Vec<String> = if endpoints.is_empty() {
        installed
    } else {
        for name in endpoints {
            if !installed.contains(name) {
                return Err(NodeError::UnknownEndpoint(format!(
                    "{name} (not installed)"
                )));
            }
        }
        endpoints.to_vec()
    };
    for name in &targets {
        for direction in DIRECTIONS {
            detach_pinned_link(&paths.link(name, direction))?;
        }
        // Then the DNS stage: its links are detached before its pins go (and the previous
        // layout's DNS links).
        super::dns::dispatch::DnsDispatcher::remove(paths, name);
        super::dns::install::remove_legacy_links(paths, name);
        // Its DNS inserts stay accounted for with the learned map it leaves entries in.
        super::dns::ledger::retire_endpoint(paths, name)?;
        let dir = paths.endpoint_dir(name);
        std::fs::remove_dir_all(&dir).map_err(NodeError::io(&dir))?;
        let records = paths.record_dir(name);
        if records.exists() {
            std::fs::remove_dir_all(&records).map_err(NodeError::io(&records))?;
        }
    }
    if paths.installed_endpoints()?.is_empty() {
        super::dns::learned::remove_learned_map(paths);
        let _ = std::fs::remove_dir(&paths.pin_root);
    }
    Ok(targets)
}
