//! Peers that name several pods — a workload (`web/frontend`: a Deployment, StatefulSet,
//! DaemonSet, Job... through the pods' ownerReferences) or a label selector
//! (`web/app=api,tier=backend`) — and the one endpoint that stands for them when they share an
//! identity, so one verdict holds for every pod named.

use super::peer_error::PeerError;
use policyc_diagnostics::{codes, did_you_mean};
use policyc_frontend::inventory::Workloads;
use policyc_ir::oracle::FlowPeer;
use policyc_ir::universe::{Endpoint, EndpointKey, NamedPort, Universe};
use policyc_ir::{Label, LabelKey, LabelSet, LabelSource};
use std::collections::{BTreeMap, BTreeSet};

/// How many pods of a group an error message lists.
const LISTED_PODS: usize = 3;
/// How many names a "candidates" help line lists.
const LISTED_CANDIDATES: usize = 8;

/// A label selector as written in a peer: the namespace and the required `key=value` labels.
pub type PodSelector = (String, Vec<(String, String)>);

/// `namespace/key=value[,key=value]`: the namespace and the required labels, or `None` when
/// `text` is not a selector. Errors for a selector that is malformed.
pub fn parse_selector(text: &str) -> Option<Result<PodSelector, PeerError>> {
    let (namespace, selector) = text.split_once('/')?;
    if !selector.contains('=') {
        return None;
    }
    let mut requirements = Vec::new();
    for part in selector.split(',') {
        match part.split_once('=') {
            Some((key, value))
                if !namespace.is_empty() && !key.trim().is_empty() && !value.contains('=') =>
            {
                requirements.push((key.trim().to_string(), value.trim().to_string()));
            }
            _ => {
                return Some(Err(PeerError {
                    code: &codes::UNKNOWN_INVENTORY_REFERENCE,
                    message: format!("`{text}` is not a label selector"),
                    help: Some(
                        "write `namespace/key=value`, several labels separated by commas, e.g. \
`web/app=api,tier=backend`"
                            .to_string(),
                    ),
                }))
            }
        }
    }
    Some(Ok((namespace.to_string(), requirements)))
}

fn has_label(labels: &LabelSet, key: &str, value: &str) -> bool {
    labels
        .values(&LabelKey::parse(key, LabelSource::K8s))
        .any(|v| v == value)
}

/// The pods of `namespace` a selector matches; an error naming the labels there when none does.
pub fn select(
    text: &str,
    namespace: &str,
    requirements: &[(String, String)],
    universe: &Universe,
) -> Result<FlowPeer, PeerError> {
    let in_namespace: Vec<&Endpoint> = universe
        .endpoints()
        .iter()
        .filter(|e| e.key.namespace == namespace)
        .collect();
    let matched: Vec<&Endpoint> = in_namespace
        .iter()
        .copied()
        .filter(|e| requirements.iter().all(|(k, v)| has_label(&e.labels, k, v)))
        .collect();
    if !matched.is_empty() {
        return one_identity(text, &matched, Some(requirements));
    }
    if in_namespace.is_empty() {
        let namespaces: BTreeSet<&str> = universe
            .endpoints()
            .iter()
            .map(|e| e.key.namespace.as_str())
            .collect();
        return Err(PeerError {
            code: &codes::UNKNOWN_INVENTORY_REFERENCE,
            message: format!("no pod in namespace `{namespace}` (selector `{text}`)"),
            help: did_you_mean(namespace, namespaces.iter().copied()).or_else(|| {
                Some(format!(
                    "namespaces with pods: {}",
                    listed(namespaces.iter().map(|n| n.to_string()))
                ))
            }),
        });
    }
    let present: BTreeSet<String> = in_namespace
        .iter()
        .flat_map(|e| own_labels(&e.labels))
        .map(|l| format!("{}={}", l.key, l.value))
        .collect();
    let wanted: Vec<String> = requirements
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let help = wanted
        .iter()
        .filter(|w| !present.contains(*w))
        .find_map(|w| did_you_mean(w, present.iter()))
        .unwrap_or_else(|| {
            format!(
                "labels of the pods in `{namespace}`: {}",
                listed(present.iter().cloned())
            )
        });
    Err(PeerError {
        code: &codes::UNKNOWN_INVENTORY_REFERENCE,
        message: format!(
            "no pod in namespace `{namespace}` has the labels `{}`",
            wanted.join(",")
        ),
        help: Some(help),
    })
}

/// The pods of the workload `name` in `namespace`, if it is one.
pub fn workload(
    text: &str,
    key: &EndpointKey,
    universe: &Universe,
    workloads: &Workloads,
) -> Option<Result<FlowPeer, PeerError>> {
    let pods = workloads.pods_of(&key.namespace, &key.name);
    let endpoints: Vec<&Endpoint> = pods
        .iter()
        .filter_map(|(pod, _)| universe.endpoint(&EndpointKey::new(&key.namespace, *pod)))
        .collect();
    (!endpoints.is_empty()).then(|| one_identity(text, &endpoints, None))
}

