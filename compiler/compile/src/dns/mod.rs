//! In-kernel DNS policy, compiler side: one endpoint's `rules.dns` and `toFQDNs` selectors
//! become the exact-name set and multi-pattern DFA of the DNS object
//! (`policyc_backends::dns`), with FQDN selector classes as bits of the learned-map bitmap.

mod classes;
mod collect;

pub use classes::{FqdnClasses, DNS_RULE_CLASS, MAX_FQDN_CLASSES};
pub use collect::{DnsRuleSet, EndpointDns, MixedDnsRules};

use policyc_backends::dns::{DnsBuildError, DnsLimits, DnsTables};

/// Why an endpoint's DNS tables could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DnsCompileError {
    #[error("the policy set has {count} distinct toFQDNs selectors; the node-wide learned-address map has {MAX_FQDN_CLASSES} selector classes (bits 0..62): merge selectors (one matchPattern can cover several names) or split the policies across nodes")]
    TooManyFqdnSelectors { count: usize },
    #[error("the endpoint's `rules.dns` differ between peers or ports ({first} and {second}): the in-kernel DNS stage judges every question of an endpoint against one set of DNS rules, so a name allowed towards one server would be allowed towards the others (Cilium checks only the destination's own rules); give those rules the same `rules.dns`, or the same peers and ports")]
    MixedDnsRules { first: String, second: String },
    #[error(transparent)]
    Tables(#[from] DnsBuildError),
    #[error("endpoint {endpoint}: {source}")]
    Endpoint {
        endpoint: String,
        #[source]
        source: Box<DnsCompileError>,
    },
}

/// Builds the DNS tables of one endpoint. A question is allowed iff a `rules.dns` selector
/// matches it ([`DNS_RULE_CLASS`]); the other bits say which `toFQDNs` selectors (by
/// `classes`) the name matches, i.e. what its answers' addresses will be learned for.
pub fn compile_endpoint(
    dns: &EndpointDns,
    classes: &FqdnClasses,
    limits: &DnsLimits,
) -> Result<DnsTables, DnsCompileError> {
    if let Some(mixed) = dns.mixed_rule_sets() {
        return Err(DnsCompileError::MixedDnsRules {
            first: mixed.first,
            second: mixed.second,
        });
    }
    let mut selectors = Vec::new();
    for selector in &dns.dns_rules {
        selectors.push((DNS_RULE_CLASS, selector.clone()));
    }
    for selector in &dns.fqdn_peers {
        if let Some(class) = classes.class_of(selector) {
            selectors.push((class, selector.clone()));
        }
    }
    let mut tables = DnsTables::compile(&selectors, limits)?;
    tables.allow_mask = 1u64 << DNS_RULE_CLASS;
    Ok(tables)
}

#[cfg(test)]
mod tests {
    use super::*;
    use policyc_ir::fqdn::{FqdnPattern, FqdnSelector};
    use test_case::test_case;

    fn glob(text: &str) -> FqdnSelector {
        FqdnSelector::MatchPattern(FqdnPattern::pattern(text).unwrap())
    }

    fn name(text: &str) -> FqdnSelector {
        FqdnSelector::MatchName(FqdnPattern::name(text).unwrap())
    }

    fn sample() -> (EndpointDns, FqdnClasses) {
        let dns = EndpointDns {
            dns_rules: [glob("*.example.com"), name("api.cilium.io")].into(),
            fqdn_peers: [name("www.example.com"), glob("**.example.com")].into(),
            rule_sets: Vec::new(),
        };
        let classes = FqdnClasses::assign(dns.fqdn_peers.iter()).unwrap();
        (dns, classes)
    }

    #[test_case("www.example.com", true, &["www.example.com", "**.example.com"]; "allowed and learned for both selectors")]
    #[test_case("img.example.com", true, &["**.example.com"]; "allowed and learned for the glob")]
    #[test_case("api.cilium.io", true, &[]; "allowed by rules.dns, learned for nothing")]
    #[test_case("a.b.example.com", false, &["**.example.com"]; "matched by toFQDNs only is not allowed")]
    #[test_case("evil.org", false, &[]; "unknown name")]
    fn questions_get_an_allow_bit_and_fqdn_classes(
        qname: &str,
        allowed: bool,
        learned_for: &[&str],
    ) {
        let (dns, classes) = sample();
        let tables = compile_endpoint(&dns, &classes, &DnsLimits::default()).unwrap();
        let bits = tables.selectors_for(qname);
        assert_eq!(bits & tables.allow_mask != 0, allowed);
        let mut expected = 0u64;
        for text in learned_for {
            let selector = dns
                .fqdn_peers
                .iter()
                .find(|s| s.pattern().as_str() == *text)
                .unwrap();
            expected |= 1 << classes.class_of(selector).unwrap();
        }
        assert_eq!(bits & !tables.allow_mask, expected);
    }

    /// Issue 17, finding 6: an endpoint's DNS tables carry only the classes of its own
    /// `toFQDNs` selectors, so its answers teach the node-wide map nothing for a selector only
    /// another endpoint uses — even for a name that selector matches and the endpoint may ask.
    #[test]
    fn an_endpoint_learns_only_the_classes_of_its_own_selectors() {
        let asker = EndpointDns {
            dns_rules: [glob("*")].into(),
            fqdn_peers: [name("api.example.com")].into(),
            rule_sets: Vec::new(),
        };
        let other = EndpointDns {
            dns_rules: [glob("*.bank.example")].into(),
            fqdn_peers: [glob("*.bank.example"), name("api.example.com")].into(),
            rule_sets: Vec::new(),
        };
        let classes =
            FqdnClasses::assign(asker.fqdn_peers.iter().chain(other.fqdn_peers.iter())).unwrap();
        let bank = classes.class_of(&glob("*.bank.example")).unwrap();
        let api = classes.class_of(&name("api.example.com")).unwrap();
        let asker_tables = compile_endpoint(&asker, &classes, &DnsLimits::default()).unwrap();
        let other_tables = compile_endpoint(&other, &classes, &DnsLimits::default()).unwrap();
        let bits = asker_tables.selectors_for("www.bank.example");
        assert!(bits & asker_tables.allow_mask != 0, "the asker may ask");
        assert_eq!(
            bits & (1 << bank),
            0,
            "but learns nothing for the other's selector"
        );
        assert_eq!(
            other_tables.selectors_for("www.bank.example") & (1 << bank),
            1 << bank,
            "the other endpoint's own question does"
        );
        // A selector both use is one node-wide class: either endpoint's answer serves both, as
        // in Cilium's node-wide selector cache.
        assert_eq!(
            asker_tables.selectors_for("api.example.com") & !(1u64 << DNS_RULE_CLASS),
            1 << api
        );
    }

    #[test]
    fn more_than_63_fqdn_selectors_is_a_clear_error() {
        let selectors: Vec<FqdnSelector> = (0..64)
            .map(|i| name(&format!("h{i}.example.com")))
            .collect();
        let err = FqdnClasses::assign(selectors.iter()).unwrap_err();
        assert_eq!(err, DnsCompileError::TooManyFqdnSelectors { count: 64 });
    }
}
