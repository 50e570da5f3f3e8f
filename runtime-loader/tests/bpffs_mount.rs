//! `policy-loader apply` mounts bpffs at `--bpffs` when none is mounted there, and says so
//! (issue 15). Run in a private mount namespace (`unshare -m`), where the node's bpffs is
//! unmounted first: the node's own mounts are never touched.

use std::process::Command;

#[test]
fn apply_mounts_a_missing_bpffs_and_says_so() {
    let state = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let script = format!(
        "set -u
         while mountpoint -q /sys/fs/bpf; do umount -l /sys/fs/bpf || exit 90; done
         grep -q ' /sys/fs/bpf bpf ' /proc/self/mounts && exit 91
         {loader} --state-dir {state} apply /nonexistent/artifact
         grep -q ' /sys/fs/bpf bpf ' /proc/self/mounts || exit 92
         {loader} --state-dir {state} apply /nonexistent/artifact",
        loader = env!("CARGO_BIN_EXE_policy-loader"),
        state = state.path().display(),
    );
    let out = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", &script])
        .output()
        .unwrap_or_else(|e| panic!("unshare: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !matches!(out.status.code(), Some(90..=92)),
        "exit {:?}: {stderr}",
        out.status.code()
    );
    // The first apply mounted it (then stopped at the missing artifact); the second found it.
    assert_eq!(
        stderr
            .matches("mounted bpffs at /sys/fs/bpf (none was mounted there)")
            .count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("/nonexistent/artifact"), "{stderr}");
}

#[test]
fn a_non_empty_directory_is_not_mounted_over() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("keep"), "x").unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new(env!("CARGO_BIN_EXE_policy-loader"))
        .arg("--bpffs")
        .arg(dir.path())
        .arg("--state-dir")
        .arg(dir.path().join("state"))
        .args(["apply", "/nonexistent/artifact"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&out.stderr)
        .replace('│', " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(!out.status.success());
    assert!(
        stderr.contains("is not empty: not mounting bpffs over it"),
        "{stderr}"
    );
    assert!(dir.path().join("keep").exists());
}
