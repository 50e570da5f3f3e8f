//! Inventory loading: the native format, Kubernetes objects, and spanned errors.

use policyc_diagnostics::source::SourceMap;
use policyc_diagnostics::Finding;
use policyc_frontend::identity::build_universe;
use policyc_frontend::inventory::{parse_inventory, Inventory, InventoryOptions};
use policyc_ir::universe::EndpointKey;
use policyc_ir::{LabelKey, LabelSource};
use test_case::test_case;

fn parse(text: &str) -> (SourceMap, Result<Inventory, Vec<Finding>>) {
    let mut sources = SourceMap::new();
    let id = sources.add("inventory.yaml", text);
    let result = parse_inventory(&sources, id, &InventoryOptions::default());
    (sources, result)
}

const NATIVE: &str = "\
apiVersion: policyc/v1
kind: Inventory
cluster: east
namespaces:
  - name: prod
    labels: {team: payments}
nodes:
  - name: n1
    ips: [198.18.255.1]
  - name: n2
    ips: [198.18.255.2]
    local: true
endpoints:
  - name: web
    namespace: prod
    labels: {app: web, \"reserved:init\": \"\"}
    serviceAccount: web-sa
    ips: [198.18.1.1, \"fd00::1\"]
    namedPorts: {http: 8080/TCP, dns: 53/udp, plain: 9000}
    interface: pc-web
";

#[test]
fn native_inventory_loads_with_implicit_labels() {
    let (_, result) = parse(NATIVE);
    let inv = result.unwrap_or_else(|f| panic!("{f:?}"));
    assert_eq!(inv.cluster, "east");
    assert_eq!(
        inv.nodes
            .iter()
            .filter(|n| n.local)
            .map(|n| n.name.as_str())
            .collect::<Vec<_>>(),
        ["n2"]
    );
    let u = build_universe(&inv, &[], Default::default()).unwrap_or_else(|e| panic!("{e}"));
    let ep = u
        .endpoint(&EndpointKey::new("prod", "web"))
        .unwrap_or_else(|| panic!("web"));
    let has = |src: LabelSource, k: &str, v: &str| ep.labels.get(&LabelKey::new(src, k)) == Some(v);
    assert!(has(LabelSource::K8s, "app", "web"));
    assert!(has(LabelSource::Reserved, "init", ""));
    assert!(has(LabelSource::K8s, "io.kubernetes.pod.namespace", "prod"));
    assert!(has(
        LabelSource::K8s,
        "io.cilium.k8s.namespace.labels.team",
        "payments"
    ));
    assert!(has(
        LabelSource::K8s,
        "io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name",
        "prod"
    ));
    assert!(has(
        LabelSource::K8s,
        "io.cilium.k8s.policy.serviceaccount",
        "web-sa"
    ));
    assert!(has(
        LabelSource::K8s,
        "io.cilium.k8s.policy.cluster",
        "east"
    ));
    let ports: Vec<String> = ep
        .named_ports
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    assert_eq!(ports, ["dns=53/UDP", "http=8080/TCP", "plain=9000/TCP"]);
    assert!(u.is_dual_stack());
    assert_eq!(
        u.identity_of_ip(
            &"198.18.255.2"
                .parse()
                .unwrap_or(std::net::Ipv4Addr::LOCALHOST.into())
        )
        .0,
        1
    );
}

const KUBERNETES: &str = "\
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Namespace
    metadata: {name: shop, labels: {env: prod}}
  - apiVersion: v1
    kind: Node
    metadata: {name: worker-1, labels: {zone: a}}
    status:
      addresses:
        - {type: Hostname, address: worker-1}
        - {type: InternalIP, address: 10.0.0.11}
  - apiVersion: v1
    kind: Pod
    metadata: {name: api-0, namespace: shop, labels: {app: api}}
    spec:
      serviceAccountName: api
      containers:
        - name: main
          ports:
            - {name: http, containerPort: 8080}
            - {name: metrics, containerPort: 9090, protocol: TCP}
    status:
      podIP: 10.1.0.5
      podIPs: [{ip: 10.1.0.5}, {ip: \"fd00::5\"}]
  - apiVersion: v1
    kind: Pod
    metadata: {name: node-agent, namespace: shop}
    spec: {hostNetwork: true}
  - apiVersion: v1
    kind: Service
    metadata: {name: ignored}
";

#[test]
fn kubernetes_objects_load() {
    let (_, result) = parse(KUBERNETES);
    let inv = result.unwrap_or_else(|f| panic!("{f:?}"));
    assert_eq!(
        inv.endpoints.len(),
        1,
        "host-network pods are not endpoints"
    );
    let ep = &inv.endpoints[0];
    assert_eq!(
        (
            ep.namespace.as_str(),
            ep.name.as_str(),
            ep.service_account.as_deref()
        ),
        ("shop", "api-0", Some("api"))
    );
    assert_eq!(ep.ips.len(), 2);
    assert_eq!(ep.named_ports.len(), 2);
    assert_eq!(inv.nodes.len(), 1);
    assert!(inv.nodes[0].local, "the first node is local by default");
    assert_eq!(inv.nodes[0].ips.len(), 1);
    assert_eq!(
        inv.namespace_labels("shop").get("env").map(String::as_str),
        Some("prod")
    );
}

#[test_case("endpoints:\n  - {name: a, namespace: x, ips: [10.0.0.1]}\n  - {name: a, namespace: x, ips: [10.0.0.2]}\n", "PC0404", 3; "duplicate endpoint")]
#[test_case("endpoints:\n  - {name: a, namespace: x, ips: [10.0.0.1]}\n  - {name: b, namespace: x, ips: [10.0.0.1]}\n", "PC0405", 3; "duplicate address")]
#[test_case("nodes:\n  - {name: n, ips: [10.0.0.1]}\nendpoints:\n  - {name: b, namespace: x, ips: [10.0.0.1]}\n", "PC0405", 4; "pod address equals node address")]
#[test_case("endpoints:\n  - {name: a, namespace: x, ips: [10.0.0.300]}\n", "PC0406", 2; "bad address")]
#[test_case("endpoints:\n  - {name: a, namespace: x, ips: [10.0.0.0/24]}\n", "PC0406", 2; "prefix is not an address")]
#[test_case("namespaces: [{name: prod}]\nendpoints:\n  - {name: a, namespace: prd, ips: [10.0.0.1]}\n", "PC0407", 3; "unknown namespace")]
#[test_case("endpoints:\n  - name: a\n    namespace: x\n    namedPorts: {http: 8080/TPC}\n", "PC0408", 4; "bad named port protocol")]
#[test_case("endpoints:\n  - name: a\n    namespace: x\n    namedPorts: {http: \"99999\"}\n", "PC0408", 4; "named port out of range")]
#[test_case("endpoints:\n  - name: a\n    namespace: x\n    lables: {app: a}\n", "PC0401", 4; "unknown field")]
#[test_case("endpoints:\n  - namespace: x\n", "PC0401", 2; "endpoint without name")]
#[test_case("nodes:\n  - {name: n, local: yes please}\n", "PC0401", 2; "local is not a boolean")]
fn inventory_errors_have_codes_and_spans(body: &str, code: &str, line: usize) {
    let text = format!("apiVersion: policyc/v1\nkind: Inventory\n{body}");
    let (sources, result) = parse(&text);
    let findings = match result {
        Ok(_) => panic!("expected {code}"),
        Err(f) => f,
    };
    let hit = findings
        .iter()
        .find(|f| f.code.id == code)
        .unwrap_or_else(|| panic!("no {code} in {findings:?}"));
    let span = hit
        .primary
        .as_ref()
        .map(|l| l.span)
        .unwrap_or_else(|| panic!("{code} without span"));
    assert_eq!(
        sources.line_col(span.source, span.start).line,
        line + 2,
        "{hit:?}"
    );
}

#[test]
fn unknown_namespace_suggests_the_closest() {
    let text = "apiVersion: policyc/v1\nkind: Inventory\nnamespaces: [{name: prod}]\nendpoints:\n  - {name: a, namespace: prd}\n";
    let (_, result) = parse(text);
    let help = result
        .err()
        .and_then(|f| f.into_iter().find(|f| f.code.id == "PC0407"))
        .and_then(|f| f.help);
    assert_eq!(help.as_deref(), Some("did you mean `prod`?"));
}

#[test]
fn unknown_field_suggests_the_closest() {
    let text = "apiVersion: policyc/v1\nkind: Inventory\nendpoints:\n  - {name: a, namespace: x, lables: {}}\n";
    let (_, result) = parse(text);
    let help = result
        .err()
        .and_then(|f| f.into_iter().find(|f| f.code.id == "PC0401"))
        .and_then(|f| f.help);
    assert_eq!(help.as_deref(), Some("did you mean `labels`?"));
}
