//! "No silence": the status of every field of the v1.19 CiliumNetworkPolicy,
//! CiliumClusterwideNetworkPolicy and NetworkPolicy schemas, as one table (a tree: a field and
//! its children), and the walk that finds, in a policy object, every field that does not mean
//! exactly what it means in Cilium.
//!
//! A field is
//! - [`Status::Exact`]: the oracle (`test`, `explain`, `diff`) and the compiled datapath give it
//!   Cilium's meaning;
//! - [`Status::LintOnly`]: it carries no enforcement meaning in Cilium either (descriptions,
//!   rule labels, object status); only checked for shape;
//! - [`Status::Gap`]: a [`Gap`] — either [`GapKind::Refused`] (`policyc build` stops, naming the
//!   field and every use, unless `--allow-unenforced CODE`; `policyc lint` reports an error) or
//!   [`GapKind::Approximated`] (built, and printed by name with every use; the manifest and the
//!   report list it).
//!
//! `policyc lint` (rule PC0320) and `policyc build` read the uses this module finds
//! ([`unenforced_uses`], kept on each `PolicyObject`); a test walks the CRD OpenAPI schemas
//! (`compiler/frontend/tests/crds/`) and fails when a schema field is missing from the table or
//! the table names a field the schema does not have.

use crate::yaml::{Node, NodeKind};
use policyc_diagnostics::source::Span;
use policyc_ir::PolicyKind;

/// What `policyc build` does with a field that does not mean exactly what it means in Cilium.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GapKind {
    /// Build stops unless `--allow-unenforced CODE`; lint reports an error.
    Refused,
    /// Build prints it by name (and records it in the manifest); lint warns when `test`/
    /// `explain` differ from Cilium too.
    Approximated,
}

/// One way policyc falls short of Cilium, named by a stable kebab-case code.
#[derive(Debug, PartialEq, Eq)]
pub struct Gap {
    /// What `--allow-unenforced` takes, e.g. `host-policy`.
    pub code: &'static str,
    pub kind: GapKind,
    /// What happens instead of Cilium's meaning, and what to do (one sentence or two).
    pub why: &'static str,
    /// Whether `policyc test`/`explain` differ from Cilium too (not only the datapath): lint
    /// reports approximated gaps only then.
    pub oracle_differs: bool,
    /// Whether lint rule PC0320 warns about an approximated gap even though `test`/`explain`
    /// agree with Cilium (a meaning lost only on the node, such as `log.value`).
    pub lint_warns: bool,
    /// Another lint code that already reports this gap with more precise wording (lint rule
    /// PC0320 then stays quiet about it).
    pub reported_by: Option<&'static str>,
}

/// The status of one schema field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Exact,
    LintOnly,
    Gap(&'static Gap),
}

/// The fields below a field.
#[derive(Debug, Clone, Copy)]
pub enum Children {
    /// A scalar, a list of scalars or a free-form map (`matchLabels`): nothing below.
    None,
    /// A mapping (or a list of mappings) with these fields.
    Fields(&'static [Field]),
    /// Free-form content whose parts share the field's status (`metadata`, `status`).
    Any,
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub status: Status,
    /// A status for one value of a scalar field (`authentication.mode: required`), compared
    /// ignoring ASCII case (Cilium parses protocols case-insensitively).
    pub by_value: &'static [(&'static str, Status)],
    pub children: Children,
}

const fn leaf(name: &'static str, status: Status) -> Field {
    Field {
        name,
        status,
        by_value: &[],
        children: Children::None,
    }
}

const fn node(name: &'static str, status: Status, children: &'static [Field]) -> Field {
    Field {
        name,
        status,
        by_value: &[],
        children: Children::Fields(children),
    }
}

const fn any(name: &'static str, status: Status) -> Field {
    Field {
        name,
        status,
        by_value: &[],
        children: Children::Any,
    }
}

use Status::{Exact, LintOnly};

// ---------------------------------------------------------------------------------------------
// The gaps. Each names the Cilium code whose meaning policyc does not reproduce.
// ---------------------------------------------------------------------------------------------

/// CCNP `nodeSelector` (host policies): Cilium enforces them in the host firewall
/// (bpf_host.c, `pkg/policy/rule.go` with `NodeSelector`); policyc evaluates them in the oracle
/// but compiles no host datapath.
pub const HOST_POLICY: Gap = Gap {
    code: "host-policy",
    kind: GapKind::Refused,
    why: "selects nodes, whose host firewall policyc does not compile (policyc test and explain evaluate it; nothing would enforce it on the node); build the endpoint policies without it",
    oracle_differs: false,
    reported_by: None,
    lint_warns: false,
};

