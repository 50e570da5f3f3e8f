//! `policyc completions SHELL` and `policyc manpages DIR` come from the clap definition: every
//! subcommand and flag appears, and nothing is written for an unknown shell.

use test_case::test_case;

use crate::cli_support::run_in;

#[test_case("bash", "_policyc()"; "bash")]
#[test_case("zsh", "#compdef policyc"; "zsh")]
#[test_case("fish", "complete -c policyc"; "fish")]
fn completion_script_knows_every_subcommand_and_flag(shell: &str, marker: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run_in(dir.path(), &["completions", shell]);
    assert!(out.status.success(), "{out:?}");
    let script = String::from_utf8_lossy(&out.stdout);
    assert!(
        script.contains(marker),
        "{shell}: no `{marker}` in\n{script}"
    );
    for word in [
        "lint",
        "test",
        "explain",
        "build",
        "diff",
        "fail-level",
        "inventory",
    ] {
        assert!(script.contains(word), "{shell} script lacks `{word}`");
    }
}

#[test]
fn completions_for_an_unknown_shell_is_a_usage_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run_in(dir.path(), &["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(out.stdout.is_empty());
}

#[test]
fn manpages_are_written_for_the_tool_and_each_command() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run_in(dir.path(), &["manpages", "man"]);
    assert!(out.status.success(), "{out:?}");
    for page in [
        "policyc",
        "policyc-lint",
        "policyc-test",
        "policyc-explain",
        "policyc-build",
        "policyc-diff",
    ] {
        let text = std::fs::read_to_string(dir.path().join("man").join(format!("{page}.1")))
            .unwrap_or_else(|e| panic!("{page}.1: {e}"));
        assert!(
            text.starts_with(".ie") || text.contains(".TH"),
            "{page}.1 is not a man page"
        );
        assert!(
            text.contains(&page.to_ascii_uppercase()) || text.contains(page),
            "{page}.1 does not name itself"
        );
    }
    let lint = std::fs::read_to_string(dir.path().join("man/policyc-lint.1")).expect("lint page");
    assert!(
        lint.contains("fail\\-level"),
        "the lint page lists its flags"
    );
    assert!(
        !dir.path().join("man/policyc-manpages.1").exists(),
        "hidden commands get no page"
    );
}
