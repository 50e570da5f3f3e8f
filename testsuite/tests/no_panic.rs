//! The frontend never panics, and what it reports about broken input is well-formed: corpus
//! files and invalid fixtures, as they are, truncated, and mutated by proptest (value type
//! swaps, random characters), go through `load_policy_text`. Every finding has a registered
//! code of a frontend range, a message, labels inside the text on character boundaries, and a
//! location when it is an error; rules have dense ids and a provenance inside the text; loading
//! the same text twice reports the same. Hostile shapes give the exact codes listed for them.

use policyc_diagnostics::codes;
use policyc_diagnostics::source::SourceMap;
use policyc_diagnostics::{Finding, Severity};
use policyc_frontend::{load_policy_text, FrontendOptions, PolicySet};
use policyc_testsuite::corpus;
use proptest::arbitrary::any;
use proptest::sample::{select, Index};
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use proptest::{collection, prop_oneof, strategy::Strategy};
use std::path::Path;
use std::time::Instant;
use test_case::test_case;

const NAME: &str = "mutated.yaml";

const VALUE_SWAPS: &[&str] = &[
    "[]",
    "{}",
    "42",
    "\"x\"",
    "",
    "-1",
    "true",
    "[1, {a: b}]",
    "99999999999999999999",
    "0.5",
    "'*'",
];
const NOISE: &[char] = &[
    ':', '-', '[', ']', '{', '}', '"', '\'', '#', '\t', '\n', ' ', '*', '&', '!', '|', '>', 'é',
    '\0', 'a', '7',
];

/// Random mutations per input file (before: 12 value swaps and 20 noise edits, from a
/// hand-written xorshift with one fixed seed).
const MUTATIONS_PER_INPUT: u32 = 40;

fn inputs() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = corpus::yaml_files(&corpus::root().join("cilium-examples"));
    files.extend(corpus::yaml_files(&corpus::root().join("k8s-recipes")));
    files.extend(corpus::yaml_files(&root.join("fixtures/invalid")));
    files
        .iter()
        .map(|p| {
            let text =
                std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p.display().to_string(), text)
        })
        .collect()
}

