//! Stable finding fingerprints: the same problem keeps its fingerprint when lines move.
//!
//! Derived from code + file + object (kind, namespace, name, document) + YAML path; findings
//! without an object use the message instead. Repeats get an ordinal so each stays unique.

use crate::finding::Finding;
use crate::source::SourceMap;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// Key under which SARIF `partialFingerprints` carries the value.
pub const SARIF_KEY: &str = "policycFinding/v1";

/// One fingerprint per finding, in the same order (32 hex digits each).
#[must_use]
pub fn fingerprints(findings: &[Finding], sources: &SourceMap) -> Vec<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    findings
        .iter()
        .map(|finding| {
            let base = base_fingerprint(finding, sources);
            let count = seen.entry(base.clone()).or_insert(0);
            *count += 1;
            if *count == 1 {
                base
            } else {
                hash(&[&base, &count.to_string()])
            }
        })
        .collect()
}

fn base_fingerprint(finding: &Finding, sources: &SourceMap) -> String {
    let file = finding
        .primary
        .as_ref()
        .map_or("", |l| sources.path(l.span.source));
    let file = super::location::display_path(file);
    match &finding.context {
        Some(ctx) => hash(&[
            finding.code.id,
            &file,
            &ctx.kind,
            ctx.namespace.as_deref().unwrap_or(""),
            &ctx.name,
            &ctx.document.to_string(),
            &ctx.yaml_path,
        ]),
        None => hash(&[finding.code.id, &file, &finding.message]),
    }
}

fn hash(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.len().to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hex::encode(&hasher.finalize()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Span;
    use crate::{codes, ObjectContext};

    fn context(path: &str) -> ObjectContext {
        ObjectContext {
            kind: "CiliumNetworkPolicy".into(),
            namespace: Some("prod".into()),
            name: "db".into(),
            yaml_path: path.into(),
            document: 0,
        }
    }

    #[test]
    fn line_moves_do_not_change_fingerprints() {
        let mut map = SourceMap::new();
        let before = map.add("a.yaml", "x: 1\n");
        let after = map.add("a.yaml", "\n\n\nx: 1\n");
        let f1 = Finding::error(&codes::WRONG_TYPE, "m")
            .at(Span::new(before, 0, 1), "")
            .context(context("spec.ingress[0]"));
        let f2 = Finding::error(&codes::WRONG_TYPE, "m")
            .at(Span::new(after, 3, 4), "")
            .context(context("spec.ingress[0]"));
        assert_eq!(fingerprints(&[f1], &map), fingerprints(&[f2], &map));
    }

    #[test]
    fn different_paths_and_repeats_differ() {
        let mut map = SourceMap::new();
        let id = map.add("a.yaml", "x: 1\n");
        let make = |path: &str| {
            Finding::error(&codes::WRONG_TYPE, "m")
                .at(Span::new(id, 0, 1), "")
                .context(context(path))
        };
        let prints = fingerprints(
            &[
                make("spec.ingress[0]"),
                make("spec.ingress[1]"),
                make("spec.ingress[1]"),
            ],
            &map,
        );
        assert_ne!(prints[0], prints[1]);
        assert_ne!(prints[1], prints[2]);
        assert!(prints.iter().all(|p| p.len() == 32));
    }
}
