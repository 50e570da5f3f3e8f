//! `policyc diff` scenario pairs (`fixtures/diff/NN-name/{inventory.yaml, base/, head/}`, with
//! an optional `head-inventory.yaml`): what each change must (not) report, and snapshots of the
//! markdown and JSON reports.

use policyc_analysis::diff::model::{Cause, Effect, RiskKind};
use policyc_analysis::diff::{
    diff_loaded, load_side, render_json, render_markdown, DiffReport, PolicySource,
};
use policyc_diagnostics::source::SourceMap;
use policyc_frontend::inventory::{load_inventory, InventoryOptions};
use policyc_frontend::FrontendOptions;
use policyc_ir::universe::UniverseOptions;
use std::path::{Path, PathBuf};
use test_case::test_case;

fn report(name: &str) -> DiffReport {
    let dir = PathBuf::from("fixtures/diff").join(name);
    let mut sources = SourceMap::new();
    let inventory = |p: &Path, sources: &mut SourceMap| match load_inventory(
        p,
        &InventoryOptions::default(),
        sources,
    ) {
        Ok(i) => i,
        Err(f) => panic!("{name}: inventory {}: {f:?}", p.display()),
    };
    let base_inventory = inventory(&dir.join("inventory.yaml"), &mut sources);
    let head_path = dir.join("head-inventory.yaml");
    let head_inventory = if head_path.exists() {
        inventory(&head_path, &mut sources)
    } else {
        base_inventory.clone()
    };
    let options = FrontendOptions::default();
    let side = |what: &str, sources: &mut SourceMap| {
        let loaded = load_side(&PolicySource::Directory(dir.join(what)), &options, sources);
        let mut loaded = loaded.unwrap_or_else(|e| panic!("{name}: {what}: {e}"));
        assert_eq!(
            loaded.set.error_count(),
            0,
            "{name}/{what} has invalid policies: {:?}",
            loaded.set.findings
        );
        loaded.label = what.to_string();
        loaded
    };
    let base = side("base", &mut sources);
    let head = side("head", &mut sources);
    match diff_loaded(
        &base,
        &head,
        &base_inventory,
        &head_inventory,
        UniverseOptions::default(),
    ) {
        Ok(r) => r,
        Err(e) => panic!("{name}: {e}"),
    }
}

fn effects(r: &DiffReport) -> (usize, usize, usize) {
    (r.summary.opened, r.summary.closed, r.summary.changed)
}

fn risk_kinds(r: &DiffReport) -> Vec<RiskKind> {
    let mut k: Vec<RiskKind> = r.risks.iter().map(|r| r.kind).collect();
    k.dedup();
    k
}

#[test_case("01-reformat-reorder", (0, 0, 0), &[]; "reformatting and reordering changes nothing")]
#[test_case("02-rename-policy", (0, 0, 0), &[]; "renaming a policy and its file changes nothing")]
#[test_case("03-split-policy", (0, 0, 0), &[]; "splitting a policy into equal ones changes nothing")]
#[test_case("04-narrow-port-range", (0, 1, 0), &[]; "narrowing a port range closes the cut-off ports")]
#[test_case("05-widen-selector", (1, 0, 0), &[]; "widening a selector opens the new peers")]
#[test_case("06-add-ingress-deny", (0, 1, 0), &[]; "an ingress deny closes what it covers")]
#[test_case("07-add-world-entity", (1, 0, 0), &[RiskKind::WorldExposure]; "world ingress is a risk")]
#[test_case("08-namespace-label-change", (0, 1, 0), &[]; "a namespace label change closes label-selected peers")]
#[test_case("09-knp-to-equivalent-cnp", (0, 0, 0), &[]; "a KNP rewritten as an equivalent CNP changes nothing")]
#[test_case("10-remove-dns-egress", (0, 1, 0), &[RiskKind::DnsEgressRemoved]; "removing the DNS allow is a risk")]
#[test_case("11-add-fqdn-rule", (1, 0, 0), &[]; "a toFQDNs rule opens the name's addresses")]
#[test_case("12-add-ccnp-allow", (1, 0, 0), &[RiskKind::ClusterWideAllow]; "a CCNP allow is a risk")]
#[test_case("13-remove-deny-rule", (1, 0, 0), &[RiskKind::DenyRuleRemoved]; "removing a deny rule is a risk")]
#[test_case("14-default-deny-off", (2, 0, 0), &[RiskKind::WorldExposure, RiskKind::DefaultDenyDisabled]; "deleting the only policy turns default deny off")]
#[test_case("15-new-endpoint", (8, 0, 0), &[]; "a new endpoint appears as a peer and as a subject")]
#[test_case("16-http-path-change", (0, 0, 1), &[]; "an L7 path change is a change, not an open or close")]
#[test_case("17-add-icmp", (1, 0, 0), &[]; "an ICMP allow opens one type")]
#[test_case("18-cidr-with-except", (1, 0, 0), &[]; "a CIDR with except opens the CIDR peer")]
fn scenario_reports_the_expected_changes(
    name: &str,
    counts: (usize, usize, usize),
    risks: &[RiskKind],
) {
    let r = report(name);
    assert_eq!(effects(&r), counts, "{name}: {:#?}", r.changes);
    assert_eq!(r.semantic_change, counts != (0, 0, 0));
    assert_eq!(risk_kinds(&r), risks, "{name}: {:#?}", r.risks);
    let markdown = render_markdown::render(&r);
    assert!(markdown.starts_with(render_markdown::MARKER));
    if !r.semantic_change {
        assert!(markdown.contains("No semantic change"), "{markdown}");
        assert!(
            r.summary.files_changed > 0,
            "{name}: a no-change scenario must still change files"
        );
    }
    insta::assert_snapshot!(format!("{name}-markdown"), markdown);
    insta::assert_snapshot!(format!("{name}-json"), render_json::render(&r));
}

#[test]
fn label_change_is_attributed_to_labels() {
    let r = report("08-namespace-label-change");
    assert!(
        r.changes.iter().all(|c| c.cause == Cause::Labels),
        "{:#?}",
        r.changes
    );
}

#[test]
fn new_endpoint_rows_are_peer_or_endpoint_additions() {
    let r = report("15-new-endpoint");
    assert_eq!(r.endpoints.added, vec!["shop/api-2".to_string()]);
    assert!(r
        .changes
        .iter()
        .all(|c| matches!(c.cause, Cause::PeerAdded | Cause::EndpointAdded)));
    assert!(r.changes.iter().all(|c| c.effect == Effect::Opened));
}

#[test]
fn fqdn_row_names_the_fqdn_peer_and_the_new_rule() {
    let r = report("11-add-fqdn-rule");
    let row = &r.changes[0];
    assert_eq!(row.peers.fqdns, vec!["api.stripe.com".to_string()]);
    assert_eq!(
        row.after
            .rules
            .iter()
            .map(|r| r.path.as_str())
            .collect::<Vec<_>>(),
        vec!["spec.egress[2]"]
    );
    assert_eq!(row.ports.len(), 1);
    assert_eq!(
        (
            row.ports[0].protocol.as_str(),
            row.ports[0].from,
            row.ports[0].to
        ),
        ("TCP", 443, 443)
    );
}

#[test]
fn narrowed_range_reports_both_cut_off_pieces_and_keeps_the_rest() {
    let r = report("04-narrow-port-range");
    let spans: Vec<(u16, u16)> = r.changes[0].ports.iter().map(|p| (p.from, p.to)).collect();
    assert_eq!(spans, vec![(8000, 8079), (8091, 8999)]);
}
