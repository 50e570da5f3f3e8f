//! `classifier.json`: what the loader needs to admit a new endpoint without recompiling — the
//! rules, per endpoint and direction the rules selecting it and a table from *match signature*
//! (the sorted ids of the selected rules whose peers match an identity, as in resolution) to
//! the datapath class, and the endpoint label sets with the data to number a new one exactly as
//! the compiler does (`policyc_ir::endpoint_identity`). Endpoints with equal tables share one
//! shape entry, in order of first use.

use super::compile::Compilation;
use policyc_compile::optimize::layout::Keying;
use policyc_compile::optimize::DirectionClasses;
use policyc_ir::identity::IdentityKind;
use policyc_ir::labels::NAMESPACE_LABELS_PREFIX;
use policyc_ir::universe::Universe;
use policyc_ir::{Direction, PolicyRule, ReservedIdentity, RuleId};
use std::collections::{BTreeMap, HashMap};

pub use policyc_backends::classifier::{
    Classifier, ClassifierDirection, ClassifierEndpoint, ClassifierIdentity, ClassifierShape,
    ClassifierSignature, ClassifierTemplate, CLASSIFIER_FILE,
};

/// `specialized`: the endpoint runs generated code that reads only `pc_class` and treats a miss
/// as class 0 (`build/specialize/images.rs`), so every class but 0 is class-keyed there,
/// whatever the table layout chose.
fn direction(
    resolved: &policyc_compile::resolve::ResolvedDirection,
    classes: &DirectionClasses,
    layout: &policyc_compile::optimize::layout::DirectionLayout,
    specialized: bool,
) -> ClassifierDirection {
    let host = ReservedIdentity::Host.number();
    let mut table: BTreeMap<Vec<RuleId>, u32> = BTreeMap::new();
    for group in &resolved.groups {
        // The host is its own signature in resolution (localhost); never an endpoint's peer.
        let Some(id) = group.identities.iter().find(|id| id.0 != host) else {
            continue;
        };
        let mut rules = group.matching_rules.clone();
        rules.sort();
        table.insert(rules, classes.class_for(*id).0);
    }
    table
        .entry(Vec::new())
        .or_insert(DirectionClasses::UNKNOWN.0);
    // An identity-keyed class always has identities (the layout class-keys empty classes), so
    // its first identity's functions serve as the template for admitted ones.
    let identity_keyed = layout
        .keying
        .iter()
        .filter(|(_, k)| !specialized && **k == Keying::Identity)
        .filter_map(|(class, _)| {
            let identity = classes.class_of.iter().find(|(_, c)| *c == class)?.0;
            Some(ClassifierTemplate {
                class: class.0,
                identity: identity.0,
            })
        })
        .collect();
    ClassifierDirection {
        direction: resolved.direction,
        tables_enforced: layout.tables.enforced,
        unknown_class: if specialized {
            DirectionClasses::UNKNOWN.0
        } else {
            layout.tables.unknown_class
        },
        identity_keyed,
        selected_rules: resolved.selected_rules.clone(),
        signatures: table
            .into_iter()
            .map(|(rules, class)| ClassifierSignature { rules, class })
            .collect(),
    }
}

/// The classifier of a compilation.
pub fn build_classifier(
    compilation: &Compilation,
    universe: &Universe,
    rules: &[PolicyRule],
) -> Classifier {
    let endpoint_identities = universe
        .identities()
        .values()
        .filter(|i| i.kind == IdentityKind::Endpoint)
        .map(|i| ClassifierIdentity {
            id: i.id.0,
            labels: i.labels.iter().collect(),
        })
        .collect();
    let mut namespace_labels: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for ep in universe.endpoints() {
        let entry = namespace_labels
            .entry(ep.key.namespace.clone())
            .or_default();
        for label in ep.labels.iter() {
            if let Some(key) = label.key.strip_prefix(NAMESPACE_LABELS_PREFIX) {
                entry.insert(key.to_string(), label.value.clone());
            }
        }
    }
    let mut shapes: Vec<ClassifierShape> = Vec::new();
    let mut shape_index: HashMap<ClassifierShape, usize> = HashMap::new();
    let mut endpoints = Vec::with_capacity(compilation.endpoints.len());
    for e in &compilation.endpoints {
        let shape = ClassifierShape {
            directions: Direction::BOTH
                .into_iter()
                .map(|d| {
                    direction(
                        e.resolved.direction(d),
                        e.optimized.classes(d),
                        e.optimized.layout(d),
                        e.object.is_specialized(),
                    )
                })
                .collect(),
        };
        let index = *shape_index.entry(shape).or_insert_with_key(|shape| {
            shapes.push(shape.clone());
            shapes.len() - 1
        });
        endpoints.push(ClassifierEndpoint {
            name: e.key.to_string(),
            shape: index,
        });
    }
    Classifier {
        cluster: universe.cluster().to_string(),
        rules: rules.to_vec(),
        endpoint_identities,
        namespace_labels,
        shapes,
        endpoints,
    }
}
