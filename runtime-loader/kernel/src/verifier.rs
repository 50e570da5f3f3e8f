//! Loading an opened object through the kernel verifier with a log buffer per program, so a
//! rejection carries the verifier's own explanation ([`LoaderError::Verifier`]).

use std::ffi::c_char;

use libbpf_rs::{AsRawLibbpf, Object, OpenObject};

use crate::error::LoaderError;

/// Verifier log kept per program when a load fails (the kernel keeps the tail).
const LOG_BUF_SIZE: usize = 1 << 20;

/// Loads `open`; on failure, returns the verifier logs of the programs that were to be loaded.
/// libbpf requests a log only after a failed first attempt, so successful loads pay nothing.
pub fn load_with_verifier_log(mut open: OpenObject) -> Result<Object, LoaderError> {
    let mut log_bufs: Vec<(String, Vec<u8>)> = Vec::new();
    for prog in open.progs_mut() {
        if !prog.autoload() {
            continue;
        }
        let name = prog.name().to_string_lossy().into_owned();
        let mut buf = vec![0u8; LOG_BUF_SIZE];
        // SAFETY: the heap buffer stays alive and unmoved in `log_bufs` until this function
        // returns, after the load; libbpf only writes into it during bpf_object__load.
        let rc = unsafe {
            libbpf_sys::bpf_program__set_log_buf(
                prog.as_libbpf_object().as_ptr(),
                buf.as_mut_ptr().cast::<c_char>(),
                buf.len() as _,
            )
        };
        if rc != 0 {
            return Err(LoaderError::Layout(format!(
                "cannot set the log buffer of {name}"
            )));
        }
        log_bufs.push((name, buf));
    }
    open.load().map_err(|source| LoaderError::Verifier {
        source,
        log: render_logs(&log_bufs),
    })
}

fn render_logs(log_bufs: &[(String, Vec<u8>)]) -> String {
    log_bufs
        .iter()
        .filter_map(|(name, buf)| {
            let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
            let text = String::from_utf8_lossy(&buf[..end]);
            (!text.trim().is_empty()).then(|| format!("--- verifier log of {name} ---\n{text}"))
        })
        .collect::<Vec<_>>()
        .join("\n")
}
