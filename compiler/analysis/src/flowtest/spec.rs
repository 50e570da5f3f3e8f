//! The `policyc/v1 FlowTests` format (FORMATS.md): parsed from the spanned YAML tree into test
//! cases with spans, paths resolved relative to the file.

use policyc_diagnostics::source::{SourceId, SourceMap, Span};
use policyc_diagnostics::{codes, did_you_mean, Finding};
use policyc_frontend::yaml::{parse_documents, Node, NodeKind};
use policyc_ir::l7::HttpRequest;
use policyc_ir::oracle::{Decision, KafkaRequest, L7Request, Transport};
use policyc_ir::ports::{icmp_type_by_name, IpFamily};
use policyc_ir::Protocol;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A text value and where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

/// One test of a FlowTests document.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowTestCase {
    pub name: String,
    /// The test's mapping.
    pub span: Span,
    pub from: Spanned<String>,
    pub to: Spanned<String>,
    pub transport: Transport,
    pub l7: Option<L7Request>,
    pub resolved_from: Option<String>,
    pub expect: Option<Decision>,
    pub expect_egress: Option<Decision>,
    pub expect_ingress: Option<Decision>,
}

/// One FlowTests document.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowTestsDoc {
    pub source: SourceId,
    pub inventory: Spanned<PathBuf>,
    pub policies: Vec<Spanned<PathBuf>>,
    pub tests: Vec<FlowTestCase>,
}

const TOP_KEYS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "inventory",
    "policies",
    "tests",
];
const TEST_KEYS: &[&str] = &[
    "name",
    "from",
    "to",
    "protocol",
    "port",
    "icmpType",
    "http",
    "dns",
    "kafka",
    "resolvedFrom",
    "expect",
    "expectEgress",
    "expectIngress",
];

fn err(message: impl Into<String>, span: Span, label: impl Into<String>) -> Finding {
    Finding::error(&codes::INVALID_FLOW_TEST, message).at(span, label)
}

fn text(node: &Node) -> Option<String> {
    match &node.kind {
        NodeKind::Str(s) => Some(s.clone()),
        NodeKind::Int(i) => Some(i.to_string()),
        NodeKind::Bool(b) => Some(b.to_string()),
        NodeKind::Float(f) => Some(f.to_string()),
        _ => None,
    }
}

fn check_keys(map: &Node, allowed: &[&str], what: &str, findings: &mut Vec<Finding>) -> bool {
    let Some(entries) = map.map_entries() else {
        findings.push(err(
            format!("{what} must be a mapping, not a {}", map.type_name()),
            map.span,
            "expected a mapping",
        ));
        return false;
    };
    for (k, _) in entries {
        let key = k.as_str().unwrap_or("");
        if !allowed.contains(&key) {
            let mut f = err(
                format!("unknown field `{key}` in {what}"),
                k.span,
                "not a FlowTests field",
            );
            if let Some(hint) = did_you_mean(key, allowed.iter().copied()) {
                f = f.help(hint);
            }
            findings.push(f);
        }
    }
    true
}

fn string_field(map: &Node, key: &str, findings: &mut Vec<Finding>) -> Option<Spanned<String>> {
    let node = map.get(key).filter(|n| !n.is_null())?;
    match text(node) {
        Some(value) => Some(Spanned {
            value,
            span: node.span,
        }),
        None => {
            findings.push(err(
                format!("`{key}` must be a string, not a {}", node.type_name()),
                node.span,
                "expected a string",
            ));
            None
        }
    }
}

fn required(map: &Node, key: &str, findings: &mut Vec<Finding>) -> Option<Spanned<String>> {
    let v = string_field(map, key, findings);
    if v.is_none() && map.get(key).is_none_or(Node::is_null) {
        findings.push(err(
            format!("test without `{key}`"),
            map.span,
            format!("`{key}` is required"),
        ));
    }
    v
}

fn decision(map: &Node, key: &str, findings: &mut Vec<Finding>) -> Option<Decision> {
    let v = string_field(map, key, findings)?;
    match v.value.to_ascii_lowercase().as_str() {
        "allow" | "allowed" => Some(Decision::Allow),
        "deny" | "denied" | "drop" => Some(Decision::Deny),
        _ => {
            findings.push(err(
                format!("`{key}: {}` is not allow or deny", v.value),
                v.span,
                "expected `allow` or `deny`",
            ));
            None
        }
    }
}

fn u16_field(map: &Node, key: &str, max: u16, findings: &mut Vec<Finding>) -> Option<u16> {
    let node = map.get(key).filter(|n| !n.is_null())?;
    match node
        .as_i64()
        .and_then(|i| u16::try_from(i).ok())
        .filter(|v| *v <= max)
    {
        Some(v) => Some(v),
        None => {
            findings.push(err(
                format!("`{key}` must be a number 0-{max}"),
                node.span,
                "out of range or not a number",
            ));
            None
        }
    }
}

