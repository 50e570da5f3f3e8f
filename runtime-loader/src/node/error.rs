//! Errors of the node loader (artifact verification, kernel features, pinning, attaching).

use std::path::PathBuf;

use thiserror::Error;

use policyc_kernel::error::LoaderError;

/// Why a node operation failed.
#[derive(Debug, Error)]
pub enum NodeError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The artifact is not one this loader can install.
    #[error("artifact {dir}: {problem}")]
    Artifact {
        /// Artifact directory.
        dir: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// The kernel lacks something the datapath needs.
    #[error("this kernel cannot run the policyc datapath: {0}")]
    KernelFeatures(String),
    /// The process lacks capabilities.
    #[error("{0}")]
    Capabilities(String),
    /// L7 redirect verdicts without `--l7-fallback=allow-l4`.
    #[error("{0}")]
    L7Refused(String),
    /// The node's L7 filter could not be started, reloaded or reached.
    #[error("L7 filter: {0}")]
    L7Filter(String),
    /// Endpoints that cannot be installed on this node (no interface, DNS rules on a cgroup
    /// attachment, ...), found before any endpoint was touched.
    #[error(
        "refusing the apply: {} endpoint(s) cannot be installed here:\n  {}\ninstall only the others with --endpoint NS/NAME",
        .0.len(),
        .0.join("\n  ")
    )]
    EndpointsRefused(Vec<String>),
    /// `endpoint add|remove` refused (nothing was changed).
    #[error("{0}")]
    Admission(String),
    /// `endpoint add` input that Kubernetes or Cilium would not accept (nothing was changed).
    #[error(transparent)]
    Input(#[from] super::endpoint_input::InputError),
    /// A command that reads installed endpoints found none.
    #[error("no endpoints installed under {pin_root}: {what}; run `policy-loader apply` first")]
    NothingInstalled {
        /// `<bpffs>/policyc`.
        pin_root: PathBuf,
        /// What there is nothing of.
        what: &'static str,
    },
    /// An endpoint named on the command line is not in the artifact or not installed.
    #[error("unknown endpoint {0}")]
    UnknownEndpoint(String),
    /// The datapath could not be loaded or filled (verifier log included when it refused).
    #[error("endpoint {endpoint}: {source}")]
    Load {
        /// `namespace/name`.
        endpoint: String,
        /// The loader error.
        #[source]
        source: LoaderError,
    },
    /// A bpffs or kernel operation on an installed endpoint failed.
    #[error("endpoint {endpoint}: {what}: {source}")]
    Kernel {
        /// `namespace/name`.
        endpoint: String,
        /// What was being done.
        what: String,
        /// The libbpf error.
        #[source]
        source: libbpf_rs::Error,
    },
    /// The installation on bpffs is not what the records say.
    #[error("endpoint {endpoint}: {problem}")]
    State {
        /// `namespace/name`.
        endpoint: String,
        /// What is inconsistent.
        problem: String,
    },
    /// A JSON state or manifest file is malformed.
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// Another loader holds the node lock (nothing was changed).
    #[error(
        "{holder} holds the node lock {lock} (waited {} s); nothing was changed: retry when it has finished, or raise --lock-timeout",
        waited.as_secs_f64()
    )]
    Busy {
        /// The lock file or directory.
        lock: PathBuf,
        /// Who holds it, as far as known.
        holder: String,
        /// How long this loader waited.
        waited: std::time::Duration,
    },
    /// An apply stopped before its endpoints switched: every endpoint it had staged was
    /// undone (unless `undo_failures` says otherwise) and every endpoint it had already
    /// switched was switched back, so the previous policy runs everywhere.
    #[error(
        "{endpoint}: {source}{}",
        if undo_failures.is_empty() {
            String::new()
        } else {
            format!(
                "\nUNDO FAILED for {} step(s), so the node may NOT be as before:\n  {}\nrun `policy-loader status`, then apply again or unload",
                undo_failures.len(),
                undo_failures.join("\n  ")
            )
        }
    )]
    ApplyAborted {
        /// The endpoint (or step) that failed.
        endpoint: String,
        /// Why.
        #[source]
        source: Box<NodeError>,
        /// Undo steps that failed (empty: the node is exactly as before the apply).
        undo_failures: Vec<String>,
    },
    /// Completing the switch of an apply that was killed between two endpoints' flips failed
    /// (see `node::journal`): endpoints may still run different artifacts.
    #[error(
        "completing the switch of an apply that was killed while switching endpoints failed: {source}; endpoints may run different artifacts — see `policy-loader status`"
    )]
    CompletingSwitch {
        /// What failed.
        #[source]
        source: Box<NodeError>,
    },
    /// The endpoint switched to its new generation, but attaching its links afterwards failed:
    /// the new policy is active, not (or not fully) attached.
    #[error(
        "endpoint {endpoint}: switched to generation {generation}, but its links could not be completed: {source}"
    )]
    AfterSwitch {
        /// `namespace/name`.
        endpoint: String,
        /// The generation now active.
        generation: u64,
        /// What failed.
        #[source]
        source: Box<NodeError>,
    },
    /// A change of live maps failed and could not be undone completely: the maps may hold
    /// part of it.
    #[error(
        "{cause}\nROLLBACK FAILED: {} change(s) could not be undone, so the live maps may be MIXED (part of this change is still in them):\n  {}\nto rewrite every map from the artifact's images, run: {repair}",
        failures.len(),
        failures.join("\n  ")
    )]
    RollbackFailed {
        /// What stopped the change.
        cause: Box<NodeError>,
        /// Each change that could not be undone, and why.
        failures: Vec<String>,
        /// The command that restores the maps.
        repair: String,
    },
    /// A change of live maps stopped part-way (nothing to roll back to; `advice` says how to
    /// finish it).
    #[error("{cause}\n{advice}")]
    Incomplete {
        /// What stopped it.
        cause: Box<NodeError>,
        /// What state it left and what to run.
        advice: String,
    },
    /// A test hook asked the apply to fail at a step.
    #[error("test hook: apply failed on purpose at step {0}")]
    Hook(&'static str),
}

impl NodeError {
    /// An [`NodeError::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> NodeError {
        let path = path.into();
        move |source| NodeError::Io { path, source }
    }

    /// A [`NodeError::Kernel`] for `endpoint` doing `what`.
    pub fn kernel(
        endpoint: &str,
        what: impl Into<String>,
    ) -> impl FnOnce(libbpf_rs::Error) -> NodeError {
        let endpoint = endpoint.to_owned();
        let what = what.into();
        move |source| NodeError::Kernel {
            endpoint,
            what,
            source,
        }
    }
}
