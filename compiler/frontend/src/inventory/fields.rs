//! Reading typed values out of the spanned YAML tree, reporting mistakes as findings.

use crate::yaml::{Node, NodeKind};
use policyc_diagnostics::source::Span;
use policyc_diagnostics::{codes, did_you_mean, Finding};
use policyc_ir::universe::NamedPort;
use policyc_ir::Protocol;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// Inventory values are text (names, labels, named ports). The YAML layer holds an integer
/// literal too large for an i64 as a float, whose text is rounded (`20240101123456789012` would
/// become `20240101123456790000`): put such literals back as the string written in `text`, the
/// file the nodes point into.
pub fn huge_integers_as_written(node: &mut Node, text: &str) {
    if matches!(node.kind, NodeKind::Float(_)) {
        let written = text.get(node.span.range()).map(str::trim).unwrap_or("");
        let digits = written.strip_prefix(['-', '+']).unwrap_or(written);
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            node.kind = NodeKind::Str(written.to_string());
        }
        return;
    }
    match &mut node.kind {
        NodeKind::Seq(items) => {
            for item in items {
                huge_integers_as_written(item, text);
            }
        }
        NodeKind::Map(entries) => {
            for (key, value) in entries {
                huge_integers_as_written(key, text);
                huge_integers_as_written(value, text);
            }
        }
        _ => {}
    }
}

/// A scalar as text (numbers and booleans as written), `None` for collections and null.
pub fn scalar_text(node: &Node) -> Option<String> {
    match &node.kind {
        NodeKind::Str(s) => Some(s.clone()),
        NodeKind::Int(i) => Some(i.to_string()),
        NodeKind::Float(f) => Some(f.to_string()),
        NodeKind::Bool(b) => Some(b.to_string()),
        NodeKind::Null | NodeKind::Seq(_) | NodeKind::Map(_) => None,
    }
}

/// A string field; reports a wrong type. `None` when absent or wrong.
pub fn opt_string(map: &Node, key: &str, findings: &mut Vec<Finding>) -> Option<(String, Span)> {
    let node = map.get(key)?;
    if node.is_null() {
        return None;
    }
    match scalar_text(node) {
        Some(s) => Some((s, node.span)),
        None => {
            findings.push(
                Finding::error(
                    &codes::INVALID_INVENTORY,
                    format!("`{key}` must be a string, not a {}", node.type_name()),
                )
                .at(node.span, "expected a string"),
            );
            None
        }
    }
}

/// A required string field.
pub fn req_string(
    map: &Node,
    key: &str,
    what: &str,
    findings: &mut Vec<Finding>,
) -> Option<(String, Span)> {
    let value = opt_string(map, key, findings);
    if value.is_none() && map.get(key).is_none_or(Node::is_null) {
        findings.push(
            Finding::error(&codes::INVALID_INVENTORY, format!("{what} without `{key}`"))
                .at(map.span, format!("`{key}` is required here")),
        );
    }
    value.filter(|(s, _)| !s.is_empty())
}

/// A `{key: value}` mapping of strings (labels).
pub fn string_map(node: Option<&Node>, findings: &mut Vec<Finding>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Some(node) = node.filter(|n| !n.is_null()) else {
        return out;
    };
    let Some(entries) = node.map_entries() else {
        findings.push(
            Finding::error(
                &codes::INVALID_INVENTORY,
                format!("expected a mapping, found a {}", node.type_name()),
            )
            .at(node.span, "expected `key: value` pairs"),
        );
        return out;
    };
    for (k, v) in entries {
        match (
            scalar_text(k),
            v.is_null().then(String::new).or_else(|| scalar_text(v)),
        ) {
            (Some(k), Some(v)) => {
                out.insert(k, v);
            }
            _ => findings.push(
                Finding::error(
                    &codes::INVALID_INVENTORY,
                    "label keys and values must be strings",
                )
                .at(v.span, "expected a string"),
            ),
        }
    }
    out
}

