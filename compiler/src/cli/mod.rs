//! The command line: one file per subcommand, each with its clap args and a `run` that returns
//! the process exit code. Exit codes: 0 success, 1 findings / failed tests / changes, 2 usage or
//! I/O error.

use crate::config::{Config, ConfigChoice};
use clap::{Parser, Subcommand};
use policyc_diagnostics::render::ColorChoice;
use policyc_diagnostics::{render, Format, HumanOptions, RenderOptions};
use std::path::PathBuf;
use std::process::ExitCode;

pub mod build;
pub mod completions;
pub mod diff;
pub mod explain;
pub mod lint;
pub mod test;
mod test_datapath;

#[derive(Debug, Parser)]
#[command(
    name = "policyc",
    version,
    about = "Lint, test, explain, compile and diff Cilium and Kubernetes network policy",
    long_about = "policyc checks CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy and Kubernetes \
NetworkPolicy offline: `lint` validates like the Cilium agent and finds semantic mistakes, \
`test`/`explain` evaluate flows with a reference evaluator of Cilium's semantics, `build` compiles \
per-endpoint eBPF programs and map images, and `diff` shows which flows a change opens or closes."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Colour in the human report: `auto` (a terminal, and NO_COLOR unset), `always`, `never`.
    #[arg(long, global = true, value_enum, default_value = "auto")]
    pub color: ColorArg,
    /// Configuration file to use instead of the `.policyc.yaml` / `.policyc.toml` found upward
    /// from the working directory (up to the git root).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Ignore any configuration file.
    #[arg(long, global = true, conflicts_with = "config")]
    pub no_config: bool,
    /// Print only the report and errors: no summary line, progress or notes.
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
}

static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// `-q/--quiet` was given: summary lines, progress and notes are not printed.
pub(crate) fn quiet() -> bool {
    QUIET.load(std::sync::atomic::Ordering::Relaxed)
}

impl Cli {
    fn config_choice(&self) -> ConfigChoice {
        match (&self.config, self.no_config) {
            (_, true) => ConfigChoice::None,
            (Some(path), false) => ConfigChoice::File(path.clone()),
            (None, false) => ConfigChoice::Discover,
        }
    }
}

/// The configuration of the run, or exit 2 with its errors at file:line:col.
fn load_config(choice: &ConfigChoice) -> Result<Config, ExitCode> {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    Config::for_choice(choice, &cwd).map_err(|error| {
        eprintln!("policyc: the configuration file cannot be used (--no-config ignores it):");
        eprint!(
            "{}",
            render(
                Format::Human,
                &error.findings,
                &error.sources,
                &RenderOptions {
                    human: HumanOptions::detect(),
                    ..RenderOptions::default()
                }
            )
        );
        ExitCode::from(2)
    })
}

/// `--color` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorArg {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate policies like the Cilium agent does and report semantic mistakes.
    Lint(lint::LintArgs),
    /// Check FlowTests files: assertions about which flows are allowed.
    Test(test::TestArgs),
    /// Explain the verdict for one flow, rule by rule.
    Explain(explain::ExplainArgs),
    /// Compile policies into per-endpoint BPF objects and map images.
    Build(build::BuildArgs),
    /// Show which flows a policy change opens or closes.
    Diff(diff::DiffArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(completions::CompletionsArgs),
    /// Write man pages (policyc.1 and one per subcommand) into a directory.
    #[command(hide = true)]
    Manpages(completions::ManpagesArgs),
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    policyc_diagnostics::render::set_color_choice(match cli.color {
        ColorArg::Auto => ColorChoice::Auto,
        ColorArg::Always => ColorChoice::Always,
        ColorArg::Never => ColorChoice::Never,
    });
    QUIET.store(cli.quiet, std::sync::atomic::Ordering::Relaxed);
    let choice = cli.config_choice();
    let config = || load_config(&choice);
    match cli.command {
        Command::Lint(a) => config().map_or_else(|code| code, |c| lint::run(a, &c)),
        Command::Test(a) => test::run(a),
        Command::Explain(a) => config().map_or_else(|code| code, |c| explain::run(a, &c)),
        Command::Build(a) => config().map_or_else(|code| code, |c| build::run(a, &c)),
        Command::Diff(a) => config().map_or_else(|code| code, |c| diff::run(a, &c)),
        Command::Completions(a) => completions::completions(a),
        Command::Manpages(a) => completions::manpages(a),
    }
}

/// The refusal of a command (or flag) that needs the BPF toolchain in a policyc built without
/// feature `bpf`: exit 2, saying how to get a build that has it.
#[cfg(not(feature = "bpf"))]
fn without_bpf(what: &str) -> ExitCode {
    eprintln!(
        "policyc {what}: this policyc was built without the `bpf` feature (no clang or libbpf at \
         build time), so it has no BPF objects; use a policyc built with default features"
    );
    ExitCode::from(2)
}
