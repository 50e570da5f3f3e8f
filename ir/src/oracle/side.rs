//! The verdict of one direction of one endpoint (or node with host policy): enforcement mode,
//! localhost/loopback bypasses, deny precedence, the union of allows, L7 wildcarding and
//! L7 request matching, and toFQDNs through the DNS proxy.

use super::flow::Flow;
use super::l7match::l7_matches;
use super::matching::{dns_rule_allows, peer_matches, port_matches, subject_selects, PeerMatch};
use super::party::Party;
use super::verdict::{Decision, Reason, SideVerdict};
use crate::entity::ReservedIdentity;
use crate::l7::L7Rules;
use crate::rule::{AuthMode, Direction, Peer, PeerSet, PolicyRule, RuleAction, RuleId};
use crate::universe::{AllowLocalhost, EnforcementMode, Universe};

/// Inputs of one side's evaluation.
pub struct SideInput<'a, 'u> {
    pub universe: &'u Universe,
    pub rules: &'a [PolicyRule],
    pub direction: Direction,
    /// The endpoint (or node) whose policy is evaluated.
    pub subject: Party<'u>,
    /// The other end of the flow.
    pub peer: Party<'u>,
    pub flow: &'a Flow,
}

fn ids<'r>(rules: impl IntoIterator<Item = &'r PolicyRule>) -> Vec<RuleId> {
    let mut v: Vec<RuleId> = rules.into_iter().map(|r| r.id).collect();
    v.sort();
    v.dedup();
    v
}

pub fn evaluate_side<'a>(input: &SideInput<'a, '_>) -> SideVerdict {
    let dir = input.direction;
    let universe = input.universe;
    let cluster = universe.cluster();
    let options = universe.options();
    let (subject, peer) = (&input.subject, &input.peer);
    if subject.endpoint.is_none() && subject.node.is_none() {
        return SideVerdict::new(dir, Decision::Allow, Reason::NotAnEndpoint);
    }
    if let (Some(a), Some(b)) = (subject.endpoint, peer.endpoint) {
        if a.key == b.key {
            return SideVerdict::new(dir, Decision::Allow, Reason::Loopback);
        }
    }
    if options.enforcement == EnforcementMode::Never {
        return SideVerdict::new(dir, Decision::Allow, Reason::EnforcementDisabled);
    }
    let selected: Vec<&PolicyRule> = input
        .rules
        .iter()
        .filter(|r| r.direction == dir && subject_selects(r, subject, cluster))
        .collect();
    let default_deny_by = ids(selected.iter().copied().filter(|r| r.default_deny));
    let always = options.enforcement == EnforcementMode::Always && subject.endpoint.is_some();
    let enforced = !default_deny_by.is_empty() || always;
    let mut notes = Vec::new();
    if node_side_without_policy(subject, &selected) {
        return SideVerdict::new(dir, Decision::Allow, Reason::NotAnEndpoint);
    }

    let l4_covering =
        |r: &'a PolicyRule| port_matches(r, input.flow.transport, dir, subject, universe);
    // Deny rules: L3 × L4 only, no FQDN peers, no L7.
    let denies: Vec<&PolicyRule> = selected
        .iter()
        .copied()
        .filter(|r| r.action == RuleAction::Deny)
        .filter(|r| matches!(peer_matches(r, peer, cluster), PeerMatch::Yes))
        .filter(|r| l4_covering(r).is_some())
        .collect();
    let finish = |decision, reason, deciding: Vec<RuleId>, notes: Vec<String>| SideVerdict {
        direction: dir,
        decision,
        reason,
        deciding,
        default_deny_by: default_deny_by.clone(),
        notes,
    };
    if !denies.is_empty() {
        return finish(Decision::Deny, Reason::DeniedByRule, ids(denies), notes);
    }
    if dir == Direction::Ingress
        && options.allow_localhost == AllowLocalhost::Always
        && subject.endpoint.is_some()
        && peer.identity.id.0 == ReservedIdentity::Host.number()
    {
        return finish(Decision::Allow, Reason::Localhost, Vec::new(), notes);
    }

    let mut allows: Vec<(&PolicyRule, Vec<&L7Rules>)> = Vec::new();
    for r in selected
        .iter()
        .copied()
        .filter(|r| r.action == RuleAction::Allow)
    {
        let l3 = match peer_matches(r, peer, cluster) {
            PeerMatch::Yes => true,
            PeerMatch::No => false,
            PeerMatch::ViaFqdn => fqdn_allows(r, input, &selected, &mut notes),
        };
        if !l3 {
            continue;
        }
        if let Some(l7) = l4_covering(r) {
            allows.push((r, l7));
        }
    }
    if allows.is_empty() {
        return if enforced {
            let deciding = default_deny_by.clone();
            if always && deciding.is_empty() {
                notes.push(
                    "policy enforcement mode `always`: default deny without policy".to_string(),
                );
            }
            finish(Decision::Deny, Reason::DefaultDeny, deciding, notes)
        } else {
            finish(Decision::Allow, Reason::NotEnforced, Vec::new(), notes)
        };
    }
    // Mutual authentication: an allow that requires it decides the flow (Cilium applies an
    // allow entry's auth type to the keys it covers, pkg/policy/mapstate). policyc has no
    // authentication, so `required` never succeeds here; `test-always-fail` never does anywhere.
    let auth: Vec<&PolicyRule> = allows
        .iter()
        .map(|(r, _)| *r)
        .filter(|r| matches!(r.auth, Some(AuthMode::Required | AuthMode::TestAlwaysFail)))
        .collect();
    if !auth.is_empty() {
        notes.push(
            "authentication.mode requires mutual authentication, which policyc does not provide (test-always-fail always fails): dropped"
                .to_string(),
        );
        return finish(Decision::Deny, Reason::AuthRequired, ids(auth), notes);
    }
    decide_l7(&allows, input.flow, notes, finish)
}

