//! What every lint rule reads: the loaded policy objects with their YAML trees, the IR rules
//! grouped by object, optional cluster addresses from an inventory, and helpers that turn rules
//! and YAML nodes into spans and finding contexts.

use super::yaml_ext::NodeExt;
use policyc_diagnostics::source::{SourceId, SourceMap, Span};
use policyc_diagnostics::ObjectContext;
use policyc_frontend::identity::endpoint_labels;
use policyc_frontend::inventory::Inventory;
use policyc_frontend::yaml::{self, Node};
use policyc_frontend::PolicyObject;
use policyc_ir::{LabelSet, PolicyKind, PolicyRule, RuleId};
use std::collections::HashMap;
use std::net::IpAddr;

/// What `--inventory` tells the lints about the cluster: pod and node addresses (for lints
/// about CIDR rules) and each pod's identity labels (for selectors that match nothing).
#[derive(Debug, Clone, Default)]
pub struct ClusterAddresses {
    /// Each address with what it belongs to (`pod default/web-1`, `node worker-1`).
    pub addresses: Vec<(IpAddr, String)>,
    /// Each pod (`namespace/name`) with its identity labels (namespace labels included).
    pub endpoint_labels: Vec<(String, LabelSet)>,
}

impl ClusterAddresses {
    /// Everything the lints read from an inventory.
    #[must_use]
    pub fn from_inventory(inventory: &Inventory) -> Self {
        let pods = inventory.endpoints.iter().flat_map(|e| {
            e.ips
                .iter()
                .map(move |ip| (*ip, format!("pod {}/{}", e.namespace, e.name)))
        });
        let nodes = inventory.nodes.iter().flat_map(|n| {
            n.ips
                .iter()
                .map(move |ip| (*ip, format!("node {}", n.name)))
        });
        let endpoint_labels = inventory
            .endpoints
            .iter()
            .map(|e| {
                let labels = endpoint_labels(
                    e,
                    &inventory.namespace_labels(&e.namespace),
                    &inventory.cluster,
                );
                (format!("{}/{}", e.namespace, e.name), labels)
            })
            .collect();
        Self {
            addresses: pods.chain(nodes).collect(),
            endpoint_labels,
        }
    }
}

/// The inputs of one lint run.
#[derive(Clone, Copy)]
pub struct LintInput<'a> {
    pub rules: &'a [PolicyRule],
    pub objects: &'a [PolicyObject],
    pub sources: &'a SourceMap,
    pub cluster: Option<&'a ClusterAddresses>,
}

/// One policy object as the lints see it.
pub struct ObjectView<'a> {
    pub object: &'a PolicyObject,
    /// The object's YAML mapping (`apiVersion`, `kind`, `metadata`, `spec`...), if found.
    pub root: Option<&'a Node>,
    pub rules: Vec<&'a PolicyRule>,
}

impl ObjectView<'_> {
    #[must_use]
    pub fn kind(&self) -> PolicyKind {
        self.object.kind
    }

    #[must_use]
    pub fn is_cilium(&self) -> bool {
        self.object.kind != PolicyKind::NetworkPolicy
    }
}

/// Lint-run state shared by every rule.
pub struct LintContext<'a> {
    pub input: LintInput<'a>,
    pub objects: Vec<ObjectView<'a>>,
    object_of_rule: HashMap<RuleId, usize>,
}

/// Parsed YAML documents per source file; must outlive the [`LintContext`] borrowing it.
#[derive(Default)]
pub struct YamlForest {
    files: HashMap<SourceId, Vec<yaml::Document>>,
}

impl YamlForest {
    /// Parses every file that holds one of `objects`.
    #[must_use]
    pub fn parse(objects: &[PolicyObject], sources: &SourceMap) -> Self {
        let mut files = HashMap::new();
        for object in objects {
            files
                .entry(object.source)
                .or_insert_with(|| yaml::parse_documents(sources, object.source).0);
        }
        Self { files }
    }

    fn node_at(&self, source: SourceId, start: usize) -> Option<&Node> {
        self.files
            .get(&source)?
            .iter()
            .find_map(|doc| doc.root.find_outermost_at(start))
    }
}

