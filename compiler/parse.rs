//! Parsing: the text of each file into a `kdl::KdlDocument` (KDL version 2).
//!
//! Syntax errors become TR0101 diagnostics; a file that failed to parse yields no
//! document, and later stages simply do not see its declarations. Before handing text
//! to the `kdl` parser (which recurses once per `{ }` level) the nesting depth is
//! measured by a small scanner, and files nested deeper than `MAX_DEPTH` are refused
//! with TR0103, so no input can exhaust the stack.
//!
//! Invariant: this is, with `lower`, the only module that sees `kdl` types.

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
pub fn parse_all(sources: &Sources, skip: &[FileId], diags: &mut Diagnostics) -> Vec<ParsedFile> {
    let mut parsed = Vec::new();
    for (id, file) in sources.iter() {
        if skip.contains(&id) {
            continue;
        }
        if let Some(doc) = parse_file(id, &file.text, diags) {
            parsed.push(ParsedFile { file: id, doc });
        }
    }
    parsed
}

/// Parses one file's text. Returns `None` (and reports why) when it is not valid KDL.
pub fn parse_file(file: FileId, text: &str, diags: &mut Diagnostics) -> Option<KdlDocument> {
    if let Some((offset, depth)) = find_excess_depth(text) {
        diags.push(
            Diagnostic::new(
                &codes::NESTING_TOO_DEEP,
                Span::new(file, offset, offset + 1),
                format!("children blocks nested {depth} levels deep; trellis accepts at most {MAX_DEPTH}"),
            )
            .label("this block is too deep"),
        );
        return None;
    }
    match KdlDocument::parse_v2(text) {
        Ok(doc) => Some(doc),
        Err(err) => {
            let mut reported = false;
            for d in err.diagnostics {
                reported = true;
                let message = d
                    .message
                    .clone()
                    .map(lowercase_first)
                    .unwrap_or_else(|| "invalid KDL syntax".to_string());
                let mut diag =
                    Diagnostic::new(&codes::KDL_SYNTAX, Span::from_miette(file, d.span), message)
                        .label(d.label.clone().unwrap_or_else(|| "here".to_string()));
                if let Some(help) = d.help.clone() {
                    diag = diag.help(lowercase_first(help));
                }
                diags.push(diag);
            }
            if !reported {
                diags.push(
                    Diagnostic::new(
                        &codes::KDL_SYNTAX,
                        Span::new(file, 0, 0),
                        "invalid KDL syntax",
                    )
                    .label("in this file"),
                );
            }
            None
        }
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
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0usize;
    let at = |k: usize| bytes.get(k).copied().unwrap_or(0);
    while i < bytes.len() {
        match at(i) {
            b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Some((i, depth));
                }
                i += 1;
            }
            b'}' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b'/' if at(i + 1) == b'/' => {
                while i < bytes.len() && at(i) != b'\n' {
                    i += 1;
                }
            }
            b'/' if at(i + 1) == b'*' => {
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
                // Raw string: #"..."#, ##"..."## and so on.
                let mut hashes = 0usize;
                while at(i) == b'#' {
                    hashes += 1;
                    i += 1;
                }
                if at(i) != b'"' {
                    continue;
                }
                i += 1;
                loop {
                    if i >= bytes.len() {
                        break;
                    }
                    if at(i) == b'"' && (1..=hashes).all(|k| at(i + k) == b'#') {
                        i += 1 + hashes;
                        break;
                    }
                    i += 1;
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
            _ => i += 1,
        }
    }
    None
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
