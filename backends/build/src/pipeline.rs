//! The whole of `policyc build` as a library call: load the inventory and the policies, stop on
//! error findings, build the universe, compile every endpoint, write the artifact. The CLI and
//! the tests both go through [`build_artifact`].

use super::artifact::{write_artifact, ArtifactInputs, ArtifactSummary};
use super::compile::{compile, CompileError};
use super::digest::{input_digest, input_files};
use super::specialize::{CacheStats, SpecializeError, SpecializeOptions};
use super::unenforced::{check_allowed, unenforced_fields, Refusal, UnknownGapCode};
use super::writer::ArtifactError;
use policyc_diagnostics::source::SourceMap;
use policyc_diagnostics::{Finding, Severity};
use policyc_frontend::inventory::{load_inventory, InventoryOptions};
use policyc_frontend::{load_policies, FrontendOptions, PolicyObject};
use policyc_ir::rule::AuthMode;
use policyc_ir::universe::{Universe, UniverseError, UniverseOptions};
use policyc_ir::{Peer, PeerSet, PolicyRule};
use std::path::{Path, PathBuf};

/// What to build.
#[derive(Debug, Clone)]
pub struct BuildRequest {
    pub inventory: PathBuf,
    pub policies: Vec<PathBuf>,
    pub output: PathBuf,
    pub options: UniverseOptions,
    /// The node the artifact is for (`host`); `None`: the inventory's `local: true` node, else
    /// the first.
    pub local_node: Option<String>,
    /// Gap codes of refused fields to build anyway (`--allow-unenforced`); named in the
    /// manifest and the report.
    pub allow_unenforced: Vec<String>,
}

