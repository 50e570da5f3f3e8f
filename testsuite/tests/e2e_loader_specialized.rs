//! End to end (root) with `policyc build --specialize`: `policy-loader apply` installs each
//! endpoint's own generated object from a format-2 artifact onto the host-side veths of private
//! endpoint namespaces, real TCP connects and ICMP echoes get the policy's verdicts, the L7
//! refusal still names the rule (the specialized tables hold no intervals to scan), and
//! `unload` removes everything (also on failure, through Drop guards).

use policyc_testsuite::loader::Loader;
use policyc_testsuite::netns::{run, Probe, ProbeCase, Topology};
use policyc_testsuite::{loader_binary, workspace};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

fn addr(text: &str) -> IpAddr {
    text.parse()
        .unwrap_or_else(|e| panic!("{text} is not an address: {e}"))
}

fn build_specialized(inventory: &Path, out: &Path, cache: &Path) {
    policyc_testsuite::build_artifact(
        inventory,
        vec![workspace().join("policy-examples/policies")],
        out,
        Some(cache),
    );
}

#[test]
fn loader_installs_specialized_objects_and_they_enforce_the_policy() {
    assert!(
        run("id", &["-u"]).is_ok_and(|u| u.trim() == "0"),
        "the end-to-end loader test needs root (network namespaces, bpffs)"
    );
    let loader_bin = loader_binary();
    let mut topology = Topology::create(&[
        ("front", vec![addr("198.18.1.10"), addr("fd00::1:10")]),
        ("api", vec![addr("198.18.1.20"), addr("fd00::1:20")]),
        // Not an installed endpoint: prometheus's address plus a world address.
        ("out", vec![addr("198.18.4.10"), addr("198.19.7.7")]),
    ])
    .unwrap_or_else(|e| panic!("creating the topology: {e}"));
    topology
        .serve("front", &[80, 443, 22], &[])
        .unwrap_or_else(|e| panic!("{e}"));
    topology
        .serve("api", &[8080, 80], &[])
        .unwrap_or_else(|e| panic!("{e}"));

    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let inventory_path = topology.example_inventory(
        &[("frontend", "front"), ("api", "api")],
        &work.path().join("inventory.yaml"),
    );
    let artifact = work.path().join("art");
    build_specialized(
        &inventory_path,
        &artifact,
        &PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("specialize-cache"),
    );
    let manifest =
        std::fs::read_to_string(artifact.join("manifest.json")).unwrap_or_else(|e| panic!("{e}"));
    assert!(manifest.contains("\"specialized\": true"), "{manifest}");
    let art = artifact.to_string_lossy().into_owned();

    let loader = Loader::on_private_bpffs(loader_bin, &topology, work.path());

    let (ok, output) = loader.run_combined(&[
        "apply",
        &art,
        "--endpoint",
        "shop/frontend",
        "--endpoint",
        "shop/api",
        "--l7-fallback=allow-l4",
    ]);
    assert!(ok, "apply of the specialized artifact failed:\n{output}");

    let world = addr("198.19.7.7");
    let prometheus = addr("198.18.4.10");
    let front = addr("198.18.1.10");
    let api = addr("198.18.1.20");
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
    ];
    let wrong = topology.wrong_verdicts(cases);
    assert!(
        wrong.is_empty(),
        "specialized datapath verdicts:\n{}",
        wrong.join("\n")
    );

    // dump: classes from the live pc_class map, port functions (with their rules) from the
    // artifact's decision images, since the decision itself is code.
    let (ok, output) =
        loader.run_combined(&["dump", "--endpoint", "shop/frontend", "--format", "json"]);
    assert!(ok, "{output}");
    let dump: serde_json::Value =
        serde_json::from_str(&output).unwrap_or_else(|e| panic!("{e}: {output}"));
    assert_eq!(dump["functions_from"], "artifact", "{dump:#}");
    let ingress_https_allowed = dump["directions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|d| d["direction"] == "ingress")
        .flat_map(|d| {
            let classes = d["classes"].as_array().cloned().unwrap_or_default();
            let peers = d["identity_keyed"].as_array().cloned().unwrap_or_default();
            classes.into_iter().chain(peers)
        })
        .flat_map(|owner| owner["functions"].as_array().cloned().unwrap_or_default())
        .filter(|f| f["protocol"] == 6)
        .flat_map(|f| f["intervals"].as_array().cloned().unwrap_or_default())
        .any(|iv| {
            iv["lo"].as_u64().is_some_and(|lo| lo <= 443)
                && iv["hi"].as_u64().is_some_and(|hi| hi >= 443)
                && iv["verdict"] == "allow"
                && iv["rule"]
                    .as_str()
                    .is_some_and(|r| r.contains("frontend.yaml"))
        });
    assert!(
        ingress_https_allowed,
        "TCP 443 allowed by frontend.yaml: {dump:#}"
    );
    let (ok, table) = loader.run_combined(&["dump", "--endpoint", "shop/frontend"]);
    assert!(
        ok && table.contains("generated program (--specialize)"),
        "{table}"
    );
    // Without the applied artifact there is nothing to decode the code from: a clear error.
    let moved = work.path().join("artifact-moved");
    std::fs::rename(&artifact, &moved).unwrap_or_else(|e| panic!("{e}"));
    let (ok, output) = loader.run_combined(&["dump", "--endpoint", "shop/frontend"]);
    assert!(!ok, "dump without the artifact must fail: {output}");
    assert!(output.contains(&artifact.display().to_string()), "{output}");
    std::fs::rename(&moved, &artifact).unwrap_or_else(|e| panic!("{e}"));

    let (ok, output) = loader.run_combined(&["unload"]);
    assert!(ok, "{output}");
    assert!(
        topology.probe(Probe::Tcp, "out", world, front, 22),
        "after unload, the storefront is reachable again"
    );
}
