//! One object per kind, namespace and name: Kubernetes keeps a single object under that key
//! (CiliumClusterwideNetworkPolicy has no namespace), so a second definition — in the same file
//! or another — would replace the first when applied. Merging both would silently enforce a
//! policy the cluster never has, so each second definition is an error naming both.

use crate::objects::PolicyObject;
use policyc_diagnostics::codes::DUPLICATE_POLICY;
use policyc_diagnostics::render::location::Region;
use policyc_diagnostics::source::SourceMap;
use policyc_diagnostics::Finding;
use policyc_ir::PolicyKind;
use std::collections::BTreeMap;

/// An error for every object whose kind, namespace and name an earlier object already has.
pub fn duplicate_objects(objects: &[PolicyObject], sources: &SourceMap) -> Vec<Finding> {
    let mut first: BTreeMap<(PolicyKind, Option<&str>, &str), &PolicyObject> = BTreeMap::new();
    let mut findings = Vec::new();
    for object in objects.iter().filter(|o| !o.name.is_empty()) {
        let key = (
            object.kind,
            object.namespace.as_deref(),
            object.name.as_str(),
        );
        let Some(earlier) = first.get(&key) else {
            first.insert(key, object);
            continue;
        };
        let where_first = Region::position(sources, earlier.name_span.unwrap_or(earlier.span));
        findings.push(
            Finding::error(
                &DUPLICATE_POLICY,
                format!(
                    "{:?} `{}` is defined twice (first at {where_first})",
                    object.kind,
                    object.qualified_name()
                ),
            )
            .at(object.name_span.unwrap_or(object.span), "second definition")
            .related(earlier.name_span.unwrap_or(earlier.span), "first definition")
            .help("Kubernetes keeps one object per kind, namespace and name: applying both leaves only the last one; rename one or merge them"),
        );
    }
    findings
}
