//! `policy-loader` refusals that need no traffic: artifacts whose files do not match the
//! manifest's digests (any file, DNS images and object included, refused before anything is
//! installed), unknown format versions, L7 redirect rules located by file:line, and missing
//! capabilities named in the error.

use policyc_testsuite::loader::{run_flat, Loader};
use policyc_testsuite::netns::Topology;
use policyc_testsuite::{loader_binary, loader_path, workspace};
use std::path::{Path, PathBuf};
use std::process::Command;

use policyc_loader::node::artifact::Artifact;
use policyc_loader::node::NodeError;
use sha2::{Digest, Sha256};
use test_case::test_case;

fn built_examples() -> tempfile::TempDir {
    built_from(&workspace().join("policy-examples/policies"))
}

fn built_from(policies: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    policyc_testsuite::build_artifact(
        &workspace().join("policy-examples/inventory.yaml"),
        vec![policies.to_path_buf()],
        dir.path(),
        None,
    );
    dir
}

fn edit_manifest(dir: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
    let mut value: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    edit(&mut value);
    std::fs::write(&path, value.to_string()).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn an_untouched_artifact_verifies() {
    let dir = built_examples();
    let artifact = Artifact::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    assert!(artifact.digest.starts_with("sha256:"));
    assert_eq!(artifact.manifest.endpoints.len(), 8);
}

/// Flips the last byte of `path`.
fn flip_last_byte(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(path, bytes).unwrap_or_else(|e| panic!("{e}"));
}

fn manifest_json(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("manifest.json")).unwrap_or_else(|e| panic!("{e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"))
}

/// The manifest entry of endpoint `name`.
fn manifest_endpoint(dir: &Path, name: &str) -> serde_json::Value {
    manifest_json(dir)["endpoints"]
        .as_array()
        .and_then(|all| all.iter().find(|e| e["name"] == name).cloned())
        .unwrap_or_else(|| panic!("{name} is not in the manifest"))
}

/// The first (by map name) DNS map image of `shop/api`, the examples' endpoint with
/// `rules.dns`, relative to the artifact (a content-addressed file under `images/`).
fn api_dns_image(dir: &Path) -> String {
    manifest_endpoint(dir, "shop/api")["dns"]["maps"]
        .as_object()
        .and_then(|maps| maps.values().next())
        .and_then(|path| path.as_str())
        .unwrap_or_else(|| panic!("shop/api has no DNS images"))
        .to_owned()
}

/// The `pc_class` image of `shop/frontend`, relative to the artifact.
fn frontend_class_image(dir: &Path) -> String {
    manifest_endpoint(dir, "shop/frontend")["maps"]["pc_class"]
        .as_str()
        .unwrap_or_else(|| panic!("shop/frontend has no pc_class image"))
        .to_owned()
}

/// The manifest's DNS object (relative path).
fn dns_object(dir: &Path) -> String {
    let text = std::fs::read_to_string(dir.join("manifest.json")).unwrap_or_else(|e| panic!("{e}"));
    let manifest: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    manifest["dns"]["object"]
        .as_str()
        .unwrap_or_else(|| panic!("the examples' manifest has no DNS object"))
        .to_owned()
}

