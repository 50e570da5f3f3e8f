//! Collects the DNS-relevant selectors of the egress allow rules that apply to one endpoint:
//! `rules.dns` entries (which questions are allowed) and `toFQDNs` peers (what is learned).

use std::collections::BTreeSet;

use policyc_ir::fqdn::FqdnSelector;
use policyc_ir::l7::L7Rules;
use policyc_ir::rule::{Direction, Peer, PeerSet, PolicyRule, PortMatch, RuleAction};

/// The DNS selectors of one endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointDns {
    /// `rules.dns` matchName/matchPattern entries: a question is allowed iff one matches.
    pub dns_rules: BTreeSet<FqdnSelector>,
    /// `toFQDNs` selectors: answers are learned for the ones the question matches.
    pub fqdn_peers: BTreeSet<FqdnSelector>,
}

impl EndpointDns {
    /// From the rules whose subject selects the endpoint (the caller filters by subject).
    /// Which `rules.dns` judge a question to which server and port is not decided here but
    /// by resolution (`crate::resolve::DnsRuleSets`, one set per redirect-l7 interval).
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

    #[test]
    fn no_dns_rule_means_no_interception() {
        assert!(!EndpointDns::default().intercepts());
    }
}
