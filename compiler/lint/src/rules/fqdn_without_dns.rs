//! PC0301: `toFQDNs` for endpoints that have no egress rule with `rules.dns`, so the DNS proxy
//! never sees their lookups and the FQDN rule allows nothing. When the endpoints may not reach
//! DNS at all, PC0302 reports the root cause and names these `toFQDNs`; no PC0301 then.

use crate::context::LintContext;
use crate::coverage::subjects_may_overlap;
use crate::dns_rules::{fqdn_span, has_fqdn_peer, may_allow_dns};
use policyc_diagnostics::{codes, Finding};
use policyc_ir::{Direction, L7Rules, PolicyRule, PortMatch, RuleAction};

fn has_dns_rule(rule: &PolicyRule) -> bool {
    rule.direction == Direction::Egress
        && rule.action == RuleAction::Allow
        && matches!(&rule.ports, PortMatch::Ports(prs) if prs.iter().any(|pr| matches!(pr.l7, L7Rules::Dns(_))))
}

pub fn check(ctx: &LintContext<'_>) -> Vec<Finding> {
    let dns_rules: Vec<&PolicyRule> = ctx.rules().filter(|r| has_dns_rule(r)).collect();
    let dns_allows: Vec<&PolicyRule> = ctx.rules().filter(|r| may_allow_dns(r)).collect();
    let mut findings = Vec::new();
    for rule in ctx
        .rules()
        .filter(|r| r.direction == Direction::Egress && r.action == RuleAction::Allow)
    {
        if !has_fqdn_peer(rule)
            || dns_rules
                .iter()
                .any(|d| subjects_may_overlap(&d.subject, &rule.subject))
        {
            continue;
        }
        // No DNS at all under default deny: PC0302 is the root cause and names this rule.
        if rule.default_deny
            && !dns_allows
                .iter()
                .any(|a| subjects_may_overlap(&a.subject, &rule.subject))
        {
            continue;
        }
        let Some(span) = fqdn_span(ctx, rule) else {
            continue;
        };
        findings.push(
            Finding::new(
                &codes::FQDN_WITHOUT_DNS_RULE,
                "`toFQDNs` will allow nothing: no egress rule with `rules.dns` applies to these endpoints",
            )
            .at(
                span,
                "IPs for these names are only learnt from DNS answers seen by Cilium's DNS proxy",
            )
            .help(
                "add an egress rule to kube-dns on port 53 (UDP and TCP) with `rules: {dns: [...]}` listing the \
names looked up (e.g. `{matchName: api.github.com}`) for the same endpoints",
            )
            .context(ctx.rule_context(rule)),
        );
    }
    findings
}
