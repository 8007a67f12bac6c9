//! `trellis fmt`: prints a trellis source in its one canonical layout, keeping every
//! comment and never changing what the file means.
//!
//! The module turns the text of one file into its canonical text. It must not read or
//! write files (the CLI does), must not change meaning (the formatted text parses to the
//! same nodes, names, type annotations, arguments and properties, in the same order),
//! must not lose a comment, and must not panic on any input.
//!
//! # Canonical style
//!
//! - One node per line, indented by 4 spaces per level; nodes that shared a line
//!   through `;` are split onto lines of their own and the `;` is dropped.
//! - A node is `(type)name args-and-props... {`, its children one level deeper and `}`
//!   on a line of its own. Entries keep their order. An empty children block (`{ }`
//!   with nothing inside, not even a comment) is removed.
//! - A line-continuation `\` is removed and the continued entries joined onto one line,
//!   unless a `//` comment follows it: then it stays, as ` \ // comment`, and the node
//!   continues on the next line one level deeper.
//! - String values are quoted, `"..."`, with the fewest escapes: `\"`, `\\`, `\n`, `\r`,
//!   `\t`, `\b`, `\f`, and `\u{..}` for the other line breaks and the code points KDL
//!   forbids in source; everything else is written as itself. Bare identifier strings
//!   (`network corp`) become quoted (`network "corp"`). Exceptions: a single-line raw
//!   string whose value contains `"` or `\` stays raw as written (`#"\d+"#`); a
//!   multi-line string (`"""`, `#"""`) stays as written (its lines are not
//!   re-indented; whitespace-only lines are emptied), unless a line of it ends in
//!   whitespace: then it is printed as a one-line quoted string.
//! - Node names, property keys and type annotations are bare when they are valid KDL
//!   v2 identifiers, quoted otherwise.
//! - Numbers keep the digits they were written with (`0x1F`, `1_000`, `1.5e3`);
//!   keywords are `#true`, `#false`, `#null`, `#inf`, `#-inf`, `#nan`.
//! - Properties are `key=value` and type annotations `(type)value`, without spaces.
//! - Comments stay where they were: a comment on its own line stays on its own line
//!   (at the indentation of the nodes around it); a comment after a node stays at the
//!   end of its line; a comment between entries stays between them; a `/* */` before a
//!   node on the same line stays before it; comments on the line of a `{` stay after
//!   the `{`. A `/* */` comment alone on its lines moves with its indentation, its
//!   later lines shifted by as much as its first. Line breaks inside comments become
//!   LF and trailing whitespace inside them is removed.
//! - Slashdash comments are re-printed in canonical form (their own comments kept):
//!   `/- node ...` for a node, `/-entry` for an argument or property, `/- { ... }` for
//!   a children block. Comments written between `/-` and what it comments out move in
//!   front of the `/-`. Where the `kdl` crate ends a node early (`/- a {b} c` and
//!   `/- a #true"c"`, which it reads as a slashdashed `a` and a node `c`), the two are
//!   printed on lines of their own, as it reads them.
//! - At most one blank line between two nodes or comments (a run of blank lines
//!   becomes one), none at the start or end of the file or of a block; no trailing
//!   whitespace; LF line endings; exactly one final newline (an empty file stays
//!   empty); a byte-order mark is dropped.
//!
//! # How
//!
//! The text is first parsed by [`crate::parse::parse_file`], so a file with syntax
//! errors is reported and left alone. A small lexer and a lossless parser then read the
//! same text into nodes, entries and the comments and blank lines between them, and a
//! printer writes them out. The `kdl` crate decodes quoted and raw strings. As a last
//! guard the output is parsed again and compared with the input: if the meaning
//! differs (which would be a bug here), the text is returned unchanged rather than
//! written wrong.

use kdl::{KdlDocument, KdlEntry, KdlNode};

use crate::diag::Diagnostics;
use crate::parse;
use crate::source::FileId;

const INDENT: &str = "    ";

/// Formats one file's text. Returns `None` (with diagnostics) when it does not parse.
pub fn format_source(file: FileId, text: &str, diags: &mut Diagnostics) -> Option<String> {
    let doc = parse::parse_file(file, text, diags)?;
    Some(format_parsed(text, &doc).unwrap_or_else(|| text.to_string()))
}

/// The canonical text of `text`, or `None` when it is not valid KDL v2 or (a bug)
/// the formatter could not keep its meaning. Unlike [`format_source`] it never falls
/// back to the unchanged text, so tests can tell the two apart.
pub fn format_canonical(text: &str) -> Option<String> {
    let doc = KdlDocument::parse_v2(text).ok()?;
    format_parsed(text, &doc)
}

