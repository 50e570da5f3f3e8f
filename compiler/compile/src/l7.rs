//! The L7 filter's tables (`l7/http.json`, [`policyc_backends::artifact::l7`]) from the
//! resolved endpoints: for every endpoint and direction, every peer whose TCP port function
//! has redirect-l7 intervals gets the HTTP rules of the rules that decided them, each on the
//! ports its `toPorts` item covers inside the interval. Regexes are compiled to DFAs here, so
//! the node compiles none.
//!
//! The peers and rules are exactly the datapath's (the same port functions), and the HTTP
//! rules of the deciding rules are what the oracle consults for an L7 request
//! (`ir::oracle::side::decide_l7`): a redirect-l7 interval has no L7-free allow, so L7
//! wildcarding never applies inside it.

use std::collections::{BTreeMap, HashMap};

use policyc_backends::artifact::l7::{
    HeaderRequirement, HttpMatcher, L7Entry, L7Policy, L7RuleSet, L7Tables,
};
use policyc_backends::l7::{compile_regex, L7RegexError};
use policyc_ir::l7::{FullMatchRegex, HttpRule, L7Rules};
use policyc_ir::universe::{Endpoint, EndpointKey, Universe};
use policyc_ir::{Direction, PolicyRule, PortMatch, Protocol, RuleId};

use crate::optimize::layout::datapath_rule_id;
use crate::resolve::rule_coverage::port_rule_spans;
use crate::resolve::{PolicyProtocol, PortFunction, ResolvedEndpoint, Verdict};

/// One compiled endpoint, as the L7 tables need it.
pub struct L7Endpoint<'a> {
    pub key: &'a EndpointKey,
    /// The id the datapath reports (1-based).
    pub endpoint_id: u32,
    pub resolved: &'a ResolvedEndpoint,
}

/// Why the L7 tables could not be built.
#[derive(Debug, thiserror::Error)]
pub enum L7CompileError {
    #[error("the HTTP rule of {rule}: {source}; hint: write the regex without Unicode word boundaries or huge repetitions (the node matches with a compiled DFA)")]
    Regex { rule: String, source: L7RegexError },
    #[error("endpoint {0} is not in the universe")]
    UnknownEndpoint(EndpointKey),
    #[error("more L7 rule sets or regexes than a u32 indexes")]
    TooMany,
}

/// The L7 tables of `endpoints`; `None` when no redirect-l7 verdict carries an HTTP rule.
/// Every peer a redirect-l7 interval applies to is listed, with an empty rule set when none of
/// its rules is HTTP (fail closed).
pub fn compile_l7_tables(
    universe: &Universe,
    rules: &[PolicyRule],
    endpoints: &[L7Endpoint<'_>],
) -> Result<Option<L7Tables>, L7CompileError> {
    let by_id: HashMap<RuleId, &PolicyRule> = rules.iter().map(|r| (r.id, r)).collect();
    let mut builder = Builder {
        by_id,
        tables: L7Tables::new(),
        regex_index: BTreeMap::new(),
        set_index: BTreeMap::new(),
    };
    for endpoint in endpoints {
        let subject = universe
            .endpoint(endpoint.key)
            .ok_or_else(|| L7CompileError::UnknownEndpoint(endpoint.key.clone()))?;
        for direction in Direction::BOTH {
            let resolved = endpoint.resolved.direction(direction);
            let mut peers = BTreeMap::new();
            for group in &resolved.groups {
                if let Some(set) =
                    builder.rule_set(&group.functions, direction, subject, universe)?
                {
                    for identity in &group.identities {
                        peers.insert(identity.0, set);
                    }
                }
            }
            let unknown_peer =
                builder.rule_set(&resolved.unknown_peer, direction, subject, universe)?;
            if peers.is_empty() && unknown_peer.is_none() {
                continue;
            }
            let id = u32::try_from(builder.tables.policies.len())
                .map_err(|_| L7CompileError::TooMany)?;
            builder.tables.policies.push(L7Policy {
                id,
                endpoint: endpoint.key.to_string(),
                endpoint_id: endpoint.endpoint_id,
                direction,
                peers,
                unknown_peer,
            });
        }
    }
    let has_http = builder
        .tables
        .rule_sets
        .iter()
        .any(|s| !s.entries.is_empty());
    Ok(has_http.then_some(builder.tables))
}

struct Builder<'r> {
    by_id: HashMap<RuleId, &'r PolicyRule>,
    tables: L7Tables,
    regex_index: BTreeMap<String, u32>,
    set_index: BTreeMap<L7RuleSet, u32>,
}

