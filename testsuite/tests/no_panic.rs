//! The frontend never panics: corpus files and invalid fixtures, mutated by truncation, value
//! type swaps and random characters, go through `load_policy_text`. Besides not panicking,
//! every finding must point inside the text and rule ids must be dense.

use policyc::frontend::source::SourceMap;
use policyc::frontend::{load_policy_text, FrontendOptions};
use policyc_testsuite::corpus;
use std::path::{Path, PathBuf};
use std::time::Instant;

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

/// xorshift64*: deterministic, dependency-free randomness.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            usize::try_from(self.next() % n as u64).unwrap_or(0)
        }
    }
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
}

fn inputs() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    yaml_files(&corpus::root().join("cilium-examples"), &mut files);
    yaml_files(&corpus::root().join("k8s-recipes"), &mut files);
    yaml_files(&root.join("fixtures/invalid"), &mut files);
    files
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect()
}

fn floor_boundary(text: &str, mut i: usize) -> usize {
    i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn mutations(text: &str, rng: &mut Rng) -> Vec<String> {
    let mut out = Vec::new();
    // Truncations at evenly spread offsets.
    for k in 1..16 {
        out.push(text[..floor_boundary(text, text.len() * k / 16)].to_string());
    }
    // Type swaps: replace the value of a few `key: value` / `key:` lines.
    let lines: Vec<&str> = text.lines().collect();
    let candidates: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].contains(':'))
        .collect();
    for _ in 0..12 {
        let Some(&line_no) = candidates.get(rng.below(candidates.len())) else {
            break;
        };
        let line = lines[line_no];
        let Some(colon) = line.find(':') else {
            continue;
        };
        let swap = VALUE_SWAPS[rng.below(VALUE_SWAPS.len())];
        let mut mutated: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        mutated[line_no] = format!("{}: {swap}", &line[..colon]);
        out.push(mutated.join("\n"));
    }
    // Random characters inserted or replacing others.
    for _ in 0..20 {
        let mut mutated = text.to_string();
        for _ in 0..1 + rng.below(4) {
            let at = floor_boundary(&mutated, rng.below(mutated.len() + 1));
            let c = NOISE[rng.below(NOISE.len())];
            let replaced = mutated[at..].chars().next().map_or(0, char::len_utf8);
            if rng.below(2) == 0 || replaced == 0 {
                mutated.insert(at, c);
            } else {
                mutated.replace_range(at..at + replaced, &c.to_string());
            }
        }
        out.push(mutated);
    }
    out
}

#[test]
fn mutated_inputs_never_panic_and_findings_stay_in_bounds() {
    let started = Instant::now();
    let options = FrontendOptions::default();
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let inputs = inputs();
    assert!(inputs.len() > 100, "corpus not found");
    let mut runs = 0;
    for text in &inputs {
        for mutated in mutations(text, &mut rng) {
            let mut sources = SourceMap::new();
            let set = load_policy_text("mutated.yaml", &mutated, &options, &mut sources);
            runs += 1;
            for finding in &set.findings {
                for label in finding.primary.iter().chain(&finding.secondary) {
                    assert!(
                        label.span.end <= mutated.len() && label.span.start <= label.span.end,
                        "finding {:?} outside the text:\n{mutated}",
                        finding.message
                    );
                }
            }
            for (i, rule) in set.rules.iter().enumerate() {
                assert_eq!(rule.id.0 as usize, i);
            }
        }
    }
    println!("no_panic: {runs} mutated inputs in {:?}", started.elapsed());
}

#[test]
fn hostile_shapes_never_panic() {
    let deep = format!("{}1{}", "[".repeat(500), "]".repeat(500));
    let cases = [
        String::new(),
        "---\n---\n".to_string(),
        "kind: List\napiVersion: v1\nitems: 5\n".to_string(),
        "kind: List\napiVersion: v1\nitems: [[[]]]\n".to_string(),
        "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nspecs: {}\n".to_string(),
        "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: []\nspec: []\n".to_string(),
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: x}\nspec: {ingress: [{from: [{}]}], egress: 7}\n".to_string(),
        "a: &x [*x]\n".to_string(),
        deep,
        "\u{feff}apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\n".to_string(),
        "{\"apiVersion\": \"cilium.io/v2\", \"kind\": \"CiliumNetworkPolicy\", \"metadata\": {\"name\": \"j\"}, \"spec\": {\"endpointSelector\": {}, \"egress\": [{\"toPorts\": [{\"ports\": [{\"port\": 70000}]}]}]}}".to_string(),
    ];
    for case in &cases {
        let mut sources = SourceMap::new();
        let _ = load_policy_text(
            "hostile.yaml",
            case,
            &FrontendOptions::default(),
            &mut sources,
        );
    }
}
