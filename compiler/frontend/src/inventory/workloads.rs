//! Which workloads own each pod, from Kubernetes `ownerReferences`: a Deployment through its
//! ReplicaSet (the ReplicaSet object when the inventory has it, else the pod's
//! `pod-template-hash` label, as the ReplicaSet is named `<deployment>-<hash>`), a StatefulSet,
//! DaemonSet, Job (and its CronJob when the Job object is present)... FlowTests and `explain`
//! name pods by workload with this, so tests survive rollouts (pod names change, workload
//! names do not).

use crate::yaml::Node;
use std::collections::{BTreeMap, BTreeSet};

/// A workload a pod belongs to: the kind and name of an owner, e.g. `Deployment/frontend`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WorkloadRef {
    pub kind: String,
    pub name: String,
}

impl std::fmt::Display for WorkloadRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.kind, self.name)
    }
}

/// The owners of every pod of an inventory that has any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Workloads {
    /// `(namespace, pod)` → its owners, nearest first (`ReplicaSet/frontend-7d9f8b6c5`, then
    /// `Deployment/frontend`).
    owners: BTreeMap<(String, String), Vec<WorkloadRef>>,
}

impl Workloads {
    /// The owners of a pod, nearest first (empty for a bare pod or a native inventory).
    pub fn owners_of(&self, namespace: &str, pod: &str) -> &[WorkloadRef] {
        self.owners
            .get(&(namespace.to_string(), pod.to_string()))
            .map_or(&[], Vec::as_slice)
    }

    /// The pods of `namespace` owned (directly or through other owners) by a workload called
    /// `name`, with that workload, sorted by pod name.
    pub fn pods_of(&self, namespace: &str, name: &str) -> Vec<(&str, &WorkloadRef)> {
        self.owners
            .iter()
            .filter(|((ns, _), _)| ns == namespace)
            .filter_map(|((_, pod), owners)| {
                owners
                    .iter()
                    .find(|o| o.name == name)
                    .map(|o| (pod.as_str(), o))
            })
            .collect()
    }

    /// `namespace/name` of every workload (for "did you mean").
    pub fn names(&self) -> BTreeSet<String> {
        self.owners
            .iter()
            .flat_map(|((ns, _), owners)| owners.iter().map(move |o| format!("{ns}/{}", o.name)))
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.owners.is_empty()
    }
}

/// Owner facts gathered while reading the inventory documents.
#[derive(Debug, Default)]
pub struct OwnerFacts {
    /// Each pod's controlling owner and its `pod-template-hash` label.
    pods: Vec<PodOwner>,
    /// Owner objects present in the inventory (`namespace`, `kind`, `name`) → their own owner.
    objects: BTreeMap<(String, String, String), Option<WorkloadRef>>,
}

#[derive(Debug)]
struct PodOwner {
    namespace: String,
    pod: String,
    owner: WorkloadRef,
    template_hash: Option<String>,
}

/// Kinds whose objects are read only for their `ownerReferences`.
pub const OWNER_KINDS: &[&str] = &[
    "ReplicaSet",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "Job",
    "CronJob",
    "ReplicationController",
];

/// Owner chains longer than this are cut (they cannot occur in Kubernetes; a hand-written
/// inventory could loop).
const MAX_DEPTH: usize = 8;

/// The controlling owner of an object: the `ownerReferences` entry with `controller: true`,
/// else the first one.
pub fn controller_of(metadata: &Node) -> Option<WorkloadRef> {
    let refs = metadata.get("ownerReferences")?.as_seq()?;
    let parse = |r: &Node| {
        Some(WorkloadRef {
            kind: r.get("kind")?.as_str()?.to_string(),
            name: r.get("name")?.as_str()?.to_string(),
        })
        .filter(|w| !w.kind.is_empty() && !w.name.is_empty())
    };
    refs.iter()
        .find(|r| r.get("controller").and_then(Node::as_bool) == Some(true))
        .and_then(parse)
        .or_else(|| refs.iter().find_map(parse))
}

impl OwnerFacts {
    pub fn add_pod(
        &mut self,
        namespace: &str,
        pod: &str,
        owner: WorkloadRef,
        template_hash: Option<String>,
    ) {
        self.pods.push(PodOwner {
            namespace: namespace.to_string(),
            pod: pod.to_string(),
            owner,
            template_hash,
        });
    }

