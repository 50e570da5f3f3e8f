//! PC0302: a policy puts endpoints into egress default-deny and no policy allows them DNS
//! (UDP or TCP port 53), so name resolution fails. The `toFQDNs` of those endpoints fail for the
//! same reason: they are named in this finding instead of a PC0301 each (one root cause, one
//! finding).

use crate::context::LintContext;
use crate::coverage::{subjects_may_overlap, OverlapIndex};
use crate::dns_rules::may_allow_dns;
use policyc_diagnostics::{codes, Finding};
use policyc_ir::{Direction, PeerSet, PolicyRule};
use std::collections::BTreeSet;

pub fn check(ctx: &LintContext<'_>) -> Vec<Finding> {
    let dns_allows: Vec<&PolicyRule> = ctx.rules().filter(|r| may_allow_dns(r)).collect();
    let index = OverlapIndex::new(dns_allows.iter().map(|r| &r.subject));
    let mut reported = BTreeSet::new();
    let mut findings = Vec::new();
    for rule in ctx
        .rules()
        .filter(|r| r.direction == Direction::Egress && r.default_deny)
    {
        if index
            .candidates(&rule.subject)
            .into_iter()
            .any(|i| subjects_may_overlap(&dns_allows[i].subject, &rule.subject))
        {
            continue;
        }
        // One finding per policy object and subject: the first egress rule that flips the mode.
        if !reported.insert((rule.origin.clone(), rule.subject.clone())) {
            continue;
        }
        let Some(span) = ctx.rule_span(rule) else {
            continue;
        };
        let what = match &rule.peers {
            PeerSet::Some(p) if p.is_empty() => {
                "this rule selects no peer but still enables egress default-deny"
            }
            _ => "this egress rule enables default-deny for the selected endpoints",
        };
        let mut finding = Finding::new(
            &codes::DEFAULT_DENY_WITHOUT_DNS,
            "egress default-deny without DNS: the selected pods will fail to resolve names",
        )
        .at(span, what);
        for fqdn in ctx.rules().filter(|r| {
            r.origin == rule.origin
                && r.subject == rule.subject
                && crate::dns_rules::has_fqdn_peer(r)
        }) {
            if let Some(at) = crate::dns_rules::fqdn_span(ctx, fqdn) {
                finding = finding.related(
                    at,
                    "this `toFQDNs` allows nothing either: without DNS no address is learnt",
                );
            }
        }
        findings.push(
            finding
            .help(
                "allow UDP and TCP port 53 to kube-dns for these endpoints (e.g. `toEndpoints: [{matchLabels: \
{k8s:io.kubernetes.pod.namespace: kube-system, k8s-app: kube-dns}}]`), here or in a clusterwide policy",
            )
            .context(ctx.rule_context(rule)),
        );
    }
    findings
}
