//! policyc-loader: installs compiled policy with libbpf-rs, and runs programs under
//! BPF_PROG_TEST_RUN for tests.

pub mod attach;
pub mod datapath;
pub mod dns;
pub mod error;
pub mod fqdn;
pub mod node;
pub mod packet;
pub mod testrun;
pub mod verifier;

pub use datapath::{AttachKind, DatapathInstance, LoadRequest};
pub use error::LoaderError;
pub use testrun::{Outcome, TestHarness};
