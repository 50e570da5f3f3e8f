//! Puts files into the artifact directory: every object, image and JSON file goes through
//! [`Writer`], which records its `sha256:<hex>` for the manifest's `file_digests`; endpoint
//! images are content-addressed (`images/<sha256>.bin`), each written once however many
//! endpoints name it; and [`ArtifactError`], what can go wrong writing an artifact.

use policyc_backends::artifact::{file_digest, image_path, IMAGES_DIR};
use policyc_backends::{BackendError, ImageFile, MapImage};
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
    #[error("cannot encode {path}: {source}")]
    L7 {
        path: PathBuf,
        source: policyc_backends::artifact::l7::L7FormatError,
    },
    #[error("building the DNS tables: {0}")]
    Dns(#[from] policyc_compile::dns::DnsCompileError),
}

pub(super) struct Writer<'a> {
    root: &'a Path,
    pub(super) files: Vec<PathBuf>,
    /// Relative path → `sha256:<hex>` of every object and image written (for the loader).
    pub(super) digests: BTreeMap<String, String>,
}

impl<'a> Writer<'a> {
    /// A writer into the artifact directory `root`.
    pub(super) fn new(root: &'a Path) -> Self {
        Writer {
            root,
            files: Vec::new(),
            digests: BTreeMap::new(),
        }
    }

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
        self.digests
            .insert(relative.to_string(), file_digest(bytes));
        Ok(())
    }

    pub(super) fn image(&mut self, relative: &str, image: &ImageFile) -> Result<(), ArtifactError> {
        let bytes = image.to_bytes().map_err(|source| ArtifactError::Image {
            path: self.root.join(relative),
            source,
        })?;
        self.write(relative, &bytes)
    }

    /// Writes image file `bytes` under its content address unless the same bytes were written
    /// already; returns the relative path.
    pub(super) fn shared(&mut self, bytes: &[u8]) -> Result<String, ArtifactError> {
        let relative = image_path(&file_digest(bytes));
        if !self.digests.contains_key(&relative) {
            self.write(&relative, bytes)?;
        }
        Ok(relative)
    }

    /// [`Writer::shared`] of an image file.
    pub(super) fn shared_image(&mut self, image: &ImageFile) -> Result<String, ArtifactError> {
        let bytes = image.to_bytes().map_err(|source| ArtifactError::Image {
            path: self.root.join(IMAGES_DIR),
            source,
        })?;
        self.shared(&bytes)
    }

    /// Writes each map as its own (shared, content-addressed) image file; returns map name →
    /// path.
    pub(super) fn map_images<'m>(
        &mut self,
        maps: impl IntoIterator<Item = &'m MapImage>,
    ) -> Result<BTreeMap<String, String>, ArtifactError> {
        let mut files = BTreeMap::new();
        for map in maps {
            let bytes = ImageFile::map_bytes(map).map_err(|source| ArtifactError::Image {
                path: self.root.join(IMAGES_DIR),
                source,
            })?;
            files.insert(map.name.clone(), self.shared(&bytes)?);
        }
        Ok(files)
    }

    pub(super) fn json<T: serde::Serialize>(
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
