//! The frontend's entry points: read files or directories, parse YAML, recognise policy
//! objects, walk their schema, validate them and lower the valid ones into IR rules.
//! Invalid objects are listed (`valid: false`) but contribute no rules: Cilium drops a policy
//! object as a whole when any of its rules is invalid.

use crate::ast::{Rule, Sp};
use crate::duplicates::duplicate_objects;
use crate::input_files::{collect_input_files, is_yaml_or_json};
use crate::lower::{knp_rules_outside_policy_types, Lowerer, ObjectMeta};
pub use crate::objects::PolicyObject;
use crate::objects::{find_policies, FoundPolicy};
use crate::schema::{index, join, Walker};
use crate::validate::validate_rule;
use crate::yaml::{parse_documents, Node};
use policyc_diagnostics::codes::{
    EMPTY_POLICY, INVALID_OBJECT_NAME, KNP_IGNORED_RULES, MISSING_FIELD, NOT_UTF8, UNREADABLE_FILE,
};
use policyc_diagnostics::source::{SourceId, SourceMap};
use policyc_diagnostics::{Finding, ObjectContext, Severity};
use policyc_ir::{Direction, PolicyKind, PolicyRule, RuleId};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Knobs of the frontend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrontendOptions {
    /// Local cluster name added to endpoint peer selectors (`io.cilium.k8s.policy.cluster`).
    pub cluster_name: String,
    /// Secret values by (namespace, name) for `headerMatches[].secret` (from the inventory's
    /// Secret objects); a secret not here is unknown, and Cilium fails such a match.
    pub secrets: crate::inventory::Secrets,
    /// Services, EndpointSlices and CIDR groups for `toServices`, `cidrGroupRef` and
    /// `cidrGroupSelector` (from the inventory); without them these peers stay unresolved.
    pub runtime_peers: crate::runtime_peers::RuntimePeers,
    /// Cilium's `enable-node-selector-labels` (the inventory's `enableNodeSelectorLabels`):
    /// without it `fromNodes`/`toNodes` make a policy invalid, as in Cilium.
    pub node_selector_labels: bool,
}

impl Default for FrontendOptions {
    fn default() -> Self {
        Self {
            cluster_name: "default".to_string(),
            secrets: crate::inventory::Secrets::new(),
            runtime_peers: crate::runtime_peers::RuntimePeers::default(),
            node_selector_labels: false,
        }
    }
}

impl FrontendOptions {
    /// The options an inventory gives: its cluster name and its usable Secrets.
    #[must_use]
    pub fn for_inventory(inventory: &crate::inventory::Inventory) -> Self {
        Self {
            cluster_name: inventory.cluster.clone(),
            secrets: crate::inventory::secrets::usable(&inventory.secrets),
            runtime_peers: crate::runtime_peers::RuntimePeers::from_inventory(inventory),
            node_selector_labels: inventory.node_selector_labels,
        }
    }
}

/// Everything the frontend produced for a set of inputs.
#[derive(Debug, Clone, Default)]
pub struct PolicySet {
    /// Rules of valid objects, ids assigned in load order (`rules[i].id == RuleId(i)`).
    pub rules: Vec<PolicyRule>,
    pub objects: Vec<PolicyObject>,
    pub findings: Vec<Finding>,
    /// Files read, in load order.
    pub files: Vec<PathBuf>,
}

impl PolicySet {
    pub fn error_count(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count()
    }

    pub fn rule(&self, id: RuleId) -> Option<&PolicyRule> {
        self.rules.get(id.0 as usize).filter(|r| r.id == id)
    }

    /// The error findings that mean part of the input was not read at all (codes PC00xx: an
    /// unreadable file, a YAML error, an unknown kind, a policy defined twice): its policies
    /// are missing from `objects`, not rejected like an invalid object would be.
    pub fn load_errors(&self) -> Vec<Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error && f.code.category() == "syntax")
            .cloned()
            .collect()
    }
}

/// Loads policies from files and directories (recursively, sorted, `*.yaml|*.yml|*.json`).
/// A path that cannot be read, or a file reached twice, is an error finding; the rest is still
/// loaded.
pub fn load_policies(
    paths: &[PathBuf],
    options: &FrontendOptions,
    sources: &mut SourceMap,
) -> PolicySet {
    load_policies_where(paths, &|_| true, options, sources)
}

