//! policyc-diagnostics: source files and spans ([`source`]), findings (what checks report), the
//! code registry, "did you mean" hints and the output formats.
//!
//! Checks build [`Finding`]s against spans of a [`source::SourceMap`];
//! the `render` module turns a list of findings into human, concise, JSON, SARIF or GitHub output.

pub mod cli_docs;
pub mod codes;
pub mod finding;
pub mod render;
pub mod severity;
pub mod source;
pub mod suggest;
pub mod summary;

pub use codes::{lookup, Code};
pub use finding::{Finding, Label, ObjectContext};
pub use render::{render, Format, HumanOptions, RenderOptions, SarifOptions};
pub use severity::Severity;
pub use suggest::{did_you_mean, suggest};
pub use summary::{count_at_or_above, sort_findings, Summary};
