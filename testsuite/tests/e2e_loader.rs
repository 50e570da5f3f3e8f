//! End to end on this machine (root): `policyc build` → `policy-loader apply` (run in the root
//! namespace) onto the host-side veths of private endpoint namespaces routed through the root
//! namespace (see `policyc_testsuite::netns`), then real TCP connects, UDP datagrams and ICMP
//! echoes (allowed flows work, denied ones fail, replies pass by conntrack), a drop event naming
//! its rule, 50 atomic replaces under load, and applies killed at every step of the replace
//! protocol (old or new policy in BOTH directions, never a mix). Everything is removed at the
//! end, also on failure (Drop guards).

use policyc_testsuite::loader::Loader;
use policyc_testsuite::{loader_binary, workspace};
use std::net::IpAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use policyc_testsuite::netns::{run, Probe, ProbeCase, Topology};

fn addr(text: &str) -> IpAddr {
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

const INSTALLED: [&str; 3] = ["shop/frontend", "shop/api", "kube-system/coredns"];

fn endpoint_args(extra: &[&'static str], endpoints: &[&'static str]) -> Vec<&'static str> {
    let mut args = extra.to_vec();
    for e in endpoints {
        args.extend(["--endpoint", e]);
    }
    args.push("--l7-fallback=allow-l4");
    args
}

fn build(inventory: &Path, policies: &Path, out: &Path) {
    policyc_testsuite::build_artifact(inventory, vec![policies.to_path_buf()], out, None);
}

/// The storefront probe set, both directions: ingress from the world on 80, 8443 and 443, and
/// egress to the world on 7777. Version A: 80 and 443 in, nothing out; version B: 8443 and 443
/// in, 7777 out.
fn storefront_ports(topology: &Topology) -> (bool, bool, bool, bool) {
    let world = addr("198.19.7.7");
    let front = addr("198.18.1.10");
    (
        topology.probe(Probe::Tcp, "out", world, front, 80),
        topology.probe(Probe::Tcp, "out", world, front, 8443),
        topology.probe(Probe::Tcp, "out", world, front, 443),
        topology.probe(Probe::Tcp, "front", front, world, WORLD_PORT),
    )
}

/// Replaces under load: 50, or `POLICYC_SOAK_SWAPS` (`make soak`), rounded up to an even
/// number so the loop ends on version B.
fn replace_rounds() -> usize {
    let wanted = std::env::var("POLICYC_SOAK_SWAPS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(50)
        .max(2);
    wanted + wanted % 2
}

/// What `storefront_ports` sees under version A and B.
const VERSION_A: (bool, bool, bool, bool) = (true, false, true, false);
const VERSION_B: (bool, bool, bool, bool) = (false, true, true, true);

/// The port the world listens on that only version B lets the storefront reach.
const WORLD_PORT: u16 = 7777;

/// Version B's extra egress rule (appended to the storefront's egress list).
const EGRESS_B: &str = "    - toCIDR:
        - 198.19.7.7/32
      toPorts:
        - ports:
            - port: \"7777\"
              protocol: TCP
";

/// Keeps connecting from the world to 443 (allowed by both versions) and 22 (denied by both)
/// until `stop` exists; prints `both_allowed_ok both_allowed_failed both_denied_ok attempts`.
const SENDER: &str = r#"
import os, socket, sys
src, dst, stop = sys.argv[1], sys.argv[2], sys.argv[3]
counts = [0, 0, 0, 0]
def attempt(port, timeout):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM); s.settimeout(timeout); s.bind((src, 0))
    try:
        s.connect((dst, port)); return True
    except OSError:
        return False
    finally:
        s.close()
while not os.path.exists(stop):
    if attempt(443, 0.8): counts[0] += 1
    else: counts[1] += 1
    if attempt(22, 0.05): counts[2] += 1
    counts[3] += 1
print(*counts, flush=True)
"#;

