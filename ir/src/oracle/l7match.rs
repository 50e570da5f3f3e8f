//! Does an L7 request match a port rule's L7 rules (HTTP, DNS, Kafka)?

use super::flow::{KafkaRequest, L7Request};
use crate::l7::{KafkaRule, L7Rules};

/// `Some(true/false)` when the request can be judged by these rules, `None` for rule kinds the
/// oracle cannot evaluate (generic `l7proto`).
pub fn l7_matches(rules: &L7Rules, request: &L7Request) -> Option<bool> {
    match (rules, request) {
        (L7Rules::None, _) => Some(true),
        (L7Rules::Http(rules), L7Request::Http(req)) => {
            Some(rules.is_empty() || rules.iter().any(|r| r.matches(req)))
        }
        (L7Rules::Dns(patterns), L7Request::Dns { query }) => {
            Some(patterns.is_empty() || patterns.iter().any(|p| p.matches(query)))
        }
        (L7Rules::Kafka(rules), L7Request::Kafka(req)) => Some(kafka_allows(rules, req)),
        (L7Rules::Generic { .. }, _) => None,
        // A request of another protocol on a port whose proxy speaks this one is refused.
        _ => Some(false),
    }
}

/// Kafka API keys by name and number (the ones Cilium's role shortcuts use, plus common ones).
const KAFKA_API_KEYS: &[(&str, u16)] = &[
    ("produce", 0),
    ("fetch", 1),
    ("offsets", 2),
    ("metadata", 3),
    ("leaderandisr", 4),
    ("stopreplica", 5),
    ("updatemetadata", 6),
    ("controlledshutdown", 7),
    ("offsetcommit", 8),
    ("offsetfetch", 9),
    ("findcoordinator", 10),
    ("joingroup", 11),
    ("heartbeat", 12),
    ("leavegroup", 13),
    ("syncgroup", 14),
    ("describegroups", 15),
    ("listgroups", 16),
    ("saslhandshake", 17),
    ("apiversions", 18),
    ("createtopics", 19),
    ("deletetopics", 20),
];

fn kafka_key_number(text: &str) -> Option<u16> {
    let lower = text.to_ascii_lowercase();
    text.parse::<u16>().ok().or_else(|| {
        KAFKA_API_KEYS
            .iter()
            .find(|(n, _)| *n == lower)
            .map(|(_, k)| *k)
    })
}

/// API keys a `role` stands for (Cilium's `kafka.go`).
fn role_keys(role: &str) -> &'static [u16] {
    match role.to_ascii_lowercase().as_str() {
        "produce" => &[0, 3, 18],
        "consume" => &[1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 18],
        _ => &[],
    }
}

fn kafka_rule_matches_request(rule: &KafkaRule, req: &KafkaRequest) -> bool {
    let Some(key) = kafka_key_number(&req.api_key) else {
        return false;
    };
    let key_ok = match (&rule.role, &rule.api_key) {
        (Some(role), _) => role_keys(role).contains(&key),
        (None, Some(k)) => kafka_key_number(k) == Some(key),
        (None, None) => true,
    };
    let version_ok = rule
        .api_version
        .as_ref()
        .is_none_or(|v| req.api_version.as_ref() == Some(v));
    let client_ok = rule
        .client_id
        .as_ref()
        .is_none_or(|c| req.client_id.as_ref() == Some(c));
    key_ok && version_ok && client_ok
}

/// Every topic of the request must be allowed by some rule that matches the request's other
/// fields; a request without topics needs one matching rule.
fn kafka_allows(rules: &[KafkaRule], req: &KafkaRequest) -> bool {
    let matching: Vec<&KafkaRule> = rules
        .iter()
        .filter(|r| kafka_rule_matches_request(r, req))
        .collect();
    if req.topics.is_empty() {
        return !matching.is_empty();
    }
    req.topics.iter().all(|t| {
        matching
            .iter()
            .any(|r| r.topic.as_ref().is_none_or(|rt| rt == t))
    })
}
