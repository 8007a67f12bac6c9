//! A fast path for the KDL v2 that trellis projects are made of.
//!
//! The `kdl` crate's parser (winnow combinators that keep every byte of layout for
//! lossless editing) is two thirds of the time of a build and most of its peak memory
//! (`docs/performance.md`). Projects use a small, regular part of KDL: identifiers,
//! quoted and raw strings, integers, `#true`/`#false`/`#null`, type annotations,
//! properties, children blocks, `;` and `//` comments. This parser reads exactly
//! that part, hand-written over bytes, into the tree lowering reads
//! ([`super::tree`]: values, names, type annotations and every span, strings
//! borrowed from the text when they have no escapes), without the layout, which
//! nothing after parsing reads; [`parse`] gives it as a `kdl::KdlDocument`.
//!
//! **Invariant:** for any text, either [`parse_tree`] returns `None`, or the `kdl`
//! crate parses the text too and to an equal document (same nodes, entries, values, type
//! annotations and spans; `tests/kdl_fast.rs` checks this on the KDL specification's
//! test cases, the examples, generated projects and fuzzed text). Everything else
//! (block comments, `/-`, multi-line strings, line continuations, floats, non-ASCII
//! outside strings, anything malformed) returns `None`, and the caller falls back to
//! the `kdl` crate, which also words every syntax error.

use std::borrow::Cow;

use kdl::{KdlDocument, KdlIdentifier, KdlNode, KdlValue};

use super::tree::{Doc, Entry, Ident, Node, Raw};

/// Parses `text`, or `None` when it is outside the fast path (see the module docs).
pub fn parse(text: &str) -> Option<KdlDocument> {
    parse_tree(text, 0).map(|doc| doc.to_kdl())
}

/// Parses `text` into the tree lowering reads, its spans `base` bytes further (for
/// a chunk of a file), or `None` when it is outside the fast path. Strings without
/// escapes are borrowed from `text`.
pub fn parse_tree(text: &str, base: usize) -> Option<Doc<'_>> {
    let mut p = Parser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        base,
    };
    let (nodes, at) = p.nodes(false, 0)?;
    debug_assert!(at.is_some());
    Some(Doc {
        nodes,
        at: at.unwrap_or((base, 0)),
    })
}

/// Children blocks deeper than this go to the `kdl` crate (the caller has already
/// refused depths beyond trellis's limit).
const MAX_DEPTH: usize = 64;

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    /// Where `text` starts in its file.
    base: usize,
}

/// `(offset, length)` in the file, as `miette::SourceSpan` converts from.
type Span = (usize, usize);

impl<'a> Parser<'a> {
    /// The span from `start` to `end` in `text`, as an offset in the file.
    fn span(&self, start: usize, end: usize) -> Span {
        (self.base + start, end - start)
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.bytes.get(self.pos + ahead).copied()
    }

    /// Spaces and tabs.
    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    /// A `//` comment up to (not including) the newline; `None` for `/*`, `/-` or a
    /// lone `/`.
    fn line_comment(&mut self) -> Option<()> {
        if self.peek() != Some(b'/') || self.peek_at(1) != Some(b'/') {
            return None;
        }
        while let Some(b) = self.peek() {
            match b {
                b'\n' => break,
                b'\r' if self.peek_at(1) == Some(b'\n') => break,
                // A lone CR, other newlines and disallowed code points: the slow path.
                b'\r' | 0x00..=0x08 | 0x0b..=0x1f | 0x7f => return None,
                0x80.. => {
                    let c = self.text.get(self.pos..)?.chars().next()?;
                    if disallowed_or_newline(c) {
                        return None;
                    }
                    self.pos += c.len_utf8();
                    continue;
                }
                _ => {}
            }
            self.pos += 1;
        }
        Some(())
    }

