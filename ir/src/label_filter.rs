//! Cilium's identity label filter: the labels an endpoint's identity is computed from, after
//! the agent drops the ones that change per pod or carry no policy meaning
//! (`pkg/labelsfilter/filter.go`, `defaultLabelPrefixCfg` and `filterLabels`, v1.19). A
//! selector on a dropped label (`pod-template-hash`, `statefulset.kubernetes.io/pod-name`, ...)
//! matches nothing, and pods that differ only in dropped labels share one identity.
//!
//! Each prefix is a regular expression that must match at the start of the label key (an
//! optional `source:` restricts it to one source); `!` marks a prefix that drops labels. A label
//! is kept when no dropping prefix matches it, or when the longest keeping prefix that matches
//! is longer than the shortest dropping one (so `io.kubernetes.pod.namespace` survives
//! `!io.kubernetes`). The default list has keeping prefixes only to win such ties: with it,
//! unmatched labels are kept.

use regex::Regex;

use crate::labels::{Label, LabelSource};
use crate::LabelSet;

/// The default prefixes of Cilium v1.19, in its syntax.
pub const CILIUM_DEFAULT_PREFIXES: &[&str] = &[
    "reserved:.*",
    r"io\.kubernetes\.pod\.namespace",
    r"io\.cilium\.k8s\.namespace\.labels",
    r"app\.kubernetes\.io",
    r"io\.cilium\.k8s\.policy\.cluster",
    r"!io\.kubernetes",
    r"!kubernetes\.io",
    r"!statefulset\.kubernetes\.io/pod-name",
    r"!apps\.kubernetes\.io/pod-index",
    r"!batch\.kubernetes\.io/job-completion-index",
    r"!.*beta\.kubernetes\.io",
    r"!k8s\.io",
    "!pod-template-generation",
    "!pod-template-hash",
    "!controller-revision-hash",
    "!annotation.*",
    "!etcd_node",
];

/// One prefix of the filter.
#[derive(Debug, Clone)]
struct Prefix {
    drops: bool,
    source: Option<LabelSource>,
    expr: Regex,
}

impl Prefix {
    /// The length of the match at the start of the label's key, if the prefix matches.
    fn matched_len(&self, label: &Label) -> Option<usize> {
        if self.source.is_some_and(|s| s != label.source) {
            return None;
        }
        let m = self.expr.find(&label.key)?;
        (m.start() == 0).then_some(m.end())
    }
}

/// Why a prefix was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LabelFilterError {
    #[error("label prefix `{0}` is empty")]
    Empty(String),
    #[error("label prefix `{prefix}` is not a regular expression: {reason}")]
    BadRegex { prefix: String, reason: String },
    #[error("label prefix `{prefix}` names an unknown source `{source_name}`")]
    UnknownSource { prefix: String, source_name: String },
}

/// The filter applied to an endpoint's labels before its identity is computed.
#[derive(Debug, Clone)]
pub struct LabelFilter {
    prefixes: Vec<Prefix>,
    /// A keeping prefix came from the user (Cilium's `whitelist`): unmatched labels are dropped.
    allow_list: bool,
}

impl Default for LabelFilter {
    /// Cilium's default filter.
    fn default() -> Self {
        let prefixes = CILIUM_DEFAULT_PREFIXES
            .iter()
            .filter_map(|p| parse_prefix(p).ok())
            .collect();
        LabelFilter {
            prefixes,
            allow_list: false,
        }
    }
}

fn parse_prefix(text: &str) -> Result<Prefix, LabelFilterError> {
    let (source, rest) = match text.split_once(':') {
        Some((source, rest)) => {
            let parsed = LabelSource::from_prefix(source).ok_or_else(|| {
                LabelFilterError::UnknownSource {
                    prefix: text.to_string(),
                    source_name: source.to_string(),
                }
            })?;
            (Some(parsed), rest)
        }
        None => (None, text),
    };
    let (drops, pattern) = match rest.strip_prefix('!') {
        Some(pattern) => (true, pattern),
        None => (false, rest),
    };
    if pattern.is_empty() {
        return Err(LabelFilterError::Empty(text.to_string()));
    }
    let expr = Regex::new(pattern).map_err(|e| LabelFilterError::BadRegex {
        prefix: text.to_string(),
        reason: e.to_string(),
    })?;
    Ok(Prefix {
        drops,
        source,
        expr,
    })
}