/// `authentication.mode: required`: Cilium's mutual authentication (`pkg/auth`, the auth type
/// of allow entries in `pkg/policy/mapstate`) — policyc has no auth handshake.
pub const MUTUAL_AUTH: Gap = Gap {
    code: "mutual-auth",
    kind: GapKind::Refused,
    why: "needs mutual authentication, which policyc does not provide (policyc test and explain report such flows as dropped); remove it or use `disabled`",
    oracle_differs: false,
    reported_by: None,
    lint_warns: false,
};

/// A runtime peer in a deny rule that the inventory does not resolve: `toGroups`/`fromGroups`
/// (resolved by the operator from cloud APIs, `pkg/policy/groups`), `toServices` in
/// `egressDeny` (Cilium's service watcher never rewrites it there), a `cidrGroupRef`/
/// `cidrGroupSelector` without CiliumCIDRGroups in the inventory; offline the deny would
/// match nothing. Resolved uses are no gap (`resolved_runtime_peer`).
pub const RUNTIME_PEER_DENY: Gap = Gap {
    code: "runtime-peer-deny",
    kind: GapKind::Refused,
    why: "names peers only the Cilium operator/agent resolves at runtime and the inventory does not resolve (no matching Service/CiliumCIDRGroup objects; toGroups and toServices in egressDeny never): compiled offline the deny would match nothing; add the objects to the inventory or describe the denied peers with selectors or CIDRs",
    oracle_differs: true,
    reported_by: Some("PC0312"),
    lint_warns: false,
};

/// A runtime peer in an allow rule that the inventory does not resolve: the allow selects
/// nothing (fails closed).
pub const RUNTIME_PEER: Gap = Gap {
    code: "runtime-peer",
    kind: GapKind::Approximated,
    why: "names peers only the Cilium operator/agent resolves at runtime and the inventory does not resolve (no matching Service/CiliumCIDRGroup objects; toGroups never): policyc compiles them as selecting nothing, so their traffic is dropped",
    oracle_differs: true,
    reported_by: Some("PC0312"),
    lint_warns: false,
};

/// `serverNames`: Cilium checks the TLS SNI in Envoy (`pkg/policy/l4.go` `PerSelectorPolicy`
/// `ServerNames`); policyc would allow every server name.
pub const SERVER_NAMES: Gap = Gap {
    code: "server-names",
    kind: GapKind::Refused,
    why: "restricts TLS server names in Cilium's Envoy proxy; policyc does not check SNI (test, explain and the datapath would allow every server name on these ports)",
    oracle_differs: true,
    reported_by: None,
    lint_warns: false,
};

/// `listener`: traffic goes to a CiliumEnvoyConfig listener whose filters decide
/// (`pkg/policy/api/l4.go` `Listener`); policyc would allow at L4.
pub const ENVOY_LISTENER: Gap = Gap {
    code: "envoy-listener",
    kind: GapKind::Refused,
    why: "redirects to an Envoy listener of a CiliumEnvoyConfig that decides what passes; policyc does not read it (test, explain and the datapath would allow at L4)",
    oracle_differs: true,
    reported_by: None,
    lint_warns: false,
};

/// `terminatingTLS`/`originatingTLS`: TLS interception in Envoy so L7 rules see the plaintext.
pub const TLS_INTERCEPTION: Gap = Gap {
    code: "tls-interception",
    kind: GapKind::Approximated,
    why: "TLS interception happens in Cilium's Envoy proxy; policyc evaluates the L7 rules of these ports as if the traffic were plaintext and the datapath does not intercept",
    oracle_differs: false,
    reported_by: Some("PC0229"),
    lint_warns: false,
};

/// L7 rules (`http`, `kafka`, `l7proto`/`l7`): the oracle evaluates them; the datapath
/// redirects them, and the node's L7 filter enforces HTTP (tcx endpoints); `policy-loader`
/// refuses Kafka and `l7proto` unless `--l7-fallback`.
pub const L7_DATAPATH: Gap = Gap {
    code: "l7-datapath",
    kind: GapKind::Approximated,
    why: "L7 rules compile to redirect-l7 verdicts: the node's L7 filter enforces HTTP rules on tcx endpoints; Kafka and l7proto rules are refused by the loader unless run with --l7-fallback=allow-l4 (then L4 is allowed, L7 is NOT checked)",
    oracle_differs: false,
    reported_by: None,
    lint_warns: false,
};

