//! Resolving spans to file/line/column regions and paths to URIs, shared by the renderers.

use crate::finding::Label;
use crate::source::{LineCol, SourceMap, Span};

/// A span resolved for output. `end` is exclusive (the position just after the last character),
/// as in SARIF; an empty span has `start == end`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Region {
    pub file: String,
    pub start: LineCol,
    pub end: LineCol,
}

impl Region {
    #[must_use]
    pub fn of(sources: &SourceMap, span: Span) -> Self {
        let (start, end) = sources.span_lines(span);
        Region {
            file: display_path(sources.path(span.source)),
            start,
            end,
        }
    }

    /// `path:line:col` of the start of `span`, as every format shows it (for messages that name
    /// a second place, so that it survives one-line formats).
    #[must_use]
    pub fn position(sources: &SourceMap, span: Span) -> String {
        let region = Region::of(sources, span);
        format!("{}:{}", region.file, region.start)
    }

    /// The region of a label, if any.
    #[must_use]
    pub fn of_label(sources: &SourceMap, label: Option<&Label>) -> Option<Self> {
        label.map(|l| Region::of(sources, l.span))
    }
}

/// The path as shown to users: forward slashes, no leading `./`.
#[must_use]
pub fn display_path(path: &str) -> String {
    let forward = path.replace('\\', "/");
    let mut trimmed = forward.as_str();
    while let Some(rest) = trimmed.strip_prefix("./") {
        trimmed = rest;
    }
    trimmed.to_owned()
}

/// A URI reference for a path: relative paths stay relative, absolute ones become `file://`;
/// characters outside the URI unreserved/sub-delim/path set are percent-encoded.
#[must_use]
pub fn artifact_uri(path: &str) -> String {
    let path = display_path(path);
    let mut uri = String::with_capacity(path.len() + 8);
    if path.starts_with('/') {
        uri.push_str("file://");
    }
    for byte in path.bytes() {
        let keep = byte.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&byte);
        if keep {
            uri.push(char::from(byte));
        } else {
            uri.push_str(&format!("%{byte:02X}"));
        }
    }
    uri
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_case::test_case;

    #[test_case("policies/a.yaml", "policies/a.yaml"; "relative path unchanged")]
    #[test_case("./a.yaml", "a.yaml"; "leading dot slash removed")]
    #[test_case("dir\\a.yaml", "dir/a.yaml"; "backslashes become slashes")]
    #[test_case("my policies/ü.yaml", "my%20policies/%C3%BC.yaml"; "space and non ascii encoded")]
    #[test_case("/abs/a#1.yaml", "file:///abs/a%231.yaml"; "absolute path becomes file uri")]
    fn artifact_uris(path: &str, uri: &str) {
        assert_eq!(artifact_uri(path), uri);
    }
}
