//! Collects the DNS-relevant selectors of the egress allow rules that apply to one endpoint:
//! `rules.dns` entries (which questions are allowed) and `toFQDNs` peers (what is learned).

use std::collections::BTreeSet;

use policyc_ir::fqdn::FqdnSelector;
use policyc_ir::l7::L7Rules;
use policyc_ir::rule::{Direction, Peer, PeerSet, PolicyRule, PortMatch, PortProtocol, RuleAction};

/// The DNS selectors of one endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointDns {
    /// `rules.dns` matchName/matchPattern entries: a question is allowed iff one matches.
    pub dns_rules: BTreeSet<FqdnSelector>,
    /// `toFQDNs` selectors: answers are learned for the ones the question matches.
    pub fqdn_peers: BTreeSet<FqdnSelector>,
    /// Each `toPorts` entry with `rules.dns`: where it is, its peers and ports, its names.
    pub rule_sets: Vec<DnsRuleSet>,
}

/// One `toPorts` entry carrying `rules.dns`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsRuleSet {
    /// `file:line:col (path)` of its rule.
    pub location: String,
    /// The rule's peers.
    pub peers: PeerSet,
    /// The entry's ports.
    pub ports: Vec<PortProtocol>,
    /// Its `rules.dns` names and patterns.
    pub selectors: BTreeSet<FqdnSelector>,
}

/// Two `rules.dns` sets of one endpoint that the in-kernel DNS stage cannot keep apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MixedDnsRules {
    /// Location of the first set's rule.
    pub first: String,
    /// Location of the second set's rule.
    pub second: String,
}

impl EndpointDns {
    /// The DNS stage judges a question against the union of the endpoint's `rules.dns`,
    /// whatever server it goes to. Cilium applies to a question only the DNS rules of the
    /// selectors that match its destination (pkg/policy/l4.go, the per-selector L7 rules of an
    /// L4Filter): with two sets that differ, for peers or ports that differ, the union would
    /// allow a name to a server whose own rules do not (a fail-open). Such an endpoint is
    /// refused; sets that are equal, or that share their peers and ports (Cilium merges
    /// those), are one set.
    pub fn mixed_rule_sets(&self) -> Option<MixedDnsRules> {
        for (i, a) in self.rule_sets.iter().enumerate() {
            for b in &self.rule_sets[i + 1..] {
                if a.selectors != b.selectors && (a.peers != b.peers || a.ports != b.ports) {
                    return Some(MixedDnsRules {
                        first: a.location.clone(),
                        second: b.location.clone(),
                    });
                }
            }
        }
        None
    }

