//! Behaviour of the spanned YAML tree: spans, scalar resolution, documents, findings, limits.

use super::*;
use policyc_diagnostics::source::Span;
use proptest::prelude::{prop_assert, proptest, ProptestConfig};
use proptest::{collection, sample::select};
use test_case::test_case;

fn parse(text: &str) -> (SourceMap, Vec<Document>, Vec<Finding>) {
    parse_limited(text, &Limits::default())
}

fn parse_limited(text: &str, limits: &Limits) -> (SourceMap, Vec<Document>, Vec<Finding>) {
    let mut map = SourceMap::new();
    let id = map.add("test.yaml", text);
    let (docs, findings) = parse_documents_with(&map, id, limits);
    (map, docs, findings)
}

fn text_of<'m>(map: &'m SourceMap, node: &Node) -> &'m str {
    map.slice(node.span).unwrap_or("<bad span>")
}

fn codes_of(findings: &[Finding]) -> Vec<&'static str> {
    findings.iter().map(|f| f.code.id).collect()
}

const POLICY: &str = "\
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: \"allow-db\", namespace: prod}
spec:
  endpointSelector:
    matchLabels:
      app: db
  ingress:
    - fromEndpoints:
        - matchLabels: {app: api}
      toPorts:
        - ports:
            - port: \"5432\"
              protocol: TCP
            - port: 80
";

#[test]
fn nested_values_have_exact_spans() {
    let (map, docs, findings) = parse(POLICY);
    assert!(findings.is_empty(), "{findings:?}");
    let root = &docs[0].root;
    let rule = &root
        .get("spec")
        .and_then(|s| s.get("ingress"))
        .and_then(Node::as_seq)
        .expect("ingress")[0];
    let ports = rule
        .get("toPorts")
        .and_then(Node::as_seq)
        .and_then(|p| p[0].get("ports"))
        .and_then(Node::as_seq);
    let ports = ports.expect("ports");
    assert_eq!(
        text_of(&map, ports[0].get("port").expect("port")),
        "\"5432\""
    );
    assert_eq!(text_of(&map, ports[1].get("port").expect("port")), "80");
    let name = root
        .get("metadata")
        .and_then(|m| m.get("name"))
        .expect("name");
    assert_eq!(
        map.line_col(name.span.source, name.span.start).to_string(),
        "3:18"
    );
    let app = rule
        .get("fromEndpoints")
        .and_then(Node::as_seq)
        .and_then(|e| e[0].get("matchLabels"));
    assert_eq!(app.map(|n| text_of(&map, n)), Some("{app: api}"));
    assert_eq!(app.map(|n| n.style), Some(Style::Flow));
}

#[test]
fn block_collections_span_from_first_to_last_child() {
    let (map, docs, _) = parse("a:\n  b: 1\n  c: [x, y]\n\n# trailing comment\nd:\n  - p\n  - q\n");
    let root = &docs[0].root;
    assert_eq!(
        root.get("a").map(|n| text_of(&map, n)),
        Some("b: 1\n  c: [x, y]")
    );
    assert_eq!(root.get("d").map(|n| text_of(&map, n)), Some("- p\n  - q"));
    assert_eq!(root.get("d").map(|n| n.style), Some(Style::Block));
}

#[test_case("v: 80", NodeKind::Int(80), Style::Plain; "plain number is an int")]
#[test_case("v: \"80\"", NodeKind::Str("80".into()), Style::DoubleQuoted; "double quoted number is a string")]
#[test_case("v: '80'", NodeKind::Str("80".into()), Style::SingleQuoted; "single quoted number is a string")]
#[test_case("v: true", NodeKind::Bool(true), Style::Plain; "plain true")]
#[test_case("v: \"true\"", NodeKind::Str("true".into()), Style::DoubleQuoted; "quoted true")]
#[test_case("v: ~", NodeKind::Null, Style::Plain; "tilde")]
#[test_case("v:", NodeKind::Null, Style::Plain; "empty value")]
#[test_case("v: !!str 80", NodeKind::Str("80".into()), Style::Plain; "str tag")]
#[test_case("v: |\n  a\n  b\n", NodeKind::Str("a\nb\n".into()), Style::Literal; "literal block")]
#[test_case("v: >-\n  a\n  b\n", NodeKind::Str("a b".into()), Style::Folded; "folded block")]
fn scalars_resolve_by_style(text: &str, kind: NodeKind, style: Style) {
    let (_, docs, findings) = parse(text);
    assert!(findings.is_empty());
    let value = docs[0].root.get("v").expect("v");
    assert_eq!((&value.kind, value.style), (&kind, style));
}

