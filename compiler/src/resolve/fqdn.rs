//! `toFQDNs` peers as pseudo-identities: on egress, every node-wide FQDN class `b` whose
//! selector one of the endpoint's allow rules names gets a peer group of its own, identity
//! `NumericIdentity::fqdn_class(b)`, whose functions are the verdict of "an address outside
//! the cluster learned from a DNS answer for selector `b`": the oracle's verdict with only the
//! rules naming that selector, their peers widened to every peer (so ports, named ports and L7
//! are judged exactly as for any other peer). Ports no such rule covers get `DefaultDeny`,
//! which the datapath reads as "no opinion". Deny rules are not part of it: the datapath
//! combines these verdicts with the peer's own (world or CIDR) verdict, where denies win.
//!
//! The oracle's other condition — some `rules.dns` rule of the endpoint lets the name be looked
//! up — is enforced by the DNS object (only allowed questions create pending entries, only
//! solicited answers are learned), not by these tables.

use super::endpoint::{DirectionContext, MatchSignature, PeerGroup, ResolveError};
use super::port_function::{PortFunction, PortInterval, Verdict};
use crate::dns::FqdnClasses;
use policyc_ir::rule::{Peer, PeerSet, PolicyRule, RuleAction};
use policyc_ir::NumericIdentity;

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

/// Intervals no rule decided carry no verdict of their own: they become `DefaultDeny`.
fn without_defaults(function: &PortFunction) -> PortFunction {
    let intervals: Vec<PortInterval> = function
        .intervals()
        .iter()
        .map(|iv| {
            if iv.rules.is_empty() {
                PortInterval {
                    verdict: Verdict::DefaultDeny,
                    ..iv.clone()
                }
            } else {
                iv.clone()
            }
        })
        .collect();
    PortFunction::from_intervals(intervals).unwrap_or_else(|_| function.clone())
}

/// The pseudo-identity groups of one egress direction, in class order.
pub(super) fn fqdn_groups(
    ctx: &DirectionContext<'_>,
    classes: &FqdnClasses,
    enforced: bool,
) -> Result<Vec<PeerGroup>, ResolveError> {
    let representative = ctx.universe.world_identity(false);
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
        let widened_ctx = DirectionContext {
            selected: &widened,
            ..*ctx
        };
        let signature = MatchSignature {
            rules: (0..widened.len()).collect(),
            is_host: false,
        };
        let functions = widened_ctx
            .functions(&signature, representative, enforced)?
            .iter()
            .map(|(protocol, f)| (*protocol, without_defaults(f)))
            .collect();
        groups.push(PeerGroup {
            identities: vec![identity],
            matching_rules: naming.iter().map(|i| ctx.selected[*i].id).collect(),
            functions,
        });
    }
    Ok(groups)
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
    use crate::frontend::source::SourceMap;
    use crate::resolve::{resolve_endpoint, PolicyProtocol};
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

    fn setup() -> (policyc_ir::universe::Universe, Vec<PolicyRule>) {
        let dir = tempfile::tempdir().unwrap();
        let inventory = dir.path().join("inventory.yaml");
        let policy = dir.path().join("policy.yaml");
        std::fs::write(&inventory, INVENTORY).unwrap();
        std::fs::write(&policy, POLICY).unwrap();
        let mut sources = SourceMap::default();
        let (universe, rules, _) = crate::build::load_inputs(
            &inventory,
            &[policy],
            UniverseOptions::default(),
            &mut sources,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        (universe, rules)
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
