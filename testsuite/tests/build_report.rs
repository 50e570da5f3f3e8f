//! The build report's comparison with Cilium's policy-map encoding: the synthetic multi-tenant
//! policy (≥ 500 identities, 20 ports and ranges) must need at least 10× fewer entries, and
//! every corpus policy set (with a small generated inventory) must need no more entries than
//! Cilium — toFQDNs included, counting Cilium's keys for ONE learned address per selector.

use policyc_build::compile;
use policyc_build::report::build_report;
use policyc_diagnostics::source::SourceMap;
use policyc_frontend::{load_policies, FrontendOptions};
use policyc_ir::universe::UniverseOptions;
use policyc_ir::NumericIdentity;
use policyc_testsuite::corpus;
use policyc_testsuite::gen::corpus_inventory::inventory_for;
use policyc_testsuite::gen::multi_tenant;

#[test]
fn multi_tenant_policy_needs_ten_times_fewer_entries_than_cilium() {
    let set = multi_tenant(50, 10);
    let universe = set.universe().expect("universe");
    assert!(
        universe.identities().len() >= 500,
        "only {} identities",
        universe.identities().len()
    );
    let compilation = compile(&universe, &set.rules, &|| {}).expect("compile");
    let report = build_report(
        &compilation,
        universe.identities().len(),
        String::new(),
        Vec::new(),
    );
    let t = &report.totals;
    println!(
        "multi-tenant: {} endpoints, {} identities: policyc {} entries ({} bytes), Cilium {} entries ({} bytes), ratio {:.2}x",
        t.endpoints, t.identities, t.entries, t.bytes, t.cilium_entries, t.cilium_bytes, t.ratio
    );
    assert!(t.ratio >= 10.0, "ratio {:.2} < 10", t.ratio);
    // Every tenant pod sees its own tenant as one class: a handful of classes, not 500.
    let classes = report
        .endpoints
        .iter()
        .flat_map(|e| e.directions.values().map(|d| d.classes))
        .max()
        .unwrap_or(0);
    assert!(classes <= 4, "{classes} classes in one direction");
}

/// Prints policyc vs Cilium entries for every corpus policy set that loads without errors and
/// selects at least one endpoint, and checks the comparison is computed for all of them.
#[test]
fn corpus_policy_sets_report_entries_next_to_cilium() {
    let root = corpus::root();
    let files = corpus::yaml_files(&root);
    let (mut compared, mut not_above) = (0, 0);
    println!(
        "| policy set | identities | policyc entries | Cilium entries (toFQDNs keys for one learned address per selector) | ratio |"
    );
    for file in &files {
        let mut sources = SourceMap::default();
        let set = load_policies(
            std::slice::from_ref(file),
            &FrontendOptions::default(),
            &mut sources,
        );
        if set.error_count() > 0 || set.rules.is_empty() {
            continue;
        }
        let inventory = inventory_for(&set.rules);
        let Ok(universe) = policyc_frontend::identity::build_universe(
            &inventory,
            &set.rules,
            UniverseOptions::default(),
        ) else {
            continue;
        };
        let compilation = compile(&universe, &set.rules, &|| {})
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let report = build_report(
            &compilation,
            universe.identities().len(),
            String::new(),
            Vec::new(),
        );
        let t = &report.totals;
        if t.cilium_entries == 0 {
            continue;
        }
        compared += 1;
        if t.entries <= t.cilium_entries {
            not_above += 1;
        }
        println!(
            "| {} | {} | {} | {} ({}) | {:.2}x |",
            file.strip_prefix(&root).unwrap_or(file).display(),
            t.identities,
            t.entries,
            t.cilium_entries,
            t.cilium_learned_address_entries,
            t.ratio
        );
    }
    println!("{compared} corpus policy sets compared; policyc needs no more entries than Cilium in {not_above}");
    assert!(
        compared >= 50,
        "only {compared} corpus policy sets compiled"
    );
}

