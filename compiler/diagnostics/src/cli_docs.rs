//! Documentation generated from a clap command line, shared by `policyc` and `policy-loader`:
//! shell completion scripts and man pages (one for the tool, one per visible subcommand, named
//! `<tool>-<command>.1` as `man <tool>-<command>` expects). Generated, so never out of date.

use std::path::{Path, PathBuf};

/// Writes the completion script of `command` for `shell` to `out`.
pub fn completions(
    shell: clap_complete::Shell,
    mut command: clap::Command,
    out: &mut dyn std::io::Write,
) {
    let name = command.get_name().to_string();
    clap_complete::generate(shell, &mut command, name, out);
}

/// Writes `<tool>.1` and `<tool>-<subcommand>.1` for every visible subcommand into `dir`
/// (created if missing); returns the paths written.
pub fn manpages(command: clap::Command, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let tool = command.get_name().to_string();
    let mut written = Vec::new();
    let mut page = |name: String, command: clap::Command| -> std::io::Result<()> {
        let path = dir.join(format!("{name}.1"));
        let mut out = Vec::new();
        clap_mangen::Man::new(command.name(name)).render(&mut out)?;
        std::fs::write(&path, out)?;
        written.push(path);
        Ok(())
    };
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        page(format!("{tool}-{}", sub.get_name()), sub.clone())?;
    }
    page(tool, command)?;
    Ok(written)
}

/// What is missing from the `--help` of `command` and its subcommands (recursively; hidden
/// ones, `help` and clap's own `--help`/`--version` skipped): each argument without help text,
/// and each command without an `Examples:` and an `Exit status:` section in its after-help
/// (a group of subcommands, such as `endpoint`, needs them in its subcommands only). One line
/// per problem, `tool sub --arg: no help`; empty when everything is documented.
#[must_use]
pub fn undocumented(command: &clap::Command) -> Vec<String> {
    let mut problems = Vec::new();
    walk(command, command.get_name(), &mut problems);
    problems
}

fn walk(command: &clap::Command, path: &str, problems: &mut Vec<String>) {
    for arg in command.get_arguments() {
        let id = arg.get_id().as_str();
        if arg.is_hide_set() || id == "help" || id == "version" {
            continue;
        }
        if arg.get_help().is_none() && arg.get_long_help().is_none() {
            let name = arg
                .get_long()
                .map(|l| format!("--{l}"))
                .unwrap_or_else(|| id.to_uppercase());
            problems.push(format!("{path} {name}: no help"));
        }
    }
    let subcommands: Vec<&clap::Command> = command
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
        .collect();
    // The top level and groups of subcommands document their subcommands instead.
    if subcommands.is_empty() {
        let after = command
            .get_after_help()
            .or(command.get_after_long_help())
            .map(ToString::to_string)
            .unwrap_or_default();
        for section in ["Examples:", "Exit status:"] {
            if !after.contains(section) {
                problems.push(format!("{path}: no `{section}` section"));
            }
        }
    }
    if command.get_about().is_none() && command.get_long_about().is_none() {
        problems.push(format!("{path}: no about text"));
    }
    for sub in subcommands {
        walk(sub, &format!("{path} {}", sub.get_name()), problems);
    }
}
