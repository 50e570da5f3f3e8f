//! Resolution of a [`FlowPeer`] to a party of the universe: its identity, and the endpoint or
//! node behind it when there is one.

use super::flow::FlowPeer;
use super::verdict::ResolvedPeer;
use crate::entity::{Entity, ReservedIdentity};
use crate::identity::{Identity, NumericIdentity};
use crate::labels::{Label, LabelSet, CLUSTER_KEY};
use crate::universe::{Endpoint, EndpointKey, Node, Universe};
use std::net::IpAddr;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlowError {
    #[error("unknown endpoint `{0}`")]
    UnknownEndpoint(EndpointKey),
    #[error(
        "entity `{0}` is a set of peers, not one peer; name a concrete entity, endpoint or address"
    )]
    NotAConcretePeer(Entity),
    #[error("identity {0} is not in the universe")]
    UnknownIdentity(NumericIdentity),
}

/// One end of a flow, resolved.
#[derive(Debug, Clone, Copy)]
pub struct Party<'u> {
    pub identity: &'u Identity,
    pub endpoint: Option<&'u Endpoint>,
    pub node: Option<&'u Node>,
}

impl<'u> Party<'u> {
    pub fn resolve(universe: &'u Universe, peer: &FlowPeer) -> Result<Self, FlowError> {
        let identity =
            |id: NumericIdentity| universe.identity(id).ok_or(FlowError::UnknownIdentity(id));
        match peer {
            FlowPeer::Endpoint(key) => {
                let ep = universe
                    .endpoint(key)
                    .ok_or_else(|| FlowError::UnknownEndpoint(key.clone()))?;
                Ok(Self {
                    identity: identity(ep.identity)?,
                    endpoint: Some(ep),
                    node: None,
                })
            }
            FlowPeer::Ip(ip) => Self::from_ip(universe, ip),
            FlowPeer::Entity(entity) => {
                let (reserved, node) = match entity {
                    Entity::Host => (ReservedIdentity::Host, universe.local_node()),
                    // A remote node: the first one of the inventory, with its own identity
                    // when it has one (`enable-node-selector-labels`).
                    Entity::RemoteNode => {
                        let node = universe.nodes().iter().find(|n| !n.local);
                        if let Some(own) = node.and_then(|n| n.remote_identity) {
                            return Ok(Self {
                                identity: identity(own)?,
                                endpoint: None,
                                node,
                            });
                        }
                        (ReservedIdentity::RemoteNode, node)
                    }
                    Entity::World | Entity::WorldIpv4 => {
                        return Ok(Self {
                            identity: identity(universe.world_identity(false))?,
                            endpoint: None,
                            node: None,
                        })
                    }
                    Entity::WorldIpv6 => {
                        return Ok(Self {
                            identity: identity(universe.world_identity(true))?,
                            endpoint: None,
                            node: None,
                        })
                    }
                    Entity::KubeApiserver => (ReservedIdentity::KubeApiserver, None),
                    Entity::Health => (ReservedIdentity::Health, None),
                    Entity::Init => (ReservedIdentity::Init, None),
                    Entity::Ingress => (ReservedIdentity::Ingress, None),
                    Entity::Unmanaged => (ReservedIdentity::Unmanaged, None),
                    Entity::All | Entity::Cluster | Entity::None => {
                        return Err(FlowError::NotAConcretePeer(*entity))
                    }
                };
                Ok(Self {
                    identity: identity(NumericIdentity(reserved.number()))?,
                    endpoint: None,
                    node,
                })
            }
        }
    }

    /// The party behind an address: an endpoint, a node, or whatever the ipcache says.
    pub fn from_ip(universe: &'u Universe, ip: &IpAddr) -> Result<Self, FlowError> {
        let id = universe.identity_of_ip(ip);
        let identity = universe
            .identity(id)
            .ok_or(FlowError::UnknownIdentity(id))?;
        Ok(Self {
            identity,
            endpoint: universe.endpoint_by_ip(ip),
            node: universe.node_by_ip(ip),
        })
    }

    /// The party of a bare identity (no address known): endpoints are not singled out, the host
    /// identity stands for the local node.
    pub fn from_identity(universe: &'u Universe, id: NumericIdentity) -> Result<Self, FlowError> {
        let identity = universe
            .identity(id)
            .ok_or(FlowError::UnknownIdentity(id))?;
        // A remote node's own identity stands for the first node that has it (nodes with one
        // label set share it, and `fromNodes`/`toNodes` see only labels).
        let node = if id.0 == ReservedIdentity::Host.number() {
            universe.local_node()
        } else {
            universe
                .nodes()
                .iter()
                .find(|n| !n.local && n.remote_identity == Some(id))
        };
        Ok(Self {
            identity,
            endpoint: None,
            node,
        })
    }

    /// Labels a `fromNodes`/`toNodes` selector sees: the node's labels, its reserved identity
    /// label and the cluster label.
    pub fn node_labels(&self, cluster: &str) -> Option<LabelSet> {
        let node = self.node?;
        let mut labels = node.labels.clone();
        for l in self.identity.labels.iter() {
            labels.insert(l);
        }
        labels.insert(Label::k8s(CLUSTER_KEY, cluster));
        Some(labels)
    }

    pub fn describe(&self, display: String) -> ResolvedPeer {
        ResolvedPeer {
            display,
            identity: self.identity.id,
            endpoint: self.endpoint.map(|e| e.key.to_string()),
            node: self.node.map(|n| n.name.clone()),
        }
    }
}
