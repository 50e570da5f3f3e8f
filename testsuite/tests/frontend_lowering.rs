//! Lowering of CNP, CCNP and KNP into IR rules: namespace and cluster scoping, CCNP `{}` peers,
//! KNP AND/OR peers and policyTypes, nil-vs-empty, enableDefaultDeny, protocols, port ranges,
//! and provenance.

use policyc_diagnostics::source::SourceMap;
use policyc_diagnostics::Severity;
use policyc_frontend::{load_policy_text, FrontendOptions, PolicySet};
use policyc_ir::{
    Direction, Entity, Peer, PeerSet, PolicyRule, PortMatch, PortSpec, Protocol, RuleAction,
    Subject,
};
use test_case::test_case;

fn load_with(yaml: &str, options: &FrontendOptions) -> PolicySet {
    let mut sources = SourceMap::new();
    let set = load_policy_text("test.yaml", yaml, options, &mut sources);
    let errors: Vec<_> = set
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| &f.message)
        .collect();
    assert!(errors.is_empty(), "unexpected errors: {errors:?}");
    set
}

fn load(yaml: &str) -> PolicySet {
    load_with(yaml, &FrontendOptions::default())
}

fn cnp(body: &str) -> String {
    format!(
        "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: p\n  namespace: shop\nspec:\n  endpointSelector:\n    matchLabels:\n      app: web\n{body}"
    )
}

fn ccnp(selector: &str, body: &str) -> String {
    format!(
        "apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata:\n  name: c\nspec:\n  endpointSelector: {selector}\n{body}"
    )
}

fn knp(body: &str) -> String {
    format!(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: k\n  namespace: shop\nspec:\n  podSelector:\n    matchLabels:\n      app: web\n{body}"
    )
}

/// The peers of a rule as strings (`endpoints(...)`, `cidr(...)`), or `ALL`.
fn peers(rule: &PolicyRule) -> Vec<String> {
    match &rule.peers {
        PeerSet::All => vec!["ALL".to_string()],
        PeerSet::Some(p) => p.iter().map(ToString::to_string).collect(),
    }
}

fn only_rule(set: &PolicySet) -> &PolicyRule {
    assert_eq!(set.rules.len(), 1, "{:#?}", set.rules);
    &set.rules[0]
}

const CLUSTER: &str = "k8s:io.cilium.k8s.policy.cluster=default";

#[test]
fn cnp_subject_gets_the_policy_namespace() {
    let set = load(&cnp("  ingress: [{}]\n"));
    let Subject::Endpoints(subject) = &only_rule(&set).subject else {
        panic!("not an endpoint subject")
    };
    assert_eq!(
        subject.to_string(),
        "any:app=web, k8s:io.kubernetes.pod.namespace=shop"
    );
}

#[test_case("{matchLabels: {app: api}}", &["any:app=api", CLUSTER, "k8s:io.kubernetes.pod.namespace=shop"]; "plain peer gets namespace and cluster")]
#[test_case("{}", &[CLUSTER, "k8s:io.kubernetes.pod.namespace=shop"]; "empty peer is all pods of the namespace")]
#[test_case("{matchLabels: {k8s:io.kubernetes.pod.namespace: billing}}", &[CLUSTER, "k8s:io.kubernetes.pod.namespace=billing"]; "explicit namespace is kept")]
#[test_case("{matchLabels: {io.cilium.k8s.namespace.labels.team: a}}", &["any:io.cilium.k8s.namespace.labels.team=a", CLUSTER]; "namespace label selects across namespaces")]
#[test_case("{matchLabels: {reserved:host: ''}}", &["reserved:host="]; "reserved selectors are left alone")]
#[test_case("{matchLabels: {io.cilium.k8s.policy.cluster: east, app: x}}", &["any:app=x", "any:io.cilium.k8s.policy.cluster=east", "k8s:io.kubernetes.pod.namespace=shop"]; "explicit cluster is kept")]
fn cnp_peer_scoping(selector: &str, expected: &[&str]) {
    let set = load(&cnp(&format!(
        "  ingress:\n  - fromEndpoints: [{selector}]\n"
    )));
    let PeerSet::Some(p) = &only_rule(&set).peers else {
        panic!("expected peers")
    };
    let Some(Peer::Endpoints(sel)) = p.first() else {
        panic!("expected an endpoint peer")
    };
    let reqs: Vec<String> = sel.requirements().map(ToString::to_string).collect();
    assert_eq!(reqs, expected);
}

