//! `policyc test`: run FlowTests files against the oracle; exit 0 when every test passes,
//! 1 when any fails, 2 when a file, inventory, policy or reference cannot be loaded.

use policyc_analysis::flowtest::{
    collect_files, render_github, render_json, render_junit, render_sarif, render_text, run_file,
    RunOptions, Summary,
};
use policyc_diagnostics::source::SourceMap;
use policyc_diagnostics::{render, Finding, Format, HumanOptions, RenderOptions};
use policyc_frontend::inventory::InventoryOptions;
use policyc_ir::universe::{AllowLocalhost, EnforcementMode, UniverseOptions};
use std::path::PathBuf;
use std::process::ExitCode;

const AFTER_HELP: &str = "\
FlowTests format (see FORMATS.md): `inventory` and `policies` relative to the file, and `tests`
with from/to (namespace/name, an IP address or an entity), protocol (TCP default, UDP, SCTP,
ICMP, ICMPv6), port or icmpType, optional http {method, path, host, headers}, dns {query},
resolvedFrom, and expect / expectEgress / expectIngress (allow | deny). `expect` judges the
forward direction of the flow (source egress AND destination ingress); replies of an allowed
connection always pass.

Examples:
  policyc test policy-examples/                    every FlowTests file under the directory
  policyc test flowtests.yaml --format junit > junit.xml
  policyc test flowtests.yaml --format github      annotations in a GitHub Actions job
  policyc test flowtests.yaml --allow-localhost policy

Exit status: 0 all tests pass, 1 a test fails, 2 a file, inventory, policy or reference
(unknown endpoint, bad address, unknown entity) cannot be loaded.";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TestFormat {
    /// One line per failing test and the summary `N passed, M failed`.
    Text,
    /// Every test with its verdict per side and its `location` (file:line:col).
    Json,
    /// JUnit XML for CI; each `<testcase>` has the `file` and `line` of its test.
    Junit,
    /// GitHub Actions annotations (`::error file=…,line=…`) at each failing test's line.
    Github,
    /// SARIF 2.1.0: one `PC0402` result per failing test at its line (code scanning).
    Sarif,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LocalhostArg {
    /// The local host may always reach local endpoints (Cilium's default in Kubernetes).
    Always,
    /// Host traffic is subject to ingress policy.
    Policy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EnforcementArg {
    /// Default-deny per direction once a rule selects the endpoint.
    Default,
    /// Default-deny everywhere, even without policy.
    Always,
    /// No enforcement.
    Never,
}

/// Cilium's agent settings that change what policy means, shared by `test`, `explain` and
/// `build` (one spelling of each flag in every command).
#[derive(Debug, Clone, clap::Args)]
pub struct UniverseArgs {
    /// Cilium's allow-localhost setting.
    #[arg(long, value_enum, default_value = "always")]
    pub allow_localhost: LocalhostArg,
    /// Cilium's policy enforcement mode (the agent's `--enable-policy`, also accepted here).
    #[arg(long, value_enum, default_value = "default", alias = "enable-policy")]
    pub policy_enforcement: EnforcementArg,
}

impl UniverseArgs {
    #[must_use]
    pub fn options(&self) -> UniverseOptions {
        UniverseOptions {
            allow_localhost: match self.allow_localhost {
                LocalhostArg::Always => AllowLocalhost::Always,
                LocalhostArg::Policy => AllowLocalhost::Policy,
            },
            enforcement: match self.policy_enforcement {
                EnforcementArg::Default => EnforcementMode::Default,
                EnforcementArg::Always => EnforcementMode::Always,
                EnforcementArg::Never => EnforcementMode::Never,
            },
        }
    }
}

/// Options of the evaluation, shared by `test` and `explain`.
#[derive(Debug, Clone, clap::Args)]
pub struct EvalArgs {
    #[command(flatten)]
    pub universe: UniverseArgs,
    /// The node whose addresses are `host` (default: the inventory's `local: true` node, else the first).
    #[arg(long, value_name = "NODE")]
    pub local_node: Option<String>,
}

impl EvalArgs {
    pub fn run_options(&self) -> RunOptions {
        RunOptions {
            universe: self.universe.options(),
            inventory: InventoryOptions {
                local_node: self.local_node.clone(),
            },
        }
    }
}

#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct TestArgs {
    /// FlowTests files, or directories (every `kind: FlowTests` YAML file under them).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: TestFormat,
    #[command(flatten)]
    pub eval: EvalArgs,
    /// Also run every case without an HTTP/Kafka request through the compiled BPF objects
    /// (BPF_PROG_TEST_RUN); `resolvedFrom:` and `dns:` cases go through the endpoint's DNS
    /// object too.
    #[arg(long)]
    pub datapath: bool,
    /// With --datapath: run the endpoints' `--specialize` objects (generated C compiled with
    /// clang) instead of the template.
    #[arg(long, requires = "datapath")]
    pub specialize: bool,
    /// Object cache of --specialize (default $XDG_CACHE_HOME/policyc or ~/.cache/policyc).
    #[arg(long, value_name = "DIR", requires = "specialize")]
    pub cache_dir: Option<PathBuf>,
}

/// Prints findings as the human report on stderr.
pub(crate) fn print_findings(findings: &[Finding], sources: &SourceMap) {
    let options = RenderOptions {
        human: HumanOptions::detect(),
        ..RenderOptions::default()
    };
    eprint!("{}", render(Format::Human, findings, sources, &options));
}

pub fn run(args: TestArgs) -> ExitCode {
    let mut sources = SourceMap::new();
    let files = match collect_files(&args.files) {
        Ok(f) => f,
        Err(findings) => {
            print_findings(&findings, &sources);
            return ExitCode::from(2);
        }
    };
    let options = args.eval.run_options();
    let mut reports = Vec::new();
    let mut load_errors = Vec::new();
    for file in &files {
        match run_file(file, &options, &mut sources) {
            Ok(r) => reports.extend(r),
            Err(f) => load_errors.extend(f),
        }
    }
    // A run with a file that did not load has no meaningful summary ("0 passed, 0 failed"):
    // only the load errors are printed.
    if !load_errors.is_empty() {
        print_findings(&load_errors, &sources);
        return ExitCode::from(2);
    }
    let out = match args.format {
        TestFormat::Text => render_text(&reports, &sources),
        TestFormat::Json => render_json(&reports, &sources),
        TestFormat::Junit => render_junit(&reports, &sources),
        TestFormat::Github => render_github(&reports, &sources),
        TestFormat::Sarif => render_sarif(&reports, &sources),
    };
    // -q: the report without its summary line `N passed, M failed`.
    let out = if super::quiet() && matches!(args.format, TestFormat::Text | TestFormat::Github) {
        let body = out.trim_end_matches('\n');
        match body.rfind('\n') {
            Some(i) => body[..=i].to_string(),
            None => String::new(),
        }
    } else {
        out
    };
    print!("{out}");
    if matches!(args.format, TestFormat::Json | TestFormat::Sarif) && !out.ends_with('\n') {
        println!();
    }
    // `--datapath` replays each test without an HTTP/Kafka request through the compiled BPF
    // objects (and DNS objects) in the kernel and fails on any disagreement with the oracle.
    let datapath_failed = if args.datapath {
        match super::test_datapath::run(
            &super::test_datapath::DatapathArgs {
                specialize: args.specialize,
                cache_dir: args.cache_dir.clone(),
            },
            &reports,
            &options,
            &mut sources,
        ) {
            Ok(failed) => failed,
            Err(code) => return code,
        }
    } else {
        false
    };
    if Summary::of(&reports).failed > 0 || datapath_failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
