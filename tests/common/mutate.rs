//! Seeded random edits of KDL text, shared by the suites that hold two parse paths
//! equal (`tests/kdl_fast.rs`, `tests/chunked.rs`): a failure is reproducible from
//! the seed.

/// A fixed-seed generator (xorshift), so a failure is reproducible.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Pieces of KDL that probe the edges of the fast path.
pub const PIECES: &[&str] = &[
    " ",
    "\t",
    "\n",
    "\r\n",
    "\r",
    ";",
    "{",
    "}",
    "(",
    ")",
    "=",
    "\"",
    "#",
    "/",
    "//",
    "/*",
    "*/",
    "/-",
    "\\",
    "-",
    "+",
    "_",
    ".",
    "0",
    "1",
    "007",
    "1_0",
    "1.5",
    "1e3",
    "0x1f",
    "#true",
    "#false",
    "#null",
    "#inf",
    "true",
    "null",
    "a",
    "é",
    "\u{202e}",
    "\u{feff}",
    "\u{85}",
    "\"\"\"",
    "#\"",
    "\"#",
    "x=1",
    "(t)",
    "\\u{41}",
    "\\n",
    "\\s",
    "a{",
    "{}",
    "99999999999999999999999999999999999999999",
];

/// Applies `edits` random edits to `text`: insert one of [`PIECES`], delete a
/// character, or duplicate one.
pub fn mutate(rng: &mut Rng, text: &mut Vec<char>, edits: usize) {
    for _ in 0..edits {
        let at = rng.below(text.len() + 1);
        match rng.below(3) {
            0 => {
                let piece = PIECES[rng.below(PIECES.len())];
                for (i, c) in piece.chars().enumerate() {
                    text.insert(at + i, c);
                }
            }
            1 if !text.is_empty() => {
                text.remove(at.min(text.len() - 1));
            }
            _ => {
                if !text.is_empty() {
                    let from = rng.below(text.len());
                    let c = text[from];
                    text.insert(at, c);
                }
            }
        }
    }
}