/// `log.value`: Cilium attaches it to policy verdict events (`pkg/policy/api/rule.go`
/// `LogConfig`, `pkg/policy/types` `PolicyLog`); policyc's drop events do not carry it.
pub const LOG_VALUE: Gap = Gap {
    code: "log-value",
    kind: GapKind::Approximated,
    why: "Cilium attaches the value to policy verdict events; policyc's events name the rule (file, line, path) but do not carry the value",
    oracle_differs: false,
    reported_by: None,
    lint_warns: true,
};

/// `protocol: VRRP`/`IGMP` in a deny rule: Cilium denies these IP protocols
/// (`pkg/policy/api/l4.go` `ProtoVRRP`/`ProtoIGMP`, keyed like any L4 protocol); the compiled
/// datapath does not reproduce such denies (issue 13, divergence 12), so the deny would vanish.
pub const VRRP_IGMP_DENY: Gap = Gap {
    code: "vrrp-igmp-deny",
    kind: GapKind::Refused,
    why: "denies the VRRP or IGMP IP protocol, which the compiled datapath does not enforce (the deny would vanish on the node); policyc test and explain evaluate it",
    oracle_differs: false,
    reported_by: None,
    lint_warns: false,
};

/// Every gap, for `--allow-unenforced` (its codes) and the documentation.
pub const ALL_GAPS: &[&Gap] = &[
    &HOST_POLICY,
    &MUTUAL_AUTH,
    &RUNTIME_PEER_DENY,
    &RUNTIME_PEER,
    &SERVER_NAMES,
    &ENVOY_LISTENER,
    &TLS_INTERCEPTION,
    &L7_DATAPATH,
    &LOG_VALUE,
    &VRRP_IGMP_DENY,
];

/// The gap named `code`.
#[must_use]
pub fn gap(code: &str) -> Option<&'static Gap> {
    ALL_GAPS.iter().copied().find(|g| g.code == code)
}

// ---------------------------------------------------------------------------------------------
// The Cilium rule (`pkg/policy/api/rule.go` `Rule`), shared by `spec` and `specs[]`.
// ---------------------------------------------------------------------------------------------

/// `pkg/policy/api/selector.go` `EndpointSelector` (a `metav1.LabelSelector`).
const SELECTOR: &[Field] = &[
    leaf("matchLabels", Exact),
    node(
        "matchExpressions",
        Exact,
        &[
            leaf("key", Exact),
            leaf("operator", Exact),
            leaf("values", Exact),
        ],
    ),
];

/// `pkg/policy/api/cidr.go` `CIDRRule` in an allow rule.
const CIDR_ALLOW: &[Field] = &[
    leaf("cidr", Exact),
    leaf("cidrGroupRef", Status::Gap(&RUNTIME_PEER)),
    node("cidrGroupSelector", Status::Gap(&RUNTIME_PEER), SELECTOR),
    leaf("except", Exact),
];

/// `CIDRRule` in a deny rule.
const CIDR_DENY: &[Field] = &[
    leaf("cidr", Exact),
    leaf("cidrGroupRef", Status::Gap(&RUNTIME_PEER_DENY)),
    node(
        "cidrGroupSelector",
        Status::Gap(&RUNTIME_PEER_DENY),
        SELECTOR,
    ),
    leaf("except", Exact),
];

/// `pkg/policy/api/groups.go` `Groups` (AWS security groups).
const GROUP: &[Field] = &[node(
    "aws",
    Exact,
    &[
        leaf("labels", Exact),
        leaf("region", Exact),
        leaf("securityGroupsIds", Exact),
        leaf("securityGroupsNames", Exact),
    ],
)];

/// `pkg/policy/api/service.go` `Service`.
const SERVICE: &[Field] = &[
    node(
        "k8sService",
        Exact,
        &[leaf("serviceName", Exact), leaf("namespace", Exact)],
    ),
    node(
        "k8sServiceSelector",
        Exact,
        &[leaf("namespace", Exact), node("selector", Exact, SELECTOR)],
    ),
];

/// `pkg/policy/api/fqdn.go` `FQDNSelector`.
const FQDN: &[Field] = &[leaf("matchName", Exact), leaf("matchPattern", Exact)];

