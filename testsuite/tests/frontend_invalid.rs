//! Invalid-policy fixtures (`fixtures/invalid/*.yaml`, one per schema error and validation rule):
//! every finding lands exactly where the fixture's `# error PCxxxx at "text"` marker says (line
//! and column of `text` on that line), nothing else is reported, and the rendered human report
//! is snapshotted.

use policyc_diagnostics::source::SourceMap;
use policyc_diagnostics::{render, sort_findings, Finding, Format, RenderOptions, Severity};
use policyc_frontend::{load_policy_text, FrontendOptions, PolicySet};
use std::path::{Path, PathBuf};

/// `(severity, code, line, column)` of one expected or actual finding.
type Mark = (String, String, usize, usize);

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/invalid")
}

fn fixtures() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixture_dir())
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "yaml"));
    files.sort();
    files
}

/// Reads a double-quoted marker string (`"\"80\""` → `"80"`); returns it and the rest.
fn quoted(text: &str) -> Option<(String, &str)> {
    let body = text.strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => out.push(chars.next()?.1),
            '"' => return Some((out, &body[i + 1..])),
            c => out.push(c),
        }
    }
    None
}

/// Expected findings from the `# error|warning PCxxxx at "text"[; ...]` markers.
fn expected_marks(text: &str) -> Vec<Mark> {
    let mut marks = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let Some(start) = line.find("# error ").or_else(|| line.find("# warning ")) else {
            continue;
        };
        let code_part = &line[start + 2..];
        let content = &line[..start];
        let mut rest = code_part;
        while let Some((severity, after)) = rest.split_once(' ') {
            let Some((code, after)) = after.split_once(" at ") else {
                break;
            };
            let Some((needle, after)) = quoted(after) else {
                break;
            };
            let col = content
                .find(&needle)
                .map_or(0, |b| content[..b].chars().count() + 1);
            marks.push((severity.to_string(), code.to_string(), i + 1, col));
            rest = after.trim_start_matches([';', ' ']);
        }
    }
    marks.sort();
    marks
}

fn load(path: &Path) -> (PolicySet, SourceMap, String) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let name = format!(
        "fixtures/invalid/{}",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    );
    let mut sources = SourceMap::new();
    let set = load_policy_text(&name, &text, &FrontendOptions::default(), &mut sources);
    (set, sources, text)
}

fn actual_marks(findings: &[Finding], sources: &SourceMap) -> Vec<Mark> {
    let mut marks: Vec<Mark> = findings
        .iter()
        .filter(|f| f.severity >= Severity::Warning)
        .map(|f| {
            let (line, col) = f.primary.as_ref().map_or((0, 0), |p| {
                let lc = sources.line_col(p.span.source, p.span.start);
                (lc.line, lc.col)
            });
            (
                f.severity.as_str().to_string(),
                f.code.id.to_string(),
                line,
                col,
            )
        })
        .collect();
    marks.sort();
    marks
}

#[test]
fn there_are_at_least_forty_fixtures() {
    assert!(fixtures().len() >= 40, "only {} fixtures", fixtures().len());
}

#[test]
fn every_finding_is_where_the_marker_says() {
    let mut mismatches = Vec::new();
    for path in fixtures() {
        let (set, sources, text) = load(&path);
        let expected = expected_marks(&text);
        assert!(
            !expected.is_empty(),
            "{}: fixture without markers",
            path.display()
        );
        let actual = actual_marks(&set.findings, &sources);
        if expected != actual {
            mismatches.push(format!(
                "{}:\n  expected {expected:?}\n  actual   {actual:?}",
                path.display()
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn objects_with_errors_are_invalid_and_contribute_no_rules() {
    for path in fixtures() {
        let (set, _, _) = load(&path);
        for object in &set.objects {
            if !object.valid {
                assert!(
                    object.rule_ids.is_empty(),
                    "{}: invalid object with rules",
                    path.display()
                );
            }
        }
        let has_errors = set.findings.iter().any(|f| f.severity == Severity::Error);
        if has_errors {
            assert!(
                set.objects.iter().any(|o| !o.valid)
                    || set.objects.is_empty()
                    || path.ends_with("list-and-multi-document.yaml")
            );
        }
    }
}

#[test]
fn one_invalid_spec_invalidates_the_whole_object_and_says_so() {
    let (set, _, _) = load(&fixture_dir().join("specs-one-invalid.yaml"));
    assert_eq!(set.objects.len(), 1);
    assert!(!set.objects[0].valid);
    assert!(set.rules.is_empty());
    let help = set
        .findings
        .first()
        .and_then(|f| f.help.clone())
        .unwrap_or_default();
    assert!(
        help.contains("Cilium rejects the whole CiliumNetworkPolicy `shop/two-specs`"),
        "{help}"
    );
}

#[test]
fn rendered_reports() {
    insta::glob!("../fixtures", "invalid/*.yaml", |path| {
        let (set, sources, _) = load(path);
        let mut findings = set.findings.clone();
        sort_findings(&mut findings, &sources);
        let rendered = render(
            Format::Human,
            &findings,
            &sources,
            &RenderOptions::default(),
        );
        insta::assert_snapshot!(rendered);
    });
}
