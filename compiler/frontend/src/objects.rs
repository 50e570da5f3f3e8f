//! Object recognition: which YAML documents (and `kind: List` items) are policies we read,
//! which are other Kubernetes objects to skip silently, and which are policy-like objects we
//! report as unsupported.

use crate::schema::index;
use crate::yaml::Node;
use policyc_diagnostics::codes::{NOT_A_POLICY_OBJECT, UNKNOWN_KIND, UNSUPPORTED_API_VERSION};
use policyc_diagnostics::source::{SourceId, Span};
use policyc_diagnostics::suggest::suggest;
use policyc_diagnostics::{Finding, ObjectContext, Severity};
use policyc_ir::{PolicyKind, RuleId};
use std::collections::BTreeMap;

/// A policy object found in a document: its kind, root node and path (`items[2]` in a List).
pub struct FoundPolicy<'n> {
    pub kind: PolicyKind,
    pub node: &'n Node,
    pub path: String,
}

const POLICY_KINDS: &[&str] = &[
    "CiliumNetworkPolicy",
    "CiliumClusterwideNetworkPolicy",
    "NetworkPolicy",
];

fn policy_kind(api_version: &str, kind: &str) -> Option<PolicyKind> {
    match (api_version, kind) {
        ("cilium.io/v2", "CiliumNetworkPolicy") => Some(PolicyKind::CiliumNetworkPolicy),
        ("cilium.io/v2", "CiliumClusterwideNetworkPolicy") => {
            Some(PolicyKind::CiliumClusterwideNetworkPolicy)
        }
        ("networking.k8s.io/v1", "NetworkPolicy") => Some(PolicyKind::NetworkPolicy),
        _ => None,
    }
}

fn expected_api_version(kind: &str) -> &'static str {
    if kind == "NetworkPolicy" {
        "networking.k8s.io/v1"
    } else {
        "cilium.io/v2"
    }
}

/// Is this a policy-like object we do not read (AdminNetworkPolicy, a misspelt Cilium policy
/// kind, ...)? Other objects of policy API groups (CiliumCIDRGroup, CiliumEnvoyConfig) are not.
fn is_policy_like(api_version: &str, kind: &str) -> bool {
    let group = api_version.split_once('/').map_or("", |(g, _)| g);
    kind.contains("Policy")
        && (group.ends_with("cilium.io") || group.ends_with("networking.k8s.io"))
        || kind.ends_with("NetworkPolicy")
}

/// Finds the policies in one document root, reporting malformed and unsupported objects.
pub fn find_policies<'n>(
    root: &'n Node,
    document: usize,
    findings: &mut Vec<Finding>,
) -> Vec<FoundPolicy<'n>> {
    let mut out = Vec::new();
    visit(root, String::new(), document, findings, &mut out, 0);
    out
}

fn context(document: usize, path: &str, kind: &str) -> ObjectContext {
    ObjectContext {
        kind: kind.to_string(),
        document,
        yaml_path: path.to_string(),
        ..ObjectContext::default()
    }
}

