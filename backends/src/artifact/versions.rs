//! The version numbers `manifest.json` carries: the artifact format (what the directory and
//! manifest mean) and the map layout (what the image bytes mean). The writer stamps them, the
//! loader installs only the versions listed here.

/// Artifact format where every endpoint runs the datapath template.
pub const ARTIFACT_FORMAT_VERSION: u32 = 1;

/// Artifact format where some endpoint runs its own (`--specialize`) object: a loader that only
/// knows version 1 would load the template for it, so it must refuse.
pub const ARTIFACT_FORMAT_VERSION_SPECIALIZED: u32 = 2;

/// Every artifact format version the loader installs.
pub const SUPPORTED_FORMAT_VERSIONS: [u32; 2] =
    [ARTIFACT_FORMAT_VERSION, ARTIFACT_FORMAT_VERSION_SPECIALIZED];

/// The `policyc_layout.h` version the map images are encoded for (defined next to the
/// `#[repr(C)]` mirrors it versions).
pub use crate::layout::LAYOUT_VERSION;

/// The format version of an artifact: the oldest one that can express its endpoints.
pub fn format_version(any_specialized: bool) -> u32 {
    if any_specialized {
        ARTIFACT_FORMAT_VERSION_SPECIALIZED
    } else {
        ARTIFACT_FORMAT_VERSION
    }
}

/// Whether an artifact of `format_version` may name specialized endpoints.
pub fn expresses_specialized(format_version: u32) -> bool {
    format_version >= ARTIFACT_FORMAT_VERSION_SPECIALIZED
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_loader_installs_every_version_the_writer_stamps() {
        for any_specialized in [false, true] {
            assert!(SUPPORTED_FORMAT_VERSIONS.contains(&format_version(any_specialized)));
        }
    }

    #[test]
    fn only_the_specialized_format_expresses_specialized_endpoints() {
        assert!(!expresses_specialized(format_version(false)));
        assert!(expresses_specialized(format_version(true)));
    }
}
