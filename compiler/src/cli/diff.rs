//! `policyc diff`: load the base and head policies (paths or git revisions), the inventory
//! (optionally a different one for head), compute the semantic diff and print it as text,
//! markdown (PR comment) or JSON. Exit 0 (no semantic change, or no `--exit-code`), 1 (semantic
//! change with `--exit-code`), 2 (usage, I/O, git or inventory error, or a side with files that
//! do not load: YAML errors, unknown kinds...).

use crate::config::Config;
use policyc_analysis::diff::{
    diff_loaded, load_side, render_json, render_markdown, render_text, DiffError, PolicySource,
};
use policyc_diagnostics::source::SourceMap;
use policyc_diagnostics::Finding;
use policyc_diagnostics::{render, Format, RenderOptions};
use policyc_frontend::inventory::{load_inventory, Inventory, InventoryOptions};
use policyc_frontend::FrontendOptions;
use policyc_ir::universe::UniverseOptions;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const AFTER_HELP: &str = "\
Examples:
  policyc diff --inventory inventory.yaml --base old/ --head new/
  policyc diff --inventory inventory.yaml --base origin/main --paths policies/ --format markdown
      (base: policies/ at origin/main; head: policies/ in the working tree)
  policyc diff --inventory inv.yaml --head-inventory inv-next.yaml --base policies/ --head policies/
      (same policies, changed labels: label-driven changes)
  policyc diff ... --format json --exit-code   exit 1 when the meaning changed

BASE and HEAD are files, directories, or git revisions of the repository in the current directory
(read at --paths). Exit status: 0 no semantic change (or no --exit-code), 1 semantic change with
--exit-code, 2 error (including a base or head file that does not load: a YAML error is
never shown as its policies being removed).";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DiffFormat {
    /// One line per change.
    Text,
    /// A pull-request comment with a hidden `<!-- policyc:diff -->` marker.
    Markdown,
    /// The report as JSON (schema version 1, see README).
    Json,
}

#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct DiffArgs {
    /// Inventory of the cluster (policyc/v1 or Kubernetes manifests, file or directory;
    /// default: the configuration's `inventory`).
    #[arg(long, value_name = "INV")]
    pub inventory: Option<PathBuf>,
    /// Inventory for the head side (default: --inventory); shows label-driven changes.
    #[arg(long, value_name = "INV")]
    pub head_inventory: Option<PathBuf>,
    /// The old policies: a file, a directory, or a git revision (read at --paths).
    #[arg(long, value_name = "BASE")]
    pub base: String,
    /// The new policies (default: --paths in the working tree).
    #[arg(long, value_name = "HEAD")]
    pub head: Option<String>,
    /// Policy paths inside the repository for git revisions and the default head (default: the
    /// configuration's `policies`, else `.`).
    #[arg(long, value_name = "PATH", num_args = 1..)]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: DiffFormat,
    /// Exit 1 when the policies' meaning changed.
    #[arg(long)]
    pub exit_code: bool,
    /// Local cluster name used when scoping selectors.
    #[arg(long, default_value = "default")]
    pub cluster_name: String,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("policyc diff: error: {message}");
    ExitCode::from(2)
}

fn inventory(path: &Path, sources: &mut SourceMap) -> Result<Inventory, String> {
    load_inventory(path, &InventoryOptions::default(), sources).map_err(|findings| {
        render(
            Format::Concise,
            &findings,
            sources,
            &RenderOptions::default(),
        )
    })
}

/// Exit 2 with every located error of the side(s) that did not load, whatever `--format`:
/// a report without those files would show their policies as removed.
fn not_loaded(sides: &[(&'static str, Vec<Finding>)], sources: &SourceMap) -> ExitCode {
    for (side, findings) in sides {
        eprintln!(
            "policyc diff: error: the {side} policies do not load; fix these errors (the diff would otherwise show their policies as removed):\n{}",
            render(Format::Concise, findings, sources, &RenderOptions::default()).trim_end()
        );
    }
    ExitCode::from(2)
}

pub fn run(args: DiffArgs, config: &Config) -> ExitCode {
    let mut sources = SourceMap::new();
    let Some(base_inventory) = args.inventory.as_ref().or(config.inventory.as_ref()) else {
        return fail("no inventory: pass --inventory INV or set `inventory` in .policyc.yaml");
    };
    let paths = config.policy_paths(&args.paths, &["."]);
    let base_inventory = match inventory(base_inventory, &mut sources) {
        Ok(i) => i,
        Err(text) => return fail(format!("invalid inventory\n{text}")),
    };
    let head_inventory = match &args.head_inventory {
        Some(path) => match inventory(path, &mut sources) {
            Ok(i) => i,
            Err(text) => return fail(format!("invalid head inventory\n{text}")),
        },
        None => base_inventory.clone(),
    };
    let base_source = match PolicySource::detect(&args.base, &paths) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let head_source = match &args.head {
        Some(spec) => match PolicySource::detect(spec, &paths) {
            Ok(s) => s,
            Err(e) => return fail(e),
        },
        None => PolicySource::Paths(paths.clone()),
    };
    // Each side reads its policies with its own inventory's Secrets, Services and CIDR groups.
    let side_options = |inventory: &Inventory| FrontendOptions {
        cluster_name: args.cluster_name.clone(),
        ..FrontendOptions::for_inventory(inventory)
    };
    let base = match load_side(&base_source, &side_options(&base_inventory), &mut sources) {
        Ok(b) => b,
        Err(e) => return fail(e),
    };
    let head = match load_side(&head_source, &side_options(&head_inventory), &mut sources) {
        Ok(h) => h,
        Err(e) => return fail(e),
    };
    let report = match diff_loaded(
        &base,
        &head,
        &base_inventory,
        &head_inventory,
        UniverseOptions::default(),
    ) {
        Ok(r) => r,
        Err(DiffError::NotLoaded { sides }) => return not_loaded(&sides, &sources),
        Err(e) => return fail(e),
    };
    let text = match args.format {
        DiffFormat::Text => render_text::render(&report),
        DiffFormat::Markdown => render_markdown::render(&report),
        DiffFormat::Json => render_json::render(&report),
    };
    match &args.output {
        Some(path) => {
            if let Err(e) = std::fs::write(path, text) {
                return fail(format!("cannot write {}: {e}", path.display()));
            }
        }
        None => print!("{text}"),
    }
    if args.exit_code && report.semantic_change {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
