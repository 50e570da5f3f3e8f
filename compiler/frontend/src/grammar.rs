//! Micro-grammars of policy scalars that the YAML layer sees as plain strings: ports (numbers
//! and IANA service names), selector label keys (`k8s:app.kubernetes.io/name`) and label
//! values. Each parser returns the byte range of the offending part so diagnostics can point
//! inside the scalar.

use crate::ast::PortValue;
use nom::bytes::complete::{tag, take_while1};
use nom::combinator::opt;
use nom::sequence::terminated;
use nom::{IResult, Parser};
use policyc_ir::{LabelKey, LabelSource};
use std::ops::Range;

/// Why a `port` scalar is not a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortError {
    Empty,
    OutOfRange(u64),
    NameTooLong(usize),
    Malformed,
}

impl PortError {
    pub fn message(&self, text: &str) -> String {
        match self {
            Self::Empty => "port is empty".to_string(),
            // As written: the parsed value saturates at u64::MAX.
            Self::OutOfRange(_) => format!("port {text} is out of range (0..65535)"),
            Self::NameTooLong(n) => {
                format!("port name `{text}` is {n} characters long; IANA service names have at most 15")
            }
            Self::Malformed => format!(
                "`{text}` is neither a port number (0..65535) nor a port name (letters, digits and single dashes, with at least one letter)"
            ),
        }
    }
}

/// IANA service-name shape: `^([a-zA-Z0-9]-?)*[a-zA-Z](-?[a-zA-Z0-9])*$` — alphanumerics with
/// single inner dashes, at least one letter, no leading/trailing dash.
fn looks_like_service_name(text: &str) -> bool {
    !text.is_empty()
        && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && text.chars().any(|c| c.is_ascii_alphabetic())
        && !text.starts_with('-')
        && !text.ends_with('-')
        && !text.contains("--")
}

/// Go `strconv.ParseUint(text, 0, 64)`: `0x`/`0o`/`0b` prefixes, a leading `0` means octal,
/// `_` allowed between digits when a prefix is used.
fn parse_go_uint(text: &str) -> Option<u64> {
    let lower = text.to_ascii_lowercase();
    let (digits, radix) = if let Some(rest) = lower.strip_prefix("0x") {
        (rest.replace('_', ""), 16)
    } else if let Some(rest) = lower.strip_prefix("0o") {
        (rest.replace('_', ""), 8)
    } else if let Some(rest) = lower.strip_prefix("0b") {
        (rest.replace('_', ""), 2)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (lower[1..].replace('_', ""), 8)
    } else {
        (lower.clone(), 10)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    // Saturate on overflow: the caller only needs to know it is out of range.
    Some(u64::from_str_radix(&digits, radix).unwrap_or(u64::MAX))
}

/// Parses a `port` the way Cilium does: a service name when it has the name shape (so `0x10`
/// is a name), else an unsigned number with Go base prefixes, which must fit 0..65535.
pub fn parse_port(text: &str) -> Result<PortValue, PortError> {
    if text.is_empty() {
        return Err(PortError::Empty);
    }
    if looks_like_service_name(text) {
        let len = text.chars().count();
        if len > 15 {
            return Err(PortError::NameTooLong(len));
        }
        return Ok(PortValue::Named(text.to_ascii_lowercase()));
    }
    match parse_go_uint(text) {
        Some(n) => u16::try_from(n)
            .map(PortValue::Number)
            .map_err(|_| PortError::OutOfRange(n)),
        None => Err(PortError::Malformed),
    }
}

/// A problem with a selector label key, with the byte range (within the key text) to point at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelKeyError {
    pub message: String,
    pub range: Range<usize>,
    /// A suggestion for an unknown source prefix (`k8:` → `k8s`).
    pub unknown_source: Option<String>,
}

fn source_prefix(input: &str) -> IResult<&str, Option<&str>> {
    opt(terminated(
        take_while1(|c: char| c.is_ascii_alphanumeric()),
        tag(":"),
    ))
    .parse(input)
}