#[test_case("tampered image", "modified or corrupt" ; "a changed map image is refused")]
#[test_case("tampered DNS image", "images/" ; "a changed DNS map image is refused")]
#[test_case("DNS image without digest", "manifest has no digest for images/" ; "a DNS map image missing from file_digests is refused")]
#[test_case("deleted DNS object", "cannot be read" ; "a deleted DNS object is refused")]
#[test_case("deleted classifier", "classifier.json cannot be read" ; "a deleted classifier is refused")]
#[test_case("listed file missing", "maps/extra.bin cannot be read" ; "every file_digests entry is read")]
#[test_case("escaping path", "not a plain relative path" ; "a digest entry outside the artifact is refused")]
#[test_case("format version", "artifact format version 99" ; "an unknown format version is refused")]
#[test_case("no digests", "manifest has no digest" ; "a manifest without digests is refused")]
#[test_case("layout version", "map layout version 42" ; "another map layout is refused")]
fn broken_artifacts_are_refused_with_the_reason(breakage: &str, expected: &str) {
    let dir = built_examples();
    match breakage {
        "tampered image" => flip_last_byte(&dir.path().join(frontend_class_image(dir.path()))),
        "tampered DNS image" => flip_last_byte(&dir.path().join(api_dns_image(dir.path()))),
        "DNS image without digest" => {
            let image = api_dns_image(dir.path());
            edit_manifest(dir.path(), |m| {
                m["file_digests"]
                    .as_object_mut()
                    .map(|digests| digests.remove(&image));
            });
        }
        "deleted DNS object" => std::fs::remove_file(dir.path().join(dns_object(dir.path())))
            .unwrap_or_else(|e| panic!("{e}")),
        "deleted classifier" => std::fs::remove_file(dir.path().join("classifier.json"))
            .unwrap_or_else(|e| panic!("{e}")),
        "listed file missing" => edit_manifest(dir.path(), |m| {
            m["file_digests"]["maps/extra.bin"] = "sha256:00".into();
        }),
        "escaping path" => edit_manifest(dir.path(), |m| {
            m["file_digests"]["../manifest.json"] = "sha256:00".into();
        }),
        "format version" => edit_manifest(dir.path(), |m| m["format_version"] = 99.into()),
        "layout version" => edit_manifest(dir.path(), |m| m["layout_version"] = 42.into()),
        "no digests" => edit_manifest(dir.path(), |m| m["file_digests"] = serde_json::json!({})),
        other => panic!("unknown breakage {other}"),
    }
    match Artifact::open(dir.path()) {
        Err(e @ NodeError::Artifact { .. }) => {
            assert!(e.to_string().contains(expected), "{e}")
        }
        other => panic!("expected a refusal containing {expected:?}, got {other:?}"),
    }
}

/// A map image whose digest matches (the manifest was updated with it) but which is not a map
/// image: the error names the file.
#[test]
fn an_unreadable_map_image_is_named() {
    let dir = built_examples();
    let relative = frontend_class_image(dir.path());
    let relative = relative.as_str();
    let garbage = b"not a map image".to_vec();
    std::fs::write(dir.path().join(relative), &garbage).unwrap_or_else(|e| panic!("{e}"));
    let digest = format!("sha256:{}", hex::encode(Sha256::digest(&garbage)));
    edit_manifest(dir.path(), |m| m["file_digests"][relative] = digest.into());
    let artifact = Artifact::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    match artifact.endpoint_install("shop/frontend") {
        Err(e) => assert!(e.to_string().contains(relative), "{e}"),
        Ok(_) => panic!("a garbage map image was read"),
    }
}

/// One endpoint's corrupt DNS image refuses the whole apply before any kernel call: the
/// endpoint named before it is not installed either, and nothing is created on bpffs.
#[test]
fn a_corrupt_dns_image_of_one_endpoint_refuses_the_whole_apply() {
    let binary = loader_binary();
    let addr = |text: &str| -> std::net::IpAddr { text.parse().unwrap_or_else(|e| panic!("{e}")) };
    let topology = Topology::create(&[
        ("front", vec![addr("198.18.1.10")]),
        ("api", vec![addr("198.18.1.20")]),
    ])
    .unwrap_or_else(|e| panic!("creating the topology: {e}"));
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let inventory_path = topology.example_inventory(
        &[("frontend", "front"), ("api", "api")],
        &work.path().join("inventory.yaml"),
    );
    let artifact = work.path().join("artifact");
    policyc_testsuite::build_artifact(
        &inventory_path,
        vec![workspace().join("policy-examples/policies")],
        &artifact,
        None,
    );
    let image = api_dns_image(&artifact);
    flip_last_byte(&artifact.join(&image));

    let loader = Loader::on_private_bpffs(binary, &topology, work.path());
    let art = artifact.to_string_lossy().into_owned();
    let (ok, stdout, stderr) = loader.run(&[
        "apply",
        &art,
        "--endpoint",
        "shop/frontend",
        "--endpoint",
        "shop/api",
        "--l7-fallback=allow-l4",
    ]);
    assert!(
        !ok,
        "a corrupt DNS image must refuse the apply:\n{stdout}{stderr}"
    );
    // The report wraps long lines (`│` margins): compare without the wrapping.
    let unwrapped: String = stderr
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '│')
        .collect();
    assert!(
        unwrapped.contains(&image),
        "the error names the file: {stderr}"
    );
    assert!(
        stderr.contains("no endpoint was installed or changed"),
        "the refusal says what happened: {stderr}"
    );
    assert!(!stdout.contains("installed"), "{stdout}");
    assert!(
        !loader.bpffs.join("policyc").exists(),
        "nothing may be created on bpffs before the artifact is verified"
    );
    assert!(loader.ok(&["status"]).contains("no endpoints installed"));
}

