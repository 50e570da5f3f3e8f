//! `.policyc.toml` into the spanned tree the YAML configuration is read as, so one schema
//! (`schema.rs`) checks both and reports at the same line and column.

use policyc_diagnostics::source::{SourceId, Span};
use policyc_diagnostics::{codes, Finding};
use policyc_frontend::yaml::{Node, NodeKind, Style};
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// The TOML document as one mapping node, or its syntax error at its place.
pub fn parse(text: &str, id: SourceId) -> Result<Node, Box<Finding>> {
    match DeTable::parse(text) {
        Ok(table) => {
            let span = table.span();
            Ok(table_node(
                table.get_ref(),
                Span::new(id, span.start, span.end),
                id,
            ))
        }
        Err(e) => {
            let finding = Finding::error(
                &codes::INVALID_CONFIG,
                format!("TOML syntax error: {}", e.message().trim_end()),
            );
            Err(Box::new(match e.span() {
                Some(range) => finding.at(Span::new(id, range.start, range.end), "here"),
                None => finding,
            }))
        }
    }
}

fn span_of<T>(spanned: &Spanned<T>, id: SourceId) -> Span {
    let range = spanned.span();
    Span::new(id, range.start, range.end)
}

fn table_node(table: &DeTable<'_>, span: Span, id: SourceId) -> Node {
    let entries = table
        .iter()
        .map(|(key, value)| {
            (
                Node::new(
                    span_of(key, id),
                    NodeKind::Str(key.get_ref().to_string()),
                    Style::Plain,
                ),
                value_node(value, id),
            )
        })
        .collect();
    Node::new(span, NodeKind::Map(entries), Style::Block)
}

fn value_node(value: &Spanned<DeValue<'_>>, id: SourceId) -> Node {
    let span = span_of(value, id);
    let kind = match value.get_ref() {
        DeValue::String(s) => NodeKind::Str(s.to_string()),
        DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
            Ok(n) => NodeKind::Int(n),
            Err(_) => NodeKind::Str(i.as_str().to_string()),
        },
        DeValue::Float(f) => NodeKind::Float(f.as_str().parse().unwrap_or(f64::NAN)),
        DeValue::Boolean(b) => NodeKind::Bool(*b),
        // No configuration key takes a date: as the text written, like YAML's plain scalar.
        DeValue::Datetime(d) => NodeKind::Str(d.to_string()),
        DeValue::Array(items) => NodeKind::Seq(items.iter().map(|v| value_node(v, id)).collect()),
        DeValue::Table(table) => return table_node(table, span, id),
    };
    Node::new(span, kind, Style::Plain)
}
