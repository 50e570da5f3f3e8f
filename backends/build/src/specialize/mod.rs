//! `policyc build --specialize`: per endpoint, the optimized decision (classes → protocol →
//! port intervals → verdict, from the hash-consed DAG) is lowered to C ([`lower`], [`emit`]) and
//! compiled with clang into the datapath template in place of its table-driven
//! `policy_lookup` ([`toolchain`]). Objects are cached by content hash ([`cache`]) and shared by
//! every endpoint with the same generated code; a decision too large to verify comfortably
//! falls back to the template. The generated part never changes `.rodata` or the maps the rest
//! of the datapath uses ([`images`]).

pub mod cache;
pub mod emit;
pub mod error;
pub mod images;
pub mod lower;
pub mod report;
pub mod toolchain;

pub use super::object::{EndpointObject, SpecializedObject};
pub use cache::{default_cache_dir, ObjectCache};
pub use error::SpecializeError;
pub use report::{EndpointSpecialization, SpecializationReport};
pub use toolchain::Toolchain;

use super::compile::{Compilation, CompiledEndpoint};
use policyc_ir::Direction;
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// Generated decisions estimated above this many instructions stay on the template.
pub const DEFAULT_MAX_ESTIMATED_INSTRUCTIONS: u64 = 500_000;

/// How to specialize.
#[derive(Debug, Clone)]
pub struct SpecializeOptions {
    pub cache_dir: PathBuf,
    /// clang to use (else `$CLANG`, else clang-16, clang-19, clang on PATH).
    pub clang: Option<PathBuf>,
    pub max_estimated_instructions: u64,
}

impl Default for SpecializeOptions {
    fn default() -> Self {
        Self {
            cache_dir: default_cache_dir(),
            clang: None,
            max_estimated_instructions: DEFAULT_MAX_ESTIMATED_INSTRUCTIONS,
        }
    }
}

/// How the cache served a build (not part of the artifact: it differs between two builds).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Objects clang compiled in this build.
    pub compiled: usize,
    /// Objects found in the cache.
    pub cache_hits: usize,
    /// Objects that could not be stored in the cache (the build still succeeded).
    pub store_failures: Vec<String>,
}

/// What [`specialize`] did.
#[derive(Debug, Clone)]
pub struct Specialization {
    pub report: SpecializationReport,
    pub cache: CacheStats,
}

/// One distinct object, compiled now or taken from the cache.
struct BuiltObject {
    key: String,
    bytes: Arc<[u8]>,
    from_cache: bool,
    store_failure: Option<String>,
}

/// The generated code of one endpoint, or why it stays on the template.
#[derive(Debug, Clone)]
pub enum Plan {
    Generate { header: String, estimate: u64 },
    Template { estimate: u64, why: String },
}

fn enforced(endpoint: &CompiledEndpoint, direction: Direction) -> bool {
    let index = match direction {
        Direction::Ingress => 0,
        Direction::Egress => 1,
    };
    endpoint.images.config.enforced[index] != 0
}

/// Generates the C of one endpoint (no compiler involved).
pub fn plan(endpoint: &CompiledEndpoint, max_estimate: u64) -> Result<Plan, SpecializeError> {
    if !Direction::BOTH.iter().any(|d| enforced(endpoint, *d)) {
        return Ok(Plan::Template {
            estimate: 0,
            why: "no enforced direction: the template passes every packet without a lookup"
                .to_string(),
        });
    }
    let program =
        lower::lower(endpoint.optimized.dag(), |d| enforced(endpoint, d)).map_err(|source| {
            SpecializeError::Lower {
                endpoint: endpoint.key.to_string(),
                source,
            }
        })?;
    let estimate = lower::estimated_instructions(&program);
    if estimate > max_estimate {
        return Ok(Plan::Template {
            estimate,
            why: format!(
                "generated decision too large: about {estimate} instructions > limit {max_estimate}; the template's bounded table search is used"
            ),
        });
    }
    Ok(Plan::Generate {
        header: emit::render(&program, estimate),
        estimate,
    })
}

/// The cache key of a generated header: sha256 over the generator version, every embedded
/// source, the compiler's version and flags, and the header.
pub fn source_key(toolchain: &Toolchain, header: &str) -> String {
    let mut hash = Sha256::new();
    let mut field = |bytes: &[u8]| {
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(bytes);
    };
    field(format!("policyc-specialize {}", emit::GENERATOR_VERSION).as_bytes());
    for (name, contents) in toolchain::embedded_files() {
        field(name.as_bytes());
        field(contents.as_bytes());
    }
    field(toolchain.version.as_bytes());
    for flag in &toolchain.flags {
        field(flag.as_bytes());
    }
    field(header.as_bytes());
    hex::encode(hash.finalize())
}

