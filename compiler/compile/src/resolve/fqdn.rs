//! `toFQDNs` peers as pseudo-identities: on egress, every node-wide FQDN class `b` whose
//! selector one of the endpoint's allow rules names gets a peer group of its own, identity
//! `NumericIdentity::fqdn_class(b)`, whose functions are the verdict of "an address outside
//! the cluster learned from a DNS answer for selector `b`": the oracle's verdict with only the
//! rules naming that selector, their peers widened to every peer (so ports, named ports and L7
//! are judged exactly as for any other peer). Deny rules are not part of it: the datapath
//! combines these verdicts with the peer's own (world or CIDR) verdict, where the peer's deny
//! wins and otherwise a pseudo-identity's verdict counts only if it allows more (ranks higher).
//! So ports no such rule covers are "no opinion": they get whatever verdict cannot change a
//! combined verdict — the wildcard-only verdict (class 0's) where that ranks no higher than
//! every outside-cluster peer's own, `DefaultDeny` elsewhere — which lets the layout leave out
//! the pseudo-identity's functions for protocols its selector's rules do not mention, as
//! Cilium's map has no keys for them either.
//!
//! Cilium's policy map has no key for a toFQDNs selector until an address is learned for it;
//! then the address gets a CIDR identity the selector selects, and every rule naming the
//! selector puts its identity × protocol × masked-port keys into the map. For the build
//! report's like-for-like comparison, [`add_cilium_fqdn_keys`] counts the keys Cilium needs
//! once ONE address has been learned for each selector (the minimum for the policy to allow
//! anything through it): per FQDN class, a CIDR identity selected by exactly that selector,
//! keyed under the rules that name it. Rules that also select that identity by other means
//! (`toEntities: world`, a covering `toCIDR`) would add more keys; they are not counted, so
//! the comparison errs in Cilium's favour.
//!
//! The oracle's other condition — some `rules.dns` rule of the endpoint lets the name be looked
//! up — is enforced by the DNS object (only allowed questions create pending entries, only
//! solicited answers are learned), not by these tables.

use super::model::{DirectionContext, MatchSignature, PeerGroup, ProtocolFunctions, ResolveError};
use super::port_function::{PortFunction, PortInterval, Verdict};
use super::rule_coverage::RuleCoverage;
use crate::dns::FqdnClasses;
use crate::resolve::cilium_encoding::CiliumEncoding;
use policyc_ir::rule::{Peer, PeerSet, PolicyRule, RuleAction};
use policyc_ir::NumericIdentity;
use std::collections::BTreeSet;

/// The selected allow rules (indices into `ctx.selected`) whose `toFQDNs` name `selector`.
fn rules_naming(
    ctx: &DirectionContext<'_>,
    selector: &policyc_ir::fqdn::FqdnSelector,
) -> Vec<usize> {
    ctx.selected
        .iter()
        .enumerate()
        .filter(|(_, r)| r.action == RuleAction::Allow)
        .filter(|(_, r)| {
            matches!(&r.peers, PeerSet::Some(peers)
                if peers.iter().any(|p| matches!(p, Peer::Fqdn(s) if s == selector)))
        })
        .map(|(i, _)| i)
        .collect()
}

/// How strongly the datapath's FQDN combination counts a verdict (`fqdn_allow_rank` in
/// `bpf-templates/policyc_fqdn.h`): a pseudo-identity's verdict replaces the peer's own only
/// when it ranks strictly higher; rank 0 never replaces anything.
fn allow_rank(verdict: Verdict) -> u8 {
    match verdict {
        Verdict::Allow => 3,
        Verdict::RedirectL7(_) => 2,
        Verdict::AuthRequired => 1,
        Verdict::Deny | Verdict::DefaultDeny => 0,
    }
}

/// The highest rank a pseudo-identity's verdict at `port` may have without changing any
/// combined verdict: the combination only runs for peers outside the cluster whose own verdict
/// is neither allow nor deny, and only a strictly higher rank replaces theirs.
fn unobservable_rank(outside: &[&PortFunction], port: u16) -> u8 {
    outside
        .iter()
        .map(|f| match f.lookup(port).verdict {
            Verdict::Allow | Verdict::Deny => u8::MAX,
            other => allow_rank(other),
        })
        .min()
        .unwrap_or(u8::MAX)
}

