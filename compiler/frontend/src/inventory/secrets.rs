//! Kubernetes `Secret` objects in the inventory, for `headerMatches[].secret`: Cilium's
//! secret manager (`pkg/crypto/certificatemanager` `GetSecretString`) reads the named Secret
//! and uses its value only when it has exactly one item ("Secret %s must have exactly one
//! item" otherwise). `kubectl get secret -n NS NAME -o yaml` prints them (`data` is base64;
//! `stringData` is read too, for hand-written files).

use super::native::Builder;
use super::Secrets;
use crate::yaml::Node;
use policyc_diagnostics::{codes, Finding};

/// The value of a Secret's single item, `None` when it has zero or several items.
fn single_value(root: &Node, findings: &mut Vec<Finding>) -> Option<String> {
    let mut values = Vec::new();
    if let Some(entries) = root.get("data").and_then(Node::map_entries) {
        for (key, value) in entries {
            let text = value.as_str().unwrap_or_default();
            match decode_base64(text) {
                Some(bytes) => values.push(String::from_utf8_lossy(&bytes).into_owned()),
                None => {
                    findings.push(
                        Finding::error(
                            &codes::INVALID_INVENTORY,
                            format!(
                                "Secret item `{}` is not base64",
                                key.as_str().unwrap_or_default()
                            ),
                        )
                        .at(
                            value.span,
                            "expected base64 (as `kubectl get secret -o yaml` prints it)",
                        )
                        .help("write the plain value under `stringData:` instead of `data:`"),
                    );
                    return None;
                }
            }
        }
    }
    if let Some(entries) = root.get("stringData").and_then(Node::map_entries) {
        for (_, value) in entries {
            values.push(value.as_str().unwrap_or_default().to_string());
        }
    }
    match values.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    }
}

/// A `kind: Secret` object.
pub fn read_secret(root: &Node, b: &mut Builder, findings: &mut Vec<Finding>) {
    let Some(meta) = root.get("metadata") else {
        return;
    };
    let Some(name) = meta.get("name").and_then(Node::as_str) else {
        return;
    };
    let namespace = meta
        .get("namespace")
        .and_then(Node::as_str)
        .unwrap_or("default");
    let value = single_value(root, findings);
    b.secrets
        .insert((namespace.to_string(), name.to_string()), value);
}

/// The usable secrets: those with exactly one item.
#[must_use]
pub fn usable(all: &std::collections::BTreeMap<(String, String), Option<String>>) -> Secrets {
    all.iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k.clone(), v.clone())))
        .collect()
}

/// Standard base64 (RFC 4648, with or without padding; whitespace ignored).
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let mut bits: u32 = 0;
    let mut nbits = 0;
    let mut out = Vec::new();
    for c in text.bytes().filter(|c| !c.is_ascii_whitespace()) {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(v);
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            out.push(u8::try_from((bits >> nbits) & 0xff).ok()?);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::decode_base64;
    use test_case::test_case;

    #[test_case("c2VjcmV0", "secret" ; "no padding")]
    #[test_case("YWJjZA==", "abcd" ; "padding")]
    #[test_case("", "" ; "empty")]
    fn decodes(text: &str, expected: &str) {
        assert_eq!(decode_base64(text).as_deref(), Some(expected.as_bytes()));
    }

    #[test]
    fn rejects_other_characters() {
        assert_eq!(decode_base64("ab$c"), None);
    }
}
