//! PC0317: an ingress allow from the whole Internet (world, `0.0.0.0/0`, `::/0`, entity `all`,
//! no peer restriction) on specific ports, or from every pod of every namespace
//! (`namespaceSelector: {}`, a clusterwide `fromEndpoints: [{}]`) on any ports. PC0311 reports
//! the Internet on every port; this reports the narrower, often deliberate, exposures so that
//! they are visible in review.

use crate::context::LintContext;
use crate::coverage::{includes_all_ports, includes_world};
use policyc_diagnostics::{codes, Finding};
use policyc_ir::labels::{CLUSTER_KEY, POD_NAMESPACE_KEY};
use policyc_ir::{Direction, Operator, Peer, PeerSet, PolicyRule, RuleAction};

/// Does the peer select every pod of every namespace (only "has a namespace" and the cluster)?
fn every_namespace(peer: &Peer) -> bool {
    let Peer::Endpoints(selector) = peer else {
        return false;
    };
    let mut names_any_namespace = false;
    for req in selector.requirements() {
        match (req.key.key.as_str(), req.operator) {
            (POD_NAMESPACE_KEY, Operator::Exists) => names_any_namespace = true,
            (CLUSTER_KEY, Operator::In) => {}
            _ => return false,
        }
    }
    names_any_namespace
}

fn exposure(rule: &PolicyRule) -> Option<(String, &'static str)> {
    if let Some(world) = includes_world(&rule.peers) {
        // On every port PC0311 reports it.
        return (!includes_all_ports(&rule.ports)).then(|| {
            (
                format!("ingress from {world} on specific ports: the selected endpoints are reachable from the Internet there"),
                "the Internet may connect to these ports",
            )
        });
    }
    match &rule.peers {
        PeerSet::Some(peers) if peers.iter().any(every_namespace) => Some((
            "ingress from every pod of every namespace: any workload of the cluster may connect"
                .to_string(),
            "every pod of every namespace is allowed here",
        )),
        _ => None,
    }
}

pub fn check(ctx: &LintContext<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for rule in ctx
        .rules()
        .filter(|r| r.direction == Direction::Ingress && r.action == RuleAction::Allow)
    {
        let Some((message, label)) = exposure(rule) else {
            continue;
        };
        let Some(span) = ctx.rule_span(rule) else {
            continue;
        };
        findings.push(
            Finding::new(&codes::BROAD_INGRESS_ON_PORTS, message)
                .at(span, label)
                .help("if this is not a public entry point, restrict the peers (`fromEndpoints` with labels, a namespaceSelector with labels, a narrower CIDR); if it is, suppress with `policyc.io/ignore: \"PC0317: <why>\"`")
                .context(ctx.rule_context(rule)),
        );
    }
    findings
}
