//! Cilium's `Sanitize`/`Validate` rules (`pkg/policy/api/rule_validation.go`, `l4.go`) over the
//! typed syntax tree of one CNP/CCNP rule: the cross-field checks that the schema walk cannot
//! make on one value alone. Every violated rule is reported, not just the first.

use crate::ast::{PeerItem, PeerRule, PortRule, PortValue, Rule, SectionKind};
use crate::schema::{join, Walker};
use policyc_diagnostics::codes::{
    DNS_RULE_ON_INGRESS, DNS_RULE_PORT, EXCEPT_OUTSIDE_CIDR, ICMPS_WITH_TO_PORTS,
    INVALID_LOG_VALUE, INVALID_PORT, INVALID_SERVER_NAME, L7_ON_HOST_POLICY, L7_ON_WILDCARD_PORT,
    L7_PROTOCOL, LISTENER_MISUSE, MIXED_PEER_KINDS, MULTIPLE_L7_KINDS, NODE_SELECTOR_IN_CNP,
    NOT_ENFORCED, PROTOCOL_PORT_MISMATCH, RULE_WITHOUT_DIRECTION, SUBJECT_NAMESPACE_IGNORED,
    SUBJECT_SELECTOR, TOO_MANY_PORTS,
};
use policyc_diagnostics::Finding;
use policyc_ir::labels::POD_NAMESPACE_KEY;
use policyc_ir::{Direction, Operator, PolicyKind, Protocol};

/// Maximum `ports` per `toPorts` entry and `fields` per `icmps` entry.
pub const MAX_PORTS: usize = 40;

/// Checks one CNP/CCNP rule; findings go to `walker`.
pub fn validate_rule(walker: &mut Walker, kind: PolicyKind, namespace: Option<&str>, rule: &Rule) {
    subject(walker, kind, namespace, rule);
    if rule.sections.is_empty() {
        let at = rule
            .endpoint_selector
            .as_ref()
            .or(rule.node_selector.as_ref())
            .map_or(rule.span, |s| s.span);
        walker.report(
            &rule.path,
            Finding::error(&RULE_WITHOUT_DIRECTION, "this rule has none of `ingress`, `ingressDeny`, `egress`, `egressDeny`")
                .at(at, "rule without any direction")
                .help("Cilium rejects such a rule even with `enableDefaultDeny`; use `ingress: [{}]` / `egress: [{}]` to only enable default deny"),
        );
    }
    for section in &rule.sections {
        for item in &section.items {
            peer_rule(walker, item);
            if rule.node_selector.is_some() {
                host_policy_l7(walker, item);
            }
        }
    }
    if let Some(log) = &rule.log {
        let printable = log.value.chars().all(|c| c.is_ascii_graphic() || c == ' ');
        if log.value.chars().count() > 32 || !printable {
            walker.report(
                &join(&rule.path, "log.value"),
                Finding::error(
                    &INVALID_LOG_VALUE,
                    format!(
                        "`log.value` must be at most 32 printable characters (this one has {})",
                        log.value.chars().count()
                    ),
                )
                .at(log.span, "invalid log value"),
            );
        }
    }
}

fn subject(walker: &mut Walker, kind: PolicyKind, namespace: Option<&str>, rule: &Rule) {
    match (&rule.endpoint_selector, &rule.node_selector) {
        (None, None) => walker.report(
            &rule.path,
            Finding::error(
                &SUBJECT_SELECTOR,
                "the rule selects no subjects: it needs `endpointSelector` or `nodeSelector`",
            )
            .at(rule.span, "no subject selector")
            .help("`endpointSelector: {}` selects every pod of the namespace"),
        ),
        (Some(ep), Some(node)) => walker.report(
            &rule.path,
            Finding::error(
                &SUBJECT_SELECTOR,
                "`endpointSelector` and `nodeSelector` cannot be used in the same rule",
            )
            .at(node.span, "`nodeSelector` given here")
            .secondary(ep.span, "`endpointSelector` given here"),
        ),
        _ => {}
    }
    if let (PolicyKind::CiliumNetworkPolicy, Some(node)) = (kind, &rule.node_selector) {
        walker.report(
            &join(&rule.path, "nodeSelector"),
            Finding::error(
                &NODE_SELECTOR_IN_CNP,
                "`nodeSelector` is not allowed in a CiliumNetworkPolicy",
            )
            .at(node.span, "host policy in a namespaced policy")
            .help("host policies must be CiliumClusterwideNetworkPolicy objects"),
        );
    }
    if let (Some(ns), Some(sel)) = (namespace, &rule.endpoint_selector) {
        let other = sel.value.requirements().find(|r| {
            r.key.key == POD_NAMESPACE_KEY
                && !(r.operator == Operator::In && r.values.len() == 1 && r.values.contains(ns))
        });
        if let Some(req) = other {
            walker.report(
                &join(&rule.path, "endpointSelector"),
                Finding::warning(
                    &SUBJECT_NAMESPACE_IGNORED,
                    format!("the endpointSelector requirement `{req}` is replaced by the policy namespace `{ns}`"),
                )
                .at(sel.span, format!("only pods of namespace `{ns}` are selected")),
            );
        }
    }
}