/// The pseudo-identity's function with its "no opinion" intervals (no rule naming the selector
/// decided them) filled in. A "no opinion" port may carry any verdict the combination cannot
/// observe (see [`unobservable_rank`]); it takes the verdict of an identity matched only by
/// the L3-wildcard rules (`wildcard`, the build's class 0, the layout's usual fallback) where
/// that is unobservable — so the pseudo-identity needs no function of its own for a protocol
/// on which the selector's rules say nothing — and `DefaultDeny` elsewhere.
fn fill_no_opinion(
    function: &PortFunction,
    wildcard: &PortFunction,
    outside: &[&PortFunction],
) -> PortFunction {
    let mut starts: BTreeSet<u16> = BTreeSet::new();
    for f in std::iter::once(function)
        .chain(std::iter::once(wildcard))
        .chain(outside.iter().copied())
    {
        starts.extend(f.intervals().iter().map(|iv| iv.lo));
    }
    let starts: Vec<u16> = starts.into_iter().collect();
    let pieces = starts.iter().enumerate().map(|(n, lo)| {
        let hi = starts.get(n + 1).map_or(u16::MAX, |next| next - 1);
        (*lo, hi)
    });
    let intervals: Vec<PortInterval> = pieces
        .map(|(lo, hi)| {
            let own = function.lookup(lo);
            let (verdict, rules) = if !own.rules.is_empty() {
                (own.verdict, own.rules.clone())
            } else {
                let fallback = wildcard.lookup(lo);
                if allow_rank(fallback.verdict) <= unobservable_rank(outside, lo) {
                    (fallback.verdict, fallback.rules.clone())
                } else {
                    (Verdict::DefaultDeny, Vec::new())
                }
            };
            PortInterval {
                lo,
                hi,
                verdict,
                rules,
            }
        })
        .collect();
    PortFunction::from_intervals(intervals).unwrap_or_else(|_| function.clone())
}

/// The pseudo-identity groups of one egress direction, in class order.
///
/// `peers` are the direction's groups of real identities and `unknown_peer` what an identity
/// matched only by the L3-wildcard rules gets (class 0): "no opinion" ports are filled from
/// it where the combination cannot tell (see [`fill_no_opinion`]).
pub(super) fn fqdn_groups(
    ctx: &DirectionContext<'_>,
    classes: &FqdnClasses,
    enforced: bool,
    peers: &[PeerGroup],
    unknown_peer: &ProtocolFunctions,
) -> Result<Vec<PeerGroup>, ResolveError> {
    let representative = ctx.universe.world_identity(false);
    let identities = ctx.universe.identities();
    let outside: Vec<&ProtocolFunctions> = peers
        .iter()
        .filter(|g| {
            g.identities
                .iter()
                .any(|id| identities.get(id).is_some_and(|i| i.is_world()))
        })
        .map(|g| &g.functions)
        .collect();
    let mut groups = Vec::new();
    for (selector, class) in classes.iter() {
        let Some(identity) = NumericIdentity::fqdn_class(class) else {
            continue;
        };
        let naming = rules_naming(ctx, selector);
        if naming.is_empty() {
            continue;
        }
        let widened: Vec<PolicyRule> = naming
            .iter()
            .map(|i| PolicyRule {
                peers: PeerSet::All,
                ..ctx.selected[*i].clone()
            })
            .collect();
        let widened_refs: Vec<&PolicyRule> = widened.iter().collect();
        // Widening the peers leaves the L4 part (the coverage) as it was.
        let widened_coverage: Vec<RuleCoverage> =
            naming.iter().map(|i| ctx.coverage[*i].clone()).collect();
        let widened_ctx = DirectionContext {
            selected: &widened_refs,
            coverage: &widened_coverage,
            memo: None,
            versions: &[],
            ..*ctx
        };
        let signature = MatchSignature {
            rules: (0..widened.len()).collect(),
            is_host: false,
        };
        let functions = widened_ctx
            .functions(&signature, representative, enforced)?
            .iter()
            .map(|(protocol, f)| {
                let outside_functions: Vec<&PortFunction> =
                    outside.iter().filter_map(|o| o.get(protocol)).collect();
                let filled = match unknown_peer.get(protocol) {
                    Some(wildcard) => fill_no_opinion(f, wildcard, &outside_functions),
                    None => fill_no_opinion(
                        f,
                        &PortFunction::constant(Verdict::DefaultDeny, Vec::new()),
                        &outside_functions,
                    ),
                };
                (*protocol, filled)
            })
            .collect();
        groups.push(PeerGroup {
            identities: vec![identity],
            matching_rules: naming.iter().map(|i| ctx.selected[*i].id).collect(),
            functions,
        });
    }
    Ok(groups)
}

