//! Writes the artifact directory: `objects/<sha256>.bpf.o` (the embedded datapath object and
//! any `--specialize` objects, content-addressed, each written once), `maps/ipcache.bin`,
//! `images/<sha256>.bin` (per endpoint the `.rodata` config of its shape and one image per map,
//! content-addressed: endpoints with the same bytes share one file), `classifier.json`,
//! `manifest.json`, `report.json` and `report.md`. Every byte is a function of the inputs: no
//! timestamps, sorted maps, stable JSON.

use super::classifier::{build_classifier, CLASSIFIER_FILE};
use super::compile::Compilation;
use super::manifest::{build_manifest, ManifestInputs};
use super::report::{build_report, render_markdown, BuildReport};
use super::specialize::SpecializationReport;
use super::writer::{ArtifactError, Writer};
use policyc_backends::artifact::l7::L7_TABLES_FILE;
pub use policyc_backends::artifact::IMAGES_DIR;
use policyc_backends::artifact::{shape_config, Manifest, IPCACHE_FILE, MANIFEST_FILE};
use policyc_backends::{ImageFile, DATAPATH_OBJECT};
use policyc_ir::universe::Universe;
use policyc_ir::PolicyRule;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What was written.
#[derive(Debug, Clone)]
pub struct ArtifactSummary {
    pub manifest: Manifest,
    pub report: BuildReport,
    pub files: Vec<PathBuf>,
}

/// What goes into the artifact besides the compilation.
pub struct ArtifactInputs<'a> {
    pub universe: &'a Universe,
    pub rules: &'a [PolicyRule],
    pub input_digest: String,
    pub inputs: Vec<String>,
    /// Loud warnings (L7 not enforced, toFQDNs fail closed, ...), also listed in the report.
    pub warnings: Vec<String>,
    /// `--allow-unenforced` codes (written to the manifest).
    pub allowed_unenforced: Vec<String>,
    /// What `--specialize` did (None without it).
    pub specialization: Option<SpecializationReport>,
}

/// Content address of the datapath object.
pub fn object_path() -> String {
    format!(
        "objects/{}.bpf.o",
        hex::encode(Sha256::digest(DATAPATH_OBJECT))
    )
}

/// Writes the whole artifact under `out` (replacing `objects/` and `maps/` of an earlier build).
pub fn write_artifact(
    compilation: &Compilation,
    inputs: ArtifactInputs<'_>,
    out: &Path,
) -> Result<ArtifactSummary, ArtifactError> {
    // Everything that can refuse the build comes before the first write: a refused build
    // leaves an earlier artifact in `out` as it was.
    let dns = super::dns_images::build_node_dns(compilation, inputs.rules)?;
    let l7_bytes = match &compilation.l7 {
        Some(tables) => Some(tables.to_bytes().map_err(|source| ArtifactError::L7 {
            path: out.join(L7_TABLES_FILE),
            source,
        })?),
        None => None,
    };
    for owned in ["objects", "maps", IMAGES_DIR, "l7"] {
        let dir = out.join(owned);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|source| ArtifactError::Io {
                path: dir.clone(),
                source,
            })?;
        }
    }
    let mut w = Writer::new(out);
    let object = object_path();
    w.write(&object, DATAPATH_OBJECT)?;
    // Generated objects (`--specialize`), each once however many endpoints share it.
    for endpoint in &compilation.endpoints {
        let path = endpoint.object.artifact_path();
        if !w.digests.contains_key(&path) {
            w.write(&path, endpoint.object.bytes())?;
        }
    }
    w.image(
        IPCACHE_FILE,
        &ImageFile {
            config: None,
            maps: vec![compilation.ipcache_image.clone()],
        },
    )?;

    let mut config_files: BTreeMap<String, String> = BTreeMap::new();
    let mut map_files: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut decision_files: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for endpoint in &compilation.endpoints {
        // The endpoint's id and addresses go into the manifest: the config image is its shape's.
        let config = w.shared_image(&ImageFile {
            config: Some(shape_config(&endpoint.images.config)),
            maps: Vec::new(),
        })?;
        config_files.insert(endpoint.key.to_string(), config);
        let files = w.map_images(&endpoint.images.maps)?;
        map_files.insert(endpoint.key.to_string(), files);
        let decision = w.map_images(&endpoint.decision_maps)?;
        if !decision.is_empty() {
            decision_files.insert(endpoint.key.to_string(), decision);
        }
    }

    let dns = super::dns_images::write_dns(&mut w, &dns)?;
    let l7 = match &l7_bytes {
        Some(bytes) => {
            w.write(L7_TABLES_FILE, bytes)?;
            Some(L7_TABLES_FILE.to_string())
        }
        None => None,
    };

    let classifier = build_classifier(compilation, inputs.universe, inputs.rules);
    w.json(CLASSIFIER_FILE, "classifier", &classifier)?;

    let mut manifest = build_manifest(
        compilation,
        ManifestInputs {
            universe: inputs.universe,
            rules: inputs.rules,
            input_digest: inputs.input_digest.clone(),
            inputs: inputs.inputs,
            object_path: object,
            config_files: &config_files,
            map_files: &map_files,
            decision_files: &decision_files,
            warnings: inputs.warnings.clone(),
            allowed_unenforced: inputs.allowed_unenforced.clone(),
            file_digests: w.digests.clone(),
        },
    );
    dns.annotate(&mut manifest);
    manifest.l7 = l7;
    let mut report = build_report(
        compilation,
        inputs.universe.identities().len(),
        inputs.input_digest,
        inputs.warnings,
    );
    report.specialization = inputs.specialization;
    w.json(MANIFEST_FILE, "manifest", &manifest)?;
    w.json("report.json", "report", &report)?;
    w.write("report.md", render_markdown(&report).as_bytes())?;
    Ok(ArtifactSummary {
        manifest,
        report,
        files: w.files,
    })
}
