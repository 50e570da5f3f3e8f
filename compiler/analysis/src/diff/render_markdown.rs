//! `--format markdown`: a sticky pull-request comment. Hidden marker, headline with counts, risk
//! callouts, one table row per change, the rules behind each change in `<details>`, files last.
//! Stays under GitHub's 65,536-character comment limit by cutting rows and saying how many.

use super::group::MAX_NAMES;
use super::model::{name_list, ChangeRow, DiffReport, Effect};
use std::fmt::Write;

/// The marker a workflow looks for to update its comment instead of adding one.
pub const MARKER: &str = "<!-- policyc:diff -->";
/// GitHub's limit for a comment body.
pub const COMMENT_LIMIT: usize = 65_536;
/// Room kept for the trailer and the files section.
const RESERVE: usize = 6_000;
const MAX_RISKS: usize = 30;

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn effect(e: Effect) -> &'static str {
    match e {
        Effect::Opened => "➕ opened",
        Effect::Closed => "➖ closed",
        Effect::Changed => "✏️ changed",
    }
}

fn table_row(n: usize, row: &ChangeRow) -> String {
    let ports: Vec<String> = row
        .ports
        .iter()
        .map(super::model::PortSpan::describe)
        .collect();
    let preposition = match row.direction {
        policyc_ir::Direction::Ingress => "ingress from",
        policyc_ir::Direction::Egress => "egress to",
    };
    format!(
        "| {n} | {} | {} | {preposition} | {} | {} | {} → {} | {} |\n",
        effect(row.effect),
        cell(&name_list(&row.endpoints, MAX_NAMES)),
        cell(&row.peers.summary),
        cell(&ports.join(", ")),
        cell(&row.before.describe()),
        cell(&row.after.describe()),
        row.cause.as_str()
    )
}

fn detail(n: usize, row: &ChangeRow) -> String {
    let mut out = format!("**{n}.** {}\n", row.headline(MAX_NAMES));
    let _ = writeln!(out, "- now: {}", row.after.explain());
    let _ = writeln!(out, "- was: {}", row.before.explain());
    if row.endpoints.len() > MAX_NAMES {
        let _ = writeln!(out, "- endpoints: {}", name_list(&row.endpoints, 50));
    }
    let names = row.peers.endpoints.len() + row.peers.cidrs.len();
    if names > MAX_NAMES {
        let mut all = row.peers.endpoints.clone();
        all.extend(row.peers.cidrs.iter().cloned());
        let _ = writeln!(out, "- peers: {}", name_list(&all, 50));
    }
    out.push('\n');
    out
}

fn headline(report: &DiffReport) -> String {
    let s = &report.summary;
    if !report.semantic_change {
        return "### policyc diff: no semantic change\n".to_string();
    }
    format!(
        "### policyc diff: {} opened, {} closed, {} changed · {} endpoint{} affected\n",
        s.opened,
        s.closed,
        s.changed,
        s.endpoints_affected,
        if s.endpoints_affected == 1 { "" } else { "s" }
    )
}

fn files_section(report: &DiffReport) -> String {
    let f = &report.files;
    if f.count() == 0 {
        return String::new();
    }
    let mut out = format!(
        "<details><summary>Files ({} changed)</summary>\n\n",
        f.count()
    );
    for (what, names) in [
        ("added", &f.added),
        ("removed", &f.removed),
        ("modified", &f.modified),
    ] {
        for name in names.iter().take(100) {
            let _ = writeln!(out, "- {what}: `{name}`");
        }
        if names.len() > 100 {
            let _ = writeln!(out, "- … and {} more {what}", names.len() - 100);
        }
    }
    out.push_str("\n</details>\n");
    out
}

pub fn render(report: &DiffReport) -> String {
    let mut out = String::new();
    out.push_str(MARKER);
    out.push('\n');
    out.push_str(&headline(report));
    let _ = writeln!(
        out,
        "\n`{}` → `{}` · {} policy file{} changed\n",
        report.base,
        report.head,
        report.summary.files_changed,
        if report.summary.files_changed == 1 {
            ""
        } else {
            "s"
        }
    );
    if !report.semantic_change {
        let what = if report.summary.files_changed == 0 {
            "No policy file changed.".to_string()
        } else {
            "The files changed (reordering, renaming, reformatting or splitting policies), but every endpoint \
             allows and denies exactly the same flows."
                .to_string()
        };
        let _ = writeln!(out, "**No semantic change.** {what}\n");
    }
    let ep = &report.endpoints;
    if !ep.added.is_empty() || !ep.removed.is_empty() {
        let _ = writeln!(
            out,
            "Inventory: {} endpoint(s) added ({}), {} removed ({}).\n",
            ep.added.len(),
            name_list(&ep.added, 5),
            ep.removed.len(),
            name_list(&ep.removed, 5)
        );
    }
    if !report.risks.is_empty() {
        out.push_str("> [!CAUTION]\n");
        for risk in report.risks.iter().take(MAX_RISKS) {
            let _ = writeln!(out, "> ⚠️ **{}**: {}  ", risk.kind.title(), risk.message);
        }
        if report.risks.len() > MAX_RISKS {
            let _ = writeln!(
                out,
                "> … and {} more risks (see the JSON report)",
                report.risks.len() - MAX_RISKS
            );
        }
        out.push('\n');
    }
    for warning in &report.warnings {
        let _ = writeln!(out, "> [!WARNING]\n> {warning}\n");
    }
    if report.semantic_change {
        let table_head =
            "| # | change | endpoint | direction | peer | ports | before → after | cause |\n\
                          |---|---|---|---|---|---|---|---|\n";
        let mut table = String::from(table_head);
        let mut details = String::new();
        let mut shown = 0;
        let budget = COMMENT_LIMIT.saturating_sub(RESERVE + out.len());
        for (i, row) in report.changes.iter().enumerate() {
            let line = table_row(i + 1, row);
            let more = detail(i + 1, row);
            if table.len() + details.len() + line.len() + more.len() + 200 > budget {
                break;
            }
            table.push_str(&line);
            details.push_str(&more);
            shown += 1;
        }
        out.push_str(&table);
        let cut = report.changes.len() - shown;
        if cut > 0 {
            let _ = writeln!(
                out,
                "\n**{cut} of {} changes not shown** to stay under GitHub's comment limit; run \
                 `policyc diff --format json` (or see the job artifact) for all of them.",
                report.changes.len()
            );
        }
        let _ = write!(out, "\n<details><summary>Rules behind each change ({shown})</summary>\n\n{details}</details>\n\n");
    }
    out.push_str(&files_section(report));
    if out.len() > COMMENT_LIMIT {
        let mut end = COMMENT_LIMIT - 100;
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out.truncate(end);
        out.push_str("\n\n… (cut at GitHub's comment limit)\n");
    }
    out
}