/// [`load_policies`], skipping the files and directories under `paths` for which `keep` is
/// false (the configuration's `exclude`); paths given themselves are always read.
pub fn load_policies_where(
    paths: &[PathBuf],
    keep: &dyn Fn(&std::path::Path) -> bool,
    options: &FrontendOptions,
    sources: &mut SourceMap,
) -> PolicySet {
    let inputs = collect_input_files(paths, &|p| keep(p) && is_yaml_or_json(p));
    let mut set = PolicySet {
        findings: inputs.findings,
        ..PolicySet::default()
    };
    let mut loaded = Vec::new();
    for file in inputs.files {
        match std::fs::read(&file) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => {
                    let id = sources.add(file.display().to_string(), text);
                    loaded.push(id);
                    set.files.push(file);
                }
                Err(_) => set.findings.push(Finding::error(
                    &NOT_UTF8,
                    format!("`{}` is not UTF-8 text", file.display()),
                )),
            },
            Err(err) => set.findings.push(Finding::error(
                &UNREADABLE_FILE,
                format!("cannot read `{}`: {err}", file.display()),
            )),
        }
    }
    load_sources(&loaded, options, sources, set)
}

/// Loads in-memory texts (tests, stdin, a git revision) registered under their names, in the
/// given order, into one policy set with dense rule ids.
pub fn load_policy_texts<'t>(
    texts: impl IntoIterator<Item = (&'t str, &'t str)>,
    options: &FrontendOptions,
    sources: &mut SourceMap,
) -> PolicySet {
    let mut set = PolicySet::default();
    let mut ids = Vec::new();
    for (name, text) in texts {
        ids.push(sources.add(name.to_string(), text.to_string()));
        set.files.push(PathBuf::from(name));
    }
    load_sources(&ids, options, sources, set)
}

/// Loads one in-memory text (tests, stdin) registered under `name`.
pub fn load_policy_text(
    name: &str,
    text: &str,
    options: &FrontendOptions,
    sources: &mut SourceMap,
) -> PolicySet {
    load_policy_texts([(name, text)], options, sources)
}

fn load_sources(
    ids: &[SourceId],
    options: &FrontendOptions,
    sources: &SourceMap,
    mut set: PolicySet,
) -> PolicySet {
    let mut lowerer = Lowerer::new(sources, &options.cluster_name);
    lowerer.secrets = std::sync::Arc::new(options.secrets.clone());
    lowerer.runtime_peers = std::sync::Arc::new(options.runtime_peers.clone());
    lowerer.node_selector_labels = options.node_selector_labels;
    for &id in ids {
        let (documents, parse_findings) = parse_documents(sources, id);
        set.findings.extend(parse_findings);
        for document in &documents {
            let mut object_findings = Vec::new();
            let found = find_policies(&document.root, document.index, &mut object_findings);
            set.findings.extend(object_findings);
            for policy in found {
                let (object, findings) = load_object(&policy, id, document.index, &mut lowerer);
                set.findings.extend(findings);
                set.objects.push(object);
            }
        }
    }
    set.rules = lowerer.rules;
    set.findings
        .extend(duplicate_objects(&set.objects, sources));
    set
}

const OBJECT_FIELDS_CILIUM: &[&str] =
    &["apiVersion", "kind", "metadata", "spec", "specs", "status"];
const OBJECT_FIELDS_KNP: &[&str] = &["apiVersion", "kind", "metadata", "spec", "status"];
const METADATA_FIELDS: &[&str] = &[
    "name",
    "namespace",
    "labels",
    "annotations",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "finalizers",
    "ownerReferences",
    "managedFields",
    "generateName",
    "selfLink",
];