    /// From the rules whose subject selects the endpoint (the caller filters by subject).
    /// Phase 1 ignores which DNS server and port a `rules.dns` rule names: the L3/L4
    /// datapath decides whether the server is reachable at all.
    pub fn from_rules<'a>(rules: impl IntoIterator<Item = &'a PolicyRule>) -> EndpointDns {
        let mut out = EndpointDns::default();
        for rule in rules {
            if rule.direction != Direction::Egress || rule.action != RuleAction::Allow {
                continue;
            }
            if let PeerSet::Some(peers) = &rule.peers {
                for peer in peers {
                    if let Peer::Fqdn(selector) = peer {
                        out.fqdn_peers.insert(selector.clone());
                    }
                }
            }
            if let PortMatch::Ports(ports) = &rule.ports {
                for port_rule in ports {
                    if let L7Rules::Dns(selectors) = &port_rule.l7 {
                        out.dns_rules.extend(selectors.iter().cloned());
                        let p = &rule.provenance;
                        out.rule_sets.push(DnsRuleSet {
                            location: format!("{}:{}:{} ({})", p.file, p.line, p.column, p.path),
                            peers: rule.peers.clone(),
                            ports: port_rule.ports.clone(),
                            selectors: selectors.iter().cloned().collect(),
                        });
                    }
                }
            }
        }
        out
    }

    /// Does any DNS rule apply (else the DNS object is not attached: Cilium parity, #11767)?
    pub fn intercepts(&self) -> bool {
        !self.dns_rules.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use policyc_diagnostics::source::SourceMap;
    use policyc_frontend::{load_policy_text, FrontendOptions};

    const POLICY: &str = r#"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: fqdn
  namespace: default
spec:
  endpointSelector:
    matchLabels:
      app: client
  egress:
    - toEndpoints:
        - matchLabels:
            k8s:io.kubernetes.pod.namespace: kube-system
            k8s:k8s-app: kube-dns
      toPorts:
        - ports:
            - port: "53"
              protocol: ANY
          rules:
            dns:
              - matchPattern: "*.example.com"
              - matchName: "API.cilium.io"
    - toFQDNs:
        - matchName: www.example.com
        - matchPattern: "**.example.com"
  egressDeny:
    - toPorts:
        - ports:
            - port: "9999"
"#;

    #[test]
    fn dns_rules_and_fqdn_peers_are_collected_from_egress_allow_rules() {
        let mut sources = SourceMap::default();
        let set = load_policy_text(
            "fqdn.yaml",
            POLICY,
            &FrontendOptions::default(),
            &mut sources,
        );
        assert_eq!(set.error_count(), 0, "{:?}", set.findings);
        let dns = EndpointDns::from_rules(&set.rules);
        let texts = |s: &BTreeSet<FqdnSelector>| -> Vec<String> {
            s.iter().map(|x| x.pattern().as_str().to_owned()).collect()
        };
        assert_eq!(
            texts(&dns.dns_rules),
            vec!["api.cilium.io", "*.example.com"]
        );
        assert_eq!(
            texts(&dns.fqdn_peers),
            vec!["www.example.com", "**.example.com"]
        );
        assert!(dns.intercepts());
    }

    /// Two egress rules of one endpoint with `rules.dns` (names `a` and `b`, peers `pa` and
    /// `pb`, ports `53/UDP` unless given).
    fn two_rules(a: &str, pa: &str, b: &str, pb: &str, port_b: &str) -> EndpointDns {
        let text = format!(
            r#"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {{name: dns, namespace: default}}
spec:
  endpointSelector: {{matchLabels: {{app: client}}}}
  egress:
    - toEndpoints: [{{matchLabels: {{id: {pa}}}}}]
      toPorts:
        - ports: [{{port: "53", protocol: UDP}}]
          rules: {{dns: [{{matchName: {a}}}]}}
    - toEndpoints: [{{matchLabels: {{id: {pb}}}}}]
      toPorts:
        - ports: [{{port: "{port_b}", protocol: UDP}}]
          rules: {{dns: [{{matchName: {b}}}]}}
"#
        );
        let mut sources = SourceMap::default();
        let set = load_policy_text("dns.yaml", &text, &FrontendOptions::default(), &mut sources);
        assert_eq!(set.error_count(), 0, "{:?}", set.findings);
        EndpointDns::from_rules(&set.rules)
    }

    #[test_case::test_case("example.com", "x", "other.org", "y", "53", true; "different names to different peers")]
    #[test_case::test_case("example.com", "x", "other.org", "x", "5353", true; "different names on different ports")]
    #[test_case::test_case("example.com", "x", "other.org", "x", "53", false; "different names, same peers and ports: merged as in Cilium")]
    #[test_case::test_case("example.com", "x", "example.com", "y", "53", false; "the same names to different peers")]
    fn dns_rule_sets_the_dns_stage_cannot_keep_apart_are_found(
        a: &str,
        pa: &str,
        b: &str,
        pb: &str,
        port_b: &str,
        mixed: bool,
    ) {
        let dns = two_rules(a, pa, b, pb, port_b);
        assert_eq!(dns.rule_sets.len(), 2);
        let found = dns.mixed_rule_sets();
        assert_eq!(found.is_some(), mixed, "{found:?}");
        if let Some(found) = found {
            assert!(
                found.first.contains("dns.yaml:") && found.second.contains("egress[1]"),
                "{found:?}"
            );
        }
    }

    #[test]
    fn no_dns_rule_means_no_interception() {
        assert!(!EndpointDns::default().intercepts());
    }
}
