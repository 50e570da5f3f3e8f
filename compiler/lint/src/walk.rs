//! Walks the YAML of a policy object the way the schema lays it out — rule lists, their items,
//! `toPorts[]`, `ports[]`, L7 rules — yielding each node with its YAML path, for the lints that
//! look at syntax or need a precise span.

use super::context::ObjectView;
use super::yaml_ext::NodeExt;
use policyc_frontend::yaml::Node;

/// The four CNP/CCNP rule lists (KNP uses `ingress` and `egress` only).
pub const SECTIONS: [&str; 4] = ["ingress", "ingressDeny", "egress", "egressDeny"];

/// One item of a rule list (`spec.ingress[0]`).
pub struct RuleItem<'a> {
    pub path: String,
    /// `ingress`, `ingressDeny`, `egress` or `egressDeny`.
    pub section: &'static str,
    /// The list node (`ingress: [...]`) the item is in.
    pub list: &'a Node,
    pub node: &'a Node,
}

/// Every rule item of the object: `spec` and each `specs[i]` for Cilium kinds, `spec` for KNP.
#[must_use]
pub fn rule_items<'a>(object: &ObjectView<'a>) -> Vec<RuleItem<'a>> {
    let Some(root) = object.root else {
        return Vec::new();
    };
    let mut specs: Vec<(String, &Node)> = Vec::new();
    if let Some(spec) = root.get("spec") {
        specs.push(("spec".to_string(), spec));
    }
    if object.is_cilium() {
        for (i, spec) in root
            .get("specs")
            .map(NodeExt::items)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            specs.push((format!("specs[{i}]"), spec));
        }
    }
    let mut items = Vec::new();
    for (spec_path, spec) in specs {
        for section in SECTIONS {
            let Some(list) = spec.get(section) else {
                continue;
            };
            for (i, node) in list.items().iter().enumerate() {
                items.push(RuleItem {
                    path: format!("{spec_path}.{section}[{i}]"),
                    section,
                    list,
                    node,
                });
            }
        }
    }
    items
}

/// `toPorts[k]` of a Cilium rule item, with paths relative to the item.
pub fn port_rules(item: &Node) -> impl Iterator<Item = (String, &Node)> {
    item.get("toPorts")
        .map(NodeExt::items)
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(k, node)| (format!("toPorts[{k}]"), node))
}

/// Every `ports[]` entry under a rule item: `toPorts[k].ports[j]` (Cilium) or `ports[j]` (KNP).
#[must_use]
pub fn port_entries(item: &Node) -> Vec<(String, &Node)> {
    let mut out = Vec::new();
    for (path, port_rule) in port_rules(item) {
        for (j, entry) in port_rule
            .get("ports")
            .map(NodeExt::items)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            out.push((format!("{path}.ports[{j}]"), entry));
        }
    }
    for (j, entry) in item
        .get("ports")
        .map(NodeExt::items)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        out.push((format!("ports[{j}]"), entry));
    }
    out
}
