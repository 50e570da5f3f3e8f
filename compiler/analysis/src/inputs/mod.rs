//! What FlowTests and `explain` both read before asking the oracle: the policies' lowered rules
//! ([`load_rules`]), a flow's peers named in the CLI or a FlowTests file ([`parse_peer`]) and the
//! options of a run ([`RunOptions`]).

mod options;
mod peer;
mod policies;

pub use options::RunOptions;
pub use peer::{parse_peer, PeerError};
pub use policies::load_rules;