/// `pkg/policy/api/icmp.go` `ICMPRule`.
const ICMP: &[Field] = &[node(
    "fields",
    Exact,
    &[leaf("family", Exact), leaf("type", Exact)],
)];

/// `pkg/policy/api/l4.go` `PortProtocol`.
const PORT: &[Field] = &[
    leaf("port", Exact),
    leaf("endPort", Exact),
    leaf("protocol", Exact),
];

/// `pkg/policy/api/http.go` `PortRuleHTTP`.
const HTTP: &[Field] = &[
    leaf("method", Exact),
    leaf("path", Exact),
    leaf("host", Exact),
    leaf("headers", Exact),
    node(
        "headerMatches",
        Exact,
        &[
            leaf("name", Exact),
            leaf("value", Exact),
            leaf("mismatch", Exact),
            node(
                "secret",
                Exact,
                &[leaf("name", Exact), leaf("namespace", Exact)],
            ),
        ],
    ),
];

/// `pkg/policy/api/kafka` `PortRule`.
const KAFKA: &[Field] = &[
    leaf("apiKey", Exact),
    leaf("apiVersion", Exact),
    leaf("clientID", Exact),
    leaf("role", Exact),
    leaf("topic", Exact),
];

/// `pkg/policy/api/l4.go` `L7Rules`. DNS rules are enforced by the DNS object.
const L7_RULES: &[Field] = &[
    node("http", Status::Gap(&L7_DATAPATH), HTTP),
    node("kafka", Status::Gap(&L7_DATAPATH), KAFKA),
    node("dns", Exact, FQDN),
    leaf("l7proto", Status::Gap(&L7_DATAPATH)),
    leaf("l7", Status::Gap(&L7_DATAPATH)),
];

/// `pkg/policy/api/tls.go` `TLSContext`.
const TLS: &[Field] = &[
    leaf("certificate", Exact),
    leaf("privateKey", Exact),
    leaf("trustedCA", Exact),
    node(
        "secret",
        Exact,
        &[leaf("name", Exact), leaf("namespace", Exact)],
    ),
];

/// `pkg/policy/api/l4.go` `PortRule` (allow rules).
const PORT_RULE: &[Field] = &[
    node("ports", Exact, PORT),
    node("rules", Exact, L7_RULES),
    leaf("serverNames", Status::Gap(&SERVER_NAMES)),
    node(
        "listener",
        Status::Gap(&ENVOY_LISTENER),
        &[
            node(
                "envoyConfig",
                Exact,
                &[leaf("kind", Exact), leaf("name", Exact)],
            ),
            leaf("name", Exact),
            leaf("priority", Exact),
        ],
    ),
    node("terminatingTLS", Status::Gap(&TLS_INTERCEPTION), TLS),
    node("originatingTLS", Status::Gap(&TLS_INTERCEPTION), TLS),
];

/// `PortProtocol` of a deny rule: VRRP and IGMP denies are refused.
const PORT_DENY: &[Field] = &[
    leaf("port", Exact),
    leaf("endPort", Exact),
    Field {
        name: "protocol",
        status: Exact,
        by_value: &[
            ("VRRP", Status::Gap(&VRRP_IGMP_DENY)),
            ("IGMP", Status::Gap(&VRRP_IGMP_DENY)),
        ],
        children: Children::None,
    },
];

/// `pkg/policy/api/l4.go` `PortDenyRule`.
const PORT_DENY_RULE: &[Field] = &[node("ports", Exact, PORT_DENY)];

/// `pkg/policy/api/rule.go` `Authentication`; `mode: required` needs Cilium's mutual auth.
const AUTHENTICATION: Field = Field {
    name: "authentication",
    status: Exact,
    by_value: &[],
    children: Children::Fields(&[Field {
        name: "mode",
        status: Exact,
        by_value: &[("required", Status::Gap(&MUTUAL_AUTH))],
        children: Children::None,
    }]),
};

/// `pkg/policy/api/ingress.go` `IngressRule`.
const INGRESS: &[Field] = &[
    node("fromEndpoints", Exact, SELECTOR),
    leaf("fromRequires", Exact),
    leaf("fromCIDR", Exact),
    node("fromCIDRSet", Exact, CIDR_ALLOW),
    leaf("fromEntities", Exact),
    node("fromGroups", Status::Gap(&RUNTIME_PEER), GROUP),
    node("fromNodes", Exact, SELECTOR),
    node("icmps", Exact, ICMP),
    node("toPorts", Exact, PORT_RULE),
    AUTHENTICATION,
];

