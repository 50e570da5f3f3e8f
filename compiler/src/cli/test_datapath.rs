//! `policyc test --datapath` (feature `bpf`): each FlowTests case without an HTTP/Kafka
//! request replayed through the compiled BPF objects (and DNS objects) in the kernel, failing on
//! any disagreement with the oracle (`crate::kernel::flowtest`). Without the feature, a clear
//! refusal (exit 2): that build of policyc has no BPF objects to run.

use std::process::ExitCode;

use policyc_analysis::flowtest::{RunOptions, SuiteReport};
use policyc_diagnostics::source::SourceMap;

use std::path::PathBuf;

/// The `--datapath` flags of `policyc test`.
#[cfg_attr(not(feature = "bpf"), allow(dead_code))]
pub(super) struct DatapathArgs {
    /// `--specialize`: run generated objects instead of the template.
    pub specialize: bool,
    /// `--cache-dir` of `--specialize`.
    pub cache_dir: Option<PathBuf>,
}

/// Runs `--datapath`: `Ok(true)` when the kernel disagreed with the oracle somewhere,
/// `Err(exit code)` when it could not run.
#[cfg(feature = "bpf")]
pub(super) fn run(
    args: &DatapathArgs,
    reports: &[SuiteReport],
    options: &RunOptions,
    sources: &mut SourceMap,
) -> Result<bool, ExitCode> {
    let specialize = args
        .specialize
        .then(|| policyc_build::specialize::SpecializeOptions {
            cache_dir: args
                .cache_dir
                .clone()
                .unwrap_or_else(policyc_build::specialize::default_cache_dir),
            ..Default::default()
        });
    match crate::kernel::flowtest::check_reports_with(
        reports,
        options,
        specialize.as_ref(),
        sources,
    ) {
        Ok(summary) => {
            for failure in &summary.failures {
                println!("{failure}");
            }
            println!("{}", datapath_summary_line(&summary, args.specialize));
            Ok(!summary.failures.is_empty())
        }
        Err(e) => {
            eprintln!("policyc test --datapath: {e}");
            Err(ExitCode::from(2))
        }
    }
}

/// Without feature `bpf`: `--datapath` cannot run, and says why.
#[cfg(not(feature = "bpf"))]
pub(super) fn run(
    _args: &DatapathArgs,
    _reports: &[SuiteReport],
    _options: &RunOptions,
    _sources: &mut SourceMap,
) -> Result<bool, ExitCode> {
    Err(super::without_bpf("test --datapath"))
}

#[cfg(feature = "bpf")]
/// The `--datapath` summary: cases run in the kernel (sides, DNS cases among them),
/// disagreements, and the cases not run with their reasons.
fn datapath_summary_line(
    summary: &crate::kernel::flowtest::DatapathSummary,
    specialize: bool,
) -> String {
    let skipped = if summary.skipped.is_empty() {
        "0 skipped".to_string()
    } else {
        let reasons: Vec<String> = summary
            .skipped
            .iter()
            .map(|(reason, n)| format!("{n} {}", reason.describe()))
            .collect();
        format!(
            "{} skipped: {}",
            summary.cases_skipped(),
            reasons.join(", ")
        )
    };
    format!(
        "datapath{}: {} case(s) run in the kernel ({} endpoint side(s)), {} of them DNS cases (resolvedFrom:/dns: through the DNS object), {} disagreement(s); {skipped}",
        if specialize { " (--specialize)" } else { "" },
        summary.cases_checked,
        summary.sides_checked,
        summary.dns_cases,
        summary.failures.len(),
    )
}

#[cfg(all(test, feature = "bpf"))]
mod tests {
    use super::datapath_summary_line;
    use crate::kernel::flowtest::{DatapathSummary, SkipReason};

    #[test]
    fn summary_counts_kernel_cases_dns_cases_and_skips_per_reason() {
        let mut summary = DatapathSummary {
            cases_checked: 47,
            sides_checked: 72,
            dns_cases: 11,
            ..DatapathSummary::default()
        };
        summary.skipped.insert(SkipReason::L7Request, 5);
        summary.skipped.insert(SkipReason::DnsNotUdp53, 1);
        assert_eq!(
            datapath_summary_line(&summary, false),
            "datapath: 47 case(s) run in the kernel (72 endpoint side(s)), 11 of them DNS cases (resolvedFrom:/dns: through the DNS object), 0 disagreement(s); 6 skipped: 5 HTTP/Kafka case(s) (the L7 proxy judges them), 1 dns: case(s) not on UDP/53"
        );
    }

    #[test]
    fn summary_without_skips_says_none_were_skipped() {
        let summary = DatapathSummary {
            cases_checked: 2,
            sides_checked: 3,
            ..DatapathSummary::default()
        };
        let line = datapath_summary_line(&summary, true);
        assert!(
            line.starts_with("datapath (--specialize): 2 case(s)"),
            "{line}"
        );
        assert!(line.ends_with("0 disagreement(s); 0 skipped"), "{line}");
    }
}