/// A node without host policy is not enforced (host firewall off for it).
fn node_side_without_policy(subject: &Party<'_>, selected: &[&PolicyRule]) -> bool {
    subject.endpoint.is_none() && selected.is_empty()
}

/// toFQDNs: the destination is outside the cluster, the flow says which name its address was
/// resolved from, a toFQDNs selector of the rule matches that name, and some egress rule of the
/// same endpoint sends lookups of that name through the DNS proxy (`rules.dns`).
fn fqdn_allows(
    rule: &PolicyRule,
    input: &SideInput<'_, '_>,
    selected: &[&PolicyRule],
    notes: &mut Vec<String>,
) -> bool {
    let PeerSet::Some(peers) = &rule.peers else {
        return false;
    };
    let Some(name) = input.flow.resolved_from.as_deref() else {
        notes.push(format!(
            "{} allows toFQDNs destinations, but the flow does not say which DNS name the address was resolved from",
            rule.id
        ));
        return false;
    };
    let selector_matches = peers
        .iter()
        .any(|p| matches!(p, Peer::Fqdn(s) if s.matches(name)));
    if !selector_matches {
        return false;
    }
    let visible = selected.iter().any(|r| {
        r.action == RuleAction::Allow
            && r.direction == Direction::Egress
            && dns_rule_allows(r, name)
    });
    if !visible {
        notes.push(format!(
            "{} matches `{name}` via toFQDNs, but no egress rule with `rules.dns` lets the lookup of `{name}` \
             through the DNS proxy, so no address is ever learned for it",
            rule.id
        ));
    }
    visible
}

fn decide_l7<F>(
    allows: &[(&PolicyRule, Vec<&L7Rules>)],
    flow: &Flow,
    mut notes: Vec<String>,
    finish: F,
) -> SideVerdict
where
    F: Fn(Decision, Reason, Vec<RuleId>, Vec<String>) -> SideVerdict,
{
    let all = ids(allows.iter().map(|(r, _)| *r));
    // L7 wildcarding: one L7-free allow for this peer/port means every request passes.
    let wildcard: Vec<&PolicyRule> = allows
        .iter()
        .filter(|(_, l7s)| l7s.iter().any(|l| l.is_none()))
        .map(|(r, _)| *r)
        .collect();
    if !wildcard.is_empty() {
        return finish(Decision::Allow, Reason::AllowedByRule, all, notes);
    }
    let Some(request) = &flow.l7 else {
        let kinds: Vec<&str> = allows
            .iter()
            .flat_map(|(_, l7s)| l7s.iter().map(|l| l.kind()))
            .collect();
        notes.push(format!(
            "the port is L7-restricted ({}): each request is judged by the proxy",
            dedup(kinds).join(", ")
        ));
        return finish(Decision::Allow, Reason::L7ProxyRedirect, all, notes);
    };
    let mut matched = Vec::new();
    let mut unjudgeable = Vec::new();
    for (rule, l7s) in allows {
        for l7 in l7s {
            match l7_matches(l7, request) {
                Some(true) => matched.push(*rule),
                Some(false) => {}
                None => unjudgeable.push(*rule),
            }
        }
    }
    if !matched.is_empty() {
        return finish(Decision::Allow, Reason::AllowedByRule, ids(matched), notes);
    }
    if !unjudgeable.is_empty() {
        notes.push(
            "generic l7proto rules cannot be evaluated offline; the proxy decides".to_string(),
        );
        return finish(
            Decision::Allow,
            Reason::L7ProxyRedirect,
            ids(unjudgeable),
            notes,
        );
    }
    notes.push(format!("{request} matches none of the L7 rules"));
    finish(Decision::Deny, Reason::L7Denied, all, notes)
}

fn dedup(mut v: Vec<&str>) -> Vec<&str> {
    v.sort_unstable();
    v.dedup();
    v
}
