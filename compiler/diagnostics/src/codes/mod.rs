//! The registry of finding codes: one `pub const` per code, grouped by range in one file each,
//! and [`ALL`], the concatenation every renderer, `--explain` and the uniqueness test read.
//!
//! To add a code: add a `pub const` to the file of its range (keep ids sorted) and list it in
//! that file's `ALL`. Never renumber or reuse a published id.

pub mod inventory;
pub mod schema;
pub mod semantic;
pub mod syntax;
pub mod validation;

pub use inventory::*;
pub use schema::*;
pub use semantic::*;
pub use syntax::*;
pub use validation::*;

use crate::severity::Severity;

/// A stable finding code with its documentation.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Code {
    /// `PC` + four digits; the first two digits give the range (00 syntax, 01 schema, ...).
    pub id: &'static str,
    /// kebab-case name, e.g. `duplicate-key`.
    pub name: &'static str,
    pub default_severity: Severity,
    /// One line, no trailing period: used as SARIF `shortDescription`.
    pub summary: &'static str,
    /// One paragraph for `policyc lint --explain` and SARIF `fullDescription`/`help`.
    pub explanation: &'static str,
}

impl Code {
    /// The range this code belongs to (SARIF tag): `syntax`, `schema`, `validation`, `semantic`, `inventory`.
    #[must_use]
    pub fn category(&self) -> &'static str {
        match self.id.get(2..4) {
            Some("00") => "syntax",
            Some("01") => "schema",
            Some("02") => "validation",
            Some("03") => "semantic",
            Some("04") => "inventory",
            _ => "other",
        }
    }

    /// The text `policyc lint --explain` prints: header, summary, explanation wrapped at 80 columns.
    #[must_use]
    pub fn explain(&self) -> String {
        format!(
            "{} {} (default severity: {}, category: {})\n\n{}.\n\n{}\n",
            self.id,
            self.name,
            self.default_severity,
            self.category(),
            self.summary,
            wrap(self.explanation, 80)
        )
    }
}

/// Greedy word wrap (words longer than `width` stay on their own line).
fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line_len = 0;
    for word in text.split_whitespace() {
        let word_len = word.chars().count();
        if line_len > 0 && line_len + 1 + word_len > width {
            out.push('\n');
            line_len = 0;
        } else if line_len > 0 {
            out.push(' ');
            line_len += 1;
        }
        out.push_str(word);
        line_len += word_len;
    }
    out
}

const PARTS: &[&[&Code]] = &[
    syntax::ALL,
    schema::ALL,
    validation::ALL,
    semantic::ALL,
    inventory::ALL,
];

const fn total_len(parts: &[&[&Code]]) -> usize {
    let mut total = 0;
    let mut i = 0;
    while i < parts.len() {
        total += parts[i].len();
        i += 1;
    }
    total
}

const fn concat<const N: usize>(parts: &[&[&'static Code]]) -> [&'static Code; N] {
    let mut out: [&'static Code; N] = [&syntax::YAML_SYNTAX; N];
    let mut n = 0;
    let mut i = 0;
    while i < parts.len() {
        let mut j = 0;
        while j < parts[i].len() {
            out[n] = parts[i][j];
            n += 1;
            j += 1;
        }
        i += 1;
    }
    out
}

/// Every code, in id order.
pub const ALL: &[&Code] = &concat::<{ total_len(PARTS) }>(PARTS);

/// The code with this id (case-insensitive: `pc0102` works) or name (`unknown-field`).
#[must_use]
pub fn lookup(id_or_name: &str) -> Option<&'static Code> {
    ALL.iter()
        .copied()
        .find(|code| code.id.eq_ignore_ascii_case(id_or_name) || code.name == id_or_name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn well_formed_id(id: &str) -> bool {
        id.len() == 6 && id.starts_with("PC") && id[2..].bytes().all(|b| b.is_ascii_digit())
    }

    fn kebab_case(name: &str) -> bool {
        !name.is_empty()
            && !name.starts_with('-')
            && !name.ends_with('-')
            && !name.contains("--")
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    }

    #[test]
    fn ids_and_names_are_unique() {
        let ids: HashSet<_> = ALL.iter().map(|c| c.id).collect();
        let names: HashSet<_> = ALL.iter().map(|c| c.name).collect();
        assert_eq!(ids.len(), ALL.len(), "duplicate code id");
        assert_eq!(names.len(), ALL.len(), "duplicate code name");
    }

    #[test]
    fn every_code_is_well_formed_and_documented() {
        for code in ALL {
            assert!(
                well_formed_id(code.id),
                "{}: id must be PC + 4 digits",
                code.id
            );
            assert!(
                kebab_case(code.name),
                "{}: name `{}` must be kebab-case",
                code.id,
                code.name
            );
            assert!(
                !code.summary.trim().is_empty(),
                "{}: empty summary",
                code.id
            );
            assert!(
                !code.summary.ends_with('.'),
                "{}: summary must not end with a period",
                code.id
            );
            assert!(
                code.explanation.trim().len() >= 40,
                "{}: explanation too short",
                code.id
            );
            assert_ne!(
                code.category(),
                "other",
                "{}: id outside every range",
                code.id
            );
        }
    }

    #[test]
    fn each_file_is_sorted_and_stays_in_its_range() {
        for (part, range) in PARTS.iter().zip(["00", "01", "02", "03", "04"]) {
            assert!(
                part.windows(2).all(|w| w[0].id < w[1].id),
                "codes of range {range} not sorted"
            );
            assert!(
                part.iter().all(|c| &c.id[2..4] == range),
                "a code is in the wrong file for range {range}"
            );
        }
    }

    #[test]
    fn all_is_the_concatenation_in_id_order() {
        assert_eq!(ALL.len(), PARTS.iter().map(|p| p.len()).sum::<usize>());
        assert!(ALL.windows(2).all(|w| w[0].id < w[1].id));
    }

    #[test]
    fn explain_wraps_and_names_the_code() {
        let text = DUPLICATE_KEY.explain();
        assert!(text
            .starts_with("PC0002 duplicate-key (default severity: error, category: syntax)\n\n"));
        assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
        assert!(text.contains("A mapping has the same key twice."));
    }

    #[test]
    fn lookup_by_id_or_name() {
        assert_eq!(lookup("PC0002").map(|c| c.name), Some("duplicate-key"));
        assert_eq!(lookup("pc0002").map(|c| c.id), Some("PC0002"));
        assert_eq!(lookup("unknown-field").map(|c| c.id), Some("PC0101"));
        assert_eq!(lookup("PC9999"), None);
    }
}
