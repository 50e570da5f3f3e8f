//! The finding model: what every check in policyc reports (code, severity, message, labelled spans).

use super::codes::Code;
use crate::severity::Severity;
use crate::source::Span;
use std::fmt;

/// A span with a short message explaining what is at that place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

impl Label {
    #[must_use]
    pub fn new(span: Span, message: impl Into<String>) -> Self {
        Label {
            span,
            message: message.into(),
        }
    }
}

/// The policy object a finding is about, when known.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ObjectContext {
    /// `CiliumNetworkPolicy`, `CiliumClusterwideNetworkPolicy`, `NetworkPolicy`, ...
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    /// Dotted path inside the object, e.g. `spec.ingress[0].toPorts[1]` (empty for the object itself).
    pub yaml_path: String,
    /// 0-based index of the YAML document inside its file.
    pub document: usize,
}

impl ObjectContext {
    /// `namespace/name` or just `name` for cluster-scoped objects.
    #[must_use]
    pub fn qualified_name(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{ns}/{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// `CiliumNetworkPolicy prod/allow-db, spec.ingress[0]` (the path part only when non-empty).
impl fmt::Display for ObjectContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.qualified_name())?;
        if !self.yaml_path.is_empty() {
            write!(f, ", {}", self.yaml_path)?;
        }
        Ok(())
    }
}

/// One diagnostic. Build with [`Finding::new`] / [`Finding::error`] / ... and the `with`-style
/// methods: `Finding::error(&codes::DUPLICATE_KEY, "...").at(span, "here").help("...")`.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    pub code: &'static Code,
    pub severity: Severity,
    pub message: String,
    /// The main place; `None` for findings about a whole file/run (e.g. an unreadable path).
    pub primary: Option<Label>,
    /// Further places shown in the same snippet as the primary label.
    pub secondary: Vec<Label>,
    /// Other places (possibly other files), SARIF `relatedLocations`.
    pub related: Vec<Label>,
    pub help: Option<String>,
    pub context: Option<ObjectContext>,
}

impl Finding {
    /// A finding with the code's default severity.
    #[must_use]
    pub fn new(code: &'static Code, message: impl Into<String>) -> Self {
        Finding {
            code,
            severity: code.default_severity,
            message: message.into(),
            primary: None,
            secondary: Vec::new(),
            related: Vec::new(),
            help: None,
            context: None,
        }
    }

    #[must_use]
    pub fn error(code: &'static Code, message: impl Into<String>) -> Self {
        Self::new(code, message).severity(Severity::Error)
    }

    #[must_use]
    pub fn warning(code: &'static Code, message: impl Into<String>) -> Self {
        Self::new(code, message).severity(Severity::Warning)
    }

    #[must_use]
    pub fn info(code: &'static Code, message: impl Into<String>) -> Self {
        Self::new(code, message).severity(Severity::Info)
    }

    #[must_use]
    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    /// Set the primary location and its label.
    #[must_use]
    pub fn at(mut self, span: Span, label: impl Into<String>) -> Self {
        self.primary = Some(Label::new(span, label));
        self
    }

    /// Add a label shown in the same snippet as the primary one.
    #[must_use]
    pub fn secondary(mut self, span: Span, label: impl Into<String>) -> Self {
        self.secondary.push(Label::new(span, label));
        self
    }

    /// Add a related location (another rule, another file).
    #[must_use]
    pub fn related(mut self, span: Span, label: impl Into<String>) -> Self {
        self.related.push(Label::new(span, label));
        self
    }

    #[must_use]
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    #[must_use]
    pub fn context(mut self, context: ObjectContext) -> Self {
        self.context = Some(context);
        self
    }

    /// Set the context only if none is set yet (lets callers add it on the way up).
    #[must_use]
    pub fn or_context(mut self, context: impl FnOnce() -> ObjectContext) -> Self {
        if self.context.is_none() {
            self.context = Some(context());
        }
        self
    }
}
