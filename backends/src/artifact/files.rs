//! The fixed names inside an artifact directory and the digest form of `file_digests`: the
//! writer names its files with these and pins each by digest, the loader finds the manifest by
//! name and checks every file against its digest.

use sha2::{Digest, Sha256};

/// The manifest, at the root of the artifact directory.
pub const MANIFEST_FILE: &str = "manifest.json";

/// The node-wide ipcache image.
pub const IPCACHE_FILE: &str = "maps/ipcache.bin";

/// `sha256:<hex>` of `bytes`: the form of every `file_digests` value and of an artifact's
/// digest (the digest of its `manifest.json`).
pub fn file_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
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
}
