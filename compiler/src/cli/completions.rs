//! `policyc completions SHELL` (a completion script on standard output) and the hidden
//! `policyc manpages DIR` (`make dist` ships both): generated from the clap definition, so
//! they never drift from the real flags.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::CommandFactory;

use super::Cli;

const AFTER_HELP: &str = "\
Examples:
  policyc completions bash > /etc/bash_completion.d/policyc
  policyc completions zsh > \"${fpath[1]}/_policyc\"
  policyc completions fish > ~/.config/fish/completions/policyc.fish";

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
    let mut command = Cli::command();
    clap_complete::generate(args.shell, &mut command, "policyc", &mut std::io::stdout());
    ExitCode::SUCCESS
}

pub fn manpages(args: ManpagesArgs) -> ExitCode {
    match write_manpages(&args.dir) {
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

/// `policyc.1` and one page per visible subcommand, named as `man policyc-lint` expects.
fn write_manpages(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let command = Cli::command();
    let mut written = Vec::new();
    let mut page = |name: String, command: clap::Command| -> std::io::Result<()> {
        let path = dir.join(format!("{name}.1"));
        let mut out = Vec::new();
        clap_mangen::Man::new(command.name(name.clone())).render(&mut out)?;
        std::fs::write(&path, out)?;
        written.push(path);
        Ok(())
    };
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        page(format!("policyc-{}", sub.get_name()), sub.clone())?;
    }
    page("policyc".to_string(), command)?;
    Ok(written)
}
