//! Reading an endpoint's DNS counters (`pc_dns_counters`, a per-CPU array shared by its DNS
//! generations): `dns status` reports them, the ledger keeps an unloaded endpoint's
//! `learned_new`.

use libbpf_rs::{MapCore, MapFlags, MapHandle};

/// Counter values of a pinned per-CPU counters map, summed over CPUs, in index order.
pub fn read_counters(map: &MapHandle, count: u32) -> Vec<u64> {
    (0..count)
        .map(|index| {
            map.lookup_percpu(&index.to_ne_bytes(), MapFlags::ANY)
                .ok()
                .flatten()
                .map_or(0, |values| {
                    values
                        .iter()
                        .filter_map(|v| v.get(..8).and_then(|b| <[u8; 8]>::try_from(b).ok()))
                        .map(u64::from_ne_bytes)
                        .sum()
                })
        })
        .collect()
}
