//! Corpus acceptance: every policy file listed in a `MANIFEST.tsv` of `fixtures/corpus` goes
//! through the frontend. `parse=ok` files load without errors (their warnings are snapshotted),
//! the port-65536 negative example gives exactly one error at the port, and `invalid`/`template`
//! files give a clear error — none of them panics.

use policyc_diagnostics::source::SourceMap;
use policyc_diagnostics::{Finding, Severity};
use policyc_frontend::{load_policies, FrontendOptions};
use policyc_testsuite::corpus::{self, manifest_entries};

/// Corpus files that are plain YAML (`parse=ok`) but violate the pinned Cilium 1.19+/main schema,
/// with the codes they must produce. Each is a genuine upstream mistake, not a frontend gap:
/// - `auth.yaml` uses the pre-1.15 field `auth` (now `authentication`);
/// - `requires.yaml` uses `fromRequires`, removed in 1.19 (CRD `maxItems: 0`);
/// - the scalability report snippets put `fromEndpoints` directly under `spec` and use a
///   pseudo-syntax `"[0-125]+80"` as a port, in policies named `l4-rule-#`.
const KNOWN_INVALID_ON_TARGET: &[(&str, &[&str])] = &[
    // Defines CiliumNetworkPolicy default/echo-c twice (L4 only, then with L7 rules): `kubectl
    // apply` keeps only the second, so merging both would enforce a policy the cluster never has.
    (
        "cilium-examples/examples/kubernetes/connectivity-check/connectivity-check-proxy.yaml",
        &["PC0010"],
    ),
    ("cilium-examples/examples/policies/auth/auth.yaml", &["PC0101"]),
    ("cilium-examples/examples/policies/l3/requires/requires.yaml", &["PC0223"]),
    // fromNodes: Cilium v1.19 accepts it only with `enable-node-selector-labels` (off by default,
    // pkg/policy/api ErrFromToNodesRequiresNodeSelectorOption); loaded with default options.
    (
        "cilium-examples/examples/policies/l3/entities/customnodes.yaml",
        &["PC0234"],
    ),
    (
        "cilium-examples/Documentation-inline/Documentation/operations/performance/scalability/report.rst.L229.yaml",
        &["PC0101", "PC0109", "PC0203"],
    ),
    (
        "cilium-examples/Documentation-inline/Documentation/operations/performance/scalability/report.rst.L249.yaml",
        &["PC0101", "PC0109", "PC0203"],
    ),
];

const PORT_65536: &str =
    "cilium-examples/Documentation-inline/Documentation/network/kubernetes/configuration.rst.L259.yaml";

fn position(finding: &Finding, sources: &SourceMap) -> (usize, usize) {
    finding.primary.as_ref().map_or((0, 0), |p| {
        let lc = sources.line_col(p.span.source, p.span.start);
        (lc.line, lc.col)
    })
}

fn line(rel: &str, finding: &Finding, sources: &SourceMap) -> String {
    let (l, c) = position(finding, sources);
    format!(
        "{rel}:{l}:{c}: {}[{}] {}",
        finding.severity, finding.code.id, finding.message
    )
}

#[test]
fn corpus_loads_with_precise_findings() {
    let root = corpus::root();
    let entries = manifest_entries();
    assert!(
        entries.len() >= 100,
        "corpus manifests not found under {}",
        root.display()
    );
    let options = FrontendOptions::default();
    let mut warnings = String::new();
    let (mut objects, mut rules, mut warning_count, mut failures) = (0, 0, 0, Vec::new());
    let mut checked_65536 = false;
    for entry in &entries {
        let mut sources = SourceMap::new();
        let set = load_policies(&[root.join(&entry.rel)], &options, &mut sources);
        objects += set.objects.len();
        rules += set.rules.len();
        let errors: Vec<&Finding> = set
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .collect();
        for w in set
            .findings
            .iter()
            .filter(|f| f.severity != Severity::Error)
        {
            warning_count += 1;
            warnings.push_str(&line(&entry.rel, w, &sources));
            warnings.push('\n');
        }
        let known = KNOWN_INVALID_ON_TARGET
            .iter()
            .find(|(p, _)| *p == entry.rel);
        if entry.rel == PORT_65536 {
            checked_65536 = true;
            let text = std::fs::read_to_string(root.join(&entry.rel)).unwrap_or_default();
            let port_line = text
                .lines()
                .position(|l| l.contains("65536"))
                .map_or(0, |i| i + 1);
            let port_col = text
                .lines()
                .nth(port_line.saturating_sub(1))
                .and_then(|l| l.find("'65536'"))
                .map_or(0, |i| i + 1);
            assert_eq!(
                errors.len(),
                1,
                "port 65536: expected exactly one error, got {:?}",
                errors
            );
            assert_eq!(errors[0].code.id, "PC0203");
            assert_eq!(position(errors[0], &sources), (port_line, port_col));
            assert_eq!((port_line, port_col), (20, 15));
        } else if entry.parse.starts_with("ok") && known.is_none() {
            if !errors.is_empty() {
                failures.extend(errors.iter().map(|e| line(&entry.rel, e, &sources)));
            }
        } else if let Some((_, codes)) = known {
            let mut got: Vec<&str> = errors.iter().map(|e| e.code.id).collect();
            got.sort_unstable();
            got.dedup();
            assert_eq!(&got, codes, "{}: unexpected errors", entry.rel);
        } else {
            // `invalid` / `template`: a clear error with a location, never a panic.
            assert!(
                !errors.is_empty(),
                "{}: expected an error for a `{}` file",
                entry.rel,
                entry.parse
            );
            assert!(
                errors.iter().all(|e| e.primary.is_some()),
                "{}: error without a location",
                entry.rel
            );
        }
    }
    assert!(
        checked_65536,
        "the port-65536 example is missing from the manifest"
    );
    assert!(
        failures.is_empty(),
        "parse=ok files with errors:\n{}",
        failures.join("\n")
    );
    println!(
        "corpus: {} files, {objects} policy objects, {rules} rules, {warning_count} warnings, {} known-invalid files",
        entries.len(),
        KNOWN_INVALID_ON_TARGET.len()
    );
    insta::assert_snapshot!("corpus_warnings", warnings);
}
