//! Source files and positions: `FileId`, `Span`, `Spanned<T>`, `Sources`.
//!
//! Every value the compiler derives from input keeps the `Span` of the text it came
//! from, so a diagnostic can point at it. This module knows nothing about KDL or the
//! model; it maps byte offsets to 1-based lines and columns.
//!
//! Invariant: a `Span` always lies inside its file's text and on `char` boundaries,
//! because every constructor clamps it (`Sources::clamp`).

use std::fmt;

/// Opaque index of a file in `Sources`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId(pub u32);

/// A byte range in one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(file: FileId, start: usize, end: usize) -> Span {
        let start = u32::try_from(start).unwrap_or(u32::MAX);
        let end = u32::try_from(end).unwrap_or(u32::MAX).max(start);
        Span { file, start, end }
    }

    /// Builds a span from an `(offset, length)` pair, as the parse tree holds them.
    pub fn from_at(file: FileId, (offset, len): (usize, usize)) -> Span {
        Span::new(file, offset, offset + len)
    }

    /// Builds a span from a miette span reported by the `kdl` crate.
    pub fn from_miette(file: FileId, span: miette::SourceSpan) -> Span {
        Span::from_at(file, (span.offset(), span.len()))
    }

    pub fn len(&self) -> usize {
        (self.end - self.start) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    pub fn range(&self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// A value and the span of the text it came from. Values trellis invents (defaults)
/// carry the span of the declaration that caused them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(value: T, span: Span) -> Spanned<T> {
        Spanned { value, span }
    }
}

impl<T: fmt::Display> fmt::Display for Spanned<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}

/// One source file: its path as shown to users (relative to the project root, with
/// forward slashes) and its text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: String,
    pub text: String,
    pub kind: SourceKind,
    /// Where each line starts, found when first asked for: only diagnostics and
    /// the language server need it, and at 10,000 services it is 300,000 offsets.
    line_starts: std::sync::OnceLock<Vec<usize>>,
}

/// What a file is: a trellis source, or the project's lock file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    Kdl,
    Lock,
}

impl SourceFile {
    pub fn new(path: impl Into<String>, text: impl Into<String>) -> SourceFile {
        SourceFile {
            path: path.into(),
            text: text.into(),
            kind: SourceKind::Kdl,
            line_starts: std::sync::OnceLock::new(),
        }
    }

    fn line_starts(&self) -> &[usize] {
        self.line_starts.get_or_init(|| {
            let mut starts = vec![0];
            starts.extend(self.text.match_indices('\n').map(|(i, _)| i + 1));
            starts
        })
    }

    /// 1-based line and 1-based column (counted in Unicode scalar values) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line_idx = match self.line_starts().binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let line_start = self.line_starts().get(line_idx).copied().unwrap_or(0);
        let col = self
            .text
            .get(line_start..offset)
            .map(|s| s.chars().count())
            .unwrap_or(0);
        (line_idx + 1, col + 1)
    }

    /// 0-based index of the line that holds byte `offset`.
    pub fn line_index(&self, offset: usize) -> usize {
        let offset = offset.min(self.text.len());
        match self.line_starts().binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        }
    }

    /// Byte offset where 0-based line `line` starts; `None` past the last line.
    pub fn line_start(&self, line: usize) -> Option<usize> {
        self.line_starts().get(line).copied()
    }

    /// Moves `offset` back to the nearest `char` boundary inside the text.
    pub fn floor_boundary(&self, offset: usize) -> usize {
        let mut offset = offset.min(self.text.len());
        while offset > 0 && !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        offset
    }
}

/// The files of one project, in a stable order (sorted by path).
#[derive(Debug, Clone, Default)]
pub struct Sources {
    files: Vec<SourceFile>,
}

impl Sources {
    pub fn new() -> Sources {
        Sources::default()
    }

    /// Adds a file and returns its id. Callers add files sorted by path.
    pub fn add(&mut self, path: impl Into<String>, text: impl Into<String>) -> FileId {
        let id = FileId(u32::try_from(self.files.len()).unwrap_or(u32::MAX));
        self.files.push(SourceFile::new(path, text));
        id
    }

    /// Adds the project's lock file (`trellis.lock`).
    pub fn add_lock(&mut self, path: impl Into<String>, text: impl Into<String>) -> FileId {
        let id = self.add(path, text);
        if let Some(file) = self.files.last_mut() {
            file.kind = SourceKind::Lock;
        }
        id
    }

    /// The lock file, if the project has one.
    pub fn lock(&self) -> Option<(FileId, &SourceFile)> {
        self.iter().find(|(_, f)| f.kind == SourceKind::Lock)
    }

    pub fn get(&self, id: FileId) -> Option<&SourceFile> {
        self.files.get(id.0 as usize)
    }

    pub fn iter(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, f)| (FileId(u32::try_from(i).unwrap_or(u32::MAX)), f))
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Clamps a span to its file's text and to `char` boundaries.
    pub fn clamp(&self, span: Span) -> Span {
        match self.get(span.file) {
            Some(file) => {
                let start = file.floor_boundary(span.start as usize);
                let end = file.floor_boundary(span.end as usize).max(start);
                Span::new(span.file, start, end)
            }
            None => Span::new(span.file, 0, 0),
        }
    }

    /// The text a span covers, or "" when it lies outside the file.
    pub fn slice(&self, span: Span) -> &str {
        self.get(span.file)
            .and_then(|f| f.text.get(span.range()))
            .unwrap_or("")
    }
}
