//! `policy-loader apply --dry-run` (issue 15): every check and every object through the
//! verifier, and the node left exactly as it was — no pin, no link, no record — whether nothing
//! or an older policy is installed.

use policyc_testsuite::loader::Loader;
use policyc_testsuite::netns::Topology;
use policyc_testsuite::{loader_binary, workspace};
use std::collections::BTreeMap;
use std::path::Path;

/// Every path under `root` with its size (directories with `/`), for before/after equality.
fn tree(root: &Path) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let rel = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .display()
                .to_string();
            match entry.metadata() {
                Ok(m) if m.is_dir() => {
                    out.insert(format!("{rel}/"), 0);
                    stack.push(path);
                }
                Ok(m) => {
                    out.insert(rel, m.len());
                }
                Err(_) => {}
            }
        }
    }
    out
}

fn addr(text: &str) -> std::net::IpAddr {
    text.parse().unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn dry_run_checks_everything_and_changes_nothing() {
    let binary = loader_binary();
    let topology = Topology::create(&[
        ("front", vec![addr("198.18.1.10")]),
        ("api", vec![addr("198.18.1.20")]),
    ])
    .unwrap_or_else(|e| panic!("creating the topology: {e}"));
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let inventory = topology.example_inventory(
        &[("frontend", "front"), ("api", "api")],
        &work.path().join("inventory.yaml"),
    );
    let artifact = work.path().join("artifact");
    policyc_testsuite::build_artifact(
        &inventory,
        vec![workspace().join("policy-examples/policies")],
        &artifact,
        None,
    );
    let art = artifact.to_string_lossy().into_owned();
    let loader = Loader::on_private_bpffs(binary, &topology, work.path());
    let both = [
        "--endpoint",
        "shop/frontend",
        "--endpoint",
        "shop/api",
        "--l7-fallback=allow-l4",
    ];

    // Nothing installed: the dry run passes and creates nothing.
    let mut args = vec!["apply", &art, "--dry-run"];
    args.extend_from_slice(&both);
    let (ok, stdout, stderr) = loader.run(&args);
    assert!(ok, "{stdout}{stderr}");
    assert!(
        stdout.contains("shop/frontend: would install on")
            && stdout.contains("shop/api: would install on"),
        "{stdout}"
    );
    assert!(
        stderr.contains("nothing was pinned, attached or recorded"),
        "{stderr}"
    );
    assert!(
        !loader.bpffs.join("policyc").exists(),
        "a dry run pins nothing: {:?}",
        tree(&loader.bpffs)
    );
    assert!(tree(&loader.state).is_empty(), "{:?}", tree(&loader.state));
    assert!(loader.ok(&["status"]).contains("no endpoints installed"));

    // An installed policy: a dry run of another apply leaves every pin, record and program id.
    loader.ok(&["apply", &art, "--endpoint", "shop/frontend"]);
    let pins = tree(&loader.bpffs);
    let records = tree(&loader.state);
    let status = loader.json(&["status", "--format", "json"]);
    let (ok, stdout, stderr) = loader.run(&args);
    assert!(ok, "{stdout}{stderr}");
    assert_eq!(tree(&loader.bpffs), pins, "pins changed");
    assert_eq!(tree(&loader.state), records, "records changed");
    assert_eq!(loader.json(&["status", "--format", "json"]), status);

    // A check that fails is reported per endpoint, exit 1, still nothing changed.
    let (ok, stdout, stderr) =
        loader.run(&["apply", &art, "--dry-run", "--endpoint", "shop/worker"]);
    assert!(!ok, "{stdout}{stderr}");
    assert!(
        stderr.contains("shop/worker") && stderr.contains("does not exist"),
        "{stderr}"
    );
    assert_eq!(tree(&loader.bpffs), pins, "pins changed");
}
