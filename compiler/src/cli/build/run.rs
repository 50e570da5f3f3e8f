//! The build itself (feature `bpf`): inputs → artifact, with progress on a terminal.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use policyc_backends::artifact::attach_checks::loader_refusals;
use policyc_build::specialize::{default_cache_dir, CacheStats, SpecializeOptions};
use policyc_build::{
    build_artifact_with, ArtifactSummary, BuildFailure, BuildProgress, BuildRequest,
};
use policyc_diagnostics::source::SourceMap;
use policyc_diagnostics::{render, Format, HumanOptions, RenderOptions};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::BuildArgs;

fn objects_progress_bar() -> ProgressBar {
    if !std::io::stderr().is_terminal() || super::super::quiet() {
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
    if !std::io::stderr().is_terminal() || super::super::quiet() {
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

pub(super) fn run(args: &BuildArgs, inventory: &Path, policies: &[PathBuf]) -> ExitCode {
    let missing: Vec<&Path> = std::iter::once(inventory)
        .chain(policies.iter().map(PathBuf::as_path))
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
        inventory: inventory.to_path_buf(),
        policies: policies.to_vec(),
        output: args.output.clone(),
        options: args.universe.options(),
        local_node: args.local_node.clone(),
        allow_unenforced: args.allow_unenforced.clone(),
    };
    let mut sources = SourceMap::default();
    let bar = progress_bar();
    let objects_bar = objects_progress_bar();
    let result = build_artifact_with(
        &request,
        specialize_options(args).as_ref(),
        &mut sources,
        &BuildProgress {
            on_start: &|n| bar.set_length(n as u64),
            on_endpoint_done: &|| bar.inc(1),
            on_objects: &|n| {
                bar.finish_and_clear();
                objects_bar.set_length(n as u64);
                if objects_bar.is_hidden() && !super::super::quiet() {
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
            for endpoint in &summary.manifest.endpoints {
                for warning in loader_refusals(endpoint) {
                    eprintln!("WARNING: {warning}");
                }
            }
            print_specialization(&summary, cache.as_ref());
            let t = &summary.report.totals;
            if super::super::quiet() {
                return ExitCode::SUCCESS;
            }
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
