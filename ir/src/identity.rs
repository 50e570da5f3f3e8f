//! Security identities: a number plus the labels every rule is matched against.

use crate::entity::ReservedIdentity;
use crate::labels::{Label, LabelSet, LabelSource};
use crate::prefix::Prefix;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A numeric security identity (24-bit in Cilium; local CIDR identities use scope `1 << 24`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct NumericIdentity(pub u32);

impl NumericIdentity {
    /// First identity number for endpoint label sets (cluster-global allocation starts at 256).
    pub const FIRST_ENDPOINT: u32 = 256;
    /// Scope bit of node-local CIDR identities (`16777217+`).
    pub const LOCAL_CIDR_SCOPE: u32 = 1 << 24;
    /// Scope of remote nodes' own identities (`2 << 24 | n`): with Cilium's
    /// `enable-node-selector-labels`, each remote node label set gets a node-local identity of
    /// this scope (`cilium:pkg/identity` `IdentityScopeRemoteNode`).
    pub const REMOTE_NODE_SCOPE: u32 = 2 << 24;
    /// Scope of policyc's FQDN-class pseudo-identities (`3 << 24 | class`): "an address outside
    /// the cluster learned from a DNS answer for `toFQDNs` selector class `class`". Never in the
    /// ipcache; only policy tables name them (mirrored by `bpf-templates/fqdn_learned.h`).
    pub const FQDN_CLASS_SCOPE: u32 = 3 << 24;
    /// Number of FQDN classes (bits 0..=62 of the learned map's selector bitmap).
    pub const FQDN_CLASSES: u8 = 63;

    /// The pseudo-identity of FQDN selector class `class` (`None` beyond [`Self::FQDN_CLASSES`]).
    pub fn fqdn_class(class: u8) -> Option<Self> {
        (class < Self::FQDN_CLASSES).then(|| Self(Self::FQDN_CLASS_SCOPE | u32::from(class)))
    }

    /// The FQDN class a pseudo-identity stands for.
    pub fn fqdn_class_bit(self) -> Option<u8> {
        if self.0 & 0xff00_0000 != Self::FQDN_CLASS_SCOPE {
            return None;
        }
        u8::try_from(self.0 & 0x00ff_ffff)
            .ok()
            .filter(|c| *c < Self::FQDN_CLASSES)
    }

    /// Node-local CIDR identity (outside the cluster).
    pub fn is_local_cidr(self) -> bool {
        self.0 & 0xff00_0000 == Self::LOCAL_CIDR_SCOPE
    }
}

impl fmt::Display for NumericIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// What an identity stands for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum IdentityKind {
    Reserved(ReservedIdentity),
    /// Pods (one identity per distinct label set).
    Endpoint,
    /// A prefix a policy mentions; carries `cidr:` + world labels; matched by containment.
    Cidr(Prefix),
    /// Remote nodes with one label set, with `enable-node-selector-labels`: `reserved:remote-node`,
    /// the nodes' labels and the cluster label (`cilium:pkg/node/manager` `nodeIdentityLabels`).
    RemoteNode,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Identity {
    pub id: NumericIdentity,
    pub kind: IdentityKind,
    pub labels: LabelSet,
}

impl Identity {
    pub fn reserved(r: ReservedIdentity) -> Self {
        Self {
            id: NumericIdentity(r.number()),
            kind: IdentityKind::Reserved(r),
            labels: r.labels().into_iter().collect(),
        }
    }

    /// A CIDR identity; `dual_stack` decides whether it carries `world-ipv4/6` or plain `world`.
    pub fn cidr(id: NumericIdentity, prefix: Prefix) -> Self {
        let mut labels =
            LabelSet::new().with(Label::new(LabelSource::Cidr, prefix.to_string(), ""));
        labels.insert(Label::reserved("world"));
        labels.insert(Label::reserved(if prefix.is_ipv4() {
            "world-ipv4"
        } else {
            "world-ipv6"
        }));
        Self {
            id,
            kind: IdentityKind::Cidr(prefix),
            labels,
        }
    }

    pub fn is_world(&self) -> bool {
        matches!(
            self.kind,
            IdentityKind::Cidr(_)
                | IdentityKind::Reserved(
                    ReservedIdentity::World
                        | ReservedIdentity::WorldIpv4
                        | ReservedIdentity::WorldIpv6
                )
        )
    }

    pub fn cidr_prefix(&self) -> Option<&Prefix> {
        match &self.kind {
            IdentityKind::Cidr(p) => Some(p),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::NumericIdentity;

    #[test]
    fn fqdn_class_pseudo_identities_round_trip_and_stay_out_of_other_scopes() {
        for class in 0..NumericIdentity::FQDN_CLASSES {
            let id = NumericIdentity::fqdn_class(class).unwrap();
            assert_eq!(id.fqdn_class_bit(), Some(class));
            assert!(!id.is_local_cidr());
        }
        assert_eq!(NumericIdentity::fqdn_class(63), None);
        assert_eq!(NumericIdentity(2).fqdn_class_bit(), None);
        assert_eq!(NumericIdentity((1 << 24) | 5).fqdn_class_bit(), None);
        assert_eq!(NumericIdentity((3 << 24) | 63).fqdn_class_bit(), None);
    }
}
