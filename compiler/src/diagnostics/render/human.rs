//! `human`: miette graphical reports (code, message, labelled snippet, help), one per finding.
//!
//! The header line is `severity[CODE]: message`, then the object (kind, name, YAML path).
//! Related labels in other places become nested "advice" reports with their own snippet.
//! Colour is used only when asked for ([`HumanOptions::detect`] checks the TTY and `NO_COLOR`).

use crate::diagnostics::finding::{Finding, Label, Severity};
use crate::frontend::source::{SourceMap, Span};
use miette::{
    Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan,
};
use std::fmt;
use std::io::IsTerminal;
use std::sync::Arc;

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

impl HumanOptions {
    /// Colour when stdout is a terminal and `NO_COLOR` is unset or empty.
    #[must_use]
    pub fn detect() -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        HumanOptions {
            color: std::io::stdout().is_terminal() && !no_color,
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

type Source = NamedSource<Arc<str>>;

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
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
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

fn source_of(sources: &SourceMap, span: Span) -> Option<Source> {
    let file = sources.get(span.source)?;
    Some(NamedSource::new(
        super::location::display_path(&file.path),
        Arc::clone(&file.text),
    ))
}

fn labeled(label: &Label, primary: bool) -> LabeledSpan {
    let text = (!label.message.is_empty()).then(|| label.message.clone());
    let span = SourceSpan::new(label.span.start.into(), label.span.len());
    if primary {
        LabeledSpan::new_primary_with_span(text, span)
    } else {
        LabeledSpan::new_with_span(text, span)
    }
}

fn to_report(finding: &Finding, sources: &SourceMap) -> Report {
    let primary_source = finding.primary.as_ref().map(|l| l.span.source);
    let mut labels: Vec<LabeledSpan> = finding.primary.iter().map(|l| labeled(l, true)).collect();
    let (same_file, other_file): (Vec<&Label>, Vec<&Label>) = finding
        .secondary
        .iter()
        .partition(|l| Some(l.span.source) == primary_source);
    labels.extend(same_file.into_iter().map(|l| labeled(l, false)));
    let related = other_file
        .into_iter()
        .chain(&finding.related)
        .map(|label| Report {
            message: if label.message.is_empty() {
                "related location".into()
            } else {
                label.message.clone()
            },
            severity: miette::Severity::Advice,
            help: None,
            source: source_of(sources, label.span),
            labels: vec![labeled(&Label::new(label.span, ""), true)],
            related: Vec::new(),
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
        source: finding
            .primary
            .as_ref()
            .and_then(|l| source_of(sources, l.span)),
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
