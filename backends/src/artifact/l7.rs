//! `l7/http.json`: the compiled HTTP tables the node-local L7 filter judges requests with.
//!
//! `policyc build` writes it when some redirect-l7 verdict carries HTTP rules; the manifest
//! names it (`l7`) and pins it by digest like every other file. Every regex (method, path,
//! host) is already compiled: each is a regex-automata dense DFA serialized with
//! `to_bytes_little_endian` (base64 in [`L7Regex::dfa`]); the filter loads it with the
//! checking `DFA::from_bytes` and never compiles a regex ([`crate::l7`]).
//!
//! Lookup: an L7 policy ([`L7Policy`], one per endpoint and direction with redirect-l7
//! verdicts) is found by its id; the peer's identity selects a rule set ([`L7RuleSet`], shared
//! by content); the connection's destination port selects the entries of the set whose port
//! range holds it; the request is allowed when one entry's matcher accepts it (Cilium's
//! `PortNetworkPolicyRules::Matches`, cilium/proxy `cilium/network_policy.cc`).

use std::collections::BTreeMap;

use policyc_ir::Direction;
use serde::{Deserialize, Serialize};

/// Path of the HTTP tables inside the artifact directory.
pub const L7_TABLES_FILE: &str = "l7/http.json";

/// Version of this format: bump when a field changes meaning (the filter refuses others).
pub const L7_FORMAT_VERSION: u32 = 1;

/// How [`L7Regex::dfa`] is encoded (the filter refuses other encodings).
pub const DFA_ENCODING: &str = "regex-automata-0.4/dense/le/base64";

/// `l7/http.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct L7Tables {
    /// [`L7_FORMAT_VERSION`].
    pub format_version: u32,
    /// [`DFA_ENCODING`].
    pub dfa_encoding: String,
    /// Every distinct regex, referenced by index from [`HttpMatcher`].
    pub regexes: Vec<L7Regex>,
    /// Every distinct rule set, referenced by index from [`L7Policy`].
    pub rule_sets: Vec<L7RuleSet>,
    /// One per endpoint and direction with redirect-l7 verdicts; `policies[i].id == i`.
    pub policies: Vec<L7Policy>,
}

/// One compiled full-match regex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct L7Regex {
    /// The rule's text (as written; matched against the whole value).
    pub source: String,
    /// The dense DFA of `^(?:source)$`, serialized (see [`DFA_ENCODING`]).
    pub dfa: String,
}

/// The rules one peer is judged by on one endpoint and direction.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct L7RuleSet {
    /// Entries in rule order; the port decides which apply.
    pub entries: Vec<L7Entry>,
}

/// One HTTP rule of one policy rule, on the ports it covers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct L7Entry {
    /// First destination port covered.
    pub port_lo: u16,
    /// Last destination port covered (inclusive).
    pub port_hi: u16,
    /// Datapath rule id (`ManifestRule::datapath_rule_id`) of the rule it comes from.
    pub rule: u32,
    /// What a request must look like.
    pub http: HttpMatcher,
}

/// One `rules.http` entry, compiled: every present field must match (an empty matcher
/// accepts every request).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct HttpMatcher {
    /// Index into [`L7Tables::regexes`], matched against the method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<u32>,
    /// Index into [`L7Tables::regexes`], matched against the path with its query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<u32>,
    /// Index into [`L7Tables::regexes`], matched against the authority (`Host`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<u32>,
    /// Required headers (`headers`, and `headerMatches` without a mismatch action).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<HeaderRequirement>,
    /// `headerMatches` with a mismatch action or a secret, run in order after the rest
    /// matched (Cilium's `HttpNetworkPolicyRule::HeaderMatches`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub header_actions: Vec<HeaderAction>,
}

/// A header the request must carry.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct HeaderRequirement {
    /// Lower-cased name.
    pub name: String,
    /// The exact value (all values of the name joined with `,`); `None`: presence only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// A `headerMatches` entry judged with its mismatch action.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct HeaderAction {
    /// Lower-cased name.
    pub name: String,
    /// What the header must be.
    pub value: HeaderValue,
    /// What happens when it is not.
    pub mismatch: MismatchAction,
}

