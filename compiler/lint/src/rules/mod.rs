//! The semantic lint rules, one file per code (PC03xx), and the table the runner iterates.
//! (`serverNames`/TLS/`listener` being parsed but not enforced is reported by validation, PC0229.)

use crate::context::LintContext;
use policyc_diagnostics::Finding;

pub mod allow_dead_under_deny;
pub mod any_protocol_not_icmp;
pub mod broad_ingress_exposure;
pub mod broad_ingress_on_ports;
pub mod cidr_matches_cluster;
pub mod default_deny_without_dns;
pub mod dns_wildcard_pattern;
pub mod empty_rule_idiom;
pub mod end_port_not_above_port;
pub mod fqdn_without_dns;
pub mod http_path_prefix;
pub mod kafka_deprecated;
pub mod l7_rules_bypassed;
pub mod selector_matches_nothing;
pub mod shadowed_rule;
pub mod unenforced_field;
pub mod unresolvable_peer;

/// A lint rule: reads the context, returns its findings.
pub type LintRule = fn(&LintContext<'_>) -> Vec<Finding>;

/// Every rule, in code order.
pub const ALL: &[(&str, LintRule)] = &[
    ("PC0301", fqdn_without_dns::check),
    ("PC0302", default_deny_without_dns::check),
    ("PC0303", empty_rule_idiom::check),
    ("PC0304", shadowed_rule::check),
    ("PC0305", cidr_matches_cluster::check),
    ("PC0306", allow_dead_under_deny::check),
    ("PC0307", l7_rules_bypassed::check),
    ("PC0308", http_path_prefix::check),
    ("PC0309", any_protocol_not_icmp::check),
    ("PC0310", end_port_not_above_port::check),
    ("PC0311", broad_ingress_exposure::check),
    ("PC0312", unresolvable_peer::check),
    ("PC0313", kafka_deprecated::check),
    ("PC0317", broad_ingress_on_ports::check),
    ("PC0318", dns_wildcard_pattern::check),
    ("PC0319", selector_matches_nothing::check),
    ("PC0320", unenforced_field::check),
];
