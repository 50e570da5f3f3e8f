//! `human`: miette graphical reports (code, message, labelled snippet, help), one per finding.
//!
//! The header line is `severity[CODE]: message`, then the object (kind, name, YAML path).
//! Related labels in other places become nested "advice" reports with their own snippet.
//! A line too long to echo is shown as a window around the label (`snippet_window`).
//! Colour is used only when asked for ([`HumanOptions::detect`] checks the TTY and `NO_COLOR`).

use super::snippet_window::Window;
use crate::finding::{Finding, Label};
use crate::severity::Severity;
use crate::source::{SourceMap, Span};
use miette::{
    Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan,
};
use std::fmt;
use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::OnceLock;

/// Presentation options of the human format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HumanOptions {
    pub color: bool,
    /// Box-drawing characters; `false` uses plain ASCII.
    pub unicode: bool,
    pub width: usize,
}

impl Default for HumanOptions {
    /// No colour, Unicode, 100 columns: stable output for snapshots and logs.
    fn default() -> Self {
        HumanOptions {
            color: false,
            unicode: true,
            width: 100,
        }
    }
}

/// Whether the human report is coloured: the `--color` flag of a command line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ColorChoice {
    /// Colour when stdout is a terminal and `NO_COLOR` is unset or empty.
    #[default]
    Auto,
    Always,
    Never,
}

/// The process's choice, set once by the command line before anything is rendered.
static COLOR_CHOICE: OnceLock<ColorChoice> = OnceLock::new();

/// Sets the process-wide colour choice [`HumanOptions::detect`] follows (the first call wins).
pub fn set_color_choice(choice: ColorChoice) {
    let _ = COLOR_CHOICE.set(choice);
}

impl HumanOptions {
    /// Colour as the process's [`ColorChoice`] says (default `Auto`: when stdout is a terminal
    /// and `NO_COLOR` is unset or empty).
    #[must_use]
    pub fn detect() -> Self {
        let color = match COLOR_CHOICE.get().copied().unwrap_or_default() {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
                std::io::stdout().is_terminal() && !no_color
            }
        };
        HumanOptions {
            color,
            ..Self::default()
        }
    }

    fn theme(self) -> GraphicalTheme {
        match (self.unicode, self.color) {
            (true, true) => GraphicalTheme::unicode(),
            (true, false) => GraphicalTheme::unicode_nocolor(),
            (false, true) => GraphicalTheme::ascii(),
            (false, false) => GraphicalTheme::none(),
        }
    }
}

/// The text a snippet is drawn from: the whole file, or a window of a line too long to echo.
type Source = Box<dyn miette::SourceCode>;

/// A finding (or one of its related places) in the shape miette renders.
struct Report {
    message: String,
    severity: miette::Severity,
    help: Option<String>,
    source: Option<Source>,
    labels: Vec<LabeledSpan>,
    related: Vec<Report>,
}

impl fmt::Debug for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Report {}

impl Diagnostic for Report {
    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_deref()
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        (!self.labels.is_empty())
            .then(|| Box::new(self.labels.iter().cloned()) as Box<dyn Iterator<Item = _>>)
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        (!self.related.is_empty()).then(|| {
            Box::new(self.related.iter().map(|r| r as &dyn Diagnostic))
                as Box<dyn Iterator<Item = _>>
        })
    }
}

/// A snippet's source and, when its line is too long, the window labels are mapped into.
struct Snippet {
    source: Source,
    window: Option<Window>,
}

/// The source of a snippet whose primary label is `span`.
fn source_of(sources: &SourceMap, span: Span) -> Option<Snippet> {
    let file = sources.get(span.source)?;
    let name = super::location::display_path(&file.path);
    Some(match Window::around(&name, &file.text, span.range()) {
        // A window is a few hundred bytes: the report keeps one copy, the labels the other.
        Some(window) => Snippet {
            source: Box::new(window.clone()),
            window: Some(window),
        },
        None => Snippet {
            source: Box::new(NamedSource::new(name, Arc::clone(&file.text))),
            window: None,
        },
    })
}

fn labeled(label: &Label, primary: bool, window: Option<&Window>) -> Option<LabeledSpan> {
    let text = (!label.message.is_empty()).then(|| label.message.clone());
    let range = match window {
        Some(w) => w.shown(label.span.range())?,
        None => label.span.range(),
    };
    let span = SourceSpan::new(range.start.into(), range.len());
    Some(if primary {
        LabeledSpan::new_primary_with_span(text, span)
    } else {
        LabeledSpan::new_with_span(text, span)
    })
}

fn to_report(finding: &Finding, sources: &SourceMap) -> Report {
    let primary_source = finding.primary.as_ref().map(|l| l.span.source);
    let (source, window) = match finding
        .primary
        .as_ref()
        .and_then(|l| source_of(sources, l.span))
    {
        Some(snippet) => (Some(snippet.source), snippet.window),
        None => (None, None),
    };
    let (same_file, other_file): (Vec<&Label>, Vec<&Label>) = finding
        .secondary
        .iter()
        .partition(|l| Some(l.span.source) == primary_source);
    let labels: Vec<LabeledSpan> = finding
        .primary
        .iter()
        .filter_map(|l| labeled(l, true, window.as_ref()))
        .chain(
            same_file
                .into_iter()
                .filter_map(|l| labeled(l, false, window.as_ref())),
        )
        .collect();
    let related = other_file
        .into_iter()
        .chain(&finding.related)
        .map(|label| {
            let (source, window) = match source_of(sources, label.span) {
                Some(snippet) => (Some(snippet.source), snippet.window),
                None => (None, None),
            };
            Report {
                message: if label.message.is_empty() {
                    "related location".into()
                } else {
                    label.message.clone()
                },
                severity: miette::Severity::Advice,
                help: None,
                source,
                labels: labeled(&Label::new(label.span, ""), true, window.as_ref())
                    .into_iter()
                    .collect(),
                related: Vec::new(),
            }
        })
        .collect();
    let mut message = format!(
        "{}[{}]: {}",
        finding.severity, finding.code.id, finding.message
    );
    if let Some(ctx) = &finding.context {
        message.push_str(&format!("\nin {ctx}"));
    }
    Report {
        message,
        severity: match finding.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Info => miette::Severity::Advice,
        },
        help: finding.help.clone(),
        source,
        labels,
        related,
    }
}

/// Render every finding as a graphical report, separated by blank lines.
#[must_use]
pub fn render(findings: &[Finding], sources: &SourceMap, options: HumanOptions) -> String {
    let handler = GraphicalReportHandler::new_themed(options.theme())
        .with_width(options.width)
        .with_links(false)
        .with_urls(false)
        .without_syntax_highlighting();
    let mut out = String::new();
    for finding in findings {
        let report = to_report(finding, sources);
        if handler.render_report(&mut out, &report).is_err() {
            out.push_str(&super::concise::line(finding, sources));
        }
        out.push('\n');
    }
    out
}
