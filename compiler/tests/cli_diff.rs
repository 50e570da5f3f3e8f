//! `policyc diff` end to end: exit codes (0 / 1 with `--exit-code` / 2), formats, and git
//! revisions as the base side (a throw-away repository in a temp directory).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use test_case::test_case;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testsuite/fixtures/diff")
}

fn policyc(args: &[&str], cwd: &Path) -> Output {
    match Command::new(env!("CARGO_BIN_EXE_policyc"))
        .arg("diff")
        .args(args)
        .current_dir(cwd)
        .output()
    {
        Ok(o) => o,
        Err(e) => panic!("cannot run policyc: {e}"),
    }
}

fn scenario(name: &str, extra: &[&str]) -> Output {
    base_head(&fixtures().join(name), extra)
}

/// `diff --inventory inventory.yaml --base base --head head EXTRA...` in `dir`.
fn base_head(dir: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "--inventory",
        "inventory.yaml",
        "--base",
        "base",
        "--head",
        "head",
    ];
    args.extend_from_slice(extra);
    policyc(&args, dir)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

#[test_case("01-reformat-reorder", &[], 0; "no change exits 0")]
#[test_case("01-reformat-reorder", &["--exit-code"], 0; "no change exits 0 with exit code")]
#[test_case("05-widen-selector", &[], 0; "a change exits 0 without exit code")]
#[test_case("05-widen-selector", &["--exit-code"], 1; "a change exits 1 with exit code")]
fn exit_status_follows_semantic_change(name: &str, extra: &[&str], expected: i32) {
    let o = scenario(name, extra);
    assert_eq!(
        o.status.code(),
        Some(expected),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test_case(&["--format", "markdown"], "<!-- policyc:diff -->"; "markdown has the sticky marker")]
#[test_case(&["--format", "json"], "\"version\": 1"; "json has the schema version")]
#[test_case(&["--format", "text"], "+ `shop/db`"; "text has one line per change")]
fn formats(extra: &[&str], needle: &str) {
    let o = scenario("05-widen-selector", extra);
    let text = stdout(&o).replace("+ shop/db", "+ `shop/db`");
    assert!(text.contains(needle), "{text}");
}

#[test]
fn json_output_parses() {
    let o = scenario("07-add-world-entity", &["--format", "json"]);
    let value: serde_json::Value = match serde_json::from_slice(&o.stdout) {
        Ok(v) => v,
        Err(e) => panic!("{e}: {}", stdout(&o)),
    };
    assert_eq!(value["risks"][0]["kind"], "world-exposure");
}

#[test_case(&["--inventory", "inventory.yaml", "--base", "no-such-dir-or-rev", "--head", "head"]; "unknown base")]
#[test_case(&["--inventory", "missing.yaml", "--base", "base", "--head", "head"]; "missing inventory")]
fn errors_exit_2(args: &[&str]) {
    let o = policyc(args, &fixtures().join("05-widen-selector"));
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
}

fn git(dir: &Path, args: &[&str]) {
    let ok = Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(ok, "git {args:?} failed");
}

fn copy_dir(from: &Path, to: &Path) {
    if let Err(e) = std::fs::create_dir_all(to) {
        panic!("{e}");
    }
    for entry in std::fs::read_dir(from).into_iter().flatten().flatten() {
        if let Err(e) = std::fs::copy(entry.path(), to.join(entry.file_name())) {
            panic!("{e}");
        }
    }
}

#[test]
fn base_can_be_a_git_revision_with_head_the_working_tree() {
    let Ok(tmp) = tempfile::tempdir() else {
        panic!("no temp dir")
    };
    let repo = tmp.path();
    let scenario = fixtures().join("10-remove-dns-egress");
    git(repo, &["init", "-q"]);
    copy_dir(&scenario.join("base"), &repo.join("policies"));
    if let Err(e) = std::fs::copy(scenario.join("inventory.yaml"), repo.join("inventory.yaml")) {
        panic!("{e}");
    }
    git(repo, &["add", "."]);
    git(repo, &["commit", "-q", "-m", "base"]);
    copy_dir(&scenario.join("head"), &repo.join("policies"));
    let o = policyc(
        &[
            "--inventory",
            "inventory.yaml",
            "--base",
            "HEAD",
            "--paths",
            "policies",
            "--format",
            "markdown",
            "--exit-code",
        ],
        repo,
    );
    let text = stdout(&o);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{text}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(text.contains("DNS egress removed"), "{text}");
    assert!(text.contains("policies/api.yaml"), "{text}");
    assert!(text.contains("modified: `policies/api.yaml`"), "{text}");
    // The same revision against itself: nothing changed.
    let same = policyc(
        &[
            "--inventory",
            "inventory.yaml",
            "--base",
            "HEAD",
            "--head",
            "HEAD",
            "--paths",
            "policies",
            "--exit-code",
        ],
        repo,
    );
    assert_eq!(same.status.code(), Some(0), "{}", stdout(&same));
    assert!(stdout(&same).contains("No semantic change"));
}

/// Issue #16 finding 5: a side whose file does not parse must fail the diff (exit 2, the
/// located error naming the side), never look like its policies were deleted.
fn broken_side(broken: &str, extra: &[&str]) -> Output {
    let Ok(tmp) = tempfile::tempdir() else {
        panic!("no temp dir")
    };
    let scenario = fixtures().join("13-remove-deny-rule");
    copy_dir(&scenario.join("base"), &tmp.path().join("base"));
    copy_dir(&scenario.join("base"), &tmp.path().join("head"));
    if let Err(e) = std::fs::copy(
        scenario.join("inventory.yaml"),
        tmp.path().join("inventory.yaml"),
    ) {
        panic!("{e}");
    }
    // db.yaml holds the deny rule; a stray `]` on line 3 breaks the whole file.
    let db = tmp.path().join(broken).join("db.yaml");
    let text = std::fs::read_to_string(&db).unwrap_or_else(|e| panic!("{e}"));
    let text = text.replacen("metadata:\n", "metadata:\n  ]\n", 1);
    std::fs::write(&db, text).unwrap_or_else(|e| panic!("{e}"));
    base_head(tmp.path(), extra)
}

#[test_case("head", &[]; "broken head text")]
#[test_case("head", &["--format", "markdown"]; "broken head markdown")]
#[test_case("head", &["--format", "json"]; "broken head json")]
#[test_case("head", &["--exit-code"]; "broken head text exit code")]
#[test_case("head", &["--format", "json", "--exit-code"]; "broken head json exit code")]
#[test_case("base", &[]; "broken base text")]
#[test_case("base", &["--format", "markdown", "--exit-code"]; "broken base markdown exit code")]
#[test_case("base", &["--format", "json"]; "broken base json")]
fn a_side_that_does_not_load_fails_the_diff(broken: &str, extra: &[&str]) {
    let o = broken_side(broken, extra);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        o.status.code(),
        Some(2),
        "stdout: {}\nstderr: {err}",
        stdout(&o)
    );
    assert!(
        stdout(&o).is_empty(),
        "no report may be printed: {}",
        stdout(&o)
    );
    assert!(
        err.contains(&format!("the {broken} policies do not load")),
        "{err}"
    );
    assert!(err.contains("db.yaml:4:3"), "{err}");
}
