//! Label selectors (`matchLabels` + `matchExpressions`) → `ir::EndpointSelector`, with label
//! key/value checks pointing inside the key or value.

use super::{index, join, sub_span, Walker};
use crate::ast::Selector;
use crate::grammar::{check_label_value, parse_label_key};
use crate::yaml::Node;
use policyc_diagnostics::codes::{INVALID_ENUM_VALUE, INVALID_LABEL, INVALID_SELECTOR_EXPRESSION};
use policyc_diagnostics::suggest::suggest;
use policyc_diagnostics::Finding;
use policyc_ir::labels::LabelKey;
use policyc_ir::{EndpointSelector, LabelSource, Operator, Requirement};

pub const SELECTOR_FIELDS: &[&str] = &["matchLabels", "matchExpressions"];
const EXPRESSION_FIELDS: &[&str] = &["key", "operator", "values"];
const OPERATORS: &[&str] = &["In", "NotIn", "Exists", "DoesNotExist"];
const SOURCES: &[&str] = &[
    "k8s",
    "reserved",
    "any",
    "cidr",
    "fqdn",
    "cidrgroup",
    "container",
    "unspec",
];

impl Walker {
    fn label_key(
        &mut self,
        key_node: &Node,
        text: &str,
        path: &str,
        default_source: LabelSource,
    ) -> Option<LabelKey> {
        match parse_label_key(text, default_source) {
            Ok(key) => Some(key),
            Err(err) => {
                let mut finding = Finding::error(&INVALID_LABEL, err.message.clone())
                    .at(sub_span(key_node, err.range.clone()), "invalid label key");
                if let Some(src) = &err.unknown_source {
                    finding = finding.help(match suggest(src, SOURCES) {
                        Some(s) => {
                            format!("did you mean `{s}:`? known sources: {}", SOURCES.join(", "))
                        }
                        None => format!("known sources: {}", SOURCES.join(", ")),
                    });
                }
                self.report(path, finding);
                None
            }
        }
    }

    fn label_value(&mut self, node: &Node, value: &str, path: &str) -> bool {
        match check_label_value(value) {
            Ok(()) => true,
            Err(message) => {
                self.report(
                    path,
                    Finding::error(&INVALID_LABEL, message).at(node.span, "invalid label value"),
                );
                false
            }
        }
    }

    /// Parses a label selector; unprefixed keys get `default_source` (`any` for Cilium
    /// selectors, `k8s` for NetworkPolicy selectors).
    pub fn selector(
        &mut self,
        node: &Node,
        path: &str,
        default_source: LabelSource,
    ) -> Option<Selector> {
        let fields = self.object(node, path, SELECTOR_FIELDS)?;
        let mut selector = EndpointSelector::wildcard();
        let mut ok = true;
        if let Some(labels_node) = fields.get("matchLabels") {
            let labels_path = join(path, "matchLabels");
            match self.string_map(labels_node, &labels_path) {
                Some(labels) => {
                    for (key_node, value) in labels {
                        let key_text = key_node.as_str().unwrap_or_default();
                        let entry_path = join(&labels_path, key_text);
                        let key = self.label_key(key_node, key_text, &entry_path, default_source);
                        let value_ok = self.label_value(
                            labels_node.get(key_text).unwrap_or(key_node),
                            &value.value,
                            &entry_path,
                        );
                        match key {
                            Some(key) if value_ok => {
                                selector.add(Requirement::equals(key, value.value))
                            }
                            _ => ok = false,
                        }
                    }
                }
                None => ok = false,
            }
        }
        if let Some(exprs_node) = fields.get("matchExpressions") {
            let exprs_path = join(path, "matchExpressions");
            match self.list(exprs_node, &exprs_path) {
                Some(items) => {
                    for (i, item) in items.iter().enumerate() {
                        match self.expression(item, &index(&exprs_path, i), default_source) {
                            Some(req) => selector.add(req),
                            None => ok = false,
                        }
                    }
                }
                None => ok = false,
            }
        }
        ok.then(|| Selector::new(selector, node.span))
    }

    fn expression(
        &mut self,
        node: &Node,
        path: &str,
        default_source: LabelSource,
    ) -> Option<Requirement> {
        let fields = self.object(node, path, EXPRESSION_FIELDS)?;
        let key = match fields.get("key") {
            Some(key_node) => {
                let text = self.string(key_node, &join(path, "key"))?;
                self.label_key(key_node, &text.value, &join(path, "key"), default_source)
            }
            None => {
                self.missing(path, "key", node.span);
                None
            }
        };
        let operator = match fields.get("operator") {
            Some(op_node) => {
                let text = self.string(op_node, &join(path, "operator"))?;
                let op = match text.value.as_str() {
                    "In" => Some(Operator::In),
                    "NotIn" => Some(Operator::NotIn),
                    "Exists" => Some(Operator::Exists),
                    "DoesNotExist" => Some(Operator::DoesNotExist),
                    _ => None,
                };
                if op.is_none() {
                    let mut finding = Finding::error(
                        &INVALID_ENUM_VALUE,
                        format!(
                            "`{}` is not a selector operator (In, NotIn, Exists, DoesNotExist)",
                            text.value
                        ),
                    )
                    .at(op_node.span, "unknown operator");
                    if let Some(s) = suggest(&text.value, OPERATORS) {
                        finding = finding.help(format!("did you mean `{s}`?"));
                    }
                    self.report(&join(path, "operator"), finding);
                }
                op
            }
            None => {
                self.missing(path, "operator", node.span);
                None
            }
        };
        let values_path = join(path, "values");
        let values = match fields.get("values") {
            Some(v) => {
                let list = self.string_list(v, &values_path)?;
                let mut ok = true;
                for value in &list.value {
                    let value_node = v
                        .as_seq()
                        .and_then(|items| items.iter().find(|n| n.span == value.span))
                        .unwrap_or(v);
                    ok &= self.label_value(value_node, &value.value, &values_path);
                }
                if !ok {
                    return None;
                }
                Some(list)
            }
            None => None,
        };
        let (key, operator) = (key?, operator?);
        let count = values.as_ref().map_or(0, |v| v.value.len());
        let needs_values = matches!(operator, Operator::In | Operator::NotIn);
        if needs_values && count == 0 {
            let at = values.as_ref().map_or(node.span, |v| v.span);
            self.report(
                path,
                Finding::error(
                    &INVALID_SELECTOR_EXPRESSION,
                    format!("operator `{operator:?}` needs at least one value"),
                )
                .at(at, "no values"),
            );
            return None;
        }
        if !needs_values && count > 0 {
            let at = values.as_ref().map_or(node.span, |v| v.span);
            self.report(
                path,
                Finding::error(&INVALID_SELECTOR_EXPRESSION, format!("operator `{operator:?}` takes no values"))
                    .at(at, "remove these values")
                    .help("`Exists`/`DoesNotExist` test only the presence of the key; use `In` to match values"),
            );
            return None;
        }
        Some(Requirement::new(
            key,
            operator,
            values
                .map(|v| v.value.into_iter().map(|s| s.value))
                .into_iter()
                .flatten(),
        ))
    }
}
