//! policyc-ir: the vocabulary every later stage speaks — labels, selectors, prefixes, ports,
//! FQDN patterns, L7 rules, the normalized rule IR with provenance, identities, flows and
//! verdicts — and the reference evaluator (the oracle). No I/O, no BPF.
//!
//! The shape follows Cilium's `types.PolicyEntry`: CNP, CCNP and KNP all lower to
//! [`rule::PolicyRule`], one per (policy, direction, rule item).

pub mod endpoint_identity;
pub mod entity;
pub mod fqdn;
pub mod identity;
pub mod l7;
pub mod label_filter;
pub mod labels;
pub mod oracle;
pub mod ports;
pub mod prefix;
pub mod provenance;
pub mod rule;
pub mod selector;
pub mod universe;

pub use entity::{Entity, ReservedIdentity};
pub use fqdn::{FqdnPattern, FqdnSelector};
pub use identity::{Identity, NumericIdentity};
pub use labels::{Label, LabelKey, LabelSet, LabelSource};
pub use ports::{IcmpMatch, IpFamily, PortRange, PortSpec, Protocol};
pub use prefix::Prefix;
pub use provenance::{PolicyKind, PolicyOrigin, Provenance};
pub use rule::{
    Direction, L7Rules, Peer, PeerSet, PolicyRule, PortMatch, PortProtocol, PortRule, RuleAction,
    RuleId, Subject,
};
pub use selector::{EndpointSelector, Operator, Requirement};
