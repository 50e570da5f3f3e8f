//! Codes PC03xx: semantic lints (valid policy that probably does not do what was meant).

use super::Code;
use crate::Severity::{Error, Info, Warning};

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

pub const CIDR_MATCHES_CLUSTER_ADDRESSES: Code = Code {
    id: "PC0305",
    name: "cidr-matches-cluster-addresses",
    default_severity: Warning,
    summary: "A CIDR peer covers pod or node addresses, which CIDR rules never match",
    explanation: "In Cilium an address belongs to the most specific identity the ipcache knows: pods and nodes have \
their own identities, so `toCIDR`/`fromCIDR`/`toCIDRSet` and NetworkPolicy `ipBlock` never match traffic to or from \
them (unlike upstream Kubernetes NetworkPolicy). This lint needs `--inventory` to know the cluster's addresses; \
`0.0.0.0/0` and `::/0` are exempt because they are the usual way to say \"the Internet\". Select pods with \
`toEndpoints`/`fromEndpoints` (or `podSelector`/`namespaceSelector`) and nodes with the `host`/`remote-node` entities.",
};

pub const ALLOW_DEAD_UNDER_DENY: Code = Code {
    id: "PC0306",
    name: "allow-dead-under-deny",
    default_severity: Warning,
    summary: "An allow rule is entirely denied by a deny rule of the same policy",
    explanation: "Deny rules win over allow rules in Cilium, whatever their order or source. Every peer and port of \
this allow rule is covered by the related deny rule of the same policy and endpoints (L7 rules cannot override a \
deny either), so the allow never lets anything through. Remove it, or narrow the deny (an `except`, fewer ports) if \
the flows are wanted.",
};

pub const L7_RULES_BYPASSED: Code = Code {
    id: "PC0307",
    name: "l7-rules-bypassed",
    default_severity: Warning,
    summary: "L7 rules have no effect for a peer that another rule allows on the same port without L7",
    explanation: "When one rule allows a peer on a port with HTTP (or Kafka, l7proto) rules and another rule allows \
the same peer on that port with no L7 rules (or on all ports, L3-only), Cilium merges them into an allow-all L7 rule \
for that peer: the L7 restrictions have no effect for it (Cilium docs: \"the layer 7 portions of the latter rule \
will have no effect\"). Other peers are still restricted. Narrow the related rule or give it the same L7 rules.",
};

pub const HTTP_PATH_LOOKS_LIKE_PREFIX: Code = Code {
    id: "PC0308",
    name: "http-path-looks-like-prefix",
    default_severity: Warning,
    summary: "An HTTP path regex reads like a prefix but must match the whole path",
    explanation: "HTTP `path` (and `method`, `host`) are RE2 regular expressions that Envoy matches against the \
whole value, and the `:path` header includes the query string. `path: /api` therefore allows exactly `/api` and \
rejects `/api/users` and `/api?x=1` with 403. Write `/api(/.*)?` for the path and everything below it, or `/api/.*` \
for only what is below. The lint fires on literal paths that end with `/` or whose last segment is prefix-like \
(`api`, `v1`, `public`, `static`, ...); exact endpoints such as `/healthz` are left alone.",
};

pub const ANY_PROTOCOL_IS_NOT_ICMP: Code = Code {
    id: "PC0309",
    name: "any-protocol-is-not-icmp",
    default_severity: Info,
    summary: "`protocol: ANY` covers TCP, UDP and SCTP but not ICMP",
    explanation: "`protocol: ANY` expands to TCP, UDP and SCTP only. A rule with `protocol: ANY` on all ports (port \
0 or no port) or on port 7 (echo) looks like an attempt to allow or deny everything including ping, but ICMP is \
only matched by `icmps` rules (or by a rule without `toPorts`). Add an `icmps` rule if ICMP is meant.",
};

