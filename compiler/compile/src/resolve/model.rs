//! The resolver's data: what a resolution produces (`ResolvedEndpoint`, `ResolvedDirection`,
//! `PeerGroup`, `ProtocolFunctions`, `ResolveError`) and what one endpoint direction is resolved
//! with (`DirectionContext`, `MatchSignature`, `PortEvaluation`). The algorithms live in
//! `endpoint.rs`, `fqdn.rs` and `policy_index.rs`, which all read these types.

use super::function_memo::FunctionMemo;
use super::port_function::{PolicyProtocol, PortFunction, PortFunctionError};
use super::rule_coverage::RuleCoverage;
use crate::dns::FqdnClasses;
use crate::resolve::cilium_encoding::CiliumEncoding;
use policyc_ir::oracle::FlowError;
use policyc_ir::universe::{EndpointKey, Universe};
use policyc_ir::{Direction, NumericIdentity, PolicyRule, RuleId};
use serde::Serialize;
use std::cell::RefCell;
use std::collections::BTreeMap;

/// Port functions of one peer, per protocol (all six [`PolicyProtocol`]s are present).
pub type ProtocolFunctions = BTreeMap<PolicyProtocol, PortFunction>;

#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("endpoint {0} is not in the universe")]
    UnknownEndpoint(EndpointKey),
    #[error("the oracle could not evaluate a flow for {endpoint}: {source}")]
    Oracle {
        endpoint: EndpointKey,
        source: FlowError,
    },
    #[error("the oracle could not index the universe's identities: {0}")]
    Index(FlowError),
    #[error("internal error: resolved port function for {endpoint} is malformed: {source}")]
    PortFunction {
        endpoint: EndpointKey,
        source: PortFunctionError,
    },
}

/// Identities that every rule of one endpoint/direction treats alike, and their functions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeerGroup {
    pub identities: Vec<NumericIdentity>,
    /// The selected rules whose peers match these identities.
    pub matching_rules: Vec<RuleId>,
    pub functions: ProtocolFunctions,
}

/// One direction of one endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResolvedDirection {
    pub direction: Direction,
    /// Default-deny in this direction (some selecting rule has `default_deny`, or mode `always`).
    pub enforced: bool,
    pub default_deny_by: Vec<RuleId>,
    /// Rules whose subject selects the endpoint in this direction.
    pub selected_rules: Vec<RuleId>,
    /// Every identity of the universe is in exactly one group; on egress, each FQDN class a
    /// selected rule names also has a group of its own pseudo-identity (`super::fqdn`).
    pub groups: Vec<PeerGroup>,
    /// What an identity unknown at build time gets (one matched by none of the rules).
    pub unknown_peer: ProtocolFunctions,
}

impl ResolvedDirection {
    /// The functions for a peer identity (`unknown_peer` for identities not in the universe).
    pub fn functions_for(&self, identity: NumericIdentity) -> &ProtocolFunctions {
        self.groups
            .iter()
            .find(|g| g.identities.binary_search(&identity).is_ok())
            .map_or(&self.unknown_peer, |g| &g.functions)
    }
}

/// The resolved policy of one endpoint.
#[derive(Debug, Clone, Serialize)]
pub struct ResolvedEndpoint {
    pub key: EndpointKey,
    pub identity: NumericIdentity,
    pub ingress: ResolvedDirection,
    pub egress: ResolvedDirection,
    /// The keys Cilium's policy map would hold for the same policy.
    #[serde(skip)]
    pub cilium: CiliumEncoding,
}

impl ResolvedEndpoint {
    pub fn direction(&self, direction: Direction) -> &ResolvedDirection {
        match direction {
            Direction::Ingress => &self.ingress,
            Direction::Egress => &self.egress,
        }
    }
}

/// All endpoints, sorted by key.
#[derive(Debug, Clone, Serialize)]
pub struct ResolvedPolicy {
    pub endpoints: Vec<ResolvedEndpoint>,
}

/// How the port functions of a peer group are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortEvaluation {
    /// Interval algebra over the group's rules (the default).
    Algebra,
    /// The oracle, once per piece of the port space (the reference).
    OraclePerPiece,
}

#[derive(Clone, Copy)]
pub(super) struct DirectionContext<'a> {
    pub(super) universe: &'a Universe,
    pub(super) key: &'a EndpointKey,
    pub(super) direction: Direction,
    /// Rules selecting the endpoint in `direction`, in rule-table order.
    pub(super) selected: &'a [&'a PolicyRule],
    /// The L4 coverage of each of `selected`, same order.
    pub(super) coverage: &'a [RuleCoverage],
    /// Node-wide FQDN classes (`None`: more than fit the learned map; toFQDNs fail closed).
    pub(super) fqdn: Option<&'a FqdnClasses>,
    pub(super) evaluation: PortEvaluation,
    /// Port functions already computed (this resolution, or earlier ones when incremental),
    /// keyed by `versions`.
    pub(super) memo: Option<&'a RefCell<FunctionMemo>>,
    /// Content version of each of `selected` (empty without `memo`): a key that stays the
    /// same exactly as long as the rule does.
    pub(super) versions: &'a [u64],
}

/// Which selected rules match a peer, plus whether the peer is the host (localhost bypass).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct MatchSignature {
    pub(super) rules: Vec<usize>,
    pub(super) is_host: bool,
}
