//! What the oracle answers: a verdict per direction (source egress, destination ingress) with
//! the reason and the deciding rules, and the combined verdict of the flow.

use crate::identity::NumericIdentity;
use crate::rule::{Direction, RuleId};
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Allow,
    Deny,
}

impl Decision {
    pub fn is_allow(self) -> bool {
        self == Self::Allow
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Deny => "deny",
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why one side decided as it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// Allowed by the deciding allow rules (L7, if any, matched or was wildcarded).
    AllowedByRule,
    /// Allowed at L3/L4 by L7-restricted rules and no L7 request was given: the connection
    /// is redirected to the proxy, which judges each request.
    L7ProxyRedirect,
    /// Allowed at L3/L4, but the L7 request matches none of the deciding rules' L7 rules
    /// (HTTP 403, DNS REFUSED, Kafka error).
    L7Denied,
    /// An explicit deny rule covers the flow (deny always wins).
    DeniedByRule,
    /// The endpoint is in default-deny for this direction and no allow rule covers the flow.
    DefaultDeny,
    /// No rule selecting the endpoint puts this direction in default-deny and no allow rule
    /// restricts the flow: allowed.
    NotEnforced,
    /// Host → local endpoint ingress, allowed by `allow-localhost=always`.
    Localhost,
    /// A pod talking to itself over its own address never leaves its network namespace.
    Loopback,
    /// This side is not an endpoint (world, CIDR, remote node, ...): no policy applies here.
    NotAnEndpoint,
    /// `enable-policy=never`.
    EnforcementDisabled,
    /// An allow rule covering the flow requires mutual authentication
    /// (`authentication.mode: required`), which policyc does not provide, or fails it on
    /// purpose (`test-always-fail`): dropped, as Cilium drops until authentication succeeds.
    AuthRequired,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AllowedByRule => "allowed by rule",
            Self::L7ProxyRedirect => "allowed at L4, L7 proxy redirect",
            Self::L7Denied => "denied at L7",
            Self::DeniedByRule => "denied by rule",
            Self::DefaultDeny => "default deny",
            Self::NotEnforced => "not enforced",
            Self::Localhost => "localhost",
            Self::Loopback => "loopback",
            Self::NotAnEndpoint => "not an endpoint",
            Self::EnforcementDisabled => "enforcement disabled",
            Self::AuthRequired => "mutual authentication required",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The verdict of one direction of one endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SideVerdict {
    pub direction: Direction,
    pub decision: Decision,
    pub reason: Reason,
    /// The rules that decided: matching deny rules, matching allow rules (for L7 decisions the
    /// ones whose L7 part was consulted), or, for default deny, the rules that enabled it.
    pub deciding: Vec<RuleId>,
    /// Rules selecting the endpoint in this direction with `default_deny` (empty = default allow).
    pub default_deny_by: Vec<RuleId>,
    /// Human-readable remarks (e.g. why a toFQDNs rule did not apply).
    pub notes: Vec<String>,
}

impl SideVerdict {
    pub(super) fn new(direction: Direction, decision: Decision, reason: Reason) -> Self {
        Self {
            direction,
            decision,
            reason,
            deciding: Vec::new(),
            default_deny_by: Vec::new(),
            notes: Vec::new(),
        }
    }

    pub fn is_allow(&self) -> bool {
        self.decision.is_allow()
    }
}

/// One end of the flow after resolution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedPeer {
    /// What the user wrote, e.g. `prod/frontend`, `10.0.0.1`, `world`.
    pub display: String,
    pub identity: NumericIdentity,
    /// `namespace/name` when the peer is an endpoint.
    pub endpoint: Option<String>,
    /// Node name when the peer is a node address.
    pub node: Option<String>,
}

/// The verdict of a flow: source egress AND destination ingress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowVerdict {
    pub source: ResolvedPeer,
    pub destination: ResolvedPeer,
    pub egress: SideVerdict,
    pub ingress: SideVerdict,
    pub decision: Decision,
}

impl FlowVerdict {
    pub fn is_allow(&self) -> bool {
        self.decision.is_allow()
    }

    /// The side that denied (egress first), if any.
    pub fn denying_side(&self) -> Option<&SideVerdict> {
        [&self.egress, &self.ingress]
            .into_iter()
            .find(|s| !s.is_allow())
    }
}
