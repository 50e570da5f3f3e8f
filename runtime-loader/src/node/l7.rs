//! The node's L7 filter (`policyc-l7 serve`) as the loader runs it: the node-wide
//! `pc_l7_redir` map the datapath records redirected connections in, the policy routing that
//! delivers packets marked for the filter locally, and the daemon's lifecycle.
//!
//! - `apply` of an artifact with L7 tables: map and routing ensured, then the filter started
//!   (or, running, told to load the new tables with SIGHUP), and the apply waits until the
//!   filter says it serves them (`<state>/l7/loaded`) — before any endpoint is staged. A
//!   filter that cannot start or load fails the apply, which then changes no endpoint; an
//!   apply that fails later puts the previous tables back ([`L7Started::restore`]).
//! - Every endpoint object is loaded with `l7_proxy_port` set, so redirect-l7 TCP is
//!   sk-assigned to the filter (see `policyc_datapath.bpf.c`, `l7_steer`).
//! - `unload` of the last endpoint stops the filter and removes the map. The routing stays:
//!   it is node-wide, shared by every policyc state directory on the node (another loader's
//!   L7 endpoints may still need it), and it matches only packets policyc's programs mark.
//!
//! Routing (Cilium's `enable-bpf-tproxy` needs the same): `ip rule add fwmark
//! L7_TO_PROXY_MARK lookup L7_ROUTE_TABLE priority L7_RULE_PRIORITY` and `local default dev
//! lo` in that table, IPv4 and IPv6, installed with `ip`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use libbpf_rs::{MapHandle, MapType, OpenMapMut};
use policyc_backends::c_layout::size_u32;
use policyc_backends::layout::{
    map_names, L7RedirectKey, L7RedirectValue, L7_REDIRECT_MAX_ENTRIES, L7_ROUTE_TABLE,
    L7_RULE_PRIORITY, L7_TO_PROXY_MARK,
};
use policyc_l7_filter::serve::{
    read_current, write_atomically, CURRENT_FILE, FAILED_FILE, LOADED_FILE,
};

use super::error::NodeError;
use super::pins::NodePaths;

/// The filter's port unless `--l7-port` says otherwise.
pub const DEFAULT_L7_PORT: u16 = 15_079;
/// How long an apply waits for the filter to serve new tables.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// The daemon's pid, in the L7 state directory.
const PID_FILE: &str = "pid";
/// Its port.
const PORT_FILE: &str = "port";
/// Its standard output and error.
const LOG_FILE: &str = "log";

fn error(message: impl Into<String>) -> NodeError {
    NodeError::L7Filter(message.into())
}

/// `<state-dir>/l7`: the filter's control files.
pub fn state_dir(paths: &NodePaths) -> PathBuf {
    paths.state_dir.join("l7")
}

/// `<bpffs>/policyc/pc_l7_redir`.
pub fn redirect_map_pin(paths: &NodePaths) -> PathBuf {
    paths.pin_root.join(map_names::L7_REDIRECT)
}

/// Creates and pins the node-wide redirect map if it is not pinned yet.
pub fn ensure_redirect_map(paths: &NodePaths) -> Result<(), NodeError> {
    let pin = redirect_map_pin(paths);
    if pin.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(&paths.pin_root).map_err(NodeError::io(&paths.pin_root))?;
    // SAFETY: all-zero is a valid bpf_map_create_opts once sz is set.
    let mut opts: libbpf_sys::bpf_map_create_opts = unsafe { std::mem::zeroed() };
    opts.sz = size_of::<libbpf_sys::bpf_map_create_opts>() as _;
    let mut map = MapHandle::create(
        MapType::LruHash,
        Some(map_names::L7_REDIRECT),
        size_u32::<L7RedirectKey>(),
        size_u32::<L7RedirectValue>(),
        L7_REDIRECT_MAX_ENTRIES,
        &opts,
    )
    .map_err(NodeError::kernel("(node)", "creating pc_l7_redir"))?;
    map.pin(&pin).map_err(NodeError::kernel(
        "(node)",
        format!("pinning {}", pin.display()),
    ))
}

/// Makes an opened object's `pc_l7_redir` the node-wide pinned map, when there is one.
pub fn reuse_redirect_map(
    paths: &NodePaths,
    map: &mut OpenMapMut<'_>,
) -> Result<(), policyc_kernel::LoaderError> {
    if map.name().to_string_lossy() != map_names::L7_REDIRECT {
        return Ok(());
    }
    let pin = redirect_map_pin(paths);
    if !pin.exists() {
        return Ok(());
    }
    map.reuse_pinned_map(&pin)
        .map_err(|source| policyc_kernel::LoaderError::Map {
            map: format!("{} (reusing {})", map_names::L7_REDIRECT, pin.display()),
            source,
        })
}