    pub fn add_object(
        &mut self,
        namespace: &str,
        kind: &str,
        name: &str,
        owner: Option<WorkloadRef>,
    ) {
        self.objects.insert(
            (namespace.to_string(), kind.to_string(), name.to_string()),
            owner,
        );
    }

    /// Follows every pod's owners up to the top.
    pub fn resolve(&self) -> Workloads {
        let mut owners = BTreeMap::new();
        for pod in &self.pods {
            let mut chain = vec![pod.owner.clone()];
            while chain.len() < MAX_DEPTH {
                let Some(last) = chain.last() else { break };
                let key = (pod.namespace.clone(), last.kind.clone(), last.name.clone());
                let next = match self.objects.get(&key) {
                    Some(owner) => owner.clone(),
                    // Without the ReplicaSet object (kubectl get pods does not list it), its
                    // name `<deployment>-<pod-template-hash>` names the Deployment.
                    None if last.kind == "ReplicaSet" && chain.len() == 1 => pod
                        .template_hash
                        .as_deref()
                        .and_then(|hash| last.name.strip_suffix(hash)?.strip_suffix('-'))
                        .filter(|d| !d.is_empty())
                        .map(|d| WorkloadRef {
                            kind: "Deployment".to_string(),
                            name: d.to_string(),
                        }),
                    None => None,
                };
                match next {
                    Some(next) if !chain.contains(&next) => chain.push(next),
                    _ => break,
                }
            }
            owners.insert((pod.namespace.clone(), pod.pod.clone()), chain);
        }
        Workloads { owners }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(kind: &str, name: &str) -> WorkloadRef {
        WorkloadRef {
            kind: kind.to_string(),
            name: name.to_string(),
        }
    }

    #[test]
    fn replicaset_object_names_its_deployment() {
        let mut facts = OwnerFacts::default();
        facts.add_pod("web", "fe-abc-x", w("ReplicaSet", "fe-abc"), None);
        facts.add_object(
            "web",
            "ReplicaSet",
            "fe-abc",
            Some(w("Deployment", "frontend")),
        );
        let workloads = facts.resolve();
        assert_eq!(
            workloads.owners_of("web", "fe-abc-x"),
            [w("ReplicaSet", "fe-abc"), w("Deployment", "frontend")]
        );
    }

    #[test]
    fn without_the_replicaset_the_template_hash_names_the_deployment() {
        let mut facts = OwnerFacts::default();
        let rs = w("ReplicaSet", "frontend-7d9f8b6c5");
        facts.add_pod("web", "p", rs.clone(), Some("7d9f8b6c5".to_string()));
        let workloads = facts.resolve();
        assert_eq!(
            workloads.owners_of("web", "p"),
            [rs, w("Deployment", "frontend")]
        );
        assert_eq!(workloads.pods_of("web", "frontend").len(), 1);
        assert!(workloads.pods_of("other", "frontend").is_empty());
    }

    #[test]
    fn a_hash_that_is_not_the_suffix_names_no_deployment() {
        let mut facts = OwnerFacts::default();
        let rs = w("ReplicaSet", "frontend-7d9f8b6c5");
        facts.add_pod("web", "p", rs.clone(), Some("other".to_string()));
        assert_eq!(facts.resolve().owners_of("web", "p"), [rs]);
    }

    #[test]
    fn a_bare_replicaset_object_stays_the_workload() {
        let mut facts = OwnerFacts::default();
        let rs = w("ReplicaSet", "frontend-7d9f8b6c5");
        facts.add_pod("web", "p", rs.clone(), Some("7d9f8b6c5".to_string()));
        facts.add_object("web", "ReplicaSet", "frontend-7d9f8b6c5", None);
        assert_eq!(facts.resolve().owners_of("web", "p"), [rs]);
    }

    #[test]
    fn an_owner_loop_ends() {
        let mut facts = OwnerFacts::default();
        facts.add_pod("ns", "p", w("Job", "a"), None);
        facts.add_object("ns", "Job", "a", Some(w("Job", "b")));
        facts.add_object("ns", "Job", "b", Some(w("Job", "a")));
        assert_eq!(
            facts.resolve().owners_of("ns", "p"),
            [w("Job", "a"), w("Job", "b")]
        );
    }
}