/// Why a build stopped.
#[derive(Debug, thiserror::Error)]
pub enum BuildFailure {
    /// The inputs have error findings (rendered by the caller with the source map).
    #[error("the inputs have {} error finding(s)", .0.iter().filter(|f| f.severity == Severity::Error).count())]
    Findings(Vec<Finding>),
    #[error("cannot read the inputs: {0}")]
    Io(#[from] std::io::Error),
    #[error("inconsistent inventory: {0}")]
    Universe(#[from] UniverseError),
    #[error(transparent)]
    Compile(#[from] CompileError),
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    #[error(transparent)]
    Specialize(#[from] SpecializeError),
    /// Fields the node cannot give their Cilium meaning (the field status table): refused by
    /// name, with every location.
    #[error("refusing to build: {} field(s) would not mean what they mean in Cilium:\n  {}", .0.len(), .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  "))]
    Refused(Vec<Refusal>),
    #[error(transparent)]
    UnknownGapCode(#[from] UnknownGapCode),
}

/// The loud warnings of a build: what the datapath does not enforce yet.
pub fn build_warnings(rules: &[PolicyRule]) -> Vec<String> {
    let mut warnings = Vec::new();
    let fqdn = rules.iter().any(
        |r| matches!(&r.peers, PeerSet::Some(p) if p.iter().any(|p| matches!(p, Peer::Fqdn(_)))),
    );
    if fqdn {
        warnings.push(
            "toFQDNs are enforced in the kernel only where the DNS object is installed (endpoints with rules.dns): a new egress \
             connection to an address outside the cluster is allowed by the toFQDNs rules whose selectors match a name the endpoint \
             was allowed to look up and whose answer carried that address, until the answer's TTL (or --dns-min-ttl) runs out; \
             addresses are learned node-wide (another endpoint with the same selector may use them, as in Cilium). Answers the DNS \
             object does not see or cannot parse (DNS over TCP split across segments, fragmented UDP, DoT/DoH) teach nothing: \
             toFQDNs then allow nothing (fail closed)"
                .to_string(),
        );
    }
    if rules
        .iter()
        .any(|r| r.auth == Some(AuthMode::TestAlwaysFail))
    {
        warnings.push(
            "authentication.mode: test-always-fail drops every flow its rules allow (as in Cilium), in policyc test and in the datapath"
                .to_string(),
        );
    }
    warnings
}

/// Everything a build reads.
pub struct LoadedInputs {
    pub universe: Universe,
    pub rules: Vec<PolicyRule>,
    /// The policy objects, with their uses of gapped fields (`field_status`).
    pub objects: Vec<PolicyObject>,
    /// Findings below error level.
    pub findings: Vec<Finding>,
}

/// Loads the inventory and the policies; error findings stop the build.
pub fn load_build_inputs(
    inventory: &Path,
    inventory_options: &InventoryOptions,
    policies: &[PathBuf],
    options: UniverseOptions,
    sources: &mut SourceMap,
) -> Result<LoadedInputs, BuildFailure> {
    let inventory =
        load_inventory(inventory, inventory_options, sources).map_err(BuildFailure::Findings)?;
    let frontend = FrontendOptions::for_inventory(&inventory);
    let set = load_policies(policies, &frontend, sources);
    if set.error_count() > 0 {
        return Err(BuildFailure::Findings(set.findings));
    }
    let universe = policyc_frontend::identity::build_universe(&inventory, &set.rules, options)?;
    Ok(LoadedInputs {
        universe,
        rules: set.rules,
        objects: set.objects,
        findings: set.findings,
    })
}

/// [`load_build_inputs`] without the objects.
pub fn load_inputs(
    inventory: &Path,
    policies: &[PathBuf],
    options: UniverseOptions,
    sources: &mut SourceMap,
) -> Result<(Universe, Vec<PolicyRule>, Vec<Finding>), BuildFailure> {
    load_inputs_on(
        inventory,
        &InventoryOptions::default(),
        policies,
        options,
        sources,
    )
}

/// [`load_inputs`] with the inventory's options (the local node).
pub fn load_inputs_on(
    inventory: &Path,
    inventory_options: &InventoryOptions,
    policies: &[PathBuf],
    options: UniverseOptions,
    sources: &mut SourceMap,
) -> Result<(Universe, Vec<PolicyRule>, Vec<Finding>), BuildFailure> {
    let loaded = load_build_inputs(inventory, inventory_options, policies, options, sources)?;
    Ok((loaded.universe, loaded.rules, loaded.findings))
}

/// Runs a whole build; `on_endpoint_done` reports progress.
pub fn build_artifact(
    request: &BuildRequest,
    sources: &mut SourceMap,
    on_start: &dyn Fn(usize),
    on_endpoint_done: &(dyn Fn() + Sync),
) -> Result<(ArtifactSummary, Vec<Finding>), BuildFailure> {
    build_artifact_with(
        request,
        None,
        sources,
        &BuildProgress {
            on_start,
            on_endpoint_done,
            on_objects: &|_| {},
            on_object_done: &|| {},
        },
    )
    .map(|(summary, findings, _)| (summary, findings))
}

/// Progress callbacks of [`build_artifact_with`].
pub struct BuildProgress<'a> {
    /// Number of endpoints to compile.
    pub on_start: &'a dyn Fn(usize),
    pub on_endpoint_done: &'a (dyn Fn() + Sync),
    /// Number of distinct objects `--specialize` needs.
    pub on_objects: &'a dyn Fn(usize),
    pub on_object_done: &'a (dyn Fn() + Sync),
}

impl BuildProgress<'static> {
    /// Reports nothing (tests, library callers without a progress display).
    pub fn silent() -> Self {
        fn count(_: usize) {}
        fn step() {}
        BuildProgress {
            on_start: &count,
            on_endpoint_done: &step,
            on_objects: &count,
            on_object_done: &step,
        }
    }
}

/// A whole build, with `--specialize` when `specialize` is set (then also the cache stats).
pub fn build_artifact_with(
    request: &BuildRequest,
    specialize: Option<&SpecializeOptions>,
    sources: &mut SourceMap,
    progress: &BuildProgress<'_>,
) -> Result<(ArtifactSummary, Vec<Finding>, Option<CacheStats>), BuildFailure> {
    check_allowed(&request.allow_unenforced)?;
    let LoadedInputs {
        universe,
        rules,
        objects,
        findings,
    } = load_build_inputs(
        &request.inventory,
        &InventoryOptions {
            local_node: request.local_node.clone(),
        },
        &request.policies,
        request.options,
        sources,
    )?;
    let mut warnings = unenforced_fields(&objects, sources, &request.allow_unenforced)
        .map_err(BuildFailure::Refused)?;
    (progress.on_start)(universe.endpoints().len());
    let mut compilation = compile(&universe, &rules, progress.on_endpoint_done)?;
    let specialization = match specialize {
        Some(options) => Some(super::specialize::specialize(
            &mut compilation,
            options,
            progress.on_objects,
            progress.on_object_done,
        )?),
        None => None,
    };
    let mut all_inputs = vec![request.inventory.clone()];
    all_inputs.extend(request.policies.iter().cloned());
    let files = input_files(&all_inputs)?;
    let digest = input_digest(&files)?;
    warnings.extend(build_warnings(&rules));
    let summary = write_artifact(
        &compilation,
        ArtifactInputs {
            universe: &universe,
            rules: &rules,
            input_digest: digest,
            inputs: files.iter().map(|f| f.display().to_string()).collect(),
            warnings,
            allowed_unenforced: request.allow_unenforced.clone(),
            specialization: specialization.as_ref().map(|s| s.report.clone()),
        },
        &request.output,
    )?;
    Ok((summary, findings, specialization.map(|s| s.cache)))
}
