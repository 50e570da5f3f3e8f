//! PC0309: `protocol: ANY` on all ports (or on port 7, echo) where ICMP seems intended — ANY
//! covers TCP, UDP and SCTP only; ICMP needs `icmps`.

use crate::context::LintContext;
use crate::walk::{port_entries, rule_items};
use crate::yaml_ext::NodeExt;
use policyc_diagnostics::{codes, Finding};

pub fn check(ctx: &LintContext<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for object in ctx.valid_objects().filter(|o| o.is_cilium()) {
        for item in rule_items(object) {
            let is_deny = item.section.ends_with("Deny");
            for (path, entry) in port_entries(item.node) {
                let Some(protocol) = entry.get("protocol") else {
                    continue;
                };
                if !protocol
                    .text()
                    .is_some_and(|p| p.eq_ignore_ascii_case("any"))
                {
                    continue;
                }
                let port = entry
                    .get("port")
                    .and_then(NodeExt::text)
                    .unwrap_or_else(|| "0".to_string());
                let why = match port.as_str() {
                    "0" => "on all ports",
                    "7" | "echo" => "on port 7 (echo)",
                    _ => continue,
                };
                let verb = if is_deny { "deny" } else { "allow" };
                findings.push(
                    Finding::new(
                        &codes::ANY_PROTOCOL_IS_NOT_ICMP,
                        format!("`protocol: ANY` {why} does not {verb} ICMP (ping)"),
                    )
                    .at(protocol.span, "ANY means TCP, UDP and SCTP only")
                    .help(format!(
                        "to {verb} ICMP, add a rule with `icmps: [{{fields: [{{type: EchoRequest, family: IPv4}}]}}]`"
                    ))
                    .context(LintContext::object_context(
                        object,
                        &format!("{}.{path}.protocol", item.path),
                    )),
                );
            }
        }
    }
    findings
}
