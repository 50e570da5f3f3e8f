//! YAML (1.2, multi-document, JSON included) → spanned generic tree of [`Node`]s.
//!
//! `parse_documents` never panics on any input: syntax errors, duplicate keys, bad aliases and
//! oversized documents become [`Finding`]s; documents before a syntax error are still returned.

mod builder;
mod node;
mod offsets;
mod scalar;
mod syntax_help;

pub use node::{Document, Node, NodeKind, Style};
pub use scalar::resolve_plain;

use policyc_diagnostics::source::{SourceId, SourceMap};
use policyc_diagnostics::Finding;

/// Bounds against hostile input; a document exceeding one is skipped with a finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Maximum nesting of sequences and mappings.
    pub max_depth: usize,
    /// Maximum nodes in one document, alias copies included.
    pub max_nodes: usize,
    /// Maximum nodes copied by alias expansion in one document.
    pub max_alias_nodes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 128,
            max_nodes: 1_000_000,
            max_alias_nodes: 100_000,
        }
    }
}

/// Parse every document of a file with the default [`Limits`]. Empty (or null) documents are
/// skipped; `Document::index` still counts them. An unknown `id` yields nothing.
#[must_use]
pub fn parse_documents(sources: &SourceMap, id: SourceId) -> (Vec<Document>, Vec<Finding>) {
    parse_documents_with(sources, id, &Limits::default())
}

/// [`parse_documents`] with explicit limits.
#[must_use]
pub fn parse_documents_with(
    sources: &SourceMap,
    id: SourceId,
    limits: &Limits,
) -> (Vec<Document>, Vec<Finding>) {
    let Some(file) = sources.get(id) else {
        return (Vec::new(), Vec::new());
    };
    let built = builder::Builder::new(&file.text, id, limits).run();
    (built.documents, built.findings)
}

#[cfg(test)]
mod tests;
