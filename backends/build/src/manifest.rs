//! Builds `manifest.json` (defined in `policyc_backends::artifact`, shared with the loader) from
//! a compilation: format version, input digest, identities, the rule table with provenance, and
//! per endpoint its object, map images, attach point and the verdict kinds its tables use.

use super::compile::{Compilation, CompiledEndpoint};
use policyc_backends::artifact::{
    Manifest, ManifestAttach, ManifestEndpoint, ManifestIdentity, ManifestRule,
    ARTIFACT_FORMAT_VERSION, IPCACHE_FILE, LAYOUT_VERSION,
};
use policyc_backends::datapath::programs;
use policyc_compile::optimize::layout::datapath_rule_id;
use policyc_compile::resolve::Verdict;
use policyc_ir::identity::IdentityKind;
use policyc_ir::universe::Universe;
use policyc_ir::{Direction, PolicyRule};
use std::collections::BTreeMap;

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
                IdentityKind::RemoteNode => "remote-node",
            }
            .to_string(),
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
            policy_kind: r.origin.kind.short().to_string(),
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
            }
            .to_string(),
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
        verdict_kinds(e)
            .contains(&Verdict::RedirectL7(policyc_compile::resolve::L7PolicyId(0)).kind_name())
    })
}

/// Everything [`build_manifest`] needs besides the compilation.
pub struct ManifestInputs<'a> {
    pub universe: &'a Universe,
    pub rules: &'a [PolicyRule],
    pub input_digest: String,
    pub inputs: Vec<String>,
    pub object_path: String,
    /// Endpoint → its shape's config image.
    pub config_files: &'a BTreeMap<String, String>,
    pub map_files: &'a BTreeMap<String, BTreeMap<String, String>>,
    /// Specialized endpoints: map name → image path of the decision images.
    pub decision_files: &'a BTreeMap<String, BTreeMap<String, String>>,
    pub warnings: Vec<String>,
    /// `--allow-unenforced` codes.
    pub allowed_unenforced: Vec<String>,
    pub file_digests: BTreeMap<String, String>,
}

pub fn build_manifest(compilation: &Compilation, inputs: ManifestInputs<'_>) -> Manifest {
    let endpoints = compilation
        .endpoints
        .iter()
        .map(|e| {
            let key = e.key.to_string();
            ManifestEndpoint {
                name: e.key.to_string(),
                endpoint_id: e.endpoint_id,
                identity: e.resolved.identity.0,
                object: Some(e.object.artifact_path()),
                specialized: e.object.is_specialized(),
                redirect_l7_rules: if e.object.is_specialized() {
                    redirect_l7_rules(e)
                } else {
                    Vec::new()
                },
                config: inputs.config_files.get(&key).cloned().unwrap_or_default(),
                addresses: e.addresses.clone(),
                maps: inputs.map_files.get(&key).cloned().unwrap_or_default(),
                decision_maps: inputs.decision_files.get(&key).cloned().unwrap_or_default(),
                attach: ManifestAttach {
                    interface: e.interface.clone(),
                    egress_program: programs::EGRESS_TCX.to_string(),
                    ingress_program: programs::INGRESS_TCX.to_string(),
                    egress_cgroup_program: programs::EGRESS_CGROUP.to_string(),
                    ingress_cgroup_program: programs::INGRESS_CGROUP.to_string(),
                },
                enforced: Direction::BOTH
                    .into_iter()
                    .map(|d| (d, e.optimized.layout(d).tables.enforced))
                    .collect(),
                verdict_kinds: verdict_kinds(e).into_iter().map(String::from).collect(),
                dns: None,
            }
        })
        .collect();
    Manifest {
        format_version: ARTIFACT_FORMAT_VERSION,
        layout_version: LAYOUT_VERSION,
        input_digest: inputs.input_digest,
        inputs: inputs.inputs,
        cluster: inputs.universe.cluster().to_string(),
        object: inputs.object_path,
        ipcache: IPCACHE_FILE.to_string(),
        classifier: Some(super::classifier::CLASSIFIER_FILE.to_string()),
        identities: identities(inputs.universe),
        rules: rules(inputs.rules),
        endpoints,
        warnings: inputs.warnings,
        allowed_unenforced: inputs.allowed_unenforced,
        file_digests: inputs.file_digests,
        dns: None,
        l7: None,
    }
}
