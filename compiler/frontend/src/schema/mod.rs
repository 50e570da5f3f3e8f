//! The schema walk: turns the spanned YAML tree of one policy object into the typed syntax tree
//! of `frontend::ast`, reporting every unknown field (with a did-you-mean hint), wrong type,
//! missing required field and malformed scalar — all of them, not just the first.
//!
//! [`Walker`] holds the findings and the typed accessors; the per-area walks live in the
//! submodules (`cilium` rules and peers, `ports` and L7, `selector`, `knp`).

pub mod cilium;
pub mod knp;
pub mod ports;
pub mod selector;

use crate::ast::Sp;
use crate::yaml::{Node, NodeKind};
use policyc_diagnostics::codes::{MISSING_FIELD, UNKNOWN_FIELD, WRONG_TYPE};
use policyc_diagnostics::source::Span;
use policyc_diagnostics::suggest::suggest;
use policyc_diagnostics::{Finding, ObjectContext};
use std::ops::Range;

/// `a list`, `a mapping`, ... for "expected X, found Y" messages.
pub fn describe(node: &Node) -> &'static str {
    match node.kind {
        NodeKind::Null => "null",
        NodeKind::Bool(_) => "a boolean",
        NodeKind::Int(_) => "an integer",
        NodeKind::Float(_) => "a number",
        NodeKind::Str(_) => "a string",
        NodeKind::Seq(_) => "a list",
        NodeKind::Map(_) => "a mapping",
    }
}

/// Collects findings for one policy object and offers typed access to YAML nodes.
pub struct Walker {
    pub findings: Vec<Finding>,
    /// Context attached to every finding (its `yaml_path` is set per finding).
    pub context: ObjectContext,
    /// Text of the file being walked, used to tidy label spans.
    text: Option<std::sync::Arc<str>>,
    /// Secret values for `headerMatches[].secret` (by namespace and name).
    pub secrets: std::sync::Arc<crate::inventory::Secrets>,
}

/// The end of a quoted scalar starting at `text[0]` (`"..."` with `\` escapes, `'...'` with
/// `''`), as a byte length including both quotes.
fn quoted_len(text: &str) -> Option<usize> {
    let quote = text.chars().next().filter(|c| matches!(c, '"' | '\''))?;
    let mut chars = text.char_indices().skip(1).peekable();
    while let Some((i, c)) = chars.next() {
        if quote == '"' && c == '\\' {
            chars.next();
        } else if c == quote {
            if quote == '\'' && chars.peek().is_some_and(|(_, n)| *n == '\'') {
                chars.next();
                continue;
            }
            return Some(i + 1);
        }
    }
    None
}

/// The entries of a mapping that passed the unknown-field check.
#[derive(Clone, Copy)]
pub struct Fields<'n> {
    pub node: &'n Node,
    entries: &'n [(Node, Node)],
}

impl<'n> Fields<'n> {
    /// The value of `key`, treating `key: null` like an absent key (as Kubernetes does).
    pub fn get(&self, key: &str) -> Option<&'n Node> {
        self.entry(key).map(|(_, v)| v)
    }

    /// Key node and value of `key` (absent or null ⇒ `None`).
    pub fn entry(&self, key: &str) -> Option<(&'n Node, &'n Node)> {
        self.entries
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k, v))
    }

    /// The value node of `key` when it is written as `key: null` (or `key:` with no value).
    pub fn null(&self, key: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, v)| k.as_str() == Some(key) && v.is_null())
            .map(|(_, v)| v)
    }

    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub fn span(&self) -> Span {
        self.node.span
    }

    /// Keys present (non-null), in source order, with their key spans.
    pub fn present(&self) -> impl Iterator<Item = (&'n str, Span)> + 'n {
        self.entries
            .iter()
            .filter(|(_, v)| !v.is_null())
            .filter_map(|(k, _)| k.as_str().map(|s| (s, k.span)))
    }
}

/// `path.key` (or `key` at the root).
pub fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

pub fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

/// The span of `range` inside a scalar when it is written verbatim, else the whole node.
pub fn sub_span(node: &Node, range: Range<usize>) -> Span {
    node.sub_span(range).unwrap_or(node.span)
}

