//! `--format text`: one line per change for terminals and logs.

use super::group::MAX_NAMES;
use super::model::{DiffReport, Effect, RuleRef};
use std::fmt::Write;

fn rules(refs: &[RuleRef]) -> String {
    if refs.is_empty() {
        return "no rule".to_string();
    }
    refs.iter()
        .map(RuleRef::describe)
        .collect::<Vec<_>>()
        .join(", ")
        .replace('`', "")
}

pub fn render(report: &DiffReport) -> String {
    let mut out = String::new();
    let s = &report.summary;
    if !report.semantic_change {
        let _ = writeln!(
            out,
            "No semantic change ({} file(s) changed).",
            s.files_changed
        );
    } else {
        let _ = writeln!(
            out,
            "{} opened, {} closed, {} changed; {} endpoint(s) affected; {} file(s) changed",
            s.opened, s.closed, s.changed, s.endpoints_affected, s.files_changed
        );
    }
    for risk in &report.risks {
        let _ = writeln!(
            out,
            "RISK {}: {}",
            risk.kind.title(),
            risk.message.replace('`', "")
        );
    }
    for row in &report.changes {
        let mark = match row.effect {
            Effect::Opened => "+",
            Effect::Closed => "-",
            Effect::Changed => "~",
        };
        let _ = writeln!(
            out,
            "{mark} {}: {} -> {} [{}]\n    now: {}\n    was: {}",
            row.headline(MAX_NAMES).replace('`', ""),
            row.before.describe(),
            row.after.describe(),
            row.cause.as_str(),
            rules(&row.after.rules),
            rules(&row.before.rules)
        );
    }
    for warning in &report.warnings {
        let _ = writeln!(out, "warning: {warning}");
    }
    out
}
