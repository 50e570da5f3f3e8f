//! `policy-loader completions SHELL` and `policy-loader manpages DIR`: generated from the clap
//! definition, touching nothing on the node (no bpffs, no state directory, no privileges used).

use std::process::Command;

use test_case::test_case;

fn loader(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_policy-loader"))
        .args(args)
        // A state directory and bpffs that do not exist: documentation must not need them.
        .args([
            "--state-dir",
            "/nonexistent/policyc-state",
            "--bpffs",
            "/nonexistent/bpffs",
        ])
        .output()
        .expect("run policy-loader")
}

#[test_case("bash"; "bash")]
#[test_case("zsh"; "zsh")]
#[test_case("fish"; "fish")]
fn completion_script_names_every_command(shell: &str) {
    let out = loader(&["completions", shell]);
    assert!(out.status.success(), "{out:?}");
    let script = String::from_utf8_lossy(&out.stdout);
    for word in [
        "apply",
        "status",
        "dump",
        "events",
        "endpoint",
        "unload",
        "lock-timeout",
    ] {
        assert!(script.contains(word), "{shell} script lacks `{word}`");
    }
}

#[test]
fn manpages_are_written_for_the_loader_and_each_command() {
    let dir = tempfile::tempdir().expect("tempdir");
    let man = dir.path().join("man");
    let out = loader(&["manpages", man.to_str().expect("utf-8 path")]);
    assert!(out.status.success(), "{out:?}");
    for page in [
        "policy-loader",
        "policy-loader-apply",
        "policy-loader-unload",
        "policy-loader-events",
    ] {
        let text = std::fs::read_to_string(man.join(format!("{page}.1")))
            .unwrap_or_else(|e| panic!("{page}.1: {e}"));
        assert!(text.contains(".TH"), "{page}.1 is not a man page");
    }
    assert!(
        !man.join("policy-loader-manpages.1").exists(),
        "hidden commands get no page"
    );
}