impl<'a> LintContext<'a> {
    #[must_use]
    pub fn new(input: LintInput<'a>, forest: &'a YamlForest) -> Self {
        let by_id: HashMap<RuleId, &PolicyRule> = input.rules.iter().map(|r| (r.id, r)).collect();
        let mut object_of_rule = HashMap::new();
        let objects = input
            .objects
            .iter()
            .enumerate()
            .map(|(index, object)| {
                let rules: Vec<&PolicyRule> = object
                    .rule_ids
                    .iter()
                    .filter_map(|id| by_id.get(id).copied())
                    .collect();
                for rule in &rules {
                    object_of_rule.insert(rule.id, index);
                }
                let root = forest.node_at(object.source, object.span.start);
                ObjectView {
                    object,
                    root,
                    rules,
                }
            })
            .collect();
        Self {
            input,
            objects,
            object_of_rule,
        }
    }

    /// The object a rule was lowered from.
    #[must_use]
    pub fn object_of(&self, rule: &PolicyRule) -> Option<&ObjectView<'a>> {
        self.object_of_rule
            .get(&rule.id)
            .and_then(|i| self.objects.get(*i))
    }

    /// Every rule that belongs to a valid object (rules of rejected objects are not linted).
    pub fn rules(&self) -> impl Iterator<Item = &'a PolicyRule> + '_ {
        self.objects
            .iter()
            .filter(|o| o.object.valid)
            .flat_map(|o| o.rules.iter().copied())
    }

    /// The valid objects.
    pub fn valid_objects(&self) -> impl Iterator<Item = &ObjectView<'a>> {
        self.objects.iter().filter(|o| o.object.valid)
    }

    /// The span of the rule item (`spec.ingress[0]`) the rule was lowered from.
    #[must_use]
    pub fn rule_span(&self, rule: &PolicyRule) -> Option<Span> {
        let object = self.object_of(rule)?;
        let start = usize::try_from(rule.provenance.start).ok()?;
        let end = usize::try_from(rule.provenance.end).ok()?;
        Some(Span::new(object.object.source, start, end))
    }

    /// The YAML node of the rule item, for finer spans.
    #[must_use]
    pub fn rule_node(&self, rule: &PolicyRule) -> Option<&'a Node> {
        let object = self.object_of(rule)?;
        let start = usize::try_from(rule.provenance.start).ok()?;
        object.root?.find_outermost_at(start)
    }

    /// The finding context for a YAML path inside `object`.
    #[must_use]
    pub fn object_context(object: &ObjectView<'_>, yaml_path: &str) -> ObjectContext {
        ObjectContext {
            kind: kind_name(object.object.kind).to_string(),
            namespace: object.object.namespace.clone(),
            name: object.object.name.clone(),
            yaml_path: yaml_path.to_string(),
            document: object.object.document,
        }
    }

    /// The finding context of a rule (its object and YAML path).
    #[must_use]
    pub fn rule_context(&self, rule: &PolicyRule) -> ObjectContext {
        match self.object_of(rule) {
            Some(object) => Self::object_context(object, &rule.provenance.path),
            None => ObjectContext {
                kind: kind_name(rule.origin.kind).to_string(),
                namespace: rule.origin.namespace.clone(),
                name: rule.origin.name.clone(),
                yaml_path: rule.provenance.path.clone(),
                document: usize::try_from(rule.provenance.document).unwrap_or_default(),
            },
        }
    }

    /// `default/allow-web spec.egress[1] (line 14)` for related-location labels and messages.
    #[must_use]
    pub fn describe_rule(&self, rule: &PolicyRule) -> String {
        format!(
            "{} {} (line {})",
            rule.origin, rule.provenance.path, rule.provenance.line
        )
    }
}

/// The full kind name used in finding contexts.
#[must_use]
pub fn kind_name(kind: PolicyKind) -> &'static str {
    match kind {
        PolicyKind::CiliumNetworkPolicy => "CiliumNetworkPolicy",
        PolicyKind::CiliumClusterwideNetworkPolicy => "CiliumClusterwideNetworkPolicy",
        PolicyKind::NetworkPolicy => "NetworkPolicy",
    }
}
