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

/// The kernel attach type of a direction's program: tcx ingress carries endpoint egress, tcx
/// egress endpoint ingress; cgroup_skb hooks are named after the endpoint's own direction.
pub fn kernel_attach_type(direction: Direction, kind: AttachKind) -> libbpf_sys::bpf_attach_type {
    match (direction, kind) {
        (Direction::Egress, AttachKind::Tcx) => libbpf_sys::BPF_TCX_INGRESS,
        (Direction::Ingress, AttachKind::Tcx) => libbpf_sys::BPF_TCX_EGRESS,
        (Direction::Egress, AttachKind::CgroupSkb) => libbpf_sys::BPF_CGROUP_INET_EGRESS,
        (Direction::Ingress, AttachKind::CgroupSkb) => libbpf_sys::BPF_CGROUP_INET_INGRESS,
    }
}

/// Where a raw link attaches.
#[derive(Debug, Clone, Copy)]
pub enum LinkTarget<'a> {
    /// tcx on interface `ifindex` (appended after the programs already there).
    Tcx {
        /// Interface index.
        ifindex: u32,
    },
    /// cgroup_skb on a cgroup v2 directory.
    Cgroup {
        /// The cgroup directory.
        dir: &'a std::path::Path,
    },
}

/// `BPF_LINK_CREATE` for an already loaded program (for instance one opened from a bpffs pin):
/// returns the link's fd; the attachment lives until the last fd or pin of the link is gone.
pub fn create_link(
    program: std::os::fd::BorrowedFd<'_>,
    name: &str,
    direction: Direction,
    target: LinkTarget<'_>,
) -> Result<std::os::fd::OwnedFd, LoaderError> {
    use std::os::fd::FromRawFd;
    let error = |source: libbpf_rs::Error| LoaderError::Program {
        program: name.to_owned(),
        source,
    };
    let (target_fd, kind, _dir) = match target {
        LinkTarget::Tcx { ifindex } => (
            i32::try_from(ifindex).map_err(|_| error(libbpf_rs::Error::from_raw_os_error(22)))?,
            AttachKind::Tcx,
            None,
        ),
        LinkTarget::Cgroup { dir } => {
            let file = std::fs::File::open(dir).map_err(|e| error(libbpf_rs::Error::from(e)))?;
            (file.as_raw_fd(), AttachKind::CgroupSkb, Some(file))
        }
    };
    // SAFETY: all-zero is a valid bpf_link_create_opts (tcx: append, no revision) once sz is set.
    let mut opts: libbpf_sys::bpf_link_create_opts = unsafe { std::mem::zeroed() };
    opts.sz = size_of::<libbpf_sys::bpf_link_create_opts>() as _;
    // SAFETY: the program fd and target fd (`_dir` keeps a cgroup open) are valid for the call.
    let fd = unsafe {
        libbpf_sys::bpf_link_create(
            program.as_raw_fd(),
            target_fd,
            kernel_attach_type(direction, kind),
            &opts,
        )
    };
    if fd < 0 {
        return Err(error(libbpf_rs::Error::from_raw_os_error(-fd)));
    }
    // SAFETY: the kernel returned a fresh fd this process owns.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })
}

/// Pins any BPF object fd (program, map, link) at `path` on bpffs.
pub fn pin_fd(
    fd: std::os::fd::BorrowedFd<'_>,
    path: &std::path::Path,
) -> Result<(), libbpf_rs::Error> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| libbpf_rs::Error::from_raw_os_error(22))?;
    // SAFETY: fd is valid, c_path is NUL-terminated.
    let rc = unsafe { libbpf_sys::bpf_obj_pin(fd.as_raw_fd(), c_path.as_ptr()) };
    if rc < 0 {
        Err(libbpf_rs::Error::from_raw_os_error(-rc))
    } else {
        Ok(())
    }
}

/// Program ids attached with tcx at `ifindex` in direction `attach_type`, in run order.
pub fn tcx_chain(ifindex: u32, attach_type: libbpf_sys::bpf_attach_type) -> Vec<u32> {
    let mut ids = vec![0u32; 64];
    let mut opts = libbpf_sys::bpf_prog_query_opts {
        sz: size_of::<libbpf_sys::bpf_prog_query_opts>() as _,
        prog_ids: ids.as_mut_ptr(),
        ..Default::default()
    };
    opts.__bindgen_anon_1.count = ids.len() as u32;
    let Ok(target) = i32::try_from(ifindex) else {
        return Vec::new();
    };
    // SAFETY: `opts` is a valid bpf_prog_query_opts whose prog_ids buffer holds `count` ids
    // and outlives the call.
    let rc = unsafe { libbpf_sys::bpf_prog_query_opts(target, attach_type, &mut opts) };
    if rc != 0 {
        return Vec::new();
    }
    // SAFETY: the kernel wrote the number of programs into the union's count.
    let count = unsafe { opts.__bindgen_anon_1.count } as usize;
    ids.truncate(count.min(64));
    ids
}
