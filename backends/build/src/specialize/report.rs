//! What `--specialize` did, per endpoint: specialized or not and why, the object, how many
//! endpoints share it. Part of `report.json`/`report.md`, so it holds nothing that changes
//! between two builds of the same inputs (cache hits are returned separately, see
//! [`super::CacheStats`]).

use serde::Serialize;
use std::fmt::Write as _;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndpointSpecialization {
    pub name: String,
    pub specialized: bool,
    /// `objects/<sha256>.bpf.o` in the artifact.
    pub object: String,
    /// Estimated instructions of the generated decision (0 when nothing was generated).
    pub estimated_instructions: u64,
    /// Endpoints (this one included) that run the same object.
    pub endpoints_sharing_object: usize,
    pub why: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpecializationReport {
    /// `clang --version` of the compiler used (None when nothing needed compiling).
    pub clang: Option<String>,
    /// Distinct generated objects.
    pub objects: usize,
    pub max_estimated_instructions: u64,
    pub endpoints: Vec<EndpointSpecialization>,
}

/// The `## Specialization` section of `report.md`.
pub fn render_markdown(report: &SpecializationReport, md: &mut String) {
    let specialized = report.endpoints.iter().filter(|e| e.specialized).count();
    let _ = writeln!(md, "\n## Specialization (`--specialize`)\n");
    let others = if specialized < report.endpoints.len() {
        "; the others run the template"
    } else {
        ""
    };
    let _ = writeln!(
        md,
        "{specialized} of {} endpoints run generated code ({} distinct objects, compiled with {}){others}. Limit: {} estimated instructions per generated decision.\n",
        report.endpoints.len(),
        report.objects,
        report.clang.as_deref().unwrap_or("no compiler needed"),
        report.max_estimated_instructions
    );
    let _ = writeln!(
        md,
        "| endpoint | specialized | object | est. instructions | sharing | why |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|");
    for e in &report.endpoints {
        let _ = writeln!(
            md,
            "| {} | {} | `{}` | {} | {} | {} |",
            e.name,
            if e.specialized { "yes" } else { "no" },
            e.object,
            e.estimated_instructions,
            e.endpoints_sharing_object,
            e.why
        );
    }
}
