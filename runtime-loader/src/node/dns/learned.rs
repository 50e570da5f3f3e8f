//! The node-wide learned-address map (`pc_dns_learned`, one per node, pinned at
//! `<bpffs>/policyc/pc_dns_learned`): created before any object that uses it is loaded, reused
//! by pin by every endpoint's DNS object and main datapath, read back for `status`/`dump`,
//! swept of expired entries, removed with the last endpoint.
//!
//! Entries are `address → {expiry (bpf_ktime_get_ns, i.e. CLOCK_MONOTONIC), selector bitmap,
//! owner}`; an expired entry allows no new connection whether or not it has been swept yet, so
//! the sweeper only frees room. The map is a plain hash: nothing is evicted to make room (a DNS
//! object deletes expired entries itself when the map is full), and each endpoint may own at
//! most a quarter of it (`policyc_backends::dns::learn_quota`, accounted in the node-wide
//! `pc_dns_owned`, pinned at `<bpffs>/policyc/pc_dns_owned` with the same life cycle).
//!
//! Beside it, `pc_dns_names` (pinned at `<bpffs>/policyc/pc_dns_names`, same life cycle):
//! address → the question name whose answer taught it last, read only by `dns dump`.

use std::net::IpAddr;
use std::path::Path;

use libbpf_rs::{MapCore, MapFlags, MapHandle, MapType, OpenMapMut};
use policyc_backends::c_layout::size_u32;
use policyc_backends::dns::{decode_name, map_names, DnsName, NAMES_MAX_ENTRIES};
use policyc_backends::dns_layout::{OwnedValue, OWNERS_MAX_ENTRIES};
use policyc_backends::fqdn::{LearnedKey, LearnedValue, KEY_SIZE, VALUE_SIZE};
use serde::Serialize;

use super::paths::{learned_pin, names_pin, owned_pin};
use crate::node::error::NodeError;
use crate::node::pins::NodePaths;

/// Default `max_entries` of the learned map (`--dns-learned-max`).
pub const DEFAULT_LEARNED_MAX: u32 = 65_536;

/// One learned address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LearnedEntry {
    /// The address.
    pub addr: IpAddr,
    /// Expiry on the monotonic clock (ns).
    pub expiry_ns: u64,
    /// Selector bitmap (FQDN classes; bit 63 = asked under `rules.dns`).
    pub selectors: u64,
}

/// `CLOCK_MONOTONIC` in ns: the clock of `bpf_ktime_get_ns`.
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec as u64)
}

fn node_error(what: impl Into<String>) -> impl FnOnce(libbpf_rs::Error) -> NodeError {
    NodeError::kernel("(node)", what)
}

/// Creates and pins the node-wide learned map if it is not pinned yet; returns its
/// `max_entries` (the existing map's when it was already there: resizing needs an unload).
pub fn ensure_learned_map(paths: &NodePaths, max_entries: u32) -> Result<u32, NodeError> {
    ensure_names_map(paths)?;
    ensure_owned_map(paths)?;
    let pin = learned_pin(paths);
    if pin.exists() {
        let map = MapHandle::from_pinned_path(&pin)
            .map_err(node_error(format!("opening {}", pin.display())))?;
        return Ok(map.max_entries());
    }
    create_pinned(
        paths,
        MapType::Hash,
        map_names::LEARNED,
        (KEY_SIZE, VALUE_SIZE),
        max_entries.max(1),
        &pin,
    )?;
    super::ledger::create_ledger(paths)?;
    Ok(max_entries.max(1))
}

/// Creates and pins the node-wide names map if it is not pinned yet (also next to a learned
/// map pinned by a loader without it).
fn ensure_names_map(paths: &NodePaths) -> Result<(), NodeError> {
    let pin = names_pin(paths);
    if pin.exists() {
        return Ok(());
    }
    create_pinned(
        paths,
        MapType::LruHash,
        map_names::NAMES,
        (KEY_SIZE, size_u32::<DnsName>()),
        NAMES_MAX_ENTRIES,
        &pin,
    )
}

/// Creates and pins the node-wide quota accounting map if it is not pinned yet.
fn ensure_owned_map(paths: &NodePaths) -> Result<(), NodeError> {
    let pin = owned_pin(paths);
    if pin.exists() {
        return Ok(());
    }
    create_pinned(
        paths,
        MapType::Hash,
        map_names::OWNED,
        (size_u32::<u32>(), size_u32::<OwnedValue>()),
        OWNERS_MAX_ENTRIES,
        &pin,
    )
}

/// A map of `map_type` with `(key, value)` sizes, pinned at `pin`.
fn create_pinned(
    paths: &NodePaths,
    map_type: MapType,
    name: &str,
    (key_size, value_size): (u32, u32),
    max_entries: u32,
    pin: &Path,
) -> Result<(), NodeError> {
    std::fs::create_dir_all(&paths.pin_root).map_err(NodeError::io(&paths.pin_root))?;
    // SAFETY: all-zero is a valid bpf_map_create_opts once sz is set.
    let mut opts: libbpf_sys::bpf_map_create_opts = unsafe { std::mem::zeroed() };
    opts.sz = size_of::<libbpf_sys::bpf_map_create_opts>() as _;
    let mut map = MapHandle::create(
        map_type,
        Some(name),
        key_size,
        value_size,
        max_entries,
        &opts,
    )
    .map_err(node_error(format!("creating {name}")))?;
    map.pin(pin)
        .map_err(node_error(format!("pinning {}", pin.display())))
}

