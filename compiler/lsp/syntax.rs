//! A tolerant outline of a KDL text, for the editor features: nodes, their
//! arguments and properties, and children, with byte spans.
//!
//! The compiler's parser (`kdl`) rejects a file with any syntax error, and a file
//! being typed is rarely valid; hover, completion, go-to-definition and symbols must
//! still work in it. So this module reads what it can and never fails: an
//! unterminated string runs to the end of its line, an unclosed `{` to the end of
//! the file, a stray `}` is skipped. It only outlines; diagnostics always come from
//! the compiler's own parser, and meaning from `lower::schema`.
//!
//! Invariant: linear in the text, no recursion deeper than `MAX_DEPTH`, no panic on
//! any input.

use crate::lower::schema::{self, NodeSpec, Ty};

/// Deeper blocks are read but not outlined (their contents are skipped).
const MAX_DEPTH: usize = 64;

/// A word of the text: a bare identifier, number or keyword, or a string (its
/// value decoded for the simple escapes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub value: String,
    pub start: usize,
    pub end: usize,
    pub quoted: bool,
}

impl Word {
    pub fn contains(&self, offset: usize) -> bool {
        self.start <= offset && offset <= self.end
    }
}

/// An argument (`key` is `None`) or a property (`key=value`; `value` is `None`
/// while only `key=` is typed).
#[derive(Debug, Clone)]
pub struct Entry {
    pub key: Option<Word>,
    pub value: Option<Word>,
}

#[derive(Debug, Clone)]
pub struct Node {
    pub name: Word,
    pub entries: Vec<Entry>,
    pub children: Vec<Node>,
    /// From the name to the end of the node (its `}` included).
    pub start: usize,
    pub end: usize,
    /// The `{`..`}` block, if any (to the end of the text when unclosed).
    pub block: Option<(usize, usize)>,
}

impl Node {
    pub fn args(&self) -> impl Iterator<Item = &Word> {
        self.entries
            .iter()
            .filter(|e| e.key.is_none())
            .filter_map(|e| e.value.as_ref())
    }

    pub fn arg(&self, i: usize) -> Option<&Word> {
        self.args().nth(i)
    }

    pub fn prop(&self, key: &str) -> Option<&Word> {
        self.entries
            .iter()
            .find(|e| e.key.as_ref().is_some_and(|k| k.value == key))
            .and_then(|e| e.value.as_ref())
    }

