//! The artifact grows with distinct endpoint shapes, not with endpoints: the same cluster with
//! 1 and 4 replicas per deployment (4× the endpoints, the same label sets) gives the same files
//! with the same bytes — every endpoint of a deployment names the same config and map images —
//! and the same classifier tables; only the manifest's and classifier's per-endpoint entries
//! grow. The loader still reads each endpoint's own id and addresses into its config.

use policyc_backends::artifact::{ManifestEndpoint, IMAGES_DIR, IPCACHE_FILE};
use policyc_backends::classifier::Classifier;
use policyc_loader::node::artifact::Artifact;
use policyc_testsuite::gen::scale::{write_scale_inputs, ScaleShape};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

struct Built {
    _work: tempfile::TempDir,
    out: std::path::PathBuf,
}

fn build(shape: ScaleShape) -> Built {
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (inventory, policies) =
        write_scale_inputs(shape, work.path()).unwrap_or_else(|e| panic!("{e}"));
    let out = work.path().join("out");
    policyc_testsuite::build_artifact(&inventory, vec![policies], &out, None);
    Built { _work: work, out }
}

/// Relative path → size of every file but the manifest, classifier and reports (at the top)
/// and the node-wide ipcache (one entry per pod address).
fn image_files(out: &Path) -> BTreeMap<String, u64> {
    let mut files = BTreeMap::new();
    let mut stack = vec![out.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{e}")) {
            let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let relative = path
                .strip_prefix(out)
                .unwrap_or_else(|e| panic!("{e}"))
                .to_string_lossy()
                .into_owned();
            if relative.contains('/') && relative != IPCACHE_FILE {
                let size = std::fs::metadata(&path).map_or(0, |m| m.len());
                files.insert(relative, size);
            }
        }
    }
    files
}

fn classifier(out: &Path) -> Classifier {
    let text =
        std::fs::read_to_string(out.join("classifier.json")).unwrap_or_else(|e| panic!("{e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn replicas_add_no_image_file_and_no_classifier_table() {
    let one = ScaleShape {
        tenants: 2,
        apps: 3,
        replicas: 1,
    };
    let four = ScaleShape { replicas: 4, ..one };
    let (small, large) = (build(one), build(four));
    let (small_files, large_files) = (image_files(&small.out), image_files(&large.out));
    assert_eq!(
        small_files, large_files,
        "4× the endpoints of the same shapes must give the same files with the same sizes"
    );
    // Shapes, not endpoints: at most a config and a handful of map images per shape.
    let images = large_files
        .keys()
        .filter(|f| f.starts_with(&format!("{IMAGES_DIR}/")))
        .count();
    assert!(
        images <= four.distinct_shapes() * 8,
        "{images} images for {} shapes",
        four.distinct_shapes()
    );

    let (small_classifier, large_classifier) = (classifier(&small.out), classifier(&large.out));
    assert_eq!(large_classifier.endpoints.len(), four.endpoints());
    assert_eq!(small_classifier.shapes, large_classifier.shapes);
    assert!(large_classifier.shapes.len() <= four.distinct_shapes());
}

#[test]
fn endpoints_of_one_shape_share_images_but_load_their_own_id_and_addresses() {
    let built = build(ScaleShape {
        tenants: 1,
        apps: 2,
        replicas: 3,
    });
    let artifact = Artifact::open(&built.out).unwrap_or_else(|e| panic!("the loader refused: {e}"));
    let replicas: Vec<&ManifestEndpoint> = artifact
        .manifest
        .endpoints
        .iter()
        .filter(|e| e.name.starts_with("t-0/app-0-"))
        .collect();
    assert_eq!(replicas.len(), 3);
    let shared: BTreeSet<(&String, &BTreeMap<String, String>)> =
        replicas.iter().map(|e| (&e.config, &e.maps)).collect();
    assert_eq!(shared.len(), 1, "replicas name the same config and images");
    let mut seen = BTreeSet::new();
    for endpoint in &replicas {
        let install = artifact
            .endpoint_install(&endpoint.name)
            .unwrap_or_else(|e| panic!("{}: {e}", endpoint.name));
        assert_eq!(install.images.config.endpoint_id, endpoint.endpoint_id);
        let [std::net::IpAddr::V4(address)] = endpoint.addresses.as_slice() else {
            panic!("{}: {:?}", endpoint.name, endpoint.addresses);
        };
        assert_eq!(
            install.images.config.source_addrs[0][..4],
            address.octets(),
            "{}: its own address",
            endpoint.name
        );
        assert_eq!(install.images.config.source_families[1..], [0; 3]);
        assert!(seen.insert(*address), "replicas have their own addresses");
    }
}

/// Sharing one compilation between the endpoints of a shape (identity + named ports) gives
/// every endpoint exactly what compiling it alone gives: on generated sets with replicas added
/// (same labels, other addresses) and pods whose labels repeat with other named ports.
#[test]
fn shared_shapes_compile_to_what_each_endpoint_compiles_to_alone() {
    use policyc_compile::optimize::endpoint::datapath_options;
    use policyc_compile::optimize::optimize_endpoint;
    use policyc_compile::resolve::PolicyIndex;
    let mut shared_somewhere = false;
    for seed in 0..40u64 {
        let mut set = policyc_testsuite::gen::generate(seed);
        let replicas: Vec<_> = set
            .inventory
            .endpoints
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let mut replica = e.clone();
                replica.name = format!("{}-replica", e.name);
                let n = u8::try_from(i + 100).unwrap_or(u8::MAX);
                replica.ips = vec![std::net::Ipv4Addr::new(198, 18, 2, n).into()];
                replica.interface = Some(format!("pc-rep{i}"));
                replica
            })
            .collect();
        set.inventory.endpoints.extend(replicas);
        let universe = set
            .universe()
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        let compiled = policyc_build::compile(&universe, &set.rules, &|| {})
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        let index = PolicyIndex::new(&universe, &set.rules).unwrap_or_else(|e| panic!("{e}"));
        let options = datapath_options(&universe);
        for endpoint in &compiled.endpoints {
            let ep = universe
                .endpoint(&endpoint.key)
                .unwrap_or_else(|| panic!("{}", endpoint.key));
            let resolved = index
                .resolve_endpoint(&endpoint.key)
                .unwrap_or_else(|e| panic!("{e}"));
            let mut optimized = optimize_endpoint(&resolved, endpoint.endpoint_id, options);
            optimized.tables.source_addrs = ep.ips.clone();
            let mut alone = policyc_backends::endpoint_images(&optimized.tables)
                .unwrap_or_else(|e| panic!("{e}"));
            alone.config.fqdn_mask = policyc_compile::resolve::fqdn_mask(&resolved.egress.groups);
            assert_eq!(endpoint.images, alone, "seed {seed}: {}", endpoint.key);
            assert_eq!(endpoint.addresses, ep.ips);
            shared_somewhere |= endpoint.resolved.key != endpoint.key;
        }
    }
    assert!(
        shared_somewhere,
        "no endpoint shared a shape: the test checks nothing"
    );
}
