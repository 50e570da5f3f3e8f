//! The node side of `policy-loader`: installs a `policyc build` artifact on this machine
//! (verify → load → fill → pin → switch the generation word), and reads the installation back
//! from bpffs pins and per-generation records (status, dump, events, unload).
//!
//! Layout on the node (see [`pins`]):
//! - `<bpffs>/policyc/<ns>_<name>/link_{ingress,egress}`: the two attachments (bpf links) of
//!   the endpoint's dispatcher programs `dispatch_{ingress,egress}` (see [`dispatch`]);
//! - `<bpffs>/policyc/<ns>_<name>/pc_active_gen`: the active generation (one u32 both
//!   directions read), `pc_prog_{ingress,egress}`: per-direction program arrays, slot =
//!   generation & 1;
//! - `<bpffs>/policyc/<ns>_<name>/{pc_ct,pc_ct_in,pc_frag,pc_events}`: shared by every generation, so
//!   established flows and unread events survive a policy replacement;
//! - `<bpffs>/policyc/<ns>_<name>/g<N>/`: one complete generation (both datapath programs and
//!   every policy map, ipcache included);
//! - `<bpffs>/policyc/<ns>_<name>/dns/`: the DNS stage (tcx endpoints): its dispatchers,
//!   links and program arrays `pc_dns_prog_{ingress,egress}` driven by the SAME
//!   `pc_active_gen`, and `dns/g<N>/` the DNS programs of generation N (see [`dns`]);
//! - `<state-dir>/<ns>_<name>/g<N>.json`: what generation N was built from (artifact digest,
//!   manifest, attach point, program ids).
//!
//! The live generation is the active-generation word, checked against the programs in its
//! slots ([`live`]), so the state survives the loader's own restart and an interrupted apply
//! (see [`install`] for the replace protocol).

pub mod admit;
pub mod artifact;
pub mod bpffs;
pub mod capabilities;
pub mod dispatch;
pub mod dns;
pub mod dry_run;
pub mod endpoint_input;
pub mod error;
pub mod events;
pub mod events_filter;
pub mod features;
pub mod hook;
pub mod inspect;
pub mod install;
pub mod journal;
pub mod l7;
pub mod live;
pub mod lock;
pub mod map_ops;
pub mod metrics;
pub mod pins;
pub mod reapply;
pub mod shared_maps;
pub mod slots;
pub mod unload;
pub mod verified_files;

pub use error::NodeError;
