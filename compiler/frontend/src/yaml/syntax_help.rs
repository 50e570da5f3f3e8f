//! Turns saphyr-parser's scanner/parser messages into a finding with a short label and a hint.

use policyc_diagnostics::codes::{self, Code};

/// What to report for a parser error message: code, label at the error position, optional help.
pub(super) struct SyntaxReport {
    pub code: &'static Code,
    pub label: &'static str,
    pub help: Option<&'static str>,
}

/// Hints keyed by a fragment of the parser message (first match wins).
const HINTS: &[(&str, &str, &str)] = &[
    ("tabs disallowed", "tab used for indentation", "YAML does not allow tabs for indentation; use spaces"),
    ("quoted scalar", "string not closed", "a quoted string is missing its closing quote"),
    ("flow sequence", "`[` list not closed here", "close the `[` list with `]` or separate its items with commas"),
    ("flow mapping", "`{` mapping not closed here", "close the `{` mapping with `}` or separate its entries with commas"),
    (
        "mapping values are not allowed",
        "unexpected `:`",
        "a `key: value` appears where a plain value was expected: check the indentation of this line, \
or quote a value that contains `: `",
    ),
    (
        "did not find expected key",
        "indentation does not match",
        "this line is indented differently from the entries of the mapping it seems to belong to",
    ),
    (
        "did not find expected '-'",
        "indentation does not match",
        "this line is indented differently from the items of the list it seems to belong to",
    ),
    (
        "unexpected character",
        "cannot start a value",
        "`@` and `` ` `` are reserved in YAML and cannot start a plain value; quote the value",
    ),
];

pub(super) fn report(message: &str) -> SyntaxReport {
    if message.contains("unknown anchor") {
        return SyntaxReport {
            code: &codes::INVALID_ALIAS,
            label: "unknown alias",
            help: Some("define the anchor `&name` before using `*name`, or write the value out"),
        };
    }
    let hint = HINTS
        .iter()
        .find(|(fragment, _, _)| message.contains(fragment));
    SyntaxReport {
        code: &codes::YAML_SYNTAX,
        label: hint.map_or("here", |(_, label, _)| label),
        help: hint.map(|(_, _, help)| *help),
    }
}