impl Walker {
    pub fn new(context: ObjectContext) -> Self {
        Self {
            findings: Vec::new(),
            context,
            text: None,
            secrets: std::sync::Arc::default(),
        }
    }

    /// A walker that can see the file text (labels on quoted scalars end at the closing quote).
    pub fn with_text(context: ObjectContext, text: std::sync::Arc<str>) -> Self {
        Self {
            findings: Vec::new(),
            context,
            text: Some(text),
            secrets: std::sync::Arc::default(),
        }
    }

    /// Quoted scalars can carry spans that run to the end of their line (trailing blanks and
    /// comment included); cut such a label span at the closing quote.
    fn tidy(&self, span: Span) -> Span {
        let Some(raw) = self.text.as_deref().and_then(|t| t.get(span.range())) else {
            return span;
        };
        match quoted_len(raw) {
            Some(len) if len < raw.len() => Span::new(span.source, span.start, span.start + len),
            _ => span,
        }
    }

    /// A scalar as written in the file (without quotes), for messages: an integer too large for
    /// an i64 is held as a float, whose `Display` would round it (`1e20` for
    /// `99999999999999999999`).
    pub fn written(&self, node: &Node) -> String {
        let raw = self
            .text
            .as_deref()
            .and_then(|t| t.get(self.tidy(node.span).range()));
        match (raw, &node.kind) {
            (Some(raw), _) => raw.trim().trim_matches(['"', '\'']).to_string(),
            (None, NodeKind::Int(i)) => i.to_string(),
            (None, NodeKind::Float(f)) => f.to_string(),
            (None, NodeKind::Str(s)) => s.clone(),
            (None, _) => describe(node).to_string(),
        }
    }

    /// An integer that must lie in `range`; `what` names it in the message (`endPort`). An
    /// integer literal too large for an i64 is out of range too, shown as written.
    pub fn ranged_integer(
        &mut self,
        node: &Node,
        path: &str,
        what: &str,
        range: std::ops::RangeInclusive<i64>,
    ) -> Option<Sp<i64>> {
        let written = self.written(node);
        let overflow = matches!(node.kind, NodeKind::Float(_))
            && !written.is_empty()
            && written
                .strip_prefix(['-', '+'])
                .unwrap_or(&written)
                .bytes()
                .all(|b| b.is_ascii_digit());
        let value = match node.as_i64() {
            Some(v) => Some(v),
            None if overflow => None,
            None => {
                self.wrong_type(path, node, "an integer");
                return None;
            }
        };
        match value.filter(|v| range.contains(v)) {
            Some(v) => Some(Sp::new(v, node.span)),
            None => {
                self.report(
                    path,
                    Finding::error(
                        &policyc_diagnostics::codes::VALUE_OUT_OF_RANGE,
                        format!(
                            "{what} {written} is out of range ({}..{})",
                            range.start(),
                            range.end()
                        ),
                    )
                    .at(node.span, "out of range"),
                );
                None
            }
        }
    }

    /// Adds a finding with the object context and `path`.
    pub fn report(&mut self, path: &str, mut finding: Finding) {
        if let Some(primary) = &mut finding.primary {
            primary.span = self.tidy(primary.span);
        }
        for label in finding
            .secondary
            .iter_mut()
            .chain(finding.related.iter_mut())
        {
            label.span = self.tidy(label.span);
        }
        let context = ObjectContext {
            yaml_path: path.to_string(),
            ..self.context.clone()
        };
        self.findings.push(finding.context(context));
    }

    pub fn has_errors(&self) -> bool {
        self.findings
            .iter()
            .any(|f| f.severity == policyc_diagnostics::Severity::Error)
    }

    pub fn wrong_type(&mut self, path: &str, node: &Node, expected: &str) {
        let found = describe(node);
        let mut finding = Finding::error(
            &WRONG_TYPE,
            format!("`{path}` must be {expected}, found {found}"),
        )
        .at(node.span, format!("expected {expected}"));
        if expected == "a string"
            && matches!(
                node.kind,
                NodeKind::Int(_) | NodeKind::Bool(_) | NodeKind::Float(_)
            )
        {
            finding = finding.help("quote the value to make it a string");
        } else if expected == "a list" && matches!(node.kind, NodeKind::Map(_)) {
            finding = finding.help("start the entry with `- ` to make it a list item");
        }
        self.report(path, finding);
    }