/// A sequence field (absent or null = empty).
pub fn seq<'n>(map: &'n Node, key: &str, findings: &mut Vec<Finding>) -> &'n [Node] {
    match map.get(key) {
        None => &[],
        Some(n) if n.is_null() => &[],
        Some(n) => n.as_seq().unwrap_or_else(|| {
            findings.push(
                Finding::error(
                    &codes::INVALID_INVENTORY,
                    format!("`{key}` must be a list, not a {}", n.type_name()),
                )
                .at(n.span, "expected a list"),
            );
            &[]
        }),
    }
}

/// An IP address (no prefix length).
pub fn ip(node: &Node, findings: &mut Vec<Finding>) -> Option<IpAddr> {
    let text = scalar_text(node);
    match text.as_deref().map(str::parse::<IpAddr>) {
        Some(Ok(ip)) => Some(ip),
        _ => {
            let shown = text.unwrap_or_else(|| node.type_name().to_string());
            findings.push(
                Finding::error(
                    &codes::INVALID_ADDRESS,
                    format!("`{shown}` is not an IP address"),
                )
                .at(
                    node.span,
                    "expected an IPv4 or IPv6 address such as 198.18.1.10 or fd00::10",
                ),
            );
            None
        }
    }
}

/// Rejects keys outside `allowed`, suggesting the closest one.
pub fn check_keys(map: &Node, allowed: &[&str], what: &str, findings: &mut Vec<Finding>) {
    let Some(entries) = map.map_entries() else {
        findings.push(
            Finding::error(
                &codes::INVALID_INVENTORY,
                format!("{what} must be a mapping, not a {}", map.type_name()),
            )
            .at(map.span, "expected a mapping"),
        );
        return;
    };
    for (k, _) in entries {
        let Some(key) = k.as_str() else { continue };
        if !allowed.contains(&key) {
            let mut f = Finding::error(
                &codes::INVALID_INVENTORY,
                format!("unknown field `{key}` in {what}"),
            )
            .at(k.span, "not a field of the inventory format");
            f = match did_you_mean(key, allowed.iter().copied()) {
                Some(hint) => f.help(hint),
                None => f.help(format!("allowed fields: {}", allowed.join(", "))),
            };
            findings.push(f);
        }
    }
}

/// Parses `8080/TCP` (or a bare number = TCP).
pub fn parse_named_port(text: &str) -> Option<NamedPort> {
    let (port, proto) = match text.split_once('/') {
        Some((p, proto)) => (p, Protocol::parse(proto)?),
        None => (text, Protocol::Tcp),
    };
    let port: u16 = port.trim().parse().ok().filter(|p| *p != 0)?;
    proto.has_ports().then_some(NamedPort {
        port,
        protocol: proto,
    })
}

/// Port names: 1–15 characters of letters, digits and `-` (IANA service name rules, relaxed).
pub fn valid_port_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 15
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && name.chars().any(|c| c.is_ascii_alphabetic())
}

/// A `name: 8080/TCP` entry of `namedPorts`.
pub fn named_port(
    key: &Node,
    value: &Node,
    findings: &mut Vec<Finding>,
) -> Option<(String, NamedPort)> {
    let name = scalar_text(key).unwrap_or_default();
    if !valid_port_name(&name) {
        findings.push(
            Finding::error(
                &codes::INVALID_NAMED_PORT,
                format!("`{name}` is not a valid port name"),
            )
            .at(
                key.span,
                "1-15 letters, digits and `-`, with at least one letter",
            ),
        );
        return None;
    }
    let text = scalar_text(value).unwrap_or_default();
    match parse_named_port(&text) {
        Some(np) => Some((name.to_ascii_lowercase(), np)),
        None => {
            findings.push(
                Finding::error(
                    &codes::INVALID_NAMED_PORT,
                    format!("named port `{name}: {text}` is not `port/PROTOCOL`"),
                )
                .at(
                    value.span,
                    "expected e.g. `8080/TCP` (TCP, UDP or SCTP, port 1-65535)",
                ),
            );
            None
        }
    }
}
