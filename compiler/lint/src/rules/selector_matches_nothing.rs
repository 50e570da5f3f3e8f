//! PC0319: with `--inventory`, an `endpointSelector`/`podSelector` or a `fromEndpoints`/
//! `toEndpoints`/`podSelector` peer that selects no endpoint of the inventory — usually a
//! misspelt label or namespace, so the rule protects or allows nothing.

use crate::context::LintContext;
use crate::describe;
use policyc_diagnostics::{codes, Finding};
use policyc_ir::labels::CLUSTER_KEY;
use policyc_ir::{EndpointSelector, LabelSource, Peer, PeerSet, Subject};
use std::collections::BTreeSet;

/// Does any inventory endpoint match `selector` (ignoring the cluster name, which the inventory
/// and the lint run may spell differently)?
fn matches_some(ctx: &LintContext<'_>, selector: &EndpointSelector) -> bool {
    let Some(cluster) = ctx.input.cluster else {
        return true;
    };
    let unscoped = EndpointSelector::from_requirements(
        selector
            .requirements()
            .filter(|r| r.key.key != CLUSTER_KEY)
            .cloned(),
    );
    cluster
        .endpoint_labels
        .iter()
        .any(|(_, labels)| unscoped.matches(labels))
}

/// Selectors over reserved labels (host, world, ...) name no inventory pod by design.
fn checkable(selector: &EndpointSelector) -> bool {
    !selector.mentions_source(LabelSource::Reserved)
}

pub fn check(ctx: &LintContext<'_>) -> Vec<Finding> {
    let Some(cluster) = ctx.input.cluster else {
        return Vec::new();
    };
    if cluster.endpoint_labels.is_empty() {
        return Vec::new();
    }
    let mut reported = BTreeSet::new();
    let mut findings = Vec::new();
    for rule in ctx.rules() {
        let Some(span) = ctx.rule_span(rule) else {
            continue;
        };
        let mut unmatched: Vec<(&EndpointSelector, &str)> = Vec::new();
        if let Subject::Endpoints(selector) = &rule.subject {
            if checkable(selector) && !matches_some(ctx, selector) {
                unmatched.push((selector, "the policy's endpoint selector"));
            }
        }
        if let PeerSet::Some(peers) = &rule.peers {
            for peer in peers {
                if let Peer::Endpoints(selector) = peer {
                    if checkable(selector) && !matches_some(ctx, selector) {
                        unmatched.push((selector, "a peer selector of this rule"));
                    }
                }
            }
        }
        for (selector, what) in unmatched {
            // The subject is shared by every rule of the object: report it once.
            if !reported.insert((rule.origin.clone(), selector.clone())) {
                continue;
            }
            findings.push(
                Finding::new(
                    &codes::SELECTOR_MATCHES_NO_ENDPOINT,
                    format!(
                        "{what} matches no endpoint of the inventory: {}",
                        describe::selector(selector)
                    ),
                )
                .at(span, "selects nothing in this inventory")
                .help("check the label keys, values and namespace against the inventory's pods (`kubectl get pods -A --show-labels`)")
                .context(ctx.rule_context(rule)),
            );
        }
    }
    findings
}
