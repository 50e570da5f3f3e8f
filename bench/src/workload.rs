//! One benchmark input compiled for the measured endpoint, with the time of each pipeline stage:
//! universe (identities, ipcache), resolution, optimisation (classes, DAG, layout), map images.

use crate::policy_gen::BenchSet;
use policyc_backends::{endpoint_images, ipcache_image, EndpointImages, IpcacheEntry, MapImage};
use policyc_build::compile::ipcache_entries;
use policyc_compile::optimize::endpoint::datapath_options;
use policyc_compile::optimize::{optimize_endpoint, OptimizedEndpoint};
use policyc_compile::resolve::{resolve_endpoint, ResolvedEndpoint};
use policyc_ir::universe::{Universe, UniverseOptions};
use std::time::Instant;

/// Milliseconds spent in each stage of compiling the measured endpoint.
#[derive(Debug, Clone, Copy, Default, serde::Serialize, serde::Deserialize)]
pub struct StageTimes {
    pub universe_ms: f64,
    pub resolve_ms: f64,
    pub optimize_ms: f64,
    pub images_ms: f64,
    pub ipcache_ms: f64,
}

impl StageTimes {
    pub fn endpoint_ms(&self) -> f64 {
        self.resolve_ms + self.optimize_ms + self.images_ms
    }

    pub fn total_ms(&self) -> f64 {
        self.universe_ms + self.endpoint_ms() + self.ipcache_ms
    }
}

pub struct Workload {
    pub set: BenchSet,
    pub universe: Universe,
    pub resolved: ResolvedEndpoint,
    pub images: EndpointImages,
    pub ipcache: Vec<IpcacheEntry>,
    pub ipcache_image: MapImage,
    pub times: StageTimes,
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1e3
}

impl Workload {
    pub fn compile(set: BenchSet) -> Result<Workload, String> {
        let t = Instant::now();
        let universe = policyc_frontend::identity::build_universe(
            &set.inventory,
            &set.rules,
            UniverseOptions::default(),
        )
        .map_err(|e| format!("universe: {e}"))?;
        let universe_ms = ms(t);
        let (resolved, _optimized, images, mut times) = compile_target(&universe, &set)?;
        times.universe_ms = universe_ms;
        let t = Instant::now();
        let ipcache = ipcache_entries(&universe);
        let ipcache_image = ipcache_image(&ipcache).map_err(|e| format!("ipcache image: {e}"))?;
        times.ipcache_ms = ms(t);
        Ok(Workload {
            set,
            universe,
            resolved,
            images,
            ipcache,
            ipcache_image,
            times,
        })
    }

    /// Entries of policyc's per-endpoint maps (pc_class + pc_portfn + pc_intervals) and bytes.
    pub fn policyc_entries(&self) -> (usize, usize) {
        self.images
            .maps
            .iter()
            .filter(|m| m.name != policyc_backends::layout::map_names::COUNTERS)
            .fold((0, 0), |(n, b), m| {
                (
                    n + m.entries.len(),
                    b + m.entries.len() * (m.key_size as usize + m.value_size as usize),
                )
            })
    }
}

/// Resolution, optimisation and images of the measured endpoint, timed (universe_ms = 0).
pub fn compile_target(
    universe: &Universe,
    set: &BenchSet,
) -> Result<
    (
        ResolvedEndpoint,
        OptimizedEndpoint,
        EndpointImages,
        StageTimes,
    ),
    String,
> {
    let mut times = StageTimes::default();
    let t = Instant::now();
    let resolved = resolve_endpoint(universe, &set.rules, &BenchSet::target())
        .map_err(|e| format!("resolve: {e}"))?;
    times.resolve_ms = ms(t);
    let t = Instant::now();
    let optimized = optimize_endpoint(&resolved, 1, datapath_options(universe));
    times.optimize_ms = ms(t);
    let t = Instant::now();
    let images = endpoint_images(&optimized.tables).map_err(|e| format!("images: {e}"))?;
    times.images_ms = ms(t);
    Ok((resolved, optimized, images, times))
}