    /// Whitespace, newlines and line comments between nodes.
    fn skip_line_space(&mut self) -> Option<()> {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\n') => self.pos += 1,
                Some(b'/') => self.line_comment()?,
                Some(b'\r') => {
                    if self.peek_at(1) != Some(b'\n') {
                        return None;
                    }
                    self.pos += 2;
                }
                _ => return Some(()),
            }
        }
    }

    /// Nodes up to the end of the text (`in_block` false) or to a `}` (true, which
    /// is left for the caller). Returns them and the span from the first node's
    /// start to the last node's end.
    fn nodes(&mut self, in_block: bool, depth: usize) -> Option<(Vec<Node<'a>>, Option<Span>)> {
        // A chunk's top level holds about 16 nodes (`chunks.rs`), a small file a few
        // dozen: one allocation, not a list of 448-byte nodes grown step by step.
        let mut nodes = if in_block {
            Vec::new()
        } else {
            Vec::with_capacity(64)
        };
        let mut first: Option<usize> = None;
        let mut last_end = 0;
        loop {
            self.skip_line_space()?;
            match self.peek() {
                None if in_block => return None,
                None => break,
                Some(b'}') if in_block => break,
                Some(b'}' | b';') => return None,
                _ => {}
            }
            let start = self.pos;
            let (node, end) = self.node(depth)?;
            first.get_or_insert(start);
            last_end = end;
            nodes.push(node);
        }
        // No nodes: the empty span where they would have started.
        let here = self.pos;
        Some((
            nodes,
            Some(first.map_or((self.base + here, 0), |f| self.span(f, last_end))),
        ))
    }

    /// One node, with its terminator consumed. Returns it and the end of its span.
    fn node(&mut self, depth: usize) -> Option<(Node<'a>, usize)> {
        let start = self.pos;
        let ty = self.type_annotation()?;
        let name = self.identifier_or_string()?;
        let mut node = Node {
            name,
            ty,
            entries: Vec::new(),
            children: None,
            at: (0, 0),
        };
        let mut end;
        loop {
            end = self.pos;
            let before = self.pos;
            self.skip_ws();
            let had_space = self.pos > before;
            match self.peek() {
                None | Some(b'\n' | b'\r' | b';' | b'}') => break,
                Some(b'/') => {
                    if self.peek_at(1) != Some(b'/') {
                        return None;
                    }
                    break;
                }
                Some(b'{') => {
                    if depth >= MAX_DEPTH || !had_space {
                        return None;
                    }
                    self.pos += 1;
                    let (children, children_span) = self.nodes(true, depth + 1)?;
                    // `}`: an empty block's span is the empty span at the brace.
                    let close = self.pos;
                    self.pos += 1;
                    node.children = Some(Doc {
                        nodes: children,
                        at: children_span.unwrap_or((self.base + close, 0)),
                    });
                    self.skip_ws();
                    match self.peek() {
                        None | Some(b'\n' | b'\r' | b';' | b'}') => {}
                        Some(b'/') if self.peek_at(1) == Some(b'/') => {}
                        _ => return None,
                    }
                    // Whitespace after the block belongs to the node, as after an
                    // entry.
                    end = self.pos;
                    break;
                }
                Some(_) if had_space => {
                    let entry = self.entry()?;
                    node.entries.push(entry);
                }
                Some(_) => return None,
            }
        }
        // The node's span takes trailing spaces and tabs, up to its terminator.
        let trailing_end = self.pos;
        if trailing_end > end {
            end = trailing_end;
        }
        match self.peek() {
            Some(b';') => self.pos += 1,
            Some(b'\r') => {
                if self.peek_at(1) != Some(b'\n') {
                    return None;
                }
                self.pos += 2;
            }
            Some(b'\n') => self.pos += 1,
            _ => {}
        }
        node.at = self.span(start, end);
        Some((node, end))
    }

    /// `(name)`, or nothing.
    fn type_annotation(&mut self) -> Option<Option<Ident<'a>>> {
        if self.peek() != Some(b'(') {
            return Some(None);
        }
        self.pos += 1;
        let ty = self.identifier_or_string()?;
        if self.peek() != Some(b')') {
            return None;
        }
        self.pos += 1;
        Some(Some(ty))
    }

    /// A node name, property key or type name: a bare identifier or a quoted or raw
    /// string.
    fn identifier_or_string(&mut self) -> Option<Ident<'a>> {
        let start = self.pos;
        let value = match self.peek()? {
            b'"' => self.quoted_string()?,
            b'#' => self.raw_string()?,
            _ => Cow::Borrowed(self.bare_identifier()?),
        };
        Some(Ident {
            value,
            at: self.span(start, self.pos),
        })
    }

    /// A bare identifier of ASCII letters, digits and `-_.:`, starting with a letter
    /// or `_`, and none of KDL's keywords.
    fn bare_identifier(&mut self) -> Option<&'a str> {
        let start = self.pos;
        if !matches!(self.peek()?, b'a'..=b'z' | b'A'..=b'Z' | b'_') {
            return None;
        }
        while matches!(
            self.peek(),
            Some(b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b':')
        ) {
            self.pos += 1;
        }
        // The identifier must end at a character that cannot continue one.
        match self.peek() {
            None
            | Some(
                b' ' | b'\t' | b'\n' | b'\r' | b';' | b'}' | b'{' | b'=' | b')' | b'(' | b'/'
                | b'"',
            ) => {}
            _ => return None,
        }
        let s = self.text.get(start..self.pos)?;
        if matches!(s, "true" | "false" | "null" | "inf" | "nan") {
            return None;
        }
        Some(s)
    }

    /// `"…"` on one line, with the simple escapes.
    fn quoted_string(&mut self) -> Option<Cow<'a, str>> {
        self.pos += 1; // "
        if self.peek() == Some(b'"') && self.peek_at(1) == Some(b'"') {
            return None; // """: a multi-line string
        }
        // The common case first: printable ASCII up to the closing quote, copied
        // once, at its size. Anything else continues character by character.
        let start = self.pos;
        let plain = self.text.as_bytes().get(start..)?;
        let run = plain
            .iter()
            .position(|&b| !(0x20..=0x7e).contains(&b) || b == b'"' || b == b'\\')
            .unwrap_or(plain.len());
        self.pos += run;
        let plain = self.text.get(start..self.pos)?;
        if self.peek() == Some(b'"') {
            self.pos += 1;
            return Some(Cow::Borrowed(plain));
        }
        let mut out = plain.to_string();
        loop {
            let b = self.peek()?;
            match b {
                b'"' => {
                    self.pos += 1;
                    return Some(Cow::Owned(out));
                }
                b'\\' => {
                    let esc = self.peek_at(1)?;
                    self.pos += 2;
                    match esc {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b's' => out.push(' '),
                        b'u' => {
                            if self.peek() != Some(b'{') {
                                return None;
                            }
                            self.pos += 1;
                            let digits_start = self.pos;
                            while matches!(
                                self.peek(),
                                Some(b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F')
                            ) {
                                self.pos += 1;
                            }
                            let digits = self.text.get(digits_start..self.pos)?;
                            if digits.is_empty() || digits.len() > 6 || self.peek() != Some(b'}') {
                                return None;
                            }
                            self.pos += 1;
                            let c = char::from_u32(u32::from_str_radix(digits, 16).ok()?)?;
                            if disallowed_or_newline(c) || (c as u32) < 0x20 || c == '\u{7f}' {
                                return None;
                            }
                            out.push(c);
                        }
                        // Whitespace escapes and anything else: the slow path.
                        _ => return None,
                    }
                }
                0x00..=0x1f | 0x7f => return None,
                0x80.. => {
                    let c = self.text.get(self.pos..)?.chars().next()?;
                    if disallowed_or_newline(c) {
                        return None;
                    }
                    out.push(c);
                    self.pos += c.len_utf8();
                }
                _ => {
                    out.push(char::from(b));
                    self.pos += 1;
                }
            }
        }
    }

    /// `#"…"#` (any number of `#`) on one line.
    fn raw_string(&mut self) -> Option<Cow<'a, str>> {
        let hashes_start = self.pos;
        while self.peek() == Some(b'#') {
            self.pos += 1;
        }
        let hashes = self.pos - hashes_start;
        if self.peek() != Some(b'"') {
            return None;
        }
        self.pos += 1;
        if self.peek() == Some(b'"') && self.peek_at(1) == Some(b'"') {
            return None; // #"""
        }
        let content_start = self.pos;
        loop {
            let b = self.peek()?;
            match b {
                b'"' => {
                    let closes = (1..=hashes).all(|i| self.peek_at(i) == Some(b'#'));
                    if closes {
                        let content = self.text.get(content_start..self.pos)?;
                        self.pos += 1 + hashes;
                        return Some(Cow::Borrowed(content));
                    }
                    self.pos += 1;
                }
                0x00..=0x08 | 0x0a..=0x1f | 0x7f => return None,
                0x80.. => {
                    let c = self.text.get(self.pos..)?.chars().next()?;
                    if disallowed_or_newline(c) {
                        return None;
                    }
                    self.pos += c.len_utf8();
                }
                _ => self.pos += 1,
            }
        }
    }

    /// An argument or a property, with its type annotations.
    fn entry(&mut self) -> Option<Entry<'a>> {
        let start = self.pos;
        let ty = self.type_annotation()?;
        // A property: a key (identifier or string) directly followed by `=`.
        if ty.is_none() {
            let save = self.pos;
            if let Some(key) = self.key() {
                if self.peek() == Some(b'=') {
                    self.pos += 1;
                    let value_ty = self.type_annotation()?;
                    let value = self.value()?;
                    return Some(Entry {
                        name: Some(key),
                        ty: value_ty,
                        value,
                        at: self.span(start, self.pos),
                    });
                }
            }
            self.pos = save;
        }
        let value = self.value()?;
        Some(Entry {
            name: None,
            ty,
            value,
            at: self.span(start, self.pos),
        })
    }

    /// A property key, if the text here is one.
    fn key(&mut self) -> Option<Ident<'a>> {
        match self.peek()? {
            b'"' | b'#' | b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                if self.peek() == Some(b'#')
                    && self.peek_at(1) != Some(b'"')
                    && self.peek_at(1) != Some(b'#')
                {
                    return None; // #true and friends
                }
                self.identifier_or_string()
            }
            _ => None,
        }
    }

    /// A value: a string (quoted, raw or a bare identifier), an integer, or
    /// `#true`/`#false`/`#null`; it must end where an entry can end.
    fn value(&mut self) -> Option<Raw<'a>> {
        let value = match self.peek()? {
            b'"' => Raw::String(self.quoted_string()?),
            b'#' => match self.peek_at(1)? {
                b'"' | b'#' => Raw::String(self.raw_string()?),
                _ => self.keyword()?,
            },
            b'0'..=b'9' | b'-' | b'+' => Raw::Integer(self.integer()?),
            _ => Raw::String(Cow::Borrowed(self.bare_identifier()?)),
        };
        match self.peek() {
            None | Some(b' ' | b'\t' | b'\n' | b'\r' | b';' | b'}') => Some(value),
            Some(b'/') if self.peek_at(1) == Some(b'/') => Some(value),
            _ => None,
        }
    }

    fn keyword(&mut self) -> Option<Raw<'a>> {
        let rest = self.text.get(self.pos..)?;
        for (word, value) in [
            ("#true", Raw::Bool(true)),
            ("#false", Raw::Bool(false)),
            ("#null", Raw::Null),
        ] {
            if rest.starts_with(word) {
                self.pos += word.len();
                return Some(value);
            }
        }
        None
    }

    /// A decimal integer: optional sign, a digit, digits and `_`; no leading zero
    /// before another digit, nothing that makes it a float or another radix.
    fn integer(&mut self) -> Option<i128> {
        let start = self.pos;
        let negative = match self.peek()? {
            b'-' => {
                self.pos += 1;
                true
            }
            b'+' => {
                self.pos += 1;
                false
            }
            _ => false,
        };
        let first = self.peek()?;
        if !first.is_ascii_digit() {
            return None;
        }
        if first == b'0'
            && matches!(
                self.peek_at(1),
                Some(b'0'..=b'9' | b'_' | b'x' | b'o' | b'b')
            )
        {
            return None;
        }
        let mut value: i128 = 0;
        while let Some(b) = self.peek() {
            match b {
                b'0'..=b'9' => {
                    value = value.checked_mul(10)?.checked_add(i128::from(b - b'0'))?;
                }
                b'_' => {}
                _ => break,
            }
            self.pos += 1;
        }
        if matches!(self.peek(), Some(b'.' | b'e' | b'E')) || self.pos == start {
            return None;
        }
        Some(if negative { -value } else { value })
    }
}

