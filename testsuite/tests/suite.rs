//! Cross-crate tests: corpus acceptance, snapshots, oracle-vs-kernel differential tests, netns end-to-end tests.
//!
//! One test binary for the whole folder: every `tests/*.rs` file is a module here, so the
//! crates are linked once instead of once per file (build time and disk in CI).

mod artifact_format;
mod artifact_scale;
mod build_artifact;
mod build_report;
mod build_report_snapshot;
mod build_tables_agree_with_oracle;
mod corpus;
mod diagnostics_render;
mod diff_property;
mod diff_scale;
mod diff_scenarios;
mod differential_datapath;
mod differential_fqdn;
mod differential_hostile;
mod e2e_dns;
mod e2e_hostile;
mod e2e_l7;
mod e2e_loader;
mod e2e_loader_checks;
mod e2e_loader_concurrency;
mod e2e_loader_dry_run;
mod e2e_loader_endpoint_add;
mod e2e_loader_metrics;
mod e2e_loader_specialized;
mod explain_errors;
mod explain_snapshots;
mod flowtests_inventory;
mod flowtests_spec;
mod flowtests_suites;
mod flowtests_workloads;
mod flowtests_yaml_semantics;
mod fqdn_artifact;
mod frontend_invalid;
mod frontend_load;
mod frontend_lowering;
mod incremental_endpoint;
mod l7_filter_agrees_with_oracle;
mod l7_tables_agree_with_oracle;
mod lint_corpus;
mod lint_rules;
mod no_panic;
mod oracle_cilium_cases;
mod oracle_deny_table;
mod oracle_fqdn;
mod oracle_no_panic;
mod oracle_pitfalls;
mod oracle_semantics;
mod oracle_support;
mod resolver_incremental;
mod resolver_matches_oracle;
mod sarif_schema;
mod specialize;
