//! PC0313: Kafka L7 rules, deprecated in Cilium 1.19.

use crate::context::LintContext;
use crate::walk::{port_rules, rule_items};
use crate::yaml_ext::NodeExt;
use policyc_diagnostics::{codes, Finding};

pub fn check(ctx: &LintContext<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for object in ctx.valid_objects().filter(|o| o.is_cilium()) {
        for item in rule_items(object) {
            for (pr_path, port_rule) in port_rules(item.node) {
                let Some((kafka, _)) = port_rule.get("rules").and_then(|r| r.entry("kafka")) else {
                    continue;
                };
                findings.push(
                    Finding::new(
                        &codes::KAFKA_RULES_DEPRECATED,
                        "Kafka L7 rules are deprecated since Cilium 1.19",
                    )
                    .at(kafka.span, "deprecated")
                    .help("plan a migration: restrict Kafka at L4 (ports and peers) or with a dedicated Kafka proxy")
                    .context(LintContext::object_context(
                        object,
                        &format!("{}.{pr_path}.rules.kafka", item.path),
                    )),
                );
            }
        }
    }
    findings
}
