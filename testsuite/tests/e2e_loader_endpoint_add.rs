//! `policy-loader endpoint add|remove` against a private bpffs (root; cgroup_skb attachments):
//! admitted endpoints leave every installed endpoint's live maps deciding exactly as a full
//! rebuild with the endpoints in the inventory would (the same port function for every identity,
//! direction and protocol, whether class- or identity-keyed; the same ipcache), and packets from
//! an admitted endpoint run through the live programs (BPF_PROG_TEST_RUN on each endpoint's
//! pinned dispatcher, which tail-calls its active generation) get the oracle's verdicts; a label
//! set that needs a new class is refused and nothing changes; removal restores the original
//! build's maps.

use policyc_testsuite::loader::run_flat;
use policyc_testsuite::{loader_binary, workspace};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use policyc_backends::layout::map_names;
use policyc_backends::layout::{
    ClassKey, Direction, PolicycConfig, PortfnKey, PortfnKind, Verdict,
};
use policyc_backends::{decode_direction_tables, PortFunction};
use policyc_loader::node::admit::{live_map_entries, MapRecord};
use policyc_loader::node::artifact::Artifact;
use policyc_loader::node::pins::NodePaths;

const ENDPOINTS: [&str; 8] = [
    "kube-system/coredns",
    "monitoring/prometheus",
    "payments/ledger",
    "payments/payments-api",
    "shop/api",
    "shop/db",
    "shop/frontend",
    "shop/worker",
];

