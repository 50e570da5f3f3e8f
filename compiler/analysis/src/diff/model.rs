//! The diff report: what `--format json` prints and what the markdown/text renderers read.
//!
//! # JSON schema (`version: 1`)
//!
//! ```text
//! {
//!   "version": 1,
//!   "base": "origin/main:policies",          // how each side was given
//!   "head": "policies",
//!   "semantic_change": true,                  // false: every verdict is the same
//!   "summary": { "opened": 2, "closed": 1, "changed": 0,   // rows per effect
//!                "endpoints_affected": 3, "rows": 3, "files_changed": 1 },
//!   "files": { "added": ["a.yaml"], "removed": [], "modified": ["b.yaml"] },
//!   "endpoints": { "added": ["ns/name"], "removed": [] },    // inventory change
//!   "risks": [ { "kind": "world-exposure" | "cluster-wide-allow" | "dns-egress-removed"
//!                        | "default-deny-disabled" | "deny-rule-removed",
//!                "message": "...", "endpoints": ["ns/name"], "rules": [RuleRef] } ],
//!   "changes": [ {
//!       "effect": "opened" | "closed" | "changed",   // changed = still allowed, other L7 rules
//!       "cause": "policy" | "labels" | "policy-and-labels" | "peer-added" | "peer-removed"
//!              | "endpoint-added" | "endpoint-removed",
//!       "direction": "ingress" | "egress",
//!       "endpoints": ["ns/name"],                    // the endpoints whose policy changed
//!       "peers": { "summary": "...", "endpoints": ["ns/name"], "entities": ["world"],
//!                  "cidrs": ["10.0.0.0/8"], "fqdns": ["api.example.com"] },
//!       "ports": [ { "protocol": "TCP" | "UDP" | "SCTP" | "ICMP" | "ICMPv6" | "other",
//!                    "from": 5432, "to": 5432 } ],  // ICMP: type range; other: 0-65535
//!       "before": Side, "after": Side } ],
//!   "warnings": ["..."]                              // e.g. invalid objects ignored
//! }
//! Side    = { "verdict": "allowed" | "allowed-l7" | "denied" | "absent",
//!             "l7": ["HTTP GET /api/.*"], "rules": [RuleRef],
//!             "default_deny": false }   // true: denied because nothing allows it; `rules`
//!                                       // are then the rules that enabled default deny
//! RuleRef = { "policy": "ns/name", "kind": "CNP" | "CCNP" | "KNP", "path": "spec.ingress[0]",
//!             "file": "policies/db.yaml", "line": 12, "action": "allow" | "deny",
//!             "default_deny": false }
//! ```
//! `absent`: the peer or endpoint does not exist on that side (inventory change). Rows are sorted
//! deterministically (endpoints, direction, peers, ports).

use serde::Serialize;

/// Version of the JSON document; bumped on incompatible changes.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DiffReport {
    pub version: u32,
    pub base: String,
    pub head: String,
    pub semantic_change: bool,
    pub summary: Summary,
    pub files: FileChanges,
    pub endpoints: EndpointChanges,
    pub risks: Vec<Risk>,
    pub changes: Vec<ChangeRow>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub opened: usize,
    pub closed: usize,
    pub changed: usize,
    pub endpoints_affected: usize,
    pub rows: usize,
    pub files_changed: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FileChanges {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub modified: Vec<String>,
}

