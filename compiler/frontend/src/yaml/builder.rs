//! Builds [`Document`]s from saphyr-parser events with an explicit stack (no recursion), enforcing
//! [`Limits`] and reporting duplicate keys, bad aliases and syntax errors as findings.

use super::node::{Document, Node, NodeKind, Style};
use super::offsets::CharOffsets;
use super::scalar::{resolve_plain, resolve_tagged};
use super::syntax_help;
use super::Limits;
use policyc_diagnostics::source::{SourceId, Span};
use policyc_diagnostics::{codes, Finding};
use saphyr_parser::{Event, Parser, ScalarStyle, Span as YamlSpan, Tag};
use std::collections::HashMap;

/// A collection being filled.
enum Frame {
    Seq {
        start: usize,
        flow: bool,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        start: usize,
        flow: bool,
        anchor: usize,
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
        seen: HashMap<KeyId, Span>,
    },
}

/// Identity of a scalar key for duplicate detection (`80` and `"80"` are different keys).
#[derive(PartialEq, Eq, Hash)]
enum KeyId {
    Null,
    Bool(bool),
    Int(i64),
    Float(u64),
    Str(String),
}

impl KeyId {
    fn of(node: &Node) -> Option<KeyId> {
        Some(match &node.kind {
            NodeKind::Null => KeyId::Null,
            NodeKind::Bool(b) => KeyId::Bool(*b),
            NodeKind::Int(i) => KeyId::Int(*i),
            NodeKind::Float(f) => KeyId::Float(f.to_bits()),
            NodeKind::Str(s) => KeyId::Str(s.clone()),
            NodeKind::Seq(_) | NodeKind::Map(_) => return None,
        })
    }
}

/// Why the current document is being skipped.
struct Abort;

pub(super) struct Builder<'a> {
    text: &'a str,
    source: SourceId,
    limits: &'a Limits,
    offsets: CharOffsets,
    stack: Vec<Frame>,
    anchors: HashMap<usize, (Node, usize)>,
    nodes: usize,
    alias_nodes: usize,
    document_index: usize,
    root: Option<Node>,
    skipping: bool,
    pub(super) documents: Vec<Document>,
    pub(super) findings: Vec<Finding>,
}

impl<'a> Builder<'a> {
    pub(super) fn new(text: &'a str, source: SourceId, limits: &'a Limits) -> Self {
        Builder {
            text,
            source,
            limits,
            offsets: CharOffsets::new(text),
            stack: Vec::new(),
            anchors: HashMap::new(),
            nodes: 0,
            alias_nodes: 0,
            document_index: 0,
            root: None,
            skipping: false,
            documents: Vec::new(),
            findings: Vec::new(),
        }
    }

    /// Consume every event of the text. Stops at the first syntax error.
    pub(super) fn run(mut self) -> Self {
        let text = self.text;
        let mut parser = Parser::new_from_str(text);
        let mut started = false;
        while let Some(result) = parser.next_event() {
            match result {
                Ok((event, span)) => {
                    if matches!(event, Event::StreamEnd) {
                        break;
                    }
                    self.event(event, span, &mut started);
                }
                Err(error) => {
                    let offset = self.offsets.byte(error.marker().index());
                    let report = syntax_help::report(error.info());
                    // Point at the offending tabs themselves rather than just after them.
                    let tabs = text.get(..offset).map_or(0, |before| {
                        before.len() - before.trim_end_matches('\t').len()
                    });
                    let at = Span::new(self.source, offset - tabs, offset);
                    let mut finding =
                        Finding::new(report.code, format!("invalid YAML: {}", error.info()))
                            .at(at, report.label);
                    finding.help = report.help.map(str::to_owned);
                    self.findings.push(finding);
                    break;
                }
            }
        }
        self
    }

    fn event(&mut self, event: Event<'_>, span: YamlSpan, started: &mut bool) {
        match event {
            Event::DocumentStart(_) => {
                if *started {
                    self.document_index += 1;
                }
                *started = true;
                self.reset_document();
            }
            Event::DocumentEnd => self.finish_document(),
            _ if self.skipping => {}
            event => {
                if let Err(Abort) = self.node_event(event, span) {
                    self.skipping = true;
                }
            }
        }
    }

    fn reset_document(&mut self) {
        self.stack.clear();
        self.anchors.clear();
        self.nodes = 0;
        self.alias_nodes = 0;
        self.root = None;
        self.skipping = false;
    }

    fn finish_document(&mut self) {
        if let Some(root) = self.root.take() {
            if !self.skipping && !root.is_null() {
                self.documents.push(Document {
                    index: self.document_index,
                    root,
                });
            }
        }
        self.reset_document();
    }

    fn span(&self, span: YamlSpan) -> Span {
        Span::new(
            self.source,
            self.offsets.byte(span.start.index()),
            self.offsets.byte(span.end.index()),
        )
    }

