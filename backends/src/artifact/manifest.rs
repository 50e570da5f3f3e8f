//! `manifest.json`: what the artifact contains and where it came from — format and layout
//! versions, input digest, identities, the rule table with provenance, per endpoint its object,
//! addresses, config and map images (content-addressed files under `images/`, shared by every
//! endpoint with the same bytes), attach point and the verdict kinds its tables use, and the
//! digest of every other file. `policyc build` writes it (fields in declaration order, maps sorted, so identical
//! inputs give identical bytes); the loader reads it, and fields an older artifact may lack
//! have defaults.

use std::collections::BTreeMap;
use std::net::IpAddr;

use policyc_ir::Direction;
use serde::{Deserialize, Serialize};

use super::dns_manifest::{ManifestDns, ManifestNodeDns};

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Artifact format version (see [`super::versions`]).
    pub format_version: u32,
    /// `policyc_layout.h` version the images were encoded for.
    pub layout_version: u32,
    /// `sha256:<hex>` over the build inputs.
    pub input_digest: String,
    /// The input files, as given.
    #[serde(default)]
    pub inputs: Vec<String>,
    /// Cluster name.
    pub cluster: String,
    /// The datapath object every template endpoint uses (path relative to the artifact
    /// directory).
    pub object: String,
    /// Node-wide ipcache image (relative path).
    pub ipcache: String,
    /// What `policy-loader endpoint add` classifies new endpoints with (`classifier.json`;
    /// absent in older artifacts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classifier: Option<String>,
    /// Every identity of the universe.
    pub identities: Vec<ManifestIdentity>,
    /// Every rule with provenance.
    pub rules: Vec<ManifestRule>,
    /// Every endpoint.
    pub endpoints: Vec<ManifestEndpoint>,
    /// Things the datapath does not enforce yet (L7, toFQDNs, auth).
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Gap codes of refused fields built anyway with `policyc build --allow-unenforced CODE`
    /// (their fields do not mean what they mean in Cilium; `warnings` says where).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_unenforced: Vec<String>,
    /// `sha256:<hex>` of the object and every other file, by relative path (checked by the
    /// loader).
    #[serde(default)]
    pub file_digests: BTreeMap<String, String>,
    /// DNS object and node-wide FQDN selector classes (absent without `rules.dns`/`toFQDNs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<ManifestNodeDns>,
    /// The L7 filter's compiled HTTP tables (relative path, [`super::l7::L7_TABLES_FILE`];
    /// absent without HTTP rules on redirect-l7 verdicts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub l7: Option<String>,
}

/// An identity and its labels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestIdentity {
    /// Numeric identity.
    pub id: u32,
    /// `reserved`, `endpoint` or `cidr`.
    pub kind: String,
    /// CIDR identities: the prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Labels.
    pub labels: Vec<String>,
}

/// A rule with its source location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestRule {
    /// Rule id.
    pub id: u32,
    /// The id the datapath reports in events, counters and interval records (`id + 1`;
    /// 0 = no rule).
    pub datapath_rule_id: u32,
    /// `CNP`, `CCNP`, `KNP`.
    pub policy_kind: String,
    /// Policy namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Policy name.
    pub name: String,
    /// Source file.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// Path inside the YAML document.
    pub yaml_path: String,
    /// `ingress` / `egress`.
    pub direction: Direction,
    /// `allow` / `deny`.
    pub action: String,
}

/// Attach information of an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestAttach {
    /// Host-side interface for tcx.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// Program for the endpoint's egress (tcx ingress on the host-side interface).
    #[serde(default)]
    pub egress_program: String,
    /// Program for the endpoint's ingress (tcx egress on the host-side interface).
    #[serde(default)]
    pub ingress_program: String,
    /// cgroup_skb program for the endpoint's egress.
    #[serde(default)]
    pub egress_cgroup_program: String,
    /// cgroup_skb program for the endpoint's ingress.
    #[serde(default)]
    pub ingress_cgroup_program: String,
}

/// One endpoint of the artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEndpoint {
    /// `namespace/name`.
    pub name: String,
    /// Endpoint id reported in events.
    pub endpoint_id: u32,
    /// The endpoint's own identity.
    pub identity: u32,
    /// The object this endpoint loads (relative path: the template's, or its generated one;
    /// the manifest's `object` when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// The object was generated for this endpoint's decision (`policyc build --specialize`;
    /// format 2).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub specialized: bool,
    /// Specialized endpoints: datapath ids of the rules whose verdict is redirect-l7 (their
    /// tables hold no intervals the loader could scan).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redirect_l7_rules: Vec<u32>,
    /// `.rodata` configuration image of the endpoint's shape (relative path; shared by the
    /// endpoints with the same tables): its endpoint id and source addresses are zero, the
    /// loader sets them from `endpoint_id` and `addresses` (`super::config`).
    pub config: String,
    /// The endpoint's own addresses: the sources its egress may use (into its config).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<IpAddr>,
    /// Map name → image path (content-addressed, shared by endpoints with the same image).
    pub maps: BTreeMap<String, String>,
    /// Specialized endpoints: map name → image path of the template images describing the
    /// decision compiled into the object (never loaded; `policy-loader dump` decodes them).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub decision_maps: BTreeMap<String, String>,
    /// Attach point.
    pub attach: ManifestAttach,
    /// Whether each direction's tables enforce anything.
    #[serde(default)]
    pub enforced: BTreeMap<Direction, bool>,
    /// Verdict kinds present in the tables (`allow`, `deny`, `default-deny`, `redirect-l7`, ...).
    #[serde(default)]
    pub verdict_kinds: Vec<String>,
    /// The DNS tables of an endpoint with `rules.dns`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<ManifestDns>,
}

impl Manifest {
    /// The rule with datapath id `id` (0 = none).
    pub fn rule(&self, datapath_rule_id: u32) -> Option<&ManifestRule> {
        self.rules
            .iter()
            .find(|r| r.datapath_rule_id == datapath_rule_id)
    }

    /// The endpoint called `name`.
    pub fn endpoint(&self, name: &str) -> Option<&ManifestEndpoint> {
        self.endpoints.iter().find(|e| e.name == name)
    }

    /// The object (relative path) endpoint `e` loads: its own, or the manifest's `object` when
    /// it names none.
    pub fn endpoint_object<'m>(&'m self, e: &'m ManifestEndpoint) -> &'m str {
        e.object.as_deref().unwrap_or(&self.object)
    }

    /// The labels of identity `id`, comma-separated (or `?`).
    pub fn identity_labels(&self, id: u32) -> String {
        self.identities
            .iter()
            .find(|i| i.id == id)
            .map(|i| match &i.prefix {
                Some(prefix) => format!("cidr:{prefix}"),
                None => i.labels.join(","),
            })
            .unwrap_or_else(|| "?".into())
    }
}

impl ManifestRule {
    /// `kind ns/name (file:line:col spec.path)`.
    pub fn describe(&self) -> String {
        let name = match &self.namespace {
            Some(ns) => format!("{ns}/{}", self.name),
            None => self.name.clone(),
        };
        format!(
            "{} {name} {} ({}:{}:{} {})",
            self.policy_kind, self.action, self.file, self.line, self.column, self.yaml_path
        )
    }
}
