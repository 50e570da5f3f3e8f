//! The artifact format, defined once for its writer (`policyc build`, in policyc-compile) and
//! its reader (`policy-loader`): `manifest.json` ([`manifest`]) with its DNS parts
//! ([`dns_manifest`]), the format and layout versions ([`versions`]), and the fixed file names
//! and digest form ([`files`]), the compiled HTTP tables of the L7 filter ([`l7`]). The other files have their own definitions: map images in
//! [`crate::image_file`], `classifier.json` in [`crate::classifier`].

pub mod attach_checks;
pub mod dns_manifest;
pub mod files;
pub mod l7;
pub mod manifest;
pub mod versions;

pub use dns_manifest::{ManifestDns, ManifestFqdnClass, ManifestNodeDns};
pub use files::{file_digest, IPCACHE_FILE, MANIFEST_FILE};
pub use manifest::{Manifest, ManifestAttach, ManifestEndpoint, ManifestIdentity, ManifestRule};
pub use versions::{
    format_version, ARTIFACT_FORMAT_VERSION, ARTIFACT_FORMAT_VERSION_SPECIALIZED, LAYOUT_VERSION,
    SUPPORTED_FORMAT_VERSIONS,
};

#[cfg(test)]
mod tests;
