//! YAML 1.2 core-schema resolution of scalars: plain `80` is an integer, quoted `"80"` a string.

use super::node::NodeKind;

/// Resolve a plain (unquoted) scalar to null, bool, int, float or string.
#[must_use]
pub fn resolve_plain(text: &str) -> NodeKind {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return NodeKind::Null,
        "true" | "True" | "TRUE" => return NodeKind::Bool(true),
        "false" | "False" | "FALSE" => return NodeKind::Bool(false),
        _ => {}
    }
    if let Some(kind) = resolve_int(text) {
        return kind;
    }
    resolve_float(text).unwrap_or_else(|| NodeKind::Str(text.to_owned()))
}

/// Resolve a scalar carrying an explicit core tag (`!!str`, `!!int`, ...); `None` for other tags.
#[must_use]
pub fn resolve_tagged(suffix: &str, text: &str) -> Option<NodeKind> {
    match suffix {
        "str" => Some(NodeKind::Str(text.to_owned())),
        "null" => Some(NodeKind::Null),
        "bool" | "int" | "float" => Some(match resolve_plain(text) {
            NodeKind::Int(i) if suffix == "float" => NodeKind::Float(i as f64),
            resolved => resolved,
        }),
        _ => None,
    }
}

fn resolve_int(text: &str) -> Option<NodeKind> {
    let (digits, radix) = if let Some(hex) = text.strip_prefix("0x") {
        (hex, 16)
    } else if let Some(oct) = text.strip_prefix("0o") {
        (oct, 8)
    } else {
        (text, 10)
    };
    let unsigned = if radix == 10 {
        digits.strip_prefix(['-', '+']).unwrap_or(digits)
    } else {
        digits
    };
    if unsigned.is_empty() || !unsigned.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    match i64::from_str_radix(digits.strip_prefix('+').unwrap_or(digits), radix) {
        Ok(i) => Some(NodeKind::Int(i)),
        // Syntactically an integer but too large: keep the magnitude as a float so that range
        // checks can report it instead of a confusing type error.
        Err(_) => digits
            .parse::<f64>()
            .ok()
            .map(NodeKind::Float)
            .or(Some(NodeKind::Float(f64::INFINITY))),
    }
}

fn resolve_float(text: &str) -> Option<NodeKind> {
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    let negative = text.starts_with('-');
    match unsigned {
        ".inf" | ".Inf" | ".INF" => {
            return Some(NodeKind::Float(if negative {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            }))
        }
        ".nan" | ".NaN" | ".NAN" if unsigned.len() == text.len() => {
            return Some(NodeKind::Float(f64::NAN))
        }
        _ => {}
    }
    // [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(i) => (&unsigned[..i], Some(&unsigned[i + 1..])),
        None => (unsigned, None),
    };
    let (whole, fraction) = match mantissa.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (mantissa, None),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = all_digits(whole)
        && fraction.is_none_or(all_digits)
        && (!whole.is_empty() || fraction.is_some_and(|f| !f.is_empty()));
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && all_digits(e)
    });
    if mantissa_ok && exponent_ok {
        text.parse::<f64>().ok().map(NodeKind::Float)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_case::test_case;

    #[test_case("", NodeKind::Null; "empty is null")]
    #[test_case("~", NodeKind::Null; "tilde is null")]
    #[test_case("NULL", NodeKind::Null; "upper null")]
    #[test_case("True", NodeKind::Bool(true); "capital true")]
    #[test_case("false", NodeKind::Bool(false); "false")]
    #[test_case("yes", NodeKind::Str("yes".into()); "yaml 1.1 yes stays a string")]
    #[test_case("80", NodeKind::Int(80); "decimal")]
    #[test_case("-7", NodeKind::Int(-7); "negative")]
    #[test_case("+7", NodeKind::Int(7); "explicit plus")]
    #[test_case("0x1F", NodeKind::Int(31); "hex")]
    #[test_case("0o17", NodeKind::Int(15); "octal")]
    #[test_case("0777", NodeKind::Int(777); "leading zero is decimal in 1.2")]
    #[test_case("99999999999999999999", NodeKind::Float(1e20); "overflowing int becomes float")]
    #[test_case("1.5", NodeKind::Float(1.5); "float")]
    #[test_case(".5", NodeKind::Float(0.5); "leading dot float")]
    #[test_case("1e3", NodeKind::Float(1000.0); "exponent")]
    #[test_case("-.inf", NodeKind::Float(f64::NEG_INFINITY); "negative infinity")]
    #[test_case("1.2.3", NodeKind::Str("1.2.3".into()); "version string")]
    #[test_case("10.0.0.0/8", NodeKind::Str("10.0.0.0/8".into()); "cidr")]
    #[test_case("8080-8090", NodeKind::Str("8080-8090".into()); "port range")]
    #[test_case("e3", NodeKind::Str("e3".into()); "exponent without mantissa")]
    #[test_case(".", NodeKind::Str(".".into()); "lone dot")]
    #[test_case("0x", NodeKind::Str("0x".into()); "hex prefix only")]
    #[test_case("-", NodeKind::Str("-".into()); "lone minus")]
    fn resolves_plain_scalars(text: &str, expected: NodeKind) {
        assert_eq!(resolve_plain(text), expected);
    }

    #[test]
    fn nan_resolves_to_float() {
        assert!(matches!(resolve_plain(".nan"), NodeKind::Float(f) if f.is_nan()));
    }

    #[test_case("str", "80", Some(NodeKind::Str("80".into())); "str tag keeps text")]
    #[test_case("float", "1", Some(NodeKind::Float(1.0)); "float tag widens int")]
    #[test_case("custom", "x", None; "unknown tag")]
    fn resolves_tagged_scalars(suffix: &str, text: &str, expected: Option<NodeKind>) {
        assert_eq!(resolve_tagged(suffix, text), expected);
    }
}
