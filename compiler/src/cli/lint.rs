//! `policyc lint` (not yet implemented).
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct LintArgs {}

pub fn run(_args: LintArgs) -> ExitCode {
    super::not_yet("lint")
}
