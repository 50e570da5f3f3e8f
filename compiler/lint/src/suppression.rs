//! Per-object suppression with the `policyc.io/ignore` annotation: parsing its value, dropping the
//! suppressed findings, and reporting suppressions without a reason (PC0315) or naming unknown or
//! unsuppressible codes (PC0316). The syntax is documented in PC0315's explanation.

use super::context::{LintContext, ObjectView};
use super::yaml_ext::NodeExt;
use policyc_diagnostics::source::Span;
use policyc_diagnostics::{codes, did_you_mean, Code, Finding, Severity};
use std::ops::Range;

/// The annotation listing suppressed codes.
pub const IGNORE_ANNOTATION: &str = "policyc.io/ignore";
/// The annotation giving the reason for codes listed without their own.
pub const IGNORE_REASON_ANNOTATION: &str = "policyc.io/ignore-reason";

/// One code named in the annotation value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoredCode {
    /// The code as written (`PC0311` or `broad-ingress-exposure`).
    pub text: String,
    /// Byte range of `text` inside the annotation value.
    pub range: Range<usize>,
    /// The reason of its entry (`PC0311: reason`), if any.
    pub reason: Option<String>,
}

/// Parses `CODE[, CODE...][: reason]` entries separated by `;` or new lines.
#[must_use]
pub fn parse_ignore(value: &str) -> Vec<IgnoredCode> {
    let mut out = Vec::new();
    let mut entry_start = 0;
    for entry in value.split_inclusive([';', '\n']) {
        let base = entry_start;
        entry_start += entry.len();
        let entry = entry.trim_end_matches([';', '\n']);
        let (codes_part, reason) = match entry.split_once(':') {
            Some((codes, reason)) => (
                codes,
                Some(reason.trim().to_string()).filter(|r| !r.is_empty()),
            ),
            None => (entry, None),
        };
        let mut offset = base;
        for piece in codes_part.split_inclusive([',', ' ', '\t']) {
            let text = piece.trim_matches([',', ' ', '\t', '\r']);
            if !text.is_empty() {
                let lead = piece.find(text).unwrap_or(0);
                out.push(IgnoredCode {
                    text: text.to_string(),
                    range: offset + lead..offset + lead + text.len(),
                    reason: reason.clone(),
                });
            }
            offset += piece.len();
        }
    }
    out
}

/// The suppressions of one object, resolved against the code registry.
struct ObjectSuppressions {
    span: Span,
    codes: Vec<&'static Code>,
}

/// The span of the annotation value (or of a part of it) in the object's YAML.
fn annotation_span(object: &ObjectView<'_>, range: Option<Range<usize>>) -> Span {
    let value = object
        .root
        .and_then(|r| r.get("metadata"))
        .and_then(|m| m.get("annotations"))
        .and_then(|a| a.get(IGNORE_ANNOTATION));
    match value {
        Some(node) => range
            .and_then(|r| node.sub_span(r))
            .unwrap_or_else(|| node.value_span()),
        None => object.object.span,
    }
}

