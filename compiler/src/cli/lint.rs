//! `policyc lint`: load policies, run validation and the semantic lints, apply suppressions,
//! render the findings in the chosen format, and exit 0 (clean), 1 (findings at or above the
//! fail level) or 2 (usage or I/O error).

use crate::config::lint_rules::FailLevel as ConfigFailLevel;
use crate::config::Config;
use policyc_diagnostics::source::SourceMap;
use policyc_diagnostics::{
    codes, count_at_or_above, did_you_mean, render, sort_findings, Finding, Format, HumanOptions,
    RenderOptions, Severity, Summary,
};
use policyc_frontend::inventory::{load_inventory, Inventory, InventoryOptions};
use policyc_frontend::load::load_policies_where;
use policyc_frontend::FrontendOptions;
use policyc_lint::{lint_policy_set, ClusterAddresses};
use std::path::PathBuf;
use std::process::ExitCode;

const AFTER_HELP: &str = "\
Examples:
  policyc lint                                  lint every *.yaml|*.yml|*.json under .
  policyc lint policies/ --format concise       one line per finding (path:line:col)
  policyc lint policies/ --fail-level warning   fail the CI job on warnings too
  policyc lint policies/ --format sarif --output policyc.sarif   GitHub code scanning
  policyc lint policies/ --format github        ::error/::warning annotations in Actions
  policyc lint policies/ --inventory cluster/   also check CIDRs against pod and node IPs
  policyc lint --explain PC0301                 what a code means and how to fix it
  policyc lint --explain shadowed-rule          the same, by name
  policyc lint --list-rules                     every code: name, default severity, summary
  policyc lint --no-config policies/            ignore .policyc.yaml / .policyc.toml

Configuration: `.policyc.yaml` or `.policyc.toml` in the working directory or a parent (up to the
git root), or --config PATH, sets the default inventory and policy paths, `exclude` globs, and
`lint: {enable, disable, severity, fail-level}` (see docs/formats.md). Command-line values win.

Suppressing findings (per policy object, warnings and infos only):
  metadata:
    annotations:
      policyc.io/ignore: \"PC0311: public ingress gateway; PC0302, PC0301: DNS via ccnp/allow-dns\"
  Entries are separated by `;` or new lines: codes (ids or names, comma-separated), then an
  optional `: reason`. Codes without a reason take `policyc.io/ignore-reason`; a suppression with
  no reason at all still applies but is reported (PC0315), unknown codes are reported (PC0316).

Exit status: 0 no finding at or above the fail level (infos never fail), 1 findings,
2 usage or I/O error (e.g. a path that does not exist).";

/// The severities that can fail a run (infos never do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailLevel {
    Error,
    Warning,
}

impl FailLevel {
    fn severity(self) -> Severity {
        match self {
            FailLevel::Error => Severity::Error,
            FailLevel::Warning => Severity::Warning,
        }
    }
}

/// `--format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    /// Graphical report with code, message, labelled snippet and help.
    Human,
    /// One line per finding: `path:line:col: severity[CODE] message`.
    Concise,
    /// A JSON document with every finding and its locations.
    Json,
    /// SARIF 2.1.0 for GitHub code scanning and other SARIF consumers.
    Sarif,
    /// GitHub Actions workflow commands (`::error file=...`).
    Github,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Human => Format::Human,
            FormatArg::Concise => Format::Concise,
            FormatArg::Json => Format::Json,
            FormatArg::Sarif => Format::Sarif,
            FormatArg::Github => Format::Github,
        }
    }
}

#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct LintArgs {
    /// Policy files or directories (searched recursively for *.yaml, *.yml, *.json; default:
    /// the configuration's `policies`, else `.`).
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: FormatArg,
    /// Lowest severity that makes the command exit 1 (default: the configuration's
    /// `lint.fail-level`, else `error`).
    #[arg(long, value_enum)]
    pub fail_level: Option<FailLevel>,
    /// Inventory (policyc/v1 file or directory, or Kubernetes Pod/Node/Namespace manifests);
    /// enables the lints that need cluster addresses (default: the configuration's `inventory`).
    #[arg(long, value_name = "INV")]
    pub inventory: Option<PathBuf>,
    /// Local cluster name used when scoping selectors.
    #[arg(long, default_value = "default")]
    pub cluster_name: String,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Print the name, default severity and explanation of a code (an id such as PC0301 or a
    /// name such as shadowed-rule) and exit; without a code, list every code.
    #[arg(long, value_name = "CODE", num_args = 0..=1, default_missing_value = "")]
    pub explain: Option<String>,
    /// List every code (id, name, default severity, one-line summary) and exit.
    #[arg(long, conflicts_with = "explain")]
    pub list_rules: bool,
}

