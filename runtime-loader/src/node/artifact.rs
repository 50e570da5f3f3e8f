//! Reading and verifying a `policyc build` artifact: `manifest.json` (format and layout
//! version), the sha256 of EVERY file against the manifest's `file_digests` (see
//! [`super::verified_files`]: read once, before anything is installed, and the verified bytes
//! are the ones installed), the datapath and DNS objects against the ones this loader embeds,
//! and the per-endpoint images (DNS images included) and object (the template's, or the
//! endpoint's own `--specialize` object in format 2). Nothing is loaded into the kernel here.
//! The format itself (manifest, DNS manifest, versions) is `policyc_backends::artifact`, the
//! definition `policyc build` writes with.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use policyc_backends::artifact::{
    file_digest, LAYOUT_VERSION, MANIFEST_FILE, SUPPORTED_FORMAT_VERSIONS,
};
use policyc_backends::layout::Verdict;
use policyc_backends::{
    decode_overflow, decode_port_function, EndpointImages, ImageFile, MapImage, DATAPATH_OBJECT,
    DNS_OBJECT,
};

use super::error::NodeError;
use super::verified_files::VerifiedFiles;

/// `manifest.json` as the loader reads it: the one definition the writer uses too.
pub use policyc_backends::artifact::{
    Manifest, ManifestAttach, ManifestEndpoint, ManifestIdentity, ManifestRule,
};

/// A verified artifact.
#[derive(Debug, Clone)]
pub struct Artifact {
    /// Artifact directory.
    pub dir: PathBuf,
    /// The manifest.
    pub manifest: Manifest,
    /// `sha256:<hex>` of `manifest.json` (which pins every other file by digest).
    pub digest: String,
    /// Every file of the manifest's `file_digests`, as read and verified by [`Artifact::open`].
    files: VerifiedFiles,
}

/// The images of one endpoint, read from the artifact.
#[derive(Debug, Clone)]
pub struct EndpointInstall {
    /// Endpoint entry of the manifest.
    pub endpoint: ManifestEndpoint,
    /// `.rodata` and endpoint maps.
    pub images: EndpointImages,
    /// The node-wide ipcache image.
    pub ipcache: MapImage,
    /// The ELF object to load: the embedded template, or the endpoint's generated object
    /// (its sha256 checked against the manifest when read).
    pub object: Vec<u8>,
    /// The endpoint's DNS map images (empty without `rules.dns`).
    pub dns_images: Vec<MapImage>,
}

impl Artifact {
    fn problem(&self, problem: impl Into<String>) -> NodeError {
        NodeError::Artifact {
            dir: self.dir.clone(),
            problem: problem.into(),
        }
    }

    /// Reads `manifest.json` and verifies versions and every file digest (every file is read
    /// here, and only here).
    pub fn open(dir: &Path) -> Result<Artifact, NodeError> {
        let manifest_path = dir.join(MANIFEST_FILE);
        let bytes = std::fs::read(&manifest_path).map_err(NodeError::io(&manifest_path))?;
        let manifest: Manifest =
            serde_json::from_slice(&bytes).map_err(|source| NodeError::Json {
                path: manifest_path.clone(),
                source,
            })?;
        let mut artifact = Artifact {
            dir: dir.to_path_buf(),
            manifest,
            digest: file_digest(&bytes),
            files: VerifiedFiles::default(),
        };
        artifact.verify_versions()?;
        artifact.files = VerifiedFiles::read(dir, &artifact.manifest)
            .map_err(|problem| artifact.problem(problem))?;
        artifact.verify_objects()?;
        Ok(artifact)
    }

    fn verify_versions(&self) -> Result<(), NodeError> {
        let m = &self.manifest;
        if !SUPPORTED_FORMAT_VERSIONS.contains(&m.format_version) {
            return Err(self.problem(format!(
                "artifact format version {} (this loader installs versions {SUPPORTED_FORMAT_VERSIONS:?}); rebuild with a matching policyc",
                m.format_version
            )));
        }
        if m.layout_version != LAYOUT_VERSION {
            return Err(self.problem(format!(
                "map layout version {} (this loader's datapath uses {LAYOUT_VERSION})",
                m.layout_version
            )));
        }
        Ok(())
    }

    /// The template objects are the datapath object this loader embeds, and so is the DNS
    /// object when an endpoint has `rules.dns` (its digests were checked against the files).
    fn verify_objects(&self) -> Result<(), NodeError> {
        let m = &self.manifest;
        let template_objects = std::iter::once(m.object.as_str()).chain(
            m.endpoints
                .iter()
                .filter(|e| !e.specialized)
                .map(|e| self.manifest.endpoint_object(e)),
        );
        for object in template_objects {
            if file_digest(DATAPATH_OBJECT)
                != m.file_digests.get(object).cloned().unwrap_or_default()
            {
                return Err(self.problem(format!(
                    "{object} is not the datapath object of this policy-loader ({}); use the loader of the same release",
                    file_digest(DATAPATH_OBJECT)
                )));
            }
        }
        let Some(e) = m.endpoints.iter().find(|e| e.dns.is_some()) else {
            return Ok(());
        };
        let dns = m.dns.as_ref().ok_or_else(|| {
            self.problem(format!(
                "endpoint {} has DNS tables but the manifest names no DNS object",
                e.name
            ))
        })?;
        if m.file_digests.get(&dns.object) != Some(&file_digest(DNS_OBJECT)) {
            return Err(self.problem(format!(
                "{} is not the DNS object of this policy-loader ({}); use the loader of the same release",
                dns.object,
                file_digest(DNS_OBJECT)
            )));
        }
        Ok(())
    }

