//! One endpoint kept compiled across edits, end to end: universe, resolution, identity classes,
//! layout, datapath tables, map images and the node-wide ipcache image. Each edit takes the
//! cheapest path whose result is exactly what a full compile of the edited inputs gives
//! ([`IncrementalEndpoint::new`] on them; `testsuite/tests/incremental_endpoint.rs` compares
//! the two over random edit sequences):
//!
//! - **one more endpoint** ([`IncrementalEndpoint::add_endpoint`], `identity.rs`): added to the
//!   universe in place; a new identity whose match signature an existing peer group has joins
//!   it, its class and its layout (`optimize::layout::add_member`), and gains only its own
//!   `pc_class` record (or identity-keyed functions) and its ipcache records. Anything else
//!   (a new signature, a layout choice that moves, named ports, a renumbering) recompiles.
//! - **a rule added, replaced or removed** (`rule.rs`): resolution is incremental
//!   ([`crate::resolve::IncrementalResolver`]: selector cache and group functions kept); the
//!   optimizer and images run again on the result.
//!
//! The map images are sized with headroom (`policyc_backends::capacity_with_headroom`), so an
//! edit changes a map's size only when it crosses a power of two.

pub mod changes;
mod identity;
mod rule;

use crate::optimize::endpoint::datapath_options;
use crate::optimize::{optimize_endpoint, OptimizedEndpoint};
use crate::resolve::{fqdn_mask, IncrementalResolver, ResolveError, ResolvedEndpoint};
use policyc_backends::{endpoint_images, ipcache_image, BackendError, EndpointImages, MapImage};
use policyc_ir::universe::{EndpointKey, Universe, UniverseError};
use policyc_ir::{PolicyRule, RuleId};
use std::collections::HashMap;

pub use crate::resolve::UnknownRule;

#[derive(Debug, thiserror::Error)]
pub enum IncrementalError {
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    #[error("encoding the tables of {endpoint}: {source}")]
    Backend {
        endpoint: EndpointKey,
        source: BackendError,
    },
    #[error("encoding the ipcache: {0}")]
    Ipcache(BackendError),
    #[error(transparent)]
    Universe(#[from] UniverseError),
    #[error(transparent)]
    UnknownRule(#[from] UnknownRule),
}

/// How an edit was applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum UpdatePath {
    /// Only the records the edit concerns were computed and changed.
    InPlace,
    /// Resolution reused what it could; optimizer and images ran again.
    Reoptimized,
    /// Compiled again from the universe and rules.
    Recompiled,
}

/// Where the last edit's time went, ms (zero: the stage did not run).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct EditStages {
    pub universe_ms: f64,
    pub resolve_ms: f64,
    /// Classes, layout and tables.
    pub optimize_ms: f64,
    pub images_ms: f64,
}

fn ms(since: std::time::Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1e3
}

/// One endpoint's compilation and what keeps it up to date (cloned to try edits on a copy).
#[derive(Clone)]
pub struct IncrementalEndpoint {
    key: EndpointKey,
    endpoint_id: u32,
    universe: Universe,
    rules: Vec<PolicyRule>,
    /// Rule id → position in `rules`.
    rule_positions: HashMap<RuleId, usize>,
    resolver: IncrementalResolver,
    /// The resolver's universe is older than `universe` (endpoints added in place since).
    resolver_behind: bool,
    resolved: ResolvedEndpoint,
    /// `resolved`'s selected rules by peer set (with every resolution: the identity path
    /// matches a new identity once per distinct peer set).
    peers: Option<crate::resolve::identity_delta::SelectedPeers>,
    optimized: OptimizedEndpoint,
    images: EndpointImages,
    ipcache_image: MapImage,
    stages: EditStages,
}

