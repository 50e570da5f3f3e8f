//! `policyc explain` (not yet implemented).
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct ExplainArgs {}

pub fn run(_args: ExplainArgs) -> ExitCode {
    super::not_yet("explain")
}
