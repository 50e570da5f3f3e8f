//! How long `policyc diff` takes on two 1,000-rule policy sets over a 1,000-endpoint inventory
//! (seeded generator; head = base with ~10% of the rules dropped and 100 new ones). Not a timed
//! assertion: run with `cargo test -p policyc-testsuite --release --test diff_scale -- --ignored
//! --nocapture` and read the figures (README, "policyc diff").

use policyc::diff::{render_markdown, semantic_diff, DiffSide};
use policyc_ir::universe::UniverseOptions;
use policyc_ir::{PolicyRule, RuleId};
use policyc_testsuite::gen::{self, Rng};
use std::time::Instant;

#[test]
#[ignore = "measurement, run explicitly with --ignored --nocapture"]
fn diff_two_thousand_rule_sets_over_a_thousand_endpoints() {
    let mut rng = Rng::new(2026);
    let inventory = gen::inventory(&mut rng, 1000);
    let base = gen::rules(&mut rng, 1000);
    let mut head: Vec<PolicyRule> = base.iter().filter(|_| !rng.chance(10)).cloned().collect();
    head.extend(gen::rules(&mut rng, 1000 - head.len()));
    for (i, r) in head.iter_mut().enumerate() {
        r.id = RuleId(u32::try_from(i).unwrap_or(u32::MAX));
    }
    let started = Instant::now();
    let report = semantic_diff(
        DiffSide {
            rules: &base,
            inventory: &inventory,
        },
        DiffSide {
            rules: &head,
            inventory: &inventory,
        },
        UniverseOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let diffed = started.elapsed();
    let markdown = render_markdown::render(&report);
    eprintln!(
        "endpoints {}, rules {} / {}: diff {:.2?} ({} rows, {} endpoints affected, {} risks); markdown {} chars",
        inventory.endpoints.len(),
        base.len(),
        head.len(),
        diffed,
        report.changes.len(),
        report.summary.endpoints_affected,
        report.risks.len(),
        markdown.len()
    );
    assert!(markdown.len() <= render_markdown::COMMENT_LIMIT);
}
