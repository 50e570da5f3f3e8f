//! `policy-loader` under concurrent and interrupted use (issue 16, findings 1 and 2), on the
//! host-side veths of a private topology (root): racing applies and unloads never leave an
//! endpoint with a partial policy, and an unload killed at any of its steps leaves a state
//! that `status` reports as unhealthy and the next apply repairs completely; an apply that
//! cannot install every endpoint it names installs none — neither when it can tell up front
//! nor when the kernel refuses a later endpoint — and one killed between two endpoints'
//! flips is reported by `status` and completed by the next command.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;
use std::process::{Child, Stdio};

use policyc_kernel::attach::tcx_chain;
use policyc_testsuite::loader::Loader;
use policyc_testsuite::netns::{run, Topology};
use policyc_testsuite::{l4_example_policies, loader_binary, workspace};

/// The endpoints installed (name, topology short name, example endpoint whose `pc-<name>`
/// interface the topology replaces): two, so
/// that an unload has an endpoint to be killed between.
const ENDPOINTS: [(&str, &str, &str); 2] = [
    ("shop/frontend", "front", "frontend"),
    ("shop/api", "api", "api"),
];

/// The endpoint the racing test installs (each apply verifies and loads its programs in the
/// kernel: one endpoint keeps 50 rounds short).
const RACING: &str = "shop/frontend";

fn addr(text: &str) -> IpAddr {
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// The topology, and two artifacts for its interfaces: A = the examples (with in-kernel DNS
/// rules), B = the examples without DNS rules (so their generations differ).
struct Setup {
    topology: Topology,
    work: tempfile::TempDir,
    artifacts: [String; 2],
}

fn setup() -> Setup {
    assert!(
        run("id", &["-u"]).is_ok_and(|u| u.trim() == "0"),
        "the loader concurrency tests need root (network namespaces, bpffs)"
    );
    let topology = Topology::create(&[
        ("front", vec![addr("198.18.1.10"), addr("fd00::1:10")]),
        ("api", vec![addr("198.18.1.20"), addr("fd00::1:20")]),
    ])
    .unwrap_or_else(|e| panic!("creating the topology: {e}"));
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let inventory_path = topology.example_inventory(
        &ENDPOINTS.map(|(_, short, example)| (example, short)),
        &work.path().join("inventory.yaml"),
    );
    let policies = [
        workspace().join("policy-examples/policies"),
        l4_example_policies(&work.path().join("policies-l4")),
    ];
    let artifacts = ["art-a", "art-b"].map(|name| work.path().join(name));
    for (policies, out) in policies.iter().zip(&artifacts) {
        policyc_testsuite::build_artifact(&inventory_path, vec![policies.clone()], out, None);
    }
    Setup {
        topology,
        artifacts: artifacts.map(|a| {
            std::fs::canonicalize(&a)
                .unwrap_or_else(|e| panic!("{e}"))
                .to_string_lossy()
                .into_owned()
        }),
        work,
    }
}

fn apply_args(artifact: &str) -> Vec<&str> {
    let mut args = vec!["apply", artifact, "--l7-fallback=allow-l4"];
    for (name, _, _) in ENDPOINTS {
        args.extend(["--endpoint", name]);
    }
    args
}

fn apply_one<'a>(artifact: &'a str, endpoint: &'a str) -> Vec<&'a str> {
    vec![
        "apply",
        artifact,
        "--l7-fallback=allow-l4",
        "--endpoint",
        endpoint,
    ]
}

fn spawn(loader: &Loader, args: &[&str]) -> Child {
    loader
        .command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("policy-loader {args:?}: {e}"))
}

/// Waits for every command; returns (succeeded, stdout + stderr) per command.
fn finish(children: Vec<Child>) -> Vec<(bool, String)> {
    children
        .into_iter()
        .map(|child| {
            let out = child
                .wait_with_output()
                .unwrap_or_else(|e| panic!("policy-loader: {e}"));
            (
                out.status.success(),
                format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ),
            )
        })
        .collect()
}