/// A second `shop` `app=api` replica and a pod with a label set no rule tells apart from
/// existing ones (matched by the same rules as other `shop` pods without an `app` rule).
const NEW_ENDPOINTS_YAML: &str = "
  - name: api-2
    namespace: shop
    labels: {app: api, tier: backend}
    serviceAccount: api
    ips: [198.18.1.21, \"fd00::1:21\"]
  - name: cache
    namespace: shop
    labels: {app: cache, tier: cache}
    ips: [198.18.1.50]
";

/// An extra `shop` policy for the refusal test: `shop/api` also admits `tier=backend` pods on
/// 7000/TCP, so a `frontend` pod labelled `tier=backend` is matched by two of its ingress rules
/// at once — a treatment (union of both port sets) no identity of the build has.
const TIER_POLICY_YAML: &str = "apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: api-from-backends
  namespace: shop
spec:
  endpointSelector:
    matchLabels: {app: api}
  ingress:
    - fromEndpoints:
        - matchLabels: {tier: backend}
      toPorts:
        - ports: [{port: \"7000\", protocol: TCP}]
";

/// Builds the artifact; `specialize`: with `--specialize`, objects cached in that directory.
fn build(
    inventory: &Path,
    examples: &Path,
    extra_policies: &[PathBuf],
    out: &Path,
    specialize: Option<&Path>,
) {
    let mut policies = vec![examples.to_path_buf()];
    policies.extend(extra_policies.iter().cloned());
    policyc_testsuite::build_artifact(inventory, policies, out, specialize);
}

/// Where `--specialize` builds of this node cache their objects.
fn object_cache(node: &Node) -> PathBuf {
    node.work.path().join("object-cache")
}

/// Unloads, removes the test cgroups and unmounts the private bpffs.
struct Node {
    work: tempfile::TempDir,
    bpffs: PathBuf,
    cgroups: Vec<PathBuf>,
}

impl Drop for Node {
    fn drop(&mut self) {
        // Best effort, also while unwinding from a failed assertion: a failure here has nobody to
        // report to, and a panic in drop would abort the test run.
        let _ = self.loader(&["unload"]);
        let _ = Command::new("umount").arg("-l").arg(&self.bpffs).status();
        for cgroup in &self.cgroups {
            let _ = std::fs::remove_dir(cgroup);
        }
    }
}

impl Node {
    fn paths(&self) -> NodePaths {
        NodePaths::new(&self.bpffs, &self.work.path().join("state"))
    }

    /// Runs the loader: (success, stdout + stderr with miette's frames flattened).
    fn loader(&self, args: &[&str]) -> (bool, String) {
        run_flat(&self.bpffs, &self.work.path().join("state"), args)
    }

    fn ok(&self, args: &[&str]) -> String {
        let (ok, text) = self.loader(args);
        assert!(ok, "policy-loader {args:?}: {text}");
        text
    }
}

/// Builds the loader and the examples (`specialize`: with `--specialize`), mounts a private
/// bpffs and installs every example endpoint on its own cgroup.
fn installed_examples(
    tag: &str,
    extra_policies: &[(&str, &str)],
    specialize: bool,
) -> (Node, PathBuf) {
    loader_binary();
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let artifact = work.path().join("artifact");
    let mut extra = Vec::new();
    for (name, yaml) in extra_policies {
        let path = work.path().join(name);
        std::fs::write(&path, yaml).unwrap_or_else(|e| panic!("{e}"));
        extra.push(path);
    }
    let examples = policyc_testsuite::l4_example_policies(&work.path().join("policies"));
    let cache = work.path().join("object-cache");
    build(
        &workspace().join("policy-examples/inventory.yaml"),
        &examples,
        &extra,
        &artifact,
        specialize.then_some(cache.as_path()),
    );
    let bpffs = work.path().join("bpffs");
    std::fs::create_dir_all(&bpffs).unwrap_or_else(|e| panic!("{e}"));
    let root = ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.join("cgroup.procs").exists() && !p.join("tasks").exists())
        .unwrap_or_else(|| panic!("no cgroup v2 hierarchy (needed for cgroup_skb)"));
    let mounted = Command::new("mount")
        .args(["-t", "bpf", "bpf"])
        .arg(&bpffs)
        .status()
        .is_ok_and(|s| s.success());
    let mut node = Node {
        work,
        bpffs,
        cgroups: Vec::new(),
    };
    assert!(mounted, "mounting a private bpffs (run as root)");
    let mut args: Vec<String> = vec![
        "apply".into(),
        artifact.to_string_lossy().into_owned(),
        "--l7-fallback=allow-l4".into(),
    ];
    for endpoint in ENDPOINTS {
        let cgroup = root.join(format!(
            "policyc-admit-{tag}-{}-{}",
            std::process::id(),
            NodePaths::endpoint_key(endpoint)
        ));
        std::fs::create_dir(&cgroup).unwrap_or_else(|e| panic!("mkdir {}: {e}", cgroup.display()));
        node.cgroups.push(cgroup.clone());
        args.push("--cgroup".into());
        args.push(format!("{endpoint}={}", cgroup.display()));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    node.ok(&args);
    (node, artifact)
}

/// The raw policy-map and ipcache records of one endpoint (sorted by key).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Installed {
    class: Vec<MapRecord>,
    portfn: Vec<MapRecord>,
    intervals: Vec<MapRecord>,
    ipcache: Vec<MapRecord>,
}

/// Per (direction, peer identity, protocol): the port function the datapath applies, as
/// (lo, hi, verdict, rule id) intervals — whatever the layout (class- or identity-keyed, unknown
/// class) that put it there.
type Behaviours = BTreeMap<(u8, u32, u8), Vec<(u16, u16, u8, u32)>>;

/// Every identity the records mention (class entries, identity-keyed functions, ipcache).
fn identities(installed: &Installed) -> BTreeSet<u32> {
    let mut out = BTreeSet::new();
    for (k, _) in &installed.class {
        out.extend(ClassKey::decode(k).map(|key| key.identity));
    }
    for (k, _) in &installed.portfn {
        if let Some(key) = PortfnKey::decode(k) {
            if key.kind == PortfnKind::Identity.code() {
                out.insert(key.id);
            }
        }
    }
    for (_, v) in &installed.ipcache {
        out.extend(
            v.get(..4)
                .and_then(|b| b.try_into().ok())
                .map(u32::from_ne_bytes),
        );
    }
    out
}

fn behaviours(installed: &Installed, config: &PolicycConfig, ids: &BTreeSet<u32>) -> Behaviours {
    let mut out = Behaviours::new();
    for direction in Direction::ALL {
        let tables = decode_direction_tables(
            config,
            *direction,
            &installed.class,
            &installed.portfn,
            &installed.intervals,
        )
        .unwrap_or_else(|| panic!("undecodable policy maps"));
        for id in ids {
            for protocol in [0u8, 1, 6, 17, 47, 58, 132] {
                let function = if tables.enforced {
                    tables
                        .function_for(*id, protocol)
                        .cloned()
                        .unwrap_or_else(|| PortFunction::constant(tables.default_verdict, 0))
                } else {
                    PortFunction::constant(Verdict::Allow, 0)
                };
                let intervals = function
                    .intervals()
                    .iter()
                    .map(|iv| (iv.lo, iv.hi, iv.verdict.code(), iv.rule_id))
                    .collect();
                out.insert((direction.code(), *id, protocol), intervals);
            }
        }
    }
    out
}

/// Whether two installations give every identity either mentions the same port functions and
/// hold the same ipcache.
fn assert_same_verdicts(
    endpoint: &str,
    (live, live_config): (&Installed, &PolicycConfig),
    (built, built_config): (&Installed, &PolicycConfig),
) {
    let mut ids = identities(live);
    ids.extend(identities(built));
    assert_eq!(
        behaviours(live, live_config, &ids),
        behaviours(built, built_config, &ids),
        "{endpoint}: identity → port functions"
    );
    assert_eq!(live.ipcache, built.ipcache, "{endpoint}: ipcache");
}

/// What the live maps of `endpoint` hold.
fn live(node: &Node, endpoint: &str) -> Installed {
    let paths = node.paths();
    let read =
        |map| live_map_entries(&paths, endpoint, map).unwrap_or_else(|e| panic!("{endpoint}: {e}"));
    Installed {
        class: read(map_names::CLASS),
        portfn: read(map_names::PORTFN),
        intervals: read(map_names::INTERVALS),
        ipcache: read(map_names::IPCACHE),
    }
}

/// What an artifact's images of `endpoint` would install, and its configuration.
fn images(artifact: &Artifact, endpoint: &str) -> (Installed, PolicycConfig) {
    let install = artifact
        .endpoint_install(endpoint)
        .unwrap_or_else(|e| panic!("{endpoint}: {e}"));
    let entries = |name: &str| {
        let mut records = install
            .images
            .map(name)
            .map(|m| m.entries.clone())
            .unwrap_or_default();
        records.sort();
        records
    };
    let mut ipcache = install.ipcache.entries.clone();
    ipcache.sort();
    // An array map always holds `max_entries` values (zeroed unless written); the image lists
    // only the written ones (none when every function fits inline).
    let mut intervals = entries(map_names::INTERVALS);
    if let Some(image) = install.images.map(map_names::INTERVALS) {
        for index in u32::try_from(intervals.len()).unwrap_or(u32::MAX)..image.max_entries {
            intervals.push((
                index.to_ne_bytes().to_vec(),
                vec![0; image.value_size as usize],
            ));
        }
        intervals.sort();
    }
    (
        Installed {
            class: entries(map_names::CLASS),
            portfn: entries(map_names::PORTFN),
            intervals,
            ipcache,
        },
        install.images.config,
    )
}

fn every_live_map(node: &Node) -> Vec<Installed> {
    ENDPOINTS.iter().map(|e| live(node, e)).collect()
}

/// Admits `shop/api-2` (a second `app=api` replica: an existing label set) and `shop/cache` (a
/// new label set that falls into an existing class).
fn admit_api_2_and_cache(node: &Node) {
    let added = node.ok(&[
        "endpoint",
        "add",
        "--name",
        "shop/api-2",
        "--labels",
        "app=api,tier=backend",
        "--service-account",
        "api",
        "--ip",
        "198.18.1.21",
        "--ip",
        "fd00::1:21",
    ]);
    assert!(
        added.contains("shop/api-2: admitted as identity"),
        "{added}"
    );
    let added = node.ok(&[
        "endpoint",
        "add",
        "--name",
        "shop/cache",
        "--labels",
        "app=cache,tier=cache",
        "--ip",
        "198.18.1.50",
    ]);
    assert!(
        added.contains("shop/cache: admitted as identity"),
        "{added}"
    );
    let status = node.ok(&["status"]);
    assert!(
        status.contains("admitted shop/api-2") && status.contains("admitted shop/cache"),
        "{status}"
    );
}

/// The examples built again with the two admitted endpoints in the inventory (`specialize`:
/// with `--specialize`, sharing the node's object cache); returns it and that inventory.
fn rebuild_with_admitted(node: &Node, specialize: bool) -> (Artifact, PathBuf) {
    let inventory = std::fs::read_to_string(workspace().join("policy-examples/inventory.yaml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let rebuilt_dir = node.work.path().join("rebuilt");
    let inventory_path = node.work.path().join("inventory.yaml");
    std::fs::write(
        &inventory_path,
        format!("{}{NEW_ENDPOINTS_YAML}", inventory.trim_end()),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    build(
        &inventory_path,
        &node.work.path().join("policies"),
        &[],
        &rebuilt_dir,
        specialize.then(|| object_cache(node)).as_deref(),
    );
    let rebuilt = Artifact::open(&rebuilt_dir).unwrap_or_else(|e| panic!("{e}"));
    (rebuilt, inventory_path)
}

/// Removing both admitted endpoints restores what the original build installed.
fn remove_both_restores_the_build(node: &Node, original: &Artifact) {
    node.ok(&["endpoint", "remove", "--name", "shop/cache"]);
    node.ok(&["endpoint", "remove", "--name", "shop/api-2"]);
    for endpoint in ENDPOINTS {
        assert_eq!(
            live(node, endpoint),
            images(original, endpoint).0,
            "{endpoint} after removal"
        );
    }
    assert!(!node.ok(&["status"]).contains("admitted"));
}

#[test]
fn admitted_endpoints_equal_a_full_rebuild_and_removal_restores_the_build() {
    let (node, artifact) = installed_examples("equal", &[], false);
    admit_api_2_and_cache(&node);
    let (rebuilt, inventory_path) = rebuild_with_admitted(&node, false);
    let original = Artifact::open(&artifact).unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(
        live(&node, "shop/db"),
        images(&original, "shop/db").0,
        "the admissions changed nothing"
    );
    for endpoint in ENDPOINTS {
        // Admissions never change an endpoint's configuration (.rodata): the original's applies.
        let (_, live_config) = images(&original, endpoint);
        let (built, built_config) = images(&rebuilt, endpoint);
        assert_same_verdicts(
            endpoint,
            (&live(&node, endpoint), &live_config),
            (&built, &built_config),
        );
    }

    traffic_from_admitted_endpoints_gets_the_oracle_verdicts(&node, &inventory_path);

    remove_both_restores_the_build(&node, &original);
}

#[test]
fn a_label_set_that_needs_a_new_class_is_refused_and_nothing_changes() {
    let (node, _artifact) = installed_examples(
        "refuse",
        &[("api-from-backends.yaml", TIER_POLICY_YAML)],
        false,
    );
    let before = every_live_map(&node);
    let (ok, text) = node.loader(&[
        "endpoint",
        "add",
        "--name",
        "shop/odd",
        "--labels",
        "app=frontend,tier=backend",
        "--ip",
        "198.18.1.99",
    ]);
    assert!(!ok, "{text}");
    assert!(text.contains("needs a rebuild: shop/api ingress"), "{text}");
    assert_eq!(every_live_map(&node), before);
    // The same pod without the second label is admitted (the refusal is about the treatment).
    node.ok(&[
        "endpoint",
        "add",
        "--name",
        "shop/odd",
        "--labels",
        "app=frontend,tier=web",
        "--ip",
        "198.18.1.99",
    ]);
    assert_ne!(every_live_map(&node), before);
    node.ok(&["endpoint", "remove", "--name", "shop/odd"]);
    assert_eq!(every_live_map(&node), before);
    assert!(!node.ok(&["status"]).contains("admitted"));
}

/// Packets from each admitted endpoint to every installed endpoint, run through the installed
/// endpoint's live ingress program (its pinned maps include the admission), against the oracle's
/// ingress verdict over the rebuilt inventory. Installed with `--l7-fallback=allow-l4`, so an
/// L7-redirected port passes at L4.
fn traffic_from_admitted_endpoints_gets_the_oracle_verdicts(node: &Node, inventory: &Path) {
    use policyc_analysis::explain::Session;
    use policyc_analysis::flowtest::RunOptions;
    use policyc_ir::oracle::{Flow, FlowPeer, Oracle, Transport};
    use policyc_ir::universe::EndpointKey;
    use policyc_kernel::packet::Packet;
    use policyc_kernel::testrun::run_pinned;
    use policyc_loader::node::live::live_state;

    let policies = vec![node.work.path().join("policies")];
    let session = Session::load(inventory, &policies, &RunOptions::default())
        .unwrap_or_else(|_| panic!("loading the rebuilt inventory failed"));
    let oracle = Oracle::new(&session.universe, &session.rules);
    let paths = node.paths();
    let mut sport = 20_000u16;
    let mut checked = 0;
    let mut passed = 0;
    for (new_ns, new_name) in [("shop", "api-2"), ("shop", "cache")] {
        let source_key = EndpointKey::new(new_ns, new_name);
        let source = session
            .universe
            .endpoint(&source_key)
            .unwrap_or_else(|| panic!("{source_key}"));
        let Some(src_ip) = source.ips.iter().find(|ip| ip.is_ipv4()).copied() else {
            panic!("{source_key} has no IPv4 address");
        };
        for endpoint in ENDPOINTS {
            let (ns, name) = endpoint
                .split_once('/')
                .unwrap_or_else(|| panic!("{endpoint}"));
            let key = EndpointKey::new(ns, name);
            let dst = session
                .universe
                .endpoint(&key)
                .unwrap_or_else(|| panic!("{key}"));
            let Some(dst_ip) = dst.ips.iter().find(|ip| ip.is_ipv4()).copied() else {
                continue;
            };
            // The live generation must be complete; packets go through the endpoint's attached
            // dispatcher, which tail-calls that generation's ingress program.
            live_state(&paths, endpoint)
                .generation()
                .unwrap_or_else(|| panic!("{endpoint}: no live generation"));
            let program = paths.dispatcher(endpoint, policyc_backends::layout::Direction::Ingress);
            for (udp, port) in [
                (true, 53),
                (false, 53),
                (false, 80),
                (false, 443),
                (false, 5432),
                (false, 8080),
                (false, 8443),
                (false, 9090),
            ] {
                sport += 1;
                let (packet, transport) = if udp {
                    (
                        Packet::udp(src_ip, dst_ip, sport, port),
                        Transport::Udp { port },
                    )
                } else {
                    (
                        Packet::tcp(src_ip, dst_ip, sport, port),
                        Transport::Tcp { port },
                    )
                };
                let flow = Flow::new(
                    FlowPeer::Endpoint(source_key.clone()),
                    FlowPeer::Endpoint(key.clone()),
                    transport,
                );
                let verdict = oracle.evaluate(&flow).unwrap_or_else(|e| panic!("{e}"));
                let expected = verdict.ingress.decision.is_allow();
                let retval =
                    run_pinned(&program, &packet.frame()).unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(
                    retval == 1,
                    expected,
                    "{source_key} -> {key} {} {port}: kernel {} but the oracle says {:?} ({:?})",
                    if udp { "UDP" } else { "TCP" },
                    if retval == 1 { "passed" } else { "dropped" },
                    verdict.ingress.decision,
                    verdict.ingress.reason,
                );
                checked += 1;
                passed += usize::from(expected);
            }
        }
    }
    // Both verdicts must occur, or the comparison proves little.
    assert!(
        passed > 0 && passed < checked,
        "{passed} of {checked} passed"
    );
}

/// `--specialize` endpoints run generated code that knows each class by number and reads only
/// `pc_class`: an admission writes `pc_class` and ipcache entries only, and that equals a full
/// `--specialize` rebuild, which generates the very same objects (no new code was needed).
#[test]
fn specialized_endpoints_admit_without_new_code_and_equal_a_full_rebuild() {
    let (node, artifact) = installed_examples("special", &[], true);
    let original = Artifact::open(&artifact).unwrap_or_else(|e| panic!("{e}"));
    admit_api_2_and_cache(&node);
    let (rebuilt, inventory_path) = rebuild_with_admitted(&node, true);
    for endpoint in ENDPOINTS {
        let before = original
            .endpoint_install(endpoint)
            .unwrap_or_else(|e| panic!("{endpoint}: {e}"));
        let after = rebuilt
            .endpoint_install(endpoint)
            .unwrap_or_else(|e| panic!("{endpoint}: {e}"));
        assert!(
            before.endpoint.specialized && after.endpoint.specialized,
            "{endpoint} runs generated code"
        );
        assert_eq!(
            before.endpoint.object, after.endpoint.object,
            "{endpoint}: the rebuild generates the same object"
        );
        let live = live(&node, endpoint);
        let (built, _) = images(&rebuilt, endpoint);
        assert_eq!(live.class, built.class, "{endpoint}: pc_class");
        assert_eq!(live.ipcache, built.ipcache, "{endpoint}: ipcache");
        assert!(
            live.portfn.is_empty(),
            "{endpoint}: no port functions in maps"
        );
    }
    assert_ne!(
        live(&node, "shop/db").ipcache,
        images(&original, "shop/db").0.ipcache,
        "the admissions wrote no ipcache entry"
    );
    assert!(
        ENDPOINTS
            .iter()
            .any(|e| live(&node, e).class != images(&original, e).0.class),
        "the admissions wrote no pc_class entry anywhere"
    );

    traffic_from_admitted_endpoints_gets_the_oracle_verdicts(&node, &inventory_path);

    remove_both_restores_the_build(&node, &original);
}

/// Replaces the pinned `map_name` of `endpoint`'s live generation with an empty hash map whose
/// keys are one byte longer than the layout's: every lookup the loader makes in it fails (an
/// error that is not ENOENT), as in any map the loader cannot read.
fn make_unreadable(node: &Node, endpoint: &str, map_name: &str) {
    use libbpf_rs::{MapCore, MapHandle, MapType};
    let paths = node.paths();
    let record =
        policyc_loader::node::live::live_record(&paths, endpoint).unwrap_or_else(|e| panic!("{e}"));
    let path = paths.map(endpoint, record.generation, map_name);
    let live = MapHandle::from_pinned_path(&path).unwrap_or_else(|e| panic!("{e}"));
    let opts = libbpf_sys::bpf_map_create_opts {
        sz: std::mem::size_of::<libbpf_sys::bpf_map_create_opts>() as libbpf_sys::size_t,
        ..Default::default()
    };
    let mut unreadable = MapHandle::create(
        MapType::Hash,
        Some("pc_unreadable"),
        live.key_size() + 1,
        live.value_size(),
        live.max_entries(),
        &opts,
    )
    .unwrap_or_else(|e| panic!("creating a map: {e}"));
    std::fs::remove_file(&path).unwrap_or_else(|e| panic!("{e}"));
    unreadable
        .pin(&path)
        .unwrap_or_else(|e| panic!("pinning {}: {e}", path.display()));
}

/// A map the loader cannot read is an error, never "the key is absent": admission refuses at
/// its conflict check, before writing anything, and removal refuses (it cannot tell whether the
/// entry is the admitted endpoint's), keeping the record for a retry.
#[test]
fn kernel_errors_refuse_admission_and_removal_instead_of_counting_as_absent() {
    let (node, _artifact) = installed_examples("unreadable", &[], false);
    let admit = |name: &str, ip: &str| {
        node.loader(&[
            "endpoint",
            "add",
            "--name",
            name,
            "--labels",
            "app=cache,tier=cache",
            "--ip",
            ip,
        ])
    };
    let (ok, text) = admit("shop/cache", "198.18.1.50");
    assert!(ok, "{text}");
    make_unreadable(&node, "kube-system/coredns", map_names::IPCACHE);

    // Refused at the conflict check (a read), before anything is written.
    let (ok, text) = admit("shop/cache-2", "198.18.1.51");
    assert!(!ok, "{text}");
    assert!(
        text.contains("kube-system/coredns")
            && text.contains(&format!("reading {}", map_names::IPCACHE)),
        "a failed ipcache lookup was taken for an absent entry: {text}"
    );
    assert!(!node.ok(&["status"]).contains("admitted shop/cache-2"));

    let (ok, text) = node.loader(&["endpoint", "remove", "--name", "shop/cache"]);
    assert!(!ok, "a failed ipcache lookup skipped a delete: {text}");
    assert!(
        text.contains("kube-system/coredns") && text.contains(map_names::IPCACHE),
        "{text}"
    );
    assert!(node.ok(&["status"]).contains("admitted shop/cache"));
}