impl LabelFilter {
    /// Cilium's `--label-prefix-file` / `--labels`: `replace_defaults` starts from an empty
    /// list (a prefix file), otherwise the prefixes are added to the defaults; a keeping prefix
    /// among them makes the filter an allow list, as in Cilium.
    pub fn with_prefixes<'a>(
        prefixes: impl IntoIterator<Item = &'a str>,
        replace_defaults: bool,
    ) -> Result<Self, LabelFilterError> {
        let mut filter = if replace_defaults {
            LabelFilter {
                prefixes: Vec::new(),
                allow_list: false,
            }
        } else {
            LabelFilter::default()
        };
        for text in prefixes {
            let prefix = parse_prefix(text)?;
            filter.allow_list |= !prefix.drops;
            filter.prefixes.push(prefix);
        }
        Ok(filter)
    }

    /// Whether the label takes part in the identity (`filterLabels`).
    pub fn keeps(&self, label: &Label) -> bool {
        let mut included = 0;
        let mut ignored = 0;
        for prefix in &self.prefixes {
            let Some(len) = prefix.matched_len(label) else {
                continue;
            };
            if prefix.drops {
                if ignored == 0 || len < ignored {
                    ignored = len;
                }
            } else {
                included = included.max(len);
            }
        }
        (!self.allow_list && ignored == 0) || included > ignored
    }

    /// The identity labels of a label set.
    pub fn apply(&self, labels: &LabelSet) -> LabelSet {
        labels.iter().filter(|l| self.keeps(l)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_case::test_case;

    #[test_case("app", true; "an ordinary label is kept")]
    #[test_case("pod-template-hash", false; "pod-template-hash is dropped")]
    #[test_case("controller-revision-hash", false; "controller-revision-hash is dropped")]
    #[test_case("pod-template-generation", false; "pod-template-generation is dropped")]
    #[test_case("statefulset.kubernetes.io/pod-name", false; "a statefulset pod name is dropped")]
    #[test_case("apps.kubernetes.io/pod-index", false; "a pod index is dropped")]
    #[test_case("batch.kubernetes.io/job-completion-index", false; "a job completion index is dropped")]
    #[test_case("batch.kubernetes.io/job-name", true; "other batch.kubernetes.io labels are kept")]
    #[test_case("kubernetes.io/os", false; "kubernetes.io labels are dropped")]
    #[test_case("io.kubernetes.container.name", false; "io.kubernetes labels are dropped")]
    #[test_case("io.kubernetes.pod.namespace", true; "the namespace label survives io.kubernetes")]
    #[test_case("io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name", true; "namespace labels are kept")]
    #[test_case("io.cilium.k8s.policy.serviceaccount", true; "the service account is kept")]
    #[test_case("app.kubernetes.io/name", true; "app.kubernetes.io is kept")]
    #[test_case("failure-domain.beta.kubernetes.io/zone", false; "beta.kubernetes.io anywhere is dropped")]
    #[test_case("k8s.io/foo", false; "k8s.io labels are dropped")]
    #[test_case("annotation.foo", false; "annotation labels are dropped")]
    #[test_case("etcd_node", false; "etcd_node is dropped")]
    #[test_case("my.kubernetes.io/x", true; "kubernetes.io not at the start does not drop")]
    fn default_filter_matches_cilium(key: &str, kept: bool) {
        let label = Label::new(LabelSource::K8s, key, "v");
        assert_eq!(LabelFilter::default().keeps(&label), kept, "{key}");
    }

    #[test]
    fn a_user_keeping_prefix_turns_the_filter_into_an_allow_list() {
        let filter = LabelFilter::with_prefixes(["k8s:team"], false).expect("valid prefix");
        assert!(filter.keeps(&Label::new(LabelSource::K8s, "team", "a")));
        assert!(!filter.keeps(&Label::new(LabelSource::K8s, "app", "a")));
        // The defaults' keeping prefixes still apply.
        assert!(filter.keeps(&Label::new(
            LabelSource::K8s,
            "io.kubernetes.pod.namespace",
            "x"
        )));
    }

    #[test]
    fn a_dropping_prefix_adds_to_the_defaults() {
        let filter = LabelFilter::with_prefixes(["!version"], false).expect("valid prefix");
        assert!(!filter.keeps(&Label::new(LabelSource::K8s, "version", "1")));
        assert!(!filter.keeps(&Label::new(LabelSource::K8s, "pod-template-hash", "1")));
        assert!(filter.keeps(&Label::new(LabelSource::K8s, "app", "a")));
    }

    #[test_case("k8s:"; "empty")]
    #[test_case("("; "bad regex")]
    #[test_case("nosuch:app"; "unknown source")]
    fn invalid_prefixes_are_errors(text: &str) {
        assert!(LabelFilter::with_prefixes([text], false).is_err());
    }
}
