//! The `policyc` binary driven as a user would: lint, diff, build --specialize, test and explain
//! with workload names.
//!
//! One test binary for the whole folder: every `tests/*.rs` file is a module here, so the
//! crates are linked once instead of once per file (build time and disk in CI).

mod cli_build;
mod cli_build_specialize;
mod cli_closed_pipe;
mod cli_completions;
mod cli_config;
mod cli_consistency;
mod cli_diff;
mod cli_help;
mod cli_inputs;
mod cli_lint;
mod cli_messages;
mod cli_support;
mod cli_test_formats;
mod cli_workloads;
