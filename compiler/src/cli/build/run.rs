//! The build itself (feature `bpf`): inputs → artifact, with progress on a terminal.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use policyc_build::specialize::{default_cache_dir, CacheStats, SpecializeOptions};
use policyc_build::{
    build_artifact_with, ArtifactSummary, BuildFailure, BuildProgress, BuildRequest,
};
use policyc_diagnostics::source::SourceMap;
use policyc_diagnostics::{render, Format, HumanOptions, RenderOptions};
use policyc_ir::universe::{AllowLocalhost, EnforcementMode, UniverseOptions};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use super::BuildArgs;

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

fn objects_progress_bar() -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("specializing {bar:30} {pos}/{len} objects (clang)")
    {
        bar.set_style(style);
    }
    bar
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

fn specialize_options(args: &BuildArgs) -> Option<SpecializeOptions> {
    args.specialize.then(|| SpecializeOptions {
        cache_dir: args.cache_dir.clone().unwrap_or_else(default_cache_dir),
        clang: args.clang.clone(),
        ..SpecializeOptions::default()
    })
}

fn print_specialization(summary: &ArtifactSummary, cache: Option<&CacheStats>) {
    let Some(report) = &summary.report.specialization else {
        return;
    };
    let specialized = report.endpoints.iter().filter(|e| e.specialized).count();
    eprintln!(
        "specialized {specialized} of {} endpoint(s) into {} object(s){}",
        report.endpoints.len(),
        report.objects,
        cache.map_or(String::new(), |c| format!(
            " ({} compiled with clang, {} from the cache)",
            c.compiled, c.cache_hits
        ))
    );
    for e in report.endpoints.iter().filter(|e| !e.specialized) {
        eprintln!("WARNING: {} runs the template: {}", e.name, e.why);
    }
    for failure in cache
        .map(|c| c.store_failures.as_slice())
        .unwrap_or_default()
    {
        eprintln!("WARNING: cannot store a compiled object in the cache: {failure}");
    }
}

pub(super) fn run(args: BuildArgs) -> ExitCode {
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
        allow_unenforced: args.allow_unenforced.clone(),
    };
    let mut sources = SourceMap::default();
    let bar = progress_bar();
    let objects_bar = objects_progress_bar();
    let result = build_artifact_with(
        &request,
        specialize_options(&args).as_ref(),
        &mut sources,
        &BuildProgress {
            on_start: &|n| bar.set_length(n as u64),
            on_endpoint_done: &|| bar.inc(1),
            on_objects: &|n| {
                bar.finish_and_clear();
                objects_bar.set_length(n as u64);
                if objects_bar.is_hidden() {
                    eprintln!(
                        "specialize: {n} distinct object(s) to compile or take from the cache"
                    );
                }
            },
            on_object_done: &|| objects_bar.inc(1),
        },
    );
    bar.finish_and_clear();
    objects_bar.finish_and_clear();
    let render_options = RenderOptions {
        human: HumanOptions::detect(),
        ..RenderOptions::default()
    };
    match result {
        Ok((summary, findings, cache)) => {
            if !findings.is_empty() {
                eprint!(
                    "{}",
                    render(Format::Human, &findings, &sources, &render_options)
                );
            }
            for warning in &summary.manifest.warnings {
                eprintln!("WARNING: {warning}");
            }
            print_specialization(&summary, cache.as_ref());
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
        Err(BuildFailure::Specialize(e)) => {
            eprintln!("policyc build: {:?}", miette::Report::new(e));
            ExitCode::from(2)
        }
        Err(e @ BuildFailure::Refused(_)) => {
            eprintln!("policyc build: {e}");
            eprintln!("policyc build: nothing was written");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("policyc build: {e}");
            ExitCode::from(2)
        }
    }
}
