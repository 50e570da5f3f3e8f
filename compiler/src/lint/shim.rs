//! TEMPORARY stand-in for `frontend::{PolicySet, PolicyObject}` until the frontend lands.
use crate::diagnostics::Finding;
use crate::frontend::source::Span;
use crate::frontend::source::SourceId;
use policyc_ir::{PolicyKind, PolicyRule, RuleId};
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub struct PolicyObject {
    pub kind: PolicyKind,
    pub namespace: Option<String>,
    pub name: String,
    pub source: SourceId,
    pub document: usize,
    pub span: Span,
    pub annotations: BTreeMap<String, String>,
    pub rule_ids: Vec<RuleId>,
    pub valid: bool,
}

#[derive(Debug, Clone, Default)]
pub struct PolicySet {
    pub rules: Vec<PolicyRule>,
    pub objects: Vec<PolicyObject>,
    pub findings: Vec<Finding>,
}
