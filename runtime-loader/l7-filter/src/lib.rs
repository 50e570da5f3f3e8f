//! policyc-l7: the node-local HTTP filter. It judges every request of the connections the
//! datapath hands it (redirect-l7 verdicts) with the compiled L7 tables of an artifact
//! (`l7/http.json`, [`policyc_backends::artifact::l7`]) and forwards the allowed ones upstream
//! from the client's own address; denied requests get Cilium's `403` with `Access denied\r\n`.
//!
//! - [`tables`]: loads and digest-checks the tables of an artifact directory.
//! - [`generation`]: the current tables, swapped whole; each request is judged by one.
//! - [`request`]: what the judge sees of a hyper request, and the header edits written back.
//! - [`upstream`]: the transparent upstream connection (`IP_TRANSPARENT`, `SO_MARK`).
//! - [`proxy`]: one downstream connection, HTTP/1.1 (kept-alive, pipelined) or h2c.
//! - [`stats`]: per-rule counters and the verdict records.
//! - [`serve`]: the node daemon: transparent listeners the datapath sk-assigns redirect-l7
//!   connections to, the pinned `pc_l7_redir` map, the loader's control files.

pub mod generation;
pub mod proxy;
pub mod request;
pub mod serve;
pub mod stats;
pub mod tables;
pub mod upstream;

pub use generation::Generations;
pub use proxy::{serve_connection, ConnectionContext, PolicyRef};
pub use stats::{Stats, VerdictRecord};
pub use tables::{load_artifact_tables, TablesError};