    fn node_event(&mut self, event: Event<'_>, yaml_span: YamlSpan) -> Result<(), Abort> {
        let span = self.span(yaml_span);
        match event {
            Event::Scalar(value, style, anchor, tag) => {
                self.count_nodes(1, span)?;
                let node = self.scalar(&value, style, tag.as_deref(), span);
                self.complete(node, anchor, span)
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                self.count_nodes(1, span)?;
                if self.stack.len() >= self.limits.max_depth {
                    return Err(self.limit(
                        span,
                        format!("nesting deeper than {} levels", self.limits.max_depth),
                    ));
                }
                let flow = span.end > span.start
                    && matches!(self.text.as_bytes().get(span.end - 1), Some(b'[' | b'{'));
                let start = if flow { span.end - 1 } else { span.end };
                self.stack
                    .push(if matches!(event, Event::SequenceStart(..)) {
                        Frame::Seq {
                            start,
                            flow,
                            anchor,
                            items: Vec::new(),
                        }
                    } else {
                        Frame::Map {
                            start,
                            flow,
                            anchor,
                            entries: Vec::new(),
                            key: None,
                            seen: HashMap::new(),
                        }
                    });
                Ok(())
            }
            Event::SequenceEnd | Event::MappingEnd => match self.stack.pop() {
                Some(frame) => {
                    let (node, anchor) = self.close(frame, span);
                    self.complete(node, anchor, span)
                }
                None => Ok(()),
            },
            Event::Alias(anchor) => self.alias(anchor, span),
            Event::StreamStart
            | Event::StreamEnd
            | Event::Nothing
            | Event::DocumentStart(_)
            | Event::DocumentEnd => Ok(()),
        }
    }

    fn scalar(&self, value: &str, style: ScalarStyle, tag: Option<&Tag>, span: Span) -> Node {
        let node_style = match style {
            ScalarStyle::Plain => Style::Plain,
            ScalarStyle::SingleQuoted => Style::SingleQuoted,
            ScalarStyle::DoubleQuoted => Style::DoubleQuoted,
            ScalarStyle::Literal => Style::Literal,
            ScalarStyle::Folded => Style::Folded,
        };
        let core_tagged = tag
            .filter(|t| t.is_yaml_core_schema())
            .and_then(|t| resolve_tagged(&t.suffix, value));
        let kind = match core_tagged {
            Some(kind) => kind,
            None if node_style == Style::Plain => resolve_plain(value),
            None => NodeKind::Str(value.to_owned()),
        };
        let span = self.trim_quoted(node_style, span);
        match self.verbatim_start(value, node_style, span) {
            Some(start) => {
                let quote = usize::from(matches!(
                    node_style,
                    Style::SingleQuoted | Style::DoubleQuoted
                ));
                let value_span = Span::new(self.source, start - quote, span.end);
                Node::verbatim(value_span, kind, node_style, Some(start))
            }
            None => Node::new(span, kind, node_style),
        }
    }

