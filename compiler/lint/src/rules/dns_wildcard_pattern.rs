//! PC0318: a DNS rule `matchPattern: "*"` lets the selected endpoints look up any name (DNS
//! tunnelling and exfiltration stay open), and a `toFQDNs` `matchPattern: "*"` allows egress to
//! every address any DNS answer returns — in effect to most of the Internet on those ports.

use crate::context::LintContext;
use crate::walk::{port_rules, rule_items};
use crate::yaml_ext::NodeExt;
use policyc_diagnostics::{codes, Finding};
use policyc_frontend::yaml::Node;

fn is_match_all(entry: &Node) -> Option<&Node> {
    entry
        .get("matchPattern")
        .filter(|p| p.as_str().is_some_and(|s| s.trim() == "*"))
}

pub fn check(ctx: &LintContext<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for object in ctx.valid_objects().filter(|o| o.is_cilium()) {
        for item in rule_items(object) {
            if item.section != "egress" {
                continue;
            }
            for (pr_path, port_rule) in port_rules(item.node) {
                let dns = port_rule
                    .get("rules")
                    .and_then(|r| r.get("dns"))
                    .map(NodeExt::items)
                    .unwrap_or_default();
                for (i, entry) in dns.iter().enumerate() {
                    let Some(pattern) = is_match_all(entry) else {
                        continue;
                    };
                    findings.push(
                        Finding::new(
                            &codes::DNS_WILDCARD_PATTERN,
                            "DNS rule `matchPattern: \"*\"` allows looking up any name",
                        )
                        .at(pattern.value_span(), "every DNS question is allowed and its answers are learnt")
                        .help(
                            "list the names the endpoints resolve (`matchName: api.example.com`, \
`matchPattern: \"*.example.com\"`, `\"*.*.svc.cluster.local\"` for in-cluster names); a wildcard keeps \
DNS tunnelling open",
                        )
                        .context(LintContext::object_context(
                            object,
                            &format!("{}.{pr_path}.rules.dns[{i}].matchPattern", item.path),
                        )),
                    );
                }
            }
            for (i, entry) in item
                .node
                .get("toFQDNs")
                .map(NodeExt::items)
                .unwrap_or_default()
                .iter()
                .enumerate()
            {
                let Some(pattern) = is_match_all(entry) else {
                    continue;
                };
                findings.push(
                    Finding::new(
                        &codes::DNS_WILDCARD_PATTERN,
                        "`toFQDNs` `matchPattern: \"*\"` allows egress to any address a DNS answer returns",
                    )
                    .at(pattern.value_span(), "every resolvable destination is allowed")
                    .help("name the destinations (`matchName`, or a pattern under one domain such as `\"*.example.com\"`)")
                    .context(LintContext::object_context(
                        object,
                        &format!("{}.toFQDNs[{i}].matchPattern", item.path),
                    )),
                );
            }
        }
    }
    findings
}
