//! Byte offsets ↔ LSP positions.
//!
//! The compiler's spans are byte offsets; an LSP position is a 0-based line and a
//! character offset counted in the negotiated encoding: UTF-16 code units (the
//! default), or UTF-8 bytes. LSP ends a line at `\n`, `\r\n` or a lone `\r`, so the
//! line table here counts all three.
//!
//! Invariant: no conversion fails or panics. A position past the end of its line is
//! clamped to the line's end, a line past the end of the text to the text's end, and
//! an offset that falls inside a character (or a UTF-16 surrogate pair) to the
//! start of that character.

use lsp_types::Position;

/// How the client counts characters in a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf16,
}

impl Encoding {
    fn units(self, c: char) -> usize {
        match self {
            Encoding::Utf8 => c.len_utf8(),
            Encoding::Utf16 => c.len_utf16(),
        }
    }
}

/// The start offsets of a text's lines.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
    len: usize,
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        let bytes = text.as_bytes();
        let mut i = 0;
        while let Some(&b) = bytes.get(i) {
            match b {
                b'\n' => starts.push(i + 1),
                b'\r' if bytes.get(i + 1) != Some(&b'\n') => starts.push(i + 1),
                _ => {}
            }
            i += 1;
        }
        LineIndex {
            starts,
            len: text.len(),
        }
    }

    /// The byte range of line `line` without its line break, clamped to the text.
    fn line_range(&self, text: &str, line: usize) -> (usize, usize) {
        let Some(&start) = self.starts.get(line) else {
            return (self.len, self.len);
        };
        let mut end = self.starts.get(line + 1).copied().unwrap_or(self.len);
        let line_text = text.get(start..end).unwrap_or("");
        if line_text.ends_with("\r\n") {
            end -= 2;
        } else if line_text.ends_with('\n') || line_text.ends_with('\r') {
            end -= 1;
        }
        (start.min(self.len), end.max(start).min(self.len))
    }

    /// The LSP position of byte `offset` (clamped to the text and to a char boundary).
    pub fn position(&self, text: &str, offset: usize, enc: Encoding) -> Position {
        let mut offset = offset.min(text.len());
        while offset > 0 && !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = self.starts.get(line).copied().unwrap_or(0);
        let character: usize = text
            .get(start..offset)
            .unwrap_or("")
            .chars()
            .map(|c| enc.units(c))
            .sum();
        Position {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            character: u32::try_from(character).unwrap_or(u32::MAX),
        }
    }

    /// The byte offset of an LSP position, clamped as the module says.
    pub fn offset(&self, text: &str, pos: Position, enc: Encoding) -> usize {
        let (start, end) = self.line_range(text, pos.line as usize);
        let want = pos.character as usize;
        let mut units = 0;
        for (i, c) in text.get(start..end).unwrap_or("").char_indices() {
            let next = units + enc.units(c);
            if next > want {
                return start + i;
            }
            units = next;
        }
        end
    }

    /// The position just past the end of the text.
    pub fn end(&self, text: &str, enc: Encoding) -> Position {
        self.position(text, text.len(), enc)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn pos(line: u32, character: u32) -> Position {
        Position { line, character }
    }

    #[test]
    fn utf16_counts_code_units() {
        let text = "a é 😀 b\nnext";
        let idx = LineIndex::new(text);
        let b = text.find(" b").unwrap() + 1;
        // a, space, é (1 unit), space, 😀 (2 units), space: 7 units before b.
        assert_eq!(idx.position(text, b, Encoding::Utf16), pos(0, 7));
        assert_eq!(idx.offset(text, pos(0, 7), Encoding::Utf16), b);
        // In UTF-8: 1 + 1 + 2 + 1 + 4 + 1 = 10 bytes.
        assert_eq!(idx.position(text, b, Encoding::Utf8), pos(0, 10));
        assert_eq!(idx.offset(text, pos(0, 10), Encoding::Utf8), b);
        let n = text.find("next").unwrap();
        assert_eq!(idx.position(text, n, Encoding::Utf16), pos(1, 0));
    }

    #[test]
    fn inside_a_character_clamps_to_its_start() {
        let text = "😀x";
        let idx = LineIndex::new(text);
        // Character 1 is inside the surrogate pair: the emoji's start.
        assert_eq!(idx.offset(text, pos(0, 1), Encoding::Utf16), 0);
        assert_eq!(idx.offset(text, pos(0, 2), Encoding::Utf16), 4);
        // Byte 2 is inside the emoji's UTF-8 sequence.
        assert_eq!(idx.offset(text, pos(0, 2), Encoding::Utf8), 0);
        assert_eq!(idx.position(text, 2, Encoding::Utf16), pos(0, 0));
    }

    #[test]
    fn crlf_and_lone_cr_end_lines() {
        let text = "ab\r\ncd\ref";
        let idx = LineIndex::new(text);
        assert_eq!(idx.position(text, 4, Encoding::Utf16), pos(1, 0));
        assert_eq!(idx.position(text, 7, Encoding::Utf16), pos(2, 0));
        // Past the end of line 0: clamped before the \r\n.
        assert_eq!(idx.offset(text, pos(0, 99), Encoding::Utf16), 2);
        assert_eq!(idx.offset(text, pos(1, 1), Encoding::Utf16), 5);
        // Past the last line: the end of the text.
        assert_eq!(idx.offset(text, pos(9, 0), Encoding::Utf16), text.len());
        assert_eq!(idx.end(text, Encoding::Utf16), pos(2, 2));
    }

    #[test]
    fn offsets_past_the_text_clamp() {
        let text = "é";
        let idx = LineIndex::new(text);
        assert_eq!(idx.position(text, 99, Encoding::Utf16), pos(0, 1));
        assert_eq!(
            idx.offset(text, pos(u32::MAX, u32::MAX), Encoding::Utf16),
            2
        );
        let empty = LineIndex::new("");
        assert_eq!(empty.offset("", pos(3, 3), Encoding::Utf8), 0);
    }
}
