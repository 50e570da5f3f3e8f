//! Codes PC03xx: semantic lints (valid policy that probably does not do what was meant).

use super::Code;
use crate::diagnostics::Severity::{Info, Warning};

pub const FQDN_WITHOUT_DNS_RULE: Code = Code {
    id: "PC0301",
    name: "fqdn-without-dns-rule",
    default_severity: Warning,
    summary: "toFQDNs is used but no DNS rule lets the endpoint's lookups through the DNS proxy",
    explanation: "Cilium learns the IPs behind `toFQDNs` names only from DNS responses that pass through its DNS \
proxy, which requires an egress rule to the DNS server with `rules.dns` (for example `matchPattern: \"*\"`) on port \
53. Without it nothing is ever learnt and the FQDN rule allows no traffic at all.",
};

pub const DEFAULT_DENY_WITHOUT_DNS: Code = Code {
    id: "PC0302",
    name: "default-deny-without-dns",
    default_severity: Warning,
    summary: "Egress default-deny is enabled for the endpoints but DNS is not allowed",
    explanation: "Selecting endpoints with an egress rule puts their egress into default-deny: everything not \
allowed by some policy is dropped. No policy allows DNS (port 53 to kube-dns) for them, so name resolution will \
fail, which usually breaks the workload. Allow DNS explicitly or check that another policy does.",
};

pub const EMPTY_RULE_IDIOM: Code = Code {
    id: "PC0303",
    name: "empty-rule-idiom",
    default_severity: Info,
    summary: "An empty rule `{}` means deny-all in a Cilium policy but allow-all in a NetworkPolicy",
    explanation: "`ingress: [{}]` in a Kubernetes NetworkPolicy allows all ingress; the same text in a \
CiliumNetworkPolicy only enables default-deny and allows nothing. The idiom is correct in both, but people \
translating policies between the two formats often get it backwards; this note says which meaning applies here.",
};

pub const SHADOWED_RULE: Code = Code {
    id: "PC0304",
    name: "shadowed-rule",
    default_severity: Warning,
    summary: "A rule is fully covered by another rule of the same subject",
    explanation: "Every flow this rule allows (or denies) is already allowed (or denied) by the related rule, so \
removing it changes nothing. It is often a leftover of a refactoring, or a sign that the other rule is broader than \
intended.",
};

/// Every code of this range, sorted by id.
pub const ALL: &[&Code] = &[
    &FQDN_WITHOUT_DNS_RULE,
    &DEFAULT_DENY_WITHOUT_DNS,
    &EMPTY_RULE_IDIOM,
    &SHADOWED_RULE,
];