#[test]
fn cluster_name_is_a_parameter() {
    let options = FrontendOptions {
        cluster_name: "east".to_string(),
        ..FrontendOptions::default()
    };
    let set = load_with(&cnp("  ingress:\n  - fromEndpoints: [{}]\n"), &options);
    assert!(peers(only_rule(&set))[0].contains("k8s:io.cilium.k8s.policy.cluster=east"));
}

#[test]
fn ccnp_empty_peer_is_every_pod_of_every_namespace() {
    let set = load(&ccnp("{}", "  ingress:\n  - fromEndpoints: [{}]\n"));
    let rule = only_rule(&set);
    assert_eq!(
        peers(rule),
        vec![format!(
            "endpoints({CLUSTER}, k8s:io.kubernetes.pod.namespace)"
        )]
    );
    assert_eq!(rule.origin.namespace, None);
    let Subject::Endpoints(subject) = &rule.subject else {
        panic!("subject")
    };
    assert!(
        subject.is_wildcard(),
        "a CCNP subject gets no namespace: {subject}"
    );
}

#[test]
fn ccnp_init_subject_peers_get_no_namespace() {
    let set = load(&ccnp(
        "{matchLabels: {reserved:init: ''}}",
        "  egress:\n  - toEndpoints: [{}]\n",
    ));
    assert_eq!(
        peers(only_rule(&set)),
        vec![format!("endpoints({CLUSTER})")]
    );
}

#[test]
fn ccnp_node_selector_is_a_host_policy() {
    let yaml = "apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata:\n  name: h\nspec:\n  nodeSelector: {matchLabels: {role: worker}}\n  ingress:\n  - fromEntities: [cluster]\n";
    let set = load(yaml);
    assert!(
        matches!(&only_rule(&set).subject, Subject::Nodes(s) if s.to_string() == "any:role=worker")
    );
    assert_eq!(
        only_rule(&set).peers,
        PeerSet::Some(vec![Peer::Entity(Entity::Cluster)])
    );
}

#[test_case("  ingress: [{}]\n", PeerSet::Some(vec![]); "empty rule selects nothing")]
#[test_case("  ingress:\n  - toPorts: [{ports: [{port: '80', protocol: TCP}]}]\n", PeerSet::All; "absent peers with ports is the L3 wildcard")]
#[test_case("  ingress:\n  - icmps: [{fields: [{type: 8}]}]\n", PeerSet::All; "absent peers with icmps is the L3 wildcard")]
#[test_case("  ingress:\n  - fromEndpoints: []\n", PeerSet::Some(vec![]); "present but empty peers select nothing")]
#[test_case("  ingress:\n  - fromEndpoints: []\n    toPorts: [{ports: [{port: '80', protocol: TCP}]}]\n", PeerSet::Some(vec![]); "present but empty peers stay empty with ports")]
fn cnp_nil_versus_empty(body: &str, expected: PeerSet) {
    let set = load(&cnp(body));
    let rule = only_rule(&set);
    assert_eq!(rule.peers, expected);
    assert!(rule.default_deny);
}

#[test]
fn enable_default_deny_is_per_direction() {
    // `ingress: true` without ingress items enforces nothing: Cilium (pkg/policy/utils
    // RulesToPolicyEntries) makes entries, default-deny flag included, only from a rule's
    // items. (This test used to expect an ingress default-deny marker, issue 13 divergence 5.)
    let body = "  enableDefaultDeny:\n    egress: false\n    ingress: true\n  egress:\n  - toEntities: [world]\n";
    let set = load(&cnp(body));
    assert_eq!(set.rules.len(), 1, "{:#?}", set.rules);
    let egress = only_rule(&set);
    assert_eq!(egress.direction, Direction::Egress);
    assert!(!egress.default_deny);
}

#[test]
fn default_deny_defaults_to_true_only_for_directions_with_rules() {
    let set = load(&cnp("  egress:\n  - toEntities: [world]\n"));
    assert!(only_rule(&set).default_deny);
    assert_eq!(only_rule(&set).direction, Direction::Egress);
}