/// Programs attached with tcx on the interface: (ingress, egress) counts.
fn tcx_programs(topology: &Topology, short: &str) -> (usize, usize) {
    let interface = &topology.endpoint(short).interface;
    let ifindex = std::fs::read_to_string(format!("/sys/class/net/{interface}/ifindex"))
        .unwrap_or_else(|e| panic!("{interface}: {e}"));
    let ifindex: u32 = ifindex.trim().parse().unwrap_or_else(|e| panic!("{e}"));
    (
        tcx_chain(ifindex, libbpf_sys::BPF_TCX_INGRESS).len(),
        tcx_chain(ifindex, libbpf_sys::BPF_TCX_EGRESS).len(),
    )
}

/// `status -o json` by endpoint name (the command's own exit status is not asserted here:
/// it is non-zero exactly when some endpoint is unhealthy).
fn status(loader: &Loader) -> BTreeMap<String, serde_json::Value> {
    let (_, stdout, stderr) = loader.run(&["status", "-o", "json"]);
    let value: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}{stderr}"));
    value
        .as_array()
        .unwrap_or_else(|| panic!("status is not a list: {value}"))
        .iter()
        .map(|e| (e["endpoint"].as_str().unwrap_or("?").to_owned(), e.clone()))
        .collect()
}

/// Every endpoint runs one complete generation of artifact A or B: health ok, both slots
/// filled, its main and DNS dispatchers (and nothing else) attached in both directions.
fn assert_complete(setup: &Setup, loader: &Loader, context: &str) {
    assert_complete_endpoints(setup, loader, &ENDPOINTS, context);
}

fn assert_complete_endpoints(
    setup: &Setup,
    loader: &Loader,
    endpoints: &[(&str, &str, &str)],
    context: &str,
) {
    let statuses = status(loader);
    for (name, short, _) in endpoints {
        let (name, short) = (*name, *short);
        let Some(endpoint) = statuses.get(name) else {
            panic!("{context}: {name} is not installed: {statuses:#?}");
        };
        assert_eq!(endpoint["health"], "ok", "{context}: {endpoint:#}");
        assert_eq!(
            endpoint["generation"], endpoint["active_generation"],
            "{context}: {endpoint:#}"
        );
        let dir = endpoint["artifact_dir"].as_str().unwrap_or("");
        assert!(
            setup.artifacts.iter().any(|a| a == dir),
            "{context}: {name} runs {dir:?}, neither artifact"
        );
        assert_eq!(
            tcx_programs(&setup.topology, short),
            (2, 2),
            "{context}: {name} must have exactly its main and DNS dispatchers attached"
        );
    }
}

/// Every endpoint is either complete (as [`assert_complete`]) or entirely gone: no pins, no
/// status entry and nothing attached to its interface.
fn assert_complete_or_absent(
    setup: &Setup,
    loader: &Loader,
    endpoints: &[(&str, &str, &str)],
    context: &str,
) {
    let statuses = status(loader);
    for (name, short, _) in endpoints {
        let (name, short) = (*name, *short);
        match statuses.get(name) {
            Some(endpoint) => {
                assert_eq!(endpoint["health"], "ok", "{context}: {endpoint:#}");
                assert_eq!(
                    tcx_programs(&setup.topology, short),
                    (2, 2),
                    "{context}: {name}"
                );
            }
            None => assert_eq!(
                tcx_programs(&setup.topology, short),
                (0, 0),
                "{context}: {name} is not installed, yet programs are attached to its interface"
            ),
        }
    }
}