fn resolve(base: &Path, rel: &str) -> PathBuf {
    let p = Path::new(rel);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

/// Reads the FlowTests documents of a file already in `sources`. Documents of other kinds are
/// skipped; `base` is the file's directory.
pub fn parse_flow_tests(
    sources: &SourceMap,
    id: SourceId,
    base: &Path,
) -> (Vec<FlowTestsDoc>, Vec<Finding>) {
    let (documents, mut findings) = parse_documents(sources, id);
    let mut docs = Vec::new();
    for doc in documents {
        let root = &doc.root;
        if root.get("kind").and_then(Node::as_str) != Some("FlowTests") {
            continue;
        }
        if let Some(d) = parse_doc(root, id, base, &mut findings) {
            docs.push(d);
        }
    }
    (docs, findings)
}

/// Does this file hold at least one FlowTests document (cheap pre-check for directories)?
pub fn is_flow_tests_text(text: &str) -> bool {
    text.lines().any(|l| {
        let l = l.trim();
        l.starts_with("kind:")
            && l.trim_start_matches("kind:")
                .trim()
                .trim_matches(['"', '\''])
                == "FlowTests"
    })
}

fn parse_doc(
    root: &Node,
    id: SourceId,
    base: &Path,
    findings: &mut Vec<Finding>,
) -> Option<FlowTestsDoc> {
    check_keys(root, TOP_KEYS, "a FlowTests document", findings);
    if root.get("apiVersion").and_then(Node::as_str) != Some("policyc/v1") {
        let span = root.get("apiVersion").map_or(root.span, |n| n.span);
        findings.push(err(
            "FlowTests must have `apiVersion: policyc/v1`",
            span,
            "expected `policyc/v1`",
        ));
    }
    let inventory = match string_field(root, "inventory", findings) {
        Some(s) => Spanned {
            value: resolve(base, &s.value),
            span: s.span,
        },
        None => {
            findings.push(err(
                "FlowTests without `inventory`",
                root.span,
                "`inventory: <file>` is required",
            ));
            return None;
        }
    };
    let mut policies = Vec::new();
    match root.get("policies") {
        Some(n) if n.as_seq().is_some() => {
            for p in n.as_seq().unwrap_or_default() {
                match text(p) {
                    Some(t) => policies.push(Spanned {
                        value: resolve(base, &t),
                        span: p.span,
                    }),
                    None => findings.push(err(
                        "policy paths must be strings",
                        p.span,
                        "expected a path",
                    )),
                }
            }
        }
        Some(n) => match text(n) {
            Some(t) => policies.push(Spanned {
                value: resolve(base, &t),
                span: n.span,
            }),
            None => findings.push(err(
                "`policies` must be a list of paths",
                n.span,
                "expected a list",
            )),
        },
        None => findings.push(err(
            "FlowTests without `policies`",
            root.span,
            "`policies: [paths]` is required",
        )),
    }
    let mut tests = Vec::new();
    match root.get("tests") {
        Some(n) => match n.as_seq() {
            // A file that checks nothing must not pass.
            Some([]) => findings.push(
                err("FlowTests with no tests", n.span, "no tests")
                    .help("add at least one test (from, to, port, expect), or remove the file"),
            ),
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    if let Some(t) = parse_test(item, i, findings) {
                        tests.push(t);
                    }
                }
            }
            None => findings.push(err(
                "`tests` must be a list",
                n.span,
                "expected a list of tests",
            )),
        },
        None => findings.push(err(
            "FlowTests without `tests`",
            root.span,
            "`tests:` is required",
        )),
    }
    Some(FlowTestsDoc {
        source: id,
        inventory,
        policies,
        tests,
    })
}

fn parse_test(item: &Node, index: usize, findings: &mut Vec<Finding>) -> Option<FlowTestCase> {
    if !check_keys(item, TEST_KEYS, "a test", findings) {
        return None;
    }
    let before = findings.len();
    let name = string_field(item, "name", findings)
        .map_or_else(|| format!("test #{}", index + 1), |s| s.value);
    let from = required(item, "from", findings);
    let to = required(item, "to", findings);
    let transport = transport(item, findings);
    let l7 = l7_request(item, findings);
    let resolved_from = string_field(item, "resolvedFrom", findings).map(|s| s.value);
    let expect = decision(item, "expect", findings);
    let expect_egress = decision(item, "expectEgress", findings);
    let expect_ingress = decision(item, "expectIngress", findings);
    if expect.is_none()
        && expect_egress.is_none()
        && expect_ingress.is_none()
        && findings.len() == before
    {
        findings.push(err(
            format!("test `{name}` has no expectation"),
            item.span,
            "add `expect: allow|deny` (or expectEgress/expectIngress)",
        ));
    }
    if findings.len() != before {
        return None;
    }
    Some(FlowTestCase {
        name,
        span: item.span,
        from: from?,
        to: to?,
        transport: transport?,
        l7,
        resolved_from,
        expect,
        expect_egress,
        expect_ingress,
    })
}

