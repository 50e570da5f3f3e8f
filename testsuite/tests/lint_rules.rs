//! Semantic lints (PC03xx) on one fixture each: the finding's code and primary line/column are
//! asserted, and the rendered human report (no colour) is snapshotted. Negative fixtures must
//! produce no semantic finding; suppressions drop findings and report bad annotations.

use policyc_diagnostics::render::{human, json, sarif};
use policyc_diagnostics::source::SourceMap;
use policyc_diagnostics::{sort_findings, Finding, HumanOptions, SarifOptions};
use policyc_frontend::inventory::{load_inventory, InventoryOptions};
use policyc_frontend::{load_policies, FrontendOptions};
use policyc_lint::{lint_policy_set, ClusterAddresses};
use std::path::PathBuf;
use test_case::test_case;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from("fixtures/lints").join(name)
}

/// Lints one fixture (with an optional inventory) and returns its sorted findings.
fn lint(name: &str, inventory: Option<&str>) -> (Vec<Finding>, SourceMap) {
    let mut sources = SourceMap::new();
    let cluster = inventory.map(|inv| {
        let inventory = load_inventory(&fixture(inv), &InventoryOptions::default(), &mut sources);
        let inventory =
            inventory.unwrap_or_else(|f| panic!("fixture inventory {inv} is invalid: {f:?}"));
        policyc::cli::lint::cluster_addresses(&inventory)
    });
    let set = load_policies(&[fixture(name)], &FrontendOptions::default(), &mut sources);
    let mut findings = lint_policy_set(&set, &sources, cluster.as_ref());
    sort_findings(&mut findings, &sources);
    (findings, sources)
}

fn positions(findings: &[Finding], sources: &SourceMap, code: &str) -> Vec<(usize, usize)> {
    findings
        .iter()
        .filter(|f| f.code.id == code)
        .filter_map(|f| f.primary.as_ref())
        .map(|p| {
            let at = sources.line_col(p.span.source, p.span.start);
            (at.line, at.col)
        })
        .collect()
}

#[test_case("fqdn_without_dns.yaml", None, "PC0301", &[(12, 9)]; "fqdn without dns rule points at the fqdn list")]
#[test_case("default_deny_without_dns.yaml", None, "PC0302", &[(11, 7)]; "egress default deny without dns")]
#[test_case("empty_rule_idiom.yaml", None, "PC0303", &[(9, 7)]; "empty ingress rule in cnp is deny all")]
#[test_case("empty_rule_idiom_knp.yaml", None, "PC0303", &[(11, 7)]; "empty ingress rule in knp is allow all")]
#[test_case("shadowed_rule.yaml", None, "PC0304", &[(18, 7)]; "exact duplicate rule")]
#[test_case("shadowed_by_world.yaml", None, "PC0304", &[(17, 7)]; "cidr rule shadowed by world entity")]
#[test_case("cidr_matches_cluster.yaml", Some("cidr_inventory.yaml"), "PC0305", &[(15, 19)]; "ipblock covering pod ips with inventory")]
#[test_case("cidr_matches_cluster.yaml", None, "PC0305", &[]; "cidr lint needs an inventory")]
#[test_case("allow_dead_under_deny.yaml", None, "PC0306", &[(11, 7)]; "allow entirely covered by deny")]
#[test_case("l7_rules_bypassed.yaml", None, "PC0307", &[(18, 11)]; "http rules bypassed by l3 allow of same peer")]
#[test_case("http_path_prefix.yaml", None, "PC0308", &[(21, 24), (22, 23)]; "http path prefix points inside the scalar")]
#[test_case("any_protocol_not_icmp.yaml", None, "PC0309", &[(17, 25)]; "protocol any on all ports")]
#[test_case("end_port_not_above_port.yaml", None, "PC0310", &[(17, 24), (20, 24)]; "end port below and equal to port")]
#[test_case("broad_ingress_exposure.yaml", None, "PC0311", &[(11, 7)]; "ingress from 0.0.0.0/0 on all ports")]
#[test_case("empty_rule_idiom_knp.yaml", None, "PC0311", &[(11, 7)]; "knp allow all ingress is broad exposure")]
#[test_case("unresolvable_peer.yaml", None, "PC0312", &[(11, 7)]; "to services cannot be resolved offline")]
#[test_case("unresolvable_cidr_group.yaml", None, "PC0312", &[(12, 25), (13, 25)]; "each cidr group ref is pointed at")]
#[test_case("kafka_deprecated.yaml", None, "PC0313", &[(19, 13)]; "kafka rules are deprecated")]
#[test_case("broad_ingress_on_ports.yaml", None, "PC0317", &[(11, 7), (17, 7), (34, 7)]; "world cidr and all namespaces on specific ports")]
#[test_case("broad_ingress_exposure.yaml", None, "PC0317", &[]; "world on every port is pc0311 only")]
#[test_case("dns_wildcard_pattern.yaml", None, "PC0318", &[(21, 32), (23, 26)]; "dns and fqdn match pattern star")]
#[test_case("selector_matches_nothing.yaml", Some("cidr_inventory.yaml"), "PC0319", &[(11, 7), (29, 7)]; "misspelt peer label and subject without pods")]
#[test_case("selector_matches_nothing.yaml", None, "PC0319", &[]; "selector lint needs an inventory")]
#[test_case("one_finding_per_root_cause.yaml", None, "PC0302", &[(13, 7)]; "no dns under default deny is one finding")]
#[test_case("one_finding_per_root_cause.yaml", None, "PC0301", &[]; "fqdn rules without any dns are named by pc0302")]
#[test_case("lints_continue_past_errors.yaml", None, "PC0311", &[(27, 7)]; "a rejected policy does not stop the lints of the others")]
#[test_case("suppression_problems.yaml", None, "PC0315", &[(7, 25)]; "ignore without reason")]
#[test_case("suppression_problems.yaml", None, "PC0316", &[(7, 33)]; "ignore naming an unknown code points at the code")]
fn lint_reports_at_the_right_place(
    name: &str,
    inventory: Option<&str>,
    code: &str,
    expected: &[(usize, usize)],
) {
    let (findings, sources) = lint(name, inventory);
    assert_eq!(
        positions(&findings, &sources, code),
        expected,
        "{findings:#?}"
    );
}

