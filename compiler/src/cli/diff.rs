//! `policyc diff` (not yet implemented).
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct DiffArgs {}

pub fn run(_args: DiffArgs) -> ExitCode {
    super::not_yet("diff")
}