    pub fn missing(&mut self, path: &str, field: &str, at: Span) {
        let finding = Finding::error(
            &MISSING_FIELD,
            format!("`{}` is required", join(path, field)),
        )
        .at(at, format!("`{field}` is missing here"));
        self.report(path, finding);
    }

    /// A mapping whose keys must all be in `known`; unknown keys are reported at the key with
    /// a did-you-mean hint (and `hint(key)` for fields that belong elsewhere).
    pub fn fields<'n>(
        &mut self,
        node: &'n Node,
        path: &str,
        known: &[&str],
        hint: &dyn Fn(&str) -> Option<String>,
    ) -> Option<Fields<'n>> {
        let Some(entries) = node.map_entries() else {
            self.wrong_type(path, node, "a mapping");
            return None;
        };
        for (key, _) in entries {
            match key.as_str() {
                Some(name) if known.contains(&name) => {}
                Some(name) => {
                    let place = if path.is_empty() {
                        "the object".to_string()
                    } else {
                        format!("`{path}`")
                    };
                    let mut finding = Finding::error(
                        &UNKNOWN_FIELD,
                        format!("unknown field `{name}` in {place}"),
                    )
                    .at(key.span, "unknown field");
                    let help = hint(name)
                        .or_else(|| suggest(name, known).map(|s| format!("did you mean `{s}`?")));
                    finding = match help {
                        Some(h) => finding.help(h),
                        None => finding.help(format!("known fields here: {}", known.join(", "))),
                    };
                    self.report(&join(path, name), finding);
                }
                None => self.wrong_type(path, key, "a string key"),
            }
        }
        Some(Fields { node, entries })
    }

    /// A mapping checked against `known`, without extra hints.
    pub fn object<'n>(&mut self, node: &'n Node, path: &str, known: &[&str]) -> Option<Fields<'n>> {
        self.fields(node, path, known, &|_| None)
    }

    pub fn list<'n>(&mut self, node: &'n Node, path: &str) -> Option<&'n [Node]> {
        let items = node.as_seq();
        if items.is_none() {
            self.wrong_type(path, node, "a list");
        }
        items
    }

    pub fn string(&mut self, node: &Node, path: &str) -> Option<Sp<String>> {
        match node.as_str() {
            Some(s) => Some(Sp::new(s.to_string(), node.span)),
            None => {
                self.wrong_type(path, node, "a string");
                None
            }
        }
    }

    pub fn boolean(&mut self, node: &Node, path: &str) -> Option<Sp<bool>> {
        match node.as_bool() {
            Some(b) => Some(Sp::new(b, node.span)),
            None => {
                self.wrong_type(path, node, "a boolean (true or false)");
                None
            }
        }
    }

    pub fn integer(&mut self, node: &Node, path: &str) -> Option<Sp<i64>> {
        match node.as_i64() {
            Some(i) => Some(Sp::new(i, node.span)),
            None => {
                self.wrong_type(path, node, "an integer");
                None
            }
        }
    }

    /// A list of strings; wrong items are reported and skipped.
    pub fn string_list(&mut self, node: &Node, path: &str) -> Option<Sp<Vec<Sp<String>>>> {
        let items = self.list(node, path)?;
        let values = items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| self.string(item, &index(path, i)))
            .collect();
        Some(Sp::new(values, node.span))
    }

    /// A string-to-string mapping (`matchLabels`, `l7` rules); returns the key nodes too.
    pub fn string_map<'n>(
        &mut self,
        node: &'n Node,
        path: &str,
    ) -> Option<Vec<(&'n Node, Sp<String>)>> {
        let Some(entries) = node.map_entries() else {
            self.wrong_type(path, node, "a mapping");
            return None;
        };
        let mut out = Vec::new();
        for (key, value) in entries {
            let Some(name) = key.as_str() else {
                self.wrong_type(path, key, "a string key");
                continue;
            };
            let value_path = join(path, name);
            if value.is_null() {
                // `key:` with no value is the empty string for map[string]string.
                out.push((key, Sp::new(String::new(), value.span)));
            } else if let Some(v) = self.string(value, &value_path) {
                out.push((key, v));
            }
        }
        Some(out)
    }
}
