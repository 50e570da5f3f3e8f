//! Writes the artifact directory: `objects/<sha256>.bpf.o` (the embedded datapath object and
//! any `--specialize` objects, content-addressed, each written once), `maps/ipcache.bin`, `maps/<namespace>/<name>/*.bin`
//! (`.rodata` config and one image per map), `classifier.json`, `manifest.json`, `report.json` and `report.md`.
//! Every byte is a function of the inputs: no timestamps, sorted maps, stable JSON.

use super::classifier::{build_classifier, CLASSIFIER_FILE};
use super::compile::Compilation;
use super::manifest::{build_manifest, endpoint_dir, Manifest, ManifestInputs};
use super::report::{build_report, render_markdown, BuildReport};
use super::specialize::SpecializationReport;
use policyc_backends::{BackendError, ImageFile, MapImage, DATAPATH_OBJECT};
use policyc_ir::universe::Universe;
use policyc_ir::PolicyRule;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot encode {path}: {source}")]
    Image { path: PathBuf, source: BackendError },
    #[error("cannot serialize {what}: {source}")]
    Json {
        what: &'static str,
        source: serde_json::Error,
    },
    #[error("building the DNS tables: {0}")]
    Dns(#[from] crate::dns::DnsCompileError),
}

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
    /// What `--specialize` did (None without it).
    pub specialization: Option<SpecializationReport>,
}

pub(super) struct Writer<'a> {
    root: &'a Path,
    files: Vec<PathBuf>,
    /// Relative path → `sha256:<hex>` of every object and image written (for the loader).
    digests: BTreeMap<String, String>,
}

impl Writer<'_> {
    pub(super) fn write(&mut self, relative: &str, bytes: &[u8]) -> Result<(), ArtifactError> {
        let path = self.root.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| ArtifactError::Io {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        std::fs::write(&path, bytes).map_err(|source| ArtifactError::Io {
            path: path.clone(),
            source,
        })?;
        self.files.push(path);
        self.digests.insert(
            relative.to_string(),
            format!("sha256:{}", hex::encode(Sha256::digest(bytes))),
        );
        Ok(())
    }

    pub(super) fn image(&mut self, relative: &str, image: &ImageFile) -> Result<(), ArtifactError> {
        let bytes = image.to_bytes().map_err(|source| ArtifactError::Image {
            path: self.root.join(relative),
            source,
        })?;
        self.write(relative, &bytes)
    }

    /// Writes each map as its own image file `<dir>/<map name>.bin`; returns map name → path.
    pub(super) fn map_images<'m>(
        &mut self,
        dir: &str,
        maps: impl IntoIterator<Item = &'m MapImage>,
    ) -> Result<BTreeMap<String, String>, ArtifactError> {
        let mut files = BTreeMap::new();
        for map in maps {
            let relative = format!("{dir}/{}.bin", map.name);
            self.image(
                &relative,
                &ImageFile {
                    config: None,
                    maps: vec![map.clone()],
                },
            )?;
            files.insert(map.name.clone(), relative);
        }
        Ok(files)
    }

    fn json<T: serde::Serialize>(
        &mut self,
        relative: &str,
        what: &'static str,
        value: &T,
    ) -> Result<(), ArtifactError> {
        let mut text = serde_json::to_string_pretty(value)
            .map_err(|source| ArtifactError::Json { what, source })?;
        text.push('\n');
        self.write(relative, text.as_bytes())
    }
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
    for owned in ["objects", "maps"] {
        let dir = out.join(owned);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|source| ArtifactError::Io {
                path: dir.clone(),
                source,
            })?;
        }
    }
    let mut w = Writer {
        root: out,
        files: Vec::new(),
        digests: BTreeMap::new(),
    };
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
        "maps/ipcache.bin",
        &ImageFile {
            config: None,
            maps: vec![compilation.ipcache_image.clone()],
        },
    )?;

    let mut map_files: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut decision_files: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for endpoint in &compilation.endpoints {
        let dir = endpoint_dir(endpoint);
        w.image(
            &format!("{dir}/config.bin"),
            &ImageFile {
                config: Some(endpoint.images.config),
                maps: Vec::new(),
            },
        )?;
        let files = w.map_images(&dir, &endpoint.images.maps)?;
        map_files.insert(endpoint.key.to_string(), files);
        let decision = w.map_images(&format!("{dir}/decision"), &endpoint.decision_maps)?;
        if !decision.is_empty() {
            decision_files.insert(endpoint.key.to_string(), decision);
        }
    }

    let dns = super::dns_images::write_dns(&mut w, compilation, inputs.rules)?;

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
            map_files: &map_files,
            decision_files: &decision_files,
            warnings: inputs.warnings.clone(),
            file_digests: w.digests.clone(),
        },
    );
    dns.annotate(&mut manifest);
    let mut report = build_report(
        compilation,
        inputs.universe.identities().len(),
        inputs.input_digest,
        inputs.warnings,
    );
    report.specialization = inputs.specialization;
    w.json("manifest.json", "manifest", &manifest)?;
    w.json("report.json", "report", &report)?;
    w.write("report.md", render_markdown(&report).as_bytes())?;
    Ok(ArtifactSummary {
        manifest,
        report,
        files: w.files,
    })
}
