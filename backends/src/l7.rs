//! HTTP rules as compiled DFAs: [`compile_regex`] turns a rule's full-match regex into the
//! serialized dense DFA that `l7/http.json` carries ([`crate::artifact::l7`]); [`L7Judge`]
//! loads those tables (`DFA::from_bytes`, which checks every byte, no regex compiled on the
//! node) and judges requests as Cilium's Envoy filter does (cilium/proxy
//! `cilium/network_policy.cc`: `PortNetworkPolicyRules::Matches`,
//! `HttpNetworkPolicyRule::Matches` then `HeaderMatches`).

use base64::Engine as _;
use regex_automata::dfa::{dense, Automaton, StartKind};
use regex_automata::{Anchored, Input};
use zerocopy::IntoBytes;

use crate::artifact::l7::{
    HeaderAction, HeaderRequirement, HeaderValue, HttpMatcher, L7FormatError, L7Regex, L7Tables,
    MismatchAction,
};

/// Bytes the DFA of one regex may take (and its determinization may use).
pub const DFA_SIZE_LIMIT: usize = 4 << 20;

/// Why a rule's regex cannot be compiled for the node.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum L7RegexError {
    #[error("regex `{source_text}` cannot be compiled to a DFA: {reason}")]
    Build { source_text: String, reason: String },
    #[error("regex `{source_text}` compiled to a DFA that does not read back: {reason}")]
    RoundTrip { source_text: String, reason: String },
}

/// Compiles `source` (RE2 syntax, matched against the whole value as Envoy's `safe_regex`
/// does) into a serialized dense DFA.
pub fn compile_regex(source: &str) -> Result<L7Regex, L7RegexError> {
    let build = |reason: String| L7RegexError::Build {
        source_text: source.to_string(),
        reason,
    };
    let dfa = dense::Builder::new()
        .configure(
            dense::Config::new()
                .start_kind(StartKind::Anchored)
                .dfa_size_limit(Some(DFA_SIZE_LIMIT))
                .determinize_size_limit(Some(DFA_SIZE_LIMIT)),
        )
        .build(&format!("^(?:{source})$"))
        .map_err(|e| build(e.to_string()))?;
    let (bytes, pad) = dfa.to_bytes_little_endian();
    let encoded = base64::engine::general_purpose::STANDARD.encode(&bytes[pad..]);
    let regex = L7Regex {
        source: source.to_string(),
        dfa: encoded,
    };
    // What the node will load must load here too.
    LoadedRegex::load(&regex).map_err(|e| L7RegexError::RoundTrip {
        source_text: source.to_string(),
        reason: e.to_string(),
    })?;
    Ok(regex)
}

/// One DFA read back from its bytes.
#[derive(Debug, Clone)]
struct LoadedRegex {
    dfa: dense::DFA<Vec<u32>>,
}

impl LoadedRegex {
    fn load(regex: &L7Regex) -> Result<Self, L7FormatError> {
        let bad =
            |why: String| L7FormatError::Inconsistent(format!("regex `{}`: {why}", regex.source));
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&regex.dfa)
            .map_err(|e| bad(e.to_string()))?;
        // from_bytes needs 4-byte alignment: copy into u32 storage.
        let mut words = vec![0u32; bytes.len().div_ceil(4)];
        words.as_mut_bytes()[..bytes.len()].copy_from_slice(&bytes);
        let aligned = &words.as_bytes()[..bytes.len()];
        let (dfa, _) = dense::DFA::from_bytes(aligned).map_err(|e| bad(e.to_string()))?;
        Ok(LoadedRegex {
            dfa: dfa.to_owned(),
        })
    }

    /// Whether the whole of `text` matches (an error of the search fails the match).
    fn full_match(&self, text: &[u8]) -> bool {
        let input = Input::new(text).anchored(Anchored::Yes);
        matches!(self.dfa.try_search_fwd(&input), Ok(Some(m)) if m.offset() == text.len())
    }
}

/// An HTTP request as the filter sees it: the header list is what goes upstream, so header
/// actions edit it in place.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct L7Request {
    pub method: String,
    /// The request target as sent (path and query).
    pub path: String,
    /// The authority (`Host` in HTTP/1.1, `:authority` in HTTP/2).
    pub host: Option<Vec<u8>>,
    /// Headers in order, names lower-cased.
    pub headers: Vec<(String, Vec<u8>)>,
}

impl L7Request {
    /// All values of `name` joined with `,` (Envoy `getAllOfHeaderAsString`), `None` when absent.
    fn header(&self, name: &str) -> Option<Vec<u8>> {
        let mut values = self.headers.iter().filter(|(n, _)| n == name);
        let first = values.next()?.1.clone();
        Some(values.fold(first, |mut all, (_, v)| {
            all.push(b',');
            all.extend_from_slice(v);
            all
        }))
    }

    fn remove(&mut self, name: &str) {
        self.headers.retain(|(n, _)| n != name);
    }
}

/// What the filter did with one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    pub allowed: bool,
    /// Datapath ids of the rules whose HTTP entries accepted the request (allowed), or of
    /// every rule consulted (denied).
    pub rules: Vec<u32>,
    /// Headers a mismatch action logged, added, deleted or replaced (`name` → action).
    pub header_log: Vec<(String, MismatchAction)>,
}

/// Where a request arrived: which L7 policy, from which peer, on which port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct L7Key {
    pub policy: u32,
    pub peer_identity: u32,
    pub port: u16,
}

