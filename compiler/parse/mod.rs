//! Parsing: the text of each file into a `kdl::KdlDocument` (KDL version 2).
//!
//! Syntax errors become TR0101 diagnostics; a file that failed to parse yields no
//! document, and later stages simply do not see its declarations. Before handing text
//! to the `kdl` parser (which recurses once per `{ }` level) the nesting depth is
//! measured by a small scanner, and files nested deeper than `MAX_DEPTH` are refused
//! with TR0103, so no input can exhaust the stack.
//!
//! Invariant: this is, with `lower` (and `fmt` and `lock`, which read KDL of their
//! own), the only module that sees `kdl` types.

pub mod chunks;
pub mod fast;
pub mod tree;

use kdl::KdlDocument;

use crate::diag::{codes, Diagnostic, Diagnostics};
use crate::source::{FileId, Sources, Span};

/// Deepest `{ }` nesting accepted. The language needs four levels at most.
pub const MAX_DEPTH: usize = 32;

/// A parsed file.
#[derive(Debug)]
pub struct ParsedFile {
    pub file: FileId,
    pub doc: KdlDocument,
}

/// Parses every file in `sources`, skipping the ones listed in `skip` (files the
/// loader already reported as unreadable).
///
/// Files are parsed in parallel, each by the next free core; the results are put
/// back in file order, so the outcome is the same whatever the thread count.
pub fn parse_all(sources: &Sources, skip: &[FileId], diags: &mut Diagnostics) -> Vec<ParsedFile> {
    map_files(sources, skip, diags, |file, text, diags| {
        parse_file(file, text, diags).map(|doc| ParsedFile { file, doc })
    })
}

/// Runs `f` on the text of every KDL file of `sources` not in `skip`, in parallel,
/// each file taken by the next free core, and returns what it gave, in file order
/// (the outcome does not depend on the thread count). `compile` parses and lowers
/// each file in one call, so that a file's document is dropped as soon as it is
/// lowered.
pub fn map_files<T, F>(sources: &Sources, skip: &[FileId], diags: &mut Diagnostics, f: F) -> Vec<T>
where
    T: Send,
    F: Fn(FileId, &str, &mut Diagnostics) -> Option<T> + Sync,
{
    map_files_beside(sources, skip, diags, || (), f).1
}

/// [`map_files`], with `first` run before any file by the first free core
/// ([`crate::par::map_each_beside`]): `compile` reads `trellis.lock` there.
pub fn map_files_beside<B, T, F, FB>(
    sources: &Sources,
    skip: &[FileId],
    diags: &mut Diagnostics,
    first: FB,
    f: F,
) -> (B, Vec<T>)
where
    B: Send,
    T: Send,
    F: Fn(FileId, &str, &mut Diagnostics) -> Option<T> + Sync,
    FB: FnOnce() -> B + Send,
{
    let files: Vec<(FileId, &str)> = sources
        .iter()
        .filter(|(id, file)| !skip.contains(id) && file.kind == crate::source::SourceKind::Kdl)
        .map(|(id, file)| (id, file.text.as_str()))
        .collect();
    let (b, results) = crate::par::map_each_beside(first, &files, |&(id, text)| {
        let mut diags = Diagnostics::new();
        let out = f(id, text, &mut diags);
        (out, diags)
    });
    let mut out = Vec::with_capacity(results.len());
    for (item, file_diags) in results {
        out.extend(item);
        diags.extend(file_diags);
    }
    (b, out)
}

/// Parses KDL text: the fast path when it can, else the `kdl` crate (whose error
/// is then the one to report). For files trellis reads besides the sources
/// (`trellis.lock`, written by trellis, takes the fast path).
pub fn parse_kdl(text: &str) -> Result<KdlDocument, kdl::KdlError> {
    match fast::parse(text) {
        Some(doc) => Ok(doc),
        None => KdlDocument::parse_v2(text),
    }
}