impl FileChanges {
    pub fn count(&self) -> usize {
        self.added.len() + self.removed.len() + self.modified.len()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EndpointChanges {
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RiskKind {
    WorldExposure,
    ClusterWideAllow,
    DnsEgressRemoved,
    DefaultDenyDisabled,
    DenyRuleRemoved,
}

impl RiskKind {
    pub fn title(self) -> &'static str {
        match self {
            Self::WorldExposure => "New exposure to the world",
            Self::ClusterWideAllow => "New cluster-wide (CCNP) allow",
            Self::DnsEgressRemoved => "DNS egress removed",
            Self::DefaultDenyDisabled => "Default deny turned off",
            Self::DenyRuleRemoved => "Deny rule removed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Risk {
    pub kind: RiskKind,
    pub message: String,
    pub endpoints: Vec<String>,
    pub rules: Vec<RuleRef>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Effect {
    Opened,
    Closed,
    Changed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cause {
    Policy,
    Labels,
    PolicyAndLabels,
    PeerAdded,
    PeerRemoved,
    EndpointAdded,
    EndpointRemoved,
}

impl Cause {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Policy => "policy",
            Self::Labels => "labels",
            Self::PolicyAndLabels => "policy and labels",
            Self::PeerAdded => "new peer",
            Self::PeerRemoved => "peer removed",
            Self::EndpointAdded => "new endpoint",
            Self::EndpointRemoved => "endpoint removed",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum VerdictKind {
    Allowed,
    AllowedL7,
    Denied,
    Absent,
}

impl VerdictKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allowed => "allowed",
            Self::AllowedL7 => "allowed (L7)",
            Self::Denied => "denied",
            Self::Absent => "absent",
        }
    }
}

/// A rule named in a report.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct RuleRef {
    pub policy: String,
    pub kind: String,
    pub path: String,
    pub file: String,
    pub line: u32,
    pub action: String,
    pub default_deny: bool,
}

impl RuleRef {
    /// `` `ns/name` spec.ingress[0] (file:line) ``
    pub fn describe(&self) -> String {
        format!(
            "`{}` {} ({}:{})",
            self.policy, self.path, self.file, self.line
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Side {
    pub verdict: VerdictKind,
    pub l7: Vec<String>,
    pub rules: Vec<RuleRef>,
    /// Denied by default deny: `rules` are the ones that enabled it, none allows the flow.
    pub default_deny: bool,
}

impl Side {
    /// `allowed (L7: HTTP GET /x)` etc.
    pub fn describe(&self) -> String {
        if self.l7.is_empty() {
            self.verdict.as_str().to_string()
        } else {
            format!("allowed (L7: {})", self.l7.join("; "))
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct PortSpan {
    pub protocol: String,
    pub from: u16,
    pub to: u16,
}

impl PortSpan {
    pub fn describe(&self) -> String {
        let icmp = self.protocol.starts_with("ICMP");
        match (self.protocol.as_str(), self.from, self.to) {
            ("other", _, _) => "other protocols".to_string(),
            (p, 0, 255) if icmp => format!("{p} all types"),
            (p, 0, 65535) => format!("{p} all ports"),
            (p, a, b) if a == b && icmp => format!("{p} type {a}"),
            (p, a, b) if a == b => format!("{p} {a}"),
            (p, a, b) if icmp => format!("{p} types {a}-{b}"),
            (p, a, b) => format!("{p} {a}-{b}"),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct PeersView {
    pub summary: String,
    pub endpoints: Vec<String>,
    pub entities: Vec<String>,
    pub cidrs: Vec<String>,
    pub fqdns: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangeRow {
    pub effect: Effect,
    pub cause: Cause,
    pub direction: policyc_ir::Direction,
    pub endpoints: Vec<String>,
    pub peers: PeersView,
    pub ports: Vec<PortSpan>,
    pub before: Side,
    pub after: Side,
}

impl ChangeRow {
    /// `` `shop/db` ingress from `shop/api` TCP 5432 `` (no verdicts).
    pub fn headline(&self, max_names: usize) -> String {
        let preposition = match self.direction {
            policyc_ir::Direction::Ingress => "from",
            policyc_ir::Direction::Egress => "to",
        };
        let ports: Vec<String> = self.ports.iter().map(PortSpan::describe).collect();
        format!(
            "{} {} {preposition} {} {}",
            name_list(&self.endpoints, max_names),
            self.direction,
            self.peers.summary,
            ports.join(", ")
        )
    }
}

/// `` `a`, `b` and 3 more `` — at most `max` names.
pub fn name_list(names: &[String], max: usize) -> String {
    let shown: Vec<String> = names.iter().take(max).map(|n| format!("`{n}`")).collect();
    let rest = names.len().saturating_sub(max);
    if rest == 0 {
        shown.join(", ")
    } else {
        format!("{} and {rest} more", shown.join(", "))
    }
}

impl Side {
    /// `allowed by …`, `denied by deny rule …`, `denied (default deny from …)`, `absent`.
    pub fn explain(&self) -> String {
        let list = |rules: &[&RuleRef]| {
            rules
                .iter()
                .map(|r| r.describe())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let all: Vec<&RuleRef> = self.rules.iter().collect();
        match self.verdict {
            VerdictKind::Absent => "the endpoint or peer does not exist".to_string(),
            VerdictKind::Allowed | VerdictKind::AllowedL7 if all.is_empty() => {
                "allowed with no rule needed (direction not enforced, or host traffic under allow-localhost)".to_string()
            }
            VerdictKind::Allowed | VerdictKind::AllowedL7 => {
                format!("{} by {}", self.describe(), list(&all))
            }
            VerdictKind::Denied if all.is_empty() => "denied".to_string(),
            VerdictKind::Denied if self.default_deny => {
                format!(
                    "denied: default deny from {}, no rule allows it",
                    list(&all)
                )
            }
            VerdictKind::Denied => format!("denied by {}", list(&all)),
        }
    }
}
