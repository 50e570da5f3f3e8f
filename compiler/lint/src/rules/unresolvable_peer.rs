//! PC0312: peers that only exist at runtime (`toServices`, `toGroups`, `cidrGroupRef`,
//! `cidrGroupSelector`) that the inventory does not resolve (no matching Service or
//! CiliumCIDRGroup objects; `toGroups` and `toServices` in `egressDeny` never) — policyc
//! treats them as selecting nothing. In an allow rule that only narrows what is allowed (info); in a deny rule the deny
//! would vanish — policyc would allow what Cilium denies — so it is an error there (and
//! `policyc build` refuses it).

use crate::context::LintContext;
use crate::yaml_ext::NodeExt;
use policyc_diagnostics::{codes, Finding};
use policyc_ir::{Peer, PeerSet, RuleAction};

pub fn check(ctx: &LintContext<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for rule in ctx.rules() {
        let PeerSet::Some(peers) = &rule.peers else {
            continue;
        };
        for peer in peers {
            let Peer::Unresolved { kind, detail } = peer else {
                continue;
            };
            let Some(rule_span) = ctx.rule_span(rule) else {
                continue;
            };
            let span = ctx
                .rule_node(rule)
                .and_then(|node| {
                    // A CIDR group is named by its scalar; point at that very entry.
                    let named = (kind == "cidrGroupRef")
                        .then(|| {
                            node.find_entry(kind)
                                .and_then(|_| node.find_scalar(&|s| s == detail))
                        })
                        .flatten();
                    named
                        .map(|n| n.span)
                        .or_else(|| node.find_entry(kind).map(|(key, _)| key.span))
                })
                .unwrap_or(rule_span);
            let finding = if rule.action == RuleAction::Deny {
                Finding::error(
                    &codes::PEER_NOT_RESOLVABLE_OFFLINE,
                    format!("deny rule with `{kind}` peer {detail}: policyc cannot resolve it offline, so this deny would match nothing while Cilium denies these peers"),
                )
                .at(span, "resolved by the Cilium operator/agent at runtime")
                .help(
                    "add the Service/EndpointSlice or CiliumCIDRGroup objects to the inventory (`--inventory`), or describe the denied peers with endpoint selectors or explicit CIDRs; `policyc build` refuses this rule",
                )
            } else {
                Finding::new(
                    &codes::PEER_NOT_RESOLVABLE_OFFLINE,
                    format!("`{kind}` peer {detail} cannot be resolved offline; policyc treats it as selecting nothing"),
                )
                .at(span, "resolved by the Cilium operator/agent at runtime")
                .help(
                    "`policyc test`/`explain` report deny for flows with this peer; to check them offline, \
add the Service/EndpointSlice or CiliumCIDRGroup objects to the inventory, or describe the peer with endpoint selectors or explicit CIDRs",
                )
            };
            findings.push(finding.context(ctx.rule_context(rule)));
        }
    }
    findings
}
