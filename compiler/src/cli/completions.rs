//! `policyc completions SHELL` (a completion script on standard output) and the hidden
//! `policyc manpages DIR` (`make dist` ships both): generated from the clap definition, so
//! they never drift from the real flags.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::CommandFactory;
use policyc_diagnostics::cli_docs;

use super::Cli;

const AFTER_HELP: &str = "\
Examples:
  policyc completions bash > /etc/bash_completion.d/policyc
  policyc completions zsh > \"${fpath[1]}/_policyc\"
  policyc completions fish > ~/.config/fish/completions/policyc.fish

Exit status: 0 the script was printed, 2 usage error (an unknown shell).";

#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct CompletionsArgs {
    /// The shell to generate the script for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, clap::Args)]
pub struct ManpagesArgs {
    /// Directory to write `policyc.1` and `policyc-<command>.1` into (created if missing).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

pub fn completions(args: CompletionsArgs) -> ExitCode {
    cli_docs::completions(args.shell, Cli::command(), &mut std::io::stdout());
    ExitCode::SUCCESS
}

pub fn manpages(args: ManpagesArgs) -> ExitCode {
    match cli_docs::manpages(Cli::command(), &args.dir) {
        Ok(written) => {
            for path in written {
                println!("{}", path.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("policyc manpages: {}: {e}", args.dir.display());
            ExitCode::from(2)
        }
    }
}