#[test]
fn racing_applies_and_unloads_never_leave_a_partial_policy() {
    let setup = setup();
    let loader = Loader::on_private_bpffs(loader_binary(), &setup.topology, setup.work.path());
    let [a, b] = &setup.artifacts;
    let racing: Vec<_> = ENDPOINTS.into_iter().filter(|e| e.0 == RACING).collect();
    loader.ok(&apply_one(a, RACING));
    for round in 0..50 {
        // Two applies and an unload at once: whichever order the lock gives them, every
        // command succeeds (the losers wait), and the endpoint ends complete or unloaded.
        let outcomes = finish(vec![
            spawn(&loader, &apply_one(a, RACING)),
            spawn(&loader, &apply_one(b, RACING)),
            spawn(&loader, &["unload"]),
        ]);
        for (ok, output) in &outcomes {
            assert!(ok, "round {round}: a racing command failed:\n{output}");
        }
        let context = format!("round {round}, two applies and an unload");
        assert_complete_or_absent(&setup, &loader, &racing, &context);
        // Two applies at once: both succeed, one after the other, and the endpoint runs a
        // complete generation of one of them.
        let outcomes = finish(vec![
            spawn(&loader, &apply_one(a, RACING)),
            spawn(&loader, &apply_one(b, RACING)),
        ]);
        for (ok, output) in &outcomes {
            assert!(ok, "round {round}: a racing apply failed:\n{output}");
        }
        let context = format!("round {round}, two applies");
        assert_complete_endpoints(&setup, &loader, &racing, &context);
    }
}

#[test]
fn a_loader_that_cannot_get_the_lock_in_time_changes_nothing() {
    let setup = setup();
    let loader = Loader::on_private_bpffs(loader_binary(), &setup.topology, setup.work.path());
    let [a, b] = &setup.artifacts;
    loader.ok(&apply_args(a));
    // Hold the lock as another loader would: flock on the state directory's lock file.
    let lock = std::fs::File::open(Path::new(&loader.state).join("lock"))
        .unwrap_or_else(|e| panic!("{e}"));
    lock.lock().unwrap_or_else(|e| panic!("flock: {e}"));
    let mut args = apply_args(b);
    args.extend(["--lock-timeout", "0.5"]);
    let (ok, stdout, stderr) = loader.run(&args);
    drop(lock);
    assert!(
        !ok,
        "an apply that cannot take the lock must fail:\n{stdout}{stderr}"
    );
    assert!(
        stderr.contains("holds the node lock") && stderr.contains("nothing was changed"),
        "{stderr}"
    );
    assert!(
        stderr.contains("waiting for"),
        "the loser says whom it waits for: {stderr}"
    );
    assert_complete(&setup, &loader, "after a refused apply");
    for endpoint in status(&loader).values() {
        assert_eq!(endpoint["artifact_dir"], a.as_str(), "{endpoint:#}");
    }
}

#[test]
fn an_unload_killed_at_any_step_is_reported_then_repaired_by_apply_or_unload() {
    use policyc_loader::node::hook::steps;
    let setup = setup();
    let loader = Loader::on_private_bpffs(loader_binary(), &setup.topology, setup.work.path());
    let [a, b] = &setup.artifacts;
    for (round, step) in steps::UNLOAD.iter().enumerate() {
        loader.ok(&apply_args(if round % 2 == 0 { a } else { b }));
        assert_complete(
            &setup,
            &loader,
            &format!("before the unload killed at {step}"),
        );
        // The unload works through the endpoints in name order: shop/api first.
        loader.kill_apply_at(step, &["unload"]);
        let (healthy, stdout, _) = loader.run(&["status", "-o", "json"]);
        let statuses = status(&loader);
        if *step == steps::UNLOAD_UNPINNED {
            // The pins are gone: no policy, and status says so (only the records were left).
            assert!(!statuses.contains_key("shop/api"), "{step}: {statuses:#?}");
            assert_eq!(tcx_programs(&setup.topology, "api"), (0, 0), "{step}");
        } else {
            assert!(
                !healthy,
                "{step}: status must not report a half-unloaded endpoint healthy:\n{stdout}"
            );
            let api = &statuses["shop/api"];
            assert_ne!(api["health"], "ok", "{step}: {api:#}");
        }
        // The next apply starts the endpoint over and installs the new policy completely,
        // and says so (exit 0).
        let next = if round % 2 == 0 { b } else { a };
        let (ok, stdout, stderr) = loader.run(&apply_args(next));
        assert!(
            ok,
            "{step}: the apply after a killed unload failed:\n{stdout}{stderr}"
        );
        assert_complete(
            &setup,
            &loader,
            &format!("apply after the unload killed at {step}"),
        );
        for endpoint in status(&loader).values() {
            assert_eq!(
                endpoint["artifact_dir"],
                next.as_str(),
                "{step}: {endpoint:#}"
            );
        }
        let (ok, dns, _) = loader.run(&["dns", "status"]);
        assert!(ok && !dns.contains("NOT after"), "{step}: {dns}");
        // Killed again, a second unload finishes the job: nothing attached, nothing pinned,
        // no records left.
        loader.kill_apply_at(step, &["unload"]);
        loader.ok(&["unload"]);
        assert!(loader.ok(&["status"]).contains("no endpoints installed"));
        for (_, short, _) in ENDPOINTS {
            assert_eq!(
                tcx_programs(&setup.topology, short),
                (0, 0),
                "{step}: {short}"
            );
        }
        let records: Vec<String> = std::fs::read_dir(&loader.state)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|name| name.contains('_'))
                    .collect()
            })
            .unwrap_or_default();
        assert!(
            records.is_empty(),
            "{step}: records left after unload: {records:?}"
        );
    }
}