fn ip(args: &[&str]) -> Result<String, NodeError> {
    let output = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| error(format!("running ip: {e}")))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(error(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    }
}

const FAMILIES: [&str; 2] = ["-4", "-6"];

fn mark() -> String {
    format!("{L7_TO_PROXY_MARK:#x}")
}

/// Installs the policy routing that delivers packets marked for the filter locally.
pub fn ensure_routing() -> Result<(), NodeError> {
    let table = L7_ROUTE_TABLE.to_string();
    let priority = L7_RULE_PRIORITY.to_string();
    let mark = mark();
    for family in FAMILIES {
        ip(&[
            family, "route", "replace", "local", "default", "dev", "lo", "table", &table,
        ])?;
        let rules = ip(&[family, "rule", "show", "priority", &priority])?;
        if !rules.contains(&format!("lookup {table}")) {
            ip(&[
                family, "rule", "add", "fwmark", &mark, "lookup", &table, "priority", &priority,
            ])?;
        }
    }
    Ok(())
}

/// The running filter: its pid when the recorded process is alive and is `policyc-l7`.
pub fn running_pid(paths: &NodePaths) -> Option<u32> {
    let text = std::fs::read_to_string(state_dir(paths).join(PID_FILE)).ok()?;
    let pid: u32 = text.trim().parse().ok()?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // A zombie (exited, not yet reaped) is not running.
    let state = stat.rsplit(") ").next()?.chars().next()?;
    let is_filter = cmdline
        .split(|b| *b == 0)
        .next()
        .is_some_and(|argv0| argv0.ends_with(b"policyc-l7"));
    (is_filter && state != 'Z').then_some(pid)
}

/// What `status` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterStatus {
    pub pid: u32,
    pub port: u16,
    /// The tables' generation it serves and the artifact they come from.
    pub generation: Option<u64>,
    pub artifact: Option<PathBuf>,
}

/// The filter, if it runs.
pub fn status(paths: &NodePaths) -> Option<FilterStatus> {
    let pid = running_pid(paths)?;
    let dir = state_dir(paths);
    let port = std::fs::read_to_string(dir.join(PORT_FILE))
        .ok()
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or(0);
    let generation = loaded_generation(&dir);
    let artifact = read_current(&dir).ok().map(|w| w.artifact);
    Some(FilterStatus {
        pid,
        port,
        generation,
        artifact,
    })
}

fn loaded_generation(dir: &Path) -> Option<u64> {
    std::fs::read_to_string(dir.join(LOADED_FILE))
        .ok()
        .and_then(|t| t.trim().parse().ok())
}

fn signal(pid: u32, signal: i32) -> Result<(), NodeError> {
    let pid = i32::try_from(pid).map_err(|_| error(format!("pid {pid} out of range")))?;
    // SAFETY: kill(2) with a pid read back and checked to be the filter.
    if unsafe { libc::kill(pid, signal) } == 0 {
        Ok(())
    } else {
        Err(error(format!(
            "signalling the filter (pid {pid}): {}",
            std::io::Error::last_os_error()
        )))
    }
}

