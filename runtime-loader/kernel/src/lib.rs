//! policyc-kernel: the libbpf-rs layer shared by the node loader (`policy-loader`) and the
//! kernel checks of `policyc` (`test --datapath`, verifier checks): opening and configuring the
//! compiled objects ([`datapath`], [`dns`]), loading them through the verifier ([`verifier`]),
//! links ([`attach`]), and the BPF_PROG_TEST_RUN harness ([`testrun`], [`packet`], [`fqdn`]).

pub mod attach;
pub mod datapath;
pub mod dns;
pub mod error;
pub mod fqdn;
pub mod packet;
pub mod testrun;
pub mod verifier;

pub use datapath::{AttachKind, DatapathInstance, LoadRequest};
pub use error::LoaderError;
pub use testrun::{Outcome, TestHarness};
