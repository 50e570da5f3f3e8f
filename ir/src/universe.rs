//! The universe a policy set is evaluated in: cluster name, evaluation options, identities,
//! endpoints (pods), nodes and the ipcache. Built once per run (the compiler's
//! `identity::build_universe` allocates the identities) and then read by the oracle, the
//! compiler back end and diff. No I/O.

mod ipcache;

pub use ipcache::Ipcache;

use crate::entity::ReservedIdentity;
use crate::identity::{Identity, IdentityKind, NumericIdentity};
use crate::labels::LabelSet;
use crate::ports::Protocol;
use crate::prefix::Prefix;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

/// Cilium's `allow-localhost`: may the local host always reach local endpoints (ingress)?
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AllowLocalhost {
    /// `always` (what `auto` becomes in Kubernetes mode): host → local endpoint ingress is
    /// allowed before policy (explicit denies still win).
    #[default]
    Always,
    /// `policy`: host traffic is subject to ingress policy like any other peer.
    Policy,
}

/// Cilium's `enable-policy` mode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EnforcementMode {
    /// Allow-all in a direction until a default-deny rule selects the endpoint in it.
    #[default]
    Default,
    /// Default-deny in both directions even without policy.
    Always,
    /// No enforcement at all.
    Never,
}

/// Options that change verdicts without changing the policies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UniverseOptions {
    pub allow_localhost: AllowLocalhost,
    pub enforcement: EnforcementMode,
}

/// A container port name: `http: 8080/TCP`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct NamedPort {
    pub port: u16,
    pub protocol: Protocol,
}

impl fmt::Display for NamedPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.port, self.protocol)
    }
}

/// `namespace/name` of an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EndpointKey {
    pub namespace: String,
    pub name: String,
}

impl EndpointKey {
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    /// Parses `namespace/name` (exactly one `/`, both parts non-empty).
    pub fn parse(text: &str) -> Option<Self> {
        let (ns, name) = text.split_once('/')?;
        (!ns.is_empty() && !name.is_empty() && !name.contains('/')).then(|| Self::new(ns, name))
    }
}

impl fmt::Display for EndpointKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// A pod (or any workload endpoint managed by Cilium).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub key: EndpointKey,
    /// The identity labels, including the implicit ones Cilium adds (namespace, namespace
    /// labels, service account, cluster).
    pub labels: LabelSet,
    pub ips: Vec<IpAddr>,
    /// Lower-cased container port names.
    pub named_ports: BTreeMap<String, NamedPort>,
    pub identity: NumericIdentity,
    pub interface: Option<String>,
    pub service_account: Option<String>,
}

/// A node of the cluster; the local node's IPs are `host`, the others' are `remote-node` — or,
/// with `enable-node-selector-labels`, the remote node's own identity (`remote_identity`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    pub name: String,
    pub ips: Vec<IpAddr>,
    pub labels: LabelSet,
    pub local: bool,
    /// A remote node's own identity (an [`crate::identity::IdentityKind::RemoteNode`] one);
    /// `None`: the shared `remote-node` identity (6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_identity: Option<NumericIdentity>,
}

