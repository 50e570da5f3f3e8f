//! Codes PC02xx: Cilium's `Sanitize` rules and CRD constraints beyond types (one per rule).

use super::Code;
use crate::Severity::{Error, Warning};

pub const MIXED_PEER_KINDS: Code = Code {
    id: "PC0201",
    name: "mixed-peer-kinds",
    default_severity: Error,
    summary: "A rule combines more than one kind of L3 peer",
    explanation: "Cilium's `Sanitize` accepts only one kind of L3 peer per ingress or egress rule (for example \
`fromEndpoints` and `fromEntities` cannot appear together, nor `toCIDR` and `toFQDNs`). The whole policy object is \
rejected. Split the rule into one rule per peer kind; rules of a direction are combined with OR anyway.",
};

pub const INVALID_CIDR: Code = Code {
    id: "PC0202",
    name: "invalid-cidr",
    default_severity: Error,
    summary: "A CIDR or IP address does not parse",
    explanation: "CIDR fields take an IPv4 or IPv6 prefix such as `10.0.0.0/8` or `fd00::/64` (a bare address is \
read as a host prefix). The marked text is not a valid address or the prefix length is out of range.",
};

pub const INVALID_PORT: Code = Code {
    id: "PC0203",
    name: "invalid-port",
    default_severity: Error,
    summary: "A port is neither a number in 0..=65535 nor a valid port name",
    explanation: "`port` takes a number from 0 to 65535 (0 means any port) or, for named ports, an IANA service \
name: 1 to 15 lower-case letters, digits and hyphens, containing at least one letter, not starting or ending with \
a hyphen and without two hyphens in a row.",
};

pub const RULE_WITHOUT_DIRECTION: Code = Code {
    id: "PC0204",
    name: "rule-without-direction",
    default_severity: Error,
    summary: "A policy rule has no ingress, ingressDeny, egress or egressDeny section",
    explanation: "Cilium's `Sanitize` rejects a rule that has none of `ingress`, `ingressDeny`, `egress` and `egressDeny`, even when `enableDefaultDeny` is set (cilium/cilium#45716). To put endpoints into default-deny without allowing anything, use `ingress: [{}]` or `egress: [{}]`.",
};

pub const SUBJECT_SELECTOR: Code = Code {
    id: "PC0205",
    name: "subject-selector-count",
    default_severity: Error,
    summary: "A rule needs exactly one of endpointSelector and nodeSelector",
    explanation: "Every Cilium policy rule selects its subjects with exactly one of `endpointSelector` (pods) or `nodeSelector` (nodes, host policy). A rule with neither or with both is rejected by the CRD schema (oneOf) and by `Sanitize`.",
};

pub const NODE_SELECTOR_IN_CNP: Code = Code {
    id: "PC0206",
    name: "node-selector-in-namespaced-policy",
    default_severity: Error,
    summary: "nodeSelector is only allowed in a CiliumClusterwideNetworkPolicy",
    explanation: "Host policies (`nodeSelector`) are cluster-scoped: Cilium rejects a namespaced CiliumNetworkPolicy whose rule has a `nodeSelector` (\"rule cannot have NodeSelector\"). Move the rule into a CiliumClusterwideNetworkPolicy.",
};

pub const TOO_MANY_PORTS: Code = Code {
    id: "PC0207",
    name: "too-many-ports",
    default_severity: Error,
    summary: "A toPorts entry lists more than 40 ports",
    explanation: "Cilium limits `toPorts[].ports` to 40 entries (CRD maxItems and `Sanitize`). Split the entry into several `toPorts` entries or use port ranges (`endPort`).",
};

pub const TOO_MANY_ICMP_FIELDS: Code = Code {
    id: "PC0208",
    name: "too-many-icmp-fields",
    default_severity: Error,
    summary: "An icmps entry lists more than 40 fields",
    explanation: "Cilium limits `icmps[].fields` to 40 entries (CRD maxItems and `Sanitize`). Split the entry into several `icmps` entries.",
};

pub const ICMPS_WITH_TO_PORTS: Code = Code {
    id: "PC0209",
    name: "icmps-with-toports",
    default_severity: Error,
    summary: "A rule has both icmps and toPorts",
    explanation: "Cilium rejects a rule that sets both `icmps` and `toPorts` (\"the ICMPs block may only be present without ToPorts\"). Write two rules with the same peers: one with `toPorts`, one with `icmps`.",
};

