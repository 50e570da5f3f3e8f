//! L7 rules attached to a port rule: HTTP (RE2 full-match regexes), DNS (FQDN patterns),
//! Kafka (deprecated in Cilium 1.19, still evaluated), and generic `l7proto` rules.

use crate::fqdn::FqdnSelector;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// A regular expression matched against the WHOLE value (Envoy `safe_regex` semantics).
#[derive(Clone, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FullMatchRegex {
    source: String,
    #[serde(skip)]
    compiled: Option<regex::Regex>,
}

impl FullMatchRegex {
    /// Compiles with RE2 syntax (the `regex` crate); the error text is shown to users.
    pub fn new(source: &str) -> Result<Self, String> {
        let compiled = regex::Regex::new(&format!("^(?:{source})$")).map_err(|e| e.to_string())?;
        Ok(Self {
            source: source.to_string(),
            compiled: Some(compiled),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    pub fn is_full_match(&self, text: &str) -> bool {
        self.compiled.as_ref().is_some_and(|re| re.is_match(text))
    }
}

impl TryFrom<String> for FullMatchRegex {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::new(&s)
    }
}

impl From<FullMatchRegex> for String {
    fn from(r: FullMatchRegex) -> String {
        r.source
    }
}

impl fmt::Debug for FullMatchRegex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/{}/", self.source)
    }
}

impl PartialEq for FullMatchRegex {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}
impl Eq for FullMatchRegex {}
impl PartialOrd for FullMatchRegex {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for FullMatchRegex {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.source.cmp(&other.source)
    }
}
impl std::hash::Hash for FullMatchRegex {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.source.hash(state);
    }
}

/// `headers` entry: presence (`Name`) or exact value (`Name: value`), or a `headerMatches` item.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct HeaderMatch {
    /// Header names compare case-insensitively; stored lower-cased.
    pub name: String,
    /// `None` = presence only.
    pub value: Option<String>,
}

/// One HTTP rule: every present field must match (AND). An empty rule allows every request.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct HttpRule {
    pub method: Option<FullMatchRegex>,
    pub path: Option<FullMatchRegex>,
    pub host: Option<FullMatchRegex>,
    pub headers: Vec<HeaderMatch>,
    /// Set (naming the secret) when a `headerMatches` entry can never match: its secret is
    /// unknown and it has no `value` (Cilium, `pkg/envoy/policy/envoy_l7_rules_translator.go`
    /// `getHTTPRule`: an inverted match on the empty value, whatever `mismatch` says). Then
    /// the rule matches no request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub never_matches: Option<String>,
}

/// An HTTP request as a flow test describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpRequest {
    pub method: String,
    pub path: String,
    pub host: Option<String>,
    pub headers: BTreeMap<String, String>,
}

impl HttpRule {
    pub fn matches(&self, req: &HttpRequest) -> bool {
        let field =
            |re: &Option<FullMatchRegex>, v: &str| re.as_ref().is_none_or(|r| r.is_full_match(v));
        self.never_matches.is_none()
            && field(&self.method, &req.method)
            && field(&self.path, &req.path)
            && self
                .host
                .as_ref()
                .is_none_or(|h| req.host.as_deref().is_some_and(|v| h.is_full_match(v)))
            && self.headers.iter().all(|h| {
                req.headers.iter().any(|(k, v)| {
                    k.eq_ignore_ascii_case(&h.name) && h.value.as_ref().is_none_or(|want| want == v)
                })
            })
    }
}

/// Kafka rule (role XOR apiKey; all present fields must match).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct KafkaRule {
    pub role: Option<String>,
    pub api_key: Option<String>,
    pub api_version: Option<String>,
    pub client_id: Option<String>,
    pub topic: Option<String>,
}

/// The L7 rules of one port rule: exactly one kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum L7Rules {
    /// No L7 restriction on this port rule.
    #[default]
    None,
    Http(Vec<HttpRule>),
    Dns(Vec<FqdnSelector>),
    Kafka(Vec<KafkaRule>),
    Generic {
        proto: String,
        rules: Vec<BTreeMap<String, String>>,
    },
}

impl L7Rules {
    pub fn is_none(&self) -> bool {
        matches!(self, Self::None)
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Http(_) => "http",
            Self::Dns(_) => "dns",
            Self::Kafka(_) => "kafka",
            Self::Generic { .. } => "l7proto",
        }
    }
}