    /// The parser's span of a quoted scalar may run past the closing quote (to a trailing
    /// comment or the end of the line); cut it right after the closing quote, found by scanning
    /// forward from the opening quote with the style's escape rules.
    fn trim_quoted(&self, style: Style, span: Span) -> Span {
        let quote = match style {
            Style::SingleQuoted => b'\'',
            Style::DoubleQuoted => b'"',
            _ => return span,
        };
        let Some(raw) = self.text.get(span.range()) else {
            return span;
        };
        let bytes = raw.as_bytes();
        let Some(open) = bytes.iter().position(|b| *b == quote) else {
            return span;
        };
        let mut i = open + 1;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' if quote == b'"' => i += 2,
                b if b == quote && quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') => i += 2,
                b if b == quote => return Span::new(span.source, span.start, span.start + i + 1),
                _ => i += 1,
            }
        }
        span
    }

    /// Where `value` appears unescaped at the end of `span` (after any anchor/tag), if it does.
    fn verbatim_start(&self, value: &str, style: Style, span: Span) -> Option<usize> {
        if value.contains(['\n', '\r']) {
            return None;
        }
        let raw = self.text.get(span.range())?;
        let (body, quote) = match style {
            Style::Plain => (raw, None),
            Style::SingleQuoted if !value.contains('\'') => (raw.strip_suffix('\'')?, Some('\'')),
            Style::DoubleQuoted if !value.contains(['\\', '"']) => {
                (raw.strip_suffix('"')?, Some('"'))
            }
            _ => return None,
        };
        let prefix = body.strip_suffix(value)?;
        if let Some(q) = quote {
            prefix.strip_suffix(q)?;
        }
        Some(span.start + prefix.len())
    }

    fn close(&self, frame: Frame, end_span: Span) -> (Node, usize) {
        let (start, flow, anchor, kind, first_start, last_end) = match frame {
            Frame::Seq {
                start,
                flow,
                anchor,
                items,
            } => {
                let last = items.last().map(|n| n.span.end);
                (start, flow, anchor, NodeKind::Seq(items), None, last)
            }
            Frame::Map {
                start,
                flow,
                anchor,
                entries,
                ..
            } => {
                let first = entries.first().map(|(k, _)| k.span.start);
                let last = entries.last().map(|(_, v)| v.span.end.max(v.span.start));
                (start, flow, anchor, NodeKind::Map(entries), first, last)
            }
        };
        let (start, end, style) = if flow {
            (start, end_span.end, Style::Flow)
        } else {
            let start = first_start.unwrap_or(start);
            (start, last_end.unwrap_or(start).max(start), Style::Block)
        };
        (
            Node::new(Span::new(self.source, start, end), kind, style),
            anchor,
        )
    }

    fn alias(&mut self, anchor: usize, span: Span) -> Result<(), Abort> {
        let Some((anchored, count)) = self.anchors.get(&anchor).cloned() else {
            self.findings.push(
                Finding::new(
                    &codes::INVALID_ALIAS,
                    "alias refers to an anchor that is not defined before it",
                )
                .at(span, "unknown or recursive alias"),
            );
            return Err(Abort);
        };
        self.alias_nodes = self.alias_nodes.saturating_add(count);
        if self.alias_nodes > self.limits.max_alias_nodes {
            return Err(self.limit(
                span,
                format!(
                    "aliases expand to more than {} nodes",
                    self.limits.max_alias_nodes
                ),
            ));
        }
        self.count_nodes(count, span)?;
        let depth_below = depth(&anchored);
        if self.stack.len() + depth_below > self.limits.max_depth {
            return Err(self.limit(
                span,
                format!("nesting deeper than {} levels", self.limits.max_depth),
            ));
        }
        let node = Node::new(span, anchored.kind, anchored.style);
        self.complete(node, 0, span)
    }

    fn count_nodes(&mut self, count: usize, span: Span) -> Result<(), Abort> {
        self.nodes = self.nodes.saturating_add(count);
        if self.nodes > self.limits.max_nodes {
            return Err(self.limit(span, format!("more than {} nodes", self.limits.max_nodes)));
        }
        Ok(())
    }

    fn limit(&mut self, span: Span, what: String) -> Abort {
        self.findings.push(
            Finding::new(
                &codes::YAML_LIMIT_EXCEEDED,
                format!("document skipped: {what}"),
            )
            .at(span, "limit exceeded here"),
        );
        Abort
    }

    /// Attach a finished node to its parent (or make it the document root).
    fn complete(&mut self, node: Node, anchor: usize, span: Span) -> Result<(), Abort> {
        if anchor != 0 {
            let count = node.node_count();
            self.anchors.insert(anchor, (node.clone(), count));
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                key: key @ None,
                seen,
                ..
            }) => {
                if let Some(id) = KeyId::of(&node) {
                    if let Some(first) = seen.get(&id) {
                        let name = node
                            .as_str()
                            .map_or_else(|| describe_key(&node), str::to_owned);
                        self.findings.push(
                            Finding::new(
                                &codes::DUPLICATE_KEY,
                                format!("duplicate key `{name}` in mapping"),
                            )
                            .at(node.span, "duplicate key")
                            .secondary(*first, "first defined here")
                            .help("remove one of the entries; tools disagree on which one wins"),
                        );
                    } else {
                        seen.insert(id, node.span);
                    }
                }
                *key = Some(node);
            }
            Some(Frame::Map { key, entries, .. }) => {
                let k = key
                    .take()
                    .unwrap_or_else(|| Node::new(span, NodeKind::Null, Style::Plain));
                entries.push((k, node));
            }
        }
        Ok(())
    }
}

fn describe_key(node: &Node) -> String {
    match &node.kind {
        NodeKind::Null => "null".into(),
        NodeKind::Bool(b) => b.to_string(),
        NodeKind::Int(i) => i.to_string(),
        NodeKind::Float(f) => f.to_string(),
        NodeKind::Str(s) => s.clone(),
        NodeKind::Seq(_) | NodeKind::Map(_) => node.type_name().into(),
    }
}

/// Nesting depth of a subtree (1 for a scalar). Bounded by the depth limit, so recursion is safe.
fn depth(node: &Node) -> usize {
    1 + match &node.kind {
        NodeKind::Seq(items) => items.iter().map(depth).max().unwrap_or(0),
        NodeKind::Map(entries) => entries
            .iter()
            .map(|(k, v)| depth(k).max(depth(v)))
            .max()
            .unwrap_or(0),
        _ => 0,
    }
}