#[test]
fn multi_document_keeps_stream_indexes_and_skips_empty_documents() {
    let (map, docs, findings) = parse("---\na: 1\n---\n# only a comment\n---\n~\n---\nb: 2\n...\n");
    assert!(findings.is_empty());
    assert_eq!(docs.iter().map(|d| d.index).collect::<Vec<_>>(), [0, 3]);
    assert_eq!(
        map.line_col(docs[1].root.span.source, docs[1].root.span.start)
            .line,
        8
    );
}

#[test]
fn json_input_is_parsed_with_spans() {
    let (map, docs, findings) =
        parse("{\"kind\": \"NetworkPolicy\", \"spec\": {\"ports\": [1, \"x\"]}}");
    assert!(findings.is_empty());
    let ports = docs[0]
        .root
        .get("spec")
        .and_then(|s| s.get("ports"))
        .expect("ports");
    assert_eq!(text_of(&map, ports), "[1, \"x\"]");
    let items = ports.as_seq().expect("seq");
    assert_eq!((items[0].as_i64(), items[1].as_str()), (Some(1), Some("x")));
    assert_eq!(
        docs[0].root.get("kind").and_then(Node::as_str),
        Some("NetworkPolicy")
    );
}

#[test]
fn duplicate_key_points_at_both_keys() {
    let (map, docs, findings) = parse("a: 1\nb: 2\na: 3\n\"80\": x\n80: y\n");
    assert_eq!(codes_of(&findings), ["PC0002"]);
    let finding = &findings[0];
    let primary = finding
        .primary
        .as_ref()
        .map(|l| map.line_col(l.span.source, l.span.start));
    assert_eq!(primary.map(|p| p.to_string()).as_deref(), Some("3:1"));
    assert_eq!(
        finding
            .secondary
            .first()
            .map(|l| (l.span.start, l.message.as_str())),
        Some((0, "first defined here"))
    );
    assert!(finding.message.contains("`a`"));
    assert_eq!(docs[0].root.get("a").and_then(Node::as_i64), Some(1));
}

#[test]
fn syntax_error_points_at_the_error_and_keeps_earlier_documents() {
    let (map, docs, findings) = parse("ok: 1\n---\na: b\n  c: d\n");
    assert_eq!(codes_of(&findings), ["PC0001"]);
    let span = findings[0].primary.as_ref().map(|l| l.span).expect("span");
    assert_eq!(map.line_col(span.source, span.start).to_string(), "4:4");
    assert_eq!(docs.len(), 1);
}

#[test_case("a:\n\tb: 1\n", "tab used for indentation"; "tab indentation")]
#[test_case("a: \"x\n", "string not closed"; "unclosed quote")]
#[test_case("a: b: c\n", "unexpected `:`"; "colon in plain value")]
#[test_case("a:\n  - b\n - c\n", "indentation does not match"; "bad indentation")]
#[test_case("a: @x\n", "cannot start a value"; "reserved character")]
fn syntax_errors_get_a_label_and_a_hint(text: &str, label: &str) {
    let (_, _, findings) = parse(text);
    let finding = findings.first().expect("a finding");
    assert_eq!(
        finding.primary.as_ref().map(|l| l.message.as_str()),
        Some(label)
    );
    assert!(finding.help.is_some());
}

