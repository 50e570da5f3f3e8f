//! The FQDN pieces of a `policyc build` artifact agree with each other: the manifest's node-wide
//! class table is `FqdnClasses::node_wide`, each endpoint's `.rodata` `fqdn_mask` names exactly
//! the classes its egress toFQDNs rules use, and those classes' pseudo-identities have table
//! entries; more than 63 distinct selectors fail the build with a clear message.

use policyc_backends::ImageFile;
use policyc_build::{build_artifact, compile, load_inputs, BuildRequest};
use policyc_compile::dns::FqdnClasses;
use policyc_diagnostics::source::SourceMap;
use policyc_ir::{FqdnPattern, FqdnSelector, NumericIdentity, Peer, PeerSet};
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn request(output: PathBuf) -> BuildRequest {
    BuildRequest {
        inventory: root().join("policy-examples/inventory.yaml"),
        policies: vec![root().join("policy-examples/policies")],
        output,
        options: Default::default(),
        local_node: None,
        allow_unenforced: Vec::new(),
    }
}

#[test]
fn manifest_classes_and_endpoint_masks_agree() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut sources = SourceMap::default();
    let (summary, _) = build_artifact(
        &request(dir.path().to_path_buf()),
        &mut sources,
        &|_| {},
        &|| {},
    )
    .unwrap_or_else(|e| panic!("build failed: {e}"));
    let (_, rules, _) = load_inputs(
        &root().join("policy-examples/inventory.yaml"),
        &[root().join("policy-examples/policies")],
        Default::default(),
        &mut SourceMap::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let classes = FqdnClasses::node_wide(&rules).unwrap_or_else(|e| panic!("{e}"));
    assert!(!classes.is_empty(), "the examples have toFQDNs");

    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("manifest.json"))
            .unwrap_or_else(|e| panic!("{e}")),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let listed: Vec<(u64, String)> = manifest["dns"]["fqdn_classes"]
        .as_array()
        .unwrap_or_else(|| panic!("manifest has no dns.fqdn_classes"))
        .iter()
        .map(|c| {
            (
                c["class"].as_u64().unwrap_or(u64::MAX),
                c["selector"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let expected: Vec<(u64, String)> = classes
        .iter()
        .map(|(s, c)| {
            let kind = match s {
                FqdnSelector::MatchName(_) => "matchName",
                FqdnSelector::MatchPattern(_) => "matchPattern",
            };
            (u64::from(c), format!("{kind}: {}", s.pattern().as_str()))
        })
        .collect();
    assert_eq!(listed, expected);

    for endpoint in &summary.manifest.endpoints {
        let config = ImageFile::read(&dir.path().join(&endpoint.config))
            .unwrap_or_else(|e| panic!("{e}"))
            .config
            .unwrap_or_else(|| panic!("{}: no config", endpoint.name));
        // The examples name toFQDNs only in shop/api's egress rules.
        let want = if endpoint.name == "shop/api" {
            classes.mask(
                rules
                    .iter()
                    .filter_map(|r| match &r.peers {
                        PeerSet::Some(p) => Some(p),
                        PeerSet::All => None,
                    })
                    .flatten()
                    .filter_map(|p| match p {
                        Peer::Fqdn(s) => Some(s),
                        _ => None,
                    }),
            )
        } else {
            0
        };
        assert_eq!(config.fqdn_mask, want, "{}", endpoint.name);
    }
}

#[test]
fn pseudo_identities_of_the_mask_have_table_entries() {
    let mut sources = SourceMap::default();
    let (universe, rules, _) = load_inputs(
        &root().join("policy-examples/inventory.yaml"),
        &[root().join("policy-examples/policies")],
        Default::default(),
        &mut sources,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let compilation = compile(&universe, &rules, &|| {}).unwrap_or_else(|e| panic!("{e}"));
    let api = compilation
        .endpoints
        .iter()
        .find(|e| e.key.to_string() == "shop/api")
        .unwrap_or_else(|| panic!("no shop/api"));
    let mask = api.images.config.fqdn_mask;
    assert_ne!(mask, 0);
    for class in (0..63u8).filter(|c| mask & (1 << c) != 0) {
        let pseudo = NumericIdentity::fqdn_class(class).unwrap_or_else(|| panic!("{class}"));
        let classes = api.optimized.classes(policyc_ir::Direction::Egress);
        assert!(
            classes.class_of.contains_key(&pseudo),
            "class {class} has no identity class"
        );
        let (verdict, _) = policyc_compile::optimize::layout::tables_decide(
            &api.optimized.tables.egress,
            pseudo.0,
            6,
            443,
        );
        assert_eq!(verdict, policyc_backends::layout::Verdict::Allow);
    }
}

#[test]
fn more_than_63_selectors_fail_the_build_clearly() {
    let mut sources = SourceMap::default();
    let (universe, mut rules, _) = load_inputs(
        &root().join("policy-examples/inventory.yaml"),
        &[root().join("policy-examples/policies")],
        Default::default(),
        &mut sources,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let template = rules
        .iter()
        .find(|r| matches!(&r.peers, PeerSet::Some(p) if p.iter().any(|p| matches!(p, Peer::Fqdn(_)))))
        .cloned()
        .unwrap_or_else(|| panic!("no toFQDNs rule in the examples"));
    let mut many = template;
    many.peers = PeerSet::Some(
        (0..64)
            .map(|i| {
                Peer::Fqdn(FqdnSelector::MatchName(
                    FqdnPattern::name(&format!("h{i}.example.com"))
                        .unwrap_or_else(|e| panic!("{e}")),
                ))
            })
            .collect(),
    );
    rules.push(many);
    let err = match compile(&universe, &rules, &|| {}) {
        Ok(_) => panic!("65 selectors compiled"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("toFQDNs selectors"), "{err}");
    assert!(err.contains("63"), "{err}");
}
