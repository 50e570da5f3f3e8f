//! The pure part of a build: universe + rules → per-endpoint resolution, classes, DAG, layout,
//! datapath tables and map images, plus the node-wide ipcache. Used by `policyc build`,
//! `policyc test --datapath` and the differential tests alike.
//!
//! Endpoints of one *shape* — the same identity (label set) and the same named ports, all that
//! resolution reads of the subject endpoint — have the same resolution and tables: each shape
//! is resolved and optimised once and shared (`Arc`) by its endpoints, whose own id and
//! addresses only go into their config. A build of many replicas then costs its shapes, not
//! its endpoints × identities (the per-endpoint classes hold every identity of the universe).

use super::object::EndpointObject;
use policyc_backends::artifact::l7::L7Tables;
use policyc_backends::artifact::{endpoint_config, shape_config};
use policyc_backends::{
    endpoint_images, ipcache_image, BackendError, EndpointImages, IpcacheEntry, MapImage,
};
use policyc_compile::l7::{compile_l7_tables, L7Endpoint};
use policyc_compile::optimize::endpoint::datapath_options;
use policyc_compile::optimize::{optimize_endpoint, OptimizedEndpoint};
use policyc_compile::resolve::{PolicyIndex, ResolveError, ResolvedEndpoint};
use policyc_ir::universe::{Endpoint, EndpointKey, NamedPort, Universe};
use policyc_ir::{NumericIdentity, PolicyRule};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    #[error("encoding the tables of {endpoint}: {source}")]
    Backend {
        endpoint: String,
        source: BackendError,
    },
    #[error("encoding the ipcache: {0}")]
    Ipcache(BackendError),
    #[error(transparent)]
    Fqdn(#[from] policyc_compile::dns::DnsCompileError),
    #[error("building the L7 tables: {0}")]
    L7(#[from] policyc_compile::l7::L7CompileError),
}

/// One endpoint, compiled.
#[derive(Debug, Clone)]
pub struct CompiledEndpoint {
    pub key: EndpointKey,
    /// 1-based position in the sorted endpoint list (reported in datapath events).
    pub endpoint_id: u32,
    pub interface: Option<String>,
    /// The endpoint's own addresses (the sources its egress may use).
    pub addresses: Vec<IpAddr>,
    /// Shared by every endpoint of the same shape: its `key` is the first such endpoint's.
    pub resolved: Arc<ResolvedEndpoint>,
    /// Shared like `resolved`: `tables.endpoint_id` and `tables.source_addrs` are the first
    /// endpoint's; this endpoint's are `endpoint_id`, `addresses` and `images.config`.
    pub optimized: Arc<OptimizedEndpoint>,
    /// This endpoint's config (its id and addresses) and its shape's map images.
    pub images: EndpointImages,
    /// The BPF object it runs (the template unless `--specialize` generated one).
    pub object: EndpointObject,
    /// `--specialize`: the template's `pc_portfn` and `pc_intervals` images of the decision the
    /// generated object carries as code. Never loaded; written to the artifact so that
    /// `policy-loader dump` can show the endpoint's port functions. Empty on the template path.
    pub decision_maps: Vec<MapImage>,
}

/// A compiled policy set.
#[derive(Debug, Clone)]
pub struct Compilation {
    pub endpoints: Vec<CompiledEndpoint>,
    pub ipcache: Vec<IpcacheEntry>,
    pub ipcache_image: MapImage,
    /// The L7 filter's HTTP tables (`l7/http.json`); `None` without HTTP redirect verdicts.
    pub l7: Option<L7Tables>,
}

impl Compilation {
    pub fn endpoint(&self, key: &EndpointKey) -> Option<&CompiledEndpoint> {
        self.endpoints.iter().find(|e| &e.key == key)
    }
}

pub use policyc_compile::ipcache::ipcache_entries;

/// Compiles every endpoint (rayon across endpoints); `on_endpoint_done` is called once per
/// endpoint (progress reporting).
pub fn compile(
    universe: &Universe,
    rules: &[PolicyRule],
    on_endpoint_done: &(dyn Fn() + Sync),
) -> Result<Compilation, CompileError> {
    // More toFQDNs selectors than the learned map's bitmap holds: a build error, not a silent
    // fail-closed (resolution leaves toFQDNs out when they do not fit).
    policyc_compile::dns::FqdnClasses::node_wide(rules)?;
    let options = datapath_options(universe);
    // One index (identities, selector cache, rules by subject) for every endpoint: built per
    // endpoint, it made a build cubic in the number of endpoints.
    let policy_index = PolicyIndex::new(universe, rules)?;
    let all = universe.endpoints();
    // Shapes in order of first endpoint; `shape_of[i]` is endpoint i's.
    let mut shape_index: BTreeMap<ShapeKey<'_>, usize> = BTreeMap::new();
    let mut representatives: Vec<usize> = Vec::new();
    let shape_of: Vec<usize> = all
        .iter()
        .enumerate()
        .map(|(index, endpoint)| {
            *shape_index.entry(shape_key(endpoint)).or_insert_with(|| {
                representatives.push(index);
                representatives.len() - 1
            })
        })
        .collect();
    let shapes = representatives
        .par_iter()
        .map(|&index| compile_shape(&policy_index, &all[index], index, options))
        .collect::<Result<Vec<_>, CompileError>>()?;
    let endpoints =
        all.par_iter()
            .zip(shape_of.par_iter())
            .enumerate()
            .map(|(index, (endpoint, &shape))| {
                let shape = &shapes[shape];
                let endpoint_id = endpoint_number(index);
                let config = endpoint_config(&shape.config, endpoint_id, &endpoint.ips).map_err(
                    |source| CompileError::Backend {
                        endpoint: endpoint.key.to_string(),
                        source,
                    },
                )?;
                on_endpoint_done();
                Ok(CompiledEndpoint {
                    key: endpoint.key.clone(),
                    endpoint_id,
                    interface: endpoint.interface.clone(),
                    addresses: endpoint.ips.clone(),
                    resolved: Arc::clone(&shape.resolved),
                    optimized: Arc::clone(&shape.optimized),
                    images: EndpointImages {
                        config,
                        maps: shape.maps.clone(),
                    },
                    object: EndpointObject::Template,
                    decision_maps: Vec::new(),
                })
            })
            .collect::<Result<Vec<_>, CompileError>>()?;
    let ipcache = ipcache_entries(universe);
    let ipcache_image = ipcache_image(&ipcache).map_err(CompileError::Ipcache)?;
    let l7 = l7_tables(universe, rules, &endpoints)?;
    Ok(Compilation {
        endpoints,
        ipcache,
        ipcache_image,
        l7,
    })
}

/// What resolution reads of the subject endpoint: its identity (label set) and named ports.
type ShapeKey<'u> = (NumericIdentity, &'u BTreeMap<String, NamedPort>);

