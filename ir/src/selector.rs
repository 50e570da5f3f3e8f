//! Label selectors (Kubernetes `LabelSelector` as Cilium evaluates it): requirements over
//! source-aware label keys, ANDed. An empty selector selects everything.

use crate::labels::{LabelKey, LabelSet};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Operator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
    /// Cilium also evaluates numeric `Gt`/`Lt` (single value).
    Gt,
    Lt,
}

/// One requirement; `matchLabels: {k: v}` lowers to `k In [v]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Requirement {
    pub key: LabelKey,
    pub operator: Operator,
    pub values: BTreeSet<String>,
}

impl Requirement {
    pub fn new(
        key: LabelKey,
        operator: Operator,
        values: impl IntoIterator<Item = String>,
    ) -> Self {
        Self {
            key,
            operator,
            values: values.into_iter().collect(),
        }
    }

    pub fn equals(key: LabelKey, value: impl Into<String>) -> Self {
        Self::new(key, Operator::In, [value.into()])
    }

    pub fn exists(key: LabelKey) -> Self {
        Self::new(key, Operator::Exists, [])
    }

    pub fn matches(&self, labels: &LabelSet) -> bool {
        let mut values = labels.values(&self.key).peekable();
        match self.operator {
            Operator::Exists => values.peek().is_some(),
            Operator::DoesNotExist => values.peek().is_none(),
            Operator::In => values.any(|v| self.values.contains(v)),
            Operator::NotIn => !labels.values(&self.key).any(|v| self.values.contains(v)),
            Operator::Gt | Operator::Lt => {
                let Some(bound) = self
                    .values
                    .iter()
                    .next()
                    .and_then(|b| b.parse::<i64>().ok())
                else {
                    return false;
                };
                values.any(|v| match v.parse::<i64>() {
                    Ok(n) if self.operator == Operator::Gt => n > bound,
                    Ok(n) => n < bound,
                    Err(_) => false,
                })
            }
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let vals: Vec<&str> = self.values.iter().map(String::as_str).collect();
        match self.operator {
            Operator::In if vals.len() == 1 => write!(f, "{}={}", self.key, vals[0]),
            Operator::In => write!(f, "{} in ({})", self.key, vals.join(",")),
            Operator::NotIn => write!(f, "{} notin ({})", self.key, vals.join(",")),
            Operator::Exists => write!(f, "{}", self.key),
            Operator::DoesNotExist => write!(f, "!{}", self.key),
            Operator::Gt => write!(f, "{} > {}", self.key, vals.join(",")),
            Operator::Lt => write!(f, "{} < {}", self.key, vals.join(",")),
        }
    }
}

/// A conjunction of requirements. `requirements` is kept sorted and deduplicated so equal
/// selectors compare equal (this is what makes policy reorderings semantically invisible).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EndpointSelector {
    requirements: BTreeSet<Requirement>,
}

impl EndpointSelector {
    /// The selector that selects everything (`{}`).
    pub fn wildcard() -> Self {
        Self::default()
    }

    pub fn from_requirements(reqs: impl IntoIterator<Item = Requirement>) -> Self {
        Self {
            requirements: reqs.into_iter().collect(),
        }
    }

    pub fn with(mut self, req: Requirement) -> Self {
        self.requirements.insert(req);
        self
    }

    pub fn add(&mut self, req: Requirement) {
        self.requirements.insert(req);
    }

    pub fn requirements(&self) -> impl Iterator<Item = &Requirement> {
        self.requirements.iter()
    }

    pub fn is_wildcard(&self) -> bool {
        self.requirements.is_empty()
    }

    /// Does any requirement mention this key (by plain key name, any source)?
    pub fn mentions_key(&self, key: &str) -> bool {
        self.requirements.iter().any(|r| r.key.key == key)
    }

    pub fn mentions_key_prefix(&self, prefix: &str) -> bool {
        self.requirements
            .iter()
            .any(|r| r.key.key.starts_with(prefix))
    }

    pub fn mentions_source(&self, source: crate::labels::LabelSource) -> bool {
        self.requirements.iter().any(|r| r.key.source == source)
    }

    pub fn matches(&self, labels: &LabelSet) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }
}

impl fmt::Display for EndpointSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.requirements.is_empty() {
            return write!(f, "{{}}");
        }
        let parts: Vec<String> = self.requirements.iter().map(|r| r.to_string()).collect();
        write!(f, "{}", parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::{Label, LabelSource};
    use test_case::test_case;

    fn pod() -> LabelSet {
        LabelSet::new()
            .with(Label::k8s("app", "web"))
            .with(Label::k8s("tier", "3"))
            .with(Label::reserved("host"))
    }

    #[test_case("app", Operator::In, &["web"], true; "in matches value")]
    #[test_case("app", Operator::In, &["db"], false; "in rejects other value")]
    #[test_case("k8s:app", Operator::In, &["web"], true; "source prefix k8s matches k8s label")]
    #[test_case("reserved:app", Operator::In, &["web"], false; "source prefix must match")]
    #[test_case("app", Operator::NotIn, &["db"], true; "notin passes other value")]
    #[test_case("missing", Operator::NotIn, &["x"], true; "notin passes absent key")]
    #[test_case("app", Operator::Exists, &[], true; "exists")]
    #[test_case("missing", Operator::DoesNotExist, &[], true; "does not exist")]
    #[test_case("reserved:host", Operator::Exists, &[], true; "reserved exists")]
    #[test_case("tier", Operator::Gt, &["2"], true; "gt numeric")]
    #[test_case("tier", Operator::Lt, &["2"], false; "lt numeric")]
    fn requirement_matching(key: &str, op: Operator, values: &[&str], expected: bool) {
        let r = Requirement::new(
            LabelKey::parse(key, LabelSource::Any),
            op,
            values.iter().map(|s| s.to_string()),
        );
        assert_eq!(r.matches(&pod()), expected);
    }

    #[test]
    fn empty_selector_selects_everything() {
        assert!(EndpointSelector::wildcard().matches(&LabelSet::new()));
    }
}
