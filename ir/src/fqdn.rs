//! FQDN names and patterns (`toFQDNs`, `rules.dns`): validated at construction, matched
//! case-insensitively with Cilium's glob grammar (`*` within one label, leading `**.` for
//! one or more labels, all-star patterns match every name).

use serde::{Deserialize, Serialize};
use std::fmt;

/// Characters allowed in one label position by a `*`.
const LABEL_CHARS: &str = "[-a-zA-Z0-9_]";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FqdnError {
    #[error("FQDN is empty")]
    Empty,
    #[error("FQDN is longer than 255 characters")]
    TooLong,
    #[error(
        "character `{0}` is not allowed in a DNS name (allowed: letters, digits, `-`, `_`, `.`)"
    )]
    BadChar(char),
    #[error("`*` is only allowed in matchPattern, not in matchName")]
    StarInName,
    #[error("empty label (two dots in a row)")]
    EmptyLabel,
}

/// A lower-cased, validated name or pattern, stored without the trailing dot.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FqdnPattern {
    text: String,
}

impl FqdnPattern {
    /// Validates a `matchPattern` (stars allowed).
    pub fn pattern(text: &str) -> Result<Self, FqdnError> {
        Self::validate(text, true)
    }

    /// Validates a `matchName` (no stars).
    pub fn name(text: &str) -> Result<Self, FqdnError> {
        Self::validate(text, false)
    }

    fn validate(text: &str, stars: bool) -> Result<Self, FqdnError> {
        if text.is_empty() {
            return Err(FqdnError::Empty);
        }
        if text.len() > 255 {
            return Err(FqdnError::TooLong);
        }
        for c in text.chars() {
            let ok =
                c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') || (stars && c == '*');
            if !ok {
                return Err(if c == '*' {
                    FqdnError::StarInName
                } else {
                    FqdnError::BadChar(c)
                });
            }
        }
        let trimmed = text.strip_suffix('.').unwrap_or(text);
        if trimmed.is_empty() && !stars {
            return Err(FqdnError::Empty);
        }
        if trimmed.split('.').any(str::is_empty) && !trimmed.is_empty() {
            return Err(FqdnError::EmptyLabel);
        }
        Ok(Self {
            text: trimmed.to_ascii_lowercase(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn has_wildcard(&self) -> bool {
        self.text.contains('*')
    }

    /// The anchored regular expression (over a lower-cased name WITH trailing dot) that Cilium's
    /// `matchpattern.ToAnchoredRegexp` would build.
    pub fn to_regex(&self) -> String {
        let p = format!("{}.", self.text);
        if p.chars().all(|c| c == '*' || c == '.') {
            return format!("(^({LABEL_CHARS}+[.])+$)|(^[.]$)");
        }
        let mut out = String::from("^");
        let mut rest = p.as_str();
        // Leading `**.` (two or more stars then a dot): one or more whole labels.
        let stars = rest.chars().take_while(|c| *c == '*').count();
        if stars >= 2 && rest[stars..].starts_with('.') {
            out.push_str(&format!("({LABEL_CHARS}+[.])+"));
            rest = &rest[stars + 1..];
        }
        for c in rest.chars() {
            match c {
                '*' => {
                    out.push_str(LABEL_CHARS);
                    out.push('*');
                }
                '.' => out.push_str("[.]"),
                c => out.push(c),
            }
        }
        out.push('$');
        out
    }

    /// Does a queried name match? Case-insensitive; a trailing dot on `name` is optional.
    pub fn matches(&self, name: &str) -> bool {
        let lowered = name.to_ascii_lowercase();
        let name = lowered.strip_suffix('.').unwrap_or(&lowered);
        if !self.has_wildcard() {
            return self.text == name;
        }
        match regex::Regex::new(&self.to_regex()) {
            Ok(re) => re.is_match(&format!("{name}.")),
            Err(_) => false,
        }
    }
}

impl fmt::Display for FqdnPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A `toFQDNs` entry or a `rules.dns` entry.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum FqdnSelector {
    MatchName(FqdnPattern),
    MatchPattern(FqdnPattern),
}

impl FqdnSelector {
    pub fn matches(&self, name: &str) -> bool {
        match self {
            Self::MatchName(p) | Self::MatchPattern(p) => p.matches(name),
        }
    }

    pub fn pattern(&self) -> &FqdnPattern {
        match self {
            Self::MatchName(p) | Self::MatchPattern(p) => p,
        }
    }
}

impl fmt::Display for FqdnSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MatchName(p) => write!(f, "matchName: {p}"),
            Self::MatchPattern(p) => write!(f, "matchPattern: {p}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_case::test_case;

    // Cases from cilium-semantics.md §1.7.
    #[test_case("*.cilium.io", "a.cilium.io", true; "star label matches one label")]
    #[test_case("*.cilium.io", "cilium.io", false; "star label needs a label")]
    #[test_case("*.cilium.io", "a.b.cilium.io", false; "star never crosses a dot")]
    #[test_case("*cilium.io", "cilium.io", true; "star may be empty")]
    #[test_case("*cilium.io", "subcilium.io", true; "star prefix within label")]
    #[test_case("sub*.cilium.io", "subdomain.cilium.io", true; "star suffix within label")]
    #[test_case("**.cilium.io", "a.cilium.io", true; "double star one label")]
    #[test_case("**.cilium.io", "a.b.cilium.io", true; "double star many labels")]
    #[test_case("**.cilium.io", "cilium.io", false; "double star needs a label")]
    #[test_case("*", "anything.example.com", true; "lone star matches all")]
    #[test_case("*.cilium.io", "A.CILIUM.IO.", true; "case insensitive and trailing dot")]
    #[test_case("api.example.com", "api.example.com", true; "exact")]
    #[test_case("api.example.com", "xapi.example.com", false; "exact rejects")]
    fn pattern_matching(pattern: &str, name: &str, expected: bool) {
        assert_eq!(
            FqdnPattern::pattern(pattern).unwrap().matches(name),
            expected
        );
    }

    #[test_case("a b.com"; "space")]
    #[test_case("*.com"; "star in name")]
    #[test_case(""; "empty")]
    #[test_case("a..com"; "empty label")]
    fn bad_names(text: &str) {
        assert!(FqdnPattern::name(text).is_err());
    }
}