/// Characters KDL forbids in a document, and newlines other than LF.
fn disallowed_or_newline(c: char) -> bool {
    matches!(
        c as u32,
        0x85 | 0x2028 | 0x2029 | 0x200e | 0x200f | 0x202a..=0x202e | 0x2066..=0x2069 | 0xfeff
    ) || c.is_control()
}

/// Whether two documents are equal in everything trellis reads: node names, type
/// annotations, entries (names, type annotations, values) and children, and every
/// span. `Err` says where they differ. Used by the tests and the fuzz target that
/// hold [`parse`] to the `kdl` crate.
pub fn same_document(a: &KdlDocument, b: &KdlDocument) -> Result<(), String> {
    if a.span() != b.span() {
        return Err(format!("document span {:?} vs {:?}", a.span(), b.span()));
    }
    if a.nodes().len() != b.nodes().len() {
        return Err(format!("{} nodes vs {}", a.nodes().len(), b.nodes().len()));
    }
    for (x, y) in a.nodes().iter().zip(b.nodes()) {
        same_node(x, y)?;
    }
    Ok(())
}

fn same_identifier(what: &str, a: &KdlIdentifier, b: &KdlIdentifier) -> Result<(), String> {
    if a.value() != b.value() || a.span() != b.span() {
        return Err(format!(
            "{what} {:?} at {:?} vs {:?} at {:?}",
            a.value(),
            a.span(),
            b.value(),
            b.span()
        ));
    }
    Ok(())
}

