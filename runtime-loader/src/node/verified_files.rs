//! The files of an artifact, read ONCE and checked against the manifest's `file_digests` before
//! anything is installed: every file the manifest (DNS part included) names must have a digest,
//! every `file_digests` entry must be a plain relative path whose bytes have that digest. The
//! loader then installs exactly these bytes ([`VerifiedFiles::get`]); nothing is read from the
//! artifact directory again, so a file changed after verification cannot be installed.

use std::collections::BTreeMap;
use std::path::{Component, Path};
use std::sync::Arc;

use policyc_backends::artifact::{file_digest, Manifest};

/// Relative path → bytes of every file of `file_digests`, each matching its digest.
#[derive(Clone, Default)]
pub struct VerifiedFiles(Arc<BTreeMap<String, Vec<u8>>>);

impl std::fmt::Debug for VerifiedFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VerifiedFiles({} files)", self.0.len())
    }
}

/// Every file (relative path) the manifest names: objects, images, classifier, DNS object and
/// DNS images.
pub fn named_files(m: &Manifest) -> Vec<&str> {
    let mut named: Vec<&str> = vec![&m.object, &m.ipcache];
    named.extend(m.classifier.as_deref());
    named.extend(m.dns.as_ref().map(|dns| dns.object.as_str()));
    for e in &m.endpoints {
        named.push(&e.config);
        named.extend(e.object.as_deref());
        named.extend(e.maps.values().map(String::as_str));
        named.extend(e.decision_maps.values().map(String::as_str));
        if let Some(dns) = &e.dns {
            named.extend(dns.maps.values().map(String::as_str));
        }
    }
    named
}

/// Whether `relative` stays inside the artifact directory (no root, no `..`).
fn is_plain_relative(relative: &str) -> bool {
    let path = Path::new(relative);
    !relative.is_empty() && path.components().all(|c| matches!(c, Component::Normal(_)))
}

impl VerifiedFiles {
    /// Reads and checks every file; `Err` is the problem, naming the file.
    pub fn read(dir: &Path, manifest: &Manifest) -> Result<VerifiedFiles, String> {
        let digests = &manifest.file_digests;
        if let Some(missing) = named_files(manifest)
            .into_iter()
            .find(|f| !digests.contains_key(*f))
        {
            return Err(format!("manifest has no digest for {missing}"));
        }
        let mut files = BTreeMap::new();
        for (relative, expected) in digests {
            if !is_plain_relative(relative) {
                return Err(format!(
                    "file_digests names {relative:?}, which is not a plain relative path inside the artifact"
                ));
            }
            let bytes = std::fs::read(dir.join(relative))
                .map_err(|e| format!("{relative} cannot be read ({e})"))?;
            let actual = file_digest(&bytes);
            if &actual != expected {
                return Err(format!(
                    "{relative} has digest {actual}, the manifest says {expected} (modified or corrupt)"
                ));
            }
            files.insert(relative.clone(), bytes);
        }
        Ok(VerifiedFiles(Arc::new(files)))
    }

    /// The verified bytes of `relative` (`None`: not in `file_digests`).
    pub fn get(&self, relative: &str) -> Option<&[u8]> {
        self.0.get(relative).map(Vec::as_slice)
    }
}
