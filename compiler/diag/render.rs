//! Rendering diagnostics: miette's graphical report for terminals, and the stable
//! JSON schema (`docs/diagnostics.md`) for editors and CI.
//!
//! This is the only module that turns a `Diagnostic` into text. It never decides
//! what is wrong; it only shows it.

use std::fmt;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    SourceCode, SourceSpan, SpanContents,
};
use serde::Serialize;

use super::{Diagnostic, Severity};
use crate::source::{SourceFile, Sources, Span};

/// How the graphical renderer draws.
#[derive(Debug, Clone, Copy)]
pub struct TextStyle {
    pub color: bool,
    pub width: usize,
}

impl TextStyle {
    /// The style of UI-test snapshots: no color, 80 columns.
    pub fn plain() -> TextStyle {
        TextStyle {
            color: false,
            width: 80,
        }
    }
}

/// Renders diagnostics as miette's graphical report, one after the other, followed by
/// a summary line when there is at least one diagnostic.
pub fn render_text(diags: &[Diagnostic], sources: &Sources, style: TextStyle) -> String {
    let theme = if style.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(style.width)
        .with_links(false)
        .with_urls(false)
        // Wrap at spaces only: never split `kube-public` or `[A-Za-z0-9._-]`.
        .with_word_splitter(textwrap::WordSplitter::NoHyphenation)
        .with_word_separator(textwrap::WordSeparator::AsciiSpace)
        .with_break_words(false);
    let mut out = String::new();
    for diag in diags {
        let report = Report::new(diag, sources);
        if handler.render_report(&mut out, &report).is_err() {
            // Rendering into a String cannot fail except through a broken span; fall
            // back to a plain line so the diagnostic is never lost.
            out.push_str(&plain_line(diag, sources));
        }
        out.push('\n');
    }
    let summary = summary_line(diags);
    if !summary.is_empty() {
        out.push_str(&summary);
        out.push('\n');
    }
    out
}

/// `path:line:col: severity[CODE]: message`, the one-line form.
pub fn plain_line(diag: &Diagnostic, sources: &Sources) -> String {
    let (path, line, col) = position(diag.span, sources);
    format!(
        "{path}:{line}:{col}: {}[{}]: {}\n",
        diag.severity.as_str(),
        diag.code.code,
        diag.message
    )
}

/// "2 errors, 1 warning", or "" when there is nothing to report.
pub fn summary_line(diags: &[Diagnostic]) -> String {
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let warnings = diags.len() - errors;
    let plural = |n: usize, word: &str| {
        if n == 1 {
            format!("{n} {word}")
        } else {
            format!("{n} {word}s")
        }
    };
    match (errors, warnings) {
        (0, 0) => String::new(),
        (e, 0) => plural(e, "error"),
        (0, w) => plural(w, "warning"),
        (e, w) => format!("{}, {}", plural(e, "error"), plural(w, "warning")),
    }
}

fn position(span: Span, sources: &Sources) -> (String, usize, usize) {
    match sources.get(span.file) {
        Some(file) => {
            let (line, col) = file.line_col(span.start as usize);
            (file.path.clone(), line, col)
        }
        None => ("<unknown>".to_string(), 1, 1),
    }
}

fn miette_span(span: Span) -> SourceSpan {
    SourceSpan::new((span.start as usize).into(), span.len())
}

/// A diagnostic bound to its source text, as miette wants it. Related spans in the
/// same file become secondary labels; related spans in other files become related
/// reports with their own source.
struct Report<'a> {
    diag: &'a Diagnostic,
    source: FileSource<'a>,
    labels: Vec<LabeledSpan>,
    others: Vec<RelatedReport<'a>>,
    /// Where the spans are whose lines are too long to show (see [`SNIPPET_LIMIT`]).
    not_shown: Vec<String>,
}

/// The most bytes of source a snippet shows: a span on longer lines (a 1 MB string,
/// say) is given as `path:line:col` instead of being printed whole.
const SNIPPET_LIMIT: usize = 2_000;

/// Whether the lines `span` covers are short enough to show.
fn fits_snippet(span: Span, sources: &Sources) -> bool {
    let Some(file) = sources.get(span.file) else {
        return true;
    };
    let first = file.line_index(span.start as usize);
    let last = file.line_index(span.end as usize);
    let start = file.line_start(first).unwrap_or(0);
    let end = file.line_start(last + 1).unwrap_or(file.text.len());
    end.saturating_sub(start) <= SNIPPET_LIMIT
}

/// A file as miette reads it, without copying its text, and reading only the lines
/// around a span: miette's own `str` source scans from the start of the file for
/// every diagnostic, which made thousands of diagnostics in a large file quadratic.
struct FileSource<'a> {
    file: Option<&'a SourceFile>,
}

impl SourceCode for FileSource<'_> {
    fn read_span<'b>(
        &'b self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'b> + 'b>, MietteError> {
        let Some(file) = self.file else {
            return "".read_span(span, before, after);
        };
        let start = span.offset();
        let end = start + span.len();
        let first_line = file.line_index(start).saturating_sub(before);
        let last_line = file.line_index(end) + after + 1;
        let window_start = file.line_start(first_line).unwrap_or(0);
        let window_end = file.line_start(last_line).unwrap_or(file.text.len());
        let window = file.text.get(window_start..window_end).unwrap_or("");
        let shifted = SourceSpan::new((start - window_start.min(start)).into(), span.len());
        let inner = window.read_span(&shifted, before, after)?;
        Ok(Box::new(MietteSpanContents::new_named(
            file.path.clone(),
            inner.data(),
            SourceSpan::new(
                (inner.span().offset() + window_start).into(),
                inner.span().len(),
            ),
            inner.line() + first_line,
            inner.column(),
            inner.line_count() + first_line,
        )))
    }
}

