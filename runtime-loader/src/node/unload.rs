//! `unload`: detaches and removes what policyc installed — the named endpoints, or every
//! endpoint under `<bpffs>/policyc` when none is named. Every link (main and DNS dispatchers,
//! both directions) is detached synchronously before the pins of what it runs go: see
//! [`super::pins::detach_pinned_link`] for the window that closes.
//!
//! An unload killed at any step (see the `unload-*` steps in [`super::hook::steps`]) is
//! finished by running it again, or replaced by the next apply, which starts such an endpoint
//! over (`status` reports it unhealthy meanwhile): an endpoint whose pins are already gone but
//! whose generation records remain still counts as installed here.

use super::error::NodeError;
use super::hook::{self, steps};
use super::pins::{detach_link, remove_tree, NodePaths, DIRECTIONS};
use policyc_backends::layout::Direction;

/// Removes the endpoints (all installed ones when `endpoints` is empty); returns their names.
pub fn unload(paths: &NodePaths, endpoints: &[String]) -> Result<Vec<String>, NodeError> {
    let mut installed = paths.installed_endpoints()?;
    installed.extend(paths.recorded_endpoints()?);
    installed.sort();
    installed.dedup();
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
        // Both main links are detached first, back to back; their pins go with the rest.
        for direction in DIRECTIONS {
            detach_link(&paths.link(name, direction));
            if direction == Direction::Ingress {
                hook::after_switch(steps::UNLOAD_INGRESS_DETACHED);
            }
        }
        hook::after_switch(steps::UNLOAD_MAIN_DETACHED);
        // Then the DNS stage: its links are detached before its pins go (and the previous
        // layout's DNS links).
        super::dns::dispatch::DnsDispatcher::remove(paths, name)?;
        super::dns::install::remove_legacy_links(paths, name)?;
        hook::after_switch(steps::UNLOAD_DETACHED);
        // Its DNS inserts stay accounted for with the learned map it leaves entries in.
        super::dns::ledger::retire_endpoint(paths, name)?;
        remove_tree(&paths.endpoint_dir(name))?;
        hook::after_switch(steps::UNLOAD_UNPINNED);
        remove_tree(&paths.record_dir(name))?;
    }
    if paths.installed_endpoints()?.is_empty() {
        // No endpoint redirects to the L7 filter any more.
        super::l7::stop(paths);
        super::dns::learned::remove_learned_map(paths);
        let _ = std::fs::remove_dir(&paths.pin_root);
    }
    Ok(targets)
}