#[test]
fn loader_enforces_replaces_and_survives_kills_with_real_traffic() {
    assert!(
        run("id", &["-u"]).is_ok_and(|u| u.trim() == "0"),
        "the end-to-end loader test needs root (network namespaces, bpffs)"
    );
    let loader_bin = loader_binary();
    let mut topology = Topology::create(&[
        ("front", vec![addr("198.18.1.10"), addr("fd00::1:10")]),
        ("api", vec![addr("198.18.1.20"), addr("fd00::1:20")]),
        ("dns", vec![addr("198.18.3.10"), addr("fd00::3:10")]),
        // Not an installed endpoint: prometheus's address plus world addresses.
        (
            "out",
            vec![addr("198.18.4.10"), addr("198.19.7.7"), addr("fd00:ff::7")],
        ),
    ])
    .unwrap_or_else(|e| panic!("creating the topology: {e}"));
    topology
        .serve("front", &[80, 443, 22, 8443], &[])
        .unwrap_or_else(|e| panic!("{e}"));
    topology
        .serve("api", &[8080, 9090, 80], &[])
        .unwrap_or_else(|e| panic!("{e}"));
    topology
        .serve("dns", &[], &[53, 5353])
        .unwrap_or_else(|e| panic!("{e}"));
    topology
        .serve("out", &[WORLD_PORT], &[])
        .unwrap_or_else(|e| panic!("{e}"));

    // Artifacts: A = the examples; B = the storefront takes 8443 instead of 80 from the world.
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let inventory_path = topology.example_inventory(
        &[("frontend", "front"), ("api", "api"), ("coredns", "dns")],
        &work.path().join("inventory.yaml"),
    );
    let policies_b = work.path().join("policies-b");
    policyc_testsuite::copy_tree(
        &workspace().join("policy-examples/policies"),
        &policies_b,
        &|text| text.to_owned(),
    );
    let frontend_b = policies_b.join("shop/frontend.yaml");
    let text = std::fs::read_to_string(&frontend_b).unwrap_or_else(|e| panic!("{e}"));
    assert!(text.contains("port: \"80\""));
    assert!(
        text.ends_with("protocol: TCP\n"),
        "the storefront's egress list ends the file"
    );
    let text_b = format!(
        "{}{EGRESS_B}",
        text.replace("port: \"80\"", "port: \"8443\"")
    );
    std::fs::write(&frontend_b, text_b).unwrap_or_else(|e| panic!("{e}"));
    let art_a = work.path().join("art-a");
    let art_b = work.path().join("art-b");
    build(
        &inventory_path,
        &workspace().join("policy-examples/policies"),
        &art_a,
    );
    build(&inventory_path, &policies_b, &art_b);
    let (a, b) = (
        art_a.to_string_lossy().into_owned(),
        art_b.to_string_lossy().into_owned(),
    );

    let loader = Loader::on_private_bpffs(loader_bin, &topology, work.path());

    let world = addr("198.19.7.7");
    let prometheus = addr("198.18.4.10");
    let front = addr("198.18.1.10");
    let api = addr("198.18.1.20");
    let dns = addr("198.18.3.10");
    assert!(
        topology.probe(Probe::Tcp, "out", world, front, 22),
        "before any policy, the root namespace routes (world → storefront:22 connects)"
    );
    // Confinement: the root namespace forwards test traffic only between the test's veths.
    assert_eq!(
        topology.root_route("out", world, front),
        Some(topology.endpoint("front").interface.clone())
    );
    for outside in ["198.51.100.1", "169.254.169.254", "2001:db8::1"] {
        let src = if outside.contains(':') {
            addr("fd00:ff::7")
        } else {
            world
        };
        assert_eq!(
            topology.root_route("out", src, addr(outside)),
            None,
            "{outside} must be unreachable from the test's veths"
        );
    }
    assert!(
        topology.probe(
            Probe::Tcp,
            "front",
            addr("fd00::1:10"),
            addr("fd00:ff::7"),
            WORLD_PORT
        ),
        "before any policy, the root namespace routes IPv6 (storefront → world:7777 connects)"
    );

    // HTTP rules are enforced by the node's L7 filter (e2e_l7); this test runs the L3/L4
    // datapath with `--l7-fallback=allow-l4`, which says loudly that L7 is not enforced.
    let mut apply_a = vec!["apply", a.as_str()];
    apply_a.extend(endpoint_args(&[], &INSTALLED));
    let (ok, _, stderr) = loader.run(&apply_a);
    assert!(ok, "{stderr}");
    assert!(stderr.contains("L7 NOT enforced"), "{stderr}");

    // Verdicts with real traffic.
    let cases: &[ProbeCase] = &[
        (
            "world → storefront https",
            Probe::Tcp,
            "out",
            world,
            front,
            443,
            true,
        ),
        (
            "world (IPv6) → storefront https",
            Probe::Tcp,
            "out",
            addr("fd00:ff::7"),
            addr("fd00::1:10"),
            443,
            true,
        ),
        (
            "world → storefront ssh",
            Probe::Tcp,
            "out",
            world,
            front,
            22,
            false,
        ),
        (
            "storefront → api 8080 (L7 at L4)",
            Probe::Tcp,
            "front",
            front,
            api,
            8080,
            true,
        ),
        (
            "api → storefront http",
            Probe::Tcp,
            "api",
            api,
            front,
            80,
            false,
        ),
        (
            "storefront → dns udp 53",
            Probe::Udp,
            "front",
            front,
            dns,
            53,
            true,
        ),
        (
            "storefront → dns udp 5353",
            Probe::Udp,
            "front",
            front,
            dns,
            5353,
            false,
        ),
        (
            "storefront → dns (IPv6) udp 53",
            Probe::Udp,
            "front",
            addr("fd00::1:10"),
            addr("fd00::3:10"),
            53,
            true,
        ),
        (
            "prometheus pings the storefront",
            Probe::Icmp,
            "out",
            prometheus,
            front,
            0,
            true,
        ),
        (
            "world pings the storefront",
            Probe::Icmp,
            "out",
            world,
            front,
            0,
            false,
        ),
        (
            "prometheus scrapes api metrics",
            Probe::Tcp,
            "out",
            prometheus,
            api,
            9090,
            true,
        ),
        (
            "world → api metrics",
            Probe::Tcp,
            "out",
            world,
            api,
            9090,
            false,
        ),
    ];
    let wrong = topology.wrong_verdicts(cases);
    assert!(wrong.is_empty(), "wrong verdicts:\n{}", wrong.join("\n"));

    // A drop event names the rule: egress to the cloud metadata address is denied explicitly.
    assert!(!topology.probe(Probe::Tcp, "front", front, addr("169.254.169.254"), 80,));
    let events = loader.ok(&["events", "--timeout", "2", "--format", "json"]);
    let named = events.lines().any(|l| {
        l.contains("\"peer\":\"169.254.169.254\"")
            && l.contains("deny-cloud-metadata")
            && l.contains("deny-cloud-metadata.yaml:")
    });
    assert!(
        named,
        "no event naming deny-cloud-metadata with file:line:\n{events}"
    );

    // `events` filters (issue 15), like hubble observe's: another endpoint's ring does not show
    // the frontend's drop; the frontend's denies to port 80 do, and nothing else.
    assert!(!topology.probe(Probe::Tcp, "front", front, addr("169.254.169.254"), 80));
    let events = |filter: &[&str]| {
        let mut args = vec!["events", "--timeout", "2", "--format", "json"];
        args.extend(filter);
        loader
            .ok(&args)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect::<Vec<serde_json::Value>>()
    };
    let other = events(&["--endpoint", "shop/api"]);
    assert!(
        other
            .iter()
            .all(|e| e["endpoint"] == "shop/api" && e["peer"] != "169.254.169.254"),
        "{other:#?}"
    );
    assert!(!topology.probe(Probe::Tcp, "front", front, addr("169.254.169.254"), 80));
    let denied = events(&[
        "--endpoint",
        "shop/frontend",
        "--verdict",
        "deny",
        "--port",
        "80",
    ]);
    assert!(
        denied.iter().any(|e| e["peer"] == "169.254.169.254"),
        "no filtered deny event: {denied:#?}"
    );
    assert!(
        denied
            .iter()
            .all(|e| e["endpoint"] == "shop/frontend" && e["verdict"] == "deny" && e["port"] == 80),
        "{denied:#?}"
    );
    assert!(!topology.probe(Probe::Tcp, "front", front, addr("169.254.169.254"), 80));
    let allowed_only = events(&["--endpoint", "shop/frontend", "--verdict", "allow"]);
    assert!(
        allowed_only.iter().all(|e| e["verdict"] == "allow"),
        "{allowed_only:#?}"
    );

    // Status and dump read the installation back from bpffs.
    let status: serde_json::Value =
        serde_json::from_str(&loader.ok(&["status", "--format", "json"]))
            .unwrap_or_else(|e| panic!("{e}"));
    let statuses = status
        .as_array()
        .unwrap_or_else(|| panic!("status is a list"));
    assert_eq!(statuses.len(), 3);
    assert!(
        statuses
            .iter()
            .all(|s| s["health"] == "ok" && s["generation"] == 1),
        "{status:#}"
    );
    let dump = loader.ok(&["dump", "--endpoint", "shop/frontend", "--format", "json"]);
    assert!(
        dump.contains("frontend.yaml") && dump.contains("\"verdict\": \"allow\""),
        "{dump}"
    );

    // Replace A → B once: the storefront's world ports change, conntrack-independent.
    loader.ok(&[
        "apply",
        b.as_str(),
        "--endpoint",
        "shop/frontend",
        "--l7-fallback=allow-l4",
    ]);
    assert_eq!(
        storefront_ports(&topology),
        VERSION_B,
        "version B: 8443 and 443 in, 7777 out"
    );

    // 50 replaces under load: 443 (both allow) never fails, 22 (both deny) never connects.
    let stop = work.path().join("stop-sender");
    let sender = topology
        .in_endpoint("out", "python3")
        .args(["-c", SENDER, &world.to_string(), &front.to_string()])
        .arg(&stop)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("sender: {e}"));
    let swaps = replace_rounds();
    for i in 0..swaps {
        let artifact = if i % 2 == 0 { a.as_str() } else { b.as_str() };
        loader.ok(&[
            "apply",
            artifact,
            "--endpoint",
            "shop/frontend",
            "--l7-fallback=allow-l4",
        ]);
    }
    std::thread::sleep(Duration::from_millis(300));
    std::fs::write(&stop, b"").unwrap_or_else(|e| panic!("{e}"));
    let out = sender.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    let counts: Vec<u64> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|n| n.parse().ok())
        .collect();
    assert_eq!(counts.len(), 4, "sender output {counts:?}");
    println!(
        "{swaps} replaces under load: {} connects to 443 (both allow) ok, {} failed; {} connects to 22 (both deny) got through; {} rounds",
        counts[0], counts[1], counts[2], counts[3]
    );
    assert!(counts[3] >= 10, "the sender ran too few rounds: {counts:?}");
    assert_eq!(
        counts[1], 0,
        "flows allowed by both versions were dropped during replaces: {counts:?}"
    );
    assert_eq!(
        counts[2], 0,
        "flows denied by both versions were delivered during replaces: {counts:?}"
    );
    assert_eq!(
        storefront_ports(&topology),
        VERSION_B,
        "the replaces end on version B"
    );

    // Killed at every step of the replace protocol: before the flip the old version runs in
    // both directions, from the flip on the new one, never a mix; status reads it back from
    // bpffs (the loader's restart) and says which generation and artifact both slots hold.
    let frontend_args = |artifact: &'static str| {
        vec![
            "apply",
            artifact,
            "--endpoint",
            "shop/frontend",
            "--l7-fallback=allow-l4",
        ]
    };
    let a_static: &'static str = Box::leak(a.clone().into_boxed_str());
    let b_static: &'static str = Box::leak(b.clone().into_boxed_str());
    let mut current = (b_static, VERSION_B);
    for step in ["loaded", "pinned", "slots-written", "flipped", "cleaned"] {
        let next = if current.0 == a_static {
            (b_static, VERSION_B)
        } else {
            (a_static, VERSION_A)
        };
        loader.kill_apply_at(step, &frontend_args(next.0));
        let switched = matches!(step, "flipped" | "cleaned");
        let expected = if switched { next } else { current };
        assert_eq!(
            storefront_ports(&topology),
            expected.1,
            "killed at {step}: both directions must run the {} version",
            if switched { "new" } else { "old" }
        );
        let status: serde_json::Value =
            serde_json::from_str(&loader.ok(&["status", "--format", "json"]))
                .unwrap_or_else(|e| panic!("{e}"));
        let frontend = status
            .as_array()
            .and_then(|s| s.iter().find(|e| e["endpoint"] == "shop/frontend"))
            .unwrap_or_else(|| panic!("no shop/frontend in {status:#}"));
        assert_eq!(frontend["health"], "ok", "killed at {step}: {frontend:#}");
        assert_eq!(
            frontend["generation"], frontend["active_generation"],
            "killed at {step}: {frontend:#}"
        );
        let expected_dir = std::fs::canonicalize(expected.0).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            frontend["artifact_dir"],
            expected_dir.to_string_lossy().as_ref(),
            "killed at {step}: both slots must hold the expected artifact's programs"
        );
        for direction in ["ingress", "egress"] {
            assert!(
                frontend["program_ids"][direction].is_u64(),
                "killed at {step}: {direction} slot empty: {frontend:#}"
            );
        }
        current = expected;
    }
    // A failure before the flip leaves the old policy and exits non-zero, at every such step.
    for step in ["loaded", "pinned", "slots-written"] {
        let next = if current.0 == a_static {
            b_static
        } else {
            a_static
        };
        let failing = loader
            .command(&frontend_args(next))
            .env("POLICYC_LOADER_FAIL_AT", step)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            !failing.status.success(),
            "failing at {step} must exit non-zero"
        );
        assert_eq!(
            storefront_ports(&topology),
            current.1,
            "a failed apply at {step} leaves the old version in place"
        );
    }
    let next = if current.0 == a_static {
        (b_static, VERSION_B)
    } else {
        (a_static, VERSION_A)
    };
    loader.ok(&frontend_args(next.0));
    assert_eq!(
        storefront_ports(&topology),
        next.1,
        "a later apply completes"
    );
    assert!(loader.ok(&["status"]).contains("[ok]"));

    // Unload removes everything, and at once: the first SYN to the ssh port right after
    // `unload` returns connects (the links are detached before the program arrays behind the
    // dispatchers are emptied). Ten rounds of apply + unload.
    for round in 0..10 {
        if round > 0 {
            loader.ok(&frontend_args(a_static));
            assert!(
                !topology.probe(Probe::Tcp, "out", world, front, 22),
                "round {round}: the installed policy denies world → storefront:22"
            );
        }
        loader.ok(&["unload"]);
        assert!(loader.ok(&["status"]).contains("no endpoints installed"));
        assert!(
            topology.probe(Probe::Tcp, "out", world, front, 22),
            "round {round}: the first SYN after unload must connect; tcx on {}: {}",
            topology.endpoint("front").interface,
            tcx_programs(&topology.endpoint("front").interface)
        );
    }
    assert!(!loader.bpffs.join("policyc").exists());
}

/// What `bpftool net show dev` lists for an interface (diagnostics only).
fn tcx_programs(interface: &str) -> String {
    std::process::Command::new("bpftool")
        .args(["net", "show", "dev", interface])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_else(|e| format!("bpftool failed: {e}"))
}