/// Waits until the filter serves `generation`; the reason when it fails to.
fn wait_loaded(
    paths: &NodePaths,
    generation: u64,
    mut child: Option<&mut std::process::Child>,
) -> Result<(), NodeError> {
    let dir = state_dir(paths);
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if loaded_generation(&dir) == Some(generation) {
            return Ok(());
        }
        if let Ok(reason) = std::fs::read_to_string(dir.join(FAILED_FILE)) {
            return Err(error(format!(
                "the L7 filter cannot load the new tables: {}",
                reason.trim()
            )));
        }
        if let Some(child) = child.as_deref_mut() {
            if let Ok(Some(status)) = child.try_wait() {
                let log = std::fs::read_to_string(dir.join(LOG_FILE)).unwrap_or_default();
                return Err(error(format!(
                    "the L7 filter exited ({status}) before serving: {}",
                    log.trim()
                )));
            }
        }
        if Instant::now() > deadline {
            return Err(error(format!(
                "the L7 filter did not serve generation {generation} within {}s",
                READY_TIMEOUT.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Which filter binary runs: `--l7-filter`, else `policyc-l7` next to this executable.
pub fn filter_binary(explicit: Option<&Path>) -> Result<PathBuf, NodeError> {
    if let Some(path) = explicit {
        return Ok(path.to_path_buf());
    }
    let exe = std::env::current_exe().map_err(|e| error(format!("locating policy-loader: {e}")))?;
    let sibling = exe.with_file_name("policyc-l7");
    if sibling.exists() {
        Ok(sibling)
    } else {
        Err(error(format!(
            "no L7 filter binary: {} does not exist (install policyc-l7 next to policy-loader, or pass --l7-filter)",
            sibling.display()
        )))
    }
}

/// The filter serving an apply's tables, and how to put the previous ones back.
#[derive(Debug)]
pub struct L7Started {
    pub port: u16,
    /// What the filter served before (`None`: it was started by this apply).
    previous: Option<policyc_l7_filter::serve::Wanted>,
}

impl L7Started {
    /// Puts the previous tables back (the apply failed after the filter took the new ones),
    /// or stops the filter this apply started.
    pub fn restore(&self, paths: &NodePaths) {
        let dir = state_dir(paths);
        match &self.previous {
            Some(previous) => {
                let text = format!("{} {}\n", previous.generation, previous.artifact.display());
                if write_atomically(&dir, CURRENT_FILE, &text).is_ok() {
                    if let Some(pid) = running_pid(paths) {
                        let _ = signal(pid, libc::SIGHUP);
                        let _ = wait_loaded(paths, previous.generation, None);
                    }
                }
            }
            None => stop(paths),
        }
    }
}

/// Makes the filter serve the tables of `artifact`: started on `port` when not running, else
/// told to reload (its port stays). Returns once it serves them.
pub fn start_or_reload(
    paths: &NodePaths,
    artifact: &Path,
    port: u16,
    binary: Option<&Path>,
) -> Result<L7Started, NodeError> {
    let dir = state_dir(paths);
    std::fs::create_dir_all(&dir).map_err(NodeError::io(&dir))?;
    let artifact = std::fs::canonicalize(artifact).map_err(NodeError::io(artifact))?;
    let previous = read_current(&dir).ok();
    let generation = previous.as_ref().map_or(1, |p| p.generation + 1);
    let _ = std::fs::remove_file(dir.join(FAILED_FILE));
    write_atomically(
        &dir,
        CURRENT_FILE,
        &format!("{generation} {}\n", artifact.display()),
    )
    .map_err(NodeError::io(&dir))?;
    if let Some(pid) = running_pid(paths) {
        let port = std::fs::read_to_string(dir.join(PORT_FILE))
            .ok()
            .and_then(|p| p.trim().parse().ok())
            .ok_or_else(|| error("the running L7 filter has no recorded port"))?;
        let started = L7Started { port, previous };
        signal(pid, libc::SIGHUP)?;
        if let Err(e) = wait_loaded(paths, generation, None) {
            started.restore(paths);
            return Err(e);
        }
        return Ok(started);
    }
    let binary = filter_binary(binary)?;
    let log = std::fs::File::create(dir.join(LOG_FILE)).map_err(NodeError::io(&dir))?;
    let log_err = log.try_clone().map_err(NodeError::io(&dir))?;
    let mut command = Command::new(&binary);
    command
        .arg("serve")
        .arg("--dir")
        .arg(&dir)
        .arg("--port")
        .arg(port.to_string())
        .arg("--redirect-map")
        .arg(redirect_map_pin(paths))
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err);
    // Its own process group: the loader's terminal signals do not reach it.
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command
        .spawn()
        .map_err(|e| error(format!("starting {}: {e}", binary.display())))?;
    std::fs::write(dir.join(PID_FILE), format!("{}\n", child.id())).map_err(NodeError::io(&dir))?;
    std::fs::write(dir.join(PORT_FILE), format!("{port}\n")).map_err(NodeError::io(&dir))?;
    let started = L7Started {
        port,
        previous: None,
    };
    if let Err(e) = wait_loaded(paths, generation, Some(&mut child)) {
        let _ = child.kill();
        let _ = child.wait();
        started.restore(paths);
        return Err(e);
    }
    Ok(started)
}

/// Stops the filter and removes its map and state (best effort, for `unload`). The node-wide
/// routing is left in place (see the module documentation).
pub fn stop(paths: &NodePaths) {
    if let Some(pid) = running_pid(paths) {
        let _ = signal(pid, libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(5);
        while running_pid(paths).is_some() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        if running_pid(paths).is_some() {
            let _ = signal(pid, libc::SIGKILL);
        }
    }
    let _ = std::fs::remove_file(redirect_map_pin(paths));
    let _ = std::fs::remove_dir_all(state_dir(paths));
}
