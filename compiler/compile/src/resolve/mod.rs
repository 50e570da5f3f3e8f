//! Resolution: for every endpoint and direction, the verdict towards every identity of the
//! universe as port functions per protocol (sorted disjoint port / ICMP-type intervals with the
//! deciding rules), plus whether the direction is enforced. The verdicts come from the oracle
//! itself (one question per elementary interval of one peer group), so the compiled datapath
//! cannot drift from the reference semantics; see [`endpoint`] for how the work is kept small.

pub mod cilium_encoding;
pub mod endpoint;
pub mod fqdn;
pub mod port_function;

pub use endpoint::{
    resolve, resolve_endpoint, PeerGroup, ProtocolFunctions, ResolveError, ResolvedDirection,
    ResolvedEndpoint, ResolvedPolicy,
};
pub use fqdn::fqdn_mask;
pub use port_function::{
    L7PolicyId, PolicyProtocol, PortFunction, PortFunctionError, PortInterval, Verdict,
};
