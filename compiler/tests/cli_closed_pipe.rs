//! Writing to a closed pipe (`policyc … | head -1`) ends quietly: the process is killed by
//! SIGPIPE or exits with its normal status — never a panic (exit 101, "failed printing to
//! stdout"). Every subcommand that prints is run with its standard output connected to a pipe
//! whose reading end is already closed, so the first write fails.

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};

use test_case::test_case;

const EXAMPLES: &str = "../policy-examples";

#[test_case(&["lint", "--format", "concise", "{ex}/broken/"]; "lint concise")]
#[test_case(&["lint", "--format", "json", "{ex}/broken/"]; "lint json")]
#[test_case(&["lint", "--format", "sarif", "{ex}/broken/"]; "lint sarif")]
#[test_case(&["lint", "--format", "github", "{ex}/broken/"]; "lint github")]
#[test_case(&["lint", "--format", "human", "{ex}/broken/"]; "lint human")]
#[test_case(&["test", "{ex}/flowtests.yaml"]; "test text")]
#[test_case(&["test", "--format", "json", "{ex}/flowtests.yaml"]; "test json")]
#[test_case(&["test", "--format", "junit", "{ex}/flowtests.yaml"]; "test junit")]
#[test_case(&["explain", "--inventory", "{ex}/inventory.yaml", "--from", "shop/frontend", "--to", "shop/api", "--port", "8080", "{ex}/policies/"]; "explain")]
#[test_case(&["diff", "--inventory", "{ex}/inventory.yaml", "--base", "{ex}/policies", "--head", "{ex}/policies/shop", "--format", "markdown"]; "diff markdown")]
#[test_case(&["diff", "--inventory", "{ex}/inventory.yaml", "--base", "{ex}/policies", "--head", "{ex}/policies/shop", "--format", "json"]; "diff json")]
#[test_case(&["diff", "--inventory", "{ex}/inventory.yaml", "--base", "{ex}/policies", "--head", "{ex}/policies/shop"]; "diff text")]
#[test_case(&["--help"]; "help")]
#[test_case(&["lint", "--help"]; "lint help")]
#[test_case(&["--version"]; "version")]
fn closed_pipe_ends_quietly(args: &[&str]) {
    let args: Vec<String> = args.iter().map(|a| a.replace("{ex}", EXAMPLES)).collect();
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_policyc"))
        .args(&args)
        .env("NO_COLOR", "1")
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .expect("run policyc");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked") && out.status.code() != Some(101),
        "policyc {args:?} panicked on a closed pipe: {:?}\n{stderr}",
        out.status
    );
    assert!(
        out.status.signal() == Some(libc::SIGPIPE) || matches!(out.status.code(), Some(0..=2)),
        "policyc {args:?} on a closed pipe: {:?}\n{stderr}",
        out.status
    );
}