pub const END_PORT_NOT_ABOVE_PORT: Code = Code {
    id: "PC0310",
    name: "end-port-not-above-port",
    default_severity: Info,
    summary: "`endPort` is not above `port`, so the range is the single port `port`",
    explanation: "Cilium reads `port`/`endPort` as the range `[port, endPort]` only when `endPort` is greater than \
`port`; otherwise it silently uses the single port `port` (no validation error). An `endPort` below `port` is \
usually swapped bounds; an `endPort` equal to `port` is redundant.",
};

pub const BROAD_INGRESS_EXPOSURE: Code = Code {
    id: "PC0311",
    name: "broad-ingress-exposure",
    default_severity: Warning,
    summary: "Ingress is allowed from the whole Internet on every port",
    explanation: "The rule allows ingress from world (`fromEntities: [world]` or `[all]`, `0.0.0.0/0`, `::/0`, or \
a rule without any `from` field) on all ports and protocols. The selected endpoints are reachable from anywhere on \
anything they listen on, which is rarely intended. Restrict the peers or the ports; suppress with \
`policyc.io/ignore` and a reason if this exposure is deliberate (e.g. an ingress gateway).",
};

pub const PEER_NOT_RESOLVABLE_OFFLINE: Code = Code {
    id: "PC0312",
    name: "peer-not-resolvable-offline",
    default_severity: Info,
    summary: "A peer is resolved at runtime (toServices, toGroups, cidrGroupRef, cidrGroupSelector) and selects nothing offline",
    explanation: "`toServices` is turned into endpoints or CIDRs by the agent from live Service objects, `toGroups` \
by the operator from cloud provider APIs, and `cidrGroupRef`/`cidrGroupSelector` from CiliumCIDRGroup objects. policyc \
works offline without those objects, so it treats these peers as selecting nothing. In an allow rule that only \
allows less (info): `policyc test` and `explain` will report deny for flows that the cluster may allow. In a deny \
rule the deny would vanish — policyc would allow what Cilium denies — so it is an error there and `policyc build` \
refuses the rule. Describe such peers with `toEndpoints` or `toCIDRSet` to check them offline.",
};

pub const KAFKA_RULES_DEPRECATED: Code = Code {
    id: "PC0313",
    name: "kafka-rules-deprecated",
    default_severity: Info,
    summary: "Kafka L7 rules are deprecated since Cilium 1.19",
    explanation: "Cilium's Kafka protocol parser (beta) is deprecated in 1.19 and scheduled for removal. policyc still \
evaluates the rules, but plan a migration: restrict Kafka clients at L4 (peers and ports) or with a Kafka-aware proxy.",
};

pub const IGNORE_WITHOUT_REASON: Code = Code {
    id: "PC0315",
    name: "ignore-without-reason",
    default_severity: Warning,
    summary: "A `policyc.io/ignore` annotation gives no reason",
    explanation: "Findings are suppressed per policy object with the annotation `policyc.io/ignore`. Its value lists \
entries separated by `;` or new lines; each entry is one or more codes (ids like `PC0311` or names like \
`broad-ingress-exposure`, separated by commas) optionally followed by `: reason`, e.g. `PC0311: public ingress \
gateway; PC0302, PC0301: DNS allowed by ccnp/allow-dns`. Codes without their own reason take the annotation \
`policyc.io/ignore-reason`. A suppression without any reason still applies but is reported, so that every silenced \
finding is explained. Errors cannot be suppressed: Cilium rejects those policies.",
};

pub const INVALID_IGNORE_CODE: Code = Code {
    id: "PC0316",
    name: "invalid-ignore-code",
    default_severity: Warning,
    summary: "A `policyc.io/ignore` annotation names an unknown code or a code that cannot be suppressed",
    explanation: "Every code listed in `policyc.io/ignore` must be a known finding code (see `policyc lint --explain \
CODE`) whose findings are warnings or infos. Unknown codes are usually typos and would silently suppress nothing; \
error codes cannot be suppressed because Cilium rejects such policies. The rest of the annotation still applies.",
};

