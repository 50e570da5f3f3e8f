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
