//! The example inputs of `policy-examples/` (inventory, policies) loaded once per process, and
//! a real artifact built from them once (the seed the artifact and classifier targets mutate).

use policyc_build::{build_artifact, load_inputs, BuildRequest};
use policyc_diagnostics::source::SourceMap;
use policyc_ir::universe::Universe;
use policyc_ir::PolicyRule;
use policyc_loader::node::artifact::Artifact;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The repository root (the parent of `fuzz/`).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The examples' universe and rules.
pub struct Examples {
    pub universe: Universe,
    pub rules: Vec<PolicyRule>,
}

/// Loaded once; panics when the examples do not load (the harness cannot run without them).
pub fn examples() -> &'static Examples {
    static EXAMPLES: OnceLock<Examples> = OnceLock::new();
    EXAMPLES.get_or_init(|| {
        let examples = root().join("policy-examples");
        let mut sources = SourceMap::new();
        let (universe, rules, _) = load_inputs(
            &examples.join("inventory.yaml"),
            &[examples.join("policies")],
            Default::default(),
            &mut sources,
        )
        .unwrap_or_else(|e| panic!("policy-examples do not load: {e}"));
        Examples { universe, rules }
    })
}

/// A `policyc build` of the examples under `fuzz/work/seed-artifact` (built when missing or
/// when this loader no longer accepts it).
pub fn seed_artifact() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("work/seed-artifact");
        if Artifact::open(&dir).is_ok() {
            return dir;
        }
        let staging = dir.with_extension(std::process::id().to_string());
        let examples = root().join("policy-examples");
        let request = BuildRequest {
            inventory: examples.join("inventory.yaml"),
            policies: vec![examples.join("policies")],
            output: staging.clone(),
            options: Default::default(),
            local_node: None,
            allow_unenforced: Vec::new(),
        };
        let mut sources = SourceMap::new();
        build_artifact(&request, &mut sources, &|_| {}, &|| {})
            .unwrap_or_else(|e| panic!("building the seed artifact: {e}"));
        let _ = std::fs::remove_dir_all(&dir);
        if std::fs::rename(&staging, &dir).is_err() {
            // Another process put one there first: ours is the same build.
            let _ = std::fs::remove_dir_all(&staging);
        }
        dir
    })
}