fn visit<'n>(
    node: &'n Node,
    path: String,
    document: usize,
    findings: &mut Vec<Finding>,
    out: &mut Vec<FoundPolicy<'n>>,
    depth: usize,
) {
    if node.map_entries().is_none() {
        // A top-level document that is no object at all is most likely some other YAML file
        // (CI config, Helm values): skipped with a warning. Inside a `List` it is an error.
        let severity = if depth == 0 {
            Severity::Warning
        } else {
            Severity::Error
        };
        findings.push(
            Finding::new(
                &NOT_A_POLICY_OBJECT,
                format!(
                    "expected a Kubernetes object (a mapping with apiVersion and kind), found {}; skipped",
                    super::schema::describe(node)
                ),
            )
            .severity(severity)
            .at(node.span, "not an object")
            .context(context(document, &path, "")),
        );
        return;
    }
    let api_version = node.get("apiVersion").and_then(Node::as_str);
    let kind = node.get("kind").and_then(Node::as_str);
    let (Some(api_version), Some(kind)) = (api_version, kind) else {
        let missing = if kind.is_none() { "kind" } else { "apiVersion" };
        let neither = api_version.is_none() && kind.is_none();
        let severity = if neither && depth == 0 {
            Severity::Warning
        } else {
            Severity::Error
        };
        let message = if neither {
            "this document has neither `apiVersion` nor `kind`: it is not a Kubernetes object; skipped".to_string()
        } else {
            format!("this object has no `{missing}` (a string), so it cannot be read")
        };
        findings.push(
            Finding::new(&NOT_A_POLICY_OBJECT, message)
                .severity(severity)
                .at(node.span, format!("`{missing}` missing"))
                .context(context(document, &path, kind.unwrap_or_default())),
        );
        return;
    };
    if kind == "List" || (kind.ends_with("List") && node.get("items").is_some()) {
        match node.get("items").map(|items| (items, items.as_seq())) {
            Some((_, Some(items))) if depth < 4 => {
                for (i, item) in items.iter().enumerate() {
                    let item_path = if path.is_empty() {
                        index("items", i)
                    } else {
                        index(&format!("{path}.items"), i)
                    };
                    visit(item, item_path, document, findings, out, depth + 1);
                }
            }
            Some((items, None)) if !items.is_null() => findings.push(
                Finding::error(
                    &policyc_diagnostics::codes::WRONG_TYPE,
                    format!(
                        "`items` must be a list, found {}",
                        super::schema::describe(items)
                    ),
                )
                .at(items.span, "expected a list")
                .context(context(document, &path, kind)),
            ),
            _ => {}
        }
        return;
    }
    if let Some(policy) = policy_kind(api_version, kind) {
        out.push(FoundPolicy {
            kind: policy,
            node,
            path,
        });
        return;
    }
    let version_span = node.get("apiVersion").map_or(node.span, |n| n.span);
    let kind_span = node.get("kind").map_or(node.span, |n| n.span);
    if POLICY_KINDS.contains(&kind) {
        let expected = expected_api_version(kind);
        findings.push(
            Finding::warning(
                &UNSUPPORTED_API_VERSION,
                format!("{kind} `{api_version}` is not supported; this object is not checked"),
            )
            .at(
                version_span,
                format!("policyc reads {kind} as `{expected}`"),
            )
            .help(format!("use `apiVersion: {expected}`"))
            .context(context(document, &path, kind)),
        );
        return;
    }
    let group = api_version.split_once('/').map_or("", |(g, _)| g);
    let suggestion = suggest(kind, POLICY_KINDS);
    // A near-miss of one of our kinds in one of our API groups is a typo: kubectl would
    // refuse it, and skipping it silently would hide a whole policy.
    let typo = matches!(group, "cilium.io" | "networking.k8s.io")
        && suggestion.is_some()
        && (kind.contains("Polic") || kind.to_ascii_lowercase().contains("network"));
    if typo || is_policy_like(api_version, kind) {
        let severity = if typo {
            Severity::Error
        } else {
            Severity::Warning
        };
        let mut finding = Finding::new(
            &UNKNOWN_KIND,
            format!("unsupported policy kind `{kind}` ({api_version}); it is not checked"),
        )
        .severity(severity)
        .at(kind_span, "not a kind policyc reads")
        .context(context(document, &path, kind));
        finding = match suggestion.filter(|_| typo) {
            Some(s) => finding.help(format!("did you mean `{s}`?")),
            None => finding.help(format!("policyc reads {}", POLICY_KINDS.join(", "))),
        };
        findings.push(finding);
    }
    // Any other Kubernetes object (Deployment, Service, CiliumCIDRGroup, ...) is skipped.
}

/// One policy object found in the input.
#[derive(Debug, Clone)]
pub struct PolicyObject {
    pub kind: PolicyKind,
    /// Effective namespace (`default` when a CNP/KNP names none); `None` for CCNPs.
    pub namespace: Option<String>,
    pub name: String,
    pub source: SourceId,
    /// 0-based document index in its file.
    pub document: usize,
    /// Span of the object's mapping.
    pub span: Span,
    /// Span of the `metadata.name` value, when there is one.
    pub name_span: Option<Span>,
    pub annotations: BTreeMap<String, String>,
    /// Ids of the rules lowered from this object (empty when invalid).
    pub rule_ids: Vec<RuleId>,
    /// False when Cilium would reject the object (it has at least one error finding).
    pub valid: bool,
    /// Every use of a field that does not mean exactly what it means in Cilium
    /// (`field_status`), in source order.
    pub unenforced: Vec<crate::field_status::FieldUse>,
}

impl PolicyObject {
    /// `namespace/name` or `name`.
    pub fn qualified_name(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{ns}/{}", self.name),
            None => self.name.clone(),
        }
    }
}