/// The canonical text of `text`, whose parse is `doc`; `None` when the formatter could
/// not reproduce the document's meaning (a bug, guarded against).
fn format_parsed(text: &str, doc: &KdlDocument) -> Option<String> {
    let tokens = lex(text)?;
    let mut parser = Parser {
        toks: &tokens,
        pos: 0,
    };
    let items = parser.document()?;
    let mut out = Out::default();
    out.items(&items, 0);
    let formatted = out.finish();
    let reparsed = KdlDocument::parse_v2(&formatted).ok()?;
    same_meaning(doc, &reparsed).then_some(formatted)
}

/// Whether two documents have the same nodes, names, type annotations, arguments and
/// properties in the same order, ignoring layout and comments. A missing children
/// block and an empty one are the same.
fn same_meaning(a: &KdlDocument, b: &KdlDocument) -> bool {
    a.nodes().len() == b.nodes().len()
        && a.nodes()
            .iter()
            .zip(b.nodes())
            .all(|(x, y)| same_node(x, y))
}

fn same_node(a: &KdlNode, b: &KdlNode) -> bool {
    let same_children = match (non_empty_children(a), non_empty_children(b)) {
        (None, None) => true,
        (Some(x), Some(y)) => same_meaning(x, y),
        _ => false,
    };
    a.name().value() == b.name().value()
        && a.ty().map(|t| t.value()) == b.ty().map(|t| t.value())
        && a.entries().len() == b.entries().len()
        && a.entries()
            .iter()
            .zip(b.entries())
            .all(|(x, y)| same_entry(x, y))
        && same_children
}

fn non_empty_children(node: &KdlNode) -> Option<&KdlDocument> {
    node.children().filter(|c| !c.nodes().is_empty())
}

fn same_entry(a: &KdlEntry, b: &KdlEntry) -> bool {
    a.name().map(|n| n.value()) == b.name().map(|n| n.value())
        && a.ty().map(|t| t.value()) == b.ty().map(|t| t.value())
        && a.value() == b.value()
}

// ---------------------------------------------------------------------------
// Characters (KDL v2, as the `kdl` crate reads it)

const UNICODE_SPACES: [char; 18] = [
    '\u{0009}', '\u{0020}', '\u{00A0}', '\u{1680}', '\u{2000}', '\u{2001}', '\u{2002}', '\u{2003}',
    '\u{2004}', '\u{2005}', '\u{2006}', '\u{2007}', '\u{2008}', '\u{2009}', '\u{200A}', '\u{202F}',
    '\u{205F}', '\u{3000}',
];

fn is_space(c: char) -> bool {
    UNICODE_SPACES.contains(&c)
}

fn is_newline_char(c: char) -> bool {
    matches!(
        c,
        '\r' | '\n' | '\u{0085}' | '\u{000B}' | '\u{000C}' | '\u{2028}' | '\u{2029}'
    )
}

/// Length in bytes of the newline `s` starts with, if any (`\r\n` counts as one).
fn newline_len(s: &str) -> Option<usize> {
    if s.starts_with("\r\n") {
        return Some(2);
    }
    s.chars()
        .next()
        .filter(|&c| is_newline_char(c))
        .map(char::len_utf8)
}

/// Code points that may not appear literally in KDL source (U+007F included: the
/// spec forbids it even where the `kdl` crate is lenient).
fn is_disallowed(c: char) -> bool {
    matches!(c,
        '\u{0000}'..='\u{0008}'
        | '\u{000E}'..='\u{001F}'
        | '\u{007F}'
        | '\u{200E}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2066}'..='\u{2069}'
        | '\u{FEFF}'
    )
}

fn is_ident_char(c: char) -> bool {
    !(matches!(
        c,
        '\\' | '/' | '(' | ')' | '{' | '}' | '[' | ']' | ';' | '"' | '#' | '='
    ) || is_space(c)
        || is_newline_char(c)
        || is_disallowed(c))
}

/// What the lexer reads as part of a bare token: like the `kdl` crate, it accepts
/// U+007F, which is printed escaped in a quoted string.
fn is_bare_char(c: char) -> bool {
    c == '\u{7F}' || is_ident_char(c)
}

/// Whether `s` can be written as a bare KDL v2 identifier string.
fn is_identifier(s: &str) -> bool {
    if s.is_empty()
        || !s.chars().all(is_ident_char)
        || matches!(s, "true" | "false" | "null" | "inf" | "-inf" | "nan")
    {
        return false;
    }
    let mut chars = s.chars();
    let first = chars.next();
    let second = chars.next();
    let third = chars.next();
    let digit = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit());
    match first {
        Some(c) if c.is_ascii_digit() => false,
        Some('+' | '-') => !(digit(second) || (second == Some('.') && digit(third))),
        Some('.') => !digit(second),
        _ => true,
    }
}