/// Cilium's keys for one learned address per FQDN class the egress rules name: the address's
/// CIDR identity (stood for by the class's pseudo-identity, one distinct identity per class)
/// under every allow rule naming the selector, ports split into masked-port prefixes as for
/// any other peer.
pub(super) fn add_cilium_fqdn_keys(
    ctx: &DirectionContext<'_>,
    classes: &FqdnClasses,
    cilium: &mut CiliumEncoding,
) {
    for (selector, class) in classes.iter() {
        let Some(identity) = NumericIdentity::fqdn_class(class) else {
            continue;
        };
        for i in rules_naming(ctx, selector) {
            for scope in ctx.cilium_scopes(ctx.selected[i]) {
                cilium.add(Some(identity), ctx.direction, scope);
            }
        }
    }
}

/// The classes whose pseudo-identities have a group in `groups` (the endpoint's FQDN mask).
pub fn fqdn_mask(groups: &[PeerGroup]) -> u64 {
    groups
        .iter()
        .flat_map(|g| g.identities.iter())
        .filter_map(|id| id.fqdn_class_bit())
        .fold(0, |mask, class| mask | (1u64 << class))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::{resolve_endpoint, PolicyProtocol};
    use policyc_diagnostics::source::SourceMap;
    use policyc_ir::oracle::{Decision, Flow, FlowPeer, Oracle, Reason, Transport};
    use policyc_ir::universe::{EndpointKey, UniverseOptions};
    use std::net::IpAddr;
    use test_case::test_case;

    const INVENTORY: &str = r#"
apiVersion: policyc/v1
kind: Inventory
cluster: default
namespaces:
  - name: app
    labels: {kubernetes.io/metadata.name: app}
  - name: kube-system
    labels: {kubernetes.io/metadata.name: kube-system}
nodes:
  - name: node-1
    ips: [10.9.0.1]
    local: true
endpoints:
  - name: client
    namespace: app
    labels: {app: client}
    ips: [10.1.0.10, "fd00::10"]
  - name: coredns
    namespace: kube-system
    labels: {k8s-app: kube-dns}
    ips: [10.1.0.53]
"#;

    const POLICY: &str = r#"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: fqdn
  namespace: app
spec:
  endpointSelector:
    matchLabels:
      app: client
  egress:
    - toEndpoints:
        - matchLabels:
            k8s:io.kubernetes.pod.namespace: kube-system
      toPorts:
        - ports:
            - port: "53"
              protocol: UDP
          rules:
            dns:
              - matchPattern: "*.example.com"
    - toFQDNs:
        - matchName: api.example.com
      toPorts:
        - ports:
            - port: "443"
              protocol: TCP
    - toFQDNs:
        - matchPattern: "*.example.com"
      toPorts:
        - ports:
            - port: "80"
              protocol: TCP
          rules:
            http:
              - method: GET
  egressDeny:
    - toCIDR:
        - 203.0.113.0/24
      toPorts:
        - ports:
            - port: "443"
              protocol: TCP
"#;

    /// An L4-only wildcard DNS rule (every peer, any protocol on port 53) next to a toFQDNs
    /// rule: the pseudo-identity's "no opinion" ports take the wildcard's verdict.
    const WILDCARD_DNS_POLICY: &str = r#"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: fqdn-wildcard-dns
  namespace: app
spec:
  endpointSelector:
    matchLabels:
      app: client
  egress:
    - toFQDNs:
        - matchName: api.example.com
      toPorts:
        - ports:
            - port: "443"
              protocol: TCP
    - toPorts:
        - ports:
            - port: "53"
              protocol: ANY
          rules:
            dns:
              - matchPattern: "*"
"#;

    fn setup() -> (policyc_ir::universe::Universe, Vec<PolicyRule>) {
        setup_with(POLICY)
    }

    fn setup_with(policy_text: &str) -> (policyc_ir::universe::Universe, Vec<PolicyRule>) {
        let dir = tempfile::tempdir().unwrap();
        let inventory = dir.path().join("inventory.yaml");
        let policy = dir.path().join("policy.yaml");
        std::fs::write(&inventory, INVENTORY).unwrap();
        std::fs::write(&policy, policy_text).unwrap();
        let mut sources = SourceMap::default();
        let inventory = policyc_frontend::inventory::load_inventory(
            &inventory,
            &policyc_frontend::inventory::InventoryOptions::default(),
            &mut sources,
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        let set = policyc_frontend::load_policies(
            &[policy],
            &policyc_frontend::FrontendOptions::for_inventory(&inventory),
            &mut sources,
        );
        assert_eq!(set.error_count(), 0, "{:?}", set.findings);
        let universe = policyc_frontend::identity::build_universe(
            &inventory,
            &set.rules,
            UniverseOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        (universe, set.rules)
    }

    fn rank(v: Verdict) -> u8 {
        match v {
            Verdict::Allow => 3,
            Verdict::RedirectL7(_) => 2,
            Verdict::AuthRequired => 1,
            _ => 0,
        }
    }

    /// The datapath's combination, over the resolved functions: the peer's verdict, then the
    /// pseudo-identities of the classes whose selector matches `name`.
    fn combined(
        resolved: &super::super::ResolvedEndpoint,
        classes: &FqdnClasses,
        peer: NumericIdentity,
        name: &str,
        port: u16,
    ) -> Verdict {
        let egress = &resolved.egress;
        let at = |id: NumericIdentity| {
            egress.functions_for(id)[&PolicyProtocol::Tcp]
                .lookup(port)
                .verdict
        };
        let mut verdict = at(peer);
        if verdict == Verdict::Deny {
            return verdict;
        }
        let mask = fqdn_mask(&egress.groups);
        for (selector, class) in classes.iter() {
            if mask & (1 << class) == 0 || !selector.matches(name) {
                continue;
            }
            let pseudo = at(NumericIdentity::fqdn_class(class).unwrap());
            if rank(pseudo) > rank(verdict) {
                verdict = pseudo;
            }
        }
        verdict
    }

    #[test_case("api.example.com", "192.0.2.1", 443, "allow"; "exact selector allows its port")]
    #[test_case("api.example.com", "192.0.2.1", 80, "redirect-l7"; "glob selector redirects its port to L7")]
    #[test_case("www.example.com", "192.0.2.1", 443, "default-deny"; "name matching only the glob: not its port")]
    #[test_case("www.example.com", "fd00:99::1", 80, "redirect-l7"; "ipv6 address")]
    #[test_case("api.example.com", "203.0.113.5", 443, "deny"; "cidr deny wins over the fqdn allow")]
    #[test_case("api.example.com", "203.0.113.5", 80, "redirect-l7"; "cidr identity without a verdict of its own")]
    #[test_case("evil.org", "192.0.2.1", 443, "default-deny"; "name matching no selector")]
    fn resolved_from_a_name_is_the_combination_over_the_classes_it_matches(
        name: &str,
        dst: &str,
        port: u16,
        expected: &str,
    ) {
        let (universe, rules) = setup();
        let key = EndpointKey::new("app", "client");
        let resolved = resolve_endpoint(&universe, &rules, &key).unwrap();
        let classes = FqdnClasses::node_wide(&rules).unwrap();
        let dst: IpAddr = dst.parse().unwrap();
        let peer = universe.identity_of_ip(&dst);
        let flow = Flow::new(
            FlowPeer::Endpoint(key.clone()),
            FlowPeer::Ip(dst),
            Transport::Tcp { port },
        )
        .with_resolved_from(name);
        let oracle = Oracle::new(&universe, &rules).evaluate(&flow).unwrap();
        let oracle_kind = match (oracle.egress.decision, oracle.egress.reason) {
            (Decision::Allow, Reason::L7ProxyRedirect) => "redirect-l7",
            (Decision::Allow, _) => "allow",
            (Decision::Deny, Reason::DefaultDeny) => "default-deny",
            (Decision::Deny, _) => "deny",
        };
        assert_eq!(oracle_kind, expected, "oracle");
        let tables = combined(&resolved, &classes, peer, name, port);
        assert_eq!(tables.kind_name(), expected, "pseudo-identity combination");
    }

    #[test_case("api.example.com", "192.0.2.1", 443, "allow"; "selector port")]
    #[test_case("api.example.com", "192.0.2.1", 53, "redirect-l7"; "wildcard dns port stays the peer's")]
    #[test_case("api.example.com", "192.0.2.1", 80, "default-deny"; "port of no rule")]
    #[test_case("evil.org", "192.0.2.1", 443, "default-deny"; "name of no selector")]
    fn no_opinion_ports_filled_from_the_wildcard_keep_the_combination(
        name: &str,
        dst: &str,
        port: u16,
        expected: &str,
    ) {
        let (universe, rules) = setup_with(WILDCARD_DNS_POLICY);
        let key = EndpointKey::new("app", "client");
        let resolved = resolve_endpoint(&universe, &rules, &key).unwrap();
        let classes = FqdnClasses::node_wide(&rules).unwrap();
        let dst: IpAddr = dst.parse().unwrap();
        let peer = universe.identity_of_ip(&dst);
        let tables = combined(&resolved, &classes, peer, name, port);
        assert_eq!(tables.kind_name(), expected);
    }

    #[test]
    fn pseudo_identity_needs_functions_only_where_its_rules_speak() {
        let (universe, rules) = setup_with(WILDCARD_DNS_POLICY);
        let resolved =
            resolve_endpoint(&universe, &rules, &EndpointKey::new("app", "client")).unwrap();
        let pseudo = NumericIdentity::fqdn_class(0).unwrap();
        let functions = resolved.egress.functions_for(pseudo);
        for protocol in PolicyProtocol::ALL {
            let same = functions[&protocol] == resolved.egress.unknown_peer[&protocol];
            assert_eq!(
                same,
                protocol != PolicyProtocol::Tcp,
                "{protocol:?}: only TCP (port 443) differs from an identity of no rule"
            );
        }
        // Cilium: 3 wildcard keys (port 53 on TCP, UDP, SCTP) + 1 for the learned address.
        assert_eq!(resolved.cilium.entries(), 4);
        assert_eq!(resolved.cilium.learned_address_entries(), 1);
    }

    #[test]
    fn cilium_counts_one_learned_address_per_selector_under_the_rules_naming_it() {
        let (universe, rules) = setup();
        let resolved =
            resolve_endpoint(&universe, &rules, &EndpointKey::new("app", "client")).unwrap();
        // api.example.com: TCP 443; *.example.com: TCP 80.
        assert_eq!(resolved.cilium.learned_address_entries(), 2);
    }

    #[test]
    fn every_named_class_has_a_group_and_the_mask_names_them() {
        let (universe, rules) = setup();
        let resolved =
            resolve_endpoint(&universe, &rules, &EndpointKey::new("app", "client")).unwrap();
        assert_eq!(fqdn_mask(&resolved.egress.groups), 0b11);
        assert_eq!(fqdn_mask(&resolved.ingress.groups), 0);
        let coredns = resolve_endpoint(
            &universe,
            &rules,
            &EndpointKey::new("kube-system", "coredns"),
        )
        .unwrap();
        assert_eq!(fqdn_mask(&coredns.egress.groups), 0);
    }
}