/// `pkg/policy/api/ingress.go` `IngressDenyRule`.
const INGRESS_DENY: &[Field] = &[
    node("fromEndpoints", Exact, SELECTOR),
    leaf("fromRequires", Exact),
    leaf("fromCIDR", Exact),
    node("fromCIDRSet", Exact, CIDR_DENY),
    leaf("fromEntities", Exact),
    node("fromGroups", Status::Gap(&RUNTIME_PEER_DENY), GROUP),
    node("fromNodes", Exact, SELECTOR),
    node("icmps", Exact, ICMP),
    node("toPorts", Exact, PORT_DENY_RULE),
];

/// `pkg/policy/api/egress.go` `EgressRule`.
const EGRESS: &[Field] = &[
    node("toEndpoints", Exact, SELECTOR),
    leaf("toRequires", Exact),
    leaf("toCIDR", Exact),
    node("toCIDRSet", Exact, CIDR_ALLOW),
    leaf("toEntities", Exact),
    node("toServices", Status::Gap(&RUNTIME_PEER), SERVICE),
    node("toFQDNs", Exact, FQDN),
    node("toGroups", Status::Gap(&RUNTIME_PEER), GROUP),
    node("toNodes", Exact, SELECTOR),
    node("icmps", Exact, ICMP),
    node("toPorts", Exact, PORT_RULE),
    AUTHENTICATION,
];

/// `pkg/policy/api/egress.go` `EgressDenyRule`.
const EGRESS_DENY: &[Field] = &[
    node("toEndpoints", Exact, SELECTOR),
    leaf("toRequires", Exact),
    leaf("toCIDR", Exact),
    node("toCIDRSet", Exact, CIDR_DENY),
    leaf("toEntities", Exact),
    node("toServices", Status::Gap(&RUNTIME_PEER_DENY), SERVICE),
    node("toGroups", Status::Gap(&RUNTIME_PEER_DENY), GROUP),
    node("toNodes", Exact, SELECTOR),
    node("icmps", Exact, ICMP),
    node("toPorts", Exact, PORT_DENY_RULE),
];

/// `pkg/policy/api/rule.go` `Rule`.
pub const CILIUM_RULE: &[Field] = &[
    node("endpointSelector", Exact, SELECTOR),
    node("nodeSelector", Status::Gap(&HOST_POLICY), SELECTOR),
    node("ingress", Exact, INGRESS),
    node("ingressDeny", Exact, INGRESS_DENY),
    node("egress", Exact, EGRESS),
    node("egressDeny", Exact, EGRESS_DENY),
    node(
        "enableDefaultDeny",
        Exact,
        &[leaf("ingress", Exact), leaf("egress", Exact)],
    ),
    node(
        "labels",
        LintOnly,
        &[
            leaf("key", LintOnly),
            leaf("value", LintOnly),
            leaf("source", LintOnly),
        ],
    ),
    leaf("description", LintOnly),
    node("log", Exact, &[leaf("value", Status::Gap(&LOG_VALUE))]),
];

/// A CiliumNetworkPolicy or CiliumClusterwideNetworkPolicy object (the CRDs share the schema).
pub const CILIUM_OBJECT: &[Field] = &[
    leaf("apiVersion", Exact),
    leaf("kind", Exact),
    any("metadata", Exact),
    node("spec", Exact, CILIUM_RULE),
    node("specs", Exact, CILIUM_RULE),
    any("status", LintOnly),
];

// ---------------------------------------------------------------------------------------------
// Kubernetes NetworkPolicy (`k8s.io/api/networking/v1` `NetworkPolicySpec`, parsed by Cilium's
// `pkg/k8s/network_policy.go` `ParseNetworkPolicy`).
// ---------------------------------------------------------------------------------------------

const KNP_PEER: &[Field] = &[
    node("podSelector", Exact, SELECTOR),
    node("namespaceSelector", Exact, SELECTOR),
    node(
        "ipBlock",
        Exact,
        &[leaf("cidr", Exact), leaf("except", Exact)],
    ),
];

const KNP_PORT: &[Field] = &[
    leaf("protocol", Exact),
    leaf("port", Exact),
    leaf("endPort", Exact),
];