fn same_optional(
    what: &str,
    a: Option<&KdlIdentifier>,
    b: Option<&KdlIdentifier>,
) -> Result<(), String> {
    match (a, b) {
        (None, None) => Ok(()),
        (Some(x), Some(y)) => same_identifier(what, x, y),
        _ => Err(format!("{what}: {a:?} vs {b:?}")),
    }
}

fn same_node(a: &KdlNode, b: &KdlNode) -> Result<(), String> {
    same_identifier("node name", a.name(), b.name())?;
    same_optional("node type", a.ty(), b.ty())?;
    if a.span() != b.span() {
        return Err(format!(
            "node {:?} span {:?} vs {:?}",
            a.name().value(),
            a.span(),
            b.span()
        ));
    }
    if a.entries().len() != b.entries().len() {
        return Err(format!(
            "node {:?}: {} entries vs {}",
            a.name().value(),
            a.entries().len(),
            b.entries().len()
        ));
    }
    for (x, y) in a.entries().iter().zip(b.entries()) {
        same_optional("property", x.name(), y.name())?;
        same_optional("entry type", x.ty(), y.ty())?;
        let same_value = match (x.value(), y.value()) {
            // NaN is not equal to itself.
            (KdlValue::Float(p), KdlValue::Float(q)) => p.to_bits() == q.to_bits(),
            (p, q) => p == q,
        };
        if !same_value || x.span() != y.span() {
            return Err(format!(
                "entry {:?} at {:?} vs {:?} at {:?}",
                x.value(),
                x.span(),
                y.value(),
                y.span()
            ));
        }
    }
    match (a.children(), b.children()) {
        (None, None) => Ok(()),
        (Some(x), Some(y)) => same_document(x, y),
        (x, y) => Err(format!("children {:?} vs {:?}", x.is_some(), y.is_some())),
    }
}