#[test_case("clean.yaml"; "dns fqdn http regex and ranges done right")]
#[test_case("suppressed.yaml"; "suppressed with a reason")]
#[test_case("suppressed_by_name.yaml"; "suppressed by code name with the shared reason annotation")]
#[test_case("negative_dns_from_clusterwide.yaml"; "dns rule in a clusterwide policy serves fqdn rules")]
#[test_case("negative_default_deny_disabled.yaml"; "egress without default deny needs no dns")]
#[test_case("negative_deny_other_port.yaml"; "deny on another port leaves the allow alive")]
#[test_case("negative_l7_other_peer.yaml"; "l3 allow for another peer does not bypass l7")]
#[test_case("negative_world_denied.yaml"; "allow all with world denied is not exposed")]
#[test_case("negative_broad_ingress_on_ports.yaml"; "namespace selector with labels is not every namespace")]
fn negative_fixtures_have_no_finding(name: &str) {
    let (findings, sources) = lint(name, None);
    assert!(
        findings.is_empty(),
        "{}",
        human::render(&findings, &sources, HumanOptions::default())
    );
}

#[test]
fn suppression_without_reason_still_suppresses() {
    let (findings, sources) = lint("suppression_problems.yaml", None);
    assert_eq!(
        positions(&findings, &sources, "PC0311"),
        Vec::<(usize, usize)>::new()
    );
}

#[test]
fn validation_warning_is_reported_without_suppression() {
    let (findings, sources) = lint("tls_not_enforced.yaml", None);
    assert_eq!(positions(&findings, &sources, "PC0229").len(), 1);
}

#[test]
fn suppressed_code_reappears_without_annotation() {
    let (findings, sources) = lint("broad_ingress_exposure.yaml", None);
    assert_eq!(positions(&findings, &sources, "PC0311").len(), 1);
}

#[test]
fn no_inventory_addresses_means_no_cidr_finding() {
    let mut sources = SourceMap::new();
    let set = load_policies(
        &[fixture("cidr_matches_cluster.yaml")],
        &FrontendOptions::default(),
        &mut sources,
    );
    let findings = lint_policy_set(&set, &sources, Some(&ClusterAddresses::default()));
    assert!(findings.iter().all(|f| f.code.id != "PC0305"));
}