fn peer_rule(walker: &mut Walker, item: &PeerRule) {
    // One L3 peer kind per rule (toFQDNs counts); empty lists do not count (`len() > 0`).
    let kinds: Vec<_> = item
        .peer_fields
        .iter()
        .filter(|f| !f.items.is_empty())
        .collect();
    if let [first, rest @ ..] = kinds.as_slice() {
        for other in rest.iter().filter(|f| f.kind != first.kind) {
            walker.report(
                &join(&item.path, &other.key),
                Finding::error(
                    &MIXED_PEER_KINDS,
                    format!("combining `{}` and `{}` in one rule is not supported", first.key, other.key),
                )
                .at(other.key_span, format!("`{}` here", other.key))
                .secondary(first.key_span, format!("first peer kind `{}`", first.key))
                .help("split this into two rules, one per peer kind; rules of the same direction are ORed"),
            );
        }
    }
    for field in &item.peer_fields {
        for peer in &field.items {
            if let PeerItem::CidrRule { cidr, except } = &peer.value {
                for ex in except {
                    if !cidr.value.contains(&ex.value) {
                        walker.report(
                            &item.path,
                            Finding::error(
                                &EXCEPT_OUTSIDE_CIDR,
                                format!(
                                    "except `{}` is not inside cidr `{}`",
                                    ex.value, cidr.value
                                ),
                            )
                            .at(ex.span, "outside the cidr")
                            .secondary(cidr.span, "the cidr"),
                        );
                    }
                }
            }
        }
    }
    let to_ports = item.to_ports.as_ref().filter(|p| !p.value.is_empty());
    let icmps = item.icmps.as_ref().filter(|i| !i.value.is_empty());
    if let (Some(ports), Some(icmps)) = (to_ports, icmps) {
        walker.report(
            &item.path,
            Finding::error(
                &ICMPS_WITH_TO_PORTS,
                "a rule cannot have both `icmps` and `toPorts`",
            )
            .at(icmps.span, "`icmps` here")
            .secondary(ports.span, "`toPorts` here")
            .help("write two rules with the same peers: one with `toPorts`, one with `icmps`"),
        );
    }
    if let Some(ports) = &item.to_ports {
        for (i, rule) in ports.value.iter().enumerate() {
            port_rule(
                walker,
                &format!("{}.toPorts[{i}]", item.path),
                item.kind,
                rule,
            );
        }
    }
}

