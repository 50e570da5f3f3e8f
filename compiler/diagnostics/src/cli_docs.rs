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