pub const L7_PROTOCOL: Code = Code {
    id: "PC0210",
    name: "l7-protocol-mismatch",
    default_severity: Error,
    summary: "L7 rules are used with a protocol that cannot carry them",
    explanation: "HTTP, Kafka and generic L7 rules are only enforced on TCP ports; DNS rules need UDP, TCP or ANY. Cilium rejects a port rule whose `ports` use another protocol together with L7 `rules`.",
};

pub const L7_ON_WILDCARD_PORT: Code = Code {
    id: "PC0211",
    name: "l7-on-wildcard-port",
    default_severity: Error,
    summary: "L7 rules are attached to port 0 (all ports)",
    explanation: "L7 rules redirect one specific port to the proxy; Cilium rejects L7 `rules` on a port rule whose port is 0 or missing (all ports). Name the port the application protocol runs on.",
};

pub const MULTIPLE_L7_KINDS: Code = Code {
    id: "PC0212",
    name: "multiple-l7-kinds",
    default_severity: Error,
    summary: "A port rule mixes several kinds of L7 rules",
    explanation: "A `toPorts[].rules` block holds exactly one kind of L7 rule: `http`, `kafka`, `dns` or `l7proto` with `l7`. Cilium rejects combinations; use separate `toPorts` entries (on different ports).",
};

pub const DNS_RULE_PORT: Code = Code {
    id: "PC0213",
    name: "dns-rule-port",
    default_severity: Error,
    summary: "A DNS rule needs an explicit single port",
    explanation: "DNS proxy rules (`rules.dns`) must be attached to explicit ports (normally 53) without `endPort` ranges and not to port 0; Cilium rejects them otherwise.",
};

pub const DNS_RULE_ON_INGRESS: Code = Code {
    id: "PC0214",
    name: "dns-rule-on-ingress",
    default_severity: Error,
    summary: "DNS rules are only allowed on egress",
    explanation: "The DNS proxy only inspects queries an endpoint sends, so `rules.dns` is only valid in `egress` rules. Cilium rejects a DNS rule in an ingress rule.",
};

pub const EXCEPT_OUTSIDE_CIDR: Code = Code {
    id: "PC0215",
    name: "except-outside-cidr",
    default_severity: Error,
    summary: "An except prefix is not inside its cidr",
    explanation: "Each entry of `except` must be contained in the `cidr` of the same CIDR rule (same address family, equal or longer prefix). Cilium rejects an except outside its cidr; it would exclude nothing.",
};

pub const CIDR_HOST_BITS: Code = Code {
    id: "PC0216",
    name: "cidr-host-bits",
    default_severity: Warning,
    summary: "A CIDR has host bits set",
    explanation: "The address of a CIDR such as `10.0.0.1/8` has bits set beyond the prefix length. Cilium parses it and silently masks the host bits (the rule means `10.0.0.0/8`), so it is accepted, but it usually signals a typo: either the prefix length or the address is not what the author meant. Write the canonical prefix.",
};

pub const UNKNOWN_ENTITY: Code = Code {
    id: "PC0217",
    name: "unknown-entity",
    default_severity: Error,
    summary: "An entity name is not one Cilium knows",
    explanation: "`fromEntities`/`toEntities` accept all, world, cluster, host, init, ingress, unmanaged, remote-node, health, none and kube-apiserver. Any other value is rejected by the CRD enum, including `world-ipv4` and `world-ipv6`, which the agent maps but the CRD of the pinned version does not list.",
};

pub const INVALID_REGEX: Code = Code {
    id: "PC0218",
    name: "invalid-regex",
    default_severity: Error,
    summary: "An HTTP rule regex does not compile",
    explanation: "HTTP `method`, `path` and `host` are RE2 regular expressions matched against the whole value (Envoy safe_regex). The marked expression does not compile, so Cilium rejects the policy.",
};

pub const INVALID_FQDN: Code = Code {
    id: "PC0219",
    name: "invalid-fqdn",
    default_severity: Error,
    summary: "A DNS name or pattern is malformed",
    explanation: "`matchName` takes letters, digits, `-`, `_` and `.`; `matchPattern` additionally `*`. Both are limited to 255 characters. Cilium rejects other characters (the CRD pattern) and the rule never matches.",
};