    pub fn contains(&self, offset: usize) -> bool {
        self.start <= offset && offset <= self.end
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Word(Word),
    Eq,
    Open(usize),
    Close(usize),
    /// End of a node: a line break or `;`.
    End,
    /// `/-`: the next node, entry or block is commented out.
    SlashDash,
    /// `(type)`, skipped.
    Annotation,
}

fn is_word_char(c: char) -> bool {
    !c.is_whitespace()
        && !c.is_control()
        && !matches!(
            c,
            '{' | '}' | '(' | ')' | '[' | ']' | '/' | '\\' | '"' | '=' | ';' | '\u{FEFF}'
        )
}

/// The tokens of `text`. Never fails: what it does not understand it skips.
fn lex(text: &str) -> Vec<Tok> {
    let mut toks = Vec::new();
    let mut chars = text.char_indices().peekable();
    let rest = |i: usize| text.get(i..).unwrap_or("");
    while let Some((i, c)) = chars.next() {
        match c {
            '\n' | '\r' | '\u{0085}' | '\u{2028}' | '\u{2029}' | '\u{000C}' | ';' => {
                toks.push(Tok::End)
            }
            '{' => toks.push(Tok::Open(i)),
            '}' => toks.push(Tok::Close(i)),
            '=' => toks.push(Tok::Eq),
            '\\' => {
                // A line continuation: skip to the end of the line, and the break.
                while let Some(&(_, c)) = chars.peek() {
                    chars.next();
                    if c == '\n' {
                        break;
                    }
                }
            }
            '/' if rest(i).starts_with("//") => {
                while let Some(&(_, c)) = chars.peek() {
                    if c == '\n' || c == '\r' {
                        break;
                    }
                    chars.next();
                }
            }
            '/' if rest(i).starts_with("/*") => {
                chars.next();
                let mut level = 1usize;
                while let Some((j, c)) = chars.next() {
                    if c == '/' && rest(j).starts_with("/*") {
                        chars.next();
                        level += 1;
                    } else if c == '*' && rest(j).starts_with("*/") {
                        chars.next();
                        level -= 1;
                        if level == 0 {
                            break;
                        }
                    }
                }
            }
            '/' if rest(i).starts_with("/-") => {
                chars.next();
                toks.push(Tok::SlashDash);
            }
            '(' => {
                // A type annotation, to `)` on the same line.
                while let Some(&(_, c)) = chars.peek() {
                    if c == '\n' {
                        break;
                    }
                    chars.next();
                    if c == ')' {
                        break;
                    }
                }
                toks.push(Tok::Annotation);
            }
            '"' => {
                let multiline = rest(i).starts_with("\"\"\"");
                let mut value = String::new();
                let mut end = text.len();
                let mut broken_line = false;
                while let Some((j, c)) = chars.next() {
                    match c {
                        '"' => {
                            end = j + 1;
                            break;
                        }
                        '\\' => match chars.next() {
                            Some((_, 'n')) => value.push('\n'),
                            Some((_, 't')) => value.push('\t'),
                            Some((_, e)) => value.push(e),
                            None => {}
                        },
                        '\n' | '\r' if !multiline => {
                            // Unterminated: the string ends with its line.
                            end = j;
                            broken_line = true;
                            break;
                        }
                        _ => value.push(c),
                    }
                }
                toks.push(Tok::Word(Word {
                    value,
                    start: i,
                    end,
                    quoted: true,
                }));
                if broken_line {
                    toks.push(Tok::End);
                }
            }
            '#' if rest(i).trim_start_matches('#').starts_with('"') => {
                // A raw string: #"..."#, ##"..."##.
                let hashes = rest(i).len() - rest(i).trim_start_matches('#').len();
                let open = hashes + 1;
                let close: String = std::iter::once('"')
                    .chain(std::iter::repeat_n('#', hashes))
                    .collect();
                let body_start = i + open;
                let (value, end) = match rest(body_start).find(&close) {
                    Some(k) => (
                        rest(body_start).get(..k).unwrap_or("").to_string(),
                        body_start + k + close.len(),
                    ),
                    None => (rest(body_start).to_string(), text.len()),
                };
                while chars.peek().is_some_and(|&(j, _)| j < end) {
                    chars.next();
                }
                toks.push(Tok::Word(Word {
                    value,
                    start: i,
                    end,
                    quoted: true,
                }));
            }
            c if is_word_char(c) => {
                let mut end = i + c.len_utf8();
                while let Some(&(j, c)) = chars.peek() {
                    if !is_word_char(c) {
                        break;
                    }
                    end = j + c.len_utf8();
                    chars.next();
                }
                toks.push(Tok::Word(Word {
                    value: text.get(i..end).unwrap_or("").to_string(),
                    start: i,
                    end,
                    quoted: false,
                }));
            }
            _ => {}
        }
    }
    toks
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    len: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn nodes(&mut self, depth: usize) -> Vec<Node> {
        let mut out = Vec::new();
        let mut drop_next = false;
        while let Some(tok) = self.peek().cloned() {
            match tok {
                Tok::End | Tok::Eq | Tok::Annotation => self.pos += 1,
                Tok::SlashDash => {
                    self.pos += 1;
                    drop_next = true;
                }
                Tok::Close(_) if depth > 0 => return out,
                Tok::Close(_) => self.pos += 1,
                Tok::Open(_) => {
                    // A block without a node: read and drop it.
                    self.pos += 1;
                    self.block_body(depth);
                }
                Tok::Word(name) => {
                    self.pos += 1;
                    let node = self.node(name, depth);
                    if !std::mem::take(&mut drop_next) {
                        out.push(node);
                    }
                }
            }
        }
        out
    }

    /// Reads a block's nodes and its `}`; returns them and the offset after the `}`.
    fn block_body(&mut self, depth: usize) -> (Vec<Node>, usize) {
        let children = if depth + 1 < MAX_DEPTH {
            self.nodes(depth + 1)
        } else {
            // Too deep: skip to the matching `}`.
            let mut level = 1usize;
            while let Some(tok) = self.peek() {
                match tok {
                    Tok::Open(_) => level += 1,
                    Tok::Close(_) => {
                        level -= 1;
                        if level == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                self.pos += 1;
            }
            Vec::new()
        };
        match self.peek() {
            Some(Tok::Close(at)) => {
                let end = at + 1;
                self.pos += 1;
                (children, end)
            }
            _ => (children, self.len),
        }
    }

    fn node(&mut self, name: Word, depth: usize) -> Node {
        let mut node = Node {
            start: name.start,
            end: name.end,
            name,
            entries: Vec::new(),
            children: Vec::new(),
            block: None,
        };
        let mut drop_next = false;
        while let Some(tok) = self.peek().cloned() {
            match tok {
                Tok::End | Tok::Close(_) => break,
                Tok::Annotation => self.pos += 1,
                Tok::SlashDash => {
                    self.pos += 1;
                    drop_next = true;
                }
                Tok::Eq => {
                    // `=` without a key: skip it.
                    self.pos += 1;
                }
                Tok::Open(at) => {
                    self.pos += 1;
                    let (children, end) = self.block_body(depth);
                    if !std::mem::take(&mut drop_next) {
                        node.children = children;
                        node.block = Some((at, end));
                    }
                    node.end = end;
                    // Anything after the block belongs to the next node.
                    break;
                }
                Tok::Word(word) => {
                    self.pos += 1;
                    let entry = if self.peek() == Some(&Tok::Eq) {
                        self.pos += 1;
                        while self.peek() == Some(&Tok::Annotation) {
                            self.pos += 1;
                        }
                        // A word followed by `=` is the next property's key, not
                        // this one's value (`os= count=3` while typing).
                        let next_is_key = self.toks.get(self.pos + 1) == Some(&Tok::Eq);
                        let value = match self.peek().cloned() {
                            Some(Tok::Word(v)) if !next_is_key => {
                                self.pos += 1;
                                Some(v)
                            }
                            _ => None,
                        };
                        Entry {
                            key: Some(word),
                            value,
                        }
                    } else {
                        Entry {
                            key: None,
                            value: Some(word),
                        }
                    };
                    let end = entry
                        .value
                        .as_ref()
                        .or(entry.key.as_ref())
                        .map_or(node.end, |w| w.end);
                    node.end = node.end.max(end);
                    if !std::mem::take(&mut drop_next) {
                        node.entries.push(entry);
                    }
                }
            }
        }
        node
    }
}

/// The outline of `text`.
pub fn outline(text: &str) -> Vec<Node> {
    let toks = lex(text);
    let mut parser = Parser {
        toks,
        pos: 0,
        len: text.len(),
    };
    parser.nodes(0)
}

/// The nodes from the top level down to the deepest one that contains `offset`.
pub fn path_at(nodes: &[Node], offset: usize) -> Vec<&Node> {
    let mut path = Vec::new();
    let mut level = nodes;
    while let Some(node) = level.iter().find(|n| n.contains(offset)) {
        path.push(node);
        level = &node.children;
    }
    path
}

/// The schema of each node of a path, as far as the schema knows them.
pub fn specs_of(path: &[&Node]) -> Vec<&'static NodeSpec> {
    let mut specs: Vec<&'static NodeSpec> = Vec::new();
    for node in path {
        let spec = match specs.last() {
            None => schema::top_level(&node.name.value),
            Some(parent) => parent.child(&node.name.value).map(|c| c.node),
        };
        match spec {
            Some(s) => specs.push(s),
            None => break,
        }
    }
    specs
}

/// The type of argument `i` of a node.
pub fn arg_ty(spec: &NodeSpec, i: usize) -> Option<Ty> {
    match spec.args.get(i) {
        Some(a) => Some(a.ty),
        None => {
            let rest = spec.rest.as_ref()?;
            (i - spec.args.len() < rest.max).then_some(rest.ty)
        }
    }
}

/// The type of the value of property `key` of a node.
pub fn prop_ty(spec: &NodeSpec, key: &str) -> Option<Ty> {
    spec.prop(key).map(|p| p.ty).or(spec.free_props)
}

/// What is at an offset of a node.
#[derive(Debug, Clone, Copy)]
pub enum Slot<'a> {
    Name,
    Key(&'a Word),
    /// The value of property `key`.
    PropValue(&'a Word, &'a Word),
    /// Argument `i`.
    Arg(usize, &'a Word),
}

/// The part of `node` under `offset`, if any.
pub fn slot_at(node: &Node, offset: usize) -> Option<Slot<'_>> {
    if node.name.contains(offset) {
        return Some(Slot::Name);
    }
    let mut arg = 0;
    for entry in &node.entries {
        match (&entry.key, &entry.value) {
            (Some(k), v) => {
                if k.contains(offset) {
                    return Some(Slot::Key(k));
                }
                if let Some(v) = v.as_ref().filter(|v| v.contains(offset)) {
                    return Some(Slot::PropValue(k, v));
                }
            }
            (None, Some(v)) => {
                if v.contains(offset) {
                    return Some(Slot::Arg(arg, v));
                }
                arg += 1;
            }
            (None, None) => {}
        }
    }
    None
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn outlines_nodes_entries_and_children() {
        let text = "// c\ncluster \"shop\" { network corp; node-pool \"l\" os=\"linux\" count=3 }\nservice \"web\" cluster=\"shop\"";
        let nodes = outline(text);
        assert_eq!(nodes.len(), 2);
        let cluster = &nodes[0];
        assert_eq!(cluster.name.value, "cluster");
        assert_eq!(cluster.arg(0).map(|w| w.value.as_str()), Some("shop"));
        assert_eq!(cluster.children.len(), 2);
        assert_eq!(
            cluster.children[0].arg(0).map(|w| w.value.as_str()),
            Some("corp")
        );
        assert_eq!(
            cluster.children[1].prop("count").map(|w| w.value.as_str()),
            Some("3")
        );
        assert_eq!(
            nodes[1].prop("cluster").map(|w| w.value.as_str()),
            Some("shop")
        );
        let at = text.find("os=").unwrap_or(0) + 1;
        let path = path_at(&nodes, at);
        assert_eq!(path.len(), 2);
        assert!(matches!(slot_at(path[1], at), Some(Slot::Key(k)) if k.value == "os"));
        assert_eq!(specs_of(&path).len(), 2);
    }

    #[test]
    fn half_typed_text_still_outlines() {
        let text = "cluster \"shop\" {\n    network \"co\n    node-pool \"x\" count=\n}}}\nserv";
        let nodes = outline(text);
        assert_eq!(nodes.len(), 2);
        assert_eq!(nodes[0].children.len(), 2);
        assert_eq!(
            nodes[0].children[0].arg(0).map(|w| w.value.as_str()),
            Some("co")
        );
        let pool = &nodes[0].children[1];
        assert!(pool.entries[1].value.is_none());
        assert_eq!(nodes[1].name.value, "serv");
        // Unclosed blocks and strings, any bytes: no panic.
        for text in [
            "{{{{",
            "\"",
            "#\"",
            "/*",
            "a=",
            "=b",
            "(x",
            "/-",
            "\\",
            "é😀\u{0}",
        ] {
            let _ = outline(text);
        }
        let deep = "a {".repeat(200);
        assert_eq!(outline(&deep).len(), 1);
    }
}
