//! `--help` of every command: each flag and argument has help text, each command has examples
//! and its exit status (issue 15), walking the clap definition so a new flag cannot skip it.

use clap::CommandFactory;
use policyc_diagnostics::cli_docs::undocumented;

#[test]
fn every_command_has_examples_and_exit_status_and_every_flag_help() {
    let problems = undocumented(&policyc::cli::Cli::command());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_walk_reports_what_is_missing() {
    let command = clap::Command::new("tool").about("a tool").subcommand(
        clap::Command::new("run").about("run it").arg(
            clap::Arg::new("fast")
                .long("fast")
                .action(clap::ArgAction::SetTrue),
        ),
    );
    assert_eq!(
        undocumented(&command),
        [
            "tool run --fast: no help",
            "tool run: no `Examples:` section",
            "tool run: no `Exit status:` section"
        ]
    );
}
