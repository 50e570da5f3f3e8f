//! Lowering of validated CNP/CCNP/KNP syntax trees into `policyc_ir::PolicyRule`s: one rule per
//! (policy, direction, rule item), with Cilium's namespace and cluster scoping applied to
//! subjects and peers (`ParseToCiliumRule`, `network_policy.go`) and the nil-vs-empty rules.

use crate::ast::{self, KnpPeer, PeerItem, PortValue, Sp};
use crate::runtime_peers::{RuntimePeers, ServiceTarget};
use policyc_diagnostics::source::{SourceId, SourceMap, Span};
use policyc_ir::labels::{CLUSTER_KEY, NAMESPACE_LABELS_PREFIX, POD_NAMESPACE_KEY};
use policyc_ir::rule::{AuthMode, L7Rules};
use policyc_ir::{
    Direction, EndpointSelector, LabelKey, LabelSource, Peer, PeerSet, PolicyKind, PolicyOrigin,
    PolicyRule, PortMatch, PortProtocol, PortRange, PortRule, PortSpec, Protocol, Provenance,
    Requirement, RuleAction, RuleId, Subject,
};
use std::sync::Arc;

/// The object a rule is lowered from, and where it lives.
#[derive(Debug, Clone)]
pub struct ObjectMeta {
    pub kind: PolicyKind,
    /// `None` for CCNPs.
    pub namespace: Option<String>,
    pub name: String,
    pub source: SourceId,
    pub document: usize,
}

impl ObjectMeta {
    fn origin(&self) -> PolicyOrigin {
        PolicyOrigin {
            kind: self.kind,
            namespace: self.namespace.clone(),
            name: self.name.clone(),
        }
    }
}

/// Lowering state shared by all objects of one load: the rule-id counter and the output.
pub struct Lowerer<'a> {
    pub sources: &'a SourceMap,
    pub cluster_name: &'a str,
    pub next_id: u32,
    pub rules: Vec<PolicyRule>,
    /// Secret values for `headerMatches[].secret` (`FrontendOptions::secrets`).
    pub secrets: std::sync::Arc<crate::inventory::Secrets>,
    /// Services and CIDR groups for the runtime peers (`FrontendOptions::runtime_peers`).
    pub runtime_peers: std::sync::Arc<RuntimePeers>,
    /// Cilium's `enable-node-selector-labels` (`FrontendOptions::node_selector_labels`).
    pub node_selector_labels: bool,
    /// YAML paths (`spec.egress[0].toServices[1]`) of the runtime peers of the last object
    /// lowered that stayed unresolved (`take_unresolved`).
    unresolved: Vec<String>,
}

fn k8s_key(key: &str) -> LabelKey {
    LabelKey::new(LabelSource::K8s, key)
}

fn namespace_is(namespace: &str) -> Requirement {
    Requirement::equals(k8s_key(POD_NAMESPACE_KEY), namespace)
}

/// A template for the rules of one object: everything but direction, peers and ports.
struct RuleTemplate {
    origin: PolicyOrigin,
    subject: Subject,
    auth: Option<AuthMode>,
    log: Option<String>,
}

impl<'a> Lowerer<'a> {
    pub fn new(sources: &'a SourceMap, cluster_name: &'a str) -> Self {
        Self {
            sources,
            cluster_name,
            next_id: 0,
            rules: Vec::new(),
            secrets: std::sync::Arc::default(),
            runtime_peers: std::sync::Arc::default(),
            node_selector_labels: false,
            unresolved: Vec::new(),
        }
    }

    /// The YAML paths of the runtime peers left unresolved since the last call.
    pub fn take_unresolved(&mut self) -> Vec<String> {
        std::mem::take(&mut self.unresolved)
    }