#[test_case("{port: '80'}", Protocol::Any, "80"; "missing protocol is ANY")]
#[test_case("{port: '80', protocol: ANY}", Protocol::Any, "80"; "explicit ANY")]
#[test_case("{port: 80, protocol: UDP}", Protocol::Udp, "80"; "integer port is accepted")]
#[test_case("{port: '80', endPort: 90, protocol: TCP}", Protocol::Tcp, "80-90"; "range")]
#[test_case("{port: '80', endPort: 70, protocol: TCP}", Protocol::Tcp, "80"; "end port below port is a single port")]
#[test_case("{port: '80', endPort: 80, protocol: TCP}", Protocol::Tcp, "80"; "end port equal to port is a single port")]
#[test_case("{port: '0', protocol: TCP}", Protocol::Tcp, "*"; "port zero is all ports")]
#[test_case("{port: HTTP, protocol: TCP}", Protocol::Tcp, "http"; "named ports are lower-cased")]
fn cnp_ports(port: &str, protocol: Protocol, range: &str) {
    let set = load(&cnp(&format!(
        "  ingress:\n  - toPorts: [{{ports: [{port}]}}]\n"
    )));
    let PortMatch::Ports(rules) = &only_rule(&set).ports else {
        panic!("expected ports")
    };
    let p = &rules[0].ports[0];
    assert_eq!(
        (p.protocol, p.port.to_string()),
        (protocol, range.to_string())
    );
}

#[test]
fn any_protocol_never_covers_icmp() {
    assert!(!Protocol::Any.expand().contains(&Protocol::Icmp));
    let set = load(&cnp(
        "  egress:\n  - icmps: [{fields: [{type: EchoRequest, family: IPv6}]}]\n",
    ));
    let PortMatch::Icmps(icmps) = &only_rule(&set).ports else {
        panic!("expected icmps")
    };
    assert_eq!(
        (icmps[0].icmp_type, icmps[0].protocol()),
        (128, Protocol::Icmpv6)
    );
}

#[test]
fn deny_rules_entities_fqdns_services_and_cidrs() {
    let body = "  egressDeny:\n  - toCIDRSet: [{cidr: 10.0.0.0/8, except: [10.1.0.0/16]}]\n  egress:\n  - toFQDNs: [{matchPattern: '*.example.com'}]\n  - toServices: [{k8sService: {serviceName: api, namespace: shop}}]\n  ingress:\n  - fromEntities: [world, host]\n";
    let set = load(&cnp(body));
    let by_path = |p: &str| set.rules.iter().find(|r| r.provenance.path == p).expect(p);
    let deny = by_path("spec.egressDeny[0]");
    assert_eq!(deny.action, RuleAction::Deny);
    assert_eq!(peers(deny), vec!["cidr(10.0.0.0/8 except 10.1.0.0/16)"]);
    assert_eq!(
        peers(by_path("spec.egress[0]")),
        vec!["fqdn(matchPattern: *.example.com)"]
    );
    assert_eq!(
        peers(by_path("spec.egress[1]")),
        vec!["toServices(k8sService shop/api)"]
    );
    assert_eq!(
        peers(by_path("spec.ingress[0]")),
        vec!["entity(world)", "entity(host)"]
    );
}

#[test]
fn l7_rules_are_lowered() {
    let body = "  egress:\n  - toPorts:\n    - ports: [{port: '53', protocol: ANY}]\n      rules:\n        dns: [{matchPattern: '*'}]\n  - toPorts:\n    - ports: [{port: '80', protocol: TCP}]\n      rules:\n        http: [{method: GET, path: '/api/.*'}]\n";
    let set = load(&cnp(body));
    let kinds: Vec<&str> = set
        .rules
        .iter()
        .map(|r| match &r.ports {
            PortMatch::Ports(p) => p[0].l7.kind(),
            _ => "none",
        })
        .collect();
    assert_eq!(kinds, vec!["dns", "http"]);
}

#[test]
fn knp_peer_with_pod_and_namespace_selectors_is_an_and() {
    let body = "  ingress:\n  - from:\n    - podSelector: {matchLabels: {role: api}}\n      namespaceSelector: {matchLabels: {team: a}}\n";
    let set = load(&knp(body));
    assert_eq!(
        peers(only_rule(&set)),
        vec![format!(
            "endpoints(k8s:io.cilium.k8s.namespace.labels.team=a, {CLUSTER}, k8s:role=api)"
        )]
    );
}

#[test]
fn knp_peers_in_a_list_are_an_or() {
    let body = "  ingress:\n  - from:\n    - podSelector: {matchLabels: {role: api}}\n    - namespaceSelector: {}\n    - ipBlock: {cidr: 192.0.2.0/24, except: [192.0.2.128/25]}\n";
    let set = load(&knp(body));
    assert_eq!(
        peers(only_rule(&set)),
        vec![
            format!("endpoints({CLUSTER}, k8s:io.kubernetes.pod.namespace=shop, k8s:role=api)"),
            format!("endpoints({CLUSTER}, k8s:io.kubernetes.pod.namespace)"),
            "cidr(192.0.2.0/24 except 192.0.2.128/25)".to_string(),
        ]
    );
}

