//! `policyc build --inventory INV -o OUT [--specialize] POLICY_PATHS...`: compiles policies into
//! the artifact directory (see `policyc_build`). Exit 0 built, 1 the inputs have error findings,
//! 2 usage or I/O error.

use super::test::UniverseArgs;
use crate::config::Config;
use std::path::PathBuf;
use std::process::ExitCode;

#[cfg(feature = "bpf")]
mod run;

const AFTER_HELP: &str = "\
Examples:
  policyc build --inventory inventory.yaml -o out/ policies/
  policyc build --inventory cluster/ --local-node node-1 -o out/node-1 policies/
      (the artifact of one node: its addresses are `host`)
  policyc build --inventory inventory.yaml -o out/ --specialize policies/
  policyc build -o out/        (inventory and policies from .policyc.yaml)
  sudo policy-loader apply out/

The artifact (manifest.json, per-endpoint objects and map images, report.md) is what
`policy-loader apply` installs. Warnings name endpoints the loader will refuse (no interface,
DNS rules on a cgroup attach).

Exit status: 0 built, 1 the inputs have errors (nothing is written), 2 usage or I/O error.";

#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct BuildArgs {
    /// Inventory file or directory (endpoints, namespaces, nodes; default: the configuration's
    /// `inventory`).
    #[arg(long, value_name = "INV")]
    pub inventory: Option<PathBuf>,
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
    #[command(flatten)]
    pub universe: UniverseArgs,
    /// The node this artifact is for: its addresses are `host`, the other nodes' are
    /// `remote-node` (default: the inventory's `local: true` node, else the first).
    #[arg(long, value_name = "NODE")]
    pub local_node: Option<String>,
    /// Build even though fields refused by the field status table are used, for the gap CODE
    /// (repeatable): `host-policy`, `mutual-auth`, `runtime-peer-deny`, `server-names`,
    /// `envoy-listener`, ... (the refusal names it). Those fields then do not mean what they
    /// mean in Cilium; the manifest (`allowed_unenforced`) and the report name the codes.
    #[arg(long = "allow-unenforced", value_name = "CODE")]
    pub allow_unenforced: Vec<String>,
    /// Policy files or directories (`*.yaml|*.yml|*.json`, recursively; default: the
    /// configuration's `policies`).
    #[arg(value_name = "POLICY_PATHS")]
    pub policies: Vec<PathBuf>,
}

/// Builds the artifact; without feature `bpf` (the lint/test/explain/diff build of policyc,
/// made without clang or libbpf) says so and exits 2.
pub fn run(args: BuildArgs, config: &Config) -> ExitCode {
    let Some(inventory) = args.inventory.clone().or(config.inventory.clone()) else {
        eprintln!(
            "policyc build: no inventory: pass --inventory INV or set `inventory` in .policyc.yaml"
        );
        return ExitCode::from(2);
    };
    let policies = config.policy_paths(&args.policies, &[]);
    if policies.is_empty() {
        eprintln!(
            "policyc build: no policies: pass POLICY_PATHS or set `policies` in .policyc.yaml"
        );
        return ExitCode::from(2);
    }
    #[cfg(feature = "bpf")]
    return run::run(&args, &inventory, &policies);
    #[cfg(not(feature = "bpf"))]
    {
        let _ = (args, inventory, policies);
        super::without_bpf("build")
    }
}
