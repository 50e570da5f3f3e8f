//! policyc-loader: `policy-loader`, the node side — installs, atomically replaces, inspects and
//! removes compiled policy ([`node`]) on top of the libbpf-rs layer in `policyc-kernel`.

pub mod cli;
pub mod node;
