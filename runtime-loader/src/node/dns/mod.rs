//! The in-kernel DNS policy on the node: per endpoint with `rules.dns`, the DNS programs
//! (`policyc_backends::DNS_OBJECT`) installed next to the main datapath, and the ONE node-wide
//! learned-address map both read or write.
//!
//! Layout on bpffs (next to the main datapath's pins, see `super::pins`):
//! - `<bpffs>/policyc/pc_dns_learned`: the node-wide learned LRU map ([`learned`]);
//! - `<bpffs>/policyc/pc_dns_ledger`: swept entries and unloaded endpoints' inserts, for the
//!   exact eviction count ([`ledger`]);
//! - `<bpffs>/policyc/<ns>_<name>/dns/{link,dispatcher,pass}_{ingress,egress}` and
//!   `dns/pc_dns_prog_{ingress,egress}`: the DNS stage dispatcher ([`dispatch`]), attached after
//!   the main dispatcher and switched by the same generation word;
//! - `<bpffs>/policyc/<ns>_<name>/dns/{pc_dns_pending,pc_dns_counters}`: shared by every DNS
//!   generation (in-flight questions keep their pending entry across a replace);
//! - `<bpffs>/policyc/<ns>_<name>/dns/g<N>/`: the DNS programs of main generation N (absent
//!   for a generation without `rules.dns`, whose DNS slots hold the pass-through programs).
//!
//! Nothing here runs in the data path: with no loader running, questions are still judged and
//! answers still learned (the kernel does both); the loader only installs, reports and sweeps.

pub mod counters;
pub mod dispatch;
pub mod install;
pub mod learned;
pub mod ledger;
pub mod paths;
pub mod status;

pub use install::{check_endpoint_dns, DnsOptions};
