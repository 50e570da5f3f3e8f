//! `frontend`: arbitrary bytes as a policy file (YAML or JSON) through the path `policyc lint`
//! and `policyc build` use: load (YAML with spans) → objects → schema → validation → lowering
//! into IR rules, then the lint passes. Checks: no panic; every error finding has a location
//! and every label points inside the text; rule ids are dense (`rules[i].id == i`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use policyc_diagnostics::source::SourceMap;
use policyc_frontend::{load_policy_text, FrontendOptions};
use policyc_lint::lint_policy_set;
use policyc_fuzz::findings::assert_located;

fuzz_target!(|data: &[u8]| {
    // Files that are not UTF-8 are refused before parsing (NOT_UTF8); the lossy text still
    // exercises the parser with the replacement character.
    let text = String::from_utf8_lossy(data);
    let mut sources = SourceMap::new();
    let set = load_policy_text(
        "fuzz.yaml",
        &text,
        &FrontendOptions::default(),
        &mut sources,
    );
    assert_located(&set.findings, &sources, "frontend");
    for (i, rule) in set.rules.iter().enumerate() {
        assert_eq!(rule.id.0 as usize, i, "rule ids are dense");
    }
    let lint = lint_policy_set(&set, &sources, None);
    assert_located(&lint, &sources, "lint");
});
