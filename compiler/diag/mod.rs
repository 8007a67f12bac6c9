//! Diagnostics: the values checkers build, and nothing else.
//!
//! A `Diagnostic` has a registered code (`codes.rs`), a primary span with a label, a
//! message that says what is wrong, a help line that says what to do, and related
//! spans ("first declared here"). Turning diagnostics into text, JSON or LSP payloads
//! happens only in `render.rs`.
//!
//! Invariant: every diagnostic's code is in `codes::ALL`; messages are lowercase and
//! carry no final period; the fix goes in `help`, never in the message.

pub mod codes;
pub mod render;

use crate::source::Span;
pub use codes::Code;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// A secondary location: "first declared here", "network declared here".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Related {
    pub span: Span,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: &'static Code,
    pub severity: Severity,
    pub message: String,
    pub span: Span,
    pub label: String,
    pub help: String,
    pub related: Vec<Related>,
}

impl Diagnostic {
    /// A diagnostic with the code's default severity and help.
    pub fn new(code: &'static Code, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: code.severity,
            message: message.into(),
            span,
            label: String::new(),
            help: code.help.to_string(),
            related: Vec::new(),
        }
    }

    pub fn label(mut self, label: impl Into<String>) -> Diagnostic {
        self.label = label.into();
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = help.into();
        self
    }

    pub fn related(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.related.push(Related {
            span,
            message: message.into(),
        });
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// The diagnostics of one stage, in the order they were found.
#[derive(Debug, Default)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn new() -> Diagnostics {
        Diagnostics::default()
    }

    pub fn push(&mut self, diag: Diagnostic) {
        self.items.push(diag);
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.items.extend(other.items);
    }

    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter()
    }

    /// Sorts by file, offset and code, and drops exact duplicates.
    pub fn into_sorted(mut self) -> Vec<Diagnostic> {
        self.items.sort_by(|a, b| {
            (
                a.span.file,
                a.span.start,
                a.span.end,
                a.code.code,
                &a.message,
            )
                .cmp(&(
                    b.span.file,
                    b.span.start,
                    b.span.end,
                    b.code.code,
                    &b.message,
                ))
        });
        self.items.dedup();
        self.items
    }
}