    /// The verified bytes of `relative`.
    fn file(&self, relative: &str) -> Result<&[u8], NodeError> {
        self.files
            .get(relative)
            .ok_or_else(|| self.problem(format!("manifest has no digest for {relative}")))
    }

    /// The object bytes of endpoint `e`: the embedded template, or its specialized object as
    /// verified.
    fn read_object(&self, e: &ManifestEndpoint) -> Result<Vec<u8>, NodeError> {
        if !e.specialized {
            return Ok(DATAPATH_OBJECT.to_vec());
        }
        self.file(self.manifest.endpoint_object(e))
            .map(<[u8]>::to_vec)
    }

    /// A map image file as verified, decoded; errors name the file.
    pub fn read_image(&self, relative: &str) -> Result<ImageFile, NodeError> {
        ImageFile::from_bytes(self.file(relative)?)
            .map_err(|e| self.problem(format!("{relative}: {e}")))
    }

    /// The L7 filter's HTTP tables (`l7/http.json`) as verified, every DFA loaded; `None` when
    /// the artifact has none.
    pub fn l7_tables(&self) -> Result<Option<policyc_backends::l7::L7Judge>, NodeError> {
        let Some(relative) = self.manifest.l7.as_deref() else {
            return Ok(None);
        };
        policyc_backends::l7::L7Judge::from_bytes(self.file(relative)?)
            .map(Some)
            .map_err(|e| self.problem(format!("{relative}: {e}")))
    }

    /// The maps of every image file in `files` (map name → relative path).
    fn read_maps(&self, files: &BTreeMap<String, String>) -> Result<Vec<MapImage>, NodeError> {
        let mut maps = Vec::new();
        for relative in files.values() {
            maps.extend(self.read_image(relative)?.maps);
        }
        Ok(maps)
    }

    /// A specialized endpoint's decision images (`pc_portfn`, `pc_intervals` as the template
    /// would hold them); empty for template endpoints.
    pub fn decision_images(&self, name: &str) -> Result<Vec<MapImage>, NodeError> {
        let endpoint = self
            .manifest
            .endpoint(name)
            .ok_or_else(|| NodeError::UnknownEndpoint(name.to_owned()))?;
        self.read_maps(&endpoint.decision_maps)
    }

    /// The images of endpoint `name`.
    pub fn endpoint_install(&self, name: &str) -> Result<EndpointInstall, NodeError> {
        let endpoint = self
            .manifest
            .endpoint(name)
            .ok_or_else(|| NodeError::UnknownEndpoint(name.to_owned()))?
            .clone();
        let shape = self
            .read_image(&endpoint.config)?
            .config
            .ok_or_else(|| self.problem(format!("{} has no config", endpoint.config)))?;
        let config = endpoint
            .config_from_shape(&shape)
            .map_err(|e| self.problem(format!("{}: {e}", endpoint.name)))?;
        let maps = self.read_maps(&endpoint.maps)?;
        let dns_images = match &endpoint.dns {
            Some(dns) => self.read_maps(&dns.maps)?,
            None => Vec::new(),
        };
        let ipcache = self
            .read_image(&self.manifest.ipcache)?
            .maps
            .into_iter()
            .next()
            .ok_or_else(|| self.problem("ipcache image has no map"))?;
        let object = self.read_object(&endpoint)?;
        Ok(EndpointInstall {
            endpoint,
            images: EndpointImages { config, maps },
            ipcache,
            object,
            dns_images,
        })
    }
}

impl EndpointInstall {
    /// Rules whose port functions carry a REDIRECT_L7 verdict in this endpoint's tables
    /// (a function's default, an inline range or an overflow range; for a specialized
    /// endpoint: the manifest's list, its decision is code).
    pub fn l7_rule_ids(&self) -> Vec<u32> {
        use policyc_backends::layout::map_names;
        let entries = |name: &str| {
            self.images
                .map(name)
                .map(|m| m.entries.clone())
                .unwrap_or_default()
        };
        let overflow = decode_overflow(&entries(map_names::INTERVALS)).unwrap_or_default();
        let mut ids: Vec<u32> = entries(map_names::PORTFN)
            .iter()
            .filter_map(|(_, value)| decode_port_function(value, &overflow))
            .flat_map(|f| f.intervals().to_vec())
            .filter(|iv| iv.verdict == Verdict::RedirectL7)
            .map(|iv| iv.rule_id)
            .collect();
        ids.extend(&self.endpoint.redirect_l7_rules);
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}
