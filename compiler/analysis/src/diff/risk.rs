//! Risk callouts, shown before the table: new exposure to the world, new allows from
//! cluster-wide policies, DNS egress that disappeared, directions that left default deny, and
//! deny rules that were removed.

use super::delta::Side;
use super::group::rule_ref;
use super::model::{name_list, ChangeRow, Effect, Risk, RiskKind, RuleRef};
use policyc_ir::universe::EndpointKey;
use policyc_ir::{Direction, PolicyKind, PolicyRule, RuleAction};
use std::collections::{BTreeMap, BTreeSet};

fn ports(row: &ChangeRow) -> String {
    row.ports
        .iter()
        .map(super::model::PortSpan::describe)
        .collect::<Vec<_>>()
        .join(", ")
}

fn rules_text(rules: &[RuleRef]) -> String {
    rules
        .iter()
        .map(RuleRef::describe)
        .collect::<Vec<_>>()
        .join(", ")
}

fn touches_world(row: &ChangeRow) -> bool {
    row.peers.entities.iter().any(|e| e.starts_with("world"))
        || row.peers.cidrs.iter().any(|c| c.ends_with("/0"))
}

fn covers_dns(row: &ChangeRow) -> bool {
    row.ports
        .iter()
        .any(|p| (p.protocol == "UDP" || p.protocol == "TCP") && p.from <= 53 && 53 <= p.to)
}

/// Risks visible in the rows.
pub fn row_risks(rows: &[ChangeRow], max_names: usize) -> Vec<Risk> {
    let mut out = Vec::new();
    for row in rows {
        let who = name_list(&row.endpoints, max_names);
        if row.effect == Effect::Opened && row.direction == Direction::Ingress && touches_world(row)
        {
            out.push(Risk {
                kind: RiskKind::WorldExposure,
                message: format!(
                    "{who} now accept {} from the world ({})",
                    ports(row),
                    row.peers.summary
                ),
                endpoints: row.endpoints.clone(),
                rules: row.after.rules.clone(),
            });
        }
        let ccnp: Vec<RuleRef> = row
            .after
            .rules
            .iter()
            .filter(|r| r.kind == PolicyKind::CiliumClusterwideNetworkPolicy.short())
            .cloned()
            .collect();
        if row.effect == Effect::Opened && !ccnp.is_empty() {
            out.push(Risk {
                kind: RiskKind::ClusterWideAllow,
                message: format!(
                    "{} now allowed by cluster-wide {}",
                    row.headline(max_names),
                    rules_text(&ccnp)
                ),
                endpoints: row.endpoints.clone(),
                rules: ccnp,
            });
        }
        if row.effect == Effect::Closed && row.direction == Direction::Egress && covers_dns(row) {
            out.push(Risk {
                kind: RiskKind::DnsEgressRemoved,
                message: format!(
                    "{who} can no longer reach DNS ({}) on {}",
                    ports(row),
                    row.peers.summary
                ),
                endpoints: row.endpoints.clone(),
                rules: row.before.rules.clone(),
            });
        }
    }
    out
}

/// Endpoint directions that were default-deny in base and are not in head.
pub fn default_deny_disabled(base: &Side<'_>, head: &Side<'_>, max_names: usize) -> Vec<Risk> {
    let mut groups: BTreeMap<(Direction, Vec<RuleRef>), Vec<String>> = BTreeMap::new();
    for b in &base.resolved.endpoints {
        let Ok(i) = head
            .resolved
            .endpoints
            .binary_search_by(|e| e.key.cmp(&b.key))
        else {
            continue;
        };
        let Some(h) = head.resolved.endpoints.get(i) else {
            continue;
        };
        for direction in Direction::BOTH {
            let (bd, hd) = (b.direction(direction), h.direction(direction));
            if bd.enforced && !hd.enforced {
                let mut rules: Vec<RuleRef> = bd
                    .default_deny_by
                    .iter()
                    .filter_map(|id| base.index.get(*id))
                    .map(rule_ref)
                    .collect();
                rules.sort();
                rules.dedup();
                groups
                    .entry((direction, rules))
                    .or_default()
                    .push(key_text(&b.key));
            }
        }
    }
    groups
        .into_iter()
        .map(|((direction, rules), endpoints)| Risk {
            kind: RiskKind::DefaultDenyDisabled,
            message: format!(
                "{} {direction}: no longer default deny (was enabled by {}); everything not denied is now allowed",
                name_list(&endpoints, max_names),
                if rules.is_empty() { "enforcement mode".to_string() } else { rules_text(&rules) }
            ),
            endpoints,
            rules,
        })
        .collect()
}

fn key_text(key: &EndpointKey) -> String {
    key.to_string()
}

/// What a deny rule does, independent of its name, id and location.
fn deny_content(rule: &PolicyRule) -> String {
    format!(
        "{:?}|{:?}|{:?}|{:?}",
        rule.subject, rule.direction, rule.peers, rule.ports
    )
}

/// Deny rules of base with no deny rule of the same content in head.
pub fn removed_denies(base: &[PolicyRule], head: &[PolicyRule]) -> Vec<Risk> {
    let kept: BTreeSet<String> = head
        .iter()
        .filter(|r| r.action == RuleAction::Deny)
        .map(deny_content)
        .collect();
    base.iter()
        .filter(|r| {
            r.action == RuleAction::Deny && !r.selects_nothing() && !kept.contains(&deny_content(r))
        })
        .map(|r| {
            let reference = rule_ref(r);
            Risk {
                kind: RiskKind::DenyRuleRemoved,
                message: format!("{} {} no longer exists", r.direction, reference.describe()),
                endpoints: Vec::new(),
                rules: vec![reference],
            }
        })
        .collect()
}
