//! Resolves one endpoint (and, with rayon, all of them).
//!
//! How the work stays small without re-implementing the semantics:
//! 1. only the rules whose subject selects the endpoint in the direction are kept (the oracle's
//!    `subject_selects`, asked once per distinct subject: [`super::policy_index`]);
//! 2. identities are grouped by their *match signature* — which of those rules' peers match
//!    them (the oracle's `peer_matches`, evaluated once per distinct peer for the whole rule
//!    table as identity bitsets: [`super::selector_cache`]) and whether they are the host —
//!    because the oracle's side verdict depends on the peer only through that signature;
//! 3. per group and protocol, the port function is computed by interval algebra over the
//!    group's rules ([`super::port_algebra`], the oracle's precedence); the reference
//!    evaluation — the oracle asked once per piece of the port space cut at every boundary of
//!    the group's rules — stays available ([`PortEvaluation::OraclePerPiece`]) and the
//!    differential tests check that both agree.
//!
//! Protocols other than TCP/UDP/SCTP/ICMP/ICMPv6 (the datapath's protocol-0 fallback) have no
//! oracle transport; their verdict follows the same rules restricted to L3-only rule items.

use super::function_memo::MemoKey;
use super::identity_index::IdentityIndex;
use super::model::{
    DirectionContext, MatchSignature, PeerGroup, PortEvaluation, ProtocolFunctions, ResolveError,
    ResolvedDirection, ResolvedEndpoint, ResolvedPolicy,
};
use super::policy_index::PolicyIndex;
use super::port_algebra::{port_function, GroupRule, Precedence};
use super::port_function::{L7PolicyId, PolicyProtocol, PortFunction, PortInterval, Verdict};
use super::rule_coverage::ORACLE_PROTOCOLS;
use crate::resolve::cilium_encoding::{CiliumEncoding, CiliumPortScope};
use fixedbitset::FixedBitSet;
use policyc_ir::oracle::{
    Decision, Flow, FlowError, FlowPeer, Oracle, Reason, SideVerdict, Transport,
};
use policyc_ir::universe::{AllowLocalhost, EndpointKey, EnforcementMode, Universe};
use policyc_ir::{
    Direction, IpFamily, NumericIdentity, PeerSet, PolicyRule, PortMatch, PortSpec, Protocol,
    ReservedIdentity, RuleAction, RuleId,
};
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

/// Resolves every endpoint of the universe (in parallel, sharing one [`PolicyIndex`]).
pub fn resolve(universe: &Universe, rules: &[PolicyRule]) -> Result<ResolvedPolicy, ResolveError> {
    let index = PolicyIndex::new(universe, rules)?;
    let endpoints = universe
        .endpoints()
        .par_iter()
        .map(|ep| index.resolve_endpoint(&ep.key))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ResolvedPolicy { endpoints })
}

/// Resolves one endpoint.
pub fn resolve_endpoint(
    universe: &Universe,
    rules: &[PolicyRule],
    key: &EndpointKey,
) -> Result<ResolvedEndpoint, ResolveError> {
    PolicyIndex::new(universe, rules)?.resolve_endpoint(key)
}

/// Resolves one endpoint the reference way: every port function asked of the oracle piece by
/// piece ([`PortEvaluation::OraclePerPiece`]). Slow; for differential tests.
pub fn resolve_endpoint_by_oracle(
    universe: &Universe,
    rules: &[PolicyRule],
    key: &EndpointKey,
) -> Result<ResolvedEndpoint, ResolveError> {
    PolicyIndex::new(universe, rules)?.resolve_endpoint_with(key, PortEvaluation::OraclePerPiece)
}

