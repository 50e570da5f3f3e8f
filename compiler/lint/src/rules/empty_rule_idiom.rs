//! PC0303: `ingress: [{}]` / `egress: [{}]` — deny-all in a Cilium policy, allow-all in a
//! Kubernetes NetworkPolicy; the note says which meaning applies to this object.

use crate::context::LintContext;
use crate::walk::rule_items;
use crate::yaml_ext::NodeExt;
use policyc_diagnostics::{codes, Finding};

pub fn check(ctx: &LintContext<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for object in ctx.valid_objects() {
        for item in rule_items(object)
            .into_iter()
            .filter(|i| i.node.is_empty_mapping())
        {
            let direction = if item.section.starts_with("ingress") {
                "ingress"
            } else {
                "egress"
            };
            let (message, label, help) = if !object.is_cilium() {
                (
                    format!(
                        "`{}: [{{}}]` allows all {direction} in a Kubernetes NetworkPolicy",
                        item.section
                    ),
                    "an empty rule matches every peer on every port here".to_string(),
                    format!(
                        "in a CiliumNetworkPolicy the same text would deny all {direction}; to deny all here, use \
`policyTypes: [{}]` with no `{direction}` rules",
                        capitalize(direction)
                    ),
                )
            } else if item.section.ends_with("Deny") {
                (
                    format!(
                        "`{}: [{{}}]` denies nothing: an empty deny rule selects no peer",
                        item.section
                    ),
                    "an empty rule selects no peer".to_string(),
                    format!(
                        "to deny all {direction}, use `{}: [{{{}Entities: [all]}}]`",
                        item.section,
                        if direction == "ingress" { "from" } else { "to" }
                    ),
                )
            } else {
                (
                    format!(
                        "`{}: [{{}}]` is deny-all in a Cilium policy (allow-all in a Kubernetes NetworkPolicy)",
                        item.section
                    ),
                    format!("selects no peer: only enables {direction} default-deny for the selected endpoints"),
                    format!(
                        "this is the right idiom to deny all {direction}; to allow all instead, use \
`{{{}Entities: [all]}}`",
                        if direction == "ingress" { "from" } else { "to" }
                    ),
                )
            };
            findings.push(
                Finding::new(&codes::EMPTY_RULE_IDIOM, message)
                    .at(item.node.span, label)
                    .help(help)
                    .context(LintContext::object_context(object, &item.path)),
            );
        }
    }
    findings
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}
