//! Whole-inventory checks: duplicate endpoints, addresses used twice, endpoints in namespaces
//! the inventory does not list.

use super::Inventory;
use policyc_diagnostics::source::Span;
use policyc_diagnostics::{codes, did_you_mean, Finding};
use std::collections::BTreeMap;
use std::net::IpAddr;

fn at(f: Finding, span: Option<Span>, label: &str) -> Finding {
    match span {
        Some(s) => f.at(s, label),
        None => f,
    }
}

fn related(f: Finding, span: Option<Span>, label: &str) -> Finding {
    match span {
        Some(s) => f.related(s, label),
        None => f,
    }
}

pub fn validate(inv: &Inventory, findings: &mut Vec<Finding>) {
    let mut seen: BTreeMap<(&str, &str), Option<Span>> = BTreeMap::new();
    for ep in &inv.endpoints {
        if let Some(first) = seen.insert((&ep.namespace, &ep.name), ep.span) {
            let f = Finding::error(
                &codes::DUPLICATE_ENDPOINT,
                format!("endpoint `{}/{}` is defined twice", ep.namespace, ep.name),
            );
            findings.push(related(
                at(f, ep.span, "second definition"),
                first,
                "first definition",
            ));
        }
    }
    let mut owners: BTreeMap<IpAddr, (String, Option<Span>)> = BTreeMap::new();
    let named = inv
        .nodes
        .iter()
        .flat_map(|n| {
            n.ips
                .iter()
                .zip(n.ip_spans.iter())
                .map(move |(ip, s)| (*ip, format!("node {}", n.name), *s))
        })
        .chain(inv.endpoints.iter().flat_map(|e| {
            e.ips
                .iter()
                .zip(e.ip_spans.iter())
                .map(move |(ip, s)| (*ip, format!("endpoint {}/{}", e.namespace, e.name), *s))
        }));
    for (ip, owner, span) in named {
        match owners.get(&ip) {
            Some((first, first_span)) if *first != owner => {
                let f = Finding::error(
                    &codes::DUPLICATE_ADDRESS,
                    format!("address {ip} is used by both {first} and {owner}"),
                );
                findings.push(related(at(f, span, "second use"), *first_span, "first use"));
            }
            Some(_) => {}
            None => {
                owners.insert(ip, (owner, span));
            }
        }
    }
    if !inv.namespaces.is_empty() {
        let names: Vec<&str> = inv.namespaces.keys().map(String::as_str).collect();
        for ep in &inv.endpoints {
            if inv.namespaces.contains_key(&ep.namespace) {
                continue;
            }
            let mut f = Finding::error(
                &codes::UNKNOWN_NAMESPACE,
                format!(
                    "endpoint `{}/{}` is in namespace `{}`, which the inventory does not list",
                    ep.namespace, ep.name, ep.namespace
                ),
            );
            f = at(f, ep.namespace_span.or(ep.span), "unknown namespace");
            f = f.help(
                did_you_mean(&ep.namespace, names.iter().copied())
                    .unwrap_or_else(|| format!("listed namespaces: {}", names.join(", "))),
            );
            findings.push(f);
        }
    }
}
