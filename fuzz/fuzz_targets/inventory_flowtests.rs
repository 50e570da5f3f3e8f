//! `inventory_flowtests`: arbitrary bytes as an inventory and as a FlowTests file through their
//! loaders (`parse_inventory`, `parse_flow_tests`, the functions `load_inventory` and
//! `policyc test` use). An inventory that loads is turned into a universe with the examples'
//! rules and compiled (the `policyc build` path); every test of a FlowTests file that parses is
//! resolved against the examples' universe and evaluated by the oracle (the `policyc test`
//! path). Checks: no panic; every error finding has a location inside the text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use policyc_build::compile;
use policyc_analysis::flowtest::{parse_flow_tests, parse_peer};
use policyc_diagnostics::source::SourceMap;
use policyc_frontend::identity::build_universe;
use policyc_frontend::inventory::{parse_inventory, InventoryOptions};
use policyc_fuzz::examples::examples;
use policyc_fuzz::findings::assert_located;
use policyc_ir::oracle::{Flow, Oracle};
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let examples = examples();

    let mut sources = SourceMap::new();
    let id = sources.add("inventory.yaml", text.as_ref());
    match parse_inventory(&sources, id, &InventoryOptions::default()) {
        Err(findings) => assert_located(&findings, &sources, "inventory"),
        Ok(inventory) => {
            if let Ok(universe) = build_universe(&inventory, &examples.rules, Default::default()) {
                let _ = compile(&universe, &examples.rules, &|| {});
            }
        }
    }

    let mut sources = SourceMap::new();
    let id = sources.add("flowtests.yaml", text.as_ref());
    let (docs, findings) = parse_flow_tests(&sources, id, Path::new("/nonexistent"));
    assert_located(&findings, &sources, "flowtests");
    let oracle = Oracle::new(&examples.universe, &examples.rules);
    for case in docs.iter().flat_map(|d| &d.tests) {
        let peers = (
            parse_peer(&case.from.value, &examples.universe),
            parse_peer(&case.to.value, &examples.universe),
        );
        if let (Ok(source), Ok(destination)) = peers {
            let _ = oracle.evaluate(&Flow {
                source,
                destination,
                transport: case.transport,
                l7: case.l7.clone(),
                resolved_from: case.resolved_from.clone(),
            });
        }
    }
});
