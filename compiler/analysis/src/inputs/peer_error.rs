//! Why a flow peer named in FlowTests or on the `explain` command line was rejected: a code,
//! a message and optional help (shared by plain peers and workload/selector names).

use policyc_diagnostics::Code;

/// Why a peer text was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerError {
    pub code: &'static Code,
    pub message: String,
    pub help: Option<String>,
}
