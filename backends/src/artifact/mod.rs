//! The artifact format, defined once for its writer (`policyc build`, in policyc-compile) and
//! its reader (`policy-loader`): `manifest.json` ([`manifest`]) with its DNS parts
//! ([`dns_manifest`]), the format and layout versions ([`versions`]), the fixed file names,
//! content addresses and digest form ([`files`]), how an endpoint's config is split between its
//! shape's image and the manifest ([`config`]), the compiled HTTP tables of the L7 filter
//! ([`l7`]). The other files have their own definitions: map images in
//! [`crate::image_file`], `classifier.json` in [`crate::classifier`].

pub mod attach_checks;
pub mod config;
pub mod dns_manifest;
pub mod files;
pub mod l7;
pub mod manifest;
pub mod versions;

pub use config::{endpoint_config, shape_config};
pub use dns_manifest::{ManifestDns, ManifestFqdnClass, ManifestNodeDns};
pub use files::{file_digest, image_path, IMAGES_DIR, IPCACHE_FILE, MANIFEST_FILE};
pub use manifest::{Manifest, ManifestAttach, ManifestEndpoint, ManifestIdentity, ManifestRule};
pub use versions::{ARTIFACT_FORMAT_VERSION, LAYOUT_VERSION, SUPPORTED_FORMAT_VERSIONS};

#[cfg(test)]
mod tests;
