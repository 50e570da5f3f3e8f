//! Entities (`fromEntities`/`toEntities`) and Cilium's reserved identities — the one place
//! where reserved identity numbers are defined.

use crate::labels::{Label, LabelKey, LabelSource, CLUSTER_KEY};
use crate::selector::{EndpointSelector, Requirement};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Reserved identities with Cilium's numbers (`pkg/identity/numericidentity.go`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ReservedIdentity {
    Host,
    World,
    Unmanaged,
    Health,
    Init,
    RemoteNode,
    KubeApiserver,
    Ingress,
    WorldIpv4,
    WorldIpv6,
}

impl ReservedIdentity {
    pub const ALL: [ReservedIdentity; 10] = [
        Self::Host,
        Self::World,
        Self::Unmanaged,
        Self::Health,
        Self::Init,
        Self::RemoteNode,
        Self::KubeApiserver,
        Self::Ingress,
        Self::WorldIpv4,
        Self::WorldIpv6,
    ];

    pub fn number(self) -> u32 {
        match self {
            Self::Host => 1,
            Self::World => 2,
            Self::Unmanaged => 3,
            Self::Health => 4,
            Self::Init => 5,
            Self::RemoteNode => 6,
            Self::KubeApiserver => 7,
            Self::Ingress => 8,
            Self::WorldIpv4 => 9,
            Self::WorldIpv6 => 10,
        }
    }

    pub fn from_number(n: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.number() == n)
    }

    /// The `reserved:` label key (`host`, `world-ipv4`, ...).
    pub fn label_key(self) -> &'static str {
        match self {
            Self::Host => "host",
            Self::World => "world",
            Self::Unmanaged => "unmanaged",
            Self::Health => "health",
            Self::Init => "init",
            Self::RemoteNode => "remote-node",
            Self::KubeApiserver => "kube-apiserver",
            Self::Ingress => "ingress",
            Self::WorldIpv4 => "world-ipv4",
            Self::WorldIpv6 => "world-ipv6",
        }
    }

    /// Labels of the reserved identity. World-per-family identities also carry `reserved:world`
    /// so `toEntities: [world]` matches them; kube-apiserver also carries `remote-node`.
    pub fn labels(self) -> Vec<Label> {
        let mut v = vec![Label::reserved(self.label_key())];
        match self {
            Self::WorldIpv4 | Self::WorldIpv6 => v.push(Label::reserved("world")),
            Self::KubeApiserver => v.push(Label::reserved("remote-node")),
            _ => {}
        }
        v
    }
}

impl fmt::Display for ReservedIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "reserved:{}", self.label_key())
    }
}

/// The entity names of the CRD enum (plus `world-ipv4`/`world-ipv6`, accepted by the agent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Entity {
    All,
    World,
    WorldIpv4,
    WorldIpv6,
    Cluster,
    Host,
    Init,
    Ingress,
    Unmanaged,
    RemoteNode,
    Health,
    None,
    KubeApiserver,
}

impl Entity {
    pub const NAMES: [&'static str; 13] = [
        "all",
        "world",
        "world-ipv4",
        "world-ipv6",
        "cluster",
        "host",
        "init",
        "ingress",
        "unmanaged",
        "remote-node",
        "health",
        "none",
        "kube-apiserver",
    ];

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "all" => Self::All,
            "world" => Self::World,
            "world-ipv4" => Self::WorldIpv4,
            "world-ipv6" => Self::WorldIpv6,
            "cluster" => Self::Cluster,
            "host" => Self::Host,
            "init" => Self::Init,
            "ingress" => Self::Ingress,
            "unmanaged" => Self::Unmanaged,
            "remote-node" => Self::RemoteNode,
            "health" => Self::Health,
            "none" => Self::None,
            "kube-apiserver" => Self::KubeApiserver,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::World => "world",
            Self::WorldIpv4 => "world-ipv4",
            Self::WorldIpv6 => "world-ipv6",
            Self::Cluster => "cluster",
            Self::Host => "host",
            Self::Init => "init",
            Self::Ingress => "ingress",
            Self::Unmanaged => "unmanaged",
            Self::RemoteNode => "remote-node",
            Self::Health => "health",
            Self::None => "none",
            Self::KubeApiserver => "kube-apiserver",
        }
    }

    /// The label selectors this entity stands for (Cilium `EntitySelectorMapping`, with
    /// `cluster` initialised for `cluster_name`). Empty = selects nothing (`none`).
    pub fn selectors(self, cluster_name: &str) -> Vec<EndpointSelector> {
        let reserved = |k: &str| {
            EndpointSelector::wildcard()
                .with(Requirement::exists(LabelKey::new(LabelSource::Reserved, k)))
        };
        match self {
            Self::All => vec![EndpointSelector::wildcard()],
            Self::World => vec![
                reserved("world"),
                reserved("world-ipv4"),
                reserved("world-ipv6"),
            ],
            Self::WorldIpv4 => vec![reserved("world-ipv4")],
            Self::WorldIpv6 => vec![reserved("world-ipv6")],
            Self::Host => vec![reserved("host")],
            Self::Init => vec![reserved("init")],
            Self::Ingress => vec![reserved("ingress")],
            Self::Unmanaged => vec![reserved("unmanaged")],
            Self::RemoteNode => vec![reserved("remote-node")],
            Self::Health => vec![reserved("health")],
            Self::KubeApiserver => vec![reserved("kube-apiserver")],
            Self::None => vec![],
            Self::Cluster => {
                let mut v: Vec<EndpointSelector> = [
                    "host",
                    "remote-node",
                    "init",
                    "ingress",
                    "health",
                    "unmanaged",
                    "kube-apiserver",
                ]
                .into_iter()
                .map(reserved)
                .collect();
                v.push(EndpointSelector::wildcard().with(Requirement::equals(
                    LabelKey::new(LabelSource::K8s, CLUSTER_KEY),
                    cluster_name,
                )));
                v
            }
        }
    }
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