/// Name (with its span), namespace and annotations from `metadata`.
fn metadata(
    walker: &mut Walker,
    node: &Node,
    path: &str,
) -> (Option<Sp<String>>, Option<String>, BTreeMap<String, String>) {
    let meta_path = join(path, "metadata");
    let mut annotations = BTreeMap::new();
    let Some(meta_node) = node.get("metadata").filter(|n| !n.is_null()) else {
        walker.missing(path, "metadata", node.span);
        return (None, None, annotations);
    };
    let Some(fields) = walker.object(meta_node, &meta_path, METADATA_FIELDS) else {
        return (None, None, annotations);
    };
    let name = fields
        .get("name")
        .and_then(|n| walker.string(n, &join(&meta_path, "name")));
    if let Some(n) = &name {
        check_name(walker, &join(&meta_path, "name"), n, true);
    }
    if !fields.has("name") {
        walker.report(
            &meta_path,
            Finding::error(&MISSING_FIELD, "`metadata.name` is required")
                .at(meta_node.span, "no `name`"),
        );
    }
    let namespace = fields
        .get("namespace")
        .and_then(|n| walker.string(n, &join(&meta_path, "namespace")));
    if let Some(ns) = &namespace {
        check_name(walker, &join(&meta_path, "namespace"), ns, false);
    }
    let namespace = namespace.map(|s| s.value);
    for key in ["annotations", "labels"] {
        if let Some(map) = fields.get(key) {
            if let Some(entries) = walker.string_map(map, &join(&meta_path, key)) {
                if key == "annotations" {
                    for (k, v) in entries {
                        annotations.insert(k.as_str().unwrap_or_default().to_string(), v.value);
                    }
                }
            }
        }
    }
    (name, namespace, annotations)
}

fn load_object(
    policy: &FoundPolicy<'_>,
    source: SourceId,
    document: usize,
    lowerer: &mut Lowerer<'_>,
) -> (PolicyObject, Vec<Finding>) {
    let kind = policy.kind;
    let path = policy.path.as_str();
    let context = ObjectContext {
        kind: format!("{kind:?}"),
        document,
        ..ObjectContext::default()
    };
    let mut walker = match lowerer.sources.get(source) {
        Some(file) => Walker::with_text(context, file.text.clone()),
        None => Walker::new(context),
    };
    walker.secrets = std::sync::Arc::clone(&lowerer.secrets);
    let known = if kind == PolicyKind::NetworkPolicy {
        OBJECT_FIELDS_KNP
    } else {
        OBJECT_FIELDS_CILIUM
    };
    let fields = walker.object(policy.node, path, known);
    let (name, namespace, annotations) = metadata(&mut walker, policy.node, path);
    let namespace = match kind {
        PolicyKind::CiliumClusterwideNetworkPolicy => None,
        _ => Some(namespace.unwrap_or_else(|| "default".to_string())),
    };
    let name_span = name.as_ref().map(|n| n.span);
    let name = name.map(|n| n.value).unwrap_or_default();
    walker.context.name = name.clone();
    walker.context.namespace = namespace.clone();
    for finding in &mut walker.findings {
        if let Some(ctx) = &mut finding.context {
            ctx.name = name.clone();
            ctx.namespace = namespace.clone();
        }
    }
    let meta = ObjectMeta {
        kind,
        namespace: namespace.clone(),
        name: name.clone(),
        source,
        document,
    };
    let mut rule_ids = Vec::new();
    match kind {
        PolicyKind::NetworkPolicy => {
            let spec = fields.and_then(|f| f.get("spec"));
            let spec = match spec {
                Some(node) => walker.knp_spec(node, &join(path, "spec")),
                None => {
                    walker.report(
                        path,
                        Finding::error(&EMPTY_POLICY, "this NetworkPolicy has no `spec`")
                            .at(policy.node.span, "no `spec`"),
                    );
                    None
                }
            };
            if let Some(spec) = spec {
                knp_ignored_rules(&mut walker, &spec);
                if !walker.has_errors() {
                    rule_ids = lowerer.lower_knp(&meta, &spec);
                }
            }
        }
        _ => {
            let mut rules: Vec<Rule> = Vec::new();
            let spec = fields.and_then(|f| f.get("spec"));
            let specs = fields.and_then(|f| f.get("specs"));
            if let Some(node) = spec {
                rules.extend(walker.cilium_rule(node, &join(path, "spec")));
            }
            if let Some(node) = specs {
                let specs_path = join(path, "specs");
                if let Some(items) = walker.list(node, &specs_path) {
                    for (i, item) in items.iter().enumerate() {
                        rules.extend(walker.cilium_rule(item, &index(&specs_path, i)));
                    }
                }
            }
            if spec.is_none() && specs.is_none() {
                walker.report(
                    path,
                    Finding::error(
                        &EMPTY_POLICY,
                        format!("this {kind:?} has neither `spec` nor `specs`"),
                    )
                    .at(
                        policy.node.get("kind").map_or(policy.node.span, |k| k.span),
                        "no rules",
                    )
                    .help("add a `spec` with an `endpointSelector` and `ingress`/`egress` rules"),
                );
            }
            for rule in &rules {
                validate_rule(&mut walker, kind, namespace.as_deref(), rule);
                crate::validate::node_peers_enabled(
                    &mut walker,
                    rule,
                    lowerer.node_selector_labels,
                );
            }
            if specs.is_some() {
                let qualified = match &namespace {
                    Some(ns) => format!("{ns}/{name}"),
                    None => name.clone(),
                };
                let note = format!(
                    "note: Cilium rejects the whole {kind:?} `{qualified}` when any of its specs is invalid"
                );
                for finding in walker
                    .findings
                    .iter_mut()
                    .filter(|f| f.severity == Severity::Error)
                {
                    finding.help = Some(match finding.help.take() {
                        Some(h) => format!("{h}\n{note}"),
                        None => note.clone(),
                    });
                }
            }
            if !walker.has_errors() {
                for rule in &rules {
                    rule_ids.extend(lowerer.lower_cilium_rule(&meta, rule));
                }
            }
        }
    }
    let valid = !walker.has_errors();
    let unresolved = lowerer.take_unresolved();
    let mut findings = walker.findings;
    findings.sort_by_key(|f| f.primary.as_ref().map(|p| (p.span.start, p.span.end)));
    let object = PolicyObject {
        kind,
        namespace,
        name,
        source,
        document,
        span: policy.node.span,
        name_span,
        annotations,
        rule_ids,
        valid,
        unenforced: crate::field_status::unenforced_uses(kind, policy.node, path)
            .into_iter()
            .filter(|u| !crate::field_status::resolved_runtime_peer(u, &unresolved))
            .collect(),
    };
    (object, findings)
}