/// `--list-rules` (and `--explain` without a code): one line per code, aligned.
fn list_rules() -> ExitCode {
    let name_width = codes::ALL.iter().map(|c| c.name.len()).max().unwrap_or(0);
    println!(
        "{:<6}  {:<name_width$}  {:<8}  SUMMARY",
        "CODE", "NAME", "SEVERITY"
    );
    for code in codes::ALL {
        println!(
            "{:<6}  {:<name_width$}  {:<8}  {}",
            code.id,
            code.name,
            code.default_severity.as_str(),
            code.summary
        );
    }
    ExitCode::SUCCESS
}

/// `--explain CODE`: the code's documentation, or exit 2 with a suggestion.
fn explain(code: &str) -> ExitCode {
    match codes::lookup(code) {
        Some(code) => {
            println!(
                "{} {} ({}, {})\n",
                code.id,
                code.name,
                code.default_severity,
                code.category()
            );
            println!("{}.\n", code.summary);
            println!("{}", code.explanation);
            ExitCode::SUCCESS
        }
        None => {
            let ids: Vec<&str> = codes::ALL
                .iter()
                .map(|c| c.id)
                .chain(codes::ALL.iter().map(|c| c.name))
                .collect();
            let hint = did_you_mean(&code.to_ascii_uppercase(), ids.iter())
                .or_else(|| did_you_mean(code, ids.iter()))
                .map(|h| format!("; {h}"))
                .unwrap_or_default();
            eprintln!("policyc lint: unknown code `{code}`{hint}");
            ExitCode::from(2)
        }
    }
}

/// Every pod and node address of an inventory, labelled for messages, and the pods' labels.
#[must_use]
pub fn cluster_addresses(inventory: &Inventory) -> ClusterAddresses {
    ClusterAddresses::from_inventory(inventory)
}

fn print_findings(findings: &[Finding], sources: &SourceMap) {
    eprint!(
        "{}",
        render(Format::Human, findings, sources, &RenderOptions::default())
    );
}

pub fn run(args: LintArgs, config: &Config) -> ExitCode {
    if args.list_rules || args.explain.as_deref() == Some("") {
        return list_rules();
    }
    if let Some(code) = &args.explain {
        return explain(code);
    }
    let paths = config.policy_paths(&args.paths, &["."]);
    if let Some(missing) = paths.iter().find(|p| !p.exists()) {
        eprintln!("policyc lint: `{}` does not exist", missing.display());
        return ExitCode::from(2);
    }
    let fail_level = args
        .fail_level
        .or(config.lint.fail_level.map(|l| match l {
            ConfigFailLevel::Error => FailLevel::Error,
            ConfigFailLevel::Warning => FailLevel::Warning,
        }))
        .unwrap_or(FailLevel::Error);
    let mut sources = SourceMap::new();
    let inventory = args.inventory.as_ref().or(config.inventory.as_ref());
    let mut from_inventory = FrontendOptions::default();
    let cluster = match inventory {
        None => None,
        Some(path) => match load_inventory(path, &InventoryOptions::default(), &mut sources) {
            Ok(inventory) => {
                // Secrets, Services/CIDR groups and enableNodeSelectorLabels; the cluster name
                // stays the flag's.
                from_inventory = FrontendOptions::for_inventory(&inventory);
                Some(cluster_addresses(&inventory))
            }
            Err(findings) => {
                eprintln!("policyc lint: cannot use inventory `{}`:", path.display());
                print_findings(&findings, &sources);
                return ExitCode::from(2);
            }
        },
    };
    let options = FrontendOptions {
        cluster_name: args.cluster_name.clone(),
        ..from_inventory
    };
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let keep = |p: &std::path::Path| !config.exclude.excludes(p, &cwd);
    let set = load_policies_where(&paths, &keep, &options, &mut sources);
    let mut findings = lint_policy_set(&set, &sources, cluster.as_ref());
    config.lint.apply(&mut findings);
    sort_findings(&mut findings, &sources);

    let format = Format::from(args.format);
    let human = if args.output.is_some() {
        HumanOptions::default()
    } else {
        HumanOptions::detect()
    };
    let mut report = render(
        format,
        &findings,
        &sources,
        &RenderOptions {
            human,
            ..RenderOptions::default()
        },
    );
    if matches!(format, Format::Human | Format::Concise) && !super::quiet() {
        let files = set.files.len();
        report.push_str(&format!(
            "{} in {files} file{}\n",
            Summary::of(&findings).line(),
            if files == 1 { "" } else { "s" }
        ));
    }
    match &args.output {
        Some(path) => {
            if let Err(err) = std::fs::write(path, &report) {
                eprintln!("policyc lint: cannot write `{}`: {err}", path.display());
                return ExitCode::from(2);
            }
        }
        None => print!("{report}"),
    }
    if count_at_or_above(&findings, fail_level.severity()) > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