#[test]
fn l7_redirect_rules_are_located_by_file_and_line() {
    let dir = built_examples();
    let artifact = Artifact::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let api = artifact
        .endpoint_install("shop/api")
        .unwrap_or_else(|e| panic!("{e}"));
    let described: Vec<String> = api
        .l7_rule_ids()
        .iter()
        .filter_map(|id| artifact.manifest.rule(*id))
        .map(|r| r.describe())
        .collect();
    assert!(
        described
            .iter()
            .any(|d| d.contains("shop/api") && d.contains("api.yaml:")),
        "{described:?}"
    );
    let worker = artifact
        .endpoint_install("shop/worker")
        .unwrap_or_else(|e| panic!("{e}"));
    let worker_rules: Vec<String> = worker
        .l7_rule_ids()
        .iter()
        .filter_map(|id| artifact.manifest.rule(*id))
        .map(|r| r.name.clone())
        .collect();
    assert!(worker_rules.iter().all(|n| n != "api"), "{worker_rules:?}");
}

#[test]
fn missing_capabilities_are_named() {
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    assert!(
        is_root,
        "this test drops capabilities from root; run it as root"
    );
    loader_binary();
    let output = Command::new("setpriv")
        .args(["--bounding-set=-bpf,-net_admin", "--inh-caps=-all", "--"])
        .arg(loader_path())
        .args(["unload"])
        .output()
        .unwrap_or_else(|e| panic!("setpriv: {e}"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    // miette wraps and frames long messages; compare the words.
    let flat = stderr
        .replace('│', " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(flat.contains("missing: CAP_BPF, CAP_NET_ADMIN"), "{stderr}");
}

/// Removes the test cgroup and unmounts the private bpffs.
struct CgroupAndBpffs {
    cgroup: PathBuf,
    bpffs: PathBuf,
}

impl Drop for CgroupAndBpffs {
    fn drop(&mut self) {
        // Best effort, also while unwinding from a failed assertion: a failure here has nobody to
        // report to, and a panic in drop would abort the test run.
        let _ = Command::new("umount").arg("-l").arg(&self.bpffs).status();
        let _ = std::fs::remove_dir(&self.cgroup);
    }
}

#[test]
fn cgroup_attachments_are_installed_replaced_and_unloaded() {
    loader_binary();
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let artifact = built_from(&policyc_testsuite::l4_example_policies(
        &work.path().join("policies"),
    ));
    let bpffs = work.path().join("bpffs");
    std::fs::create_dir_all(&bpffs).unwrap_or_else(|e| panic!("{e}"));
    let root = ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.join("cgroup.procs").exists() && !p.join("tasks").exists())
        .unwrap_or_else(|| panic!("no cgroup v2 hierarchy (needed for cgroup_skb)"));
    let cgroup = root.join(format!("policyc-loader-test-{}", std::process::id()));
    std::fs::create_dir(&cgroup).unwrap_or_else(|e| panic!("mkdir {}: {e}", cgroup.display()));
    let mounted = Command::new("mount")
        .args(["-t", "bpf", "bpf"])
        .arg(&bpffs)
        .status()
        .is_ok_and(|s| s.success());
    let _guard = CgroupAndBpffs {
        cgroup: cgroup.clone(),
        bpffs: bpffs.clone(),
    };
    assert!(mounted, "mounting a private bpffs");
    let loader = |args: &[&str]| {
        let (ok, text) = run_flat(&bpffs, &work.path().join("state"), args);
        assert!(ok, "policy-loader {args:?}: {text}");
        text
    };
    let attach = format!("shop/worker={}", cgroup.display());
    let art = artifact.path().to_string_lossy().into_owned();
    let apply = [
        "apply",
        art.as_str(),
        "--endpoint",
        "shop/worker",
        "--cgroup",
        attach.as_str(),
        "--l7-fallback=allow-l4",
    ];
    assert!(loader(&apply).contains("installed → generation 1 on cgroup_skb"));
    assert!(loader(&apply).contains("replaced generation 1 atomically → generation 2"));
    let status: serde_json::Value = serde_json::from_str(&loader(&["status", "--format", "json"]))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(status[0]["health"], "ok", "{status:#}");
    assert_eq!(status[0]["generation"], 2, "{status:#}");
    assert!(loader(&["unload"]).contains("shop/worker: unloaded"));
    assert!(!bpffs.join("policyc").exists());
}

/// `policy-loader ARGS` against an empty state directory and a bpffs path with nothing on it:
/// (success, stdout + stderr with miette's frames flattened).
fn on_an_empty_node(args: &[&str]) -> (bool, String) {
    loader_binary();
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    run_flat(&work.path().join("bpffs"), &work.path().join("state"), args)
}

/// `endpoint add --name shop/new EXTRA` on an empty node (`--ip 198.18.1.99` unless `extra`
/// names addresses).
fn add_shop_new(extra: &[&str]) -> (bool, String) {
    let mut args = vec!["endpoint", "add", "--name", "shop/new"];
    args.extend(extra);
    if !extra.contains(&"--ip") {
        args.extend(["--ip", "198.18.1.99"]);
    }
    on_an_empty_node(&args)
}

/// Bad `endpoint add` input is refused before the node is looked at, naming the input and
/// the rule it breaks (Kubernetes label syntax, Cilium's reserved labels, usable addresses).
#[test_case(&["--labels", "=x"], "\"=x\"", "name part must be non-empty" ; "an empty key")]
#[test_case(&["--labels", "a b=c"], "\"a b\"", "must consist of alphanumeric characters" ; "a space in the key")]
#[test_case(&["--labels", "reserved:host="], "\"reserved:host\"", "reserved" ; "a reserved label")]
#[test_case(&["--labels", "app=a,app=b"], "\"app\"", "given twice" ; "a duplicate key")]
#[test_case(&["--labels", "app=a", "--labels", "k8s:app=b"], "\"app\"", "given twice" ; "a duplicate key spelled with its source")]
#[test_case(&["--namespace-labels", "team=a b"], "\"team=a b\"", "consist of alphanumeric characters" ; "a bad namespace label value")]
#[test_case(&["--ip", "0.0.0.0"], "0.0.0.0", "unspecified" ; "the unspecified address")]
#[test_case(&["--ip", "::"], "::", "unspecified" ; "the unspecified IPv6 address")]
#[test_case(&["--ip", "127.0.0.1"], "127.0.0.1", "loopback" ; "a loopback address")]
#[test_case(&["--ip", "224.0.0.1"], "224.0.0.1", "multicast" ; "a multicast address")]
#[test_case(&["--ip", "255.255.255.255"], "255.255.255.255", "broadcast" ; "the broadcast address")]
fn bad_endpoint_add_input_is_refused_naming_the_rule(extra: &[&str], input: &str, rule: &str) {
    let (ok, text) = add_shop_new(extra);
    assert!(!ok, "{text}");
    assert!(text.contains(input) && text.contains(rule), "{text}");
}

#[test]
fn a_value_of_10000_characters_is_refused() {
    let (ok, text) = add_shop_new(&["--labels", &format!("app={}", "x".repeat(10_000))]);
    assert!(!ok, "{text}");
    assert!(
        text.contains("must be no more than 63 characters"),
        "{text}"
    );
    assert!(
        !text.contains(&"x".repeat(100)),
        "the whole value is echoed: {text}"
    );
}

/// Valid input gets past the checks (and is refused only because nothing is installed).
#[test]
fn valid_endpoint_add_input_reaches_the_node() {
    let (ok, text) = add_shop_new(&[
        "--labels",
        "app.kubernetes.io/name=web,k8s:tier=,team=shop_1.a",
        "--ip",
        "198.18.1.99",
        "--ip",
        "fd00::1:99",
    ]);
    assert!(!ok, "{text}");
    assert!(text.contains("no endpoint is installed"), "{text}");
}

/// `events` with nothing installed says so (not libbpf's "You must add at least one ring
/// buffer map") and exits non-zero, with or without `--follow`.
#[test_case(&["events"] ; "once")]
#[test_case(&["events", "--follow", "--timeout", "1"] ; "following")]
fn events_with_nothing_installed_says_so(args: &[&str]) {
    let (ok, text) = on_an_empty_node(args);
    assert!(!ok, "{text}");
    assert!(text.contains("no endpoints installed"), "{text}");
    assert!(!text.contains("ring buffer"), "{text}");
}
