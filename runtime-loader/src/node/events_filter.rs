//! `policy-loader events` filters, like `hubble observe`'s: by endpoint, verdict (or action),
//! peer identity and port. Each flag may repeat (any of its values); different flags must all
//! match.

use super::events::DecodedEvent;

/// Which decoded events are shown (an empty list: no condition).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// `namespace/name` of the endpoint whose ring the event came from.
    pub endpoints: Vec<String>,
    /// A verdict (`allow`, `deny`, `default-deny`, `redirect-l7`, `auth-required`) or an action
    /// (`drop`, `pass`).
    pub verdicts: Vec<String>,
    /// The peer's identity.
    pub identities: Vec<u32>,
    /// The port (ICMP type for ICMP).
    pub ports: Vec<u16>,
}

/// The words `--verdict` accepts.
pub const VERDICT_WORDS: [&str; 7] = [
    "drop",
    "pass",
    "allow",
    "deny",
    "default-deny",
    "redirect-l7",
    "auth-required",
];

impl EventFilter {
    /// Whether `event` passes every condition.
    #[must_use]
    pub fn matches(&self, event: &DecodedEvent) -> bool {
        let any = |values: &[String], wanted: &dyn Fn(&str) -> bool| {
            values.is_empty() || values.iter().any(|v| wanted(v))
        };
        any(&self.endpoints, &|e| e == event.endpoint)
            && any(&self.verdicts, &|v| {
                v == event.action || event.verdict.as_deref() == Some(v)
            })
            && (self.identities.is_empty() || self.identities.contains(&event.identity))
            && (self.ports.is_empty() || self.ports.contains(&event.port))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_case::test_case;

    fn event() -> DecodedEvent {
        DecodedEvent {
            endpoint: "shop/api".into(),
            direction: "ingress".into(),
            action: "drop".into(),
            verdict: Some("default-deny".into()),
            reason: "policy".into(),
            peer: "198.18.1.10".into(),
            identity: 4242,
            identity_labels: String::new(),
            protocol: 6,
            port: 8080,
            rule_id: 0,
            rule: None,
            dns_name: None,
            suppressed: 0,
        }
    }

    fn filter(
        endpoints: &[&str],
        verdicts: &[&str],
        identities: &[u32],
        ports: &[u16],
    ) -> EventFilter {
        EventFilter {
            endpoints: endpoints.iter().map(ToString::to_string).collect(),
            verdicts: verdicts.iter().map(ToString::to_string).collect(),
            identities: identities.to_vec(),
            ports: ports.to_vec(),
        }
    }

    #[test_case(filter(&[], &[], &[], &[]), true; "no condition")]
    #[test_case(filter(&["shop/api"], &[], &[], &[]), true; "endpoint")]
    #[test_case(filter(&["shop/db", "shop/api"], &[], &[], &[]), true; "any of the endpoints")]
    #[test_case(filter(&["shop/db"], &[], &[], &[]), false; "other endpoint")]
    #[test_case(filter(&[], &["drop"], &[], &[]), true; "action")]
    #[test_case(filter(&[], &["default-deny"], &[], &[]), true; "verdict")]
    #[test_case(filter(&[], &["pass", "allow"], &[], &[]), false; "other verdicts")]
    #[test_case(filter(&[], &[], &[4242], &[]), true; "identity")]
    #[test_case(filter(&[], &[], &[1], &[]), false; "other identity")]
    #[test_case(filter(&[], &[], &[], &[8080]), true; "port")]
    #[test_case(filter(&[], &[], &[], &[80]), false; "other port")]
    #[test_case(filter(&["shop/api"], &["drop"], &[4242], &[80]), false; "every flag must match")]
    fn matches_like_hubble_observe(filter: EventFilter, shown: bool) {
        assert_eq!(filter.matches(&event()), shown);
    }
}
