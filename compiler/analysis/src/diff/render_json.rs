//! `--format json`: the [`DiffReport`](super::model::DiffReport) as pretty-printed JSON (schema
//! documented in [`super::model`]).

use super::model::DiffReport;

pub fn render(report: &DiffReport) -> String {
    let mut text =
        serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}
