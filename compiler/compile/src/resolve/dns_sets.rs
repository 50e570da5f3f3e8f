//! DNS rule sets: which `rules.dns` judge a DNS question, per peer, protocol and port.
//!
//! Cilium redirects to its DNS proxy only the policy-map keys (peer identity, port, protocol)
//! of the L4 filters that carry DNS rules, and the proxy allows a question iff a DNS rule of a
//! selector that selects the destination, on that port, matches the name
//! (`cilium:pkg/policy/l4.go` `PerSelectorPolicy` / `L7DataMap`, one L7 rule set per
//! selector of an `L4Filter`; `cilium:pkg/fqdn/dnsproxy/proxy.go` `CheckAllowed`, which looks
//! up the rules of the destination port and keeps the selectors whose identities include the
//! destination's). A question to a peer or port without DNS rules is not redirected at all.
//!
//! Here: every redirect-l7 interval of an egress port function (TCP or UDP) is decided by
//! allow rules (`PortInterval::rules`); the `rules.dns` of those of their `toPorts` items that
//! cover the interval's ports are the interval's DNS rule set. A redirect-l7 interval never
//! contains an L7-free allow (L7 wildcarding makes the interval a plain allow, which is not
//! inspected, as in Cilium). Equal sets share one id; the datapath stores the id in the
//! interval (`l7_set`) and hands it to the DNS stage with the packet.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use policyc_ir::fqdn::FqdnSelector;
use policyc_ir::l7::L7Rules;
use policyc_ir::universe::{Endpoint, Universe};
use policyc_ir::{Direction, PolicyRule, PortMatch, Protocol, RuleId};

use super::model::PeerGroup;
use super::model::ProtocolFunctions;
use super::port_function::{PolicyProtocol, PortInterval, Verdict};
use super::rule_coverage::port_rule_spans;

/// A set id no set has: the datapath's DNS stage refuses every question judged with it.
pub const DNS_SET_OVERFLOW: u8 = u8::MAX;

/// The DNS rule sets of one endpoint's egress.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DnsRuleSets {
    /// Set `s` (1-based, the datapath's `l7_set`) is `sets[s - 1]`.
    sets: Vec<BTreeSet<FqdnSelector>>,
    /// (protocol, lo, hi, deciding rules) of a redirect-l7 interval with DNS rules → set id.
    by_interval: BTreeMap<(PolicyProtocol, u16, u16, Vec<RuleId>), usize>,
}

impl DnsRuleSets {
    /// The rules.dns selectors of each set, set 1 first.
    pub fn sets(&self) -> &[BTreeSet<FqdnSelector>] {
        &self.sets
    }

    pub fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }

    /// Sets that no interval names (set `i + 1` is `sets[i]`): for tests of the DNS tables.
    pub fn from_sets(sets: Vec<BTreeSet<FqdnSelector>>) -> DnsRuleSets {
        DnsRuleSets {
            sets,
            by_interval: BTreeMap::new(),
        }
    }

    /// The set id (`l7_set`) of an interval of `protocol`'s function: 0 when no DNS rule
    /// decides it; [`DNS_SET_OVERFLOW`] past 254 sets (the build refuses more than the
    /// datapath's 64 anyway).
    pub fn set_of(&self, protocol: PolicyProtocol, interval: &PortInterval) -> u8 {
        if !matches!(interval.verdict, Verdict::RedirectL7(_)) {
            return 0;
        }
        self.by_interval
            .get(&(protocol, interval.lo, interval.hi, interval.rules.clone()))
            .map_or(0, |index| {
                u8::try_from(index + 1)
                    .ok()
                    .filter(|id| *id != DNS_SET_OVERFLOW)
                    .unwrap_or(DNS_SET_OVERFLOW)
            })
    }

    /// The rules.dns selectors that judge a question on this interval (`None`: not judged).
    pub fn selectors_of(
        &self,
        protocol: PolicyProtocol,
        interval: &PortInterval,
    ) -> Option<&BTreeSet<FqdnSelector>> {
        match self.set_of(protocol, interval) {
            0 | DNS_SET_OVERFLOW => None,
            id => self.sets.get(usize::from(id) - 1),
        }
    }

    /// The sets of an egress direction's groups and unknown peer.
    pub(super) fn of(
        selected: &[&PolicyRule],
        subject: &Endpoint,
        universe: &Universe,
        groups: &[PeerGroup],
        unknown_peer: &ProtocolFunctions,
    ) -> DnsRuleSets {
        let by_id: HashMap<RuleId, &PolicyRule> = selected.iter().map(|r| (r.id, *r)).collect();
        let mut out = DnsRuleSets::default();
        let mut index: BTreeMap<BTreeSet<FqdnSelector>, usize> = BTreeMap::new();
        let functions = groups
            .iter()
            .map(|g| &g.functions)
            .chain(std::iter::once(unknown_peer));
        for function_set in functions {
            for (protocol, function) in function_set {
                let transport = match protocol {
                    PolicyProtocol::Tcp => Protocol::Tcp,
                    PolicyProtocol::Udp => Protocol::Udp,
                    _ => continue,
                };
                for interval in function.intervals() {
                    if !matches!(interval.verdict, Verdict::RedirectL7(_)) {
                        continue;
                    }
                    let key = (*protocol, interval.lo, interval.hi, interval.rules.clone());
                    if out.by_interval.contains_key(&key) {
                        continue;
                    }
                    let Some(selectors) =
                        dns_selectors(&by_id, transport, interval, subject, universe)
                    else {
                        continue;
                    };
                    let next = out.sets.len();
                    let id = *index.entry(selectors.clone()).or_insert_with(|| {
                        out.sets.push(selectors);
                        next
                    });
                    out.by_interval.insert(key, id);
                }
            }
        }
        out
    }
}

