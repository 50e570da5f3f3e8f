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
                .map_or(0, |values| policyc_kernel::dns::percpu_sum(&values))
        })
        .collect()
}
