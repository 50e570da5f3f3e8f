//! The bpffs the loader pins under: mounted at `--bpffs` (default `/sys/fs/bpf`) when it is
//! missing, as the Cilium agent does at start-up (its `bpf.MountFS` in pkg/bpf/bpffs_linux.go
//! mounts bpffs at the configured root when none is mounted there), and said so.

use super::install::is_on_bpffs;
use std::path::{Path, PathBuf};

/// Why bpffs could not be made available.
#[derive(Debug, thiserror::Error)]
pub enum BpffsError {
    #[error("{} is not on a mounted bpffs and is not empty: not mounting bpffs over it; mount it with `mount -t bpf bpf {}` or pass --bpffs", .0.display(), .0.display())]
    NotEmpty(PathBuf),
    #[error("{} is not on a mounted bpffs and cannot be prepared for one: {}", .0.display(), .1)]
    Io(PathBuf, std::io::Error),
    #[error("{} is not on a mounted bpffs and mounting one failed: {} (needs CAP_SYS_ADMIN; or pass --bpffs)", .0.display(), .1)]
    Mount(PathBuf, std::io::Error),
}

/// Whether the call found bpffs mounted or mounted it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bpffs {
    AlreadyMounted,
    MountedNow,
}

/// Makes `path` a bpffs mount point unless it is on one already. A directory that is not on
/// bpffs and is not empty is refused (mounting over it would hide its files); a missing one is
/// created. Needs CAP_SYS_ADMIN.
pub fn ensure_mounted(path: &Path) -> Result<Bpffs, BpffsError> {
    if is_on_bpffs(path) {
        return Ok(Bpffs::AlreadyMounted);
    }
    let io = |e| BpffsError::Io(path.to_path_buf(), e);
    std::fs::create_dir_all(path).map_err(io)?;
    if std::fs::read_dir(path).map_err(io)?.next().is_some() {
        return Err(BpffsError::NotEmpty(path.to_path_buf()));
    }
    let target = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).map_err(|_| {
        io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "NUL byte in the path",
        ))
    })?;
    let fs = c"bpf";
    // SAFETY: every pointer is a valid NUL-terminated string that outlives the call; no data.
    let rc = unsafe {
        libc::mount(
            fs.as_ptr(),
            target.as_ptr(),
            fs.as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if rc != 0 {
        return Err(BpffsError::Mount(
            path.to_path_buf(),
            std::io::Error::last_os_error(),
        ));
    }
    Ok(Bpffs::MountedNow)
}