#[test]
fn tab_errors_underline_the_tab() {
    let (map, _, findings) = parse("a:\n\tb: 1\n");
    let span = findings
        .first()
        .and_then(|f| f.primary.as_ref())
        .map(|l| l.span);
    assert_eq!(span.and_then(|s| map.slice(s)), Some("\t"));
}

#[test]
fn syntax_error_offsets_are_bytes_after_multibyte_text() {
    let (map, _, findings) = parse("é: \"ü\"\nx: [1,\n");
    let span = findings
        .first()
        .and_then(|f| f.primary.as_ref())
        .map(|l| l.span)
        .expect("span");
    assert!(
        map.slice(Span::new(span.source, 0, span.start)).is_some(),
        "offset on a char boundary"
    );
    assert_eq!(map.line_col(span.source, span.start).line, 3);
}

#[test]
fn anchors_are_copied_into_aliases() {
    let (map, docs, findings) = parse("base: &labels {app: web}\nother: *labels\n");
    assert!(findings.is_empty());
    let other = docs[0].root.get("other").expect("other");
    assert_eq!(other.get("app").and_then(Node::as_str), Some("web"));
    assert_eq!(text_of(&map, other), "*labels");
}

#[test]
fn unknown_alias_is_reported() {
    let (_, docs, findings) = parse("a: *nope\n");
    assert_eq!(codes_of(&findings), ["PC0004"]);
    assert!(docs.is_empty());
}

#[test]
fn deep_nesting_is_bounded() {
    let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
    let (_, docs, findings) = parse(&format!("{deep}\n---\nok: 1\n"));
    assert_eq!(codes_of(&findings), ["PC0003"]);
    assert_eq!(
        docs.iter().map(|d| d.index).collect::<Vec<_>>(),
        [1],
        "next document still parsed"
    );
}

