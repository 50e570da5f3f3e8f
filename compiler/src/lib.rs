//! policyc: the `policyc` command on top of the pipeline crates.
//!
//! `policyc-diagnostics` (sources, spans, findings, renderers) ← `policyc-frontend` (YAML,
//! schema, validation, lowering, inventory, identities) ← `policyc-lint`, `policyc-compile`
//! (resolve, optimize, DNS classes, artifact) ← `policyc-analysis` (diff, FlowTests, explain);
//! [`cli`] is the edge. [`kernel`] (feature `bpf`) runs compiled programs under
//! BPF_PROG_TEST_RUN through `policyc-kernel`: `test --datapath` and the kernel checks.
//! See `docs/architecture.md`.

pub mod cli;
pub mod config;
#[cfg(feature = "bpf")]
pub mod kernel;
mod paths;