/// Parses `text` one chunk of top-level nodes at a time ([`chunks::cuts`]; a file
/// under [`chunks::MIN_FILE`] bytes is one chunk) and hands each chunk to `f` as the
/// tree lowering reads ([`tree::Doc`], its spans those of the whole text; built by
/// the fast parser, its strings borrowed from `text`, or, outside the fast path,
/// converted from the `kdl` crate's document), dropping it before the next chunk is
/// parsed: a large file never exists as one document.
///
/// Returns `false`, having stopped, when the text is nested too deep or a chunk does
/// not parse. The caller then discards what `f` built and parses the whole text
/// with [`parse_file`], whose diagnostic is the one to report.
pub fn for_each_tree(text: &str, mut f: impl FnMut(tree::Doc<'_>)) -> bool {
    let scan = chunks::scan(text, MAX_DEPTH);
    if scan.too_deep.is_some() {
        return false;
    }
    let cuts = scan.cuts;
    for (k, &start) in cuts.iter().enumerate() {
        let end = cuts.get(k + 1).copied().unwrap_or(text.len());
        let Some(chunk) = text.get(start..end) else {
            return false;
        };
        if let Some(doc) = fast::parse_tree(chunk, start) {
            f(doc);
            continue;
        }
        let Ok(mut doc) = KdlDocument::parse_v2(chunk) else {
            return false;
        };
        if start > 0 {
            chunks::shift(&mut doc, start);
        }
        f(tree::Doc::from_kdl(&doc));
    }
    true
}

/// TR0103 for text nested deeper than [`MAX_DEPTH`], which is never handed to a
/// parser (the `kdl` crate recurses once per level).
pub fn nesting_error(file: FileId, text: &str) -> Option<Diagnostic> {
    let (offset, depth) = find_excess_depth(text)?;
    Some(
        Diagnostic::new(
            &codes::NESTING_TOO_DEEP,
            Span::new(file, offset, offset + 1),
            format!(
                "children blocks nested {depth} levels deep; trellis accepts at most {MAX_DEPTH}"
            ),
        )
        .label("this block is too deep"),
    )
}

/// Parses one file's text. Returns `None` (and reports why) when it is not valid KDL.
pub fn parse_file(file: FileId, text: &str, diags: &mut Diagnostics) -> Option<KdlDocument> {
    if let Some(diag) = nesting_error(file, text) {
        diags.push(diag);
        return None;
    }
    // The fast path reads what projects are made of; anything else, and every
    // syntax error, goes to the `kdl` crate.
    if let Some(doc) = fast::parse(text) {
        return Some(doc);
    }
    match KdlDocument::parse_v2(text) {
        Ok(doc) => Some(doc),
        Err(err) => {
            diags.push(syntax_error(file, text, &err));
            None
        }
    }
}

/// The one diagnostic (TR0101) for a file the `kdl` parser rejected. Also used for
/// `trellis.lock`, whose reader changes the code.
pub(crate) fn syntax_error(file: FileId, text: &str, err: &kdl::KdlError) -> Diagnostic {
    let found: Vec<SyntaxError> = err
        .diagnostics
        .iter()
        .map(|d| SyntaxError {
            start: d.span.offset(),
            end: d.span.offset() + d.span.len(),
            message: d.message.clone().unwrap_or_default(),
            help: d.help.clone(),
        })
        .collect();
    explain_syntax_error(file, text, &found)
}

/// One error as the `kdl` parser reports it.
#[derive(Debug, Clone)]
struct SyntaxError {
    start: usize,
    end: usize,
    message: String,
    help: Option<String>,
}

/// Turns the `kdl` parser's errors for one file into one diagnostic: the first real
/// error, in trellis's words.
///
/// The parser recovers after an error and reports what follows from it too ("no
/// closing '}'" for every enclosing block, "expected end of document" at a correct
/// `}`); those cascades only confuse, so trellis reports the first error that is not
/// a cascade, narrows spans that cover whole nodes to the token at fault, and
/// rewrites the parser's messages for the mistakes people make most (KDL v1
/// keywords and raw strings, values without a space between them).
fn explain_syntax_error(file: FileId, text: &str, found: &[SyntaxError]) -> Diagnostic {
    let is_cascade = |e: &SyntaxError| {
        e.message.starts_with("No closing '}'")
            || e.message.starts_with("Closing '}' was not found")
    };
    let mut chosen: Vec<SyntaxError> = found
        .iter()
        .filter(|e| !is_cascade(e))
        .map(|e| narrow(text, e))
        .collect();
    if chosen.is_empty() {
        chosen = found
            .iter()
            .filter(|e| e.message.starts_with("No closing '}'"))
            .cloned()
            .collect();
    }
    chosen.sort_by_key(|e| (e.start, e.end));
    let Some(err) = chosen.into_iter().next() else {
        return Diagnostic::new(
            &codes::KDL_SYNTAX,
            Span::new(file, 0, 0),
            "invalid KDL syntax",
        )
        .label("in this file");
    };
    let token = text.get(err.start..err.end).unwrap_or("").trim();
    let span = Span::new(file, err.start, err.end);
    let diag = |message: String, label: &str| {
        Diagnostic::new(&codes::KDL_SYNTAX, span, message).label(label)
    };
    let keyword = |t: &str| matches!(t, "true" | "false" | "null" | "inf" | "-inf" | "nan");
    let m = err.message.as_str();
    if m.starts_with("No closing '}'") {
        return diag("this `{` is never closed".into(), "opened here")
            .help("add the matching `}` at the end of the block");
    }
    if m.starts_with("Expected end of document") {
        if token.starts_with('}') {
            return diag("this `}` closes no open block".into(), "unmatched `}`")
                .help("remove it, or look for a missing `{` above");
        }
        let shown: String = token.chars().take(20).collect();
        return diag(format!("unexpected `{shown}`"), "not expected here")
            .help("each node is a name, then its arguments and key=value properties, then an optional `{ }` block");
    }
    if m.starts_with("Expected property value") {
        let key = token.trim_end_matches('=');
        return diag(
            format!("property `{key}` has no value"),
            "value missing after `=`",
        )
        .help(format!("write a value after the `=`, e.g. {key}=\"...\""));
    }
    if keyword(token) {
        return diag(
            format!("`{token}` is not a value in KDL version 2"),
            "bare keyword",
        )
        .help(format!("KDL v2 writes keywords with `#`: #{token}"));
    }
    if token.starts_with("r\"") || token.starts_with("r#") {
        return diag(
            "`r\"...\"` raw strings are KDL version 1 syntax".into(),
            "KDL v1 raw string",
        )
        .help("KDL v2 writes raw strings as #\"...\"#, e.g. #\"C:\\AksHci\"#");
    }
    if err
        .help
        .as_deref()
        .is_some_and(|h| h.contains("Did you want a space"))
    {
        return diag(
            "two values without a space between them".into(),
            "add a space",
        )
        .help("separate arguments and properties with spaces");
    }
    if m.starts_with("Expected quoted string") && token.contains('\\') {
        return diag("invalid escape sequence in a string".into(), "bad escape")
            .help("KDL escapes are \\n \\t \\\\ \\\" and \\u{...}; write Windows paths as raw strings, #\"C:\\AksHci\"#");
    }
    let mut d = diag(lowercase_first(err.message.clone()), "here");
    if let Some(help) = err.help {
        d = d.help(lowercase_first(help));
    }
    d
}

/// Narrows a span that covers several tokens (the parser sometimes reports a whole
/// node) to its last token, which is where the parser gave up.
fn narrow(text: &str, err: &SyntaxError) -> SyntaxError {
    let Some(covered) = text.get(err.start..err.end) else {
        return err.clone();
    };
    let trimmed = covered.trim_end();
    let multi_token = trimmed.contains(char::is_whitespace);
    if !multi_token
        || !err.message.starts_with("Expected property value") && !covered.contains('\n')
    {
        return err.clone();
    }
    let last_start = trimmed.rfind(char::is_whitespace).map_or(0, |i| {
        i + trimmed
            .get(i..)
            .and_then(|t| t.chars().next())
            .map_or(1, char::len_utf8)
    });
    SyntaxError {
        start: err.start + last_start,
        end: err.start + trimmed.len(),
        ..err.clone()
    }
}

fn lowercase_first(s: String) -> String {
    let mut chars = s.chars();
    match chars.next() {
        // Keep acronyms ("KDL") as they are.
        Some(c) if c.is_uppercase() && !chars.next().is_some_and(char::is_uppercase) => {
            let mut out: String = c.to_lowercase().collect();
            out.push_str(s.get(c.len_utf8()..).unwrap_or(""));
            out.trim_end_matches('.').to_string()
        }
        _ => s.trim_end_matches('.').to_string(),
    }
}

/// Scans KDL text for `{` nesting, skipping strings and comments, and returns the
/// offset and depth of the first `{` that goes deeper than `MAX_DEPTH`.
///
/// The scanner is deliberately simple and errs towards counting too much (a brace in
/// a construct it does not understand still counts); that only matters for inputs
/// that are already pathological.
fn find_excess_depth(text: &str) -> Option<(usize, usize)> {
    chunks::scan(text, MAX_DEPTH).too_deep
}

/// When a comment or a string starts at `i`, the offset just after it (a `//`
/// comment ends before its newline; an unterminated one runs to the end); else
/// `None`. For the scanners that look at KDL's structure without parsing it: the
/// nesting depth here, and the chunk cuts (`parse/chunks.rs`).
pub(crate) fn skip_comment_or_string(bytes: &[u8], mut i: usize) -> Option<usize> {
    let at = |k: usize| bytes.get(k).copied().unwrap_or(0);
    match at(i) {
        b'/' if at(i + 1) == b'/' => {
            while i < bytes.len() && at(i) != b'\n' {
                i += 1;
            }
        }
        b'/' if at(i + 1) == b'*' => {
            // Block comments nest.
            let mut level = 1usize;
            i += 2;
            while i < bytes.len() && level > 0 {
                if at(i) == b'/' && at(i + 1) == b'*' {
                    level += 1;
                    i += 2;
                } else if at(i) == b'*' && at(i + 1) == b'/' {
                    level -= 1;
                    i += 2;
                } else {
                    i += 1;
                }
            }
        }
        b'#' if at(i + 1) == b'#' || at(i + 1) == b'"' => {
            // A raw string, `#"…"#`, `##"…"##`, `#"""…"""#`: it ends at a quote
            // followed by as many hashes as it opened with.
            let mut hashes = 0usize;
            while at(i) == b'#' {
                hashes += 1;
                i += 1;
            }
            if at(i) == b'"' {
                i += 1;
                while i < bytes.len() {
                    if at(i) == b'"' && (1..=hashes).all(|k| at(i + k) == b'#') {
                        i += 1 + hashes;
                        break;
                    }
                    i += 1;
                }
            }
        }
        b'"' if at(i + 1) == b'"' && at(i + 2) == b'"' => {
            i += 3;
            while i < bytes.len() {
                match at(i) {
                    b'\\' => i += 2,
                    b'"' if at(i + 1) == b'"' && at(i + 2) == b'"' => {
                        i += 3;
                        break;
                    }
                    _ => i += 1,
                }
            }
        }
        b'"' => {
            i += 1;
            while i < bytes.len() {
                match at(i) {
                    b'\\' => i += 2,
                    b'"' => {
                        i += 1;
                        break;
                    }
                    _ => i += 1,
                }
            }
        }
        _ => return None,
    }
    Some(i.min(bytes.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_scanner_ignores_strings_and_comments() {
        let text = "a \"{{{{\" /* { { */ // {{{\n b #\"{{\"# { c { } }";
        assert_eq!(find_excess_depth(text), None);
        let deep = "a {".repeat(MAX_DEPTH + 1);
        assert_eq!(
            find_excess_depth(&deep).map(|(_, d)| d),
            Some(MAX_DEPTH + 1)
        );
    }

    #[test]
    fn lowercases_sentences_but_not_acronyms() {
        assert_eq!(
            lowercase_first("Expected a node.".into()),
            "expected a node"
        );
        assert_eq!(lowercase_first("KDL is odd".into()), "KDL is odd");
    }
}
