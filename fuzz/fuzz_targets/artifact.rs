//! `artifact`: the loader's artifact reader on hostile files. The first byte picks what the
//! rest of the input is:
//! - 0: `manifest.json` of a copy of a real build of `policy-examples/` (its files intact):
//!   `Artifact::open` (versions, every digest), then every endpoint's install images,
//!   decision images and L7 rule ids;
//! - 1: a map image file: `ImageFile::from_bytes` and every decoder `dump` applies to its
//!   records (direction tables, port functions, overflow ranges);
//! - 2: a map image installed in place of one image of one endpoint (second byte) WITH its
//!   digest fixed in the manifest, so the reader gets past verification (an attacker who can
//!   rewrite the whole artifact): open, install images, decoders.
//!
//! Checks: no panic, no hang; a manifest or image that is accepted decodes consistently.
#![no_main]

use libfuzzer_sys::fuzz_target;
use policyc_backends::layout::{Direction, PolicycConfig};
use policyc_backends::{decode_direction_tables, ImageFile, MapImage};
use policyc_fuzz::artifact_dir::{digest, scratch, write_manifest};
use policyc_fuzz::examples::seed_artifact;
use policyc_loader::node::artifact::Artifact;
use std::path::Path;
use std::sync::OnceLock;

const FUZZ_IMAGE: &str = "fuzz-image.bin";

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let scratch = scratch();
    match mode % 3 {
        0 => {
            if std::fs::write(scratch.dir.join("manifest.json"), rest).is_ok() {
                read_artifact(&scratch.dir);
            }
        }
        1 => decode_image(rest),
        _ => {
            let Some((&which, image)) = rest.split_first() else {
                return;
            };
            let mut manifest = scratch.manifest.clone();
            let count = manifest.endpoints.len().max(1);
            let Some(endpoint) = manifest.endpoints.get_mut(usize::from(which) % count) else {
                return;
            };
            let slots = endpoint.maps.len() + 1;
            let slot = usize::from(which) / count % slots;
            match endpoint.maps.values_mut().nth(slot) {
                Some(path) => *path = FUZZ_IMAGE.to_string(),
                None => endpoint.config = FUZZ_IMAGE.to_string(),
            }
            manifest
                .file_digests
                .insert(FUZZ_IMAGE.to_string(), digest(image));
            if std::fs::write(scratch.dir.join(FUZZ_IMAGE), image).is_ok() {
                write_manifest(&scratch.dir, &manifest);
                read_artifact(&scratch.dir);
            }
            decode_image(image);
        }
    }
});

/// Everything the loader reads from an artifact before it loads anything.
fn read_artifact(dir: &Path) {
    let Ok(artifact) = Artifact::open(dir) else {
        return;
    };
    for endpoint in &artifact.manifest.endpoints {
        let _ = artifact.decision_images(&endpoint.name);
        if let Ok(install) = artifact.endpoint_install(&endpoint.name) {
            let _ = install.l7_rule_ids();
            decode_tables(&install.images.config, &install.images.maps);
        }
    }
}

fn decode_image(bytes: &[u8]) {
    let Ok(file) = ImageFile::from_bytes(bytes) else {
        return;
    };
    // Map files carry no config: decode their records with a real endpoint's.
    match &file.config {
        Some(config) => decode_tables(config, &file.maps),
        None => {
            if let Some(config) = seed_config() {
                decode_tables(config, &file.maps);
            }
        }
    }
    // What was accepted must encode back to the bytes it came from.
    if let Ok(again) = file.to_bytes() {
        let reread = ImageFile::from_bytes(&again)
            .unwrap_or_else(|e| panic!("an image the reader accepted does not round-trip: {e}"));
        assert_eq!(
            reread.maps.len(),
            file.maps.len(),
            "round-trip keeps the maps"
        );
    }
}

/// The config of the seed artifact's first endpoint.
fn seed_config() -> Option<&'static PolicycConfig> {
    static CONFIG: OnceLock<Option<PolicycConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let artifact = Artifact::open(seed_artifact()).ok()?;
            let first = artifact.manifest.endpoints.first()?;
            let install = artifact.endpoint_install(&first.name).ok()?;
            Some(install.images.config)
        })
        .as_ref()
}

fn decode_tables(config: &PolicycConfig, maps: &[MapImage]) {
    use policyc_backends::layout::map_names;
    let records = |name: &str| {
        maps.iter()
            .find(|m| m.name == name)
            .map(|m| m.entries.clone())
            .unwrap_or_default()
    };
    for direction in [Direction::Ingress, Direction::Egress] {
        let _ = decode_direction_tables(
            config,
            direction,
            &records(map_names::CLASS),
            &records(map_names::PORTFN),
            &records(map_names::INTERVALS),
        );
    }
}
