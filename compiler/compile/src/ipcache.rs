//! The node-wide ipcache entries of a universe (prefix → identity), as the build writes them.

use policyc_backends::IpcacheEntry;
use policyc_ir::universe::Universe;

/// Every ipcache entry of `universe`, sorted.
pub fn ipcache_entries(universe: &Universe) -> Vec<IpcacheEntry> {
    let mut entries: Vec<IpcacheEntry> = universe
        .ipcache()
        .entries()
        .map(|(prefix, identity)| IpcacheEntry {
            prefix: prefix.net(),
            identity: identity.0,
        })
        .collect();
    entries.sort();
    entries
}