/// The pod and workload names of `namespace`, for an "unknown name" help line.
pub fn candidates_in(namespace: &str, universe: &Universe, workloads: &Workloads) -> Vec<String> {
    let prefix = format!("{namespace}/");
    let mut names: BTreeSet<String> = workloads
        .names()
        .into_iter()
        .filter(|n| n.starts_with(&prefix))
        .collect();
    names.extend(
        universe
            .endpoints()
            .iter()
            .filter(|e| e.key.namespace == namespace)
            .map(|e| e.key.to_string()),
    );
    names.into_iter().collect()
}

/// `a, b, c and 4 more`.
pub fn listed(items: impl Iterator<Item = String>) -> String {
    let items: Vec<String> = items.collect();
    let shown = items
        .iter()
        .take(LISTED_CANDIDATES)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    match items.len().saturating_sub(LISTED_CANDIDATES) {
        0 => shown,
        more => format!("{shown} and {more} more"),
    }
}

/// A pod's own `k8s:` labels (not the ones Cilium adds). The controllers' per-pod labels
/// (`pod-template-hash`, `statefulset.kubernetes.io/pod-name`, ...) are not among them: the
/// universe holds identity labels, after Cilium's label filter (`policyc_ir::label_filter`).
fn own_labels(labels: &LabelSet) -> impl Iterator<Item = Label> + '_ {
    labels.iter().filter(|l| {
        l.source == LabelSource::K8s
            && !l.key.starts_with("io.kubernetes.")
            && !l.key.starts_with("io.cilium.")
    })
}

/// What must be equal for one verdict to hold for two pods: the identity labels (already
/// without the controllers' per-pod labels: Cilium's label filter drops them) and the named
/// ports (a named port in a rule resolves per pod).
type PeerClass = (Vec<Label>, BTreeMap<String, NamedPort>);

fn class_of(endpoint: &Endpoint) -> PeerClass {
    (
        endpoint.labels.iter().collect(),
        endpoint.named_ports.clone(),
    )
}

/// The first pod (by name) when every pod is of one class, else an error listing the classes
/// and, for a selector, a label that tells them apart.
fn one_identity(
    text: &str,
    pods: &[&Endpoint],
    selector: Option<&[(String, String)]>,
) -> Result<FlowPeer, PeerError> {
    let mut classes: BTreeMap<PeerClass, Vec<&Endpoint>> = BTreeMap::new();
    for pod in pods {
        classes.entry(class_of(pod)).or_default().push(pod);
    }
    let groups: Vec<Vec<&Endpoint>> = classes
        .into_values()
        .map(|mut g| {
            g.sort_by(|a, b| a.key.cmp(&b.key));
            g
        })
        .collect();
    if let [group] = groups.as_slice() {
        if let Some(first) = group.first() {
            return Ok(FlowPeer::Endpoint(first.key.clone()));
        }
    }
    let described: Vec<String> = groups
        .iter()
        .filter_map(|g| {
            let first = g.first()?;
            let mut names: Vec<String> = g
                .iter()
                .take(LISTED_PODS)
                .map(|e| e.key.to_string())
                .collect();
            if g.len() > LISTED_PODS {
                names.push(format!("{} more", g.len() - LISTED_PODS));
            }
            Some(format!(
                "identity {} ({})",
                first.identity,
                names.join(", ")
            ))
        })
        .collect();
    let help = match selector {
        Some(_) => {
            let narrowed: Vec<String> = groups
                .iter()
                .filter_map(|g| distinguishing_label(g, &groups))
                .map(|label| format!("`{text},{label}`"))
                .collect();
            if narrowed.is_empty() {
                "the pods differ only in named ports; name one pod (namespace/name)".to_string()
            } else {
                format!("narrow the selector, e.g. {}", narrowed.join(" or "))
            }
        }
        None => format!(
            "name one pod (namespace/name), or use a label selector that picks one group, e.g. `{}/app=...`",
            text.split_once('/').map_or(text, |(ns, _)| ns)
        ),
    };
    Err(PeerError {
        code: &codes::AMBIGUOUS_PEER,
        message: format!(
            "`{text}` names pods of {} different identities: {}",
            groups.len(),
            described.join("; ")
        ),
        help: Some(help),
    })
}

/// A `key=value` that every pod of `group` has and no pod of another group has.
fn distinguishing_label(group: &[&Endpoint], groups: &[Vec<&Endpoint>]) -> Option<String> {
    let first = group.first()?;
    own_labels(&first.labels)
        .filter(|l| group.iter().all(|e| has_label(&e.labels, &l.key, &l.value)))
        .find(|l| {
            groups
                .iter()
                .filter(|g| !std::ptr::eq(g.as_slice(), group))
                .flatten()
                .all(|e| !has_label(&e.labels, &l.key, &l.value))
        })
        .map(|l| format!("{}={}", l.key, l.value))
}
