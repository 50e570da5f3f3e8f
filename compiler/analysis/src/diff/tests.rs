//! Unit tests of the interval delta, port wording, the markdown size limit, and refusing a
//! side that does not load.

use super::delta::refine;
use super::model::{Cause, ChangeRow, DiffReport, Effect, PeersView, PortSpan, Side, VerdictKind};
use super::render_markdown::{render, COMMENT_LIMIT, MARKER};
use super::verdict::{SemInterval, SemVerdict};
use policyc_compile::resolve::PolicyProtocol;
use policyc_ir::l7::L7Rules;
use policyc_ir::Direction;
use test_case::test_case;

fn f(pieces: &[(u16, u16, SemVerdict)]) -> Vec<SemInterval> {
    pieces
        .iter()
        .map(|(lo, hi, v)| SemInterval {
            lo: *lo,
            hi: *hi,
            verdict: v.clone(),
            rules: Vec::new(),
            default_deny: false,
        })
        .collect()
}

use SemVerdict::{Absent, Allowed, Denied};

#[test_case(&[(0, 65535, Denied)], &[(0, 65535, Denied)], &[]; "same function")]
#[test_case(&[(0, 65535, Absent)], &[(0, 65535, Denied)], &[]; "absent and denied are the same behaviour")]
#[test_case(&[(0, 7999, Denied), (8000, 8999, Allowed), (9000, 65535, Denied)],
            &[(0, 8079, Denied), (8080, 8090, Allowed), (8091, 65535, Denied)],
            &[(8000, 8079), (8091, 8999)]; "narrowed range closes both ends")]
#[test_case(&[(0, 52, Denied), (53, 53, Allowed), (54, 65535, Denied)],
            &[(0, 65535, Allowed)],
            &[(0, 52), (54, 65535)]; "opening everything around a port")]
#[test_case(&[(0, 65535, Allowed)],
            &[(0, 79, Allowed), (80, 80, SemVerdict::AllowedL7(vec![L7Rules::Http(Vec::new())])), (81, 65535, Allowed)],
            &[(80, 80)]; "an L7 restriction is a change")]
fn refine_reports_exactly_the_differing_intervals(
    before: &[(u16, u16, SemVerdict)],
    after: &[(u16, u16, SemVerdict)],
    expected: &[(u16, u16)],
) {
    let mut out = Vec::new();
    refine(PolicyProtocol::Tcp, &f(before), &f(after), &mut out);
    let got: Vec<(u16, u16)> = out.iter().map(|c| (c.lo, c.hi)).collect();
    assert_eq!(got, expected);
}

#[test_case("TCP", 5432, 5432, "TCP 5432")]
#[test_case("UDP", 0, 65535, "UDP all ports")]
#[test_case("TCP", 8000, 8079, "TCP 8000-8079")]
#[test_case("ICMP", 8, 8, "ICMP type 8")]
#[test_case("ICMPv6", 0, 255, "ICMPv6 all types")]
#[test_case("other", 0, 65535, "other protocols")]
fn port_spans_read_naturally(protocol: &str, from: u16, to: u16, expected: &str) {
    assert_eq!(
        PortSpan {
            protocol: protocol.to_string(),
            from,
            to
        }
        .describe(),
        expected
    );
}

fn side(verdict: VerdictKind) -> Side {
    Side {
        verdict,
        l7: Vec::new(),
        rules: Vec::new(),
        default_deny: false,
    }
}

#[test]
fn markdown_stays_under_the_comment_limit_and_says_what_was_cut() {
    let row = |i: usize| ChangeRow {
        effect: Effect::Opened,
        cause: Cause::Policy,
        direction: Direction::Ingress,
        endpoints: vec![format!("namespace-{i}/a-rather-long-endpoint-name-{i}")],
        peers: PeersView {
            summary: format!("`peer-{i}`"),
            endpoints: vec![format!("peer-{i}")],
            ..PeersView::default()
        },
        ports: vec![PortSpan {
            protocol: "TCP".to_string(),
            from: 1000,
            to: 2000,
        }],
        before: side(VerdictKind::Denied),
        after: side(VerdictKind::Allowed),
    };
    let changes: Vec<ChangeRow> = (0..5000).map(row).collect();
    let report = DiffReport {
        semantic_change: true,
        changes,
        ..DiffReport::default()
    };
    let text = render(&report);
    assert!(text.len() <= COMMENT_LIMIT, "{} characters", text.len());
    assert!(text.starts_with(MARKER));
    assert!(
        text.contains("of 5000 changes not shown"),
        "{}",
        &text[text.len().saturating_sub(2000)..]
    );
}

#[test]
fn markdown_says_no_semantic_change_when_only_files_changed() {
    let mut report = DiffReport::default();
    report.files.modified.push("a.yaml".to_string());
    report.summary.files_changed = 1;
    let text = render(&report);
    assert!(text.contains("**No semantic change.**"), "{text}");
    assert!(!text.contains("| # |"), "{text}");
}

/// A side with a file that was not read is an error of the library too, not a report in
/// which its policies look removed (issue #16 finding 5).
#[test_case(true, false, &["base"]; "broken base")]
#[test_case(false, true, &["head"]; "broken head")]
#[test_case(true, true, &["base", "head"]; "both broken")]
#[test_case(false, false, &[]; "neither")]
fn diff_loaded_refuses_a_side_that_does_not_load(base: bool, head: bool, failing: &[&str]) {
    use super::{diff_loaded, lower_texts, DiffError, LoadedPolicies};
    use policyc_diagnostics::source::SourceMap;
    use policyc_frontend::inventory::Inventory;
    use policyc_frontend::FrontendOptions;
    let good = "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: p, namespace: shop}\nspec:\n  endpointSelector: {}\n  ingressDeny: [{fromEntities: [world]}]\n";
    let mut sources = SourceMap::new();
    let mut side = |broken: bool| {
        let text = if broken {
            format!("{good}]")
        } else {
            good.to_string()
        };
        let texts = std::collections::BTreeMap::from([("p.yaml".to_string(), text)]);
        LoadedPolicies {
            label: String::new(),
            set: lower_texts(&texts, &FrontendOptions::default(), &mut sources),
            texts,
        }
    };
    let (base, head) = (side(base), side(head));
    let inventory = Inventory::default();
    match diff_loaded(&base, &head, &inventory, &inventory, Default::default()) {
        Err(DiffError::NotLoaded { sides }) => {
            let names: Vec<&str> = sides.iter().map(|(s, _)| *s).collect();
            assert_eq!(names, failing);
            assert!(sides
                .iter()
                .all(|(_, f)| f.iter().all(|f| f.primary.is_some())));
        }
        Ok(report) => assert!(failing.is_empty(), "{report:?}"),
        Err(e) => panic!("{e}"),
    }
}
