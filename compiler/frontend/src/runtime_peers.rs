//! Peers that Cilium resolves at run time, resolved offline from the inventory: `toServices`
//! from Services and EndpointSlices, `cidrGroupRef`/`cidrGroupSelector` from CiliumCIDRGroups.
//! A peer whose objects the inventory does not carry stays unresolved (the lowering makes it
//! `Peer::Unresolved`, lint PC0312 reports it and `policyc build` refuses it in a deny rule).

use crate::inventory::cidr_groups::InventoryCidrGroup;
use crate::inventory::services::{InventoryEndpointSlice, InventoryService};
use crate::inventory::Inventory;
use policyc_ir::{EndpointSelector, Label, LabelSet, LabelSource, Prefix};
use std::collections::BTreeMap;

/// A `toServices` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceRef {
    /// `k8sService: {serviceName, namespace}`.
    Name {
        name: String,
        namespace: Option<String>,
    },
    /// `k8sServiceSelector: {selector, namespace}`.
    Selector {
        selector: EndpointSelector,
        namespace: Option<String>,
    },
}

/// What one selected service stands for: its pod selector in its namespace, or (a service
/// without a selector) the addresses of its EndpointSlices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceTarget {
    Pods {
        namespace: String,
        selector: BTreeMap<String, String>,
    },
    Backends(Vec<Prefix>),
}

/// The Services and CIDR groups of an inventory; `None` when the inventory has no object of
/// that kind at all (then nothing can be resolved, rather than resolving to nothing).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuntimePeers {
    services: Option<Vec<ServiceFacts>>,
    cidr_groups: Option<Vec<InventoryCidrGroup>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct ServiceFacts {
    service: InventoryService,
    backends: Vec<Prefix>,
}

fn label_set(labels: &BTreeMap<String, String>) -> LabelSet {
    let mut set = LabelSet::new();
    for (k, v) in labels {
        set.insert(Label::new(LabelSource::K8s, k.clone(), v.clone()));
    }
    set
}

/// `cilium:pkg/policy/k8s/service.go` `serviceRefMatches`/`serviceSelectorMatches`: an empty
/// namespace matches a service in any namespace (it is not defaulted to the policy's).
fn namespace_matches(wanted: Option<&str>, namespace: &str) -> bool {
    wanted.is_none_or(|w| w.is_empty() || w == namespace)
}

impl RuntimePeers {
    #[must_use]
    pub fn from_inventory(inventory: &Inventory) -> Self {
        let services = (!inventory.services.is_empty()).then(|| {
            inventory
                .services
                .iter()
                .map(|service| ServiceFacts {
                    backends: backends(service, &inventory.endpoint_slices),
                    service: service.clone(),
                })
                .collect()
        });
        let cidr_groups =
            (!inventory.cidr_groups.is_empty()).then(|| inventory.cidr_groups.clone());
        Self {
            services,
            cidr_groups,
        }
    }

    /// The services a `toServices` entry selects, as Cilium's policy watcher translates them
    /// (`cilium:pkg/policy/k8s/service.go` `processRule`): a service with a selector becomes a
    /// generated `toEndpoints` selector (its selector plus its namespace, `appendSelector`), one
    /// without a selector its EndpointSlice addresses as generated `toCIDRSet` entries
    /// (`appendEndpoints`; `enable-high-scale-ipcache` is off by default). `None`: the
    /// inventory has no Services, or none by that name.
    #[must_use]
    pub fn service(&self, service: &ServiceRef) -> Option<Vec<ServiceTarget>> {
        let services = self.services.as_ref()?;
        let selected: Vec<&ServiceFacts> = match service {
            ServiceRef::Name { name, namespace } => {
                let found: Vec<&ServiceFacts> = services
                    .iter()
                    .filter(|s| {
                        &s.service.name == name
                            && namespace_matches(namespace.as_deref(), &s.service.namespace)
                    })
                    .collect();
                if found.is_empty() {
                    return None;
                }
                found
            }
            ServiceRef::Selector {
                selector,
                namespace,
            } => services
                .iter()
                .filter(|s| {
                    namespace_matches(namespace.as_deref(), &s.service.namespace)
                        && selector.matches(&label_set(&s.service.labels))
                })
                .collect(),
        };
        Some(
            selected
                .into_iter()
                .map(|s| {
                    if s.service.selector.is_empty() {
                        ServiceTarget::Backends(s.backends.clone())
                    } else {
                        ServiceTarget::Pods {
                            namespace: s.service.namespace.clone(),
                            selector: s.service.selector.clone(),
                        }
                    }
                })
                .collect(),
        )
    }