pub const INVALID_LOG_VALUE: Code = Code {
    id: "PC0220",
    name: "invalid-log-value",
    default_severity: Error,
    summary: "log.value is too long or not printable",
    explanation:
        "`log.value` tags flows in Hubble and must be at most 32 printable ASCII characters.",
};

pub const INVALID_SERVER_NAME: Code = Code {
    id: "PC0221",
    name: "invalid-server-name",
    default_severity: Error,
    summary: "A serverNames entry is empty or malformed, or needs terminatingTLS",
    explanation: "`serverNames` entries are DNS names, optionally starting with `*.` or `**.`. Empty entries are rejected, and L7 rules combined with serverNames need `terminatingTLS` so the proxy can see the traffic.",
};

pub const LISTENER_MISUSE: Code = Code {
    id: "PC0222",
    name: "listener-misuse",
    default_severity: Error,
    summary: "A listener is used on ingress or together with L7 rules",
    explanation: "`toPorts[].listener` redirects egress traffic to a CiliumEnvoyConfig listener. Cilium rejects it on ingress rules and together with L7 `rules`.",
};

pub const REQUIRES_REMOVED: Code = Code {
    id: "PC0223",
    name: "requires-removed",
    default_severity: Error,
    summary: "fromRequires/toRequires were removed in Cilium 1.19",
    explanation: "`fromRequires` and `toRequires` were deprecated and are removed in Cilium 1.19 (the CRD allows 0 items). Express the requirement with deny rules (`ingressDeny`/`egressDeny`) or add the required labels to each peer selector.",
};

pub const EMPTY_POLICY: Code = Code {
    id: "PC0224",
    name: "empty-policy",
    default_severity: Error,
    summary: "A policy object has no rules",
    explanation: "A CiliumNetworkPolicy or CiliumClusterwideNetworkPolicy must have `spec` and/or `specs` (Cilium: ErrEmptyCNP); a NetworkPolicy must have `spec`. Without them the object is rejected.",
};

pub const INVALID_SELECTOR_EXPRESSION: Code = Code {
    id: "PC0225",
    name: "invalid-selector-expression",
    default_severity: Error,
    summary: "A matchExpressions entry has values that do not fit its operator",
    explanation: "`In` and `NotIn` need at least one value; `Exists` and `DoesNotExist` must have none. Kubernetes label-selector validation rejects other combinations.",
};

pub const INVALID_KAFKA_RULE: Code = Code {
    id: "PC0226",
    name: "invalid-kafka-rule",
    default_severity: Error,
    summary: "A Kafka rule is malformed",
    explanation: "A Kafka rule takes either `role` (produce or consume) or `apiKey`, not both; topics are at most 255 characters of letters, digits, `.`, `_` and `-`.",
};

pub const INVALID_GENERIC_L7: Code = Code {
    id: "PC0227",
    name: "invalid-generic-l7",
    default_severity: Error,
    summary: "Generic L7 rules are malformed",
    explanation: "`l7` rules need `l7proto` naming the proxy parser, and every key of an `l7` rule must be non-empty.",
};

pub const PROTOCOL_PORT_MISMATCH: Code = Code {
    id: "PC0228",
    name: "protocol-port-mismatch",
    default_severity: Error,
    summary: "A protocol without ports is given a port",
    explanation:
        "VRRP and IGMP carry no ports; Cilium only accepts them with an empty port or port 0.",
};

pub const NOT_ENFORCED: Code = Code {
    id: "PC0229",
    name: "not-enforced-by-policyc",
    default_severity: Warning,
    summary: "A field is parsed but not enforced by policyc",
    explanation: "TLS interception (`terminatingTLS`, `originatingTLS`) is part of the policy but implemented by Cilium's Envoy integration; policyc parses and checks it but evaluates the L7 rules of those ports as if the traffic were plaintext (gap `tls-interception` of the field status table, printed by `policyc build`). `serverNames` and `listener`, which decide what passes, are refused instead (PC0320).",
};