#[test]
fn billion_laughs_is_bounded() {
    let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 0..9 {
        let prev = (b'a' + i) as char;
        let next = (b'a' + i + 1) as char;
        text.push_str(&format!("{next}: &{next} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
    }
    let (_, docs, findings) = parse(&text);
    assert_eq!(codes_of(&findings), ["PC0003"]);
    assert!(docs.is_empty());
}

#[test]
fn node_count_is_bounded() {
    let limits = Limits {
        max_nodes: 10,
        ..Limits::default()
    };
    let (_, docs, findings) = parse_limited("[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]", &limits);
    assert_eq!(codes_of(&findings), ["PC0003"]);
    assert!(docs.is_empty());
}

#[test_case("cidr: 10.0.0.0/33", 8..11, "/33"; "plain scalar")]
#[test_case("cidr: \"10.0.0.0/33\"", 0..8, "10.0.0.0"; "double quoted without escapes")]
#[test_case("cidr: &x 10.0.0.0/33", 8..11, "/33"; "anchored plain scalar")]
fn sub_spans_point_inside_verbatim_scalars(
    text: &str,
    range: std::ops::Range<usize>,
    expected: &str,
) {
    let (map, docs, _) = parse(text);
    let node = docs[0].root.get("cidr").expect("cidr");
    assert_eq!(
        node.sub_span(range).and_then(|s| map.slice(s)),
        Some(expected)
    );
}

#[test_case("v: \"a\\u0041b\""; "escaped double quoted")]
#[test_case("v: 'it''s'"; "escaped single quoted")]
#[test_case("v: a\n  b"; "multi line plain")]
#[test_case("v: |\n  ab\n"; "literal block")]
fn sub_spans_are_refused_where_source_differs_from_value(text: &str) {
    let (_, docs, _) = parse(text);
    let node = docs[0].root.get("v").expect("v");
    assert_eq!(node.sub_span(0..1), None);
}

#[test]
fn sub_span_rejects_out_of_range() {
    let (_, docs, _) = parse("v: abc");
    let node = docs[0].root.get("v").expect("v");
    assert_eq!(node.sub_span(2..4), None);
}

#[test]
fn type_names_describe_values() {
    let (_, docs, _) = parse("{a: 1, b: x, c: [], d: {}, e: null, f: 1.5, g: false}");
    let names: Vec<_> = docs[0]
        .root
        .map_entries()
        .unwrap_or_default()
        .iter()
        .map(|(_, v)| v.type_name())
        .collect();
    assert_eq!(
        names,
        ["integer", "string", "sequence", "mapping", "null", "float", "boolean"]
    );
}

/// YAML punctuation mixed with arbitrary text.
const YAML_ALPHABET: &[char] = &[
    '-', ':', '[', ']', '{', '}', ',', '&', '*', '!', '|', '>', '\'', '"', '#', '%', '@', '`', ' ',
    '\n', '\t', '\r', '?', 'é', '~', '0', 'a', '1', '\\', '.',
];

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 2000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_bytes_never_panic(chars in collection::vec(select(YAML_ALPHABET), 0..64)) {
        let text: String = chars.into_iter().collect();
        let (map, docs, findings) = parse(&text);
        for finding in &findings {
            let span = finding.primary.as_ref().map(|l| l.span);
            prop_assert!(span.is_some(), "finding without a span in {:?}", text);
            prop_assert!(
                span.and_then(|span| map.slice(span)).is_some(),
                "span {:?} not on char boundaries in {:?}",
                span,
                text
            );
        }
        for doc in &docs {
            prop_assert!(map.slice(doc.root.span).is_some(), "root span off in {:?}", text);
        }
    }
}

#[test]
fn very_deep_block_and_flow_nesting_do_not_overflow_the_stack() {
    let block: String = (0..20_000)
        .map(|i| format!("{}- \n", "  ".repeat(i % 50)))
        .collect();
    let block_deep: String = (0..5_000)
        .map(|i| format!("{}a:\n", " ".repeat(i)))
        .collect();
    let flow = format!("{}{}", "[{a: ".repeat(50_000), "}]".repeat(50_000));
    for text in [block, block_deep, flow] {
        let (map, _, findings) = parse(&text);
        for finding in &findings {
            let span = finding.primary.as_ref().map(|l| l.span).expect("span");
            assert!(map.slice(span).is_some());
        }
    }
}

#[test]
fn mutated_policies_never_panic_and_spans_stay_in_bounds() {
    let bytes = POLICY.as_bytes();
    let mut inputs: Vec<String> = Vec::new();
    for cut in 0..bytes.len() {
        inputs.push(String::from_utf8_lossy(&bytes[..cut]).into_owned());
        let mut deleted = bytes.to_vec();
        deleted.remove(cut);
        inputs.push(String::from_utf8_lossy(&deleted).into_owned());
        for replacement in [b'\t', b':', b'-', b'[', b'"', b'&', b'*'] {
            let mut swapped = bytes.to_vec();
            swapped[cut] = replacement;
            inputs.push(String::from_utf8_lossy(&swapped).into_owned());
        }
    }
    for text in &inputs {
        let (map, docs, findings) = parse(text);
        let in_bounds = |span: Span| map.slice(span).is_some();
        assert!(
            findings
                .iter()
                .filter_map(|f| f.primary.as_ref())
                .all(|l| in_bounds(l.span)),
            "{text:?}"
        );
        assert!(docs.iter().all(|d| in_bounds(d.root.span)), "{text:?}");
    }
}

#[test_case("v: \"80\"  # a \"comment\"\n", "\"80\""; "double quoted before a comment with quotes")]
#[test_case("v: '80' # it's\n", "'80'"; "single quoted before a comment with a quote")]
#[test_case("v: \"\"  # \"x\"\n", "\"\""; "empty double quoted before a comment")]
#[test_case("v: 'it''s' # c\n", "'it''s'"; "escaped single quote")]
#[test_case("v: \"a\\\"b\" # c\n", "\"a\\\"b\""; "escaped double quote")]
fn quoted_scalar_span_ends_at_the_closing_quote(text: &str, expected: &str) {
    let (map, docs, findings) = parse(text);
    assert!(findings.is_empty(), "{findings:?}");
    let v = docs[0].root.get("v").expect("v");
    assert_eq!(text_of(&map, v), expected);
}
