//! PC0305 (needs `--inventory`): a CIDR peer (`toCIDR`, `fromCIDRSet`, KNP `ipBlock`) that
//! contains pod or node addresses — CIDR rules never match pods or nodes in Cilium.

use crate::context::{ClusterAddresses, LintContext};
use crate::yaml_ext::NodeExt;
use policyc_diagnostics::{codes, Finding};
use policyc_ir::{Peer, PeerSet, Prefix};

/// The cluster addresses inside `prefix` and outside every `except`.
fn covered<'c>(
    cluster: &'c ClusterAddresses,
    prefix: &Prefix,
    except: &[Prefix],
) -> Vec<&'c (std::net::IpAddr, String)> {
    cluster
        .addresses
        .iter()
        .filter(|(ip, _)| prefix.contains_addr(ip) && !except.iter().any(|e| e.contains_addr(ip)))
        .collect()
}

pub fn check(ctx: &LintContext<'_>) -> Vec<Finding> {
    let Some(cluster) = ctx.input.cluster else {
        return Vec::new();
    };
    let mut findings = Vec::new();
    for rule in ctx.rules() {
        let PeerSet::Some(peers) = &rule.peers else {
            continue;
        };
        for peer in peers {
            let Peer::Cidr { prefix, except } = peer else {
                continue;
            };
            // 0.0.0.0/0 and ::/0 are the usual way to say "the Internet"; they are not a mistake.
            if prefix.is_default_route() {
                continue;
            }
            let hits = covered(cluster, prefix, except);
            let Some((first_ip, first_what)) = hits.first() else {
                continue;
            };
            let Some(rule_span) = ctx.rule_span(rule) else {
                continue;
            };
            let span = ctx
                .rule_node(rule)
                .and_then(|node| {
                    let text = prefix.to_string();
                    node.find_scalar(&|s| {
                        s == text || Prefix::parse_lenient(s).is_ok_and(|p| p == *prefix)
                    })
                    .map(|n| n.span)
                })
                .unwrap_or(rule_span);
            let more = if hits.len() > 1 {
                format!(" and {} more", hits.len() - 1)
            } else {
                String::new()
            };
            findings.push(
                Finding::new(
                    &codes::CIDR_MATCHES_CLUSTER_ADDRESSES,
                    format!("`{prefix}` covers cluster addresses ({first_ip} = {first_what}{more}), but CIDR rules never match pods or nodes"),
                )
                .at(span, format!("{} pod/node address(es) of the inventory fall in this range", hits.len()))
                .help("select pods with `toEndpoints`/`fromEndpoints` (KNP: `podSelector`/`namespaceSelector`) and nodes with the `host`/`remote-node` entities")
                .context(ctx.rule_context(rule)),
            );
        }
    }
    findings
}
