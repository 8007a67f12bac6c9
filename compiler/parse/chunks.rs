//! Incremental parsing inside a large file: the file is cut into chunks of whole
//! top-level nodes, each chunk is parsed alone (and cached by its text), and the
//! chunk's KDL spans are shifted to where the chunk sits in the file. An edit then
//! re-parses one chunk instead of the whole file.
//!
//! Where to cut is decided by the content of each node's first line (a hash), not by
//! sizes, so an edit moves no cut except at the node it touches. Cuts are only made
//! at the start of a line at nesting depth 0, outside strings and comments, after a
//! line that does not continue (`\`).
//!
//! Invariant: the result is that of parsing the whole file, or nothing. If any chunk
//! fails to parse (a syntax error, or a cut this scanner got wrong), the caller
//! parses the whole file, so syntax errors are always reported exactly as `trellis
//! check` reports them. Only files of at least `MIN_FILE` bytes are cut.

use kdl::{KdlDocument, KdlNode};

/// Smaller files are parsed whole.
pub const MIN_FILE: usize = 32 * 1024;

/// About one node in `SPREAD` starts a chunk.
const SPREAD: u64 = 16;

/// The byte offsets where chunks start (the first is 0), or `None` for a file that
/// is parsed whole.
pub fn cuts(text: &str) -> Option<Vec<usize>> {
    if text.len() < MIN_FILE {
        return None;
    }
    Some(scan(text, usize::MAX).cuts)
}

/// What one pass over a text found: where chunks start, and the first `{` nested
/// deeper than the limit, with its depth.
pub(crate) struct Scan {
    pub cuts: Vec<usize>,
    pub too_deep: Option<(usize, usize)>,
}

/// Finds the cuts (only for a file of at least `MIN_FILE` bytes; else just `[0]`)
/// and, in the same pass, the first `{` nested deeper than `max_depth`, where the
/// scan stops. Comments and strings are skipped whole.
pub(crate) fn scan(text: &str, max_depth: usize) -> Scan {
    let cut = text.len() >= MIN_FILE;
    let bytes = text.as_bytes();
    let at = |k: usize| bytes.get(k).copied().unwrap_or(0);
    let mut out = vec![0];
    let mut depth = 0usize;
    let mut continued = false;
    let mut i = 0usize;
    while let Some(&b) = bytes.get(i) {
        match b {
            // Comments and strings are skipped whole; they leave `continued` as
            // it is. Only these bytes can start one.
            b'/' | b'#' | b'"' => {
                if let Some(next) = crate::parse::skip_comment_or_string(bytes, i) {
                    i = next;
                    continue;
                }
                continued = false;
                i += 1;
            }
            b'\n' => {
                i += 1;
                if cut && depth == 0 && !continued && starts_node(at(i)) && i < bytes.len() {
                    let line_end = text
                        .get(i..)
                        .and_then(|t| t.find('\n'))
                        .map_or(bytes.len(), |e| i + e);
                    if hash(bytes.get(i..line_end).unwrap_or(&[])) % SPREAD == 0 {
                        out.push(i);
                    }
                }
                continued = false;
            }
            b'{' => {
                depth += 1;
                if depth > max_depth {
                    return Scan {
                        cuts: out,
                        too_deep: Some((i, depth)),
                    };
                }
                i += 1;
            }
            b'}' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b'\\' => {
                continued = true;
                i += 1;
            }
            b' ' | b'\t' | b'\r' => i += 1,
            _ => {
                // Anything else after a `\` means it was not a line continuation.
                continued = false;
                i += 1;
            }
        }
    }
    Scan {
        cuts: out,
        too_deep: None,
    }
}

/// A line that starts a node: a name (not a space, comment, brace, `;` or break).
fn starts_node(b: u8) -> bool {
    !matches!(
        b,
        0 | b' ' | b'\t' | b'\r' | b'\n' | b'}' | b'{' | b'/' | b';' | b'\\'
    )
}

/// FNV-1a: stable across runs and platforms.
fn hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Moves every span of `doc` by `by` bytes.
pub fn shift(doc: &mut KdlDocument, by: usize) {
    let moved = |s: miette::SourceSpan| miette::SourceSpan::new((s.offset() + by).into(), s.len());
    doc.set_span(moved(doc.span()));
    for node in doc.nodes_mut() {
        shift_node(node, by, &moved);
    }
}

