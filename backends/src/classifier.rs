//! `classifier.json`, the artifact file that lets `policy-loader endpoint add` admit a new
//! endpoint without recompiling: the rules, per endpoint and direction the rules selecting it and
//! a table from *match signature* (the sorted ids of the selected rules whose peers match an
//! identity) to the datapath class, and the endpoint label sets with the data to number a new one
//! exactly as the compiler does (`policyc_ir::endpoint_identity`), and per direction how a class
//! reaches its identities (unknown class, `pc_class` entry, or identity-keyed copies of a
//! template identity's port functions). Endpoints whose tables are the same share one *shape*
//! (`shapes`, referenced by index from each endpoint), so the file grows with distinct shapes,
//! not with endpoints × identities. Written by `policyc build`, read by the loader: one
//! definition for both.

use policyc_ir::{Direction, Label, PolicyRule, RuleId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Relative path of the classifier in the artifact.
pub const CLASSIFIER_FILE: &str = "classifier.json";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Classifier {
    pub cluster: String,
    /// Every rule (peers and ids are what the loader matches on).
    pub rules: Vec<PolicyRule>,
    /// Every endpoint identity of the build: number and labels.
    pub endpoint_identities: Vec<ClassifierIdentity>,
    /// Namespace → its labels (without the `io.cilium.k8s.namespace.labels.` prefix), from the
    /// endpoints of the build.
    pub namespace_labels: BTreeMap<String, BTreeMap<String, String>>,
    /// The distinct per-direction tables of the build's endpoints.
    pub shapes: Vec<ClassifierShape>,
    pub endpoints: Vec<ClassifierEndpoint>,
}

impl Classifier {
    /// The tables of `endpoint` (`None`: its shape index is out of range).
    pub fn shape(&self, endpoint: &ClassifierEndpoint) -> Option<&ClassifierShape> {
        self.shapes.get(endpoint.shape)
    }
}

/// The tables of every endpoint with this shape.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClassifierShape {
    /// Ingress, then egress.
    pub directions: Vec<ClassifierDirection>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClassifierIdentity {
    pub id: u32,
    /// The label set, as a list (a `LabelSet` has no JSON form).
    pub labels: Vec<Label>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClassifierEndpoint {
    pub name: String,
    /// Index into [`Classifier::shapes`].
    pub shape: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClassifierDirection {
    pub direction: Direction,
    /// false = the direction's tables are empty (everything passes); nothing to write.
    pub tables_enforced: bool,
    /// Identities of this class need no entry at all.
    pub unknown_class: u32,
    /// Identity-keyed classes: an identity of such a class gets copies of the `pc_portfn`
    /// entries (kind identity) of the class's template identity instead of a `pc_class` entry.
    /// Every other class (not the unknown class) is class-keyed: one `pc_class` entry. Empty
    /// for endpoints whose program reads only `pc_class` (e.g. `--specialize`).
    #[serde(default)]
    pub identity_keyed: Vec<ClassifierTemplate>,
    /// Rules selecting the endpoint in this direction, in rule-table order.
    pub selected_rules: Vec<RuleId>,
    /// Match signature → datapath class, for every signature some identity had at build time
    /// (and the empty signature).
    pub signatures: Vec<ClassifierSignature>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClassifierTemplate {
    pub class: u32,
    /// An identity of the build in the class, whose identity-keyed functions are the class's.
    pub identity: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClassifierSignature {
    pub rules: Vec<RuleId>,
    pub class: u32,
}