impl IncrementalEndpoint {
    /// Compiles endpoint `key` (reported as `endpoint_id`) of `universe` under `rules`, as
    /// `policyc build` compiles each endpoint.
    pub fn new(
        universe: Universe,
        rules: Vec<PolicyRule>,
        key: EndpointKey,
        endpoint_id: u32,
    ) -> Result<Self, IncrementalError> {
        let mut resolver = IncrementalResolver::new(universe.clone(), rules.clone());
        let resolved = resolver.resolve_endpoint(&key)?;
        let (optimized, images) = compile_resolved(&universe, &resolved, endpoint_id)?;
        let ipcache_image = ipcache_image(&crate::ipcache::ipcache_entries(&universe))
            .map_err(IncrementalError::Ipcache)?;
        let rule_positions = positions(&rules);
        let peers =
            crate::resolve::identity_delta::SelectedPeers::new(&resolved, &rules, &rule_positions);
        Ok(Self {
            rule_positions,
            key,
            endpoint_id,
            universe,
            rules,
            resolver,
            resolver_behind: false,
            resolved,
            peers,
            optimized,
            images,
            ipcache_image,
            stages: EditStages::default(),
        })
    }

    pub fn universe(&self) -> &Universe {
        &self.universe
    }

    pub fn rules(&self) -> &[PolicyRule] {
        &self.rules
    }

    pub fn resolved(&self) -> &ResolvedEndpoint {
        &self.resolved
    }

    pub fn optimized(&self) -> &OptimizedEndpoint {
        &self.optimized
    }

    /// The endpoint's `.rodata` config and map images.
    pub fn images(&self) -> &EndpointImages {
        &self.images
    }

    /// The node-wide `pc_ipcache` image.
    pub fn ipcache_image(&self) -> &MapImage {
        &self.ipcache_image
    }

    /// Where the last edit's time went.
    pub fn last_stages(&self) -> EditStages {
        self.stages
    }

    /// (port functions reused, computed) by the last incremental resolution.
    pub fn memo_stats(&self) -> (usize, usize) {
        self.resolver.memo_stats()
    }

    /// Resolves, optimizes and encodes again (the resolver reusing what it kept), and the
    /// ipcache image from the universe.
    fn recompile(&mut self) -> Result<(), IncrementalError> {
        if self.resolver_behind {
            self.resolver.set_universe(self.universe.clone())?;
            self.resolver_behind = false;
        }
        self.reoptimize()?;
        self.ipcache_image = ipcache_image(&crate::ipcache::ipcache_entries(&self.universe))
            .map_err(IncrementalError::Ipcache)?;
        Ok(())
    }

    /// Resolution (incremental), optimizer and images of the endpoint; the ipcache is left.
    fn reoptimize(&mut self) -> Result<(), IncrementalError> {
        let t = std::time::Instant::now();
        if self.resolver_behind {
            self.resolver.set_universe(self.universe.clone())?;
            self.resolver_behind = false;
        }
        self.resolved = self.resolver.resolve_endpoint(&self.key)?;
        self.peers = crate::resolve::identity_delta::SelectedPeers::new(
            &self.resolved,
            &self.rules,
            &self.rule_positions,
        );
        self.stages.resolve_ms = ms(t);
        let t = std::time::Instant::now();
        let (optimized, images) =
            compile_resolved(&self.universe, &self.resolved, self.endpoint_id)?;
        self.stages.optimize_ms = ms(t);
        self.optimized = optimized;
        self.images = images;
        Ok(())
    }
}

fn positions(rules: &[PolicyRule]) -> HashMap<RuleId, usize> {
    rules.iter().enumerate().map(|(i, r)| (r.id, i)).collect()
}

/// Optimizer, tables and images of a resolved endpoint, as `policyc build` makes them: the
/// endpoint's own addresses for source validation, the FQDN classes of its egress groups.
pub fn compile_resolved(
    universe: &Universe,
    resolved: &ResolvedEndpoint,
    endpoint_id: u32,
) -> Result<(OptimizedEndpoint, EndpointImages), IncrementalError> {
    let mut optimized = optimize_endpoint(resolved, endpoint_id, datapath_options(universe));
    if let Some(endpoint) = universe.endpoint(&resolved.key) {
        optimized.tables.source_addrs = endpoint.ips.clone();
    }
    let mut images =
        endpoint_images(&optimized.tables).map_err(|source| IncrementalError::Backend {
            endpoint: resolved.key.clone(),
            source,
        })?;
    images.config.fqdn_mask = fqdn_mask(&resolved.egress.groups);
    Ok((optimized, images))
}