#[test]
fn a_dns_stage_that_no_longer_runs_after_the_main_datapath_is_unhealthy_until_apply() {
    use policyc_backends::layout::Direction;
    use policyc_kernel::attach::LinkTarget;
    use policyc_loader::node::dispatch::attach_dispatcher;
    use policyc_loader::node::pins::{detach_pinned_link, NodePaths};
    let setup = setup();
    let loader = Loader::on_private_bpffs(loader_binary(), &setup.topology, setup.work.path());
    let [a, _] = &setup.artifacts;
    loader.ok(&apply_one(a, RACING));
    // Re-attach the main egress dispatcher as a second tool might: it now runs after the DNS
    // stage on the interface's tcx ingress chain.
    let paths = NodePaths::new(&loader.bpffs, &loader.state);
    let ifindex: u32 = std::fs::read_to_string(format!(
        "/sys/class/net/{}/ifindex",
        setup.topology.endpoint("front").interface
    ))
    .unwrap_or_else(|e| panic!("{e}"))
    .trim()
    .parse()
    .unwrap_or_else(|e| panic!("{e}"));
    detach_pinned_link(&paths.link(RACING, Direction::Egress)).unwrap_or_else(|e| panic!("{e}"));
    attach_dispatcher(
        &paths,
        RACING,
        Direction::Egress,
        LinkTarget::Tcx { ifindex },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (_, dns, _) = loader.run(&["dns", "status"]);
    assert!(dns.contains("NOT after the main datapath"), "{dns}");
    let (healthy, stdout, _) = loader.run(&["status", "-o", "json"]);
    assert!(
        !healthy,
        "status exits non-zero for an unhealthy endpoint:\n{stdout}"
    );
    let health = status(&loader)[RACING]["health"].clone();
    assert!(
        health
            .as_str()
            .is_some_and(|h| h.starts_with("OUT OF ORDER")),
        "{health}"
    );
    // The next apply puts the DNS stage back after the main dispatcher.
    loader.ok(&apply_one(a, RACING));
    let racing: Vec<_> = ENDPOINTS.into_iter().filter(|e| e.0 == RACING).collect();
    assert_complete_endpoints(&setup, &loader, &racing, "apply after the reorder");
    let (ok, dns, _) = loader.run(&["dns", "status"]);
    assert!(ok && !dns.contains("NOT after"), "{dns}");
}

#[test]
fn an_apply_that_cannot_install_every_named_endpoint_installs_none() {
    let setup = setup();
    let loader = Loader::on_private_bpffs(loader_binary(), &setup.topology, setup.work.path());
    let [a, _] = &setup.artifacts;
    // shop/worker's interface (pc-worker) does not exist in this network namespace.
    let (ok, stdout, stderr) = loader.run(&[
        "apply",
        a,
        "--l7-fallback=allow-l4",
        "--endpoint",
        RACING,
        "--endpoint",
        "shop/worker",
    ]);
    assert!(!ok, "{stdout}{stderr}");
    assert!(
        stderr.contains("refusing the apply")
            && stderr.contains("shop/worker")
            && stderr.contains("no endpoint was installed or changed"),
        "{stderr}"
    );
    assert!(
        status(&loader).is_empty(),
        "{RACING} was installed although the apply was refused"
    );
    assert_eq!(tcx_programs(&setup.topology, "front"), (0, 0));
}

/// `status -o json` says which artifact each endpoint runs.
fn artifact_of(statuses: &BTreeMap<String, serde_json::Value>, name: &str) -> String {
    statuses
        .get(name)
        .and_then(|e| e["artifact_dir"].as_str())
        .unwrap_or_else(|| panic!("{name} is not installed: {statuses:#?}"))
        .to_owned()
}

#[test]
fn an_apply_that_fails_on_a_later_endpoint_switches_none_of_them() {
    let setup = setup();
    let loader = Loader::on_private_bpffs(loader_binary(), &setup.topology, setup.work.path());
    let [a, b] = &setup.artifacts;
    loader.ok(&apply_args(a));
    let apply_failing_at = |hook: &str| {
        let out = loader
            .command(&apply_args(b))
            .env("POLICYC_LOADER_FAIL_AT", hook)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!out.status.success(), "failing at {hook}: {stderr}");
        assert!(
            stderr.contains("shop/api") && stderr.contains("no endpoint was installed or changed"),
            "failing at {hook}: {stderr}"
        );
    };
    // shop/frontend is staged (and, before staging and flipping were separated, switched)
    // before shop/api fails at each step before its flip.
    for step in ["loaded", "pinned", "slots-written"] {
        apply_failing_at(&format!("{step}@shop/api"));
        let context = format!("after an apply that failed at {step} of shop/api");
        assert_complete(&setup, &loader, &context);
        let statuses = status(&loader);
        for (name, _, _) in ENDPOINTS {
            assert_eq!(artifact_of(&statuses, name), *a, "{context}: {name}");
        }
    }
    // A first install that fails on its second endpoint leaves nothing of the first.
    loader.ok(&["unload"]);
    apply_failing_at("pinned@shop/api");
    assert!(status(&loader).is_empty(), "{:#?}", status(&loader));
    for (_, short, _) in ENDPOINTS {
        assert_eq!(tcx_programs(&setup.topology, short), (0, 0), "{short}");
    }
}

