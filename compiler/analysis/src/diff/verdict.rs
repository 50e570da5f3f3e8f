//! Verdicts as the diff compares them: allowed, allowed subject to L7 rules (which ones), denied
//! (explicit or default — a flow drops either way), or absent (the peer or endpoint does not
//! exist on that side); and port functions rewritten in those terms.

use policyc_compile::resolve::{PolicyProtocol, PortFunction, Verdict};
use policyc_ir::l7::{HttpRule, L7Rules};
use policyc_ir::oracle::{Decision, Reason, SideVerdict};
use policyc_ir::{PolicyRule, PortMatch, PortSpec, RuleId};
use std::collections::HashMap;

/// One verdict for the diff.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SemVerdict {
    Allowed,
    /// Allowed at L4, each request judged by these L7 rules (sorted, deduplicated).
    AllowedL7(Vec<L7Rules>),
    Denied,
    Absent,
}

impl SemVerdict {
    /// Does a connection get through at L4?
    pub fn passes(&self) -> bool {
        matches!(self, Self::Allowed | Self::AllowedL7(_))
    }

    /// Is the difference visible to a flow? Denied and absent both mean "no connection".
    pub fn differs(&self, other: &SemVerdict) -> bool {
        self.passes() != other.passes() || (self.passes() && self != other)
    }

    /// The same verdict with `Absent` folded into `Denied` (for equality of behaviour).
    pub fn canonical(&self) -> SemVerdict {
        match self {
            Self::Absent => Self::Denied,
            other => other.clone(),
        }
    }
}

/// `[lo, hi]` with a verdict and the rules that decided it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SemInterval {
    pub lo: u16,
    pub hi: u16,
    pub verdict: SemVerdict,
    pub rules: Vec<RuleId>,
    /// Denied because nothing allows it in a default-deny direction (`rules` enabled it).
    pub default_deny: bool,
}

/// Intervals covering `0..=65535` for one protocol.
pub type SemFunction = Vec<SemInterval>;

/// The functions of one peer for every [`PolicyProtocol`], in `PolicyProtocol::ALL` order.
pub type SemFunctions = Vec<(PolicyProtocol, SemFunction)>;

/// Rules by id, for turning deciding rules into L7 conditions and references.
pub struct RuleIndex<'a> {
    by_id: HashMap<RuleId, &'a PolicyRule>,
}

impl<'a> RuleIndex<'a> {
    pub fn new(rules: &'a [PolicyRule]) -> Self {
        Self {
            by_id: rules.iter().map(|r| (r.id, r)).collect(),
        }
    }