#[test]
fn knp_empty_rule_allows_everything() {
    let set = load(&knp("  ingress: [{}]\n"));
    let rule = only_rule(&set);
    assert_eq!(
        (rule.peers.clone(), rule.ports.clone()),
        (PeerSet::All, PortMatch::Any)
    );
    assert_eq!(rule.action, RuleAction::Allow);
}

#[test_case("", &[Direction::Ingress]; "no policyTypes and no rules denies ingress")]
#[test_case("  policyTypes: [Ingress, Egress]\n", &[Direction::Ingress, Direction::Egress]; "both listed deny both")]
#[test_case("  policyTypes: [Egress]\n", &[Direction::Egress]; "egress only")]
fn knp_policy_types_make_default_deny_markers(body: &str, expected: &[Direction]) {
    let set = load(&knp(body));
    let directions: Vec<Direction> = set.rules.iter().map(|r| r.direction).collect();
    assert_eq!(directions, expected);
    assert!(set
        .rules
        .iter()
        .all(|r| r.default_deny && r.selects_nothing()));
}

#[test]
fn knp_ports_default_to_tcp_and_all_ports() {
    let body = "  ingress:\n  - ports:\n    - port: 8080\n    - protocol: UDP\n    - port: metrics\n    - port: 9000\n      endPort: 9010\n";
    let set = load(&knp(body));
    let PortMatch::Ports(rules) = &only_rule(&set).ports else {
        panic!("expected ports")
    };
    let got: Vec<String> = rules[0]
        .ports
        .iter()
        .map(|p| format!("{}/{}", p.protocol, p.port))
        .collect();
    assert_eq!(
        got,
        vec!["TCP/8080", "UDP/*", "TCP/metrics", "TCP/9000-9010"]
    );
    assert!(matches!(rules[0].ports[2].port, PortSpec::Named(_)));
}

#[test]
fn rule_ids_and_provenance_follow_load_order() {
    let yaml = format!(
        "{}---\napiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: q\n  namespace: shop\nspecs:\n- endpointSelector: {{}}\n  ingress: [{{}}]\n- endpointSelector: {{}}\n  egressDeny:\n  - toEntities: [world]\n",
        cnp("  ingress: [{}]\n")
    );
    let set = load(&yaml);
    let ids: Vec<u32> = set.rules.iter().map(|r| r.id.0).collect();
    assert_eq!(ids, vec![0, 1, 2]);
    let last = &set.rules[2];
    assert_eq!(last.provenance.path, "specs[1].egressDeny[0]");
    assert_eq!(
        (
            last.provenance.document,
            last.provenance.line,
            last.provenance.column
        ),
        (1, 22, 5)
    );
    assert_eq!(set.objects[1].rule_ids.len(), 2);
    assert_eq!(set.objects[1].name, "q");
}

#[test]
fn invalid_objects_are_listed_without_rules() {
    let yaml = format!(
        "{}---\n{}",
        cnp("  ingress:\n  - fromEntities: [wrld]\n"),
        cnp("  ingress: [{}]\n")
    );
    let mut sources = SourceMap::new();
    let set = load_policy_text(
        "test.yaml",
        &yaml,
        &FrontendOptions::default(),
        &mut sources,
    );
    assert_eq!(
        set.objects.iter().map(|o| o.valid).collect::<Vec<_>>(),
        vec![false, true]
    );
    assert!(set.objects[0].rule_ids.is_empty());
    assert_eq!(set.rules.len(), 1);
}

#[test]
fn non_policy_objects_are_skipped_silently() {
    let yaml = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n---\napiVersion: cilium.io/v2alpha1\nkind: CiliumCIDRGroup\nmetadata: {name: g}\nspec: {externalCIDRs: [10.0.0.0/8]}\n";
    let set = load(yaml);
    assert!(set.objects.is_empty() && set.findings.is_empty());
}