/// Whether a bare token is a number: a digit first, after at most one sign.
fn is_number(s: &str) -> bool {
    s.strip_prefix(['+', '-'])
        .unwrap_or(s)
        .starts_with(|c: char| c.is_ascii_digit())
}

/// `s` as a quoted KDL string with the fewest escapes (also used for `trellis.lock`,
/// and by the tests and fuzz targets that write KDL).
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    quote_into(&mut out, s);
    out
}

/// [`quote`], appended to `out`.
pub fn quote_into(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{0008}' => out.push_str("\\b"),
            '\u{000C}' => out.push_str("\\f"),
            c if is_newline_char(c) || is_disallowed(c) => {
                out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The value of a quoted or raw string token: without escapes it is what is between
/// the quotes; otherwise the `kdl` crate decodes it.
fn decode_string(token: &str) -> Option<String> {
    let hashes = token.len() - token.trim_start_matches('#').len();
    let quotes = token.get(hashes..)?;
    if !quotes.starts_with("\"\"\"") && (hashes > 0 || !token.contains('\\')) {
        let inner = quotes
            .strip_prefix('"')?
            .strip_suffix("#".repeat(hashes).as_str())?;
        return inner.strip_suffix('"').map(str::to_string);
    }
    decode_with_kdl(token)
}

fn decode_with_kdl(token: &str) -> Option<String> {
    let doc = KdlDocument::parse_v2(&format!("_ {token}")).ok()?;
    let entry = doc.nodes().first()?.entries().first()?;
    entry.value().as_string().map(str::to_string)
}

/// How a node name, property key or type annotation is printed.
fn ident_repr(tok: Tok<'_>) -> Option<String> {
    match tok {
        Tok::Bare(text) if is_identifier(text) => Some(text.to_string()),
        Tok::Bare(text) => Some(quote(text)),
        Tok::Str(text) => {
            let value = decode_string(text)?;
            Some(if is_identifier(&value) {
                value
            } else {
                quote(&value)
            })
        }
        _ => None,
    }
}

/// How a value (argument or property value) is printed.
fn value_repr(tok: Tok<'_>) -> Option<String> {
    match tok {
        // Keywords (`#true`) and numbers keep their text; identifier strings are quoted.
        Tok::Bare(text) if text.starts_with('#') || is_number(text) => Some(text.to_string()),
        Tok::Bare(text) => Some(quote(text)),
        Tok::Str(text) => string_repr(text),
        _ => None,
    }
}

fn string_repr(token: &str) -> Option<String> {
    let value = decode_string(token)?;
    let is_raw = token.starts_with('#');
    if token.trim_start_matches('#').starts_with("\"\"\"") {
        let text = normalize_newlines(token);
        let ends_in_space = text.split('\n').skip(1).any(|line| {
            let trimmed = line.trim_end_matches(is_space);
            trimmed.len() != line.len() && !trimmed.trim_start_matches(is_space).is_empty()
        });
        if ends_in_space {
            return Some(quote(&value));
        }
        let lines: Vec<&str> = text
            .split('\n')
            .map(|line| if line.chars().all(is_space) { "" } else { line })
            .collect();
        return Some(lines.join("\n"));
    }
    if is_raw && (value.contains('"') || value.contains('\\')) {
        return Some(token.to_string());
    }
    Some(quote(&value))
}

/// Every KDL line break as `\n`.
fn normalize_newlines(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        match newline_len(rest) {
            Some(len) => {
                out.push('\n');
                rest = rest.get(len..).unwrap_or("");
            }
            None => {
                out.push(c);
                rest = rest.get(c.len_utf8()..).unwrap_or("");
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Lexer

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok<'a> {
    /// A run of unicode spaces.
    Space,
    Newline,
    /// `// ...`, without the line break that ends it.
    LineComment(&'a str),
    /// `/* ... */` (nested), and the column it starts at.
    BlockComment(&'a str, usize),
    /// `\`, a line continuation.
    Escline,
    /// `/-`
    Slashdash,
    Semi,
    LBrace,
    RBrace,
    LParen,
    RParen,
    Equals,
    /// A quoted, raw or multi-line string, as written.
    Str(&'a str),
    /// An identifier string, a number or a keyword, as written.
    Bare(&'a str),
}

/// Splits valid KDL v2 text into tokens; `None` on text it does not understand.
fn lex(src: &str) -> Option<Vec<Tok<'_>>> {
    let mut toks = Vec::new();
    // The column of `pos`, in characters.
    let mut col = 0;
    let mut pos = if src.starts_with('\u{FEFF}') {
        '\u{FEFF}'.len_utf8()
    } else {
        0
    };
    while let Some(rest) = src.get(pos..) {
        let Some(c) = rest.chars().next() else {
            break;
        };
        let (tok, len) = if let Some(len) = newline_len(rest) {
            (Tok::Newline, len)
        } else if is_space(c) {
            (
                Tok::Space,
                rest.find(|c| !is_space(c)).unwrap_or(rest.len()),
            )
        } else if rest.starts_with("//") {
            let len = rest.find(is_newline_char).unwrap_or(rest.len());
            (Tok::LineComment(rest.get(..len)?), len)
        } else if rest.starts_with("/*") {
            let len = block_comment_len(rest)?;
            (Tok::BlockComment(rest.get(..len)?, col), len)
        } else if rest.starts_with("/-") {
            (Tok::Slashdash, 2)
        } else {
            match c {
                '\\' => (Tok::Escline, 1),
                ';' => (Tok::Semi, 1),
                '{' => (Tok::LBrace, 1),
                '}' => (Tok::RBrace, 1),
                '(' => (Tok::LParen, 1),
                ')' => (Tok::RParen, 1),
                '=' => (Tok::Equals, 1),
                '"' => {
                    let len = quoted_len(rest)?;
                    (Tok::Str(rest.get(..len)?), len)
                }
                '#' => {
                    let hashes = rest.len() - rest.trim_start_matches('#').len();
                    if rest.get(hashes..)?.starts_with('"') {
                        let len = raw_len(rest, hashes)?;
                        (Tok::Str(rest.get(..len)?), len)
                    } else {
                        let len = 1 + ident_run_len(rest.get(1..)?);
                        (Tok::Bare(rest.get(..len)?), len)
                    }
                }
                c if is_bare_char(c) => {
                    let len = ident_run_len(rest);
                    (Tok::Bare(rest.get(..len)?), len)
                }
                _ => return None,
            }
        };
        if len == 0 {
            return None;
        }
        col = next_column(col, rest.get(..len)?);
        toks.push(tok);
        pos += len;
    }
    Some(toks)
}

/// The column (in characters) after `text`, which starts at column `col`.
fn next_column(col: usize, text: &str) -> usize {
    match text.rfind(is_newline_char) {
        Some(i) => text
            .get(i..)
            .map_or(0, |after| after.chars().count().saturating_sub(1)),
        None => col + text.chars().count(),
    }
}

fn ident_run_len(s: &str) -> usize {
    s.find(|c| !is_bare_char(c)).unwrap_or(s.len())
}

fn block_comment_len(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut depth = 0usize;
    let mut i = 0usize;
    loop {
        match bytes.get(i..i + 2) {
            Some(b"/*") => {
                depth += 1;
                i += 2;
            }
            Some(b"*/") => {
                depth = depth.checked_sub(1)?;
                i += 2;
                if depth == 0 {
                    return Some(i);
                }
            }
            Some(_) => i += 1,
            None => return None,
        }
    }
}

/// Length of the quoted (or `"""` multi-line) string `s` starts with.
fn quoted_len(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let multi = s.starts_with("\"\"\"");
    let mut i = if multi { 3 } else { 1 };
    loop {
        match bytes.get(i)? {
            // Only ASCII is ever compared, so stepping into a multi-byte character
            // is harmless.
            b'\\' => i += 2,
            b'"' if !multi => return Some(i + 1),
            b'"' if bytes.get(i..i + 3) == Some(b"\"\"\"") => return Some(i + 3),
            _ => i += 1,
        }
    }
}

/// Length of the raw string `s` starts with, opened by `hashes` `#`s.
fn raw_len(s: &str, hashes: usize) -> Option<usize> {
    let after = s.get(hashes..)?;
    let multi = after.starts_with("\"\"\"") && after.get(3..).and_then(newline_len).is_some();
    let (open, close) = if multi {
        (3, format!("\"\"\"{}", "#".repeat(hashes)))
    } else {
        (1, format!("\"{}", "#".repeat(hashes)))
    };
    let body_start = hashes + open;
    let end = s.get(body_start..)?.find(&close)?;
    Some(body_start + end + close.len())
}

// ---------------------------------------------------------------------------
// Parser: tokens into lines of nodes and comments

#[derive(Debug, Clone)]
struct Comment {
    text: String,
    /// A `//` comment, which ends its line.
    line: bool,
    /// Column where the comment started in the input (block comments).
    col: usize,
}

impl Comment {
    fn from_tok(tok: Tok<'_>) -> Option<Comment> {
        match tok {
            Tok::LineComment(text) => Some(Comment {
                text: text.trim_end().to_string(),
                line: true,
                col: 0,
            }),
            Tok::BlockComment(text, col) => {
                let text = normalize_newlines(text);
                let lines: Vec<&str> = text.split('\n').map(str::trim_end).collect();
                Some(Comment {
                    text: lines.join("\n"),
                    line: false,
                    col,
                })
            }
            _ => None,
        }
    }
}

#[derive(Debug)]
enum Piece {
    Text(String),
    /// At least one space (none at the start of a line).
    Space,
    Comment(Comment),
}

#[derive(Debug)]
enum Item {
    Blank,
    /// Comments alone on a line.
    Comments(Vec<Comment>),
    Node(Node),
}

#[derive(Debug, Default)]
struct Node {
    /// Comments printed on lines of their own before the node.
    pre_lines: Vec<Comment>,
    /// Everything up to the children blocks: comments before the node, `/-`, type,
    /// name, entries and the comments between them.
    line: Vec<Piece>,
    blocks: Vec<Block>,
    /// Comments after the node on its last line.
    trailing: Vec<Comment>,
}

#[derive(Debug)]
struct Block {
    /// Comments between the previous part of the node and this block.
    before: Vec<Comment>,
    slashdash: bool,
    /// Comments after `{` on its line.
    brace: Vec<Comment>,
    items: Vec<Item>,
}

struct Parser<'t, 'a> {
    toks: &'t [Tok<'a>],
    pos: usize,
}

impl<'a> Parser<'_, 'a> {
    fn peek(&self) -> Option<Tok<'a>> {
        self.toks.get(self.pos).copied()
    }

    fn bump(&mut self) {
        self.pos += 1;
    }

    fn expect(&mut self, tok: Tok<'a>) -> Option<()> {
        if self.peek() == Some(tok) {
            self.bump();
            Some(())
        } else {
            None
        }
    }

    fn document(&mut self) -> Option<Vec<Item>> {
        let items = self.items(Vec::new())?;
        match self.peek() {
            None => Some(items),
            Some(_) => None,
        }
    }

    /// The nodes and comments of a document or block, up to `}` or the end.
    /// `inline` are comments already read on the current line.
    fn items(&mut self, mut inline: Vec<Comment>) -> Option<Vec<Item>> {
        let mut items = Vec::new();
        let mut blank = false;
        let mut line_start = inline.is_empty();
        fn push(items: &mut Vec<Item>, blank: &mut bool, item: Item) {
            if *blank && !items.is_empty() {
                items.push(Item::Blank);
            }
            *blank = false;
            items.push(item);
        }
        loop {
            match self.peek() {
                None | Some(Tok::RBrace) => break,
                Some(Tok::Space | Tok::Semi) => self.bump(),
                Some(Tok::Escline) => {
                    self.bump();
                    line_start = false;
                }
                Some(Tok::Newline) => {
                    self.bump();
                    if !inline.is_empty() {
                        push(
                            &mut items,
                            &mut blank,
                            Item::Comments(std::mem::take(&mut inline)),
                        );
                    } else if line_start {
                        blank = true;
                    }
                    line_start = true;
                }
                Some(tok @ Tok::LineComment(_)) => {
                    self.bump();
                    inline.extend(Comment::from_tok(tok));
                    push(
                        &mut items,
                        &mut blank,
                        Item::Comments(std::mem::take(&mut inline)),
                    );
                    line_start = false;
                }
                Some(tok @ Tok::BlockComment(..)) => {
                    self.bump();
                    inline.extend(Comment::from_tok(tok));
                    line_start = false;
                }
                Some(_) => {
                    let (node, carry, ended_line) = self.node(std::mem::take(&mut inline))?;
                    push(&mut items, &mut blank, Item::Node(node));
                    inline = carry;
                    line_start = ended_line;
                }
            }
        }
        if !inline.is_empty() {
            push(&mut items, &mut blank, Item::Comments(inline));
        }
        Some(items)
    }

    /// The rest of a line: spaces and `/* */` comments, then a `//` comment and the
    /// line break, or the line break alone. Comments go to `out`. True when the line
    /// ended; false when something else follows (left unread).
    fn rest_of_line(&mut self, out: &mut Vec<Comment>) -> bool {
        loop {
            match self.peek() {
                Some(Tok::Space) => self.bump(),
                Some(tok @ Tok::BlockComment(..)) => {
                    self.bump();
                    out.extend(Comment::from_tok(tok));
                }
                Some(tok @ Tok::LineComment(_)) => {
                    self.bump();
                    out.extend(Comment::from_tok(tok));
                    if self.peek() == Some(Tok::Newline) {
                        self.bump();
                    }
                    return true;
                }
                Some(Tok::Newline) => {
                    self.bump();
                    return true;
                }
                _ => return false,
            }
        }
    }

    /// Node-space: spaces, `/* */` comments and line continuations (with their `//`
    /// comments). Comments go to `out`.
    fn inline_trivia(&mut self, out: &mut Vec<Comment>) {
        loop {
            match self.peek() {
                Some(Tok::Space) => self.bump(),
                Some(tok @ Tok::BlockComment(..)) => {
                    self.bump();
                    out.extend(Comment::from_tok(tok));
                }
                Some(Tok::Escline) => {
                    self.bump();
                    self.rest_of_line(out);
                }
                _ => return,
            }
        }
    }

    /// What may follow `/-`: any space, line breaks and comments.
    fn slashdash_trivia(&mut self, out: &mut Vec<Comment>) {
        loop {
            match self.peek() {
                Some(Tok::Space | Tok::Newline | Tok::Escline) => self.bump(),
                Some(tok @ (Tok::BlockComment(..) | Tok::LineComment(_))) => {
                    self.bump();
                    out.extend(Comment::from_tok(tok));
                }
                _ => return,
            }
        }
    }

    fn comments_into(pieces: &mut Vec<Piece>, comments: Vec<Comment>) {
        pieces.extend(comments.into_iter().map(Piece::Comment));
    }

    /// A node, its terminator and the comments after it on its line. Returns the node,
    /// comments that precede the next node on the same line (after `;`), and whether
    /// the node's line ended.
    fn node(&mut self, before: Vec<Comment>) -> Option<(Node, Vec<Comment>, bool)> {
        let mut node = Node::default();
        Self::comments_into(&mut node.line, before);
        if self.peek() == Some(Tok::Slashdash) {
            self.bump();
            self.slashdash_trivia(&mut node.pre_lines);
            node.line.push(Piece::Text("/-".into()));
            node.line.push(Piece::Space);
        }
        if self.peek() == Some(Tok::LParen) {
            self.type_annotation(&mut node.line)?;
            let mut comments = Vec::new();
            self.inline_trivia(&mut comments);
            Self::comments_into(&mut node.line, comments);
        }
        let name = ident_repr(self.peek()?)?;
        self.bump();
        node.line.push(Piece::Text(name));
        let mut glue = false;
        loop {
            let mut comments = Vec::new();
            self.inline_trivia(&mut comments);
            let start = self.pos;
            if Self::glued_to_value(self.toks, start)
                && matches!(
                    self.peek(),
                    Some(Tok::Slashdash | Tok::Str(_) | Tok::Bare(_) | Tok::LParen)
                )
            {
                // The `kdl` crate ends a node at a keyword that something other than
                // a space, a comment or a block follows; in `/- a #true"b" 1` (valid
                // for it) `"b" 1` is a node of its own.
                return Some(Self::end_at_next_node(node, comments));
            }
            match self.peek() {
                Some(Tok::Slashdash) => {
                    self.bump();
                    let read = comments.len();
                    self.slashdash_trivia(&mut comments);
                    if self.peek() == Some(Tok::LBrace) {
                        node.blocks.push(self.block(comments, true)?);
                    } else if !node.blocks.is_empty() {
                        // The `kdl` crate reads `a {b} /-c` as a node `a` followed
                        // by a slashdashed node `c`.
                        self.pos = start;
                        comments.truncate(read);
                        return Some(Self::end_at_next_node(node, comments));
                    } else {
                        if !std::mem::take(&mut glue) {
                            node.line.push(Piece::Space);
                        }
                        if self.peek() == Some(Tok::Slashdash) {
                            // `/-/-a b`: the outer `/-` comments out both entries;
                            // printed as written, it still does. Comments stay
                            // between the two.
                            let after = comments.split_off(read);
                            Self::comments_into(&mut node.line, comments);
                            node.line.push(Piece::Text("/-".into()));
                            Self::comments_into(&mut node.line, after);
                            glue = true;
                        } else {
                            Self::comments_into(&mut node.line, comments);
                            node.line.push(Piece::Text("/-".into()));
                            self.entry(&mut node.line)?;
                        }
                    }
                }
                Some(Tok::LBrace) => node.blocks.push(self.block(comments, false)?),
                Some(Tok::Str(_) | Tok::Bare(_) | Tok::LParen) if !node.blocks.is_empty() => {
                    return Some(Self::end_at_next_node(node, comments));
                }
                Some(Tok::Str(_) | Tok::Bare(_) | Tok::LParen) => {
                    node.line.push(Piece::Space);
                    Self::comments_into(&mut node.line, comments);
                    self.entry(&mut node.line)?;
                }
                _ => {
                    node.trailing = comments;
                    break;
                }
            }
        }
        match self.peek() {
            None | Some(Tok::RBrace) => Some((node, Vec::new(), false)),
            Some(Tok::Newline) => {
                self.bump();
                Some((node, Vec::new(), true))
            }
            Some(tok @ Tok::LineComment(_)) => {
                self.bump();
                node.trailing.extend(Comment::from_tok(tok));
                if self.peek() == Some(Tok::Newline) {
                    self.bump();
                }
                Some((node, Vec::new(), true))
            }
            Some(Tok::Semi) => {
                self.bump();
                let mut after = Vec::new();
                let ended = self.rest_of_line(&mut after);
                match self.peek() {
                    _ if ended => {
                        node.trailing.append(&mut after);
                        Some((node, Vec::new(), true))
                    }
                    None | Some(Tok::RBrace) => {
                        node.trailing.append(&mut after);
                        Some((node, Vec::new(), false))
                    }
                    Some(_) => Some((node, after, false)),
                }
            }
            Some(_) => None,
        }
    }

    /// Whether the token at `pos` directly follows a keyword or number, with no space.
    fn glued_to_value(toks: &[Tok<'_>], pos: usize) -> bool {
        pos.checked_sub(1)
            .and_then(|before| toks.get(before))
            .is_some_and(|tok| matches!(tok, Tok::Bare(_)))
    }

    /// Ends `node` where the next node starts on the same line without a terminator;
    /// `comments` between the two go with the next node unless one is a `//`.
    fn end_at_next_node(mut node: Node, comments: Vec<Comment>) -> (Node, Vec<Comment>, bool) {
        if comments.iter().any(|c| c.line) {
            node.trailing = comments;
            (node, Vec::new(), true)
        } else {
            (node, comments, false)
        }
    }

    /// `( name )`, with any comments inside.
    fn type_annotation(&mut self, pieces: &mut Vec<Piece>) -> Option<()> {
        self.expect(Tok::LParen)?;
        pieces.push(Piece::Text("(".into()));
        let mut comments = Vec::new();
        self.inline_trivia(&mut comments);
        Self::comments_into(pieces, comments);
        let name = ident_repr(self.peek()?)?;
        self.bump();
        pieces.push(Piece::Text(name));
        let mut comments = Vec::new();
        self.inline_trivia(&mut comments);
        Self::comments_into(pieces, comments);
        self.expect(Tok::RParen)?;
        pieces.push(Piece::Text(")".into()));
        Some(())
    }

    /// `(type)value`, with any comments between the two.
    fn typed_value(&mut self, pieces: &mut Vec<Piece>) -> Option<()> {
        if self.peek() == Some(Tok::LParen) {
            self.type_annotation(pieces)?;
            let mut comments = Vec::new();
            self.inline_trivia(&mut comments);
            Self::comments_into(pieces, comments);
        }
        let value = value_repr(self.peek()?)?;
        self.bump();
        pieces.push(Piece::Text(value));
        Some(())
    }

    /// An argument or a property.
    fn entry(&mut self, pieces: &mut Vec<Piece>) -> Option<()> {
        let tok = self.peek()?;
        if !matches!(tok, Tok::Str(_) | Tok::Bare(_)) {
            return self.typed_value(pieces);
        }
        let start = self.pos;
        self.bump();
        let mut comments = Vec::new();
        self.inline_trivia(&mut comments);
        if self.peek() != Some(Tok::Equals) {
            self.pos = start;
            return self.typed_value(pieces);
        }
        self.bump();
        pieces.push(Piece::Text(ident_repr(tok)?));
        Self::comments_into(pieces, comments);
        pieces.push(Piece::Text("=".into()));
        let mut comments = Vec::new();
        self.inline_trivia(&mut comments);
        Self::comments_into(pieces, comments);
        self.typed_value(pieces)
    }

    /// A children block, from `{` to `}`.
    fn block(&mut self, before: Vec<Comment>, slashdash: bool) -> Option<Block> {
        self.expect(Tok::LBrace)?;
        let mut brace = Vec::new();
        let mut inline = Vec::new();
        if !self.rest_of_line(&mut brace) {
            // Something follows on the `{` line: the comments go with it.
            inline = std::mem::take(&mut brace);
        }
        let items = self.items(inline)?;
        self.expect(Tok::RBrace)?;
        Some(Block {
            before,
            slashdash,
            brace,
            items,
        })
    }
}

// ---------------------------------------------------------------------------
// Printer

#[derive(Default)]
struct Out {
    text: String,
    /// Nothing but indentation written on the current line yet.
    fresh: bool,
    /// A space is due before the next text.
    space: bool,
}

impl Out {
    fn finish(self) -> String {
        self.text
    }

    fn indent(&mut self, level: usize) {
        for _ in 0..level {
            self.text.push_str(INDENT);
        }
        self.fresh = true;
        self.space = false;
    }

    fn text(&mut self, s: &str) {
        if self.space && !self.fresh {
            self.text.push(' ');
        }
        self.text.push_str(s);
        self.fresh = false;
        self.space = false;
    }

    fn space(&mut self) {
        self.space = true;
    }

    fn newline(&mut self) {
        let trimmed = self.text.trim_end_matches([' ', '\t']).len();
        self.text.truncate(trimmed);
        self.text.push('\n');
        self.fresh = true;
        self.space = false;
    }

    /// A comment inside a node's line at `level`. A `//` comment needs a line
    /// continuation before it; the node goes on one level deeper.
    fn inline_comment(&mut self, comment: &Comment, level: usize) {
        self.space();
        if comment.line {
            self.text("\\");
            self.space();
            self.text(&comment.text);
            self.newline();
            self.indent(level + 1);
        } else {
            self.text(&comment.text);
            self.space();
        }
    }

    /// Comments alone on a line at `level`.
    fn comment_line(&mut self, comments: &[Comment], level: usize) {
        self.indent(level);
        let Some(first) = comments.first() else {
            return;
        };
        let shift = (level * INDENT.len()) as isize - first.col as isize;
        for comment in comments {
            self.space();
            if comment.line {
                self.text(&comment.text);
            } else {
                self.text(&shift_lines(&comment.text, shift));
            }
        }
        self.newline();
    }

    fn items(&mut self, items: &[Item], level: usize) {
        for item in items {
            match item {
                Item::Blank => self.newline(),
                Item::Comments(comments) => self.comment_line(comments, level),
                Item::Node(node) => self.node(node, level),
            }
        }
    }

    fn node(&mut self, node: &Node, level: usize) {
        for comment in &node.pre_lines {
            self.comment_line(std::slice::from_ref(comment), level);
        }
        self.indent(level);
        for piece in &node.line {
            match piece {
                Piece::Text(text) => self.text(text),
                Piece::Space => self.space(),
                Piece::Comment(comment) => self.inline_comment(comment, level),
            }
        }
        // Comments before a removed empty block go with what follows it.
        let mut pending: Vec<&Comment> = Vec::new();
        for block in &node.blocks {
            pending.extend(&block.before);
            let empty = block.items.is_empty() && block.brace.is_empty();
            if empty && !block.slashdash {
                continue;
            }
            for comment in pending.drain(..) {
                self.inline_comment(comment, level);
            }
            self.space();
            if block.slashdash {
                self.text("/-");
                self.space();
            }
            self.text("{");
            if empty {
                self.space();
                self.text("}");
                continue;
            }
            for comment in &block.brace {
                self.space();
                self.text(&comment.text);
            }
            self.newline();
            self.items(&block.items, level + 1);
            self.indent(level);
            self.text("}");
        }
        pending.extend(&node.trailing);
        let last = pending.len().saturating_sub(1);
        for (i, comment) in pending.into_iter().enumerate() {
            if comment.line && i < last {
                self.inline_comment(comment, level);
            } else {
                self.space();
                self.text(&comment.text);
            }
        }
        self.newline();
    }
}

/// Moves the second and later lines of a block comment right (`shift > 0`) or left by
/// `shift` spaces, never removing anything but leading spaces.
fn shift_lines(text: &str, shift: isize) -> String {
    if shift == 0 || !text.contains('\n') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
            if !line.is_empty() {
                if shift > 0 {
                    out.push_str(&" ".repeat(shift.unsigned_abs()));
                    out.push_str(line);
                } else {
                    let spaces = line.len() - line.trim_start_matches(' ').len();
                    let cut = spaces.min(shift.unsigned_abs());
                    out.push_str(line.get(cut..).unwrap_or(line));
                }
                continue;
            }
        }
        out.push_str(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        for ok in [
            "foo", "-", "+", ".", "-.", "-.x", "..", "a1", "node-ips", "-x", "…",
        ] {
            assert!(is_identifier(ok), "{ok}");
        }
        for bad in [
            "", "1", "-1", "+.5", ".5", "true", "-inf", "a b", "a=b", "a\"", "#a", "a/b",
        ] {
            assert!(!is_identifier(bad), "{bad}");
        }
    }

    #[test]
    fn quoting_is_minimal_and_reparses() {
        for s in [
            "plain",
            "a\"b",
            "back\\slash",
            "tab\there",
            "nl\n",
            "\u{2028}",
            "é✓",
        ] {
            let doc = KdlDocument::parse_v2(&format!("n {}", quote(s))).ok();
            let value = doc
                .as_ref()
                .and_then(|d| d.nodes().first())
                .and_then(|n| n.entries().first())
                .and_then(|e| e.value().as_string());
            assert_eq!(value, Some(s));
        }
        assert_eq!(quote("é✓"), "\"é✓\"");
    }

    #[test]
    fn lexes_strings_and_comments() {
        let toks = lex("a #\"x\"y\"# \"q\\\"\" /* /* n */ */ // c").unwrap_or_default();
        assert_eq!(
            toks,
            [
                Tok::Bare("a"),
                Tok::Space,
                Tok::Str("#\"x\"y\"#"),
                Tok::Space,
                Tok::Str("\"q\\\"\""),
                Tok::Space,
                Tok::BlockComment("/* /* n */ */", 16),
                Tok::Space,
                Tok::LineComment("// c"),
            ]
        );
    }
}
