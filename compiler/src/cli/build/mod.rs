//! `policyc build --inventory INV -o OUT [--specialize] POLICY_PATHS...`: compiles policies into
//! the artifact directory (see `policyc_build`). Exit 0 built, 1 the inputs have error findings,
//! 2 usage or I/O error.

use std::path::PathBuf;
use std::process::ExitCode;

#[cfg(feature = "bpf")]
mod run;

#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// Inventory file or directory (endpoints, namespaces, nodes).
    #[arg(long, value_name = "INV")]
    pub inventory: PathBuf,
    /// Output artifact directory (created if missing).
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: PathBuf,
    /// Per endpoint, generate the policy decision as C (constants folded into a switch and port
    /// tree) and compile it with clang into its own object; endpoints with the same generated
    /// code share one object. Needs clang (clang-16) on PATH; objects are cached by content hash.
    #[arg(long)]
    pub specialize: bool,
    /// Object cache of --specialize (default $XDG_CACHE_HOME/policyc or ~/.cache/policyc).
    #[arg(long, value_name = "DIR", requires = "specialize")]
    pub cache_dir: Option<PathBuf>,
    /// clang for --specialize (default $CLANG, else clang-16, clang-19, clang on PATH).
    #[arg(long, value_name = "PATH", requires = "specialize")]
    pub clang: Option<PathBuf>,
    /// Cilium's allow-localhost: `always` (host may always reach local endpoints) or `policy`.
    #[arg(long, value_name = "MODE", default_value = "always", value_parser = ["always", "policy"])]
    pub allow_localhost: String,
    /// Cilium's enable-policy mode: `default`, `always` or `never`.
    #[arg(long, value_name = "MODE", default_value = "default", value_parser = ["default", "always", "never"])]
    pub enable_policy: String,
    /// Build even though fields refused by the field status table are used, for the gap CODE
    /// (repeatable): `host-policy`, `mutual-auth`, `runtime-peer-deny`, `server-names`,
    /// `envoy-listener`, ... (the refusal names it). Those fields then do not mean what they
    /// mean in Cilium; the manifest (`allowed_unenforced`) and the report name the codes.
    #[arg(long = "allow-unenforced", value_name = "CODE")]
    pub allow_unenforced: Vec<String>,
    /// Policy files or directories (`*.yaml|*.yml|*.json`, recursively).
    #[arg(required = true, value_name = "POLICY_PATHS")]
    pub policies: Vec<PathBuf>,
}

/// Builds the artifact; without feature `bpf` (the lint/test/explain/diff build of policyc,
/// made without clang or libbpf) says so and exits 2.
pub fn run(args: BuildArgs) -> ExitCode {
    #[cfg(feature = "bpf")]
    return run::run(args);
    #[cfg(not(feature = "bpf"))]
    {
        let _ = args;
        super::without_bpf("build")
    }
}
