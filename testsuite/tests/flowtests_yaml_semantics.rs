//! Pitfalls end to end, from policy YAML through the frontend to the oracle (cilium-semantics.md
//! §2.9): the ones that depend on how objects are read, not only on the IR.

use policyc_diagnostics::source::SourceMap;
use policyc_frontend::identity::build_universe;
use policyc_frontend::inventory::{parse_inventory, InventoryOptions};
use policyc_frontend::{load_policy_text, FrontendOptions};
use policyc_ir::oracle::{Decision, Flow, FlowPeer, Oracle, Transport};
use policyc_ir::universe::EndpointKey;
use test_case::test_case;

const INVENTORY: &str = "\
apiVersion: policyc/v1
kind: Inventory
nodes: [{name: n1, ips: [198.18.255.1], local: true}]
endpoints:
  - {name: web, namespace: prod, labels: {app: web}, ips: [198.18.1.1]}
  - {name: api, namespace: prod, labels: {app: api}, ips: [198.18.1.2]}
  - {name: web, namespace: dev, labels: {app: web}, ips: [198.18.2.1]}
";

fn decide(policy: &str, from: &str, to: &str, port: u16) -> Decision {
    let mut sources = SourceMap::new();
    let id = sources.add("inventory.yaml", INVENTORY);
    let inv = parse_inventory(&sources, id, &InventoryOptions::default())
        .unwrap_or_else(|f| panic!("{f:?}"));
    let set = load_policy_text(
        "policy.yaml",
        policy,
        &FrontendOptions::default(),
        &mut sources,
    );
    let universe =
        build_universe(&inv, &set.rules, Default::default()).unwrap_or_else(|e| panic!("{e}"));
    let peer = |s: &str| match EndpointKey::parse(s) {
        Some(k) => FlowPeer::Endpoint(k),
        None => FlowPeer::Ip(s.parse().unwrap_or_else(|_| panic!("{s}"))),
    };
    let flow = Flow::new(peer(from), peer(to), Transport::Tcp { port });
    Oracle::new(&universe, &set.rules)
        .evaluate(&flow)
        .unwrap_or_else(|e| panic!("{e}"))
        .decision
}

const CNP_EMPTY_RULE: &str = "\
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: prod}
spec:
  endpointSelector: {matchLabels: {app: api}}
  ingress: [{}]
";

const KNP_EMPTY_RULE: &str = "\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: prod}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress: [{}]
";

#[test_case(CNP_EMPTY_RULE, Decision::Deny; "cnp empty rule denies all")]
#[test_case(KNP_EMPTY_RULE, Decision::Allow; "knp empty rule allows all")]
fn pitfall_1_empty_ingress_rule(policy: &str, expected: Decision) {
    assert_eq!(decide(policy, "prod/web", "prod/api", 80), expected);
}

fn from_endpoints_all(kind: &str) -> String {
    let ns = if kind == "CiliumNetworkPolicy" {
        "\n  namespace: prod"
    } else {
        ""
    };
    format!(
        "apiVersion: cilium.io/v2\nkind: {kind}\nmetadata:\n  name: p{ns}\nspec:\n  endpointSelector: {{matchLabels: {{app: api}}}}\n  ingress:\n    - fromEndpoints: [{{}}]\n"
    )
}

#[test_case("CiliumNetworkPolicy", "prod/web", Decision::Allow; "cnp same namespace")]
#[test_case("CiliumNetworkPolicy", "dev/web", Decision::Deny; "cnp other namespace")]
#[test_case("CiliumClusterwideNetworkPolicy", "dev/web", Decision::Allow; "ccnp other namespace")]
#[test_case("CiliumClusterwideNetworkPolicy", "198.19.0.1", Decision::Deny; "ccnp world")]
fn pitfall_2_empty_endpoint_selector(kind: &str, from: &str, expected: Decision) {
    assert_eq!(
        decide(&from_endpoints_all(kind), from, "prod/api", 80),
        expected
    );
}

const INVALID_SECOND_SPEC: &str = "\
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: prod}
specs:
  - endpointSelector: {matchLabels: {app: api}}
    ingress: [{fromEndpoints: [{matchLabels: {app: web}}]}]
  - endpointSelector: {matchLabels: {app: api}}
    ingress: [{fromEndpoints: [{matchLabels: {app: web}}], fromEntities: [world]}]
";

#[test]
fn pitfall_6_invalid_spec_drops_the_whole_policy() {
    // Were the first spec kept, prod/api would be default-deny and dev/web denied.
    assert_eq!(
        decide(INVALID_SECOND_SPEC, "dev/web", "prod/api", 80),
        Decision::Allow
    );
}

const DENY_ONLY: &str = "\
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: prod}
spec:
  endpointSelector: {matchLabels: {app: api}}
  ingressDeny:
    - fromEndpoints: [{matchLabels: {app: web}}]
      toPorts: [{ports: [{port: \"80\", protocol: TCP}]}]
";

#[test_case("prod/web", 80, Decision::Deny; "denied port")]
#[test_case("prod/web", 81, Decision::Deny; "a deny-only policy still puts the endpoint in default deny")]
#[test_case("dev/web", 81, Decision::Deny; "other peers too")]
fn docs_deny_table_column_5_from_yaml(from: &str, port: u16, expected: Decision) {
    assert_eq!(decide(DENY_ONLY, from, "prod/api", port), expected);
}