impl Builder<'_> {
    /// The rule set (index) of one peer's functions: `None` without redirect-l7 intervals; an
    /// empty set (every request denied) when they carry no HTTP rule (Kafka, `l7proto`), so a
    /// known peer never falls back to the unknown peer's rules.
    fn rule_set(
        &mut self,
        functions: &BTreeMap<PolicyProtocol, PortFunction>,
        direction: Direction,
        subject: &Endpoint,
        universe: &Universe,
    ) -> Result<Option<u32>, L7CompileError> {
        let Some(tcp) = functions.get(&PolicyProtocol::Tcp) else {
            return Ok(None);
        };
        if !tcp
            .intervals()
            .iter()
            .any(|i| matches!(i.verdict, Verdict::RedirectL7(_)))
        {
            return Ok(None);
        }
        let mut entries = Vec::new();
        for interval in tcp.intervals() {
            if !matches!(interval.verdict, Verdict::RedirectL7(_)) {
                continue;
            }
            for id in &interval.rules {
                let Some(rule) = self.by_id.get(id).copied() else {
                    continue;
                };
                let PortMatch::Ports(port_rules) = &rule.ports else {
                    continue;
                };
                for pr in port_rules {
                    let L7Rules::Http(http) = &pr.l7 else {
                        continue;
                    };
                    for span in port_rule_spans(pr, Protocol::Tcp, direction, subject, universe) {
                        let lo = span.lo.max(u32::from(interval.lo));
                        let hi = span.hi.min(u32::from(interval.hi));
                        let (Ok(lo), Ok(hi)) = (u16::try_from(lo), u16::try_from(hi)) else {
                            continue;
                        };
                        if lo > hi {
                            continue;
                        }
                        // `http: []` allows every request, like one empty rule.
                        let matchers = if http.is_empty() {
                            vec![HttpMatcher::default()]
                        } else {
                            http.iter()
                                .map(|h| self.matcher(h, rule))
                                .collect::<Result<Vec<_>, _>>()?
                        };
                        for matcher in matchers {
                            entries.push(L7Entry {
                                port_lo: lo,
                                port_hi: hi,
                                rule: datapath_rule_id(Some(rule.id)),
                                http: matcher,
                            });
                        }
                    }
                }
            }
        }
        entries.sort();
        entries.dedup();
        let set = L7RuleSet { entries };
        if let Some(index) = self.set_index.get(&set) {
            return Ok(Some(*index));
        }
        let index =
            u32::try_from(self.tables.rule_sets.len()).map_err(|_| L7CompileError::TooMany)?;
        self.tables.rule_sets.push(set.clone());
        self.set_index.insert(set, index);
        Ok(Some(index))
    }

    fn matcher(
        &mut self,
        http: &HttpRule,
        rule: &PolicyRule,
    ) -> Result<HttpMatcher, L7CompileError> {
        let mut regex = |r: &Option<FullMatchRegex>| -> Result<Option<u32>, L7CompileError> {
            r.as_ref().map(|r| self.regex(r.as_str(), rule)).transpose()
        };
        Ok(HttpMatcher {
            method: regex(&http.method)?,
            path: regex(&http.path)?,
            host: regex(&http.host)?,
            headers: http
                .headers
                .iter()
                .map(|h| HeaderRequirement {
                    name: h.name.to_ascii_lowercase(),
                    value: h.value.clone(),
                })
                .collect(),
            header_actions: Vec::new(),
        })
    }

    fn regex(&mut self, source: &str, rule: &PolicyRule) -> Result<u32, L7CompileError> {
        if let Some(index) = self.regex_index.get(source) {
            return Ok(*index);
        }
        let compiled = compile_regex(source).map_err(|source| L7CompileError::Regex {
            rule: rule.describe(),
            source,
        })?;
        let index =
            u32::try_from(self.tables.regexes.len()).map_err(|_| L7CompileError::TooMany)?;
        self.tables.regexes.push(compiled);
        self.regex_index.insert(source.to_string(), index);
        Ok(index)
    }
}
