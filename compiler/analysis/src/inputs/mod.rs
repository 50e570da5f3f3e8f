//! What FlowTests and `explain` both read before asking the oracle: the policies' lowered rules
//! ([`load_rules`]), a flow's peers named in the CLI or a FlowTests file ([`resolve_peer`]: pods,
//! workloads, label selectors, addresses, entities) and the options of a run ([`RunOptions`]).

mod named_pods;
mod options;
mod peer;
mod peer_error;
mod policies;

pub use options::RunOptions;
pub use peer::{parse_peer, resolve_peer, PeerError};
pub use policies::load_rules;