const KNP_SPEC: &[Field] = &[
    node("podSelector", Exact, SELECTOR),
    leaf("policyTypes", Exact),
    node(
        "ingress",
        Exact,
        &[
            node("from", Exact, KNP_PEER),
            node("ports", Exact, KNP_PORT),
        ],
    ),
    node(
        "egress",
        Exact,
        &[node("to", Exact, KNP_PEER), node("ports", Exact, KNP_PORT)],
    ),
];

/// A NetworkPolicy object.
pub const KNP_OBJECT: &[Field] = &[
    leaf("apiVersion", Exact),
    leaf("kind", Exact),
    any("metadata", Exact),
    node("spec", Exact, KNP_SPEC),
    any("status", LintOnly),
];

/// The table of an object kind.
#[must_use]
pub fn object_fields(kind: PolicyKind) -> &'static [Field] {
    match kind {
        PolicyKind::NetworkPolicy => KNP_OBJECT,
        _ => CILIUM_OBJECT,
    }
}

/// One use, in a policy object, of a field with a [`Gap`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldUse {
    pub gap: &'static Gap,
    /// The field, its list positions erased: `spec.ingress[].toPorts[].serverNames`.
    pub field: String,
    /// Where it is, with list positions: `spec.ingress[0].toPorts[1].serverNames`.
    pub yaml_path: String,
    /// The key (or, for a value status, the value).
    pub span: Span,
}

/// Every use of a gapped field in one object's YAML mapping, in source order. Unknown fields
/// are not reported here (the schema walk reports them).
#[must_use]
pub fn unenforced_uses(kind: PolicyKind, root: &Node, root_path: &str) -> Vec<FieldUse> {
    let mut uses = Vec::new();
    walk_map(object_fields(kind), root, root_path, root_path, &mut uses);
    uses
}

/// Is `field_use` a runtime peer (`toServices`, `cidrGroupRef`, `cidrGroupSelector`) that the
/// inventory resolved, i.e. none of the `unresolved` peer entries (YAML paths the lowering
/// reports, `spec.egress[0].toServices[1]`) lies under or above it? Such a use means exactly
/// what it means in Cilium and is no gap. `toGroups`/`fromGroups` never resolve.
#[must_use]
pub fn resolved_runtime_peer(field_use: &FieldUse, unresolved: &[String]) -> bool {
    let runtime =
        field_use.gap.code == RUNTIME_PEER.code || field_use.gap.code == RUNTIME_PEER_DENY.code;
    let resolvable = ["toServices", "cidrGroupRef", "cidrGroupSelector"]
        .iter()
        .any(|f| field_use.field.ends_with(f));
    let related = |a: &str, b: &str| {
        a.strip_prefix(b)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
    };
    runtime
        && resolvable
        && !unresolved
            .iter()
            .any(|p| related(p, &field_use.yaml_path) || related(&field_use.yaml_path, p))
}

fn join_path(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn walk_map(
    fields: &'static [Field],
    node: &Node,
    field_path: &str,
    yaml_path: &str,
    uses: &mut Vec<FieldUse>,
) {
    let Some(entries) = node.map_entries() else {
        return;
    };
    for (key, value) in entries {
        let Some(name) = key.as_str() else { continue };
        if value.is_null() {
            continue;
        }
        let Some(field) = fields.iter().find(|f| f.name == name) else {
            continue;
        };
        let field_path = join_path(field_path, name);
        let yaml_path = join_path(yaml_path, name);
        let by_value = value.as_str().and_then(|v| {
            field
                .by_value
                .iter()
                .find(|(w, _)| w.eq_ignore_ascii_case(v))
        });
        let (status, span) = match by_value {
            Some((_, status)) => (*status, value.span),
            None => (field.status, key.span),
        };
        if let Status::Gap(gap) = status {
            uses.push(FieldUse {
                gap,
                field: field_path.clone(),
                yaml_path: yaml_path.clone(),
                span,
            });
        }
        let Children::Fields(children) = field.children else {
            continue;
        };
        match &value.kind {
            NodeKind::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk_map(
                        children,
                        item,
                        &format!("{field_path}[]"),
                        &format!("{yaml_path}[{i}]"),
                        uses,
                    );
                }
            }
            _ => walk_map(children, value, &field_path, &yaml_path, uses),
        }
    }
}

#[cfg(test)]
#[path = "field_status_tests.rs"]
mod tests;