/// Specializes every endpoint of `compilation` that can be: replaces its object and images.
/// `on_objects(n)` is called once with the number of distinct objects, `on_object_done` after
/// each (progress).
pub fn specialize(
    compilation: &mut Compilation,
    options: &SpecializeOptions,
    on_objects: &dyn Fn(usize),
    on_object_done: &(dyn Fn() + Sync),
) -> Result<Specialization, SpecializeError> {
    let max = options.max_estimated_instructions;
    let plans: Vec<Plan> = compilation
        .endpoints
        .par_iter()
        .map(|e| plan(e, max))
        .collect::<Result<_, _>>()?;
    let generates = plans.iter().any(|p| matches!(p, Plan::Generate { .. }));
    let toolchain = if generates {
        Some(Toolchain::find(options.clang.as_deref())?)
    } else {
        None
    };

    // Distinct headers → the endpoints that use them.
    let mut keys: Vec<Option<String>> = Vec::with_capacity(plans.len());
    let mut distinct: BTreeMap<String, (&str, Vec<String>)> = BTreeMap::new();
    for (endpoint, plan) in compilation.endpoints.iter().zip(&plans) {
        match (plan, &toolchain) {
            (Plan::Generate { header, .. }, Some(tc)) => {
                let key = source_key(tc, header);
                distinct
                    .entry(key.clone())
                    .or_insert_with(|| (header.as_str(), Vec::new()))
                    .1
                    .push(endpoint.key.to_string());
                keys.push(Some(key));
            }
            _ => keys.push(None),
        }
    }

    on_objects(distinct.len());
    let cache = ObjectCache::new(&options.cache_dir);
    let built: Vec<BuiltObject> = match &toolchain {
        None => Vec::new(),
        Some(tc) => distinct
            .par_iter()
            .map(|(key, (header, users))| {
                let result = match cache.get(key) {
                    Some(bytes) => BuiltObject {
                        key: key.clone(),
                        bytes: Arc::from(bytes),
                        from_cache: true,
                        store_failure: None,
                    },
                    None => {
                        let bytes = tc.compile(header, &users.join(", "))?;
                        let store_failure = cache
                            .put(key, &bytes)
                            .err()
                            .map(|e| format!("{}: {e}", options.cache_dir.display()));
                        BuiltObject {
                            key: key.clone(),
                            bytes: Arc::from(bytes),
                            from_cache: false,
                            store_failure,
                        }
                    }
                };
                on_object_done();
                Ok(result)
            })
            .collect::<Result<_, SpecializeError>>()?,
    };
    let mut stats = CacheStats::default();
    let mut objects: BTreeMap<String, SpecializedObject> = BTreeMap::new();
    for object in built {
        if object.from_cache {
            stats.cache_hits += 1;
        } else {
            stats.compiled += 1;
        }
        stats.store_failures.extend(object.store_failure);
        objects.insert(
            object.key.clone(),
            SpecializedObject::new(object.key, object.bytes),
        );
    }

    let sharing = |key: &Option<String>| {
        key.as_ref()
            .and_then(|k| distinct.get(k))
            .map_or(0, |(_, users)| users.len())
    };
    let mut endpoints = Vec::with_capacity(plans.len());
    for ((endpoint, plan), key) in compilation.endpoints.iter_mut().zip(&plans).zip(&keys) {
        let object = key.as_ref().and_then(|k| objects.get(k));
        let (estimate, why) = match (plan, object) {
            (Plan::Generate { estimate, .. }, Some(object)) => {
                endpoint.decision_maps = images::decision_maps(&endpoint.images);
                endpoint.images = images::specialized_images(
                    &endpoint.images,
                    &[&endpoint.optimized.ingress, &endpoint.optimized.egress],
                );
                endpoint.object = EndpointObject::Specialized(object.clone());
                (
                    *estimate,
                    "decision generated as code: pc_class lookup, then constant-folded switch on class and protocol and a port tree".to_string(),
                )
            }
            (Plan::Template { estimate, why }, _) => (*estimate, why.clone()),
            (Plan::Generate { estimate, .. }, None) => {
                (*estimate, "no object was produced".to_string())
            }
        };
        endpoints.push(EndpointSpecialization {
            name: endpoint.key.to_string(),
            specialized: endpoint.object.is_specialized(),
            object: endpoint.object.artifact_path(),
            estimated_instructions: estimate,
            endpoints_sharing_object: if endpoint.object.is_specialized() {
                sharing(key)
            } else {
                0
            },
            why,
        });
    }
    Ok(Specialization {
        report: SpecializationReport {
            clang: toolchain.map(|t| t.version),
            objects: objects.len(),
            max_estimated_instructions: max,
            endpoints,
        },
        cache: stats,
    })
}