/// The value a [`HeaderAction`] compares with.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "value")]
pub enum HeaderValue {
    /// Presence only (no value, no secret).
    Present,
    /// This exact value.
    Exact(String),
    /// A Kubernetes Secret the build did not know: the match always fails (Cilium: "if the
    /// referred secret does not exist, and there is no value specified, the match will fail").
    UnknownSecret(String),
}

/// `headerMatches[].mismatch` (Cilium `HeaderMatch_*_ON_MISMATCH`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum MismatchAction {
    /// Unset: the rule does not match.
    Fail,
    /// Log the missing header, accept.
    Log,
    /// Add the header with the value, accept.
    Add,
    /// Delete a header of that name with another value, accept.
    Delete,
    /// Set the header to the value, accept.
    Replace,
}

/// The L7 policy of one endpoint in one direction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct L7Policy {
    /// Index in [`L7Tables::policies`].
    pub id: u32,
    /// `namespace/name` of the endpoint.
    pub endpoint: String,
    /// The endpoint id the datapath reports.
    pub endpoint_id: u32,
    /// From the endpoint's point of view.
    pub direction: Direction,
    /// Peer identity → index into [`L7Tables::rule_sets`].
    pub peers: BTreeMap<u32, u32>,
    /// The rule set of an identity unknown at build time, when its verdict is redirect-l7.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unknown_peer: Option<u32>,
}

/// Why an `l7/http.json` cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum L7FormatError {
    #[error("cannot parse the L7 tables: {0}")]
    Json(String),
    #[error("L7 tables format version {found}, this build reads version {L7_FORMAT_VERSION}")]
    Version { found: u32 },
    #[error("L7 tables encode DFAs as `{found}`, this build reads `{DFA_ENCODING}`")]
    Encoding { found: String },
    #[error("L7 tables are inconsistent: {0}")]
    Inconsistent(String),
}

impl L7Tables {
    /// Empty tables of the current version.
    pub fn new() -> Self {
        L7Tables {
            format_version: L7_FORMAT_VERSION,
            dfa_encoding: DFA_ENCODING.to_string(),
            regexes: Vec::new(),
            rule_sets: Vec::new(),
            policies: Vec::new(),
        }
    }

    /// The file's bytes (pretty JSON, stable field order, a final newline).
    pub fn to_bytes(&self) -> Result<Vec<u8>, L7FormatError> {
        let mut text =
            serde_json::to_string_pretty(self).map_err(|e| L7FormatError::Json(e.to_string()))?;
        text.push('\n');
        Ok(text.into_bytes())
    }

    /// Parses and checks the file: version, encoding, and that every index points somewhere.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, L7FormatError> {
        let tables: L7Tables =
            serde_json::from_slice(bytes).map_err(|e| L7FormatError::Json(e.to_string()))?;
        if tables.format_version != L7_FORMAT_VERSION {
            return Err(L7FormatError::Version {
                found: tables.format_version,
            });
        }
        if tables.dfa_encoding != DFA_ENCODING {
            return Err(L7FormatError::Encoding {
                found: tables.dfa_encoding,
            });
        }
        tables.check_indices()?;
        Ok(tables)
    }

    fn check_indices(&self) -> Result<(), L7FormatError> {
        let bad = |what: String| Err(L7FormatError::Inconsistent(what));
        let regexes = self.regexes.len();
        for (s, set) in self.rule_sets.iter().enumerate() {
            for entry in &set.entries {
                if entry.port_lo > entry.port_hi {
                    return bad(format!(
                        "rule set {s}: port range {}-{} is inverted",
                        entry.port_lo, entry.port_hi
                    ));
                }
                let m = &entry.http;
                for index in [m.method, m.path, m.host].into_iter().flatten() {
                    if usize::try_from(index).map_or(true, |i| i >= regexes) {
                        return bad(format!("rule set {s} names regex {index} of {regexes}"));
                    }
                }
            }
        }
        let sets = self.rule_sets.len();
        for (i, policy) in self.policies.iter().enumerate() {
            if usize::try_from(policy.id).ok() != Some(i) {
                return bad(format!("policy at index {i} has id {}", policy.id));
            }
            for set in policy.peers.values().chain(policy.unknown_peer.iter()) {
                if usize::try_from(*set).map_or(true, |s| s >= sets) {
                    return bad(format!("policy {i} names rule set {set} of {sets}"));
                }
            }
        }
        Ok(())
    }

    /// The policy of `endpoint_id` in `direction`.
    pub fn policy_of(&self, endpoint_id: u32, direction: Direction) -> Option<&L7Policy> {
        self.policies
            .iter()
            .find(|p| p.endpoint_id == endpoint_id && p.direction == direction)
    }
}