impl Node {
    /// The identity of this node's addresses.
    pub fn identity(&self) -> NumericIdentity {
        if self.local {
            return NumericIdentity(ReservedIdentity::Host.number());
        }
        self.remote_identity
            .unwrap_or(NumericIdentity(ReservedIdentity::RemoteNode.number()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UniverseError {
    #[error("endpoint {endpoint} refers to identity {identity}, which does not exist")]
    MissingIdentity {
        endpoint: EndpointKey,
        identity: NumericIdentity,
    },
    #[error("endpoint {0} is defined twice")]
    DuplicateEndpoint(EndpointKey),
    #[error("address {ip} belongs to both {first} and {second}")]
    DuplicateAddress {
        ip: IpAddr,
        first: String,
        second: String,
    },
    #[error("identity {0} is not one of the reserved identities 1-10 but has a reserved kind")]
    BadReservedIdentity(NumericIdentity),
}

/// Everything the oracle needs besides the rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Universe {
    cluster: String,
    options: UniverseOptions,
    dual_stack: bool,
    identities: BTreeMap<NumericIdentity, Identity>,
    /// Sorted by key.
    endpoints: Vec<Endpoint>,
    nodes: Vec<Node>,
    ipcache: Ipcache,
}

impl Universe {
    /// Assembles a universe from allocated identities, endpoints and nodes and builds the
    /// ipcache: endpoint IPs (/32, /128) → endpoint identity, local node IPs → host (1), other
    /// node IPs → remote-node (6), every CIDR identity's prefix → that identity; everything else
    /// is world. The reserved identities 1–10 are always present.
    ///
    /// World: like Cilium, a dual-stack universe (IPv4 and IPv6 addresses among endpoints and
    /// nodes) gives unknown addresses `world-ipv4` (9) / `world-ipv6` (10); a single-stack one
    /// gives `world` (2).
    pub fn new(
        cluster: impl Into<String>,
        options: UniverseOptions,
        identities: impl IntoIterator<Item = Identity>,
        mut endpoints: Vec<Endpoint>,
        nodes: Vec<Node>,
    ) -> Result<Self, UniverseError> {
        let mut ids: BTreeMap<NumericIdentity, Identity> = ReservedIdentity::ALL
            .into_iter()
            .map(|r| (NumericIdentity(r.number()), Identity::reserved(r)))
            .collect();
        for identity in identities {
            if let IdentityKind::Reserved(r) = identity.kind {
                if r.number() != identity.id.0 {
                    return Err(UniverseError::BadReservedIdentity(identity.id));
                }
            }
            ids.insert(identity.id, identity);
        }
        endpoints.sort_by(|a, b| a.key.cmp(&b.key));
        for pair in endpoints.windows(2) {
            if pair[0].key == pair[1].key {
                return Err(UniverseError::DuplicateEndpoint(pair[0].key.clone()));
            }
        }
        for ep in &endpoints {
            if !ids.contains_key(&ep.identity) {
                return Err(UniverseError::MissingIdentity {
                    endpoint: ep.key.clone(),
                    identity: ep.identity,
                });
            }
        }
        let all_ips = endpoints
            .iter()
            .flat_map(|e| e.ips.iter())
            .chain(nodes.iter().flat_map(|n| n.ips.iter()));
        let (mut v4, mut v6) = (false, false);
        for ip in all_ips {
            v4 |= ip.is_ipv4();
            v6 |= ip.is_ipv6();
        }
        let dual_stack = v4 && v6;
        let ipcache = Ipcache::build(&ids, &endpoints, &nodes, dual_stack)?;
        Ok(Self {
            cluster: cluster.into(),
            options,
            dual_stack,
            identities: ids,
            endpoints,
            nodes,
            ipcache,
        })
    }

    /// Adds one endpoint (and its identity, when it is a new one) in place: the universe
    /// [`Universe::new`] would build with it among the endpoints. `Ok(false)` (nothing changed)
    /// when the endpoint's addresses would make the universe dual-stack, which changes the world
    /// identity of every address: build it anew then.
    pub fn add_endpoint(
        &mut self,
        endpoint: Endpoint,
        identity: Option<Identity>,
    ) -> Result<bool, UniverseError> {
        let (v4, v6) = self.families();
        let dual_stack = (v4 || endpoint.ips.iter().any(IpAddr::is_ipv4))
            && (v6 || endpoint.ips.iter().any(IpAddr::is_ipv6));
        if dual_stack != self.dual_stack {
            return Ok(false);
        }
        let at = match self
            .endpoints
            .binary_search_by(|e| e.key.cmp(&endpoint.key))
        {
            Ok(_) => return Err(UniverseError::DuplicateEndpoint(endpoint.key)),
            Err(at) => at,
        };
        if let Some(identity) = &identity {
            if matches!(identity.kind, IdentityKind::Reserved(_)) {
                return Err(UniverseError::BadReservedIdentity(identity.id));
            }
        }
        let known = self.identities.contains_key(&endpoint.identity)
            || identity.as_ref().is_some_and(|i| i.id == endpoint.identity);
        if !known {
            return Err(UniverseError::MissingIdentity {
                endpoint: endpoint.key,
                identity: endpoint.identity,
            });
        }
        for (n, ip) in endpoint.ips.iter().enumerate() {
            let owner = self
                .node_by_ip(ip)
                .map(|n| format!("node {}", n.name))
                .or_else(|| {
                    self.endpoint_by_ip(ip)
                        .map(|e| format!("endpoint {}", e.key))
                })
                .or_else(|| {
                    endpoint.ips[..n]
                        .contains(ip)
                        .then(|| format!("endpoint {}", endpoint.key))
                });
            if let Some(first) = owner {
                return Err(UniverseError::DuplicateAddress {
                    ip: *ip,
                    first,
                    second: format!("endpoint {}", endpoint.key),
                });
            }
        }
        if let Some(identity) = identity {
            self.identities.insert(identity.id, identity);
        }
        self.ipcache.insert_hosts(&endpoint.ips, endpoint.identity);
        self.endpoints.insert(at, endpoint);
        Ok(true)
    }

    /// The same endpoints and nodes with `cidr` as the CIDR identities (the rules mention
    /// other prefixes): the universe [`Universe::new`] builds from them.
    pub fn with_cidr_identities(&self, cidr: Vec<Identity>) -> Result<Universe, UniverseError> {
        let others = self
            .identities
            .values()
            .filter(|i| i.cidr_prefix().is_none())
            .cloned();
        Universe::new(
            self.cluster.clone(),
            self.options,
            others.chain(cidr).collect::<Vec<_>>(),
            self.endpoints.clone(),
            self.nodes.clone(),
        )
    }

    /// Whether any endpoint or node has an IPv4 / an IPv6 address.
    fn families(&self) -> (bool, bool) {
        let all = self
            .endpoints
            .iter()
            .flat_map(|e| e.ips.iter())
            .chain(self.nodes.iter().flat_map(|n| n.ips.iter()));
        let (mut v4, mut v6) = (false, false);
        for ip in all {
            v4 |= ip.is_ipv4();
            v6 |= ip.is_ipv6();
        }
        (v4, v6)
    }

    pub fn cluster(&self) -> &str {
        &self.cluster
    }

    pub fn options(&self) -> UniverseOptions {
        self.options
    }

    /// The same universe with other options (identities and ipcache are unchanged).
    pub fn with_options(mut self, options: UniverseOptions) -> Self {
        self.options = options;
        self
    }

    pub fn is_dual_stack(&self) -> bool {
        self.dual_stack
    }

    pub fn identities(&self) -> &BTreeMap<NumericIdentity, Identity> {
        &self.identities
    }

    pub fn identity(&self, id: NumericIdentity) -> Option<&Identity> {
        self.identities.get(&id)
    }

    pub fn reserved(&self, r: ReservedIdentity) -> Option<&Identity> {
        self.identities.get(&NumericIdentity(r.number()))
    }

    /// Endpoints sorted by `namespace/name`.
    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    pub fn endpoint(&self, key: &EndpointKey) -> Option<&Endpoint> {
        self.endpoints
            .binary_search_by(|e| e.key.cmp(key))
            .ok()
            .and_then(|i| self.endpoints.get(i))
    }

    pub fn endpoint_by_ip(&self, ip: &IpAddr) -> Option<&Endpoint> {
        self.endpoints.iter().find(|e| e.ips.contains(ip))
    }

    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    pub fn local_node(&self) -> Option<&Node> {
        self.nodes.iter().find(|n| n.local)
    }

    pub fn node_by_ip(&self, ip: &IpAddr) -> Option<&Node> {
        self.nodes.iter().find(|n| n.ips.contains(ip))
    }

    pub fn ipcache(&self) -> &Ipcache {
        &self.ipcache
    }

    /// The identity an address resolves to (longest-prefix match; unknown = world).
    pub fn identity_of_ip(&self, ip: &IpAddr) -> NumericIdentity {
        self.ipcache.lookup(ip)
    }

    /// The world identity for addresses of this family (2, or 9/10 when dual-stack).
    pub fn world_identity(&self, ipv6: bool) -> NumericIdentity {
        Ipcache::world_for(self.dual_stack, ipv6)
    }

    /// All CIDR identities, by prefix.
    pub fn cidr_identities(&self) -> impl Iterator<Item = (&Prefix, &Identity)> {
        self.identities
            .values()
            .filter_map(|i| i.cidr_prefix().map(|p| (p, i)))
    }
}
