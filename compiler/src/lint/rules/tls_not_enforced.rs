//! PC0314: `serverNames`, `terminatingTLS`, `originatingTLS` and `listener` are parsed but not
//! enforced by policyc's datapath or modelled by its evaluator.

use crate::diagnostics::{codes, Finding};
use crate::lint::context::LintContext;
use crate::lint::walk::{port_rules, rule_items};
use crate::lint::yaml_ext::NodeExt;

const NOT_ENFORCED: [&str; 4] = ["serverNames", "terminatingTLS", "originatingTLS", "listener"];

pub fn check(ctx: &LintContext<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for object in ctx.valid_objects().filter(|o| o.is_cilium()) {
        for item in rule_items(object) {
            for (pr_path, port_rule) in port_rules(item.node) {
                for key in NOT_ENFORCED {
                    let Some((key_node, _)) = port_rule.entry(key) else { continue };
                    findings.push(
                        Finding::new(
                            &codes::TLS_FIELDS_NOT_ENFORCED,
                            format!("`{key}` is accepted but not enforced by policyc"),
                        )
                        .at(key_node.span, "ignored by `policyc build`, `test` and `explain`")
                        .help("policyc treats this port rule as plain L4 (plus its L7 rules); Cilium with Envoy enforces it — verify such flows in a cluster")
                        .context(LintContext::object_context(object, &format!("{}.{pr_path}.{key}", item.path))),
                    );
                }
            }
        }
    }
    findings
}