#[test_case("fqdn_without_dns.yaml", None; "fqdn_without_dns")]
#[test_case("default_deny_without_dns.yaml", None; "default_deny_without_dns")]
#[test_case("empty_rule_idiom.yaml", None; "empty_rule_idiom")]
#[test_case("empty_rule_idiom_knp.yaml", None; "empty_rule_idiom_knp")]
#[test_case("shadowed_rule.yaml", None; "shadowed_rule")]
#[test_case("shadowed_by_world.yaml", None; "shadowed_by_world")]
#[test_case("cidr_matches_cluster.yaml", Some("cidr_inventory.yaml"); "cidr_matches_cluster")]
#[test_case("allow_dead_under_deny.yaml", None; "allow_dead_under_deny")]
#[test_case("l7_rules_bypassed.yaml", None; "l7_rules_bypassed")]
#[test_case("http_path_prefix.yaml", None; "http_path_prefix")]
#[test_case("any_protocol_not_icmp.yaml", None; "any_protocol_not_icmp")]
#[test_case("end_port_not_above_port.yaml", None; "end_port_not_above_port")]
#[test_case("broad_ingress_exposure.yaml", None; "broad_ingress_exposure")]
#[test_case("unresolvable_peer.yaml", None; "unresolvable_peer")]
#[test_case("unresolvable_cidr_group.yaml", None; "unresolvable_cidr_group")]
#[test_case("kafka_deprecated.yaml", None; "kafka_deprecated")]
#[test_case("suppression_problems.yaml", None; "suppression_problems")]
#[test_case("broad_ingress_on_ports.yaml", None; "broad_ingress_on_ports")]
#[test_case("dns_wildcard_pattern.yaml", None; "dns_wildcard_pattern")]
#[test_case("selector_matches_nothing.yaml", Some("cidr_inventory.yaml"); "selector_matches_nothing")]
#[test_case("one_finding_per_root_cause.yaml", None; "one_finding_per_root_cause")]
#[test_case("lints_continue_past_errors.yaml", None; "lints_continue_past_errors")]
fn human_report_snapshot(name: &str, inventory: Option<&str>) {
    let (findings, sources) = lint(name, inventory);
    let rendered = human::render(&findings, &sources, HumanOptions::default());
    insta::assert_snapshot!(
        format!("lint_human_{}", name.trim_end_matches(".yaml")),
        rendered
    );
}

#[test_case("shadowed_rule.yaml"; "shadowed_rule")]
#[test_case("http_path_prefix.yaml"; "http_path_prefix")]
fn json_and_sarif_snapshots(name: &str) {
    let (findings, sources) = lint(name, None);
    let stem = name.trim_end_matches(".yaml");
    insta::assert_snapshot!(
        format!("lint_json_{stem}"),
        json::render(&findings, &sources)
    );
    insta::assert_snapshot!(
        format!("lint_sarif_{stem}"),
        sarif::render(&findings, &sources, &SarifOptions::default())
    );
}

#[test]
fn an_unresolvable_peer_is_an_error_in_a_deny_rule_and_info_in_an_allow_rule() {
    // In a deny rule the deny would vanish (policyc would allow what Cilium denies); in an allow
    // rule it only allows less.
    let (findings, sources) = lint("unresolvable_peer_in_deny.yaml", None);
    let severities: Vec<(usize, policyc_diagnostics::Severity)> = findings
        .iter()
        .filter(|f| f.code.id == "PC0312")
        .filter_map(|f| {
            let p = f.primary.as_ref()?;
            Some((
                sources.line_col(p.span.source, p.span.start).line,
                f.severity,
            ))
        })
        .collect();
    assert_eq!(
        severities,
        vec![
            (12, policyc_diagnostics::Severity::Error),
            (15, policyc_diagnostics::Severity::Info)
        ],
        "{findings:#?}"
    );
}

/// PC0320: fields the field status table refuses are errors at the field (the key, or the value
/// for a refused value), one per use.
#[test]
fn refused_fields_are_errors_at_the_field() {
    let (findings, sources) = lint("unenforced_field.yaml", None);
    assert_eq!(
        positions(&findings, &sources, "PC0320"),
        vec![(17, 11), (24, 15)]
    );
    assert!(findings
        .iter()
        .filter(|f| f.code.id == "PC0320")
        .all(|f| f.severity == policyc_diagnostics::Severity::Error));
}

/// PC0320 warns by name about `log.value`, which Cilium puts into verdict events and policyc's
/// events do not carry (gap `log-value`).
#[test]
fn log_value_is_warned_by_name() {
    let (findings, sources) = lint("log_value.yaml", None);
    assert_eq!(positions(&findings, &sources, "PC0320"), vec![(11, 5)]);
    assert!(findings
        .iter()
        .filter(|f| f.code.id == "PC0320")
        .all(|f| f.severity == policyc_diagnostics::Severity::Warning
            && f.message.contains("log-value")));
}
