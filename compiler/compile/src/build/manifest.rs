//! `manifest.json`: what the artifact contains and where it came from — format version, input
//! digest, identities, the rule table with provenance, and per endpoint its object, map images,
//! attach point and the verdict kinds its tables use. Serialized with sorted, stable fields so
//! identical inputs give identical bytes.

use super::compile::{Compilation, CompiledEndpoint};
use crate::optimize::layout::datapath_rule_id;
use crate::resolve::Verdict;
use policyc_backends::datapath::programs;
use policyc_ir::identity::IdentityKind;
use policyc_ir::universe::Universe;
use policyc_ir::{Direction, PolicyRule};
use serde::Serialize;
use std::collections::BTreeMap;

/// Version of the artifact directory layout described here.
pub const ARTIFACT_FORMAT_VERSION: u32 = 1;
/// Version of an artifact where some endpoint runs its own (`--specialize`) object: a loader
/// that only knows version 1 would load the template for it, so it must refuse.
pub const ARTIFACT_FORMAT_VERSION_SPECIALIZED: u32 = 2;

#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    pub format_version: u32,
    pub layout_version: u32,
    pub input_digest: String,
    pub inputs: Vec<String>,
    pub cluster: String,
    /// The datapath object every endpoint uses (path relative to the artifact directory).
    pub object: String,
    /// Node-wide ipcache image.
    pub ipcache: String,
    /// What `policy-loader endpoint add` classifies new endpoints with (see `classifier`).
    pub classifier: String,
    pub identities: Vec<ManifestIdentity>,
    pub rules: Vec<ManifestRule>,
    pub endpoints: Vec<ManifestEndpoint>,
    /// Things the datapath does not enforce yet (L7, toFQDNs, auth).
    pub warnings: Vec<String>,
    /// `sha256:<hex>` of the object and every image file, by relative path (checked by the loader).
    pub file_digests: BTreeMap<String, String>,
    /// DNS object and node-wide FQDN selector classes (absent without `rules.dns`/`toFQDNs`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns: Option<super::dns_images::ManifestNodeDns>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ManifestIdentity {
    pub id: u32,
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    pub labels: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ManifestRule {
    pub id: u32,
    /// The id the datapath reports in events and counters (`id + 1`; 0 = no rule).
    pub datapath_rule_id: u32,
    pub policy_kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub yaml_path: String,
    pub direction: Direction,
    pub action: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct ManifestAttach {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// Program for the endpoint's egress (tcx ingress on the host-side interface).
    pub egress_program: &'static str,
    /// Program for the endpoint's ingress (tcx egress on the host-side interface).
    pub ingress_program: &'static str,
    pub egress_cgroup_program: &'static str,
    pub ingress_cgroup_program: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct ManifestEndpoint {
    pub name: String,
    pub endpoint_id: u32,
    pub identity: u32,
    /// The object this endpoint loads (the template's, or its generated one).
    pub object: String,
    /// The object was generated for this endpoint's decision (`--specialize`; format 2).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub specialized: bool,
    /// Specialized endpoints: datapath ids of the rules whose verdict is redirect-l7 (their
    /// tables hold no intervals the loader could scan).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub redirect_l7_rules: Vec<u32>,
    /// `.rodata` configuration image.
    pub config: String,
    /// Map name → image path.
    pub maps: BTreeMap<String, String>,
    /// Specialized endpoints: map name → image path of the template images describing the
    /// decision compiled into the object (never loaded; `policy-loader dump` decodes them).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub decision_maps: BTreeMap<String, String>,
    pub attach: ManifestAttach,
    pub enforced: BTreeMap<Direction, bool>,
    /// Verdict kinds present in the tables (`allow`, `deny`, `default-deny`, `redirect-l7`, ...).
    pub verdict_kinds: Vec<&'static str>,
    /// The in-kernel DNS object of an endpoint with `rules.dns` (see `dns_images`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns: Option<super::dns_images::ManifestDns>,
}

/// Directory (relative) of an endpoint's map images.
pub fn endpoint_dir(endpoint: &CompiledEndpoint) -> String {
    format!("maps/{}/{}", endpoint.key.namespace, endpoint.key.name)
}

fn identities(universe: &Universe) -> Vec<ManifestIdentity> {
    universe
        .identities()
        .values()
        .map(|i| ManifestIdentity {
            id: i.id.0,
            kind: match i.kind {
                IdentityKind::Reserved(_) => "reserved",
                IdentityKind::Endpoint => "endpoint",
                IdentityKind::Cidr(_) => "cidr",
            },
            prefix: i.cidr_prefix().map(|p| p.to_string()),
            labels: i.labels.iter().map(|l| l.to_string()).collect(),
        })
        .collect()
}

fn rules(rules: &[PolicyRule]) -> Vec<ManifestRule> {
    rules
        .iter()
        .map(|r| ManifestRule {
            id: r.id.0,
            datapath_rule_id: datapath_rule_id(Some(r.id)),
            policy_kind: r.origin.kind.short(),
            namespace: r.origin.namespace.clone(),
            name: r.origin.name.clone(),
            file: r.provenance.file.to_string(),
            line: r.provenance.line,
            column: r.provenance.column,
            yaml_path: r.provenance.path.clone(),
            direction: r.direction,
            action: match r.action {
                policyc_ir::RuleAction::Allow => "allow",
                policyc_ir::RuleAction::Deny => "deny",
            },
        })
        .collect()
}

/// Verdict kinds used anywhere in an endpoint's resolved functions.
pub fn verdict_kinds(endpoint: &CompiledEndpoint) -> Vec<&'static str> {
    let mut kinds: Vec<&'static str> = Vec::new();
    for direction in Direction::BOTH {
        let classes = endpoint.optimized.classes(direction);
        for behaviour in &classes.classes {
            for function in behaviour.values() {
                for interval in function {
                    kinds.push(interval.verdict.kind_name());
                }
            }
        }
    }
    kinds.sort_unstable();
    kinds.dedup();
    kinds
}

/// Datapath ids of the rules credited with a redirect-l7 verdict anywhere in an endpoint.
pub fn redirect_l7_rules(endpoint: &CompiledEndpoint) -> Vec<u32> {
    let mut ids: Vec<u32> = Direction::BOTH
        .iter()
        .flat_map(|d| endpoint.optimized.classes(*d).classes.iter())
        .flat_map(|behaviour| behaviour.values().flatten())
        .filter(|interval| matches!(interval.verdict, Verdict::RedirectL7(_)))
        .map(|interval| datapath_rule_id(interval.rule))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Does any endpoint redirect to an L7 policy?
pub fn has_l7(compilation: &Compilation) -> bool {
    compilation.endpoints.iter().any(|e| {
        verdict_kinds(e).contains(&Verdict::RedirectL7(crate::resolve::L7PolicyId(0)).kind_name())
    })
}

/// Everything [`build_manifest`] needs besides the compilation.
pub struct ManifestInputs<'a> {
    pub universe: &'a Universe,
    pub rules: &'a [PolicyRule],
    pub input_digest: String,
    pub inputs: Vec<String>,
    pub object_path: String,
    pub map_files: &'a BTreeMap<String, BTreeMap<String, String>>,
    /// Specialized endpoints: map name → image path of the decision images.
    pub decision_files: &'a BTreeMap<String, BTreeMap<String, String>>,
    pub warnings: Vec<String>,
    pub file_digests: BTreeMap<String, String>,
}

pub fn build_manifest(compilation: &Compilation, inputs: ManifestInputs<'_>) -> Manifest {
    let endpoints = compilation
        .endpoints
        .iter()
        .map(|e| {
            let dir = endpoint_dir(e);
            ManifestEndpoint {
                name: e.key.to_string(),
                endpoint_id: e.endpoint_id,
                identity: e.resolved.identity.0,
                object: e.object.artifact_path(),
                specialized: e.object.is_specialized(),
                redirect_l7_rules: if e.object.is_specialized() {
                    redirect_l7_rules(e)
                } else {
                    Vec::new()
                },
                config: format!("{dir}/config.bin"),
                maps: inputs
                    .map_files
                    .get(&e.key.to_string())
                    .cloned()
                    .unwrap_or_default(),
                decision_maps: inputs
                    .decision_files
                    .get(&e.key.to_string())
                    .cloned()
                    .unwrap_or_default(),
                attach: ManifestAttach {
                    interface: e.interface.clone(),
                    egress_program: programs::EGRESS_TCX,
                    ingress_program: programs::INGRESS_TCX,
                    egress_cgroup_program: programs::EGRESS_CGROUP,
                    ingress_cgroup_program: programs::INGRESS_CGROUP,
                },
                enforced: Direction::BOTH
                    .into_iter()
                    .map(|d| (d, e.optimized.layout(d).tables.enforced))
                    .collect(),
                verdict_kinds: verdict_kinds(e),
                dns: None,
            }
        })
        .collect();
    let any_specialized = compilation
        .endpoints
        .iter()
        .any(|e| e.object.is_specialized());
    Manifest {
        format_version: if any_specialized {
            ARTIFACT_FORMAT_VERSION_SPECIALIZED
        } else {
            ARTIFACT_FORMAT_VERSION
        },
        layout_version: policyc_backends::layout::LAYOUT_VERSION,
        input_digest: inputs.input_digest,
        inputs: inputs.inputs,
        cluster: inputs.universe.cluster().to_string(),
        object: inputs.object_path,
        ipcache: "maps/ipcache.bin".to_string(),
        classifier: super::classifier::CLASSIFIER_FILE.to_string(),
        identities: identities(inputs.universe),
        rules: rules(inputs.rules),
        endpoints,
        warnings: inputs.warnings,
        file_digests: inputs.file_digests,
        dns: None,
    }
}
