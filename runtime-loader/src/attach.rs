//! Attaching a loaded endpoint datapath: tcx on the host side of the endpoint's interface
//! (tcx ingress = endpoint egress, tcx egress = endpoint ingress) or cgroup_skb on a cgroup v2.

use std::os::fd::AsRawFd;
use std::ptr::NonNull;

use libbpf_rs::{AsRawLibbpf, Link};
use policyc_backends::layout::Direction;

use crate::datapath::{program_name, AttachKind, DatapathInstance};
use crate::error::LoaderError;

fn attach_error(direction: Direction, kind: AttachKind, source: libbpf_rs::Error) -> LoaderError {
    LoaderError::Program {
        program: program_name(direction, kind).to_owned(),
        source,
    }
}

/// Attaches the `direction` program with tcx to interface `ifindex` (the host-side end of the
/// endpoint's veth): endpoint egress at tcx ingress, endpoint ingress at tcx egress. The
/// attachment lives as long as the returned link (pin it to keep it).
pub fn attach_tcx(
    instance: &DatapathInstance,
    direction: Direction,
    ifindex: u32,
) -> Result<Link, LoaderError> {
    let program = instance.program(direction, AttachKind::Tcx)?;
    let ifindex = i32::try_from(ifindex).map_err(|_| {
        attach_error(
            direction,
            AttachKind::Tcx,
            libbpf_rs::Error::from_raw_os_error(22),
        )
    })?;
    // SAFETY: all-zero is a valid bpf_tcx_opts (attach last, no revision check) once sz is set.
    let mut opts: libbpf_sys::bpf_tcx_opts = unsafe { std::mem::zeroed() };
    opts.sz = size_of::<libbpf_sys::bpf_tcx_opts>() as _;
    // SAFETY: the program pointer is valid while `instance` lives; opts is a valid struct.
    let link = unsafe {
        libbpf_sys::bpf_program__attach_tcx(program.as_libbpf_object().as_ptr(), ifindex, &opts)
    };
    match NonNull::new(link) {
        // SAFETY: libbpf returned a valid, owned bpf_link.
        Some(link) => Ok(unsafe { Link::from_ptr(link) }),
        None => Err(attach_error(
            direction,
            AttachKind::Tcx,
            libbpf_rs::Error::from(std::io::Error::last_os_error()),
        )),
    }
}

/// Attaches the `direction` program as cgroup_skb to the cgroup v2 directory `cgroup`.
pub fn attach_cgroup(
    instance: &DatapathInstance,
    direction: Direction,
    cgroup: &std::path::Path,
) -> Result<Link, LoaderError> {
    let program = instance.program(direction, AttachKind::CgroupSkb)?;
    let dir = std::fs::File::open(cgroup)
        .map_err(|e| attach_error(direction, AttachKind::CgroupSkb, libbpf_rs::Error::from(e)))?;
    program
        .attach_cgroup(dir.as_raw_fd())
        .map_err(|source| attach_error(direction, AttachKind::CgroupSkb, source))
}