impl<'a> Report<'a> {
    fn new(diag: &'a Diagnostic, sources: &'a Sources) -> Report<'a> {
        let primary = sources.clamp(diag.span);
        let label = (!diag.label.is_empty()).then(|| diag.label.clone());
        let mut labels = Vec::new();
        let mut not_shown = Vec::new();
        let where_ = |span: Span| {
            let (path, line, col) = position(span, sources);
            format!("{path}:{line}:{col}")
        };
        if fits_snippet(primary, sources) {
            labels.push(LabeledSpan::new_primary_with_span(
                label,
                miette_span(primary),
            ));
        } else {
            let what = if diag.label.is_empty() {
                "here"
            } else {
                diag.label.as_str()
            };
            not_shown.push(format!("{}: {what}", where_(primary)));
        }
        let mut others = Vec::new();
        for rel in &diag.related {
            let span = sources.clamp(rel.span);
            if !fits_snippet(span, sources) {
                not_shown.push(format!("{}: {}", where_(span), rel.message));
            } else if span.file == diag.span.file {
                labels.push(LabeledSpan::new_with_span(
                    Some(rel.message.clone()),
                    miette_span(span),
                ));
            } else if let Some(f) = sources.get(span.file) {
                others.push(RelatedReport {
                    message: rel.message.clone(),
                    source: FileSource { file: Some(f) },
                    span,
                });
            }
        }
        Report {
            diag,
            source: FileSource {
                file: sources.get(diag.span.file),
            },
            labels,
            others,
            not_shown,
        }
    }
}

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Report").field("diag", &self.diag).finish()
    }
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diag.message)?;
        for place in &self.not_shown {
            write!(f, "\n  at {place} (the line is too long to show)")?;
        }
        Ok(())
    }
}

impl std::error::Error for Report<'_> {}

impl miette::Diagnostic for Report<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(self.diag.code.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diag.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        (!self.diag.help.is_empty()).then(|| Box::new(&self.diag.help) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.labels.iter().cloned()))
    }

    fn related<'b>(&'b self) -> Option<Box<dyn Iterator<Item = &'b dyn miette::Diagnostic> + 'b>> {
        if self.others.is_empty() {
            return None;
        }
        Some(Box::new(
            self.others.iter().map(|r| r as &dyn miette::Diagnostic),
        ))
    }
}

struct RelatedReport<'a> {
    message: String,
    source: FileSource<'a>,
    span: Span,
}

impl fmt::Debug for RelatedReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Display for RelatedReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RelatedReport<'_> {}

impl miette::Diagnostic for RelatedReport<'_> {
    fn severity(&self) -> Option<miette::Severity> {
        Some(miette::Severity::Advice)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            Some(self.message.clone()),
            miette_span(self.span),
        ))))
    }
}

/// The `--format json` document. Its schema is documented in `docs/diagnostics.md`
/// and versioned by `version`; fields are only ever added.
#[derive(Debug, Serialize)]
pub struct JsonReport {
    pub version: u32,
    pub diagnostics: Vec<JsonDiagnostic>,
    pub errors: usize,
    pub warnings: usize,
}

#[derive(Debug, Serialize)]
pub struct JsonDiagnostic {
    pub code: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub message: String,
    pub help: String,
    #[serde(flatten)]
    pub location: JsonLocation,
    pub label: String,
    pub related: Vec<JsonRelated>,
}

#[derive(Debug, Serialize)]
pub struct JsonRelated {
    pub message: String,
    #[serde(flatten)]
    pub location: JsonLocation,
}

/// A location: the file (relative to the project root), the byte span, and 1-based
/// line and column (columns count Unicode scalar values) of its start and end.
#[derive(Debug, Serialize)]
pub struct JsonLocation {
    pub file: String,
    pub span: JsonSpan,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
}

#[derive(Debug, Serialize)]
pub struct JsonSpan {
    pub start: usize,
    pub end: usize,
}

fn json_location(span: Span, sources: &Sources) -> JsonLocation {
    let span = sources.clamp(span);
    let (file, (line, column), (end_line, end_column)) = match sources.get(span.file) {
        Some(f) => (
            f.path.clone(),
            f.line_col(span.start as usize),
            f.line_col(span.end as usize),
        ),
        None => ("<unknown>".to_string(), (1, 1), (1, 1)),
    };
    JsonLocation {
        file,
        span: JsonSpan {
            start: span.start as usize,
            end: span.end as usize,
        },
        line,
        column,
        end_line,
        end_column,
    }
}

pub fn to_json_report(diags: &[Diagnostic], sources: &Sources) -> JsonReport {
    let errors = diags.iter().filter(|d| d.is_error()).count();
    JsonReport {
        version: 1,
        errors,
        warnings: diags.len() - errors,
        diagnostics: diags
            .iter()
            .map(|d| JsonDiagnostic {
                code: d.code.code,
                name: d.code.name,
                severity: d.severity,
                message: d.message.clone(),
                help: d.help.clone(),
                location: json_location(d.span, sources),
                label: d.label.clone(),
                related: d
                    .related
                    .iter()
                    .map(|r| JsonRelated {
                        message: r.message.clone(),
                        location: json_location(r.span, sources),
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// Renders the JSON document, pretty-printed, with a final newline.
pub fn render_json(diags: &[Diagnostic], sources: &Sources) -> String {
    let report = to_json_report(diags, sources);
    let mut text = serde_json::to_string_pretty(&report)
        .unwrap_or_else(|e| format!("{{\"version\":1,\"internal_error\":\"{e}\"}}"));
    text.push('\n');
    text
}
