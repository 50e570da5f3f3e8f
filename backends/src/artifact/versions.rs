//! The version numbers `manifest.json` carries: the artifact format (what the directory and
//! manifest mean) and the map layout (what the image bytes mean). The writer stamps them, the
//! loader installs only the versions listed here.
//!
//! Format history: 1 = one directory of images per endpoint (`maps/<ns>/<name>/`), every
//! endpoint on the datapath template; 2 = the same with `--specialize` objects. 3 = images
//! content-addressed under `images/` and shared by every endpoint with the same contents, the
//! `.rodata` config image per endpoint *shape* (endpoint id and source addresses taken from
//! the manifest's `endpoint_id` and `addresses`, see [`super::config`]), and
//! `classifier.json` with one table per shape. A loader of format 1 or 2 would load a
//! format-3 config without the endpoint's id and addresses, so the number changed.

/// The artifact format `policyc build` writes (template and `--specialize` endpoints alike).
pub const ARTIFACT_FORMAT_VERSION: u32 = 3;

/// Every artifact format version the loader installs (older artifacts: rebuild).
pub const SUPPORTED_FORMAT_VERSIONS: [u32; 1] = [ARTIFACT_FORMAT_VERSION];

/// The `policyc_layout.h` version the map images are encoded for (defined next to the
/// `#[repr(C)]` mirrors it versions).
pub use crate::layout::LAYOUT_VERSION;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_loader_installs_the_version_the_writer_stamps_and_no_per_endpoint_layout() {
        assert_eq!(SUPPORTED_FORMAT_VERSIONS, [ARTIFACT_FORMAT_VERSION]);
        // Formats 1 and 2 carried each endpoint's whole config in its own image: installing
        // them with this loader would take the id and addresses from the manifest instead.
        assert!(!SUPPORTED_FORMAT_VERSIONS.contains(&1));
        assert!(!SUPPORTED_FORMAT_VERSIONS.contains(&2));
    }
}
