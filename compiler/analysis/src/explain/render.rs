//! Text rendering of an [`Explanation`]: flow, egress side, ingress side, final verdict.

use super::model::{Explanation, RuleRef, SideExplanation};
use policyc_ir::oracle::Reason;
use std::fmt::Write;

fn rule_line(out: &mut String, r: &RuleRef) {
    let _ = writeln!(
        out,
        "      - {} {} {} ({}, {} {})",
        r.policy,
        r.path,
        format_args!("{}:{}:{}", r.file, r.line, r.column),
        r.kind,
        r.action,
        r.direction
    );
}

fn side(out: &mut String, title: &str, s: &SideExplanation) {
    let _ = writeln!(
        out,
        "{title} of {}: {}",
        s.subject,
        s.decision.as_str().to_uppercase()
    );
    let _ = writeln!(out, "    reason: {}", s.reason_text);
    if !s.deciding.is_empty() {
        let title = match s.reason {
            Reason::DefaultDeny => "default deny enabled by",
            Reason::DeniedByRule => "deny rules",
            Reason::L7Denied => "L7 rules consulted",
            Reason::AuthRequired => "rules requiring authentication",
            _ => "allow rules",
        };
        let _ = writeln!(out, "    {title}:");
        for r in &s.deciding {
            rule_line(out, r);
        }
    }
    if !s.default_deny_by.is_empty() && s.reason != Reason::DefaultDeny {
        let _ = writeln!(out, "    default deny enabled by:");
        for r in &s.default_deny_by {
            rule_line(out, r);
        }
    }
    for n in &s.notes {
        let _ = writeln!(out, "    note: {n}");
    }
}

fn peer(p: &policyc_ir::oracle::ResolvedPeer) -> String {
    let what = match (&p.endpoint, &p.node) {
        (Some(ep), _) => format!("endpoint {ep}"),
        (None, Some(n)) => format!("node {n}"),
        _ => "not an endpoint".to_string(),
    };
    format!("{} (identity {}, {what})", p.display, p.identity)
}

/// The human-readable walkthrough.
pub fn render_text(e: &Explanation) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "flow: {}", e.flow);
    let _ = writeln!(out, "  from {}", peer(&e.source));
    let _ = writeln!(out, "  to   {}", peer(&e.destination));
    let _ = writeln!(out);
    side(&mut out, "1. egress", &e.egress);
    side(&mut out, "2. ingress", &e.ingress);
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "verdict: {} — {}",
        e.verdict.as_str().to_uppercase(),
        e.summary
    );
    out
}