pub const BROAD_INGRESS_ON_PORTS: Code = Code {
    id: "PC0317",
    name: "broad-ingress-on-ports",
    default_severity: Info,
    summary: "Ingress is allowed from the whole Internet on specific ports, or from every pod of every namespace",
    explanation: "The rule allows ingress from world (`fromEntities: [world]` or `[all]`, `0.0.0.0/0`, `::/0`, or \
a rule without any `from` field) on the ports it lists, or from every pod of the cluster (`namespaceSelector: {}`, \
a clusterwide `fromEndpoints: [{}]`). That is right for a public entry point (an ingress gateway, a web frontend) and \
wrong almost everywhere else; the finding makes the exposure visible in review. Restrict the peers, or suppress with \
`policyc.io/ignore` and a reason when the exposure is deliberate. (The Internet on every port is PC0311.)",
};

pub const DNS_WILDCARD_PATTERN: Code = Code {
    id: "PC0318",
    name: "dns-wildcard-pattern",
    default_severity: Info,
    summary: "A DNS rule or `toFQDNs` uses `matchPattern: \"*\"`",
    explanation: "In `rules.dns`, `matchPattern: \"*\"` lets the endpoints look up any name: DNS stays open as a \
tunnel for exfiltration, and every answer is learnt for `toFQDNs`. In `toFQDNs`, it allows egress to any address any \
DNS answer returned, which is close to allowing world on those ports. List the names (`matchName`) or patterns \
under one domain (`*.example.com`, `*.*.svc.cluster.local` for in-cluster names) that the endpoints need.",
};

pub const SELECTOR_MATCHES_NO_ENDPOINT: Code = Code {
    id: "PC0319",
    name: "selector-matches-no-endpoint",
    default_severity: Warning,
    summary: "With `--inventory`: an endpoint selector matches no endpoint of the inventory",
    explanation: "The policy's `endpointSelector`/`podSelector`, or a `fromEndpoints`/`toEndpoints`/`podSelector` \
peer, selects none of the inventory's pods (labels, namespace and namespace labels included). Usually a label key or \
value is misspelt or the namespace is wrong, and the rule protects or allows nothing. Only reported with \
`--inventory`, and only when the inventory has endpoints; selectors of reserved labels are not checked.",
};

pub const UNENFORCED_FIELD: Code = Code {
    id: "PC0320",
    name: "unenforced-field",
    default_severity: Error,
    summary: "A field does not mean in policyc what it means in Cilium (policyc build refuses it, or prints it)",
    explanation: "Every field of the CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy and NetworkPolicy schemas has a status in \
policyc's field status table (`compiler/frontend/src/field_status.rs`): exact, lint-only, refused or approximated. A refused \
field (a host policy's `nodeSelector`, `authentication.mode: required`, `serverNames`, `listener`, ...) is an error: `policyc \
build` stops and names it unless run with `--allow-unenforced CODE` (the code is the gap's name, e.g. `host-policy`). An \
approximated field whose meaning in `policyc test`/`explain` differs from Cilium's is a warning. `policyc build` prints every \
refused or approximated field with its location and lists the gaps in the manifest and the report.",
};

/// Every code of this range, sorted by id.
pub const ALL: &[&Code] = &[
    &FQDN_WITHOUT_DNS_RULE,
    &DEFAULT_DENY_WITHOUT_DNS,
    &EMPTY_RULE_IDIOM,
    &SHADOWED_RULE,
    &CIDR_MATCHES_CLUSTER_ADDRESSES,
    &ALLOW_DEAD_UNDER_DENY,
    &L7_RULES_BYPASSED,
    &HTTP_PATH_LOOKS_LIKE_PREFIX,
    &ANY_PROTOCOL_IS_NOT_ICMP,
    &END_PORT_NOT_ABOVE_PORT,
    &BROAD_INGRESS_EXPOSURE,
    &PEER_NOT_RESOLVABLE_OFFLINE,
    &KAFKA_RULES_DEPRECATED,
    &IGNORE_WITHOUT_REASON,
    &INVALID_IGNORE_CODE,
    &BROAD_INGRESS_ON_PORTS,
    &DNS_WILDCARD_PATTERN,
    &SELECTOR_MATCHES_NO_ENDPOINT,
    &UNENFORCED_FIELD,
];
