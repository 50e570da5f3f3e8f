//! Shared pieces of the fuzz targets: paths of the example inputs, the checks every target
//! applies to findings, and the userspace references the kernel targets compare against.
//! Harness code may panic: a panic here IS a finding (an invariant the product broke).

pub mod artifact_dir;
pub mod dns_reference;
pub mod examples;
pub mod findings;
pub mod frame;