fn port_rule(walker: &mut Walker, path: &str, kind: SectionKind, rule: &PortRule) {
    let ports = rule
        .ports
        .as_ref()
        .map(|p| p.value.as_slice())
        .unwrap_or_default();
    if let Some(list) = &rule.ports {
        if list.value.len() > MAX_PORTS {
            walker.report(
                &join(path, "ports"),
                Finding::error(
                    &TOO_MANY_PORTS,
                    format!(
                        "{} ports given; Cilium allows at most {MAX_PORTS} per `toPorts` entry",
                        list.value.len()
                    ),
                )
                .at(list.span, "too many ports")
                .help("split the list over several `toPorts` entries, or use `endPort` ranges"),
            );
        }
    }
    for (i, port) in ports.iter().enumerate().filter(|(_, p)| !p.invalid) {
        let port_path = format!("{path}.ports[{i}]");
        let protocol = port.protocol();
        match &port.port {
            None if !matches!(protocol, Protocol::Vrrp | Protocol::Igmp) => walker.report(
                &port_path,
                Finding::error(&INVALID_PORT, "`port` must be specified")
                    .at(port.span, "no `port`")
                    .help("use `port: \"0\"` to allow every port of the protocol"),
            ),
            Some(p)
                if matches!(protocol, Protocol::Vrrp | Protocol::Igmp)
                    && p.value != PortValue::Number(0) =>
            {
                walker.report(
                    &join(&port_path, "port"),
                    Finding::error(
                        &PROTOCOL_PORT_MISMATCH,
                        format!("{protocol} has no ports; `port` must be empty or 0"),
                    )
                    .at(p.span, "port given"),
                );
            }
            _ => {}
        }
    }
    let l7 = rule.rules.as_ref();
    let kinds = l7.map(|r| r.value.kinds()).unwrap_or_default();
    if let [(first, first_span), rest @ ..] = kinds.as_slice() {
        for (other, span) in rest {
            walker.report(
                &join(path, "rules"),
                Finding::error(
                    &MULTIPLE_L7_KINDS,
                    format!("`{first}` and `{other}` rules cannot share one port rule"),
                )
                .at(*span, format!("`{other}` here"))
                .secondary(*first_span, format!("`{first}` here"))
                .help("use one `toPorts` entry per L7 protocol"),
            );
        }
    }
    let has_l7 = !kinds.is_empty();
    let dns = l7.and_then(|r| r.value.dns.as_ref());
    if let Some(dns) = dns {
        if kind.direction() == Direction::Ingress {
            walker.report(
                &join(path, "rules.dns"),
                Finding::error(&DNS_RULE_ON_INGRESS, "DNS rules are not allowed on ingress")
                    .at(dns.span, "DNS rule in an ingress rule")
                    .help("DNS rules inspect the queries a pod sends; put them in an `egress` rule toward the DNS server"),
            );
        }
        if ports.is_empty() {
            walker.report(
                &join(path, "rules.dns"),
                Finding::error(&DNS_RULE_PORT, "DNS rules need an explicit port (53)")
                    .at(dns.span, "no `ports` for these DNS rules")
                    .help("add `ports: [{port: \"53\", protocol: ANY}]`"),
            );
        }
        for port in ports.iter().filter(|p| !p.invalid) {
            let protocol = port.protocol();
            if !matches!(protocol, Protocol::Udp | Protocol::Tcp | Protocol::Any) {
                let at = port.protocol.as_ref().map_or(port.span, |p| p.span);
                walker.report(
                    &join(path, "ports"),
                    Finding::error(
                        &L7_PROTOCOL,
                        format!("DNS rules need UDP, TCP or ANY, not {protocol}"),
                    )
                    .at(at, "not a DNS transport")
                    .secondary(dns.span, "DNS rules"),
                );
            }
            if let (Some(end), Some(p)) = (&port.end_port, &port.port) {
                if matches!(p.value, PortValue::Number(start) if end.value > start) {
                    walker.report(
                        &join(path, "ports"),
                        Finding::error(&DNS_RULE_PORT, "DNS rules do not support port ranges")
                            .at(end.span, "`endPort` with DNS rules")
                            .secondary(dns.span, "DNS rules"),
                    );
                }
            }
        }
    }
    if has_l7 {
        let (first_kind, first_span) = kinds[0];
        if ports.iter().any(|p| {
            p.port
                .as_ref()
                .is_some_and(|v| v.value == PortValue::Number(0))
        }) {
            let at = ports
                .iter()
                .find_map(|p| p.port.as_ref().filter(|v| v.value == PortValue::Number(0)))
                .map(|v| v.span);
            walker.report(
                &join(path, "ports"),
                Finding::error(
                    &L7_ON_WILDCARD_PORT,
                    "L7 rules cannot be used when a port is 0 (all ports)",
                )
                .at(at.unwrap_or(first_span), "port 0")
                .secondary(first_span, format!("`{first_kind}` rules")),
            );
        }
        if dns.is_none() {
            for port in ports.iter().filter(|p| !p.invalid) {
                let protocol = port.protocol();
                if protocol != Protocol::Tcp {
                    let at = port.protocol.as_ref().map_or(port.span, |p| p.span);
                    walker.report(
                        &join(path, "ports"),
                        Finding::error(
                            &L7_PROTOCOL,
                            format!(
                                "L7 `{first_kind}` rules can only apply to TCP, not {protocol}"
                            ),
                        )
                        .at(
                            at,
                            if port.protocol.is_some() {
                                "not TCP".to_string()
                            } else {
                                "no protocol means ANY".to_string()
                            },
                        )
                        .secondary(first_span, format!("`{first_kind}` rules"))
                        .help("set `protocol: TCP` on every port of a port rule with L7 rules"),
                    );
                }
            }
        }
    }
    if let Some(names) = &rule.server_names {
        if has_l7 && !names.value.is_empty() && rule.terminating_tls.is_none() {
            walker.report(
                &join(path, "serverNames"),
                Finding::error(
                    &INVALID_SERVER_NAME,
                    "`serverNames` with L7 rules needs `terminatingTLS`",
                )
                .at(names.span, "server names")
                .help("the proxy can only apply L7 rules to TLS traffic it terminates"),
            );
        }
    }
    if let Some(listener) = rule.listener {
        if kind.direction() == Direction::Ingress {
            walker.report(
                &join(path, "listener"),
                Finding::error(&LISTENER_MISUSE, "`listener` is not allowed on ingress")
                    .at(listener, "listener on ingress"),
            );
        }
        if has_l7 {
            walker.report(
                &join(path, "listener"),
                Finding::error(
                    &LISTENER_MISUSE,
                    "`listener` cannot be combined with L7 `rules`",
                )
                .at(listener, "listener with L7 rules"),
            );
        }
    }
    let unenforced: Vec<(&str, _)> = [
        // `listener` and `serverNames` are refused gaps of the field status table (lint PC0320,
        // `policyc build` refuses them); TLS interception is an approximated one, reported here.
        ("terminatingTLS", rule.terminating_tls),
        ("originatingTLS", rule.originating_tls),
    ]
    .into_iter()
    .filter_map(|(name, span)| span.map(|s| (name, s)))
    .collect();
    if let Some((name, span)) = unenforced.first() {
        let names: Vec<_> = unenforced.iter().map(|(n, _)| format!("`{n}`")).collect();
        walker.report(
            &join(path, name),
            Finding::warning(
                &NOT_ENFORCED,
                format!("{} parsed but not enforced by policyc", names.join(", ")),
            )
            .at(*span, "handled by Cilium's Envoy integration"),
        );
    }
}

