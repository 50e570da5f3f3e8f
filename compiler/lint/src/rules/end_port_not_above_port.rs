//! PC0310: `endPort` equal to or below `port` — Cilium reads it as the single port `port`.

use crate::context::LintContext;
use crate::walk::{port_entries, rule_items};
use crate::yaml_ext::NodeExt;
use policyc_diagnostics::{codes, Finding};

fn number(text: String) -> Option<u32> {
    text.parse().ok()
}

pub fn check(ctx: &LintContext<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    // NetworkPolicy `endPort` is checked by validation (knp-end-port).
    for object in ctx.valid_objects().filter(|o| o.is_cilium()) {
        for item in rule_items(object) {
            for (path, entry) in port_entries(item.node) {
                let Some(end_entry) = entry.entry("endPort") else {
                    continue;
                };
                let Some(end) = end_entry.1.text().and_then(number) else {
                    continue;
                };
                let Some(port_node) = entry.get("port") else {
                    continue;
                };
                let Some(port) = port_node.text().and_then(number) else {
                    continue;
                };
                if port == 0 || end > port {
                    continue;
                }
                let (message, help) = if end == port {
                    (
                        format!("`endPort: {end}` equals `port: {port}`: the range is the single port {port}"),
                        "remove `endPort`".to_string(),
                    )
                } else {
                    (
                        format!(
                            "`endPort: {end}` is below `port: {port}`: Cilium treats this as the single port {port}"
                        ),
                        format!("for the range {end}-{port}, write `port: {end}` and `endPort: {port}`"),
                    )
                };
                let span = end_entry.1.span;
                findings.push(
                    Finding::new(&codes::END_PORT_NOT_ABOVE_PORT, message)
                        .at(span, "ignored: not above `port`")
                        .secondary(port_node.span, "the only port matched")
                        .help(help)
                        .context(LintContext::object_context(
                            object,
                            &format!("{}.{path}.endPort", item.path),
                        )),
                );
            }
        }
    }
    findings
}
