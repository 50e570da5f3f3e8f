//! T4: map entries and bytes per endpoint, policyc vs Cilium's encoding of the same policy
//! (identity × protocol × masked-port prefixes, `CiliumEncoding`), for the generated sets and
//! the synthetic multi-tenant policy of the build report (all its endpoints).

use crate::workload::Workload;
use policyc_backends::layout::map_names;
use policyc_compile::resolve::cilium_encoding::CILIUM_POLICY_ENTRY_BYTES;

#[derive(Debug, Clone, serde::Serialize)]
pub struct Footprint {
    pub input: String,
    pub endpoints: usize,
    pub policyc_entries: usize,
    pub policyc_bytes: usize,
    pub cilium_entries: usize,
    pub cilium_bytes: usize,
}

pub fn of_workload(w: &Workload) -> Footprint {
    let (entries, bytes) = w.policyc_entries();
    let cilium = w.resolved.cilium.entries();
    Footprint {
        input: format!("generated N = {} (bench/api)", w.set.rules.len()),
        endpoints: 1,
        policyc_entries: entries,
        policyc_bytes: bytes,
        cilium_entries: cilium,
        cilium_bytes: cilium * CILIUM_POLICY_ENTRY_BYTES,
    }
}

/// The build report's multi-tenant policy: `tenants × apps` pods, every endpoint compiled.
pub fn multi_tenant(tenants: usize, apps: usize) -> Result<Footprint, String> {
    let set = policyc_testsuite::gen::multi_tenant(tenants, apps);
    let universe = set.universe().map_err(|e| e.to_string())?;
    let compilation =
        policyc_build::compile(&universe, &set.rules, &|| {}).map_err(|e| e.to_string())?;
    let (mut entries, mut bytes, mut cilium) = (0, 0, 0);
    for e in &compilation.endpoints {
        for m in e
            .images
            .maps
            .iter()
            .filter(|m| m.name != map_names::COUNTERS)
        {
            entries += m.entries.len();
            bytes += m.entries.len() * (m.key_size as usize + m.value_size as usize);
        }
        cilium += e.resolved.cilium.entries();
    }
    Ok(Footprint {
        input: format!("multi-tenant {tenants}×{apps} (all endpoints)"),
        endpoints: compilation.endpoints.len(),
        policyc_entries: entries,
        policyc_bytes: bytes,
        cilium_entries: cilium,
        cilium_bytes: cilium * CILIUM_POLICY_ENTRY_BYTES,
    })
}