    /// The prefixes of the CIDR group `name`; `None` when the inventory does not have it.
    #[must_use]
    pub fn cidr_group_ref(&self, name: &str) -> Option<Vec<Prefix>> {
        let groups = self.cidr_groups.as_ref()?;
        groups
            .iter()
            .find(|g| g.name == name)
            .map(|g| g.cidrs.clone())
    }

    /// The prefixes of every CIDR group whose labels `selector` matches; `None` when the
    /// inventory has no CIDR groups.
    #[must_use]
    pub fn cidr_group_selector(&self, selector: &EndpointSelector) -> Option<Vec<Prefix>> {
        let groups = self.cidr_groups.as_ref()?;
        let mut prefixes: Vec<Prefix> = groups
            .iter()
            .filter(|g| selector.matches(&label_set(&g.labels)))
            .flat_map(|g| g.cidrs.iter().copied())
            .collect();
        prefixes.sort();
        prefixes.dedup();
        Some(prefixes)
    }
}

/// The backend addresses of `service`: every address of the EndpointSlices that name it
/// (`cilium:pkg/k8s` `Endpoints.Prefixes`), each as a host prefix.
fn backends(service: &InventoryService, slices: &[InventoryEndpointSlice]) -> Vec<Prefix> {
    let mut prefixes: Vec<Prefix> = slices
        .iter()
        .filter(|s| s.namespace == service.namespace && s.service == service.name)
        .flat_map(|s| s.addresses.iter().map(|a| Prefix::host(*a)))
        .collect();
    prefixes.sort();
    prefixes.dedup();
    prefixes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::services::InventoryEndpointSlice;

    fn service(namespace: &str, name: &str, selector: &[(&str, &str)]) -> InventoryService {
        InventoryService {
            namespace: namespace.into(),
            name: name.into(),
            labels: BTreeMap::from([("tier".to_string(), "db".to_string())]),
            selector: selector
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect(),
        }
    }

    fn inventory() -> Inventory {
        Inventory {
            services: vec![
                service("a", "db", &[]),
                service("b", "db", &[("app", "db")]),
            ],
            endpoint_slices: vec![InventoryEndpointSlice {
                namespace: "a".into(),
                service: "db".into(),
                addresses: vec!["198.18.0.1".parse().unwrap_or_else(|e| panic!("{e}"))],
            }],
            ..Inventory::default()
        }
    }

    fn by_name(namespace: Option<&str>) -> ServiceRef {
        ServiceRef::Name {
            name: "db".into(),
            namespace: namespace.map(str::to_string),
        }
    }

    #[test]
    fn a_service_without_namespace_is_looked_up_in_every_namespace() {
        let peers = RuntimePeers::from_inventory(&inventory());
        assert_eq!(peers.service(&by_name(None)).map(|t| t.len()), Some(2));
        assert_eq!(peers.service(&by_name(Some("a"))).map(|t| t.len()), Some(1));
    }

    #[test]
    fn a_service_without_selector_is_its_backends_one_with_a_selector_its_pods() {
        let peers = RuntimePeers::from_inventory(&inventory());
        let targets = peers.service(&by_name(None)).unwrap_or_default();
        assert!(matches!(&targets[0], ServiceTarget::Backends(b) if b.len() == 1));
        assert!(matches!(&targets[1], ServiceTarget::Pods { namespace, .. } if namespace == "b"));
    }

    #[test]
    fn unknown_objects_stay_unresolved() {
        let peers = RuntimePeers::from_inventory(&inventory());
        let missing = ServiceRef::Name {
            name: "nope".into(),
            namespace: None,
        };
        assert_eq!(peers.service(&missing), None);
        assert_eq!(peers.cidr_group_ref("any"), None, "no CIDR groups at all");
        let none = RuntimePeers::from_inventory(&Inventory::default());
        assert_eq!(none.service(&by_name(None)), None, "no Services at all");
    }
}
