//! `CiliumCIDRGroup` objects in the inventory (`kubectl get ciliumcidrgroups -o yaml`), for
//! `cidrGroupRef` and `cidrGroupSelector` peers. Cilium puts each group's `externalCIDRs` into
//! the ipcache labelled with the group (`cilium:pkg/policy/k8s/cilium_cidr_group.go`
//! `applyCIDRGroup`); a CIDR that does not parse is skipped there with a warning, and is an
//! error here (the group would silently shrink).

use super::fields::{req_string, scalar_text, seq, string_map};
use crate::yaml::Node;
use policyc_diagnostics::{codes, Finding};
use policyc_ir::Prefix;
use std::collections::BTreeMap;

/// A CIDR group: its name, labels and prefixes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryCidrGroup {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub cidrs: Vec<Prefix>,
}

/// A `kind: CiliumCIDRGroup` object (cilium.io/v2alpha1 or v2).
pub fn read_cidr_group(root: &Node, findings: &mut Vec<Finding>) -> Option<InventoryCidrGroup> {
    let meta = root.get("metadata")?;
    let (name, _) = req_string(meta, "name", "a CiliumCIDRGroup", findings)?;
    let mut cidrs = Vec::new();
    if let Some(spec) = root.get("spec") {
        for item in seq(spec, "externalCIDRs", findings) {
            let text = scalar_text(item).unwrap_or_default();
            // `netip.ParsePrefix`: a length is required, host bits are masked by the ipcache.
            let parsed = if text.contains('/') {
                Prefix::parse_lenient(&text).map_err(|e| e.to_string())
            } else {
                Err("no `/length`".to_string())
            };
            match parsed {
                Ok(prefix) => cidrs.push(prefix),
                Err(err) => findings.push(
                    Finding::error(
                        &codes::INVALID_ADDRESS,
                        format!("CiliumCIDRGroup `{name}`: `{text}` is not a CIDR ({err})"),
                    )
                    .at(
                        item.span,
                        "expected a prefix such as 198.18.0.0/24 or fd00::/64",
                    ),
                ),
            }
        }
    }
    Some(InventoryCidrGroup {
        name,
        labels: string_map(meta.get("labels"), findings),
        cidrs,
    })
}
