//! The reference evaluator: given a [`Universe`] and the normalized rules, decide a flow the way
//! Cilium v1.19 would — the source endpoint's egress AND the destination endpoint's ingress —
//! and say which rules decided. Everything else (datapath, diff, explain, flow tests) is
//! checked against this.
//!
//! Replies: policy is judged on the forward direction of a connection; replies and related
//! packets of an allowed connection pass (conntrack), see [`Oracle::is_reply_allowed`].
//!
//! ```
//! use policyc_ir::identity::{Identity, IdentityKind, NumericIdentity};
//! use policyc_ir::oracle::{Decision, Flow, FlowPeer, Oracle, Transport};
//! use policyc_ir::universe::{Endpoint, EndpointKey, Universe, UniverseOptions};
//! use policyc_ir::{Label, LabelSet};
//!
//! // Usually built by `policyc_frontend::identity::build_universe` from an inventory.
//! let labels: LabelSet = [Label::k8s("app", "web")].into_iter().collect();
//! let id = NumericIdentity(256);
//! let web = Endpoint {
//!     key: EndpointKey::new("prod", "web"),
//!     labels: labels.clone(),
//!     ips: vec!["198.18.1.1".parse().unwrap()],
//!     named_ports: Default::default(),
//!     identity: id,
//!     interface: None,
//!     service_account: None,
//! };
//! let identity = Identity { id, kind: IdentityKind::Endpoint, labels };
//! let universe = Universe::new("default", UniverseOptions::default(), [identity], vec![web], vec![]).unwrap();
//! let flow = Flow::new(
//!     FlowPeer::Ip("203.0.113.9".parse().unwrap()),
//!     FlowPeer::Endpoint(EndpointKey::new("prod", "web")),
//!     Transport::Tcp { port: 80 },
//! );
//! // No rules: nothing selects prod/web, so it is not enforced.
//! let verdict = Oracle::new(&universe, &[]).evaluate(&flow).unwrap();
//! assert_eq!(verdict.decision, Decision::Allow);
//! ```

mod flow;
mod l7match;
mod matching;
mod party;
mod side;
mod verdict;

pub use flow::{Flow, FlowPeer, KafkaRequest, L7Request, Transport};
pub use matching::{cidr_matches, peer_matches, subject_selects, PeerMatch};
pub use party::{FlowError, Party};
pub use verdict::{Decision, FlowVerdict, Reason, ResolvedPeer, SideVerdict};

use crate::identity::NumericIdentity;
use crate::rule::{Direction, PolicyRule, RuleId};
use crate::universe::{EndpointKey, Universe};
use side::{evaluate_side, SideInput};
use std::collections::BTreeMap;

/// The oracle over one universe and one rule table.
pub struct Oracle<'a> {
    universe: &'a Universe,
    rules: &'a [PolicyRule],
    by_id: BTreeMap<RuleId, &'a PolicyRule>,
}

impl<'a> Oracle<'a> {
    pub fn new(universe: &'a Universe, rules: &'a [PolicyRule]) -> Self {
        Self {
            universe,
            rules,
            by_id: rules.iter().map(|r| (r.id, r)).collect(),
        }
    }

    pub fn universe(&self) -> &'a Universe {
        self.universe
    }

    pub fn rules(&self) -> &'a [PolicyRule] {
        self.rules
    }

    pub fn rule(&self, id: RuleId) -> Option<&'a PolicyRule> {
        self.by_id.get(&id).copied()
    }

    /// The verdict of a flow (forward direction): egress of the source, ingress of the
    /// destination, allowed when both allow.
    pub fn evaluate(&self, flow: &Flow) -> Result<FlowVerdict, FlowError> {
        let source = Party::resolve(self.universe, &flow.source)?;
        let destination = Party::resolve(self.universe, &flow.destination)?;
        let side = |direction, subject, peer| {
            evaluate_side(&SideInput {
                universe: self.universe,
                rules: self.rules,
                direction,
                subject,
                peer,
                flow,
            })
        };
        let egress = side(Direction::Egress, source, destination);
        let ingress = side(Direction::Ingress, destination, source);
        let decision = if egress.is_allow() && ingress.is_allow() {
            Decision::Allow
        } else {
            Decision::Deny
        };
        Ok(FlowVerdict {
            source: source.describe(flow.source.to_string()),
            destination: destination.describe(flow.destination.to_string()),
            egress,
            ingress,
            decision,
        })
    }

    /// Replies and related packets of a connection pass exactly when its forward direction was
    /// allowed (conntrack); policy is never evaluated on them.
    pub fn is_reply_allowed(&self, forward: &Flow) -> Result<bool, FlowError> {
        Ok(self.evaluate(forward)?.is_allow())
    }

    /// One endpoint's verdict towards a peer known only by identity (what a datapath policy map
    /// decides): `direction` of `endpoint`, the peer's identity, and the flow's transport/L7 from
    /// `flow` (its source/destination are ignored).
    pub fn endpoint_verdict(
        &self,
        endpoint: &EndpointKey,
        direction: Direction,
        peer_identity: NumericIdentity,
        flow: &Flow,
    ) -> Result<SideVerdict, FlowError> {
        let subject = Party::resolve(self.universe, &FlowPeer::Endpoint(endpoint.clone()))?;
        let peer = Party::from_identity(self.universe, peer_identity)?;
        Ok(evaluate_side(&SideInput {
            universe: self.universe,
            rules: self.rules,
            direction,
            subject,
            peer,
            flow,
        }))
    }
}

/// Shorthand for `Oracle::new(universe, rules).evaluate(flow)`.
pub fn evaluate(
    universe: &Universe,
    rules: &[PolicyRule],
    flow: &Flow,
) -> Result<FlowVerdict, FlowError> {
    Oracle::new(universe, rules).evaluate(flow)
}