/// Host policies: no L7 on ingress, only DNS on egress (`rule_validation.go`).
fn host_policy_l7(walker: &mut Walker, item: &PeerRule) {
    let Some(ports) = &item.to_ports else { return };
    for (i, rule) in ports.value.iter().enumerate() {
        let Some(l7) = &rule.rules else { continue };
        for (kind, span) in l7.value.kinds() {
            let allowed = kind == "dns" && item.kind.direction() == Direction::Egress;
            if !allowed {
                let direction = item.kind.direction();
                walker.report(
                    &format!("{}.toPorts[{i}].rules", item.path),
                    Finding::error(&L7_ON_HOST_POLICY, format!("`{kind}` rules are not supported on host {direction}"))
                        .at(span, "L7 rules in a host policy")
                        .help("host policies support only DNS rules on egress; apply L7 rules to pods with `endpointSelector`"),
                );
            }
        }
    }
}

/// `fromNodes`/`toNodes` are rejected unless the agent runs with `enable-node-selector-labels`
/// (`cilium:pkg/policy/api/rule_validation.go` `ErrFromToNodesRequiresNodeSelectorOption`, in
/// `IngressCommonRule.sanitize`/`EgressCommonRule.sanitize`): the whole policy is invalid.
pub fn node_peers_enabled(walker: &mut Walker, rule: &Rule, enabled: bool) {
    if enabled {
        return;
    }
    for section in &rule.sections {
        for item in &section.items {
            for field in item
                .peer_fields
                .iter()
                .filter(|f| f.kind == crate::ast::PeerKind::Nodes)
            {
                walker.report(
                    &join(&item.path, &field.key),
                    Finding::error(
                        &policyc_diagnostics::codes::NODE_PEERS_DISABLED,
                        format!(
                            "`{}` needs Cilium's `enable-node-selector-labels` (off by default): without it Cilium rejects this policy",
                            field.key
                        ),
                    )
                    .at(field.key_span, "rejected by Cilium without enable-node-selector-labels")
                    .help("set `enableNodeSelectorLabels: true` in the inventory if the cluster runs with that option, or use `fromEntities`/`toEntities: [remote-node]`"),
                );
            }
        }
    }
}