impl DirectionContext<'_> {
    /// Resolves the direction; `matched[i]` are the identities (positions in `identities`) the
    /// peers of `selected[i]` match.
    pub(super) fn resolve(
        &self,
        identities: &IdentityIndex<'_>,
        matched: &[&FixedBitSet],
        cilium: &mut CiliumEncoding,
    ) -> Result<ResolvedDirection, ResolveError> {
        let universe = self.universe;
        // Transposed: per identity, the selected rules matching it, in rule order.
        let mut rules_of: Vec<Vec<usize>> = vec![Vec::new(); identities.len()];
        let mut matched_by_rule: Vec<Vec<NumericIdentity>> = Vec::with_capacity(matched.len());
        for (i, set) in matched.iter().enumerate() {
            let mut ids = Vec::with_capacity(set.count_ones(..));
            for position in set.ones() {
                rules_of[position].push(i);
                ids.push(identities.id(position));
            }
            matched_by_rule.push(ids);
        }
        let mut by_signature: BTreeMap<MatchSignature, Vec<NumericIdentity>> = BTreeMap::new();
        for (position, rules) in rules_of.into_iter().enumerate() {
            let id = identities.id(position);
            let signature = MatchSignature {
                rules,
                is_host: id.0 == ReservedIdentity::Host.number(),
            };
            by_signature.entry(signature).or_default().push(id);
        }
        self.add_cilium_keys(&matched_by_rule, cilium);

        let default_deny_by: Vec<RuleId> = self
            .selected
            .iter()
            .filter(|r| r.default_deny)
            .map(|r| r.id)
            .collect();
        let options = universe.options();
        let enforced = options.enforcement != EnforcementMode::Never
            && (!default_deny_by.is_empty() || options.enforcement == EnforcementMode::Always);
        let mut groups = Vec::with_capacity(by_signature.len());
        for (signature, identities) in &by_signature {
            let representative = identities[0];
            let functions = self.functions(signature, representative, enforced)?;
            let matching_rules = signature
                .rules
                .iter()
                .map(|i| self.selected[*i].id)
                .collect();
            groups.push(PeerGroup {
                identities: identities.clone(),
                matching_rules,
                functions,
            });
        }
        let unknown_peer = self.unknown_peer(&by_signature, &groups, enforced);
        if let (Direction::Egress, Some(classes)) = (self.direction, self.fqdn) {
            let pseudo = super::fqdn::fqdn_groups(self, classes, enforced, &groups, &unknown_peer)?;
            groups.extend(pseudo);
            super::fqdn::add_cilium_fqdn_keys(self, classes, cilium);
        }
        Ok(ResolvedDirection {
            direction: self.direction,
            enforced,
            default_deny_by,
            selected_rules: self.selected.iter().map(|r| r.id).collect(),
            groups,
            unknown_peer,
        })
    }

    /// An identity created after the build is matched by the rules with the L3 wildcard only
    /// (as far as the build can know): reuse that group when one exists, else fail closed.
    fn unknown_peer(
        &self,
        by_signature: &BTreeMap<MatchSignature, Vec<NumericIdentity>>,
        groups: &[PeerGroup],
        enforced: bool,
    ) -> ProtocolFunctions {
        let wildcard = MatchSignature {
            rules: self
                .selected
                .iter()
                .enumerate()
                .filter(|(_, r)| r.peers == PeerSet::All)
                .map(|(i, _)| i)
                .collect(),
            is_host: false,
        };
        if let Some(index) = by_signature.keys().position(|s| *s == wildcard) {
            if let Some(group) = groups.get(index) {
                return group.functions.clone();
            }
        }
        let verdict = if enforced || !wildcard.rules.is_empty() {
            Verdict::DefaultDeny
        } else {
            Verdict::Allow
        };
        PolicyProtocol::ALL
            .into_iter()
            .map(|p| (p, PortFunction::constant(verdict, Vec::new())))
            .collect()
    }

    fn oracle_error(&self, source: FlowError) -> ResolveError {
        ResolveError::Oracle {
            endpoint: self.key.clone(),
            source,
        }
    }

    /// The functions of one peer group, evaluated for one of its identities.
    ///
    /// The oracle is asked with only the rules whose peers match the group (the signature): the
    /// other selected rules cannot decide a flow from this peer — they only decide whether the
    /// direction is default-deny, which `enforced` carries in. This keeps the cost per group
    /// proportional to the rules that concern it instead of to every selected rule.
    pub(super) fn functions(
        &self,
        signature: &MatchSignature,
        representative: NumericIdentity,
        enforced: bool,
    ) -> Result<ProtocolFunctions, ResolveError> {
        if self.evaluation == PortEvaluation::Algebra {
            return self.algebra_functions(signature, representative, enforced);
        }
        let group_rules: Vec<PolicyRule> = signature
            .rules
            .iter()
            .map(|i| self.selected[*i].clone())
            .collect();
        let oracle = Oracle::new(self.universe, &group_rules);
        let mut out = ProtocolFunctions::new();
        for protocol in PolicyProtocol::ALL {
            let function = match protocol.ir() {
                Some(ir_protocol) => {
                    self.oracle_function(&oracle, signature, ir_protocol, representative, enforced)?
                }
                None => self.own_function(signature),
            };
            out.insert(protocol, function);
        }
        Ok(out)
    }

    /// [`Self::functions`] by interval algebra over the group's rules.
    fn algebra_functions(
        &self,
        signature: &MatchSignature,
        representative: NumericIdentity,
        enforced: bool,
    ) -> Result<ProtocolFunctions, ResolveError> {
        let options = self.universe.options();
        let group: Vec<GroupRule<'_>> = signature
            .rules
            .iter()
            .map(|i| GroupRule {
                rule: self.selected[*i],
                coverage: &self.coverage[*i],
            })
            .collect();
        let precedence = Precedence {
            enforcement_disabled: options.enforcement == EnforcementMode::Never,
            localhost_bypass: self.direction == Direction::Ingress
                && options.allow_localhost == AllowLocalhost::Always
                && representative.0 == ReservedIdentity::Host.number(),
            enforced,
        };
        let flags = (
            precedence.enforcement_disabled,
            precedence.localhost_bypass,
            precedence.enforced,
        );
        let memo = self
            .memo
            .filter(|_| self.versions.len() == self.selected.len());
        let mut out = ProtocolFunctions::new();
        for (slot, protocol) in ORACLE_PROTOCOLS.into_iter().enumerate() {
            // Only the rules covering something on this protocol shape its function, so groups
            // that differ elsewhere share it (and an edit elsewhere leaves it valid).
            let members: Vec<&GroupRule<'_>> = group
                .iter()
                .filter(|g| !g.coverage.spans(slot).is_empty())
                .collect();
            let worth = memo.is_some_and(|memo| {
                memo.borrow()
                    .worth_keeping(members.len(), signature.rules.len())
            });
            let key = memo.filter(|_| worth).map(|memo| {
                let rules = signature
                    .rules
                    .iter()
                    .filter(|i| !self.coverage[**i].spans(slot).is_empty())
                    .map(|i| self.versions[*i])
                    .collect();
                let key = MemoKey {
                    endpoint: self.key.clone(),
                    direction: self.direction,
                    flags,
                    slot,
                    rules,
                };
                (memo, key)
            });
            if let Some((memo, key)) = &key {
                if let Some(hit) = memo.borrow_mut().get(key) {
                    out.insert(protocol, hit.clone());
                    continue;
                }
            }
            let members: Vec<GroupRule<'_>> = members.into_iter().copied().collect();
            let function = port_function(&members, slot, precedence).map_err(|source| {
                ResolveError::PortFunction {
                    endpoint: self.key.clone(),
                    source,
                }
            })?;
            if let Some((memo, key)) = key {
                memo.borrow_mut().insert(key, function.clone());
            }
            out.insert(protocol, function);
        }
        out.insert(PolicyProtocol::Other, self.own_function(signature));
        Ok(out)
    }

    /// Asks the oracle once per elementary interval of the group's rules.
    fn oracle_function(
        &self,
        oracle: &Oracle<'_>,
        signature: &MatchSignature,
        protocol: Protocol,
        peer: NumericIdentity,
        enforced: bool,
    ) -> Result<PortFunction, ResolveError> {
        let domain_end: u32 = if matches!(protocol, Protocol::Icmp | Protocol::Icmpv6) {
            255
        } else {
            65535
        };
        let mut cuts: BTreeSet<u32> = BTreeSet::from([0]);
        for i in &signature.rules {
            self.collect_cuts(self.selected[*i], protocol, &mut cuts);
        }
        let starts: Vec<u32> = cuts.into_iter().filter(|c| *c <= domain_end).collect();
        let mut intervals = Vec::with_capacity(starts.len());
        for (n, start) in starts.iter().enumerate() {
            let end = starts.get(n + 1).map_or(65535, |next| next - 1);
            let transport = transport_at(protocol, *start);
            let flow = Flow::new(
                FlowPeer::Endpoint(self.key.clone()),
                FlowPeer::Endpoint(self.key.clone()),
                transport,
            );
            let side = oracle
                .endpoint_verdict(self.key, self.direction, peer, &flow)
                .map_err(|e| self.oracle_error(e))?;
            let (verdict, rules) = match side.reason {
                // The group oracle only knows the group's rules; whether no rule means deny is
                // the direction's enforcement, decided by all selected rules.
                Reason::DefaultDeny | Reason::NotEnforced if enforced => {
                    (Verdict::DefaultDeny, Vec::new())
                }
                Reason::DefaultDeny | Reason::NotEnforced => (Verdict::Allow, Vec::new()),
                _ => verdict_of(&side),
            };
            intervals.push(PortInterval {
                lo: clamp16(*start),
                hi: clamp16(end),
                verdict,
                rules,
            });
        }
        PortFunction::from_intervals(intervals).map_err(|source| ResolveError::PortFunction {
            endpoint: self.key.clone(),
            source,
        })
    }

    /// Range boundaries of one rule for one protocol (named ports resolved as the oracle does:
    /// the endpoint's own on ingress, every endpoint's on egress).
    fn collect_cuts(&self, rule: &PolicyRule, protocol: Protocol, cuts: &mut BTreeSet<u32>) {
        match &rule.ports {
            PortMatch::Any => {}
            PortMatch::Icmps(icmps) => {
                for m in icmps.iter().filter(|m| m.protocol() == protocol) {
                    cuts.insert(u32::from(m.icmp_type));
                    cuts.insert(u32::from(m.icmp_type) + 1);
                }
            }
            PortMatch::Ports(port_rules) => {
                for pp in port_rules.iter().flat_map(|pr| pr.ports.iter()) {
                    if !pp.protocol.expand().contains(&protocol) {
                        continue;
                    }
                    for (lo, hi) in self.port_spec_ranges(&pp.port, protocol) {
                        cuts.insert(u32::from(lo));
                        cuts.insert(u32::from(hi) + 1);
                    }
                }
            }
        }
    }

    fn port_spec_ranges(&self, spec: &PortSpec, protocol: Protocol) -> Vec<(u16, u16)> {
        match spec {
            PortSpec::Range(r) => vec![(r.lo(), r.hi())],
            PortSpec::Named(name) => {
                let endpoints = self
                    .universe
                    .endpoints()
                    .iter()
                    .filter(|e| match self.direction {
                        Direction::Ingress => &e.key == self.key,
                        Direction::Egress => true,
                    });
                endpoints
                    .filter_map(|e| e.named_ports.get(name))
                    .filter(|np| np.protocol == protocol)
                    .map(|np| (np.port, np.port))
                    .collect()
            }
        }
    }

    /// Verdict for protocols the oracle has no transport for: only L3-only rule items (no
    /// ports, or a port rule without ports) cover them.
    fn own_function(&self, signature: &MatchSignature) -> PortFunction {
        let options = self.universe.options();
        if options.enforcement == EnforcementMode::Never {
            return PortFunction::constant(Verdict::Allow, Vec::new());
        }
        let covering = |r: &PolicyRule| -> Option<bool> {
            // Some(l7_free) when an item of the rule covers every protocol.
            match &r.ports {
                PortMatch::Any => Some(true),
                PortMatch::Icmps(_) => None,
                PortMatch::Ports(prs) => {
                    let all: Vec<_> = prs.iter().filter(|pr| pr.ports.is_empty()).collect();
                    (!all.is_empty()).then(|| all.iter().any(|pr| pr.l7.is_none()))
                }
            }
        };
        let matching: Vec<&PolicyRule> =
            signature.rules.iter().map(|i| self.selected[*i]).collect();
        let denies: Vec<RuleId> = matching
            .iter()
            .filter(|r| r.action == RuleAction::Deny && covering(r).is_some())
            .map(|r| r.id)
            .collect();
        if !denies.is_empty() {
            return PortFunction::constant(Verdict::Deny, denies);
        }
        if self.direction == Direction::Ingress
            && signature.is_host
            && options.allow_localhost == AllowLocalhost::Always
        {
            return PortFunction::constant(Verdict::Allow, Vec::new());
        }
        let allows: Vec<(RuleId, bool)> = matching
            .iter()
            .filter(|r| r.action == RuleAction::Allow)
            .filter_map(|r| covering(r).map(|l7_free| (r.id, l7_free)))
            .collect();
        let enforced = self.selected.iter().any(|r| r.default_deny)
            || options.enforcement == EnforcementMode::Always;
        if allows.is_empty() {
            return if enforced {
                PortFunction::constant(Verdict::DefaultDeny, Vec::new())
            } else {
                PortFunction::constant(Verdict::Allow, Vec::new())
            };
        }
        let ids: Vec<RuleId> = allows.iter().map(|(id, _)| *id).collect();
        if allows.iter().any(|(_, l7_free)| *l7_free) {
            PortFunction::constant(Verdict::Allow, ids)
        } else {
            PortFunction::constant(Verdict::RedirectL7(L7PolicyId(ids[0].0)), ids)
        }
    }

    /// The keys Cilium's policy map would get from the selected rules.
    fn add_cilium_keys(
        &self,
        matched_by_rule: &[Vec<NumericIdentity>],
        cilium: &mut CiliumEncoding,
    ) {
        for (rule, matched) in self.selected.iter().zip(matched_by_rule) {
            let peers: Vec<Option<NumericIdentity>> = match &rule.peers {
                PeerSet::All => vec![None],
                PeerSet::Some(_) => matched.iter().copied().map(Some).collect(),
            };
            let scopes = self.cilium_scopes(rule);
            for peer in &peers {
                for scope in &scopes {
                    cilium.add(*peer, self.direction, *scope);
                }
            }
        }
    }

    pub(super) fn cilium_scopes(&self, rule: &PolicyRule) -> Vec<CiliumPortScope> {
        match &rule.ports {
            PortMatch::Any => vec![CiliumPortScope::AllProtocols],
            PortMatch::Icmps(icmps) => icmps
                .iter()
                .map(|m| CiliumPortScope::IcmpType {
                    protocol: m.protocol().number(),
                    icmp_type: m.icmp_type,
                })
                .collect(),
            PortMatch::Ports(prs) => {
                let mut out = Vec::new();
                for pr in prs {
                    if pr.ports.is_empty() {
                        out.push(CiliumPortScope::AllProtocols);
                    }
                    for pp in &pr.ports {
                        for protocol in pp.protocol.expand() {
                            for (lo, hi) in self.port_spec_ranges(&pp.port, *protocol) {
                                out.push(CiliumPortScope::Range {
                                    protocol: protocol.number(),
                                    lo,
                                    hi,
                                });
                            }
                        }
                    }
                }
                out
            }
        }
    }
}

