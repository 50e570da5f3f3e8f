//! The optimizer: identity classes, merged port functions, the hash-consed decision DAG and the
//! map-layout choice (with its cost model), plus Cilium's encoding of the same policy for the
//! build report.

pub mod cilium_encoding;
