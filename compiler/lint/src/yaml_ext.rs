//! Accessors the lints use on the frontend's spanned YAML tree ([`Node`]): typed lookups, scalar
//! text regardless of resolved type, and finding a rule item's node from its byte offset.

use policyc_diagnostics::source::Span;
use policyc_frontend::yaml::{Node, NodeKind, Style};

pub trait NodeExt {
    /// `(key node, value node)` of the entry named `key` of a mapping.
    fn entry(&self, key: &str) -> Option<(&Node, &Node)>;
    /// Items of a sequence (empty for anything else).
    fn items(&self) -> &[Node];
    /// The scalar as written: strings as-is, numbers and booleans in their canonical spelling.
    fn text(&self) -> Option<String>;
    fn is_empty_mapping(&self) -> bool;
    fn is_quoted(&self) -> bool;
    /// The span of a scalar's value without quotes when it appears verbatim, else the node's span.
    fn value_span(&self) -> Span;
    /// The outermost node whose span starts at byte `start`.
    fn find_outermost_at(&self, start: usize) -> Option<&Node>;
    /// The first mapping entry named `key` in this subtree, depth first in source order.
    fn find_entry(&self, key: &str) -> Option<(&Node, &Node)>;
    /// The first scalar in this subtree whose text satisfies `wanted`.
    fn find_scalar(&self, wanted: &dyn Fn(&str) -> bool) -> Option<&Node>;
}

impl NodeExt for Node {
    fn entry(&self, key: &str) -> Option<(&Node, &Node)> {
        self.get_entry(key).map(|(k, v)| (k, v))
    }

    fn items(&self) -> &[Node] {
        self.as_seq().unwrap_or_default()
    }

    fn text(&self) -> Option<String> {
        match &self.kind {
            NodeKind::Str(s) => Some(s.clone()),
            NodeKind::Int(i) => Some(i.to_string()),
            NodeKind::Float(f) => Some(f.to_string()),
            NodeKind::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    fn is_empty_mapping(&self) -> bool {
        self.map_entries().is_some_and(<[(Node, Node)]>::is_empty)
    }

    fn is_quoted(&self) -> bool {
        matches!(self.style, Style::SingleQuoted | Style::DoubleQuoted)
    }

    fn value_span(&self) -> Span {
        self.as_str()
            .and_then(|s| self.sub_span(0..s.len()))
            .unwrap_or(self.span)
    }

    fn find_outermost_at(&self, start: usize) -> Option<&Node> {
        if self.span.start == start {
            return Some(self);
        }
        if !(self.span.start..self.span.end).contains(&start) {
            return None;
        }
        match &self.kind {
            NodeKind::Seq(items) => items.iter().find_map(|c| c.find_outermost_at(start)),
            NodeKind::Map(entries) => entries.iter().find_map(|(_, v)| v.find_outermost_at(start)),
            _ => None,
        }
    }

    fn find_entry(&self, key: &str) -> Option<(&Node, &Node)> {
        match &self.kind {
            NodeKind::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(k, v)| (k, v))
                .or_else(|| entries.iter().find_map(|(_, v)| v.find_entry(key))),
            NodeKind::Seq(items) => items.iter().find_map(|n| n.find_entry(key)),
            _ => None,
        }
    }

    fn find_scalar(&self, wanted: &dyn Fn(&str) -> bool) -> Option<&Node> {
        match &self.kind {
            NodeKind::Seq(items) => items.iter().find_map(|n| n.find_scalar(wanted)),
            NodeKind::Map(entries) => entries.iter().find_map(|(_, v)| v.find_scalar(wanted)),
            _ => self.text().filter(|t| wanted(t)).map(|_| self),
        }
    }
}