fn floor_boundary(text: &str, mut i: usize) -> usize {
    i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// One mutation of a policy text.
#[derive(Debug, Clone)]
enum Mutation {
    /// The value of one `key: value` / `key:` line replaced by a value of another type.
    SwapValue { line: Index, value: &'static str },
    /// One to four characters inserted (`true`) or put in place of the character there.
    Noise(Vec<(Index, char, bool)>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        12 => (any::<Index>(), select(VALUE_SWAPS))
            .prop_map(|(line, value)| Mutation::SwapValue { line, value }),
        20 => collection::vec(
            (any::<Index>(), select(NOISE), any::<bool>()),
            1..=4,
        )
        .prop_map(Mutation::Noise),
    ]
}

/// `text` mutated; `None` when a value swap finds no `key:` line.
fn apply(text: &str, mutation: &Mutation) -> Option<String> {
    match mutation {
        Mutation::SwapValue { line, value } => {
            let lines: Vec<&str> = text.lines().collect();
            let candidates: Vec<usize> = (0..lines.len())
                .filter(|&i| lines[i].contains(':'))
                .collect();
            if candidates.is_empty() {
                return None;
            }
            let line_no = candidates[line.index(candidates.len())];
            let colon = lines[line_no].find(':')?;
            let mut mutated: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
            mutated[line_no] = format!("{}: {value}", &lines[line_no][..colon]);
            Some(mutated.join("\n"))
        }
        Mutation::Noise(edits) => {
            let mut mutated = text.to_owned();
            for (at, c, insert) in edits {
                let at = floor_boundary(&mutated, at.index(mutated.len() + 1));
                let replaced = mutated[at..].chars().next().map_or(0, char::len_utf8);
                if *insert || replaced == 0 {
                    mutated.insert(at, *c);
                } else {
                    mutated.replace_range(at..at + replaced, &c.to_string());
                }
            }
            Some(mutated)
        }
    }
}

fn load(text: &str) -> (PolicySet, SourceMap) {
    let mut sources = SourceMap::new();
    let set = load_policy_text(NAME, text, &FrontendOptions::default(), &mut sources);
    (set, sources)
}

/// What every finding and rule of a frontend run over one text must satisfy.
fn check_well_formed(text: &str, set: &PolicySet, sources: &SourceMap) -> Result<(), String> {
    let show = |f: &Finding| format!("{}[{}] {:?}", f.severity, f.code.id, f.message);
    for finding in &set.findings {
        if codes::lookup(finding.code.id) != Some(finding.code) {
            return Err(format!("unregistered code: {}", show(finding)));
        }
        if !matches!(finding.code.category(), "syntax" | "schema" | "validation") {
            return Err(format!("not a frontend code: {}", show(finding)));
        }
        if finding.message.trim().is_empty() {
            return Err(format!("empty message: {}", show(finding)));
        }
        if finding.severity == Severity::Error && finding.primary.is_none() {
            return Err(format!("an error without a location: {}", show(finding)));
        }
        let labels = finding
            .primary
            .iter()
            .chain(&finding.secondary)
            .chain(&finding.related);
        for label in labels {
            let span = label.span;
            let inside = span.start <= span.end
                && span.end <= text.len()
                && text.is_char_boundary(span.start)
                && text.is_char_boundary(span.end);
            if !inside || sources.slice(span).is_none() {
                return Err(format!(
                    "label {}..{} outside the text ({} bytes): {}",
                    span.start,
                    span.end,
                    text.len(),
                    show(finding)
                ));
            }
        }
    }
    let lines = text.lines().count() + 1;
    for (i, rule) in set.rules.iter().enumerate() {
        if rule.id.0 as usize != i {
            return Err(format!("rule {i} has id {}", rule.id.0));
        }
        let p = &rule.provenance;
        if &*p.file != NAME || p.line == 0 || p.line as usize > lines || p.end as usize > text.len()
        {
            return Err(format!(
                "rule {i} provenance {}:{}:{} ({}..{}) outside the text",
                p.file, p.line, p.column, p.start, p.end
            ));
        }
    }
    Ok(())
}

/// Loads `text` twice: the findings are well-formed and the same both times.
fn check(text: &str) -> Result<(), String> {
    let (set, sources) = load(text);
    check_well_formed(text, &set, &sources)?;
    let (again, _) = load(text);
    if again.findings != set.findings {
        return Err("a second load reported different findings".to_owned());
    }
    Ok(())
}

#[test]
fn mutated_inputs_never_panic_and_findings_are_well_formed() {
    let started = Instant::now();
    let inputs = inputs();
    assert!(inputs.len() > 200, "only {} inputs", inputs.len());
    let mut runs = 0u32;
    for (path, text) in &inputs {
        // As it is, then truncated at evenly spread offsets.
        for k in 1..=16 {
            let cut = &text[..floor_boundary(text, text.len() * k / 16)];
            check(cut).unwrap_or_else(|e| panic!("{path} cut at {k}/16: {e}\n{cut}"));
            runs += 1;
        }
        let mut runner = TestRunner::new(Config {
            cases: MUTATIONS_PER_INPUT,
            failure_persistence: None,
            ..Config::default()
        });
        runner
            .run(&mutation(), |mutation| {
                let Some(mutated) = apply(text, &mutation) else {
                    return Ok(());
                };
                check(&mutated).map_err(|e| TestCaseError::fail(format!("{e}\n{mutated}")))
            })
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        runs += MUTATIONS_PER_INPUT;
    }
    println!("no_panic: {runs} inputs in {:?}", started.elapsed());
}

/// Error codes (sorted, deduplicated) of one text.
fn error_codes(text: &str) -> Vec<&'static str> {
    let (set, sources) = load(text);
    check_well_formed(text, &set, &sources).unwrap_or_else(|e| panic!("{e}"));
    let mut codes: Vec<&str> = set
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| f.code.id)
        .collect();
    codes.sort_unstable();
    codes.dedup();
    codes
}

#[test_case("", &[]; "empty text")]
#[test_case("---\n---\n", &[]; "empty documents")]
#[test_case("kind: List\napiVersion: v1\nitems: 5\n", &["PC0102"]; "list items a scalar")]
#[test_case("kind: List\napiVersion: v1\nitems: [[[]]]\n", &["PC0106"]; "list items not objects")]
#[test_case("apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nspecs: {}\n", &["PC0102", "PC0103"]; "specs a map and no metadata")]
#[test_case("apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: []\nspec: []\n", &["PC0102"]; "metadata and spec lists")]
#[test_case("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: x}\nspec: {ingress: [{from: [{}]}], egress: 7}\n", &["PC0102", "PC0103", "PC0107"]; "knp egress a number, empty peer, no podSelector")]
#[test_case("a: &x [*x]\n", &["PC0004"]; "recursive alias")]
#[test_case(&format!("{}1{}", "[".repeat(130), "]".repeat(130)), &["PC0003"]; "130 nested lists over the depth limit")]
#[test_case(&(0..200).map(|i| format!("{}k:\n", " ".repeat(i))).collect::<String>(), &["PC0003"]; "200 nested mappings over the depth limit")]
// 500 levels: the YAML parser's own recursion limit fires before policyc's depth limit.
#[test_case(&format!("{}1{}", "[".repeat(500), "]".repeat(500)), &["PC0001"]; "500 nested lists over the parser limit")]
#[test_case("\u{feff}apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\n", &["PC0103", "PC0224"]; "byte order mark then no metadata and no spec")]
#[test_case("{\"apiVersion\": \"cilium.io/v2\", \"kind\": \"CiliumNetworkPolicy\", \"metadata\": {\"name\": \"j\"}, \"spec\": {\"endpointSelector\": {}, \"egress\": [{\"toPorts\": [{\"ports\": [{\"port\": 70000}]}]}]}}", &["PC0203"]; "json port 70000")]
fn hostile_shapes_give_their_codes(text: &str, expected: &[&str]) {
    assert_eq!(error_codes(text), expected, "{text:?}");
}
