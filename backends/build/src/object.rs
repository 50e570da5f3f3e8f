//! Which BPF object an endpoint runs: the embedded datapath template, or an object generated
//! and compiled for the endpoint's decision by `policyc build --specialize`.

use policyc_backends::DATAPATH_OBJECT;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// An object compiled from generated C (shared by every endpoint with the same generated code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecializedObject {
    /// Hex sha256 of the object bytes (the artifact names it `objects/<sha256>.bpf.o`).
    pub sha256: String,
    /// Hex sha256 of what produced it (generated C, template sources, clang version and flags):
    /// the cache key.
    pub source_key: String,
    /// The ELF object.
    pub bytes: Arc<[u8]>,
}

impl SpecializedObject {
    pub fn new(source_key: String, bytes: Arc<[u8]>) -> Self {
        Self {
            sha256: hex::encode(Sha256::digest(&bytes)),
            source_key,
            bytes,
        }
    }
}

/// The object an endpoint is loaded from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum EndpointObject {
    /// The datapath template (`policyc_backends::DATAPATH_OBJECT`), specialised only through
    /// `.rodata` and map contents.
    #[default]
    Template,
    /// A per-endpoint generated decision, compiled with clang at build time.
    Specialized(SpecializedObject),
}

impl EndpointObject {
    /// The ELF bytes to open.
    pub fn bytes(&self) -> &[u8] {
        match self {
            Self::Template => DATAPATH_OBJECT,
            Self::Specialized(object) => &object.bytes,
        }
    }

    /// Hex sha256 of [`EndpointObject::bytes`] (the template's computed once per process:
    /// hashing the whole object again for every endpoint was a tenth of a large build).
    pub fn sha256(&self) -> String {
        static TEMPLATE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        match self {
            Self::Template => TEMPLATE
                .get_or_init(|| hex::encode(Sha256::digest(DATAPATH_OBJECT)))
                .clone(),
            Self::Specialized(object) => object.sha256.clone(),
        }
    }

    /// Path of the object inside the artifact directory.
    pub fn artifact_path(&self) -> String {
        format!("objects/{}.bpf.o", self.sha256())
    }

    pub fn is_specialized(&self) -> bool {
        matches!(self, Self::Specialized(_))
    }
}