/// Is `name` a Kubernetes qualified-name part: ≤63 chars of `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`?
fn is_qualified_name_part(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// Is `prefix` a DNS-1123 subdomain (≤253, lower-case alphanumerics, `-`, `.`)?
fn is_dns_subdomain(prefix: &str) -> bool {
    !prefix.is_empty()
        && prefix.len() <= 253
        && prefix.split('.').all(|label| {
            !label.is_empty()
                && label
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// Parses a selector key `[source:]key` (unprefixed = `default_source`) and checks the key is a
/// Kubernetes qualified name (`[dns-prefix/]name`), which is what Cilium validates after
/// rewriting `src:key` to `src.key`.
pub fn parse_label_key(text: &str, default_source: LabelSource) -> Result<LabelKey, LabelKeyError> {
    let (rest, prefix) = match source_prefix(text) {
        Ok(parsed) => parsed,
        Err(_) => (text, None),
    };
    let (source, key, key_start) = match prefix {
        Some(src) => match LabelSource::from_prefix(src) {
            Some(source) => (source, rest, src.len() + 1),
            None => {
                return Err(LabelKeyError {
                    message: format!("unknown label source `{src}:`"),
                    range: 0..src.len(),
                    unknown_source: Some(src.to_string()),
                })
            }
        },
        None => (default_source, text, 0),
    };
    let bad = |message: String| LabelKeyError {
        message,
        range: key_start..text.len(),
        unknown_source: None,
    };
    if key.is_empty() {
        return Err(bad("label key is empty".to_string()));
    }
    let (dns_prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(p) = dns_prefix {
        if !is_dns_subdomain(p) {
            return Err(bad(format!(
                "label key prefix `{p}` must be a DNS subdomain (lower-case letters, digits, `-` and `.`)"
            )));
        }
    }
    // Cilium's reserved/cidr/fqdn keys carry characters k8s names do not (`cidr:10.0.0.0/8`,
    // `fqdn:*.example.com`); they are generated keys, accept them as written.
    let generated = matches!(
        source,
        LabelSource::Cidr | LabelSource::Fqdn | LabelSource::Cidrgroup
    );
    if !generated && !is_qualified_name_part(name) {
        return Err(bad(format!(
            "label key `{key}` is not a valid name (at most 63 letters, digits, `-`, `_` or `.`, starting and ending with a letter or digit)"
        )));
    }
    Ok(LabelKey::new(source, key))
}

/// Kubernetes label value: empty, or ≤63 chars of `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`.
pub fn check_label_value(value: &str) -> Result<(), String> {
    if value.is_empty() || is_qualified_name_part(value) {
        Ok(())
    } else if value.len() > 63 {
        Err(format!(
            "label value is {} characters long; at most 63 are allowed",
            value.len()
        ))
    } else {
        Err(format!(
            "label value `{value}` is not valid (letters, digits, `-`, `_` or `.`, starting and ending with a letter or digit)"
        ))
    }
}

/// `serverNames` entries: `^(\*?\*\.)?([-a-zA-Z0-9_]+\.?)+$`.
pub fn is_server_name(text: &str) -> bool {
    let rest = text
        .strip_prefix("**.")
        .or_else(|| text.strip_prefix("*."))
        .unwrap_or(text);
    !rest.is_empty()
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !rest.starts_with('.')
        && !rest.contains("..")
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_case::test_case;

    #[test_case("80", Ok(PortValue::Number(80)); "decimal")]
    #[test_case("0", Ok(PortValue::Number(0)); "zero is all ports")]
    #[test_case("65535", Ok(PortValue::Number(65535)); "max")]
    #[test_case("65536", Err(PortError::OutOfRange(65536)); "one past max")]
    #[test_case("010", Ok(PortValue::Number(8)); "leading zero is octal like Go")]
    #[test_case("0x10", Ok(PortValue::Named("0x10".into())); "hex-looking is a name")]
    #[test_case("HTTP", Ok(PortValue::Named("http".into())); "names are lower-cased")]
    #[test_case("serve-80-tcp", Ok(PortValue::Named("serve-80-tcp".into())); "dashed name")]
    #[test_case("a-very-long-port-name", Err(PortError::NameTooLong(21)); "name over 15")]
    #[test_case("", Err(PortError::Empty); "empty")]
    #[test_case("80-90", Err(PortError::Malformed); "range syntax is not a port")]
    #[test_case("-1", Err(PortError::Malformed); "negative")]
    fn ports(text: &str, expected: Result<PortValue, PortError>) {
        assert_eq!(parse_port(text), expected);
    }

    #[test_case("app", Some("any:app"); "plain key is any source")]
    #[test_case("k8s:io.kubernetes.pod.namespace", Some("k8s:io.kubernetes.pod.namespace"); "k8s prefix")]
    #[test_case("reserved:host", Some("reserved:host"); "reserved prefix")]
    #[test_case("app.kubernetes.io/name", Some("any:app.kubernetes.io/name"); "dns prefix")]
    #[test_case("k8:app", None; "unknown source")]
    #[test_case("k8s:", None; "empty key")]
    #[test_case("bad key", None; "space")]
    #[test_case("Upper.Case/x", None; "dns prefix must be lower case")]
    fn label_keys(text: &str, expected: Option<&str>) {
        let parsed = parse_label_key(text, LabelSource::Any)
            .ok()
            .map(|k| k.to_string());
        assert_eq!(parsed.as_deref(), expected);
    }

    #[test]
    fn unknown_source_points_at_the_prefix() {
        let err = parse_label_key("k8:app", LabelSource::Any).err();
        assert_eq!(
            err.map(|e| (e.range, e.unknown_source)),
            Some((0..2, Some("k8".to_string())))
        );
    }

    #[test_case("", true; "empty value")]
    #[test_case("v1.2_x-y", true; "mixed")]
    #[test_case("-x", false; "leading dash")]
    #[test_case("a b", false; "space")]
    fn label_values(text: &str, ok: bool) {
        assert_eq!(check_label_value(text).is_ok(), ok);
    }

    #[test_case("example.com", true; "plain")]
    #[test_case("*.example.com", true; "star")]
    #[test_case("**.example.com", true; "double star")]
    #[test_case("", false; "empty")]
    #[test_case("a*.example.com", false; "inner star")]
    fn server_names(text: &str, ok: bool) {
        assert_eq!(is_server_name(text), ok);
    }
}
