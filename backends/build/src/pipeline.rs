//! The whole of `policyc build` as a library call: load the inventory and the policies, stop on
//! error findings, build the universe, compile every endpoint, write the artifact. The CLI and
//! the tests both go through [`build_artifact`].

use super::artifact::{write_artifact, ArtifactInputs, ArtifactSummary};
use super::compile::{compile, Compilation, CompileError};
use super::digest::{input_digest, input_files};
use super::manifest::has_l7;
use super::specialize::{CacheStats, SpecializeError, SpecializeOptions};
use super::writer::ArtifactError;
use policyc_diagnostics::source::SourceMap;
use policyc_diagnostics::{Finding, Severity};
use policyc_frontend::inventory::{load_inventory, InventoryOptions};
use policyc_frontend::{load_policies, FrontendOptions};
use policyc_ir::rule::AuthMode;
use policyc_ir::universe::{Universe, UniverseError, UniverseOptions};
use policyc_ir::{Peer, PeerSet, PolicyRule, RuleAction, Subject};
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
    /// A field the node cannot enforce as it means in Cilium: refused by name.
    #[error("refusing to build: `{field}` {why}; used at:\n  {}", .locations.join("\n  "))]
    Refused {
        field: &'static str,
        why: &'static str,
        /// `file:line:col (path)` of every use.
        locations: Vec<String>,
    },
}

/// Refuses, by name and location, what the build cannot give the node the meaning it has in
/// Cilium: `authentication.mode: required` (mutual authentication, which policyc does not
/// provide), host policies (`nodeSelector`: no host firewall yet), and deny rules whose peers
/// only the Cilium agent resolves at runtime (the deny would match nothing).
fn refuse_unenforceable(rules: &[PolicyRule]) -> Result<(), BuildFailure> {
    let locate = |r: &&PolicyRule| {
        let p = &r.provenance;
        format!("{}:{}:{} ({})", p.file, p.line, p.column, p.path)
    };
    let auth: Vec<String> = rules
        .iter()
        .filter(|r| r.auth == Some(AuthMode::Required))
        .map(|r| locate(&r))
        .collect();
    if !auth.is_empty() {
        return Err(BuildFailure::Refused {
            field: "authentication.mode: required",
            why: "needs mutual authentication, which policyc does not provide (policyc test and explain report such flows as dropped); remove it or use `disabled`",
            locations: auth,
        });
    }
    let host_policies: Vec<String> = rules
        .iter()
        .filter(|r| matches!(r.subject, Subject::Nodes(_)))
        .map(|r| locate(&r))
        .collect();
    if !host_policies.is_empty() {
        return Err(BuildFailure::Refused {
            field: "nodeSelector (host policy)",
            why: "selects nodes, whose host firewall policyc does not compile yet (policyc test and explain evaluate it; nothing would enforce it on the node); build the endpoint policies without it",
            locations: host_policies,
        });
    }
    let runtime_denies: Vec<String> = rules
        .iter()
        .filter(|r| r.action == RuleAction::Deny && has_runtime_peer(r))
        .map(|r| locate(&r))
        .collect();
    if !runtime_denies.is_empty() {
        return Err(BuildFailure::Refused {
            field: "toServices/toGroups/cidrGroupRef/cidrGroupSelector in a deny rule",
            why: "names peers only the Cilium agent resolves at runtime: compiled offline the deny would match nothing (lint PC0312); describe the denied peers with selectors or CIDRs",
            locations: runtime_denies,
        });
    }
    Ok(())
}

/// Whether a rule names a peer only resolved at runtime (`Peer::Unresolved`).
fn has_runtime_peer(rule: &PolicyRule) -> bool {
    matches!(&rule.peers, PeerSet::Some(peers) if peers.iter().any(|p| matches!(p, Peer::Unresolved { .. })))
}

/// The loud warnings of a build: what the datapath does not enforce yet.
pub fn build_warnings(rules: &[PolicyRule], compilation: &Compilation) -> Vec<String> {
    let mut warnings = Vec::new();
    if has_l7(compilation) {
        warnings.push(
            "L7 rules compile to redirect-l7 verdicts, but the datapath does not enforce L7 yet: \
             the loader refuses such endpoints unless run with --l7-fallback=allow-l4 (then L4 is allowed, L7 is NOT checked)"
                .to_string(),
        );
    }
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
        .any(|r| r.action == RuleAction::Allow && has_runtime_peer(r))
    {
        warnings.push(
            "allow rules naming toServices/toGroups/cidrGroupRef/cidrGroupSelector peers are compiled as selecting nothing (those peers are resolved only at runtime by the Cilium agent): their traffic is dropped"
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

/// Loads the inventory and the policies; error findings stop the build.
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
    let inventory =
        load_inventory(inventory, inventory_options, sources).map_err(BuildFailure::Findings)?;
    let frontend = FrontendOptions {
        cluster_name: inventory.cluster.clone(),
    };
    let set = load_policies(policies, &frontend, sources);
    if set.error_count() > 0 {
        return Err(BuildFailure::Findings(set.findings));
    }
    let universe = policyc_frontend::identity::build_universe(&inventory, &set.rules, options)?;
    Ok((universe, set.rules, set.findings))
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
    let (universe, rules, findings) = load_inputs_on(
        &request.inventory,
        &InventoryOptions {
            local_node: request.local_node.clone(),
        },
        &request.policies,
        request.options,
        sources,
    )?;
    refuse_unenforceable(&rules)?;
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
    let warnings = build_warnings(&rules, &compilation);
    let summary = write_artifact(
        &compilation,
        ArtifactInputs {
            universe: &universe,
            rules: &rules,
            input_digest: digest,
            inputs: files.iter().map(|f| f.display().to_string()).collect(),
            warnings,
            specialization: specialization.as_ref().map(|s| s.report.clone()),
        },
        &request.output,
    )?;
    Ok((summary, findings, specialization.map(|s| s.cache)))
}