impl Default for L7Tables {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> L7Tables {
        let mut t = L7Tables::new();
        t.regexes.push(L7Regex {
            source: "GET".into(),
            dfa: "AAAA".into(),
        });
        t.rule_sets.push(L7RuleSet {
            entries: vec![L7Entry {
                port_lo: 80,
                port_hi: 80,
                rule: 3,
                http: HttpMatcher {
                    method: Some(0),
                    headers: vec![HeaderRequirement {
                        name: "x-token".into(),
                        value: Some("t".into()),
                    }],
                    header_actions: vec![HeaderAction {
                        name: "user-agent".into(),
                        value: HeaderValue::Exact("curl".into()),
                        mismatch: MismatchAction::Replace,
                    }],
                    ..HttpMatcher::default()
                },
            }],
        });
        t.policies.push(L7Policy {
            id: 0,
            endpoint: "shop/api".into(),
            endpoint_id: 2,
            direction: Direction::Ingress,
            peers: BTreeMap::from([(1000, 0)]),
            unknown_peer: None,
        });
        t
    }

    #[test]
    fn tables_round_trip_through_their_bytes() {
        let t = sample();
        let bytes = t.to_bytes().expect("serializes");
        assert_eq!(L7Tables::from_bytes(&bytes), Ok(t));
    }

    #[test]
    fn another_format_version_is_refused() {
        let mut t = sample();
        t.format_version = L7_FORMAT_VERSION + 1;
        let bytes = t.to_bytes().expect("serializes");
        assert!(matches!(
            L7Tables::from_bytes(&bytes),
            Err(L7FormatError::Version { .. })
        ));
    }

    #[test]
    fn another_dfa_encoding_is_refused() {
        let mut t = sample();
        t.dfa_encoding = "regex-automata-0.5/dense/le/base64".into();
        let bytes = t.to_bytes().expect("serializes");
        assert!(matches!(
            L7Tables::from_bytes(&bytes),
            Err(L7FormatError::Encoding { .. })
        ));
    }

    #[test]
    fn dangling_indices_are_refused() {
        let mut regex = sample();
        regex.rule_sets[0].entries[0].http.path = Some(7);
        let mut set = sample();
        set.policies[0].peers.insert(1001, 9);
        let mut id = sample();
        id.policies[0].id = 4;
        let mut ports = sample();
        ports.rule_sets[0].entries[0].port_lo = 81;
        for t in [regex, set, id, ports] {
            let bytes = t.to_bytes().expect("serializes");
            assert!(matches!(
                L7Tables::from_bytes(&bytes),
                Err(L7FormatError::Inconsistent(_))
            ));
        }
    }

    #[test]
    fn mismatch_actions_are_written_as_cilium_spells_them() {
        for (action, text) in [
            (MismatchAction::Log, "\"LOG\""),
            (MismatchAction::Add, "\"ADD\""),
            (MismatchAction::Delete, "\"DELETE\""),
            (MismatchAction::Replace, "\"REPLACE\""),
        ] {
            assert_eq!(serde_json::to_string(&action).expect("json"), text);
        }
    }
}
