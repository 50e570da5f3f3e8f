//! The explanation of one flow's verdict as data (what `--format json` prints and the text
//! renderer reads): both sides, their reasons, and every deciding rule with its provenance.

use policyc_ir::oracle::{Decision, Flow, FlowVerdict, Reason, ResolvedPeer, SideVerdict};
use policyc_ir::{Direction, PolicyKind, PolicyRule, RuleAction, RuleId};
use serde::Serialize;
use std::collections::BTreeMap;

type RuleTable<'r> = BTreeMap<RuleId, &'r PolicyRule>;

/// A rule as shown to users.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleRef {
    pub id: u32,
    /// `namespace/name` (or `name` for CCNPs).
    pub policy: String,
    pub kind: &'static str,
    pub action: &'static str,
    pub direction: &'static str,
    /// The rule's path in its document, e.g. `spec.ingress[0]`.
    pub path: String,
    pub file: String,
    pub line: u32,
    pub column: u32,
}

impl RuleRef {
    pub fn new(rule: &PolicyRule) -> Self {
        Self {
            id: rule.id.0,
            policy: rule.origin.to_string(),
            kind: kind_name(rule.origin.kind),
            action: match rule.action {
                RuleAction::Allow => "allow",
                RuleAction::Deny => "deny",
            },
            direction: rule.direction.as_str(),
            path: rule.provenance.path.clone(),
            file: rule.provenance.file.to_string(),
            line: rule.provenance.line,
            column: rule.provenance.column,
        }
    }

    /// `shop/api spec.ingress[0] (policies/shop/api.yaml:12:7)`.
    pub fn short(&self) -> String {
        format!(
            "{} {} ({}:{}:{})",
            self.policy, self.path, self.file, self.line, self.column
        )
    }
}

fn kind_name(kind: PolicyKind) -> &'static str {
    match kind {
        PolicyKind::CiliumNetworkPolicy => "CiliumNetworkPolicy",
        PolicyKind::CiliumClusterwideNetworkPolicy => "CiliumClusterwideNetworkPolicy",
        PolicyKind::NetworkPolicy => "NetworkPolicy",
    }
}

/// One side of the flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SideExplanation {
    pub direction: Direction,
    /// Whose policy: the endpoint (`namespace/name`), node, or the peer that is not an endpoint.
    pub subject: String,
    pub decision: Decision,
    pub reason: Reason,
    pub reason_text: String,
    pub deciding: Vec<RuleRef>,
    pub default_deny_by: Vec<RuleRef>,
    pub notes: Vec<String>,
}

/// The whole explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    pub flow: String,
    pub source: ResolvedPeer,
    pub destination: ResolvedPeer,
    pub egress: SideExplanation,
    pub ingress: SideExplanation,
    pub verdict: Decision,
    /// One line: why the flow is allowed or denied.
    pub summary: String,
}

fn refs(table: &RuleTable<'_>, ids: &[RuleId]) -> Vec<RuleRef> {
    ids.iter()
        .filter_map(|id| table.get(id))
        .map(|r| RuleRef::new(r))
        .collect()
}

fn subject_name(peer: &ResolvedPeer) -> String {
    match (&peer.endpoint, &peer.node) {
        (Some(ep), _) => ep.clone(),
        (None, Some(node)) => format!("node {node}"),
        _ => peer.display.clone(),
    }
}

fn reason_text(side: &SideVerdict) -> String {
    let dir = side.direction.as_str();
    match side.reason {
        Reason::AllowedByRule => "allowed by the rules below".to_string(),
        Reason::L7ProxyRedirect => {
            "allowed at L3/L4; the port is L7-restricted, so each request goes through the proxy"
                .to_string()
        }
        Reason::L7Denied => {
            "the connection is allowed at L3/L4, but the request matches no L7 rule".to_string()
        }
        Reason::DeniedByRule => {
            "an explicit deny rule covers the flow (deny always wins)".to_string()
        }
        Reason::DefaultDeny => format!("default deny in {dir}: no allow rule covers the flow"),
        Reason::NotEnforced => format!("no rule puts {dir} into default deny: allowed"),
        Reason::Localhost => {
            "the local host may always reach local endpoints (allow-localhost=always)".to_string()
        }
        Reason::Loopback => {
            "an endpoint talking to itself never leaves its network namespace".to_string()
        }
        Reason::NotAnEndpoint => format!("not an endpoint: no {dir} policy applies"),
        Reason::EnforcementDisabled => {
            "policy enforcement is disabled (enable-policy=never)".to_string()
        }
        Reason::AuthRequired => {
            "an allow rule covering the flow requires mutual authentication (authentication.mode), which policyc does not provide (test-always-fail always fails): dropped"
                .to_string()
        }
    }
}

fn side(table: &RuleTable<'_>, v: &SideVerdict, subject: &ResolvedPeer) -> SideExplanation {
    SideExplanation {
        direction: v.direction,
        subject: subject_name(subject),
        decision: v.decision,
        reason: v.reason,
        reason_text: reason_text(v),
        deciding: refs(table, &v.deciding),
        default_deny_by: refs(table, &v.default_deny_by),
        notes: v.notes.clone(),
    }
}

/// One line summary of a side: `ingress of x/a: default deny [rule; rule]`.
pub fn side_summary(s: &SideExplanation) -> String {
    let mut line = format!("{} of {}: {}", s.direction, s.subject, s.reason);
    if !s.deciding.is_empty() {
        let list: Vec<String> = s.deciding.iter().map(RuleRef::short).collect();
        line.push_str(&format!(" [{}]", list.join("; ")));
    }
    line
}

/// Builds the explanation of an evaluated flow; `rules` is the rule table the verdict's rule
/// ids refer to.
pub fn explain(rules: &[PolicyRule], flow: &Flow, verdict: &FlowVerdict) -> Explanation {
    let table: RuleTable<'_> = rules.iter().map(|r| (r.id, r)).collect();
    let egress = side(&table, &verdict.egress, &verdict.source);
    let ingress = side(&table, &verdict.ingress, &verdict.destination);
    let summary = match verdict.decision {
        Decision::Allow => format!(
            "allowed: {}; {}",
            side_summary(&egress),
            side_summary(&ingress)
        ),
        Decision::Deny => {
            let denying: Vec<String> = [&egress, &ingress]
                .into_iter()
                .filter(|s| s.decision == Decision::Deny)
                .map(side_summary)
                .collect();
            format!("denied: {}", denying.join("; "))
        }
    };
    Explanation {
        flow: flow.to_string(),
        source: verdict.source.clone(),
        destination: verdict.destination.clone(),
        egress,
        ingress,
        verdict: verdict.decision,
        summary,
    }
}