/// Makes an opened object's `pc_dns_learned`, `pc_dns_names` or `pc_dns_owned` the node-wide pinned map
/// (sized to match it). Other maps are left alone. Call between open and load.
pub fn reuse_learned_map(
    paths: &NodePaths,
    map: &mut OpenMapMut<'_>,
) -> Result<(), policyc_kernel::LoaderError> {
    let name = map.name().to_string_lossy().into_owned();
    let pin = if name == map_names::LEARNED {
        learned_pin(paths)
    } else if name == map_names::NAMES {
        names_pin(paths)
    } else if name == map_names::OWNED {
        owned_pin(paths)
    } else {
        return Ok(());
    };
    if !pin.exists() {
        return Ok(());
    }
    let error = |source| policyc_kernel::LoaderError::Map {
        map: format!("{name} (reusing {})", pin.display()),
        source,
    };
    let pinned = MapHandle::from_pinned_path(&pin).map_err(error)?;
    map.set_max_entries(pinned.max_entries()).map_err(error)?;
    map.reuse_pinned_map(&pin).map_err(error)
}

/// A learned value (all zero if it is not one: the kernel fixes the value size, so never).
fn learned_value(bytes: &[u8]) -> LearnedValue {
    LearnedValue::decode(bytes).unwrap_or(LearnedValue {
        expiry_ns: 0,
        selectors: 0,
        owner: 0,
        pad: 0,
    })
}

/// The pinned learned map, if any.
pub fn open_learned(paths: &NodePaths) -> Result<Option<MapHandle>, NodeError> {
    let pin = learned_pin(paths);
    if !pin.exists() {
        return Ok(None);
    }
    MapHandle::from_pinned_path(&pin)
        .map(Some)
        .map_err(node_error(format!("opening {}", pin.display())))
}

/// Every entry of the learned map (sorted by address), and its `max_entries`.
pub fn read_learned(paths: &NodePaths) -> Result<(Vec<LearnedEntry>, u32), NodeError> {
    let Some(map) = open_learned(paths)? else {
        return Ok((Vec::new(), 0));
    };
    let mut out = Vec::new();
    for key in map.keys() {
        // Entries may vanish between keys() and lookup() (LRU eviction, a sweeper).
        let Ok(Some(value)) = map.lookup(&key, MapFlags::ANY) else {
            continue;
        };
        if let Some(addr) = LearnedKey::decode(&key).and_then(|k| k.ip()) {
            let value = learned_value(&value);
            out.push(LearnedEntry {
                addr,
                expiry_ns: value.expiry_ns,
                selectors: value.selectors,
            });
        }
    }
    out.sort_by_key(|e| e.addr);
    Ok((out, map.max_entries()))
}

/// The question name that taught `addr` last, if the names map still holds it.
pub fn learned_name(names: &impl MapCore, addr: IpAddr) -> Option<String> {
    let key = LearnedKey::from_ip(addr).encode();
    let value = names.lookup(&key, MapFlags::ANY).ok().flatten()?;
    decode_name(&value)
}

/// The pinned names map, if any.
pub fn open_names(paths: &NodePaths) -> Option<MapHandle> {
    let pin = names_pin(paths);
    pin.exists()
        .then(|| MapHandle::from_pinned_path(&pin).ok())
        .flatten()
}

/// What a sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    /// Entries looked at.
    pub scanned: u64,
    /// Expired entries deleted.
    pub deleted: u64,
}

/// Deletes every entry that expired before now. An entry refreshed by a new answer between the
/// read and the delete could be lost; the check-then-delete is re-read per key to keep that
/// window to one lookup.
pub fn sweep(paths: &NodePaths) -> Result<SweepReport, NodeError> {
    let Some(map) = open_learned(paths)? else {
        return Ok(SweepReport::default());
    };
    let now = monotonic_ns();
    let mut report = SweepReport::default();
    let keys: Vec<Vec<u8>> = map.keys().collect();
    for key in keys {
        report.scanned += 1;
        let Ok(Some(value)) = map.lookup(&key, MapFlags::ANY) else {
            continue;
        };
        if learned_value(&value).expiry_ns <= now && map.delete(&key).is_ok() {
            report.deleted += 1;
        }
    }
    super::ledger::add(paths, super::ledger::LedgerSlot::Swept, report.deleted)?;
    Ok(report)
}

/// Removes the learned map's pin, the names map's and the ledger's (the kernel frees the maps
/// once no object uses them).
pub fn remove_learned_map(paths: &NodePaths) {
    let _ = std::fs::remove_file(learned_pin(paths));
    let _ = std::fs::remove_file(names_pin(paths));
    let _ = std::fs::remove_file(owned_pin(paths));
    super::ledger::remove_ledger(paths);
}

/// Whether a path is the learned map's pin (not an endpoint).
pub fn is_learned_pin(paths: &NodePaths, path: &Path) -> bool {
    path == learned_pin(paths)
}