#[test]
fn an_apply_killed_between_two_endpoints_flips_is_reported_then_completed() {
    let setup = setup();
    let loader = Loader::on_private_bpffs(loader_binary(), &setup.topology, setup.work.path());
    let [a, b] = &setup.artifacts;
    loader.ok(&apply_args(a));
    // Killed right after shop/frontend's flip, before shop/api's.
    loader.kill_apply_at("switching@shop/frontend", &apply_args(b));
    let (healthy, stdout, _) = loader.run(&["status", "-o", "json"]);
    assert!(
        !healthy,
        "status must fail while endpoints run different artifacts: {stdout}"
    );
    let statuses = status(&loader);
    assert_eq!(artifact_of(&statuses, "shop/frontend"), *b);
    assert_eq!(statuses["shop/frontend"]["health"], "ok");
    assert_eq!(artifact_of(&statuses, "shop/api"), *a);
    let api_health = statuses["shop/api"]["health"].as_str().unwrap_or("");
    assert!(
        api_health.contains("INTERRUPTED APPLY") && api_health.contains("shop/frontend"),
        "{api_health}"
    );
    // The next mutating command completes the switch first: here an apply of one endpoint
    // of artifact A, after which shop/api runs B (completed) and shop/frontend A.
    let (ok, _, stderr) = loader.run(&apply_one(a, RACING));
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("shop/api: switched to generation")
            && stderr.contains("completing an apply"),
        "{stderr}"
    );
    assert_complete(&setup, &loader, "after the switch was completed");
    let statuses = status(&loader);
    assert_eq!(artifact_of(&statuses, "shop/api"), *b);
    assert_eq!(artifact_of(&statuses, "shop/frontend"), *a);
}
