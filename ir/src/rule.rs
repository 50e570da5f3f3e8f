//! The normalized rule IR: one [`PolicyRule`] per (policy object, direction, rule item), the
//! same shape for CNP, CCNP and KNP (after Cilium's `types.PolicyEntry`). Lowering has already
//! applied namespace/cluster scoping, so rules can be evaluated without knowing their source kind.

use crate::entity::Entity;
use crate::fqdn::FqdnSelector;
use crate::ports::{IcmpMatch, PortSpec, Protocol};
use crate::prefix::Prefix;
use crate::provenance::{PolicyOrigin, Provenance};
use crate::selector::EndpointSelector;
use serde::{Deserialize, Serialize};
use std::fmt;

pub use crate::l7::L7Rules;

/// Index of a rule in the rule table of one compilation (stable for identical inputs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RuleId(pub u32);

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "r{}", self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Ingress,
    Egress,
}

impl Direction {
    pub const BOTH: [Direction; 2] = [Direction::Ingress, Direction::Egress];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ingress => "ingress",
            Self::Egress => "egress",
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleAction {
    Allow,
    Deny,
}

/// `authentication.mode` of an allow rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthMode {
    Disabled,
    Required,
    TestAlwaysFail,
}

/// Whom a rule applies to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Subject {
    /// Pods matched by labels; for CNP/KNP the namespace requirement is already included.
    Endpoints(EndpointSelector),
    /// Host policy (CCNP `nodeSelector`): nodes matched by node labels.
    Nodes(EndpointSelector),
}

/// One L3 peer of a rule.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Peer {
    /// Label selector over identities (namespace/cluster scoping already applied).
    Endpoints(EndpointSelector),
    Entity(Entity),
    /// Matches CIDR/world identities whose prefix is contained in `prefix` and in no `except`.
    /// Never matches pods or nodes.
    Cidr {
        prefix: Prefix,
        except: Vec<Prefix>,
    },
    /// `toFQDNs`: addresses learned from DNS answers that went through a `rules.dns` rule.
    Fqdn(FqdnSelector),
    /// `fromNodes`/`toNodes`: nodes matched by node labels.
    Nodes(EndpointSelector),
    /// A peer that cannot be resolved offline (toServices, toGroups, CIDR groups): selects
    /// nothing here; lints say so.
    Unresolved {
        kind: String,
        detail: String,
    },
}

/// The peers of a rule. `All` is the L3 wildcard (no peer field given, with ports);
/// `Some(vec![])` selects nothing (e.g. CNP `ingress: [{}]`, or `fromEndpoints: []`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PeerSet {
    All,
    Some(Vec<Peer>),
}

/// One `ports[]` entry: protocol (possibly `Any`) and port/range/name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PortProtocol {
    pub protocol: Protocol,
    pub port: PortSpec,
}

/// One `toPorts[]` entry: its ports (empty = all ports, all protocols) and the L7 rules on them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PortRule {
    pub ports: Vec<PortProtocol>,
    pub l7: L7Rules,
    /// TLS SNI names (`serverNames`).
    pub server_names: Vec<String>,
    /// Fields parsed but not enforced by policyc (`terminatingTLS`, `originatingTLS`, `listener`).
    pub unsupported: Vec<String>,
}

/// The L4 part of a rule.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PortMatch {
    /// No `toPorts`/`icmps`: every protocol (incl. ICMP) and port.
    Any,
    Ports(Vec<PortRule>),
    Icmps(Vec<IcmpMatch>),
}

/// One normalized rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyRule {
    pub id: RuleId,
    pub origin: PolicyOrigin,
    /// Location of the rule item (e.g. `spec.ingress[0]`), or of the policy for synthesized
    /// default-deny markers.
    pub provenance: Provenance,
    pub subject: Subject,
    pub direction: Direction,
    pub action: RuleAction,
    pub peers: PeerSet,
    pub ports: PortMatch,
    /// Does this rule put its subjects into default-deny for `direction`?
    pub default_deny: bool,
    pub auth: Option<AuthMode>,
    pub log: Option<String>,
}

impl PolicyRule {
    /// `namespace/name spec.ingress[0] (file:line:col)` for messages.
    pub fn describe(&self) -> String {
        format!(
            "{} {} ({}:{}:{})",
            self.origin,
            self.provenance.path,
            self.provenance.file,
            self.provenance.line,
            self.provenance.column
        )
    }

    /// True for rules that select no peer at all (default-deny markers).
    pub fn selects_nothing(&self) -> bool {
        matches!(&self.peers, PeerSet::Some(p) if p.is_empty())
    }
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Endpoints(s) => write!(f, "endpoints({s})"),
            Self::Entity(e) => write!(f, "entity({e})"),
            Self::Cidr { prefix, except } if except.is_empty() => write!(f, "cidr({prefix})"),
            Self::Cidr { prefix, except } => {
                let ex: Vec<String> = except.iter().map(|p| p.to_string()).collect();
                write!(f, "cidr({prefix} except {})", ex.join(","))
            }
            Self::Fqdn(s) => write!(f, "fqdn({s})"),
            Self::Nodes(s) => write!(f, "nodes({s})"),
            Self::Unresolved { kind, detail } => write!(f, "{kind}({detail})"),
        }
    }
}