/// Cilium's `getEndpointSelector` (pkg/k8s/apis/cilium.io/utils/utils.go) adds
/// `k8s:io.kubernetes.pod.namespace` Exists to a clusterwide peer unless it names the pod
/// namespace key; a peer on namespace labels is no exception (issue 13, divergence 12).
#[test]
fn ccnp_peer_on_namespace_labels_gets_the_pod_namespace_requirement() {
    let set = load(&ccnp(
        "{}",
        "  ingress:\n  - fromEndpoints: [{matchLabels: {io.cilium.k8s.namespace.labels.team: a}}]\n",
    ));
    assert_eq!(
        peers(only_rule(&set)),
        vec![format!(
            "endpoints(any:io.cilium.k8s.namespace.labels.team=a, {CLUSTER}, k8s:io.kubernetes.pod.namespace)"
        )]
    );
}

/// A CNP subject's namespace `matchExpressions` stay (only a `matchLabels` namespace is
/// replaced): Cilium `RulesToPolicyEntries` `subjectSelector.AddMatch`.
#[test_case("{matchExpressions: [{key: io.kubernetes.pod.namespace, operator: NotIn, values: [shop]}]}", "any:io.kubernetes.pod.namespace notin (shop), k8s:io.kubernetes.pod.namespace=shop"; "expression kept")]
#[test_case("{matchLabels: {io.kubernetes.pod.namespace: other}}", "k8s:io.kubernetes.pod.namespace=shop"; "match label replaced")]
fn cnp_subject_namespace_scoping(selector: &str, expected: &str) {
    let yaml = format!(
        "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: p\n  namespace: shop\nspec:\n  endpointSelector: {selector}\n  ingress: [{{}}]\n"
    );
    let set = load(&yaml);
    let Subject::Endpoints(subject) = &only_rule(&set).subject else {
        panic!("not an endpoint subject")
    };
    assert_eq!(subject.to_string(), expected);
}

/// Cilium v1.19 rejects `fromNodes`/`toNodes` unless the agent runs with
/// `enable-node-selector-labels` (off by default): the policy is invalid (PC0234).
#[test]
fn node_peers_without_enable_node_selector_labels_make_the_policy_invalid() {
    let mut sources = SourceMap::new();
    let set = load_policy_text(
        "test.yaml",
        &cnp("  ingress:\n  - fromNodes: [{}]\n"),
        &FrontendOptions::default(),
        &mut sources,
    );
    assert!(
        set.findings
            .iter()
            .any(|f| f.severity == Severity::Error && f.code.id == "PC0234"),
        "{:?}",
        set.findings
    );
    assert!(set.rules.is_empty() && !set.objects[0].valid);
}

/// With it, a node selector gets `reserved:remote-node Exists` and the cluster label
/// (`ParseToCiliumRule`, "parse-from-to-nodes-rule").
#[test]
fn node_peers_select_remote_nodes_of_the_cluster_only() {
    let options = FrontendOptions {
        node_selector_labels: true,
        ..FrontendOptions::default()
    };
    let set = load_with(&cnp("  ingress:\n  - fromNodes: [{}]\n"), &options);
    let shown = peers(only_rule(&set));
    assert_eq!(shown.len(), 1);
    assert!(
        shown[0].contains("reserved:remote-node")
            && shown[0].contains("io.cilium.k8s.policy.cluster=default"),
        "{shown:?}"
    );
}

/// `enableDefaultDeny.<dir>: false` adds Cilium's allow-all L7 rule of the parser
/// (`createL4Filter` `ensureWildcard`): HTTP `{}`, DNS `*`.
#[test]
fn default_allow_rules_get_an_allow_all_l7_rule() {
    let set = load(&cnp(
        "  enableDefaultDeny: {ingress: false, egress: false}\n  ingress:\n  - toPorts:\n    - ports: [{port: \"80\", protocol: TCP}]\n      rules:\n        http: [{method: GET}]\n  egress:\n  - toPorts:\n    - ports: [{port: \"53\", protocol: UDP}]\n      rules:\n        dns: [{matchName: example.com}]\n",
    ));
    let l7 = |rule: &PolicyRule| match &rule.ports {
        PortMatch::Ports(p) => p[0].l7.clone(),
        other => panic!("{other:?}"),
    };
    match l7(&set.rules[0]) {
        policyc_ir::L7Rules::Http(rules) => {
            assert_eq!(rules.len(), 2);
            assert!(rules.contains(&policyc_ir::l7::HttpRule::default()));
        }
        other => panic!("{other:?}"),
    }
    match l7(&set.rules[1]) {
        policyc_ir::L7Rules::Dns(names) => {
            assert_eq!(names.len(), 2);
            assert!(names.iter().any(|n| n.to_string().contains('*')));
        }
        other => panic!("{other:?}"),
    }
}
