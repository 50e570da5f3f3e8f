//! The build report (`report.json`, `report.md`): per endpoint the identities, classes, map
//! entries and bytes per map, the entries Cilium's policy map would need for the same policy
//! (identity × direction × protocol × masked-port prefixes; for toFQDNs, the keys of ONE
//! learned address per selector, the minimum for the policy to allow anything through it), the
//! ratio, and the chosen layout
//! (unknown class, class- vs identity-keyed classes) with its cost; then totals and what the
//! datapath does not enforce yet.

use super::compile::{Compilation, CompiledEndpoint};
use policyc_backends::layout::{map_names, Verdict as DpVerdict, INLINE_RANGES};
use policyc_compile::optimize::layout::{
    DirectionLayout, Keying, LayoutCost, CLASS_ENTRY_BYTES, INTERVAL_ENTRY_BYTES,
    PORTFN_ENTRY_BYTES,
};
use policyc_compile::resolve::cilium_encoding::CILIUM_POLICY_ENTRY_BYTES;
use policyc_ir::Direction;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

#[derive(Debug, Clone, Serialize)]
pub struct MapStats {
    pub entries: usize,
    pub bytes: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct DirectionReport {
    pub enforced: bool,
    pub classes: usize,
    /// Identities that need a `pc_class` entry (members of class-keyed classes).
    pub identities_with_class_entry: usize,
    /// The class identities without entries fall back to.
    pub unknown_class: u32,
    /// Classes whose identities point at shared functions through `pc_class`.
    pub class_keyed_classes: usize,
    /// Classes whose identities carry their own copies of the functions.
    pub identity_keyed_classes: usize,
    pub cost: LayoutCost,
    /// Entries with class 0 (matched by no rule) as the unknown class, for comparison.
    pub entries_with_class_zero_unknown: usize,
    pub why: String,
    pub cilium_entries: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct EndpointReport {
    pub name: String,
    pub identities: usize,
    pub dag_nodes: usize,
    pub directions: BTreeMap<Direction, DirectionReport>,
    /// Policy maps only (`pc_class`, `pc_portfn`, `pc_intervals`).
    pub maps: BTreeMap<String, MapStats>,
    pub entries: usize,
    pub bytes: usize,
    pub cilium_entries: usize,
    /// Of `cilium_entries`, the keys for toFQDNs selectors, assuming one learned address per
    /// selector (Cilium adds them at run time, per learned address).
    pub cilium_learned_address_entries: usize,
    pub cilium_bytes: usize,
    /// Cilium entries / our entries (how many times fewer entries we need).
    pub ratio: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Totals {
    pub endpoints: usize,
    pub identities: usize,
    pub entries: usize,
    pub bytes: usize,
    pub cilium_entries: usize,
    /// Of `cilium_entries`, the toFQDNs keys (one learned address per selector).
    pub cilium_learned_address_entries: usize,
    pub cilium_bytes: usize,
    pub ratio: f64,
    pub ipcache_entries: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct CostModel {
    pub class_entry_bytes: usize,
    pub portfn_entry_bytes: usize,
    pub interval_entry_bytes: usize,
    pub inline_ranges: usize,
    pub cilium_entry_bytes: usize,
    pub verifier_instructions: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct BuildReport {
    pub input_digest: String,
    pub cost_model: CostModel,
    pub endpoints: Vec<EndpointReport>,
    pub totals: Totals,
    pub notes: Vec<String>,
    /// `--specialize` only: which endpoints run generated code and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub specialization: Option<super::specialize::SpecializationReport>,
}

fn ratio(cilium: usize, ours: usize) -> f64 {
    // Rounded to 2 decimals so the JSON is stable and readable.
    let r = cilium as f64 / ours.max(1) as f64;
    (r * 100.0).round() / 100.0
}

const POLICY_MAPS: [&str; 3] = [map_names::CLASS, map_names::PORTFN, map_names::INTERVALS];

fn why(layout: &DirectionLayout) -> String {
    if !layout.tables.enforced {
        return "direction not enforced: no tables, every packet passes".to_string();
    }
    let class_keyed = layout.classes_keyed(Keying::Class);
    let identity_keyed = layout.classes_keyed(Keying::Identity);
    let unknown = if layout.unknown_class.0 == 0 {
        "unknown class 0 (matched by no rule; its identities need no entry)".to_string()
    } else {
        format!(
            "unknown class {} (its identities need no entry: {} entries instead of {} with class 0)",
            layout.unknown_class.0,
            layout.cost.entries(),
            layout.entries_with_class_zero_unknown
        )
    };
    let verdict = match layout.tables.default_verdict {
        DpVerdict::Allow => "allow",
        DpVerdict::Deny => "deny",
        DpVerdict::DefaultDeny => "default-deny",
        DpVerdict::RedirectL7 => "redirect-l7",
        DpVerdict::AuthRequired => "auth-required",
    };
    format!(
        "{unknown}; {class_keyed} class-keyed (a pc_class entry per identity + shared functions), {identity_keyed} identity-keyed (each identity its own copy of the functions: fewer entries); default verdict {verdict}"
    )
}

fn endpoint_report(e: &CompiledEndpoint, identities: usize) -> EndpointReport {
    let mut maps = BTreeMap::new();
    for name in POLICY_MAPS {
        let stats = e.images.map(name).map_or(
            MapStats {
                entries: 0,
                bytes: 0,
            },
            |m| MapStats {
                entries: m.entries.len(),
                bytes: m.entries.len() * (m.key_size as usize + m.value_size as usize),
            },
        );
        maps.insert(name.to_string(), stats);
    }
    let entries: usize = maps.values().map(|m| m.entries).sum();
    let bytes: usize = maps.values().map(|m| m.bytes).sum();
    let directions = Direction::BOTH
        .into_iter()
        .map(|d| {
            let layout = e.optimized.layout(d);
            let classes = e.optimized.classes(d);
            (
                d,
                DirectionReport {
                    enforced: layout.tables.enforced,
                    classes: classes.classes.len(),
                    identities_with_class_entry: layout.tables.class_of_identity.len(),
                    unknown_class: layout.unknown_class.0,
                    class_keyed_classes: layout.classes_keyed(Keying::Class),
                    identity_keyed_classes: layout.classes_keyed(Keying::Identity),
                    cost: layout.cost,
                    entries_with_class_zero_unknown: layout.entries_with_class_zero_unknown,
                    why: why(layout),
                    cilium_entries: e.resolved.cilium.entries_in(d),
                },
            )
        })
        .collect();
    let cilium_entries = e.resolved.cilium.entries();
    EndpointReport {
        name: e.key.to_string(),
        identities,
        dag_nodes: e.optimized.dag().node_count(),
        directions,
        maps,
        entries,
        bytes,
        cilium_entries,
        cilium_learned_address_entries: e.resolved.cilium.learned_address_entries(),
        cilium_bytes: e.resolved.cilium.bytes(),
        ratio: ratio(cilium_entries, entries),
    }
}

pub fn build_report(
    compilation: &Compilation,
    identities: usize,
    input_digest: String,
    notes: Vec<String>,
) -> BuildReport {
    let endpoints: Vec<EndpointReport> = compilation
        .endpoints
        .iter()
        .map(|e| endpoint_report(e, identities))
        .collect();
    let entries = endpoints.iter().map(|e| e.entries).sum();
    let cilium_entries = endpoints.iter().map(|e| e.cilium_entries).sum();
    let totals = Totals {
        endpoints: endpoints.len(),
        identities,
        entries,
        bytes: endpoints.iter().map(|e| e.bytes).sum(),
        cilium_entries,
        cilium_learned_address_entries: endpoints
            .iter()
            .map(|e| e.cilium_learned_address_entries)
            .sum(),
        cilium_bytes: endpoints.iter().map(|e| e.cilium_bytes).sum(),
        ratio: ratio(cilium_entries, entries),
        ipcache_entries: compilation.ipcache.len(),
    };
    BuildReport {
        input_digest,
        cost_model: CostModel {
            class_entry_bytes: CLASS_ENTRY_BYTES,
            portfn_entry_bytes: PORTFN_ENTRY_BYTES,
            interval_entry_bytes: INTERVAL_ENTRY_BYTES,
            inline_ranges: INLINE_RANGES,
            cilium_entry_bytes: CILIUM_POLICY_ENTRY_BYTES,
            verifier_instructions:
                "constant: one template program, 4 unrolled inline-range checks and an overflow search bounded at 17 steps; independent of rule count",
        },
        endpoints,
        totals,
        notes,
        specialization: None,
    }
}

/// Renders the report as Markdown.
pub fn render_markdown(report: &BuildReport) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# policyc build report\n");
    let _ = writeln!(md, "Input digest: `{}`\n", report.input_digest);
    let t = &report.totals;
    let _ = writeln!(
        md,
        "**Totals:** {} endpoints, {} identities, {} policy-map entries ({} bytes) vs Cilium {} entries ({} bytes): **Cilium/policyc entries = {:.2}×** (above 1: policyc needs fewer); ipcache {} entries.\n",
        t.endpoints, t.identities, t.entries, t.bytes, t.cilium_entries, t.cilium_bytes, t.ratio, t.ipcache_entries
    );
    if t.cilium_learned_address_entries > 0 {
        let _ = writeln!(
            md,
            "toFQDNs: Cilium's map has no key for a toFQDNs selector until an address is learned for it; its count includes {} key(s) for ONE learned address per selector (the minimum for the policy to allow anything through it: a CIDR identity selected by exactly that selector, under the rules naming it). Every further learned address with its own identity adds as many keys again to Cilium's policy map and none to our policy maps (the FQDN-class pseudo-identities' entries are fixed at build time; the address itself goes into the node-wide learned map, as Cilium's goes into its ipcache).\n",
            t.cilium_learned_address_entries
        );
    }
    if !report.notes.is_empty() {
        let _ = writeln!(md, "## Not enforced by the datapath yet\n");
        for n in &report.notes {
            let _ = writeln!(md, "- {n}");
        }
        md.push('\n');
    }
    let _ = writeln!(md, "## Endpoints\n");
    let _ = writeln!(
        md,
        "| endpoint | classes in/eg | pc_class | pc_portfn | pc_intervals | entries | bytes | Cilium entries | Cilium/policyc |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|");
    for e in &report.endpoints {
        let m = |name: &str| e.maps.get(name).map_or(0, |s| s.entries);
        let c = |d: Direction| e.directions.get(&d).map_or(0, |r| r.classes);
        let _ = writeln!(
            md,
            "| {} | {}/{} | {} | {} | {} | {} | {} | {} | {:.2}× |",
            e.name,
            c(Direction::Ingress),
            c(Direction::Egress),
            m(map_names::CLASS),
            m(map_names::PORTFN),
            m(map_names::INTERVALS),
            e.entries,
            e.bytes,
            e.cilium_entries,
            e.ratio
        );
    }
    let _ = writeln!(md, "\n## Layout per endpoint and direction\n");
    let _ = writeln!(
        md,
        "| endpoint | direction | unknown class | class-/identity-keyed classes | lookups/packet | entries | bytes | Cilium entries | why |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|");
    for e in &report.endpoints {
        for (d, r) in &e.directions {
            let (unknown, keyed) = if r.enforced {
                (
                    r.unknown_class.to_string(),
                    format!("{}/{}", r.class_keyed_classes, r.identity_keyed_classes),
                )
            } else {
                ("none".to_string(), "-".to_string())
            };
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                e.name,
                d,
                unknown,
                keyed,
                r.cost.lookups_per_packet,
                r.cost.entries(),
                r.cost.bytes,
                r.cilium_entries,
                r.why
            );
        }
    }
    let cm = &report.cost_model;
    let _ = writeln!(md, "\n## Cost model\n");
    let _ = writeln!(md, "| term | value |\n|---|---|");
    let _ = writeln!(md, "| pc_class entry | {} bytes |", cm.class_entry_bytes);
    let _ = writeln!(md, "| pc_portfn entry | {} bytes |", cm.portfn_entry_bytes);
    let _ = writeln!(
        md,
        "| pc_intervals entry | {} bytes |",
        cm.interval_entry_bytes
    );
    let _ = writeln!(
        md,
        "| ranges inline in a pc_portfn entry | {} |",
        cm.inline_ranges
    );
    let _ = writeln!(
        md,
        "| Cilium policy entry | {} bytes |",
        cm.cilium_entry_bytes
    );
    let _ = writeln!(
        md,
        "| verifier instructions | {} |",
        cm.verifier_instructions
    );
    let _ = writeln!(
        md,
        "\nEntries decide: per direction the unknown class and, per class, class- or identity-keyed functions (whichever needs fewer entries; ties: class-keyed). A port function is one pc_portfn entry plus one pc_intervals entry per listed range beyond the {} inline ones.",
        cm.inline_ranges
    );
    if let Some(specialization) = &report.specialization {
        super::specialize::report::render_markdown(specialization, &mut md);
    }
    md
}
