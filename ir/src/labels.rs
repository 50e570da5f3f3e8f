//! Labels as Cilium sees them: a source (`k8s`, `reserved`, `cidr`, ...) plus key and value.
//! Well-known label keys that Cilium adds to every endpoint live here too.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Key of the namespace label Cilium adds to every pod identity.
pub const POD_NAMESPACE_KEY: &str = "io.kubernetes.pod.namespace";
/// Prefix of namespace labels copied onto pods (`io.cilium.k8s.namespace.labels.<k>`).
pub const NAMESPACE_LABELS_PREFIX: &str = "io.cilium.k8s.namespace.labels.";
/// Service account label.
pub const SERVICE_ACCOUNT_KEY: &str = "io.cilium.k8s.policy.serviceaccount";
/// Cluster name label.
pub const CLUSTER_KEY: &str = "io.cilium.k8s.policy.cluster";

/// Where a label comes from. Selectors with source `Any` match labels of every source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LabelSource {
    Any,
    K8s,
    Reserved,
    Cidr,
    Fqdn,
    Cidrgroup,
    Container,
    Unspec,
}

impl LabelSource {
    /// Parses the `src` of a `src:key` label key; `None` when `src` is not a known source.
    pub fn from_prefix(s: &str) -> Option<Self> {
        Some(match s {
            "any" => Self::Any,
            "k8s" => Self::K8s,
            "reserved" => Self::Reserved,
            "cidr" => Self::Cidr,
            "fqdn" => Self::Fqdn,
            "cidrgroup" => Self::Cidrgroup,
            "container" => Self::Container,
            "unspec" => Self::Unspec,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Any => "any",
            Self::K8s => "k8s",
            Self::Reserved => "reserved",
            Self::Cidr => "cidr",
            Self::Fqdn => "fqdn",
            Self::Cidrgroup => "cidrgroup",
            Self::Container => "container",
            Self::Unspec => "unspec",
        }
    }
}

/// A label key with its source, as written in selectors (`k8s:app`, `reserved:host`, `app`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LabelKey {
    pub source: LabelSource,
    pub key: String,
}

impl LabelKey {
    pub fn new(source: LabelSource, key: impl Into<String>) -> Self {
        Self {
            source,
            key: key.into(),
        }
    }

    /// Parses `src:key` or `key` (source `Any`). An unknown `src` is kept as part of the key,
    /// which is what Kubernetes does with prefixed keys like `app.kubernetes.io/name`.
    pub fn parse(text: &str, default_source: LabelSource) -> Self {
        if let Some((src, key)) = text.split_once(':') {
            if let Some(source) = LabelSource::from_prefix(src) {
                return Self::new(source, key);
            }
        }
        Self::new(default_source, text)
    }

    /// Does this selector key match a label with `source` and `key`?
    pub fn matches(&self, source: LabelSource, key: &str) -> bool {
        self.key == key && (self.source == LabelSource::Any || self.source == source)
    }
}

impl fmt::Display for LabelKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.source.as_str(), self.key)
    }
}

/// One label of an identity.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Label {
    pub source: LabelSource,
    pub key: String,
    pub value: String,
}

impl Label {
    pub fn new(source: LabelSource, key: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            source,
            key: key.into(),
            value: value.into(),
        }
    }

    pub fn k8s(key: impl Into<String>, value: impl Into<String>) -> Self {
        Self::new(LabelSource::K8s, key, value)
    }

    pub fn reserved(key: impl Into<String>) -> Self {
        Self::new(LabelSource::Reserved, key, "")
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.value.is_empty() {
            write!(f, "{}:{}", self.source.as_str(), self.key)
        } else {
            write!(f, "{}:{}={}", self.source.as_str(), self.key, self.value)
        }
    }
}

/// The labels of one identity: at most one value per (source, key), ordered, so equal label
/// sets compare and hash equal regardless of input order.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LabelSet {
    labels: BTreeMap<(LabelSource, String), String>,
}

impl LabelSet {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, label: Label) {
        self.labels.insert((label.source, label.key), label.value);
    }

    pub fn with(mut self, label: Label) -> Self {
        self.insert(label);
        self
    }

    /// Value of the first label matching the selector key (source-aware).
    pub fn get(&self, key: &LabelKey) -> Option<&str> {
        self.labels
            .iter()
            .find(|((src, k), _)| key.matches(*src, k))
            .map(|(_, v)| v.as_str())
    }

    /// All values of labels matching the selector key (an `any:` key may match several sources).
    pub fn values<'a>(&'a self, key: &'a LabelKey) -> impl Iterator<Item = &'a str> + 'a {
        self.labels
            .iter()
            .filter(move |((src, k), _)| key.matches(*src, k))
            .map(|(_, v)| v.as_str())
    }

    pub fn has_source(&self, source: LabelSource) -> bool {
        self.labels.keys().any(|(s, _)| *s == source)
    }

    pub fn iter(&self) -> impl Iterator<Item = Label> + '_ {
        self.labels
            .iter()
            .map(|((s, k), v)| Label::new(*s, k.clone(), v.clone()))
    }

    /// The labels as borrowed `(source, key, value)`, without cloning (for indexes).
    pub fn entries(&self) -> impl Iterator<Item = (LabelSource, &str, &str)> + '_ {
        self.labels
            .iter()
            .map(|((s, k), v)| (*s, k.as_str(), v.as_str()))
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

impl FromIterator<Label> for LabelSet {
    fn from_iter<T: IntoIterator<Item = Label>>(iter: T) -> Self {
        let mut set = Self::new();
        for l in iter {
            set.insert(l);
        }
        set
    }
}

impl fmt::Display for LabelSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.iter().map(|l| l.to_string()).collect();
        write!(f, "{}", parts.join(","))
    }
}