pub const KNP_IGNORED_RULES: Code = Code {
    id: "PC0230",
    name: "knp-ignored-rules",
    default_severity: Warning,
    summary: "NetworkPolicy rules of a direction policyTypes does not list (Kubernetes ignores them, Cilium enforces them)",
    explanation: "When `policyTypes` is given, the Kubernetes API says only the listed directions are enforced: `egress` rules of a policy whose policyTypes lacks `Egress` (or ingress rules without `Ingress`) have no effect. Cilium (pkg/k8s/network_policy.go `ParseNetworkPolicy`) turns every rule into an entry whatever policyTypes says, so under Cilium — and in policyc's verdicts — they are enforced. Add the direction to policyTypes (what Cilium does anyway) or remove the rules, so the policy means the same under every CNI.",
};

pub const KNP_END_PORT: Code = Code {
    id: "PC0231",
    name: "knp-end-port",
    default_severity: Error,
    summary: "A NetworkPolicy endPort is invalid",
    explanation: "In a NetworkPolicy, `endPort` requires a numeric `port` and must be greater than or equal to it; the API server rejects other combinations.",
};

pub const SUBJECT_NAMESPACE_IGNORED: Code = Code {
    id: "PC0232",
    name: "subject-namespace-ignored",
    default_severity: Warning,
    summary: "A namespaced policy selects another namespace in its endpointSelector",
    explanation: "Cilium always adds the policy's own namespace to the endpointSelector of a CiliumNetworkPolicy; a namespace label naming a different namespace is ignored (with a warning in the agent log). Move the policy into that namespace or use a CiliumClusterwideNetworkPolicy.",
};

pub const L7_ON_HOST_POLICY: Code = Code {
    id: "PC0233",
    name: "l7-on-host-policy",
    default_severity: Error,
    summary: "A host policy uses L7 rules Cilium does not support there",
    explanation: "Host policies (`nodeSelector`) cannot redirect ingress traffic to the L7 proxy, and on egress \
only DNS rules are supported. Cilium rejects other L7 rules in a host policy; enforce them on the pods instead.",
};

pub const NODE_PEERS_DISABLED: Code = Code {
    id: "PC0234",
    name: "node-peers-disabled",
    default_severity: Error,
    summary: "fromNodes/toNodes without enable-node-selector-labels",
    explanation: "Cilium accepts `fromNodes`/`toNodes` only when the agent runs with `enable-node-selector-labels` (off by default in v1.19): otherwise the rule fails validation (`pkg/policy/api` ErrFromToNodesRequiresNodeSelectorOption) and the whole policy is rejected. Set `enableNodeSelectorLabels: true` in the inventory when the cluster runs with that option (remote nodes then get identities from their labels), or use the `remote-node` entity.",
};

/// Every code of this range, sorted by id.
pub const ALL: &[&Code] = &[
    &MIXED_PEER_KINDS,
    &INVALID_CIDR,
    &INVALID_PORT,
    &RULE_WITHOUT_DIRECTION,
    &SUBJECT_SELECTOR,
    &NODE_SELECTOR_IN_CNP,
    &TOO_MANY_PORTS,
    &TOO_MANY_ICMP_FIELDS,
    &ICMPS_WITH_TO_PORTS,
    &L7_PROTOCOL,
    &L7_ON_WILDCARD_PORT,
    &MULTIPLE_L7_KINDS,
    &DNS_RULE_PORT,
    &DNS_RULE_ON_INGRESS,
    &EXCEPT_OUTSIDE_CIDR,
    &CIDR_HOST_BITS,
    &UNKNOWN_ENTITY,
    &INVALID_REGEX,
    &INVALID_FQDN,
    &INVALID_LOG_VALUE,
    &INVALID_SERVER_NAME,
    &LISTENER_MISUSE,
    &REQUIRES_REMOVED,
    &EMPTY_POLICY,
    &INVALID_SELECTOR_EXPRESSION,
    &INVALID_KAFKA_RULE,
    &INVALID_GENERIC_L7,
    &PROTOCOL_PORT_MISMATCH,
    &NOT_ENFORCED,
    &KNP_IGNORED_RULES,
    &KNP_END_PORT,
    &SUBJECT_NAMESPACE_IGNORED,
    &L7_ON_HOST_POLICY,
    &NODE_PEERS_DISABLED,
];
