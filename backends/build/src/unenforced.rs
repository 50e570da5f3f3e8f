//! What `policyc build` does with the fields the field status table
//! (`policyc_frontend::field_status`) marks as gaps: refused ones stop the build, by name and
//! with every location, unless `--allow-unenforced CODE` names them; approximated ones (and
//! allowed refused ones) become warnings printed by the CLI and written to the manifest and
//! the report.

use policyc_diagnostics::source::SourceMap;
use policyc_frontend::field_status::{gap, FieldUse, Gap, GapKind, ALL_GAPS};
use policyc_frontend::PolicyObject;
use std::collections::BTreeMap;

/// A refused field and every place it is used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The gap code (`host-policy`), what `--allow-unenforced` takes.
    pub code: &'static str,
    /// The field(s), list positions erased (`spec.nodeSelector`).
    pub fields: Vec<String>,
    pub why: &'static str,
    /// `file:line:col (yaml path)` of every use.
    pub locations: Vec<String>,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` [{}] {}; used at:\n    {}\n  (`--allow-unenforced {}` builds anyway without this meaning)",
            self.fields.join("`, `"),
            self.code,
            self.why,
            self.locations.join("\n    "),
            self.code
        )
    }
}

/// An `--allow-unenforced` argument that names no gap.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--allow-unenforced {code}: no such code (known: {})", known_codes().join(", "))]
pub struct UnknownGapCode {
    pub code: String,
}

/// Every code `--allow-unenforced` accepts.
#[must_use]
pub fn known_codes() -> Vec<&'static str> {
    ALL_GAPS.iter().map(|g| g.code).collect()
}

/// Checks the `--allow-unenforced` codes.
pub fn check_allowed(codes: &[String]) -> Result<(), UnknownGapCode> {
    match codes.iter().find(|c| gap(c).is_none()) {
        Some(code) => Err(UnknownGapCode { code: code.clone() }),
        None => Ok(()),
    }
}

/// The gaps used by the valid objects, each with its fields and locations, in table order.
fn gaps_used(objects: &[PolicyObject]) -> Vec<(&'static Gap, Vec<&FieldUse>)> {
    let mut by_code: BTreeMap<&str, Vec<&FieldUse>> = BTreeMap::new();
    for object in objects.iter().filter(|o| o.valid) {
        for field_use in &object.unenforced {
            by_code
                .entry(field_use.gap.code)
                .or_default()
                .push(field_use);
        }
    }
    ALL_GAPS
        .iter()
        .filter_map(|g| by_code.remove(g.code).map(|uses| (*g, uses)))
        .collect()
}

fn location(sources: &SourceMap, field_use: &FieldUse) -> String {
    let at = sources.line_col(field_use.span.source, field_use.span.start);
    format!(
        "{}:{}:{} ({})",
        sources.path(field_use.span.source),
        at.line,
        at.col,
        field_use.yaml_path
    )
}

/// What the build does with the gapped fields of `objects`: `Err` with every refused gap not in
/// `allowed`, else the warnings (one per gap used: code, fields, why, locations).
pub fn unenforced_fields(
    objects: &[PolicyObject],
    sources: &SourceMap,
    allowed: &[String],
) -> Result<Vec<String>, Vec<Refusal>> {
    let mut refusals = Vec::new();
    let mut warnings = Vec::new();
    for (gap, uses) in gaps_used(objects) {
        let mut fields: Vec<String> = uses.iter().map(|u| u.field.clone()).collect();
        fields.sort();
        fields.dedup();
        let locations: Vec<String> = uses.iter().map(|u| location(sources, u)).collect();
        let allowed = allowed.iter().any(|c| c == gap.code);
        if gap.kind == GapKind::Refused && !allowed {
            refusals.push(Refusal {
                code: gap.code,
                fields,
                why: gap.why,
                locations,
            });
            continue;
        }
        let what = match gap.kind {
            GapKind::Refused => "refused field allowed by --allow-unenforced",
            GapKind::Approximated => "approximated",
        };
        warnings.push(format!(
            "{what} [{}] `{}`: {}; used at: {}",
            gap.code,
            fields.join("`, `"),
            gap.why,
            locations.join(", ")
        ));
    }
    if refusals.is_empty() {
        Ok(warnings)
    } else {
        Err(refusals)
    }
}