    fn provenance(&self, meta: &ObjectMeta, path: &str, span: Span) -> Provenance {
        let at = self.sources.line_col(span.source, span.start);
        Provenance {
            file: Arc::from(self.sources.path(meta.source)),
            document: u32::try_from(meta.document).unwrap_or(u32::MAX),
            path: path.to_string(),
            line: u32::try_from(at.line).unwrap_or(u32::MAX),
            column: u32::try_from(at.col).unwrap_or(u32::MAX),
            start: u32::try_from(span.start).unwrap_or(u32::MAX),
            end: u32::try_from(span.end).unwrap_or(u32::MAX),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        template: &RuleTemplate,
        provenance: Provenance,
        direction: Direction,
        action: RuleAction,
        peers: PeerSet,
        ports: PortMatch,
        default_deny: bool,
    ) -> RuleId {
        let id = RuleId(self.next_id);
        self.next_id += 1;
        self.rules.push(PolicyRule {
            id,
            origin: template.origin.clone(),
            provenance,
            subject: template.subject.clone(),
            direction,
            action,
            peers,
            ports,
            default_deny,
            auth: if action == RuleAction::Allow {
                template.auth
            } else {
                None
            },
            log: template.log.clone(),
        });
        id
    }

    /// Cilium's peer scoping for `fromEndpoints`/`toEndpoints` (and KNP pod peers).
    fn scope_peer(
        &self,
        selector: &EndpointSelector,
        meta: &ObjectMeta,
        subject_is_init: bool,
    ) -> EndpointSelector {
        if selector.mentions_source(LabelSource::Reserved) {
            return selector.clone();
        }
        let mut scoped = selector.clone();
        let names_pod_namespace = selector.mentions_key(POD_NAMESPACE_KEY);
        let names_namespace =
            names_pod_namespace || selector.mentions_key_prefix(NAMESPACE_LABELS_PREFIX);
        match &meta.namespace {
            Some(ns) if !names_namespace => scoped.add(namespace_is(ns)),
            // A clusterwide peer selects pods (`k8s:io.kubernetes.pod.namespace` exists) unless
            // it names the pod namespace key itself: Cilium's `getEndpointSelector`
            // (`pkg/k8s/apis/cilium.io/utils/utils.go`) checks only that key, so a peer on
            // namespace labels (`io.cilium.k8s.namespace.labels.*`) gets the requirement too.
            None if !subject_is_init && !names_pod_namespace => {
                scoped.add(Requirement::exists(k8s_key(POD_NAMESPACE_KEY)))
            }
            _ => {}
        }
        if !selector.mentions_key(CLUSTER_KEY) {
            scoped.add(Requirement::equals(k8s_key(CLUSTER_KEY), self.cluster_name));
        }
        scoped
    }

    /// Lowers one CNP/CCNP rule (`spec` or `specs[i]`); returns the ids of the rules made.
    pub fn lower_cilium_rule(&mut self, meta: &ObjectMeta, rule: &ast::Rule) -> Vec<RuleId> {
        let subject = match (&rule.endpoint_selector, &rule.node_selector) {
            (Some(sel), _) => Subject::Endpoints(scope_subject(
                &sel.value,
                meta.namespace.as_deref(),
                Some(&rule.subject_namespace_match_labels),
            )),
            (None, Some(sel)) => Subject::Nodes(sel.value.clone()),
            (None, None) => return Vec::new(),
        };
        let subject_is_init = match &subject {
            Subject::Endpoints(sel) => sel
                .requirements()
                .any(|r| r.key.source == LabelSource::Reserved && r.key.key == "init"),
            Subject::Nodes(_) => false,
        };
        let mut ids = Vec::new();
        let log = rule.log.as_ref().map(|l| l.value.clone());
        for direction in Direction::BOTH {
            let explicit = match direction {
                Direction::Ingress => rule.default_deny_ingress.as_ref(),
                Direction::Egress => rule.default_deny_egress.as_ref(),
            };
            let default_deny = explicit.is_none_or(|b| b.value);
            for section in rule
                .sections
                .iter()
                .filter(|s| s.kind.direction() == direction)
            {
                for item in &section.items {
                    let template = RuleTemplate {
                        origin: meta.origin(),
                        subject: subject.clone(),
                        auth: item.authentication.as_ref().map(|a| a.value),
                        log: log.clone(),
                    };
                    let provenance = self.provenance(meta, &item.path, item.span);
                    let action = if section.kind.is_deny() {
                        RuleAction::Deny
                    } else {
                        RuleAction::Allow
                    };
                    let peers = self.cilium_peers(item, meta, subject_is_init, action);
                    let mut ports = cilium_ports(item);
                    if action == RuleAction::Allow && !default_deny {
                        ensure_l7_wildcards(&mut ports);
                    }
                    ids.push(self.push(
                        &template,
                        provenance,
                        direction,
                        action,
                        peers,
                        ports,
                        default_deny,
                    ));
                }
            }
            // `enableDefaultDeny.<dir>: true` without items in that direction enforces nothing:
            // Cilium (pkg/policy/utils RulesToPolicyEntries) makes policy entries, default-deny
            // flag included, only from a rule's ingress/ingressDeny/egress/egressDeny items.
        }
        ids
    }

    fn cilium_peers(
        &mut self,
        item: &ast::PeerRule,
        meta: &ObjectMeta,
        subject_is_init: bool,
        action: RuleAction,
    ) -> PeerSet {
        if item.peer_fields.is_empty() {
            let has_ports = item.to_ports.as_ref().is_some_and(|p| !p.value.is_empty())
                || item.icmp_entries > 0;
            // Absent peers with ports = L3 wildcard; `ingress: [{}]` = selects nothing.
            return if has_ports {
                PeerSet::All
            } else {
                PeerSet::Some(Vec::new())
            };
        }
        let mut peers = Vec::new();
        for field in &item.peer_fields {
            for (i, entry) in field.items.iter().enumerate() {
                let resolved = match &entry.value {
                    PeerItem::Endpoints(sel) => {
                        vec![Peer::Endpoints(self.scope_peer(sel, meta, subject_is_init))]
                    }
                    PeerItem::Cidr(prefix) => vec![Peer::Cidr {
                        prefix: *prefix,
                        except: Vec::new(),
                    }],
                    PeerItem::CidrRule { cidr, except } => vec![Peer::Cidr {
                        prefix: cidr.value,
                        except: except.iter().map(|e| e.value).collect(),
                    }],
                    PeerItem::CidrGroupRef { name, except } => self
                        .runtime_peers
                        .cidr_group_ref(name)
                        .map(|prefixes| group_peers(&prefixes, except))
                        .unwrap_or_else(|| {
                            vec![Peer::Unresolved {
                                kind: "cidrGroupRef".into(),
                                detail: name.clone(),
                            }]
                        }),
                    PeerItem::CidrGroupSelector { selector, except } => self
                        .runtime_peers
                        .cidr_group_selector(selector)
                        .map(|prefixes| group_peers(&prefixes, except))
                        .unwrap_or_else(|| {
                            vec![Peer::Unresolved {
                                kind: "cidrGroupSelector".into(),
                                detail: selector.to_string(),
                            }]
                        }),
                    PeerItem::Entity(entity) => vec![Peer::Entity(*entity)],
                    PeerItem::Fqdn(fqdn) => vec![Peer::Fqdn(fqdn.clone())],
                    // Cilium's policy watcher rewrites `toServices` of `egress` rules only
                    // (`cilium:pkg/policy/k8s/service.go` `processRule` walks `rule.Egress`): in
                    // `egressDeny` it stays unresolved there too, and policyc refuses it.
                    PeerItem::Service { target, detail } => match action {
                        RuleAction::Allow => self.runtime_peers.service(target),
                        RuleAction::Deny => None,
                    }
                    .map(|targets| self.service_peers(&targets, meta, subject_is_init))
                    .unwrap_or_else(|| {
                        vec![Peer::Unresolved {
                            kind: "toServices".into(),
                            detail: detail.clone(),
                        }]
                    }),
                    PeerItem::Group(detail) => vec![Peer::Unresolved {
                        kind: field.key.clone(),
                        detail: detail.clone(),
                    }],
                    PeerItem::Nodes(sel) => vec![Peer::Nodes(self.scope_nodes(sel))],
                };
                if resolved
                    .iter()
                    .any(|p| matches!(p, Peer::Unresolved { .. }))
                {
                    self.unresolved
                        .push(format!("{}.{}[{i}]", item.path, field.key));
                }
                peers.extend(resolved);
            }
        }
        PeerSet::Some(peers)
    }

    /// `fromNodes`/`toNodes` with `enable-node-selector-labels`: the selector plus
    /// `reserved:remote-node Exists`, so it selects other nodes only — never pods, world or the
    /// local host (`cilium:pkg/k8s/apis/cilium.io/utils/utils.go` `ParseToCiliumRule`, test
    /// "parse-from-to-nodes-rule") — and the cluster label like any peer of the local cluster.
    fn scope_nodes(&self, selector: &EndpointSelector) -> EndpointSelector {
        let mut scoped = selector.clone();
        if !selector.mentions_key("remote-node") {
            scoped.add(Requirement::exists(LabelKey::new(
                LabelSource::Reserved,
                "remote-node",
            )));
        }
        if !selector.mentions_key(CLUSTER_KEY) {
            scoped.add(Requirement::equals(k8s_key(CLUSTER_KEY), self.cluster_name));
        }
        scoped
    }

    /// The peers of the services a `toServices` entry selects: a generated `toEndpoints`
    /// selector (scoped like any `toEndpoints`, `ParseToCiliumRule`) or the backends as
    /// generated `toCIDRSet` entries.
    fn service_peers(
        &self,
        targets: &[ServiceTarget],
        meta: &ObjectMeta,
        subject_is_init: bool,
    ) -> Vec<Peer> {
        let mut peers = Vec::new();
        for target in targets {
            match target {
                ServiceTarget::Pods {
                    namespace,
                    selector,
                } => {
                    // `appendSelector`: the service's selector as `k8s:` labels plus
                    // `k8s:io.kubernetes.pod.namespace=<the service's namespace>`.
                    let mut sel = EndpointSelector::wildcard();
                    for (k, v) in selector {
                        sel.add(Requirement::equals(k8s_key(k), v.clone()));
                    }
                    sel.add(namespace_is(namespace));
                    peers.push(Peer::Endpoints(self.scope_peer(
                        &sel,
                        meta,
                        subject_is_init,
                    )));
                }
                ServiceTarget::Backends(prefixes) => {
                    peers.extend(prefixes.iter().map(|p| Peer::Cidr {
                        prefix: *p,
                        except: Vec::new(),
                    }));
                }
            }
        }
        peers
    }

    /// Lowers a KNP `spec` (§1.13): one rule per `ingress[]`/`egress[]` item of the directions
    /// listed in `policyTypes`, plus a default-deny marker per listed direction without rules.
    pub fn lower_knp(&mut self, meta: &ObjectMeta, spec: &ast::KnpSpec) -> Vec<RuleId> {
        let namespace = meta
            .namespace
            .clone()
            .unwrap_or_else(|| "default".to_string());
        let pods = spec
            .pod_selector
            .as_ref()
            .map(|s| s.value.clone())
            .unwrap_or_default();
        let subject = Subject::Endpoints(scope_subject(&pods, Some(&namespace), None));
        let template = RuleTemplate {
            origin: meta.origin(),
            subject,
            auth: None,
            log: None,
        };
        let mut ids = Vec::new();
        for direction in Direction::BOTH {
            if !knp_enforces(spec, direction) {
                continue;
            }
            let items = knp_items(spec, direction);
            if items.is_empty() {
                let path = format!("spec.policyTypes[{}]", direction.as_str());
                let span = spec.policy_types.as_ref().map_or(spec.span, |p| p.span);
                let provenance = self.provenance(meta, &path, span);
                ids.push(self.push(
                    &template,
                    provenance,
                    direction,
                    RuleAction::Allow,
                    PeerSet::Some(Vec::new()),
                    PortMatch::Any,
                    true,
                ));
            }
            for item in items {
                let peers = match &item.peers {
                    Some(list) if !list.value.is_empty() => PeerSet::Some(
                        list.value
                            .iter()
                            .map(|p| self.knp_peer(&p.value, &namespace))
                            .collect(),
                    ),
                    _ => PeerSet::All,
                };
                let ports = match &item.ports {
                    Some(list) if !list.value.is_empty() => PortMatch::Ports(vec![PortRule {
                        ports: list
                            .value
                            .iter()
                            .map(|p| lower_port(p, Protocol::Tcp))
                            .collect(),
                        l7: L7Rules::None,
                        server_names: Vec::new(),
                        unsupported: Vec::new(),
                    }]),
                    _ => PortMatch::Any,
                };
                let provenance = self.provenance(meta, &item.path, item.span);
                ids.push(self.push(
                    &template,
                    provenance,
                    direction,
                    RuleAction::Allow,
                    peers,
                    ports,
                    true,
                ));
            }
        }
        ids
    }

    fn knp_peer(&self, peer: &KnpPeer, namespace: &str) -> Peer {
        match peer {
            KnpPeer::IpBlock { cidr, except } => Peer::Cidr {
                prefix: cidr.value,
                except: except.iter().map(|e| e.value).collect(),
            },
            KnpPeer::Selectors { pods, namespaces } => {
                let mut sel = pods.clone().unwrap_or_default();
                match namespaces {
                    None => sel.add(namespace_is(namespace)),
                    Some(ns_sel) if ns_sel.is_wildcard() => {
                        sel.add(Requirement::exists(k8s_key(POD_NAMESPACE_KEY)))
                    }
                    Some(ns_sel) => {
                        for req in ns_sel.requirements() {
                            let key = k8s_key(&format!("{NAMESPACE_LABELS_PREFIX}{}", req.key.key));
                            sel.add(Requirement::new(
                                key,
                                req.operator,
                                req.values.iter().cloned(),
                            ));
                        }
                    }
                }
                if !sel.mentions_key(CLUSTER_KEY) {
                    sel.add(Requirement::equals(k8s_key(CLUSTER_KEY), self.cluster_name));
                }
                Peer::Endpoints(sel)
            }
        }
    }
}

/// The KNP's rules of one direction (empty when the list is absent).
fn knp_items(spec: &ast::KnpSpec, direction: Direction) -> &[ast::KnpRule] {
    let rules = match direction {
        Direction::Ingress => spec.ingress.as_ref(),
        Direction::Egress => spec.egress.as_ref(),
    };
    rules.map(|r| r.value.as_slice()).unwrap_or_default()
}

/// `policyTypes` as the API server stores it (k8s.io/api networking/v1
/// `SetDefaults_NetworkPolicySpec`): an empty or absent list becomes `[Ingress]`, plus `Egress`
/// when `egress` has rules (`egress: []` does not count).
pub fn knp_policy_types(spec: &ast::KnpSpec) -> Vec<Direction> {
    match &spec.policy_types {
        Some(types) if !types.value.is_empty() => types.value.clone(),
        _ => {
            let mut types = vec![Direction::Ingress];
            if !knp_items(spec, Direction::Egress).is_empty() {
                types.push(Direction::Egress);
            }
            types
        }
    }
}

/// Does Cilium enforce `direction` for this KNP? Cilium (pkg/k8s/network_policy.go
/// `ParseNetworkPolicy`) turns every `ingress`/`egress` rule into an entry whatever
/// `policyTypes` says; without ingress rules, ingress is default-deny when the (defaulted)
/// types list `Ingress` or do not list `Egress`; without egress rules, egress is default-deny
/// when they list `Egress`.
pub fn knp_enforces(spec: &ast::KnpSpec, direction: Direction) -> bool {
    let types = knp_policy_types(spec);
    !knp_items(spec, direction).is_empty()
        || match direction {
            Direction::Ingress => {
                types.contains(&Direction::Ingress) || !types.contains(&Direction::Egress)
            }
            Direction::Egress => types.contains(&Direction::Egress),
        }
}

/// Rules of `direction` that `policyTypes` does not list: Cilium enforces them (see
/// [`knp_enforces`]), the Kubernetes API says they are ignored.
pub fn knp_rules_outside_policy_types(spec: &ast::KnpSpec, direction: Direction) -> bool {
    !knp_items(spec, direction).is_empty() && !knp_policy_types(spec).contains(&direction)
}

/// CNP/KNP subjects get the policy namespace; CCNP subjects (no namespace) are used as written.
/// Cilium (`pkg/policy/utils` `RulesToPolicyEntries`, `subjectSelector.AddMatch(podPrefixLbl,
/// namespace)`) sets the namespace in `matchLabels`, replacing a namespace the user wrote
/// there (`match_labels`: those values), but keeps `matchExpressions` on the namespace key: a
/// `NotIn [own namespace]` expression makes the subject select nothing. `match_labels: None`
/// (NetworkPolicy `podSelector`, whose origin is not kept) drops every requirement on the key.
fn scope_subject(
    selector: &EndpointSelector,
    namespace: Option<&str>,
    match_labels: Option<&[String]>,
) -> EndpointSelector {
    match namespace {
        Some(ns) => EndpointSelector::from_requirements(
            selector
                .requirements()
                .filter(|r| {
                    let from_match_labels = match match_labels {
                        None => true,
                        Some(values) => {
                            r.operator == policyc_ir::selector::Operator::In
                                && r.values.len() == 1
                                && r.values.iter().all(|v| values.contains(v))
                        }
                    };
                    !(r.key.key == POD_NAMESPACE_KEY && from_match_labels)
                })
                .cloned()
                .chain([namespace_is(ns)]),
        ),
        None => selector.clone(),
    }
}

/// The L4 part of a CNP/CCNP rule item. Cilium (pkg/policy/rule.go,
/// mergeIngressWithIdentities / mergeEgressWithIdentities): an item is L3-only ("all ports, all
/// protocols") only when it has neither `toPorts` nor `icmps` entries; otherwise each `toPorts`
/// entry adds entries for its own `ports` and each `icmps` entry for its own `fields` — so an
/// entry with none (`toPorts: [{}]`, `ports: []`, L7 rules without ports, `icmps: [{}]`) adds
/// nothing, and an item made only of such entries allows nothing (while its rule still puts the
/// endpoint into default deny). `PortMatch::Ports(vec![])` / `Icmps(vec![])` match nothing.
/// The L7 rules of an allow rule whose direction is not default-deny
/// (`enableDefaultDeny.<dir>: false`) restrict nothing: Cilium's `createL4Filter`
/// (`cilium:pkg/policy/l4.go`, `ensureWildcard`/`addWildcard`) adds an allow-all rule of the
/// same parser when none is there — HTTP `{}`, DNS `matchPattern: "*"`, Kafka `{}` (no topic),
/// generic L7 `{}` — so other L7 requests on these ports are not denied.
fn ensure_l7_wildcards(ports: &mut PortMatch) {
    let PortMatch::Ports(rules) = ports else {
        return;
    };
    for rule in rules {
        match &mut rule.l7 {
            L7Rules::None => {}
            L7Rules::Http(http) => {
                if !http
                    .iter()
                    .any(|r| *r == policyc_ir::l7::HttpRule::default())
                {
                    http.push(policyc_ir::l7::HttpRule::default());
                }
            }
            L7Rules::Dns(dns) => {
                let star = policyc_ir::FqdnPattern::pattern("*")
                    .map(policyc_ir::FqdnSelector::MatchPattern);
                if let Ok(star) = star {
                    if !dns.contains(&star) {
                        dns.push(star);
                    }
                }
            }
            L7Rules::Kafka(kafka) => {
                // `hasWildcard`: a Kafka rule without a topic.
                if !kafka.iter().any(|r| r.topic.is_none()) {
                    kafka.push(policyc_ir::l7::KafkaRule::default());
                }
            }
            L7Rules::Generic { rules, .. } => {
                if !rules.iter().any(std::collections::BTreeMap::is_empty) {
                    rules.push(std::collections::BTreeMap::new());
                }
            }
        }
    }
}

fn cilium_ports(item: &ast::PeerRule) -> PortMatch {
    if item.icmp_entries > 0 {
        let fields = item
            .icmps
            .as_ref()
            .map(|i| i.value.as_slice())
            .unwrap_or_default();
        return PortMatch::Icmps(fields.iter().map(|i| i.value).collect());
    }
    match item.to_ports.as_ref().filter(|p| !p.value.is_empty()) {
        Some(rules) => PortMatch::Ports(
            rules
                .value
                .iter()
                .filter(|rule| rule.ports.as_ref().is_some_and(|p| !p.value.is_empty()))
                .map(lower_port_rule)
                .collect(),
        ),
        None => PortMatch::Any,
    }
}

fn lower_port(port: &ast::PortProtocol, default_protocol: Protocol) -> PortProtocol {
    let protocol = port.protocol.as_ref().map_or(default_protocol, |p| p.value);
    let spec = match port.port.as_ref().map(|p| &p.value) {
        None => PortSpec::Range(PortRange::ALL),
        Some(PortValue::Named(name)) => PortSpec::Named(name.clone()),
        Some(PortValue::Number(n)) => PortSpec::Range(PortRange::from_port_end(
            *n,
            port.end_port.as_ref().map(|e| e.value),
        )),
    };
    PortProtocol {
        protocol,
        port: spec,
    }
}

fn lower_port_rule(rule: &ast::PortRule) -> PortRule {
    let ports = rule.ports.as_ref().map(|p| {
        p.value
            .iter()
            .map(|p| lower_port(p, Protocol::Any))
            .collect()
    });
    let l7 = match &rule.rules {
        None => L7Rules::None,
        Some(Sp { value: l7, .. }) => {
            if let Some(http) = &l7.http {
                L7Rules::Http(http.value.clone())
            } else if let Some(dns) = &l7.dns {
                L7Rules::Dns(dns.value.clone())
            } else if let Some(kafka) = &l7.kafka {
                L7Rules::Kafka(kafka.value.clone())
            } else if let Some(proto) = &l7.l7proto {
                L7Rules::Generic {
                    proto: proto.value.clone(),
                    rules: l7.l7.as_ref().map(|r| r.value.clone()).unwrap_or_default(),
                }
            } else {
                L7Rules::None
            }
        }
    };
    let mut unsupported = Vec::new();
    for (present, name) in [
        (rule.terminating_tls.is_some(), "terminatingTLS"),
        (rule.originating_tls.is_some(), "originatingTLS"),
        (rule.listener.is_some(), "listener"),
    ] {
        if present {
            unsupported.push(name.to_string());
        }
    }
    PortRule {
        ports: ports.unwrap_or_default(),
        l7,
        server_names: rule
            .server_names
            .as_ref()
            .map(|s| s.value.iter().map(|n| n.value.clone()).collect())
            .unwrap_or_default(),
        unsupported,
    }
}

/// The peers of a CIDR group's prefixes: each prefix as a CIDR peer with the rule's `except`.
/// Cilium selects the group's ipcache entries by the group label
/// (`cilium:pkg/policy/k8s/cilium_cidr_group.go` `applyCIDRGroup`) and excludes the excepted
/// CIDRs (`DoesNotExist`); policyc gives the group's prefixes the containment semantics of a
/// `cidr` peer (a more specific CIDR identity inside a group prefix matches too).
fn group_peers(prefixes: &[policyc_ir::Prefix], except: &[policyc_ir::Prefix]) -> Vec<Peer> {
    prefixes
        .iter()
        .map(|p| Peer::Cidr {
            prefix: *p,
            except: except.to_vec(),
        })
        .collect()
}
