//! Resolution: for every endpoint and direction, the verdict towards every identity of the
//! universe as port functions per protocol (sorted disjoint port / ICMP-type intervals with the
//! deciding rules), plus whether the direction is enforced. The verdicts follow the oracle's
//! semantics by interval algebra over selector-cached peer groups; the oracle itself (one
//! question per elementary interval of one peer group) stays the reference the differential
//! tests compare against. See [`endpoint`] for how the work is kept small.

pub mod cilium_encoding;
pub mod endpoint;
pub mod fqdn;
pub mod function_memo;
pub mod identity_delta;
pub mod identity_index;
pub mod incremental;
pub mod model;
pub mod policy_index;
pub mod port_algebra;
pub mod port_function;
pub mod rule_coverage;
pub mod selector_cache;

pub use endpoint::{resolve, resolve_endpoint, resolve_endpoint_by_oracle};
pub use fqdn::fqdn_mask;
pub use incremental::{IncrementalResolver, UnknownRule};
pub use model::{
    PeerGroup, PortEvaluation, ProtocolFunctions, ResolveError, ResolvedDirection,
    ResolvedEndpoint, ResolvedPolicy,
};
pub use policy_index::PolicyIndex;
pub use port_function::{
    L7PolicyId, PolicyProtocol, PortFunction, PortFunctionError, PortInterval, Verdict,
};