/// The acceptance: for every corpus policy set (every file under the corpus that loads
/// without errors, with a generated inventory), the policy maps need no more entries than
/// Cilium's policy map for the same policy. What makes small policies fit: sparse port
/// functions (a default plus the ranges that differ, four inline in the `pc_portfn` entry),
/// identity-keyed functions for classes where `k` copies are cheaper than `k` `pc_class`
/// entries plus shared functions, and an unknown class whose identities need no entry.
///
/// toFQDNs, like for like: our FQDN-class pseudo-identities' entries count as any others;
/// Cilium's count includes the keys it needs once ONE address has been learned for each
/// toFQDNs selector (a CIDR identity selected by exactly that selector, under the rules naming
/// it, ports split into masked-port prefixes) — the minimum for the policy to allow anything.
#[test]
fn corpus_entries_never_exceed_cilium() {
    let files = corpus::yaml_files(&corpus::root());
    let mut above = Vec::new();
    let mut compared = 0;
    let mut fqdn_sets = 0;
    for file in &files {
        let mut sources = SourceMap::default();
        let set = load_policies(
            std::slice::from_ref(file),
            &FrontendOptions::default(),
            &mut sources,
        );
        if set.error_count() > 0 || set.rules.is_empty() {
            continue;
        }
        let inventory = inventory_for(&set.rules);
        let Ok(universe) = policyc_frontend::identity::build_universe(
            &inventory,
            &set.rules,
            UniverseOptions::default(),
        ) else {
            continue;
        };
        let Ok(compilation) = compile(&universe, &set.rules, &|| {}) else {
            continue;
        };
        let t = build_report(
            &compilation,
            universe.identities().len(),
            String::new(),
            Vec::new(),
        )
        .totals;
        let pseudo = pseudo_identity_entries(&compilation);
        if pseudo > 0 || t.cilium_learned_address_entries > 0 {
            fqdn_sets += 1;
            println!(
                "{}: {} entries ({} for FQDN-class pseudo-identities); Cilium {} ({} for one learned address per toFQDNs selector)",
                file.display(),
                t.entries,
                pseudo,
                t.cilium_entries,
                t.cilium_learned_address_entries
            );
        }
        compared += 1;
        if t.entries > t.cilium_entries {
            above.push(format!(
                "{}: {} (of them {pseudo} FQDN pseudo-identity entries) > {} (of them {} toFQDNs keys)",
                file.display(),
                t.entries,
                t.cilium_entries,
                t.cilium_learned_address_entries
            ));
        }
    }
    println!(
        "{compared} corpus policy sets compared ({fqdn_sets} with toFQDNs), {} above Cilium",
        above.len()
    );
    assert!(
        compared >= 50,
        "only {compared} corpus policy sets compiled"
    );
    assert!(
        fqdn_sets >= 10,
        "only {fqdn_sets} corpus policy sets with toFQDNs compiled"
    );
    assert!(
        above.is_empty(),
        "{} policy sets need more entries than Cilium:\n{}",
        above.len(),
        above.join("\n")
    );
}

/// Entries that exist only for FQDN-class pseudo-identities: their `pc_class` entries and
/// identity-keyed functions (functions of a class they share with others are not counted).
fn pseudo_identity_entries(compilation: &policyc_build::Compilation) -> usize {
    let pseudo = |id: u32| NumericIdentity(id).fqdn_class_bit().is_some();
    compilation
        .endpoints
        .iter()
        .flat_map(|e| [&e.optimized.tables.ingress, &e.optimized.tables.egress])
        .map(|t| {
            let classes = t.class_of_identity.keys().filter(|id| pseudo(**id)).count();
            let functions: usize = t
                .identity_functions
                .iter()
                .filter(|((id, _), _)| pseudo(*id))
                .map(|(_, f)| f.entries())
                .sum();
            classes + functions
        })
        .sum()
}
