//! How long `policyc diff` takes at scale. Not timed assertions: run with
//! `cargo test -p policyc-testsuite --test diff_scale -- --ignored --nocapture` and read the
//! figures (README, "policyc diff").
//!
//! - `thousand_policies_over_thousand_endpoints`: 100 team namespaces × 10 apps (one identity
//!   per pod), one CNP per app (1,000 rules) loaded through the frontend from YAML; head changes
//!   10% of them (wider ranges, wider selectors, a few world exposures).
//! - `dense_random_rules`: the seeded random generator (every endpoint selected by hundreds of
//!   overlapping rules with random ranges) — a worst case for the resolution.

use policyc_analysis::diff::{lower_texts, render_markdown, semantic_diff, DiffReport, DiffSide};
use policyc_diagnostics::source::SourceMap;
use policyc_frontend::inventory::{Inventory, InventoryEndpoint, InventoryNamespace};
use policyc_frontend::FrontendOptions;
use policyc_ir::universe::UniverseOptions;
use policyc_ir::{PolicyRule, RuleId};
use policyc_testsuite::gen::{self, Rng};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

const TEAMS: usize = 100;
const APPS: usize = 10;

fn inventory() -> Inventory {
    let mut inv = Inventory {
        cluster: "default".to_string(),
        ..Inventory::default()
    };
    for t in 0..TEAMS {
        let ns = format!("team-{t}");
        let labels = BTreeMap::from([(
            "tier".to_string(),
            if t % 2 == 0 { "gold" } else { "silver" }.to_string(),
        )]);
        inv.namespaces.insert(
            ns.clone(),
            InventoryNamespace {
                name: ns.clone(),
                labels,
                span: None,
            },
        );
        for a in 0..APPS {
            let n = t * APPS + a;
            let (hi, lo) = (
                u8::try_from(n / 250 + 1).unwrap_or(255),
                u8::try_from(n % 250 + 1).unwrap_or(255),
            );
            inv.endpoints.push(InventoryEndpoint {
                namespace: ns.clone(),
                name: format!("app-{a}"),
                labels: BTreeMap::from([("app".to_string(), format!("app-{a}"))]),
                service_account: None,
                ips: vec![IpAddr::V4(Ipv4Addr::new(198, 18, hi, lo))],
                named_ports: BTreeMap::new(),
                interface: None,
                span: None,
                namespace_span: None,
                ip_spans: Vec::new(),
            });
        }
    }
    inv
}

/// One CNP per app; `changed` apps get a wider range, a wider selector or world exposure.
fn policies(changed: bool) -> String {
    let mut out = String::new();
    for t in 0..TEAMS {
        for a in 0..APPS {
            let touched = changed && (t * APPS + a) % 10 == 3;
            let port = 8000 + a;
            let (peer, ports) = match (touched, t % 3) {
                (false, _) => (
                    format!(
                        "fromEndpoints: [{{matchLabels: {{app: app-{}}}}}]",
                        (a + 9) % APPS
                    ),
                    format!("[{{port: \"{port}\", protocol: TCP}}]"),
                ),
                (true, 0) => (
                    format!(
                        "fromEndpoints: [{{matchLabels: {{app: app-{}}}}}]",
                        (a + 9) % APPS
                    ),
                    format!(
                        "[{{port: \"{port}\", endPort: {}, protocol: TCP}}]",
                        port + 50
                    ),
                ),
                (true, 1) => (
                    "fromEndpoints: [{}]".to_string(),
                    format!("[{{port: \"{port}\", protocol: TCP}}]"),
                ),
                (true, _) => (
                    "fromEntities: [world]".to_string(),
                    "[{port: \"443\", protocol: TCP}]".to_string(),
                ),
            };
            out.push_str(&format!(
                "---\napiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {{name: app-{a}, namespace: team-{t}}}\n\
                 spec:\n  endpointSelector: {{matchLabels: {{app: app-{a}}}}}\n  ingress:\n    - {peer}\n      toPorts: [{{ports: {ports}}}]\n"
            ));
        }
    }
    out
}

fn report_line(
    what: &str,
    endpoints: usize,
    rules: (usize, usize),
    took: Duration,
    report: &DiffReport,
) {
    let markdown = render_markdown::render(report);
    eprintln!(
        "{what}: {endpoints} endpoints, {} / {} rules: diff {took:.2?}; {} rows, {} endpoints affected, {} risks; markdown {} chars",
        rules.0,
        rules.1,
        report.changes.len(),
        report.summary.endpoints_affected,
        report.risks.len(),
        markdown.len()
    );
    assert!(markdown.len() <= render_markdown::COMMENT_LIMIT);
}

#[test]
#[ignore = "measurement, run explicitly with --ignored --nocapture"]
fn thousand_policies_over_thousand_endpoints() {
    let inventory = inventory();
    let started = Instant::now();
    let mut sources = SourceMap::new();
    let options = FrontendOptions::default();
    let base = lower_texts(
        &BTreeMap::from([("policies.yaml".to_string(), policies(false))]),
        &options,
        &mut sources,
    );
    let head = lower_texts(
        &BTreeMap::from([("policies.yaml".to_string(), policies(true))]),
        &options,
        &mut sources,
    );
    let loaded = started.elapsed();
    assert_eq!(
        (
            base.rules.len(),
            head.rules.len(),
            base.error_count(),
            head.error_count()
        ),
        (1000, 1000, 0, 0)
    );
    let all: Vec<PolicyRule> = base.rules.iter().chain(&head.rules).cloned().collect();
    let universe =
        policyc_frontend::identity::build_universe(&inventory, &all, UniverseOptions::default())
            .unwrap_or_else(|e| panic!("{e}"));
    let started = Instant::now();
    let resolved =
        policyc_analysis::diff::shared_resolution::resolve_shared(&universe, &base.rules);
    assert!(resolved.is_ok());
    eprintln!("resolving one side alone: {:.2?}", started.elapsed());
    let started = Instant::now();
    let report = semantic_diff(
        DiffSide {
            rules: &base.rules,
            inventory: &inventory,
        },
        DiffSide {
            rules: &head.rules,
            inventory: &inventory,
        },
        UniverseOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    eprintln!("loading both sides (2 × 1,000 CNPs of YAML): {loaded:.2?}");
    report_line(
        "thousand policies",
        inventory.endpoints.len(),
        (1000, 1000),
        started.elapsed(),
        &report,
    );
    assert_eq!(report.summary.endpoints_affected, 100);
}

#[test]
#[ignore = "measurement, run explicitly with --ignored --nocapture"]
fn dense_random_rules() {
    let size: usize = std::env::var("DIFF_SCALE_RANDOM")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let mut rng = Rng::new(2026);
    let mut inventory = gen::inventory(&mut rng, size);
    for (i, ep) in inventory.endpoints.iter_mut().enumerate() {
        let (hi, lo) = (
            u8::try_from(i / 250 + 1).unwrap_or(255),
            u8::try_from(i % 250 + 1).unwrap_or(255),
        );
        ep.ips = vec![IpAddr::V4(Ipv4Addr::new(198, 18, hi, lo))];
    }
    let base = gen::rules(&mut rng, size);
    let mut head: Vec<PolicyRule> = base.iter().filter(|_| !rng.chance(10)).cloned().collect();
    head.extend(gen::rules(&mut rng, size - head.len()));
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
    report_line(
        "dense random",
        size,
        (base.len(), head.len()),
        started.elapsed(),
        &report,
    );
}