/// The union of the `rules.dns` of the deciding rules' `toPorts` items that cover the
/// interval; `None` when none of them has DNS rules (`rules.dns: []` is a set with no name).
fn dns_selectors(
    by_id: &HashMap<RuleId, &PolicyRule>,
    transport: Protocol,
    interval: &PortInterval,
    subject: &Endpoint,
    universe: &Universe,
) -> Option<BTreeSet<FqdnSelector>> {
    let mut found = false;
    let mut out = BTreeSet::new();
    for id in &interval.rules {
        let Some(rule) = by_id.get(id) else {
            continue;
        };
        let PortMatch::Ports(port_rules) = &rule.ports else {
            continue;
        };
        for pr in port_rules {
            let L7Rules::Dns(selectors) = &pr.l7 else {
                continue;
            };
            let covers = port_rule_spans(pr, transport, Direction::Egress, subject, universe)
                .iter()
                .any(|s| s.lo <= u32::from(interval.hi) && s.hi >= u32::from(interval.lo));
            if covers {
                found = true;
                out.extend(selectors.iter().cloned());
            }
        }
    }
    found.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::resolve_endpoint;
    use policyc_diagnostics::source::SourceMap;
    use policyc_ir::universe::{EndpointKey, UniverseOptions};
    use test_case::test_case;

    const INVENTORY: &str = r#"
apiVersion: policyc/v1
kind: Inventory
cluster: default
namespaces:
  - name: app
    labels: {kubernetes.io/metadata.name: app}
nodes:
  - name: node-1
    ips: [198.18.0.1]
    local: true
endpoints:
  - {name: client, namespace: app, labels: {app: client}, ips: [198.18.1.1]}
  - {name: dns-a, namespace: app, labels: {dns: a}, ips: [198.18.1.2]}
  - {name: dns-b, namespace: app, labels: {dns: b}, ips: [198.18.1.3]}
  - {name: dns-ab, namespace: app, labels: {dns: a, also: b}, ips: [198.18.1.4]}
  - {name: plain, namespace: app, labels: {plain: "yes"}, ips: [198.18.1.5]}
"#;

    /// dns=a: example.com on 53/UDP; also=b: other.org on 53/UDP and 5353/UDP (a second set
    /// on another port); plain: L3 only (no DNS rules, D3); every peer: tcp.example.net on
    /// 53/TCP.
    const POLICY: &str = r#"
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: dns, namespace: app}
spec:
  endpointSelector: {matchLabels: {app: client}}
  egress:
    - toEndpoints: [{matchLabels: {dns: a}}]
      toPorts:
        - ports: [{port: "53", protocol: UDP}]
          rules: {dns: [{matchName: example.com}]}
    - toEndpoints: [{matchLabels: {also: b}}, {matchLabels: {dns: b}}]
      toPorts:
        - ports: [{port: "53", protocol: UDP}]
          rules: {dns: [{matchName: other.org}]}
        - ports: [{port: "5353", protocol: UDP}]
          rules: {dns: [{matchPattern: "*.local"}]}
    - toEndpoints: [{matchLabels: {plain: "yes"}}]
    - toPorts:
        - ports: [{port: "53", protocol: TCP}]
          rules: {dns: [{matchName: tcp.example.net}]}
"#;

    fn sets_for(peer: &str, protocol: PolicyProtocol, port: u16) -> Option<Vec<String>> {
        let dir = tempfile::tempdir().unwrap();
        let inventory = dir.path().join("inventory.yaml");
        let policy = dir.path().join("policy.yaml");
        std::fs::write(&inventory, INVENTORY).unwrap();
        std::fs::write(&policy, POLICY).unwrap();
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
        let resolved =
            resolve_endpoint(&universe, &set.rules, &EndpointKey::new("app", "client")).unwrap();
        let identity = universe
            .endpoint(&EndpointKey::new("app", peer))
            .unwrap()
            .identity;
        let egress = &resolved.egress;
        let function = egress.functions_for(identity).get(&protocol)?;
        let interval = function
            .intervals()
            .iter()
            .find(|i| i.lo <= port && port <= i.hi)?;
        let selectors = egress.dns_sets.selectors_of(protocol, interval)?;
        Some(
            selectors
                .iter()
                .map(|s| s.pattern().as_str().to_owned())
                .collect(),
        )
    }

    #[test_case("dns-a", PolicyProtocol::Udp, 53, Some(&["example.com"]); "a server gets its own rule's names")]
    #[test_case("dns-b", PolicyProtocol::Udp, 53, Some(&["other.org"]); "another server gets another rule's names")]
    #[test_case("dns-ab", PolicyProtocol::Udp, 53, Some(&["example.com", "other.org"]); "a server both rules select gets the union")]
    #[test_case("dns-b", PolicyProtocol::Udp, 5353, Some(&["*.local"]); "another port of the same rule is another set")]
    #[test_case("dns-a", PolicyProtocol::Udp, 5353, None; "a port the server's rule does not name")]
    #[test_case("plain", PolicyProtocol::Udp, 53, None; "a peer allowed without DNS rules is not judged")]
    #[test_case("plain", PolicyProtocol::Tcp, 53, None; "an L3 allow wildcards the L4 DNS rule of that peer")]
    #[test_case("dns-a", PolicyProtocol::Tcp, 53, Some(&["tcp.example.net"]); "a wildcard-peer rule applies to TCP")]
    fn a_question_is_judged_by_the_dns_rules_of_its_server_and_port(
        peer: &str,
        protocol: PolicyProtocol,
        port: u16,
        expected: Option<&[&str]>,
    ) {
        let found = sets_for(peer, protocol, port);
        assert_eq!(
            found,
            expected.map(|e| e.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
        );
    }
}
