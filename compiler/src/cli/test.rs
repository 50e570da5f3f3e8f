//! `policyc test` (not yet implemented).
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct TestArgs {}

pub fn run(_args: TestArgs) -> ExitCode {
    super::not_yet("test")
}
