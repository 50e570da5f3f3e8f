//! PC0308: an HTTP `path` written like a prefix (`/api`, `/public/`) — Cilium matches the regex
//! against the whole path (query string included), so `/api/users` is rejected.

use crate::context::LintContext;
use crate::walk::{port_rules, rule_items};
use crate::yaml_ext::NodeExt;
use policyc_diagnostics::{codes, Finding};

/// Last path segments that name a tree of resources rather than one resource.
const PREFIX_LIKE_SEGMENTS: &[&str] = &[
    "api", "apis", "public", "static", "assets", "admin", "internal", "private", "docs", "images",
    "img", "css", "js", "files", "uploads", "media", "graphql", "rest", "web", "ui",
];

/// Is `path` a regex without metacharacters that reads like a prefix?
fn looks_like_prefix(path: &str) -> bool {
    let literal = path
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/-_~".contains(&b));
    if !literal || !path.starts_with('/') || path == "/" {
        return false;
    }
    if path.ends_with('/') {
        return true;
    }
    let last = path
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let versioned =
        last.len() >= 2 && last.starts_with('v') && last[1..].bytes().all(|b| b.is_ascii_digit());
    versioned || PREFIX_LIKE_SEGMENTS.contains(&last.as_str())
}

pub fn check(ctx: &LintContext<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for object in ctx.valid_objects().filter(|o| o.is_cilium()) {
        for item in rule_items(object) {
            for (pr_path, port_rule) in port_rules(item.node) {
                let http = port_rule
                    .get("rules")
                    .and_then(|r| r.get("http"))
                    .map(NodeExt::items)
                    .unwrap_or_default();
                for (i, http_rule) in http.iter().enumerate() {
                    let Some(path_node) = http_rule.get("path") else {
                        continue;
                    };
                    let Some(path) = path_node.as_str().filter(|p| looks_like_prefix(p)) else {
                        continue;
                    };
                    let base = path.trim_end_matches('/');
                    findings.push(
                        Finding::new(
                            &codes::HTTP_PATH_LOOKS_LIKE_PREFIX,
                            format!("HTTP path `{path}` is matched against the whole path, not as a prefix"),
                        )
                        .at(path_node.value_span(), format!("only the exact path `{path}` matches (no query string)"))
                        .help(format!(
                            "to allow everything below it, write `{base}(/.*)?` (the path itself and below) or `{base}/.*` \
(only below); add `(\\?.*)?` to also accept query strings"
                        ))
                        .context(LintContext::object_context(object, &format!("{}.{pr_path}.rules.http[{i}].path", item.path))),
                    );
                }
            }
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::looks_like_prefix;
    use test_case::test_case;

    #[test_case("/api", true; "api segment")]
    #[test_case("/public/", true; "trailing slash")]
    #[test_case("/v1", true; "version segment")]
    #[test_case("/shop/api", true; "nested api")]
    #[test_case("/healthz", false; "exact endpoint")]
    #[test_case("/api/.*", false; "already a regex")]
    #[test_case("/", false; "root alone")]
    #[test_case("/index.html", false; "file")]
    fn prefix_heuristic(path: &str, expected: bool) {
        assert_eq!(looks_like_prefix(path), expected);
    }
}