fn clamp16(v: u32) -> u16 {
    u16::try_from(v).unwrap_or(u16::MAX)
}

fn transport_at(protocol: Protocol, start: u32) -> Transport {
    let port = clamp16(start);
    match protocol {
        Protocol::Icmp => Transport::Icmp {
            family: IpFamily::IPv4,
            icmp_type: u8::try_from(start).unwrap_or(u8::MAX),
        },
        Protocol::Icmpv6 => Transport::Icmp {
            family: IpFamily::IPv6,
            icmp_type: u8::try_from(start).unwrap_or(u8::MAX),
        },
        Protocol::Udp => Transport::Udp { port },
        Protocol::Sctp => Transport::Sctp { port },
        _ => Transport::Tcp { port },
    }
}

/// Maps the oracle's side verdict (no L7 request given) to a datapath verdict.
fn verdict_of(side: &SideVerdict) -> (Verdict, Vec<RuleId>) {
    match (side.decision, side.reason) {
        (Decision::Deny, Reason::DefaultDeny) => (Verdict::DefaultDeny, Vec::new()),
        (Decision::Deny, Reason::AuthRequired) => (Verdict::AuthRequired, side.deciding.clone()),
        (Decision::Deny, _) => (Verdict::Deny, side.deciding.clone()),
        (Decision::Allow, Reason::L7ProxyRedirect) => {
            let id = side.deciding.first().map_or(0, |r| r.0);
            (Verdict::RedirectL7(L7PolicyId(id)), side.deciding.clone())
        }
        (Decision::Allow, _) => (Verdict::Allow, side.deciding.clone()),
    }
}