/// The tables with every DFA loaded.
#[derive(Debug, Clone)]
pub struct L7Judge {
    tables: L7Tables,
    regexes: Vec<LoadedRegex>,
}

impl L7Judge {
    /// Loads `l7/http.json` bytes (format checks, then every DFA).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, L7FormatError> {
        Self::new(L7Tables::from_bytes(bytes)?)
    }

    /// Loads every DFA of `tables`.
    pub fn new(tables: L7Tables) -> Result<Self, L7FormatError> {
        let regexes = tables
            .regexes
            .iter()
            .map(LoadedRegex::load)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(L7Judge { tables, regexes })
    }

    pub fn tables(&self) -> &L7Tables {
        &self.tables
    }

    /// Judges `request` (editing its headers as mismatch actions say). A key that names no
    /// policy, a peer with no rule set, or a port no entry covers is denied: the datapath only
    /// redirects what the tables describe, so anything else fails closed.
    pub fn judge(&self, key: L7Key, request: &mut L7Request) -> Judgement {
        let denied = |rules: Vec<u32>| Judgement {
            allowed: false,
            rules,
            header_log: Vec::new(),
        };
        let Some(set) = usize::try_from(key.policy)
            .ok()
            .and_then(|p| self.tables.policies.get(p))
            .and_then(|p| p.peers.get(&key.peer_identity).copied().or(p.unknown_peer))
            .and_then(|s| usize::try_from(s).ok())
            .and_then(|s| self.tables.rule_sets.get(s))
        else {
            return denied(Vec::new());
        };
        let entries: Vec<_> = set
            .entries
            .iter()
            .filter(|e| (e.port_lo..=e.port_hi).contains(&key.port))
            .collect();
        let mut consulted: Vec<u32> = entries.iter().map(|e| e.rule).collect();
        consulted.sort_unstable();
        consulted.dedup();
        let has_actions = entries.iter().any(|e| !e.http.header_actions.is_empty());
        let mut matched = Vec::new();
        let mut header_log = Vec::new();
        for entry in entries {
            if !self.matches(&entry.http, request) {
                continue;
            }
            // Without header actions the first match decides; with them every matching rule
            // runs its actions, and any that accepts allows.
            if !has_actions {
                return Judgement {
                    allowed: true,
                    rules: vec![entry.rule],
                    header_log,
                };
            }
            if run_header_actions(&entry.http.header_actions, request, &mut header_log) {
                matched.push(entry.rule);
            }
        }
        if matched.is_empty() {
            return Judgement {
                allowed: false,
                rules: consulted,
                header_log,
            };
        }
        matched.sort_unstable();
        matched.dedup();
        Judgement {
            allowed: true,
            rules: matched,
            header_log,
        }
    }

    fn regex_matches(&self, index: Option<u32>, value: Option<&[u8]>) -> bool {
        let Some(index) = index else {
            return true;
        };
        let Some(regex) = usize::try_from(index)
            .ok()
            .and_then(|i| self.regexes.get(i))
        else {
            return false;
        };
        value.is_some_and(|v| regex.full_match(v))
    }

    /// Method, path, host and required headers (Cilium's `HttpNetworkPolicyRule::Matches`).
    fn matches(&self, m: &HttpMatcher, request: &L7Request) -> bool {
        self.regex_matches(m.method, Some(request.method.as_bytes()))
            && self.regex_matches(m.path, Some(request.path.as_bytes()))
            && self.regex_matches(m.host, request.host.as_deref())
            && m.headers.iter().all(|h| requirement_met(h, request))
    }
}

fn requirement_met(h: &HeaderRequirement, request: &L7Request) -> bool {
    match (request.header(&h.name), &h.value) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(have), Some(want)) => have == want.as_bytes(),
    }
}

/// Runs the `headerMatches` with actions of one matching rule; false when one fails.
fn run_header_actions(
    actions: &[HeaderAction],
    request: &mut L7Request,
    log: &mut Vec<(String, MismatchAction)>,
) -> bool {
    let mut accepted = true;
    for action in actions {
        let present = request.header(&action.name);
        let matched = match (&action.value, &present) {
            (HeaderValue::UnknownSecret(_), _) | (_, None) => false,
            (HeaderValue::Present, Some(_)) => true,
            (HeaderValue::Exact(want), Some(have)) => have == want.as_bytes(),
        };
        if matched {
            continue;
        }
        let value = match &action.value {
            HeaderValue::Exact(v) => Some(v.clone()),
            HeaderValue::Present => Some(String::new()),
            HeaderValue::UnknownSecret(_) => None,
        };
        match (action.mismatch, value) {
            // An unknown secret has no value to add or set: the match fails whatever the
            // action (Cilium turns it into a header matcher that never matches).
            (MismatchAction::Fail, _) | (_, None) => {
                accepted = false;
            }
            (MismatchAction::Log, _) => {}
            (MismatchAction::Add, Some(v)) => {
                request.headers.push((action.name.clone(), v.into_bytes()));
            }
            (MismatchAction::Delete, _) => {
                // A presence match that failed has nothing to delete.
                if present.is_some() {
                    request.remove(&action.name);
                }
            }
            (MismatchAction::Replace, Some(v)) => {
                request.remove(&action.name);
                request.headers.push((action.name.clone(), v.into_bytes()));
            }
        }
        log.push((action.name.clone(), action.mismatch));
    }
    accepted
}

#[cfg(test)]
mod tests;