fn shape_key(endpoint: &Endpoint) -> ShapeKey<'_> {
    (endpoint.identity, &endpoint.named_ports)
}

/// The endpoint id of the endpoint at `index` (1-based).
fn endpoint_number(index: usize) -> u32 {
    u32::try_from(index + 1).unwrap_or(u32::MAX)
}

/// One shape, compiled for its first endpoint.
struct CompiledShape {
    resolved: Arc<ResolvedEndpoint>,
    optimized: Arc<OptimizedEndpoint>,
    /// Without the endpoint's id and addresses ([`shape_config`]).
    config: policyc_backends::layout::PolicycConfig,
    maps: Vec<MapImage>,
}

fn compile_shape(
    policy_index: &PolicyIndex<'_>,
    endpoint: &Endpoint,
    index: usize,
    options: policyc_backends::tables::DatapathOptions,
) -> Result<CompiledShape, CompileError> {
    let resolved = policy_index.resolve_endpoint(&endpoint.key)?;
    let mut optimized = optimize_endpoint(&resolved, endpoint_number(index), options);
    // Source validation: what the endpoint sends must come from its own addresses.
    optimized.tables.source_addrs = endpoint.ips.clone();
    let mut images =
        endpoint_images(&optimized.tables).map_err(|source| CompileError::Backend {
            endpoint: endpoint.key.to_string(),
            source,
        })?;
    // The FQDN classes whose pseudo-identities the egress tables judge.
    images.config.fqdn_mask = policyc_compile::resolve::fqdn_mask(&resolved.egress.groups);
    Ok(CompiledShape {
        config: shape_config(&images.config),
        maps: images.maps,
        resolved: Arc::new(resolved),
        optimized: Arc::new(optimized),
    })
}

/// The L7 filter's tables of compiled endpoints.
pub fn l7_tables(
    universe: &Universe,
    rules: &[PolicyRule],
    endpoints: &[CompiledEndpoint],
) -> Result<Option<L7Tables>, CompileError> {
    let l7_endpoints: Vec<L7Endpoint<'_>> = endpoints
        .iter()
        .map(|e| L7Endpoint {
            key: &e.key,
            endpoint_id: e.endpoint_id,
            resolved: &e.resolved,
        })
        .collect();
    Ok(compile_l7_tables(universe, rules, &l7_endpoints)?)
}
