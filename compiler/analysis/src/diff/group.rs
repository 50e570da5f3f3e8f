//! Grouping: peers with the same change towards one endpoint merge, then endpoints with the same
//! change towards the same peers merge, then each distinct (before, after, rules) becomes one row
//! listing its port intervals.

use super::delta::{DeltaSet, PortChange};
use super::model::{Cause, ChangeRow, Effect, PortSpan, RuleRef, Side as SideView, VerdictKind};
use super::peers::{view, PeerAtom};
use super::verdict::{describe_l7, RuleIndex, SemVerdict};
use policyc_compile::resolve::PolicyProtocol;
use policyc_ir::universe::{EndpointKey, Universe};
use policyc_ir::{Direction, PolicyRule, RuleAction, RuleId};
use std::collections::{BTreeMap, BTreeSet};

/// How many names a peer or endpoint list shows before summarizing.
pub const MAX_NAMES: usize = 3;

/// A rule as a report names it.
pub fn rule_ref(rule: &PolicyRule) -> RuleRef {
    RuleRef {
        policy: rule.origin.to_string(),
        kind: rule.origin.kind.short().to_string(),
        path: rule.provenance.path.clone(),
        file: rule.provenance.file.to_string(),
        line: rule.provenance.line,
        action: match rule.action {
            RuleAction::Allow => "allow".to_string(),
            RuleAction::Deny => "deny".to_string(),
        },
        default_deny: rule.default_deny,
    }
}

fn refs(ids: &[RuleId], index: &RuleIndex<'_>) -> Vec<RuleRef> {
    let mut v: Vec<RuleRef> = ids
        .iter()
        .filter_map(|id| index.get(*id))
        .map(rule_ref)
        .collect();
    v.sort();
    v.dedup();
    v
}

fn side(
    verdict: &SemVerdict,
    rules: &[RuleId],
    default_deny: bool,
    index: &RuleIndex<'_>,
) -> SideView {
    let (kind, l7) = match verdict {
        SemVerdict::Allowed => (VerdictKind::Allowed, Vec::new()),
        SemVerdict::AllowedL7(l7) => (VerdictKind::AllowedL7, l7.iter().map(describe_l7).collect()),
        SemVerdict::Denied => (VerdictKind::Denied, Vec::new()),
        SemVerdict::Absent => (VerdictKind::Absent, Vec::new()),
    };
    SideView {
        verdict: kind,
        l7,
        rules: refs(rules, index),
        default_deny,
    }
}

fn span(change: &PortChange) -> PortSpan {
    let (from, to) = match change.protocol {
        PolicyProtocol::Other => (0, u16::MAX),
        p if p.is_icmp() => (change.lo.min(255), change.hi.min(255)),
        _ => (change.lo, change.hi),
    };
    PortSpan {
        protocol: change.protocol.as_str().to_string(),
        from,
        to,
    }
}

fn effect(before: &SemVerdict, after: &SemVerdict) -> Effect {
    match (before.passes(), after.passes()) {
        (false, true) => Effect::Opened,
        (true, false) => Effect::Closed,
        _ => Effect::Changed,
    }
}

/// Inputs the grouping needs to name things.
pub struct Naming<'a> {
    pub base_index: &'a RuleIndex<'a>,
    pub head_index: &'a RuleIndex<'a>,
    pub universes: [&'a Universe; 2],
}

/// The readable rows, deterministically ordered.
pub fn rows(deltas: &DeltaSet, naming: &Naming<'_>) -> Vec<ChangeRow> {
    type PeerKey<'d> = (&'d EndpointKey, Direction, Cause, usize);
    let mut by_subject: BTreeMap<PeerKey<'_>, BTreeSet<PeerAtom>> = BTreeMap::new();
    for d in &deltas.peers {
        by_subject
            .entry((&d.subject, d.direction, d.cause, d.changes))
            .or_default()
            .insert(d.atom.clone());
    }
    let mut by_peers: BTreeMap<(Direction, Cause, usize, BTreeSet<PeerAtom>), Vec<&EndpointKey>> =
        BTreeMap::new();
    for ((subject, direction, cause, changes), peers) in by_subject {
        by_peers
            .entry((direction, cause, changes, peers))
            .or_default()
            .push(subject);
    }
    let mut out = Vec::new();
    for ((direction, cause, changes, peers), subjects) in by_peers {
        let peers_view = view(&peers, &naming.universes, MAX_NAMES);
        let endpoints: Vec<String> = subjects.iter().map(|k| k.to_string()).collect();
        let mut parts: Vec<(&PortChange, Vec<PortSpan>)> = Vec::new();
        for change in deltas.changes.get(changes).into_iter().flatten() {
            let same = parts.iter_mut().find(|(c, _)| {
                c.before == change.before
                    && c.after == change.after
                    && c.before_rules == change.before_rules
                    && c.after_rules == change.after_rules
                    && c.before_default_deny == change.before_default_deny
                    && c.after_default_deny == change.after_default_deny
            });
            match same {
                Some((_, spans)) => spans.push(span(change)),
                None => parts.push((change, vec![span(change)])),
            }
        }
        for (change, ports) in parts {
            out.push(ChangeRow {
                effect: effect(&change.before, &change.after),
                cause,
                direction,
                endpoints: endpoints.clone(),
                peers: peers_view.clone(),
                ports,
                before: side(
                    &change.before,
                    &change.before_rules,
                    change.before_default_deny,
                    naming.base_index,
                ),
                after: side(
                    &change.after,
                    &change.after_rules,
                    change.after_default_deny,
                    naming.head_index,
                ),
            });
        }
    }
    out.sort_by(|a, b| {
        (
            &a.endpoints,
            a.direction,
            &a.peers,
            &a.ports,
            a.effect,
            a.cause,
        )
            .cmp(&(
                &b.endpoints,
                b.direction,
                &b.peers,
                &b.ports,
                b.effect,
                b.cause,
            ))
    });
    out
}
