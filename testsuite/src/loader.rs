//! `policy-loader` as an operator runs it in the end-to-end tests: a separate process in the
//! node (root) namespace of a [`Topology`], against a private bpffs instance and state
//! directory. `Drop` unloads everything, removes both and unmounts the bpffs.

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::netns::{run, Topology};

/// `policy-loader --bpffs BPFFS --state-dir STATE ARGS` run in this namespace (the binary of
/// [`crate::loader_path`]): success, and stdout followed by stderr with miette's frames and
/// line breaks flattened to single spaces (so messages compare as words).
pub fn run_flat(bpffs: &Path, state: &Path, args: &[&str]) -> (bool, String) {
    let output = Command::new(crate::loader_path())
        .arg("--bpffs")
        .arg(bpffs)
        .arg("--state-dir")
        .arg(state)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("policy-loader: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
    .replace('│', " ")
    .split_whitespace()
    .collect::<Vec<_>>()
    .join(" ");
    (output.status.success(), text)
}

/// Loader invocations against `bpffs` and `state`.
pub struct Loader<'t> {
    pub binary: PathBuf,
    pub bpffs: PathBuf,
    pub state: PathBuf,
    pub topology: &'t Topology,
    /// Dropped after `Drop::drop` has unloaded.
    _mount: Unmount,
}

impl<'t> Loader<'t> {
    /// `binary` against a fresh bpffs instance mounted at `<work>/bpffs` (a fresh
    /// `mount -t bpf` shares nothing with the node's) and the state directory `<work>/state`.
    pub fn on_private_bpffs(binary: PathBuf, topology: &'t Topology, work: &Path) -> Loader<'t> {
        let bpffs = work.join("bpffs");
        std::fs::create_dir_all(&bpffs).unwrap_or_else(|e| panic!("{e}"));
        run("mount", &["-t", "bpf", "bpf", &bpffs.to_string_lossy()])
            .unwrap_or_else(|e| panic!("{e}"));
        Loader {
            binary,
            _mount: Unmount(bpffs.clone()),
            bpffs,
            state: work.join("state"),
            topology,
        }
    }

    /// `policy-loader --bpffs .. --state-dir .. ARGS` in the node namespace.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = self.topology.in_node(&self.binary);
        command
            .arg("--bpffs")
            .arg(&self.bpffs)
            .arg("--state-dir")
            .arg(&self.state)
            .args(args);
        command
    }

    /// Success, stdout, stderr.
    pub fn run(&self, args: &[&str]) -> (bool, String, String) {
        let output = self
            .command(args)
            .output()
            .unwrap_or_else(|e| panic!("policy-loader: {e}"));
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    /// Success, and stdout followed by stderr.
    pub fn run_combined(&self, args: &[&str]) -> (bool, String) {
        let (ok, stdout, stderr) = self.run(args);
        (ok, format!("{stdout}{stderr}"))
    }

    /// Stdout of a command that must succeed.
    pub fn ok(&self, args: &[&str]) -> String {
        let (ok, stdout, stderr) = self.run(args);
        assert!(ok, "policy-loader {args:?} failed:\n{stdout}{stderr}");
        stdout
    }

    /// Stdout of a command that must succeed, parsed as JSON.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let text = self.ok(args);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?}: {e}\n{text}"))
    }

    /// Starts an apply that pauses at `step`, waits until it is there, and SIGKILLs it.
    pub fn kill_apply_at(&self, step: &str, args: &[&str]) {
        let mut child = self
            .command(args)
            .env("POLICYC_LOADER_PAUSE_AT", step)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("policy-loader: {e}"));
        let stderr = child.stderr.take().unwrap_or_else(|| panic!("stderr"));
        let mut reader = BufReader::new(stderr);
        let mut paused = false;
        let mut line = String::new();
        while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
            if line.contains(&format!("paused at {step}")) {
                paused = true;
                break;
            }
            line.clear();
        }
        let killed = child.kill();
        let status = child
            .wait()
            .unwrap_or_else(|e| panic!("waiting for the apply paused at {step}: {e}"));
        assert!(paused, "apply never reached step {step}: {line}");
        // The point of the test that calls this: the apply died AT the step, by SIGKILL, not
        // by finishing or failing on its own.
        killed.unwrap_or_else(|e| panic!("killing the apply paused at {step}: {e}"));
        assert_eq!(
            status.signal(),
            Some(9),
            "the apply paused at {step} was not the one killed: {status}"
        );
    }
}

impl Drop for Loader<'_> {
    fn drop(&mut self) {
        // Best effort, also while unwinding from a failed assertion: a failure here has nobody to
        // report to, and a panic in drop would abort the test run.
        let _ = self.command(&["unload"]).output();
        let _ = std::fs::remove_dir_all(self.bpffs.join("policyc"));
        let _ = std::fs::remove_dir_all(&self.state);
    }
}

/// Unmounts a private bpffs on drop.
struct Unmount(PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        // Best effort, also while unwinding from a failed assertion: a failure here has nobody to
        // report to, and a panic in drop would abort the test run.
        let _ = run("umount", &["-l", &self.0.to_string_lossy()]);
    }
}