fn knp_ignored_rules(walker: &mut Walker, spec: &crate::ast::KnpSpec) {
    for (direction, rules, name) in [
        (Direction::Ingress, &spec.ingress, "Ingress"),
        (Direction::Egress, &spec.egress, "Egress"),
    ] {
        let Some(rules) = rules else { continue };
        if knp_rules_outside_policy_types(spec, direction) {
            let at = spec.policy_types.as_ref().map_or(rules.span, |p| p.span);
            walker.report(
                "spec.policyTypes",
                Finding::warning(
                    &KNP_IGNORED_RULES,
                    format!(
                        "`policyTypes` does not list `{name}`: Kubernetes ignores these {} rules, but Cilium enforces them",
                        direction.as_str()
                    ),
                )
                .at(at, format!("`{name}` missing"))
                .secondary(rules.span, "rules Cilium enforces anyway")
                .help(format!(
                    "add `{name}` to policyTypes (what Cilium does anyway), or remove the rules"
                )),
            );
        }
    }
}

/// `metadata.name` must be a DNS-1123 subdomain, `metadata.namespace` a DNS-1123 label.
fn check_name(walker: &mut Walker, path: &str, value: &Sp<String>, subdomain: bool) {
    let text = value.value.as_str();
    let max = if subdomain { 253 } else { 63 };
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let ok = text.len() <= max
        && if subdomain {
            text.split('.').all(label_ok)
        } else {
            label_ok(text)
        };
    if !ok {
        let what = if subdomain {
            "a DNS-1123 subdomain: lower-case letters, digits, `-` and `.`, at most 253 characters"
        } else {
            "a DNS-1123 label: lower-case letters, digits and `-`, at most 63 characters"
        };
        walker.report(
            path,
            Finding::error(
                &INVALID_OBJECT_NAME,
                format!("`{text}` is not a valid Kubernetes name"),
            )
            .at(value.span, "invalid name")
            .help(format!(
                "it must be {what}, starting and ending with a letter or digit"
            )),
        );
    }
}
