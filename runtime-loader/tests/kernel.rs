//! Loader and datapath tests against the running kernel (BPF_PROG_TEST_RUN, attach, verifier).
//!
//! One test binary for the whole folder: every `tests/*.rs` file is a module here, so the
//! crates are linked once instead of once per file (build time and disk in CI).

mod arp_and_event_budget;
mod attach;
mod bpffs_mount;
mod cli_docs;
mod common;
mod conntrack;
mod conntrack_state;
mod dispatch;
mod dns_answer;
mod dns_blinding;
mod dns_common;
mod dns_differential;
mod dns_events;
mod dns_query;
mod dns_transport;
mod dns_verifier;
mod events;
mod fqdn_datapath;
mod image_files;
mod layout_btf;
mod map_ops;
mod port_search;
mod source_validation;
mod verdicts;
mod verifier;
