//! The node-wide DNS ledger (`<bpffs>/policyc/pc_dns_ledger`, created and removed with the
//! learned map): what the kernel cannot count about the learned map — the entries the loader
//! swept and the `learned_new` of endpoints since unloaded — so that `dns status` can report
//! any entry unaccounted for: every insert (`learned_new`, counted only when the DNS object's
//! `BPF_NOEXIST` insert succeeded) is still live, was swept, or was reclaimed by a DNS object
//! (`reclaimed`); none can be evicted since the learned map is a plain hash (an LRU learned
//! map of an older loader could evict, which showed here).

use libbpf_rs::{MapCore, MapFlags, MapHandle, MapType};
use policyc_backends::dns::{map_names, DnsCounter, COUNTER_COUNT};
use serde::Serialize;

use super::counters::read_counters;
use super::paths;
use crate::node::error::NodeError;
use crate::node::pins::NodePaths;

/// Pin name of the ledger (a 2-slot u64 array).
pub const LEDGER: &str = "pc_dns_ledger";

/// A ledger slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerSlot {
    /// Entries deleted by `dns sweep`.
    Swept = 0,
    /// `learned_new` of endpoints unloaded since the learned map was created.
    UnloadedLearnedNew = 1,
}

const SLOTS: u32 = 2;

/// The learned map's insert accounting for `dns status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LearnedAccounting {
    /// Inserts into the learned map since it was created (installed and unloaded endpoints).
    pub inserted: u64,
    /// Entries deleted by the sweeper.
    pub swept: u64,
    /// Whether the ledger exists (else the learned map predates it: earlier inserts and sweeps
    /// are unknown).
    pub exact: bool,
}

impl LearnedAccounting {
    /// Entries the LRU evicted, given the live entries read AFTER this accounting (an insert
    /// in between shows in the entries only, so it never looks like an eviction).
    pub fn evicted(&self, entries: u64) -> Option<u64> {
        self.exact.then(|| {
            self.inserted
                .saturating_sub(self.swept)
                .saturating_sub(entries)
        })
    }
}

fn ledger_pin(paths: &NodePaths) -> std::path::PathBuf {
    paths.pin_root.join(LEDGER)
}

fn node_error(what: impl Into<String>) -> impl FnOnce(libbpf_rs::Error) -> NodeError {
    NodeError::kernel("(node)", what)
}

/// Creates and pins an empty ledger (call when the learned map is created).
pub fn create_ledger(paths: &NodePaths) -> Result<(), NodeError> {
    let pin = ledger_pin(paths);
    let _ = std::fs::remove_file(&pin); // a leftover would account for another map
                                        // SAFETY: all-zero is a valid bpf_map_create_opts once sz is set.
    let mut opts: libbpf_sys::bpf_map_create_opts = unsafe { std::mem::zeroed() };
    opts.sz = size_of::<libbpf_sys::bpf_map_create_opts>() as _;
    let mut map = MapHandle::create(MapType::Array, Some(LEDGER), 4, 8, SLOTS, &opts)
        .map_err(node_error("creating the DNS ledger"))?;
    map.pin(&pin)
        .map_err(node_error(format!("pinning {}", pin.display())))
}

/// Removes the ledger's pin (with the learned map's).
pub fn remove_ledger(paths: &NodePaths) {
    let _ = std::fs::remove_file(ledger_pin(paths));
}

fn open(paths: &NodePaths) -> Option<MapHandle> {
    let pin = ledger_pin(paths);
    pin.exists()
        .then(|| MapHandle::from_pinned_path(&pin).ok())
        .flatten()
}

fn slot_value(map: &MapHandle, slot: LedgerSlot) -> u64 {
    map.lookup(&(slot as u32).to_ne_bytes(), MapFlags::ANY)
        .ok()
        .flatten()
        .and_then(|v| v.get(..8).and_then(|b| <[u8; 8]>::try_from(b).ok()))
        .map_or(0, u64::from_ne_bytes)
}

/// Adds `amount` to a slot (no ledger: nothing to account for).
pub fn add(paths: &NodePaths, slot: LedgerSlot, amount: u64) -> Result<(), NodeError> {
    let Some(map) = open(paths) else {
        return Ok(());
    };
    if amount == 0 {
        return Ok(());
    }
    let total = slot_value(&map, slot).wrapping_add(amount);
    map.update(
        &(slot as u32).to_ne_bytes(),
        &total.to_ne_bytes(),
        MapFlags::ANY,
    )
    .map_err(node_error(format!("updating {LEDGER}")))
}

/// Net inserts of one endpoint's DNS objects (0 without them): `learned_new` minus the expired
/// entries they deleted themselves (`reclaimed`, when the map was full), modulo 2^64 — an
/// endpoint may reclaim entries another inserted, so only the sum over endpoints is >= 0.
pub fn endpoint_learned_new(paths: &NodePaths, endpoint: &str) -> u64 {
    let pin = paths::shared_map(paths, endpoint, map_names::COUNTERS);
    MapHandle::from_pinned_path(&pin)
        .map(|map| read_counters(&map, COUNTER_COUNT))
        .ok()
        .map(|values| {
            let at = |c: DnsCounter| values.get(c as usize).copied().unwrap_or(0);
            at(DnsCounter::LearnedNew).wrapping_sub(at(DnsCounter::Reclaimed))
        })
        .unwrap_or(0)
}

/// Before an endpoint's pins go: keeps its `learned_new` in the ledger.
pub fn retire_endpoint(paths: &NodePaths, endpoint: &str) -> Result<(), NodeError> {
    add(
        paths,
        LedgerSlot::UnloadedLearnedNew,
        endpoint_learned_new(paths, endpoint),
    )
}

/// The accounting: `learned_new` summed over installed endpoints plus the ledger.
pub fn accounting(paths: &NodePaths) -> Result<LearnedAccounting, NodeError> {
    let ledger = open(paths);
    let unloaded = ledger
        .as_ref()
        .map_or(0, |m| slot_value(m, LedgerSlot::UnloadedLearnedNew));
    let installed: u64 = paths
        .installed_endpoints()?
        .iter()
        .map(|name| endpoint_learned_new(paths, name))
        .fold(0u64, u64::wrapping_add);
    Ok(LearnedAccounting {
        inserted: installed.wrapping_add(unloaded),
        swept: ledger
            .as_ref()
            .map_or(0, |m| slot_value(m, LedgerSlot::Swept)),
        exact: ledger.is_some(),
    })
}

#[cfg(test)]
mod tests {
    use super::LearnedAccounting;
    use test_case::test_case;

    #[test_case(10, 0, 10, Some(0) ; "every insert still live: nothing evicted")]
    #[test_case(10, 3, 7, Some(0) ; "swept entries are not evictions")]
    #[test_case(100, 5, 64, Some(31) ; "a full map evicted the rest")]
    #[test_case(5, 0, 6, Some(0) ; "an insert read only in the entries is no eviction")]
    fn evictions_are_inserts_neither_live_nor_swept(
        inserted: u64,
        swept: u64,
        entries: u64,
        evicted: Option<u64>,
    ) {
        let accounting = LearnedAccounting {
            inserted,
            swept,
            exact: true,
        };
        assert_eq!(accounting.evicted(entries), evicted);
    }

    #[test]
    fn without_a_ledger_evictions_are_unknown() {
        let accounting = LearnedAccounting {
            inserted: 10,
            swept: 0,
            exact: false,
        };
        assert_eq!(accounting.evicted(3), None);
    }
}
