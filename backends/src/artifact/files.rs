//! The fixed names inside an artifact directory, the content address of a shared file and the
//! digest form of `file_digests`: the writer names its files with these and pins each by
//! digest, the loader finds the manifest by name and checks every file against its digest.

use sha2::{Digest, Sha256};

/// The manifest, at the root of the artifact directory.
pub const MANIFEST_FILE: &str = "manifest.json";

/// The node-wide ipcache image.
pub const IPCACHE_FILE: &str = "maps/ipcache.bin";

/// Where content-addressed images live: `images/<sha256 hex>.bin`.
pub const IMAGES_DIR: &str = "images";

/// `sha256:<hex>` of `bytes`: the form of every `file_digests` value and of an artifact's
/// digest (the digest of its `manifest.json`).
pub fn file_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// The relative path of an image file with `digest` (a [`file_digest`]): every endpoint whose
/// map (or config) has the same bytes names the same file, written once.
pub fn image_path(digest: &str) -> String {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    format!("{IMAGES_DIR}/{hex}.bin")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_digest_is_prefixed_lowercase_hex_sha256() {
        assert_eq!(
            file_digest(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn an_image_is_named_by_its_digest() {
        assert_eq!(
            image_path(&file_digest(b"")),
            "images/e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855.bin"
        );
        assert_ne!(
            image_path(&file_digest(b"a")),
            image_path(&file_digest(b"b"))
        );
    }
}