fn shift_node(
    node: &mut KdlNode,
    by: usize,
    moved: &dyn Fn(miette::SourceSpan) -> miette::SourceSpan,
) {
    node.set_span(moved(node.span()));
    let name = node.name_mut();
    name.set_span(moved(name.span()));
    if let Some(ty) = node.ty_mut() {
        ty.set_span(moved(ty.span()));
    }
    for entry in node.entries_mut() {
        entry.set_span(moved(entry.span()));
        if let Some(name) = entry.name_mut() {
            name.set_span(moved(name.span()));
        }
        if let Some(ty) = entry.ty_mut() {
            ty.set_span(moved(ty.span()));
        }
    }
    if let Some(children) = node.children_mut() {
        shift(children, by);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn big(nodes: usize) -> String {
        let mut text = String::from("// header\n");
        for i in 0..nodes {
            text.push_str(&format!(
                "service \"s{i}\" cluster=\"c\" namespace=\"n\" {{\n    type \"ClusterIP\"\n    port 80 \\\n        target=8080\n}}\n"
            ));
        }
        text
    }

    #[test]
    fn cuts_only_at_top_level_node_starts() {
        let text = big(1000);
        let cuts = cuts(&text).unwrap();
        assert!(cuts.len() > 10, "{}", cuts.len());
        for &c in &cuts[1..] {
            assert!(text[c..].starts_with("service \""), "{}", &text[c..c + 20]);
        }
        // Small files are not cut.
        assert_eq!(super::cuts("service \"a\"\n"), None);
    }

    #[test]
    fn never_cuts_inside_strings_comments_blocks_or_continuations() {
        let body = big(400);
        // Openers never closed: nothing after them is a cut.
        for opener in ["\"\"\"\n", "#\"\"\"\n", "#\"\n", "/*\n", "{\n"] {
            let text = format!("{}{opener}{}", big(200), &body[10..]);
            let at = big(200).len();
            let cuts = cuts(&text).unwrap();
            assert!(cuts.iter().all(|&c| c <= at), "{opener:?}");
            assert!(cuts.len() > 1, "{opener:?}");
        }
        // A line continued with `\` is never cut after.
        let text = big(2000);
        let cuts = cuts(&text).unwrap();
        for &c in &cuts[1..] {
            assert!(!text[..c].trim_end().ends_with('\\'));
        }
    }

    #[test]
    fn one_scan_finds_the_cuts_and_the_excess_depth() {
        let text = big(400);
        let deep = format!("{text}{}", "a {".repeat(crate::parse::MAX_DEPTH + 1));
        let scan = scan(&deep, crate::parse::MAX_DEPTH);
        let at = text.len() + 3 * crate::parse::MAX_DEPTH + 2;
        assert_eq!(scan.too_deep, Some((at, crate::parse::MAX_DEPTH + 1)));
        assert_eq!(scan.cuts, cuts(&text).unwrap());
        // Braces in strings and comments do not count.
        let quiet = format!("{text}\"{}\" /* {} */", "{".repeat(40), "{".repeat(40));
        assert_eq!(super::scan(&quiet, crate::parse::MAX_DEPTH).too_deep, None);
    }

    #[test]
    fn shifted_chunks_equal_the_whole_parse() {
        let text = big(600);
        let cuts = cuts(&text).unwrap();
        let whole = KdlDocument::parse_v2(&text).unwrap();
        let mut nodes = Vec::new();
        for (k, &start) in cuts.iter().enumerate() {
            let end = cuts.get(k + 1).copied().unwrap_or(text.len());
            let mut doc = KdlDocument::parse_v2(&text[start..end]).unwrap();
            shift(&mut doc, start);
            nodes.extend(doc.nodes().to_vec());
        }
        assert_eq!(nodes.len(), whole.nodes().len());
        for (a, b) in nodes.iter().zip(whole.nodes()) {
            assert_eq!(a.span(), b.span());
            assert_eq!(a.name().span(), b.name().span());
            for (x, y) in a.entries().iter().zip(b.entries()) {
                assert_eq!(x.span(), y.span());
                assert_eq!(x.name().map(|n| n.span()), y.name().map(|n| n.span()));
                assert_eq!(x.value(), y.value());
            }
            let (ca, cb) = (a.children().unwrap(), b.children().unwrap());
            for (x, y) in ca.nodes().iter().zip(cb.nodes()) {
                assert_eq!(x.span(), y.span());
                assert_eq!(x.entries().len(), y.entries().len());
            }
        }
    }
}