fn check_object(
    object: &ObjectView<'_>,
    findings: &mut Vec<Finding>,
) -> Option<ObjectSuppressions> {
    let value = object.object.annotations.get(IGNORE_ANNOTATION)?;
    let shared_reason = object
        .object
        .annotations
        .get(IGNORE_REASON_ANNOTATION)
        .filter(|r| !r.trim().is_empty());
    let context =
        LintContext::object_context(object, &format!("metadata.annotations.{IGNORE_ANNOTATION}"));
    let mut resolved = Vec::new();
    let mut unexplained = Vec::new();
    for ignored in parse_ignore(value) {
        let code = codes::lookup(&ignored.text);
        match code {
            None => {
                let names = codes::ALL
                    .iter()
                    .map(|c| c.id)
                    .chain(codes::ALL.iter().map(|c| c.name));
                let hint = did_you_mean(
                    &ignored.text.to_ascii_uppercase(),
                    names.collect::<Vec<_>>().iter(),
                )
                .or_else(|| {
                    did_you_mean(
                        &ignored.text,
                        codes::ALL.iter().map(|c| c.name).collect::<Vec<_>>().iter(),
                    )
                })
                .unwrap_or_else(|| "list codes with `policyc lint --explain CODE`".to_string());
                findings.push(
                    Finding::new(
                        &codes::INVALID_IGNORE_CODE,
                        format!("`{}` is not a policyc finding code", ignored.text),
                    )
                    .at(
                        annotation_span(object, Some(ignored.range.clone())),
                        "unknown code: suppresses nothing",
                    )
                    .help(hint)
                    .context(context.clone()),
                );
            }
            Some(code) if code.default_severity == Severity::Error => {
                findings.push(
                    Finding::new(
                        &codes::INVALID_IGNORE_CODE,
                        format!(
                            "{} ({}) reports errors, which cannot be suppressed",
                            code.id, code.name
                        ),
                    )
                    .at(
                        annotation_span(object, Some(ignored.range.clone())),
                        "not suppressible",
                    )
                    .help("Cilium rejects a policy with this error; fix the policy instead")
                    .context(context.clone()),
                );
            }
            Some(code) => {
                if ignored.reason.is_none() && shared_reason.is_none() {
                    unexplained.push(ignored.clone());
                }
                resolved.push(code);
            }
        }
    }
    if let Some(first) = unexplained.first() {
        let listed: Vec<&str> = unexplained.iter().map(|c| c.text.as_str()).collect();
        findings.push(
            Finding::new(
                &codes::IGNORE_WITHOUT_REASON,
                format!("suppression of {} gives no reason", listed.join(", ")),
            )
            .at(annotation_span(object, Some(first.range.clone())), "no reason given")
            .help(format!(
                "write `{}: why it is fine`, or add the annotation `{IGNORE_REASON_ANNOTATION}: \"...\"`",
                first.text
            ))
            .context(context),
        );
    }
    Some(ObjectSuppressions {
        span: object.object.span,
        codes: resolved,
    })
}

/// Drops warnings and infos whose primary location lies in an object that suppresses their
/// code, and appends the findings about the annotations themselves.
#[must_use]
pub fn apply(findings: Vec<Finding>, objects: &[ObjectView<'_>]) -> Vec<Finding> {
    let mut annotation_findings = Vec::new();
    let suppressions: Vec<ObjectSuppressions> = objects
        .iter()
        .filter_map(|o| check_object(o, &mut annotation_findings))
        .collect();
    let suppressed = |finding: &Finding| {
        let Some(primary) = &finding.primary else {
            return false;
        };
        finding.severity != Severity::Error
            && suppressions.iter().any(|s| {
                s.span.source == primary.span.source
                    && s.span.start <= primary.span.start
                    && primary.span.end <= s.span.end
                    && s.codes.iter().any(|c| c.id == finding.code.id)
            })
    };
    findings
        .into_iter()
        .filter(|f| !suppressed(f))
        .chain(annotation_findings)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(value: &str) -> Vec<(String, String, Option<String>)> {
        parse_ignore(value)
            .into_iter()
            .map(|c| (c.text.clone(), value[c.range].to_string(), c.reason))
            .collect()
    }

    #[test]
    fn comma_list_without_reason() {
        let got = parsed("PC0301,PC0305");
        assert_eq!(
            got,
            vec![
                ("PC0301".into(), "PC0301".into(), None),
                ("PC0305".into(), "PC0305".into(), None)
            ]
        );
    }

    #[test]
    fn entries_with_reasons_keep_commas_in_reasons() {
        let got = parsed("PC0311: public gateway, on purpose; PC0302, dns-x: see ccnp");
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].2.as_deref(), Some("public gateway, on purpose"));
        assert_eq!(
            (got[1].1.as_str(), got[1].2.as_deref()),
            ("PC0302", Some("see ccnp"))
        );
        assert_eq!(got[2].1, "dns-x");
    }

    #[test]
    fn newline_separated_entries() {
        let got = parsed("PC0301: a\nPC0302: b\n");
        assert_eq!(
            got.iter()
                .map(|g| g.2.clone().unwrap_or_default())
                .collect::<Vec<_>>(),
            vec!["a", "b"]
        );
    }
}