fn transport(item: &Node, findings: &mut Vec<Finding>) -> Option<Transport> {
    let proto_text = string_field(item, "protocol", findings);
    let protocol = match &proto_text {
        None => Protocol::Tcp,
        Some(p) => match Protocol::parse(&p.value) {
            Some(
                proto @ (Protocol::Tcp
                | Protocol::Udp
                | Protocol::Sctp
                | Protocol::Icmp
                | Protocol::Icmpv6),
            ) => proto,
            _ => {
                findings.push(err(
                    format!("`{}` is not a flow protocol", p.value),
                    p.span,
                    "expected TCP, UDP, SCTP, ICMP or ICMPv6",
                ));
                return None;
            }
        },
    };
    match protocol {
        Protocol::Icmp | Protocol::Icmpv6 => {
            let family = if protocol == Protocol::Icmp {
                IpFamily::IPv4
            } else {
                IpFamily::IPv6
            };
            let node = item.get("icmpType").filter(|n| !n.is_null());
            let icmp_type = match node {
                None => {
                    // Echo request by default.
                    Some(if family == IpFamily::IPv4 { 8 } else { 128 })
                }
                Some(n) => match (&n.kind, text(n)) {
                    (NodeKind::Int(i), _) => u8::try_from(*i).ok(),
                    (_, Some(t)) => t
                        .parse::<u8>()
                        .ok()
                        .or_else(|| icmp_type_by_name(family, &t)),
                    _ => None,
                },
            };
            match icmp_type {
                Some(icmp_type) => Some(Transport::Icmp { family, icmp_type }),
                None => {
                    let span = node.map_or(item.span, |n| n.span);
                    findings.push(err(
                        "`icmpType` must be 0-255 or an ICMP type name",
                        span,
                        "e.g. 8 or EchoRequest",
                    ));
                    None
                }
            }
        }
        _ => {
            let Some(port) = u16_field(item, "port", u16::MAX, findings) else {
                if item.get("port").is_none() {
                    findings.push(err(
                        format!("a {protocol} test needs a `port`"),
                        item.span,
                        "add the destination port",
                    ));
                }
                return None;
            };
            Transport::ported(protocol, port)
        }
    }
}

fn l7_request(item: &Node, findings: &mut Vec<Finding>) -> Option<L7Request> {
    if let Some(http) = item.get("http").filter(|n| !n.is_null()) {
        check_keys(
            http,
            &["method", "path", "host", "headers"],
            "`http`",
            findings,
        );
        let mut headers = BTreeMap::new();
        if let Some(h) = http.get("headers").and_then(Node::map_entries) {
            for (k, v) in h {
                if let (Some(k), Some(v)) = (text(k), text(v)) {
                    headers.insert(k, v);
                }
            }
        }
        return Some(L7Request::Http(HttpRequest {
            method: string_field(http, "method", findings)
                .map_or_else(|| "GET".to_string(), |s| s.value),
            path: string_field(http, "path", findings).map_or_else(|| "/".to_string(), |s| s.value),
            host: string_field(http, "host", findings).map(|s| s.value),
            headers,
        }));
    }
    if let Some(dns) = item.get("dns").filter(|n| !n.is_null()) {
        check_keys(dns, &["query"], "`dns`", findings);
        return match required(dns, "query", findings) {
            Some(q) => Some(L7Request::Dns { query: q.value }),
            None => None,
        };
    }
    if let Some(kafka) = item.get("kafka").filter(|n| !n.is_null()) {
        check_keys(
            kafka,
            &["apiKey", "apiVersion", "clientID", "topic", "topics"],
            "`kafka`",
            findings,
        );
        let mut topics: Vec<String> = string_field(kafka, "topic", findings)
            .map(|s| s.value)
            .into_iter()
            .collect();
        if let Some(list) = kafka.get("topics").and_then(Node::as_seq) {
            topics.extend(list.iter().filter_map(text));
        }
        return Some(L7Request::Kafka(KafkaRequest {
            api_key: string_field(kafka, "apiKey", findings)
                .map_or_else(|| "produce".to_string(), |s| s.value),
            api_version: string_field(kafka, "apiVersion", findings).map(|s| s.value),
            client_id: string_field(kafka, "clientID", findings).map(|s| s.value),
            topics,
        }));
    }
    None
}
