//! `toFQDNs` peers as pseudo-identities: on egress, every node-wide FQDN class `b` whose
//! selector one of the endpoint's allow rules names gets a peer group of its own, identity
//! `NumericIdentity::fqdn_class(b)`, whose functions are the verdict of "an address outside
//! the cluster learned from a DNS answer for selector `b`": the oracle's verdict with only the
//! rules naming that selector, their peers widened to every peer (so ports, named ports and L7
//! are judged exactly as for any other peer). Ports no such rule covers get `DefaultDeny`,
//! which the datapath reads as "no opinion". Deny rules are not part of it: the datapath
//! combines these verdicts with the peer's own (world or CIDR) verdict, where denies win.
//!
//! The oracle's other condition — some `rules.dns` rule of the endpoint lets the name be looked
//! up — is enforced by the DNS object (only allowed questions create pending entries, only
//! solicited answers are learned), not by these tables.

use super::endpoint::{DirectionContext, MatchSignature, PeerGroup, ResolveError};
use super::port_function::{PortFunction, PortInterval, Verdict};
use crate::dns::FqdnClasses;
use policyc_ir::rule::{Peer, PeerSet, PolicyRule, RuleAction};
use policyc_ir::NumericIdentity;

/// The selected allow rules (indices into `ctx.selected`) whose `toFQDNs` name `selector`.
fn rules_naming(
    ctx: &DirectionContext<'_>,
    selector: &policyc_ir::fqdn::FqdnSelector,
) -> Vec<usize> {
    ctx.selected
        .iter()
        .enumerate()
        .filter(|(_, r)| r.action == RuleAction::Allow)
        .filter(|(_, r)| {
            matches!(&r.peers, PeerSet::Some(peers)
                if peers.iter().any(|p| matches!(p, Peer::Fqdn(s) if s == selector)))
        })
        .map(|(i, _)| i)
        .collect()
}

/// Intervals no rule decided carry no verdict of their own: they become `DefaultDeny`.
fn without_defaults(function: &PortFunction) -> PortFunction {
    let intervals: Vec<PortInterval> = function
        .intervals()
        .iter()
        .map(|iv| {
            if iv.rules.is_empty() {
                PortInterval {
                    verdict: Verdict::DefaultDeny,
                    ..iv.clone()
                }
            } else {
                iv.clone()
            }
        })
        .collect();
    PortFunction::from_intervals(intervals).unwrap_or_else(|_| function.clone())
}

/// The pseudo-identity groups of one egress direction, in class order.
pub(super) fn fqdn_groups(
    ctx: &DirectionContext<'_>,
    classes: &FqdnClasses,
    enforced: bool,
) -> Result<Vec<PeerGroup>, ResolveError> {
    let representative = ctx.universe.world_identity(false);
    let mut groups = Vec::new();
    for (selector, class) in classes.iter() {
        let Some(identity) = NumericIdentity::fqdn_class(class) else {
            continue;
        };
        let naming = rules_naming(ctx, selector);
        if naming.is_empty() {
            continue;
        }
        let widened: Vec<PolicyRule> = naming
            .iter()
            .map(|i| PolicyRule {
                peers: PeerSet::All,
                ..ctx.selected[*i].clone()
            })
            .collect();
        let widened_ctx = DirectionContext {
            selected: &widened,
            ..*ctx
        };
        let signature = MatchSignature {
            rules: (0..widened.len()).collect(),
            is_host: false,
        };
        let functions = widened_ctx
            .functions(&signature, representative, enforced)?
            .iter()
            .map(|(protocol, f)| (*protocol, without_defaults(f)))
            .collect();
        groups.push(PeerGroup {
            identities: vec![identity],
            matching_rules: naming.iter().map(|i| ctx.selected[*i].id).collect(),
            functions,
        });
    }
    Ok(groups)
}

/// The classes whose pseudo-identities have a group in `groups` (the endpoint's FQDN mask).
pub fn fqdn_mask(groups: &[PeerGroup]) -> u64 {
    groups
        .iter()
        .flat_map(|g| g.identities.iter())
        .filter_map(|id| id.fqdn_class_bit())
        .fold(0, |mask, class| mask | (1u64 << class))
}
