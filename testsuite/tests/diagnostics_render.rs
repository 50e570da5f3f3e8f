//! Snapshots of every format for one small fixture: an error with a secondary label and help, an
//! unknown field with a did-you-mean hint, a warning with a related location in another file
//! and an info.

use policyc_diagnostics::render::{render, Format, HumanOptions, RenderOptions};
use policyc_diagnostics::source::{SourceId, SourceMap, Span};
use policyc_diagnostics::{codes, did_you_mean, sort_findings, Finding, ObjectContext};
use policyc_frontend::yaml::{parse_documents, Node};

const ALLOW_DB: &str = "\
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: allow-db
  namespace: payments
spec:
  endpointSelector:
    matchLabels:
      app: db
  ingress:
    - fromEndpoints:
        - matchLabels:
            app: api
      fromEntities: [cluster]
      toPorts:
        - ports:
            - port: \"5432\"
              protocool: TCP
  egress:
    - {}
";

const ALLOW_ALL: &str = "\
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: allow-all-ingress, namespace: payments}
spec:
  endpointSelector: {}
  ingress:
    - fromEntities: [all]
";

fn context(name: &str, path: &str) -> ObjectContext {
    ObjectContext {
        kind: "CiliumNetworkPolicy".into(),
        namespace: Some("payments".into()),
        name: name.into(),
        yaml_path: path.into(),
        document: 0,
    }
}

fn root(map: &SourceMap, id: SourceId) -> Node {
    let (mut docs, findings) = parse_documents(map, id);
    assert!(findings.is_empty());
    docs.remove(0).root
}

fn key_span(node: &Node, key: &str) -> Span {
    node.get_entry(key)
        .map(|(k, _)| k.span)
        .expect("key present")
}

fn fixture() -> (SourceMap, Vec<Finding>) {
    let mut map = SourceMap::new();
    let db = map.add("./policies/payments/allow-db.yaml", ALLOW_DB);
    let all = map.add("policies/payments/allow-all.yaml", ALLOW_ALL);
    let db_root = root(&map, db);
    let all_root = root(&map, all);
    let spec = db_root.get("spec").expect("spec");
    let rule = &spec.get("ingress").and_then(Node::as_seq).expect("ingress")[0];
    let port = &rule
        .get("toPorts")
        .and_then(Node::as_seq)
        .and_then(|p| p[0].get("ports"))
        .and_then(Node::as_seq)
        .expect("ports")[0];
    let egress = &spec.get("egress").and_then(Node::as_seq).expect("egress")[0];
    let all_rule = &all_root
        .get("spec")
        .and_then(|s| s.get("ingress"))
        .and_then(Node::as_seq)
        .expect("ingress")[0];

    let findings = vec![
        Finding::info(
            &codes::EMPTY_RULE_IDIOM,
            "`egress: [{}]` allows nothing in a CiliumNetworkPolicy",
        )
        .at(egress.span, "empty rule: enables egress default-deny only")
        .context(context("allow-db", "spec.egress[0]")),
        Finding::warning(
            &codes::SHADOWED_RULE,
            "ingress rule is covered by a broader rule; it never decides a flow",
        )
        .at(rule.span, "this rule")
        .related(
            all_rule.span,
            "already allowed by this rule of payments/allow-all-ingress",
        )
        .context(context("allow-db", "spec.ingress[0]")),
        Finding::error(&codes::UNKNOWN_FIELD, "unknown field `protocool` in a port")
            .at(key_span(port, "protocool"), "not a field of PortProtocol")
            .help(
                did_you_mean("protocool", ["port", "endPort", "protocol"].iter())
                    .unwrap_or_default(),
            )
            .context(context("allow-db", "spec.ingress[0].toPorts[0].ports[0]")),
        Finding::error(
            &codes::MIXED_PEER_KINDS,
            "rule mixes `fromEndpoints` and `fromEntities`; Cilium rejects it",
        )
        .at(
            key_span(rule, "fromEntities"),
            "cannot be combined in one rule",
        )
        .secondary(key_span(rule, "fromEndpoints"), "first peer kind here")
        .help("split into two ingress rules")
        .context(context("allow-db", "spec.ingress[0]")),
    ];
    let mut findings = findings;
    sort_findings(&mut findings, &map);
    (map, findings)
}

fn snapshot(name: &str, format: Format) {
    let (map, findings) = fixture();
    let out = render(format, &findings, &map, &RenderOptions::default());
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_snapshot_path("render_snapshots");
    settings.bind(|| insta::assert_snapshot!(name, out));
}

#[test]
fn human_format_snapshot() {
    snapshot("render_human", Format::Human);
}

#[test]
fn concise_format_snapshot() {
    snapshot("render_concise", Format::Concise);
}

#[test]
fn json_format_snapshot() {
    snapshot("render_json", Format::Json);
}

#[test]
fn sarif_format_snapshot() {
    snapshot("render_sarif", Format::Sarif);
}

#[test]
fn github_format_snapshot() {
    snapshot("render_github", Format::Github);
}

#[test]
fn ascii_human_output_has_no_box_drawing() {
    let (map, findings) = fixture();
    let options = RenderOptions {
        human: HumanOptions {
            unicode: false,
            ..HumanOptions::default()
        },
        ..RenderOptions::default()
    };
    let out = render(Format::Human, &findings, &map, &options);
    assert!(out.is_ascii(), "{out}");
    assert!(out.contains("PC0201"));
}

#[test]
fn json_positions_match_the_source() {
    let (map, findings) = fixture();
    let value: serde_json::Value = serde_json::from_str(&render(
        Format::Json,
        &findings,
        &map,
        &RenderOptions::default(),
    ))
    .expect("valid json");
    let all = value["findings"].as_array().expect("findings");
    let info = all
        .iter()
        .find(|f| f["code"] == "PC0303")
        .expect("info finding");
    let at = |f: &serde_json::Value, k: &str| f[k].as_u64().unwrap_or(0);
    assert_eq!(
        [
            at(info, "line"),
            at(info, "column"),
            at(info, "endLine"),
            at(info, "endColumn")
        ],
        [20, 7, 20, 9]
    );
    let lines: Vec<u64> = all.iter().map(|f| at(f, "line")).collect();
    assert_eq!(lines, [11, 14, 18, 20], "sorted by position");
    assert_eq!(
        value["summary"],
        serde_json::json!({"errors": 2, "warnings": 1, "infos": 1})
    );
}

#[test]
fn formats_parse_from_their_names() {
    for format in Format::ALL {
        assert_eq!(format.as_str().parse::<Format>(), Ok(format));
    }
    assert!("xml".parse::<Format>().is_err());
}
