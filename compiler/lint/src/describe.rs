//! Short human descriptions of IR peers for lint messages: `pods app=frontend in shop` instead
//! of the fully scoped selector with cluster and namespace requirements.

use policyc_ir::labels::{CLUSTER_KEY, POD_NAMESPACE_KEY};
use policyc_ir::selector::Operator;
use policyc_ir::{EndpointSelector, Peer};

/// `app=frontend in shop`, `any pod in shop`, `app=db in any namespace`.
#[must_use]
pub fn selector(selector: &EndpointSelector) -> String {
    let mut namespace = None;
    let mut parts = Vec::new();
    for req in selector.requirements() {
        if req.key.key == CLUSTER_KEY {
            continue;
        }
        if req.key.key == POD_NAMESPACE_KEY && req.operator == Operator::In && req.values.len() == 1
        {
            namespace = req.values.iter().next().cloned();
            continue;
        }
        let text = req.to_string();
        let text = text
            .strip_prefix("any:")
            .or_else(|| text.strip_prefix("k8s:"))
            .unwrap_or(&text);
        parts.push(text.to_string());
    }
    let who = if parts.is_empty() {
        "any pod".to_string()
    } else {
        parts.join(", ")
    };
    match namespace {
        Some(ns) => format!("{who} in {ns}"),
        None => who,
    }
}

/// One peer for messages.
#[must_use]
pub fn peer(peer: &Peer) -> String {
    match peer {
        Peer::Endpoints(s) => format!("pods {}", selector(s)),
        Peer::Nodes(s) => format!("nodes {}", selector(s)),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use policyc_ir::{LabelKey, LabelSource, Requirement};

    #[test]
    fn scoped_selector_reads_like_the_policy() {
        let sel = EndpointSelector::wildcard()
            .with(Requirement::equals(
                LabelKey::new(LabelSource::Any, "app"),
                "frontend",
            ))
            .with(Requirement::equals(
                LabelKey::new(LabelSource::K8s, CLUSTER_KEY),
                "default",
            ))
            .with(Requirement::equals(
                LabelKey::new(LabelSource::K8s, POD_NAMESPACE_KEY),
                "shop",
            ));
        assert_eq!(peer(&Peer::Endpoints(sel)), "pods app=frontend in shop");
    }
}
