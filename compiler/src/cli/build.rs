//! `policyc build --inventory INV -o OUT [--specialize] POLICY_PATHS...`: compiles policies into
//! the artifact directory (see `crate::build`). Exit 0 built, 1 the inputs have error findings,
//! 2 usage or I/O error.

use crate::build::{build_artifact, BuildFailure, BuildRequest};
use crate::diagnostics::{render, Format, HumanOptions, RenderOptions};
use crate::frontend::source::SourceMap;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use policyc_ir::universe::{AllowLocalhost, EnforcementMode, UniverseOptions};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// Inventory file or directory (endpoints, namespaces, nodes).
    #[arg(long, value_name = "INV")]
    pub inventory: PathBuf,
    /// Output artifact directory (created if missing).
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: PathBuf,
    /// Per-endpoint generated C compiled with clang (not available yet).
    #[arg(long)]
    pub specialize: bool,
    /// Cilium's allow-localhost: `always` (host may always reach local endpoints) or `policy`.
    #[arg(long, value_name = "MODE", default_value = "always", value_parser = ["always", "policy"])]
    pub allow_localhost: String,
    /// Cilium's enable-policy mode: `default`, `always` or `never`.
    #[arg(long, value_name = "MODE", default_value = "default", value_parser = ["default", "always", "never"])]
    pub enable_policy: String,
    /// Policy files or directories (`*.yaml|*.yml|*.json`, recursively).
    #[arg(required = true, value_name = "POLICY_PATHS")]
    pub policies: Vec<PathBuf>,
}

fn options(args: &BuildArgs) -> UniverseOptions {
    UniverseOptions {
        allow_localhost: if args.allow_localhost == "policy" {
            AllowLocalhost::Policy
        } else {
            AllowLocalhost::Always
        },
        enforcement: match args.enable_policy.as_str() {
            "always" => EnforcementMode::Always,
            "never" => EnforcementMode::Never,
            _ => EnforcementMode::Default,
        },
    }
}

fn progress_bar() -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("compiling {bar:30} {pos}/{len} endpoints") {
        bar.set_style(style);
    }
    bar
}

pub fn run(args: BuildArgs) -> ExitCode {
    if args.specialize {
        eprintln!("policyc build: --specialize (per-endpoint generated C) is not implemented yet; build without it");
        return ExitCode::from(2);
    }
    let missing: Vec<&PathBuf> = std::iter::once(&args.inventory)
        .chain(args.policies.iter())
        .filter(|p| !p.exists())
        .collect();
    if !missing.is_empty() {
        for path in missing {
            eprintln!(
                "policyc build: {}: no such file or directory",
                path.display()
            );
        }
        return ExitCode::from(2);
    }
    let request = BuildRequest {
        inventory: args.inventory.clone(),
        policies: args.policies.clone(),
        output: args.output.clone(),
        options: options(&args),
    };
    let mut sources = SourceMap::default();
    let bar = progress_bar();
    let result = build_artifact(
        &request,
        &mut sources,
        &|n| bar.set_length(n as u64),
        &|| bar.inc(1),
    );
    bar.finish_and_clear();
    let render_options = RenderOptions {
        human: HumanOptions::detect(),
        ..RenderOptions::default()
    };
    match result {
        Ok((summary, findings)) => {
            if !findings.is_empty() {
                eprint!(
                    "{}",
                    render(Format::Human, &findings, &sources, &render_options)
                );
            }
            for warning in &summary.manifest.warnings {
                eprintln!("WARNING: {warning}");
            }
            let t = &summary.report.totals;
            eprintln!(
                "built {} endpoint(s) into {}: {} policy-map entries vs {} in Cilium's encoding (Cilium/policyc = {:.2}x); see report.md",
                t.endpoints,
                args.output.display(),
                t.entries,
                t.cilium_entries,
                t.ratio
            );
            ExitCode::SUCCESS
        }
        Err(BuildFailure::Findings(findings)) => {
            eprint!(
                "{}",
                render(Format::Human, &findings, &sources, &render_options)
            );
            eprintln!("policyc build: the inputs have errors; nothing was written");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("policyc build: {e}");
            ExitCode::from(2)
        }
    }
}