    pub fn get(&self, id: RuleId) -> Option<&'a PolicyRule> {
        self.by_id.get(&id).copied()
    }

    /// The L7 rules the deciding `rules` attach to `port` of `protocol` (named ports count as
    /// covering: the oracle has already decided that the interval is covered).
    pub fn l7_at(&self, rules: &[RuleId], protocol: PolicyProtocol, port: u16) -> Vec<L7Rules> {
        let mut out: Vec<L7Rules> = Vec::new();
        for rule in rules.iter().filter_map(|id| self.get(*id)) {
            let PortMatch::Ports(port_rules) = &rule.ports else {
                continue;
            };
            for pr in port_rules.iter().filter(|pr| !pr.l7.is_none()) {
                let covers = pr.ports.is_empty()
                    || pr.ports.iter().any(|pp| {
                        let proto_ok = protocol
                            .ir()
                            .is_some_and(|p| pp.protocol.expand().contains(&p));
                        proto_ok
                            && match &pp.port {
                                PortSpec::Range(r) => r.contains(port),
                                PortSpec::Named(_) => true,
                            }
                    });
                if covers {
                    out.push(pr.l7.clone());
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }
}

/// A resolved port function in diff terms. Default-deny intervals name `default_deny_by` (the
/// rules that put the direction into default deny).
pub fn semantic_function(
    function: &PortFunction,
    protocol: PolicyProtocol,
    index: &RuleIndex<'_>,
    default_deny_by: &[RuleId],
) -> SemFunction {
    function
        .intervals()
        .iter()
        .map(|i| {
            let verdict = match i.verdict {
                Verdict::Allow => SemVerdict::Allowed,
                Verdict::RedirectL7(_) => {
                    SemVerdict::AllowedL7(index.l7_at(&i.rules, protocol, i.lo))
                }
                Verdict::Deny | Verdict::DefaultDeny | Verdict::AuthRequired => SemVerdict::Denied,
            };
            let rules = if i.verdict == Verdict::DefaultDeny {
                default_deny_by.to_vec()
            } else {
                i.rules.clone()
            };
            SemInterval {
                lo: i.lo,
                hi: i.hi,
                verdict,
                rules,
                default_deny: i.verdict == Verdict::DefaultDeny,
            }
        })
        .collect()
}

/// One oracle side verdict (no L7 request) in diff terms.
pub fn side_verdict(
    side: &SideVerdict,
    protocol: PolicyProtocol,
    port: u16,
    index: &RuleIndex<'_>,
) -> SemVerdict {
    match (side.decision, side.reason) {
        (Decision::Allow, Reason::L7ProxyRedirect) => {
            SemVerdict::AllowedL7(index.l7_at(&side.deciding, protocol, port))
        }
        (Decision::Allow, _) => SemVerdict::Allowed,
        (Decision::Deny, _) => SemVerdict::Denied,
    }
}

/// The rules a side verdict names (for default deny: the rules that enabled it).
pub fn side_rules(side: &SideVerdict) -> Vec<RuleId> {
    side.deciding.clone()
}

/// `Absent` for every port of every protocol.
pub fn absent_functions() -> SemFunctions {
    PolicyProtocol::ALL
        .into_iter()
        .map(|p| {
            (
                p,
                vec![SemInterval {
                    lo: 0,
                    hi: u16::MAX,
                    verdict: SemVerdict::Absent,
                    rules: Vec::new(),
                    default_deny: false,
                }],
            )
        })
        .collect()
}

/// Per protocol, `(lo, hi, verdict)` with absent folded into denied and equal neighbours merged.
pub type Behaviour = Vec<(PolicyProtocol, Vec<(u16, u16, SemVerdict)>)>;

/// Behaviour only: verdicts with absent folded into denied, equal neighbours merged.
pub fn behaviour(functions: &SemFunctions) -> Behaviour {
    functions
        .iter()
        .map(|(p, f)| {
            let mut out: Vec<(u16, u16, SemVerdict)> = Vec::new();
            for i in f {
                let v = i.verdict.canonical();
                match out.last_mut() {
                    Some(last) if last.2 == v => last.1 = i.hi,
                    _ => out.push((i.lo, i.hi, v)),
                }
            }
            (*p, out)
        })
        .collect()
}

/// Human text for L7 conditions: `HTTP GET /api/.*`, `DNS *.example.com`, `Kafka topic t`.
pub fn describe_l7(rules: &L7Rules) -> String {
    match rules {
        L7Rules::None => "any".to_string(),
        L7Rules::Http(http) => {
            let items: Vec<String> = http.iter().map(describe_http).collect();
            format!("HTTP {}", items.join(" | "))
        }
        L7Rules::Dns(names) => {
            let items: Vec<&str> = names.iter().map(|s| s.pattern().as_str()).collect();
            format!("DNS {}", items.join(", "))
        }
        L7Rules::Kafka(kafka) => {
            let items: Vec<String> = kafka
                .iter()
                .map(|k| {
                    let what = k
                        .role
                        .clone()
                        .or_else(|| k.api_key.clone())
                        .unwrap_or_else(|| "any".to_string());
                    match &k.topic {
                        Some(t) => format!("{what} topic {t}"),
                        None => what,
                    }
                })
                .collect();
            format!("Kafka {}", items.join(" | "))
        }
        L7Rules::Generic { proto, rules } => format!("{proto} ({} rules)", rules.len()),
    }
}

fn describe_http(rule: &HttpRule) -> String {
    let mut parts = Vec::new();
    parts.push(rule.method.as_ref().map_or("*", |m| m.as_str()).to_string());
    parts.push(rule.path.as_ref().map_or("*", |p| p.as_str()).to_string());
    if let Some(host) = &rule.host {
        parts.push(format!("host {}", host.as_str()));
    }
    if let Some(secret) = &rule.never_matches {
        parts.push(format!("never (secret {secret} unknown)"));
    }
    for h in &rule.headers {
        match &h.value {
            Some(v) => parts.push(format!("{}: {v}", h.name)),
            None => parts.push(h.name.clone()),
        }
    }
    parts.join(" ")
}
