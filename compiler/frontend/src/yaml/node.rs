//! The spanned YAML tree: [`Node`], [`NodeKind`], [`Style`] and accessors used by the schema layer.

use policyc_diagnostics::source::Span;
use std::ops::Range;

/// One YAML document of a file (empty documents are not represented).
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    /// 0-based position of the document in its file, counting empty documents too.
    pub index: usize,
    pub root: Node,
}

/// How a node was written. Only `Plain` scalars go through core-schema type resolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    /// `|` block scalar.
    Literal,
    /// `>` block scalar.
    Folded,
    /// Indentation-based mapping or sequence.
    Block,
    /// `{...}` or `[...]`.
    Flow,
}

/// A value with its resolved type (YAML 1.2 core schema).
#[derive(Clone, Debug, PartialEq)]
pub enum NodeKind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Entries in source order; duplicate keys are reported by the parser and kept here.
    Map(Vec<(Node, Node)>),
}

/// A YAML value and the bytes it was written as.
///
/// For scalars the span covers the value itself (including quotes, excluding any anchor or tag
/// when they can be told apart); for collections it runs from the first to the last character of
/// the collection. An alias node gets the span of the `*alias`; its children keep the spans of
/// the anchored definition.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub span: Span,
    pub kind: NodeKind,
    pub style: Style,
    /// Byte offset where the scalar's value appears verbatim in the source, if it does.
    verbatim_start: Option<usize>,
}

impl Node {
    /// A node without verbatim source text (no sub-spans available).
    #[must_use]
    pub fn new(span: Span, kind: NodeKind, style: Style) -> Self {
        Node {
            span,
            kind,
            style,
            verbatim_start: None,
        }
    }

    /// A scalar whose value is the exact source text starting at `verbatim_start`.
    pub(super) fn verbatim(
        span: Span,
        kind: NodeKind,
        style: Style,
        verbatim_start: Option<usize>,
    ) -> Self {
        Node {
            span,
            kind,
            style,
            verbatim_start,
        }
    }

    /// Human name of the type, for messages: `null`, `boolean`, `integer`, `float`, `string`, `sequence`, `mapping`.
    #[must_use]
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            NodeKind::Null => "null",
            NodeKind::Bool(_) => "boolean",
            NodeKind::Int(_) => "integer",
            NodeKind::Float(_) => "float",
            NodeKind::Str(_) => "string",
            NodeKind::Seq(_) => "sequence",
            NodeKind::Map(_) => "mapping",
        }
    }

    /// The value of the first entry whose key is the string `key`.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.get_entry(key).map(|(_, value)| value)
    }

    /// The first `(key, value)` entry whose key is the string `key`.
    #[must_use]
    pub fn get_entry(&self, key: &str) -> Option<&(Node, Node)> {
        self.map_entries()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
    }

    #[must_use]
    pub fn map_entries(&self) -> Option<&[(Node, Node)]> {
        match &self.kind {
            NodeKind::Map(entries) => Some(entries),
            _ => None,
        }
    }

    #[must_use]
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.kind {
            NodeKind::Seq(items) => Some(items),
            _ => None,
        }
    }

    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Str(s) => Some(s),
            _ => None,
        }
    }

    #[must_use]
    pub fn as_i64(&self) -> Option<i64> {
        match self.kind {
            NodeKind::Int(i) => Some(i),
            _ => None,
        }
    }

    #[must_use]
    pub fn as_f64(&self) -> Option<f64> {
        match self.kind {
            NodeKind::Float(f) => Some(f),
            _ => None,
        }
    }

    #[must_use]
    pub fn as_bool(&self) -> Option<bool> {
        match self.kind {
            NodeKind::Bool(b) => Some(b),
            _ => None,
        }
    }

    #[must_use]
    pub fn is_null(&self) -> bool {
        matches!(self.kind, NodeKind::Null)
    }

    #[must_use]
    pub fn is_scalar(&self) -> bool {
        !matches!(self.kind, NodeKind::Seq(_) | NodeKind::Map(_))
    }

    /// Span of `range` (byte offsets into the scalar's value) in the source, e.g. the `/33` of
    /// `10.0.0.0/33`. `None` unless the value appears verbatim in the source (plain or quoted
    /// single-line scalars without escapes) and the range lies on character boundaries within it.
    #[must_use]
    pub fn sub_span(&self, range: Range<usize>) -> Option<Span> {
        let start = self.verbatim_start?;
        let value = self.as_str()?;
        if range.start > range.end || value.get(range.clone()).is_none() {
            return None;
        }
        Some(Span::new(
            self.span.source,
            start + range.start,
            start + range.end,
        ))
    }

    /// Number of nodes in this subtree (itself included).
    #[must_use]
    pub fn node_count(&self) -> usize {
        1 + match &self.kind {
            NodeKind::Seq(items) => items.iter().map(Node::node_count).sum(),
            NodeKind::Map(entries) => entries
                .iter()
                .map(|(k, v)| k.node_count() + v.node_count())
                .sum(),
            _ => 0,
        }
    }
}
