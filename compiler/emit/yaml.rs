//! YAML output: the one place that serialises Kubernetes and Calico objects.
//!
//! A `serde::Serializer` that writes block-style YAML straight into a `String`, in
//! the layout `kubectl` and the Kubernetes documentation use: two-space indentation,
//! sequences inside a mapping at the mapping's indentation (`ports:` then `- name:`),
//! `{}` and `[]` for empty collections. Keys come out in struct field order (or
//! sorted, for `BTreeMap`s), so output is deterministic.
//!
//! It replaced `serde-saphyr`'s serializer, which took 85% of emitting 30,000
//! objects (perf; `docs/performance.md`); the output is the same document for
//! document (`tests/yaml.rs` holds the two equal on every example, and every
//! string written here parses back, with `serde-saphyr`, to itself).
//!
//! Strings are written plain only when no YAML reader can take them for anything
//! else ([`plain`]): the Kubernetes tool chain still parses YAML with 1.1-era rules,
//! so `on`, `yes`, `010`, `10:20`, `1_000`, `0x1F`, `2024-01-02` and the like are
//! quoted, as is anything that starts with an indicator, holds `: ` or ` #`, ends in
//! `:` or a space, or holds a control, line-separator, bidi or zero-width
//! character. Quoted strings are double-quoted with YAML escapes ([`quoted`]), so
//! every such character is visible and nothing user-written can become syntax.

use std::fmt::Write as _;

use serde::ser::{self, Serialize};

/// One YAML document for `value`, ending in a newline. Serialising the emitters'
/// plain data structs cannot fail; if it ever did, the error is written as a YAML
/// comment so the output is still parseable and the failure is visible.
pub fn to_document<T: Serialize>(value: &T) -> String {
    // Written into a buffer each thread reuses, then copied out at its exact size:
    // tens of thousands of documents are kept until the output is written, and
    // growing each from empty (or from a guess) cost both copies and memory.
    thread_local! {
        static BUFFER: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    }
    BUFFER.with(|buffer| {
        let mut fresh = String::new();
        // A document that serialises a document (never done) gets a buffer of its own.
        let mut borrowed = buffer.try_borrow_mut();
        let out = match &mut borrowed {
            Ok(out) => {
                out.clear();
                &mut **out
            }
            Err(_) => &mut fresh,
        };
        let result = value.serialize(Writer {
            out: &mut *out,
            slot: Slot::Top,
        });
        match result {
            Ok(()) => out.as_str().to_owned(),
            Err(e) => format!(
                "# trellis: internal error serialising this object: {}\n",
                e.0.replace('\n', " ")
            ),
        }
    })
}

/// Why a value could not be written (a map key that is not a scalar).
#[derive(Debug)]
pub struct Error(String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

/// Where the next value goes.
#[derive(Debug, Clone, Copy)]
enum Slot {
    /// The start of the document.
    Top,
    /// After `key:`, in a mapping whose keys are at column `indent`.
    Value { indent: usize },
    /// After `- `, in a sequence whose dashes are at column `indent`.
    Item { indent: usize },
}

struct Writer<'o> {
    out: &'o mut String,
    slot: Slot,
}

fn spaces(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

impl<'o> Writer<'o> {
    /// Writes a scalar already in YAML form, and ends its line.
    fn scalar(self, text: &str) -> Result<(), Error> {
        if matches!(self.slot, Slot::Value { .. }) {
            self.out.push(' ');
        }
        self.out.push_str(text);
        self.out.push('\n');
        Ok(())
    }

    fn string(self, s: &str) -> Result<(), Error> {
        if matches!(self.slot, Slot::Value { .. }) {
            self.out.push(' ');
        }
        write_string(self.out, s, false);
        self.out.push('\n');
        Ok(())
    }

    fn map(self) -> MapWriter<'o> {
        let indent = match self.slot {
            Slot::Top => 0,
            Slot::Value { indent } | Slot::Item { indent } => indent + 2,
        };
        MapWriter {
            out: self.out,
            slot: self.slot,
            indent,
            entries: 0,
        }
    }

    fn seq(self) -> SeqWriter<'o> {
        let indent = match self.slot {
            Slot::Top => 0,
            Slot::Value { indent } => indent,
            Slot::Item { indent } => indent + 2,
        };
        SeqWriter {
            out: self.out,
            slot: self.slot,
            indent,
            items: 0,
        }
    }
}

/// `key: value` lines at one indentation.
struct MapWriter<'o> {
    out: &'o mut String,
    slot: Slot,
    indent: usize,
    entries: usize,
}

impl MapWriter<'_> {
    /// Starts an entry: the line break or indentation before `key`, then `key:`.
    fn key(&mut self, key: &str) {
        if self.entries == 0 {
            if let Slot::Value { .. } = self.slot {
                self.out.push('\n');
                spaces(self.out, self.indent);
            }
        } else {
            spaces(self.out, self.indent);
        }
        self.entries += 1;
        write_string(self.out, key, true);
        self.out.push(':');
    }

    fn value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        value.serialize(Writer {
            out: self.out,
            slot: Slot::Value {
                indent: self.indent,
            },
        })
    }

    fn finish(self) -> Result<(), Error> {
        if self.entries == 0 {
            empty(self.out, self.slot, "{}");
        }
        Ok(())
    }
}

/// `- item` lines at one indentation.
struct SeqWriter<'o> {
    out: &'o mut String,
    slot: Slot,
    indent: usize,
    items: usize,
}

impl SeqWriter<'_> {
    fn item<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        if self.items == 0 {
            if let Slot::Value { .. } = self.slot {
                self.out.push('\n');
                spaces(self.out, self.indent);
            }
        } else {
            spaces(self.out, self.indent);
        }
        self.items += 1;
        self.out.push_str("- ");
        value.serialize(Writer {
            out: self.out,
            slot: Slot::Item {
                indent: self.indent,
            },
        })
    }

    fn finish(self) -> Result<(), Error> {
        if self.items == 0 {
            empty(self.out, self.slot, "[]");
        }
        Ok(())
    }
}

/// An empty mapping or sequence, inline.
fn empty(out: &mut String, slot: Slot, text: &str) {
    if let Slot::Value { .. } = slot {
        out.push(' ');
    }
    out.push_str(text);
    out.push('\n');
}

// ------------------------------------------------------------------ strings

/// Writes `s` plain when [`plain`] allows it, else double-quoted.
fn write_string(out: &mut String, s: &str, key: bool) {
    if plain(s, key) {
        out.push_str(s);
    } else {
        quoted(out, s);
    }
}

/// Whether `s` reads back as the same string when written plain, whatever YAML
/// version and resolver the reader uses. `key`: in key position, where `:` is
/// never allowed. Errs on the side of quoting.
pub fn plain(s: &str, key: bool) -> bool {
    let bytes = s.as_bytes();
    let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    // Edge spaces are not content in plain style; a trailing `:` would end a key.
    if first == b' ' || last == b' ' || last == b':' {
        return false;
    }
    // Indicators that cannot start a plain scalar.
    if matches!(
        first,
        b',' | b'['
            | b']'
            | b'{'
            | b'}'
            | b'#'
            | b'&'
            | b'*'
            | b'!'
            | b'|'
            | b'>'
            | b'\''
            | b'"'
            | b'%'
            | b'@'
            | b'`'
            | b':'
    ) {
        return false;
    }
    if matches!(first, b'-' | b'?') && bytes.get(1).is_none_or(|&b| b == b' ') {
        return false;
    }
    if s.starts_with("---") || s.starts_with("...") {
        return false;
    }
    // One pass: `: ` and ` #` (a key, a comment), `:` at all in a key, and
    // characters written escaped (for ASCII, the controls).
    let mut prev = 0u8;
    let mut ascii = true;
    for &b in bytes {
        match (prev, b) {
            (_, 0x80..) => ascii = false,
            (_, ..0x20 | 0x7f) | (b':', b' ') | (b' ', b'#') => return false,
            (_, b':') if key => return false,
            _ => {}
        }
        prev = b;
    }
    if !ascii && s.chars().any(needs_escape) {
        return false;
    }
    !resolves_to_non_string(s)
}

/// Whether a YAML 1.1 or 1.2 resolver could read plain `s` as something other than
/// a string: null, a boolean, a number (any base, sexagesimal, with `_`), infinity
/// or NaN, a timestamp, or the merge and value keys. Anything that starts like a
/// number and holds only number characters counts.
fn resolves_to_non_string(s: &str) -> bool {
    const WORDS: &[&str] = &[
        "~", "null", "true", "false", "y", "yes", "n", "no", "on", "off", "<<", "=", ".nan",
        "+.nan", "-.nan", ".inf", "+.inf", "-.inf", "nan", "+nan", "-nan", "inf", "+inf", "-inf",
    ];
    // The longest word has five characters.
    if s.len() <= 5 && WORDS.iter().any(|w| s.eq_ignore_ascii_case(w)) {
        return true;
    }
    let bytes = s.as_bytes();
    let starts_like_number = matches!(bytes.first(), Some(b'0'..=b'9' | b'+' | b'-' | b'.' | b'_'));
    if !starts_like_number {
        return false;
    }
    let number_chars = bytes.iter().all(|b| {
        matches!(
            b,
            b'0'..=b'9'
                | b'a'..=b'f'
                | b'A'..=b'F'
                | b'x'
                | b'X'
                | b'o'
                | b'O'
                | b'_'
                | b'+'
                | b'-'
                | b'.'
                | b':'
        )
    });
    // YAML 1.1 timestamps: `2001-12-14`, `2001-12-14t21:59:43.10-05:00`,
    // `2001-12-14 21:59:43.10 -5`.
    let timestamp = bytes.len() >= 8
        && bytes.iter().take(4).all(u8::is_ascii_digit)
        && bytes.get(4) == Some(&b'-');
    number_chars || timestamp
}

/// Characters that are written escaped, so always quoted: controls (C0, DEL, C1),
/// the Unicode line and paragraph separators, the byte-order mark and
/// non-characters, and the invisible bidi and zero-width characters (which could
/// make a value look like something else on screen).
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}'
                | '\u{2029}'
                | '\u{FEFF}'
                | '\u{FFFE}'
                | '\u{FFFF}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{2069}'
        )
}

/// Writes `s` double-quoted, with the escapes of YAML 1.2 (section 5.7), which YAML
/// 1.1 readers share.
pub fn quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\0' => out.push_str("\\0"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{b}' => out.push_str("\\v"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            '\u{1b}' => out.push_str("\\e"),
            '\u{85}' => out.push_str("\\N"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            c if (c as u32) <= 0xFF && needs_escape(c) => {
                let _ = write!(out, "\\x{:02X}", c as u32);
            }
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

// ------------------------------------------------------------------ serde

impl<'o> ser::Serializer for Writer<'o> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = SeqWriter<'o>;
    type SerializeTuple = SeqWriter<'o>;
    type SerializeTupleStruct = SeqWriter<'o>;
    type SerializeTupleVariant = SeqWriter<'o>;
    type SerializeMap = MapWriter<'o>;
    type SerializeStruct = MapWriter<'o>;
    type SerializeStructVariant = MapWriter<'o>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.scalar(if v { "true" } else { "false" })
    }
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.scalar(&v.to_string())
    }
    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        self.scalar(&v.to_string())
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        self.scalar(&v.to_string())
    }
    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        self.scalar(&v.to_string())
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.serialize_f64(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        let text = if v.is_nan() {
            ".nan".to_string()
        } else if v.is_infinite() {
            if v > 0.0 { ".inf" } else { "-.inf" }.to_string()
        } else {
            // `{:?}` keeps a `.0` on whole numbers, so they stay floats.
            format!("{v:?}")
        };
        self.scalar(&text)
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.string(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.string(v)
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        use ser::SerializeSeq;
        let mut seq = self.seq();
        for b in v {
            seq.serialize_element(b)?;
        }
        SerializeSeq::end(seq)
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.scalar("null")
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.scalar("null")
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.scalar("null")
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.string(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        let mut map = self.map();
        map.key(variant);
        map.value(value)?;
        map.finish()
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<SeqWriter<'o>, Error> {
        Ok(self.seq())
    }
    fn serialize_tuple(self, _len: usize) -> Result<SeqWriter<'o>, Error> {
        Ok(self.seq())
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<SeqWriter<'o>, Error> {
        Ok(self.seq())
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<SeqWriter<'o>, Error> {
        // `variant:` then the sequence, as serde_yaml writes it.
        let Writer { out, slot } = self;
        let mut map = Writer { out, slot }.map();
        map.key(variant);
        let indent = map.indent;
        Ok(SeqWriter {
            out: map.out,
            slot: Slot::Value { indent },
            indent,
            items: 0,
        })
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<MapWriter<'o>, Error> {
        Ok(self.map())
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<MapWriter<'o>, Error> {
        Ok(self.map())
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<MapWriter<'o>, Error> {
        let Writer { out, slot } = self;
        let mut map = Writer { out, slot }.map();
        map.key(variant);
        let indent = map.indent;
        Ok(MapWriter {
            out: map.out,
            slot: Slot::Value { indent },
            indent: indent + 2,
            entries: 0,
        })
    }
}

/// The compound serializers of sequences: each element is one `- item`.
macro_rules! sequence {
    ($trait:ident, $method:ident) => {
        impl ser::$trait for SeqWriter<'_> {
            type Ok = ();
            type Error = Error;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
                self.item(value)
            }
            fn end(self) -> Result<(), Error> {
                self.finish()
            }
        }
    };
}

sequence!(SerializeSeq, serialize_element);
sequence!(SerializeTuple, serialize_element);
sequence!(SerializeTupleStruct, serialize_field);
sequence!(SerializeTupleVariant, serialize_field);

impl ser::SerializeMap for MapWriter<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        let text = key.serialize(KeyText)?;
        self.key(&text);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.value(value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

/// The compound serializers of structs: each field is one `key: value` entry.
macro_rules! structure {
    ($trait:ident) => {
        impl ser::$trait for MapWriter<'_> {
            type Ok = ();
            type Error = Error;
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), Error> {
                self.key(key);
                self.value(value)
            }
            fn end(self) -> Result<(), Error> {
                self.finish()
            }
        }
    };
}

structure!(SerializeStruct);
structure!(SerializeStructVariant);

/// The text of a map key: strings, characters, numbers and booleans; anything
/// else is an error (YAML allows complex keys; Kubernetes objects never have them).
struct KeyText;

/// [`KeyText`]'s methods for scalars: their text.
macro_rules! key_text {
    ($($method:ident: $ty:ty),* $(,)?) => {
        $(
            fn $method(self, v: $ty) -> Result<String, Error> {
                Ok(v.to_string())
            }
        )*
    };
}

impl ser::Serializer for KeyText {
    type Ok = String;
    type Error = Error;
    type SerializeSeq = ser::Impossible<String, Error>;
    type SerializeTuple = ser::Impossible<String, Error>;
    type SerializeTupleStruct = ser::Impossible<String, Error>;
    type SerializeTupleVariant = ser::Impossible<String, Error>;
    type SerializeMap = ser::Impossible<String, Error>;
    type SerializeStruct = ser::Impossible<String, Error>;
    type SerializeStructVariant = ser::Impossible<String, Error>;

    key_text!(
        serialize_bool: bool,
        serialize_i8: i8,
        serialize_i16: i16,
        serialize_i32: i32,
        serialize_i64: i64,
        serialize_u8: u8,
        serialize_u16: u16,
        serialize_u32: u32,
        serialize_u64: u64,
        serialize_f32: f32,
        serialize_f64: f64,
        serialize_char: char,
        serialize_str: &str,
    );
    fn serialize_bytes(self, _v: &[u8]) -> Result<String, Error> {
        Err(Error("a map key must be a scalar".into()))
    }
    fn serialize_none(self) -> Result<String, Error> {
        Err(Error("a map key must not be empty".into()))
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<String, Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<String, Error> {
        Err(Error("a map key must not be empty".into()))
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<String, Error> {
        Err(Error("a map key must not be empty".into()))
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<String, Error> {
        Ok(variant.to_string())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<String, Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<String, Error> {
        Err(Error("a map key must be a scalar".into()))
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(Error("a map key must be a scalar".into()))
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
        Err(Error("a map key must be a scalar".into()))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(Error("a map key must be a scalar".into()))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(Error("a map key must be a scalar".into()))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(Error("a map key must be a scalar".into()))
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, Error> {
        Err(Error("a map key must be a scalar".into()))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(Error("a map key must be a scalar".into()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Doc {
        api_version: &'static str,
        labels: BTreeMap<String, String>,
        empty_map: BTreeMap<String, String>,
        empty_list: Vec<u16>,
        items: Vec<Item>,
        nested: Vec<Vec<u8>>,
        none: Option<u8>,
        flag: bool,
        ratio: f64,
    }

    #[derive(serde::Serialize)]
    struct Item {
        name: String,
        ports: Vec<u16>,
    }

    #[test]
    fn layout_is_block_style_with_compact_sequences() {
        let mut labels = BTreeMap::new();
        labels.insert("app".to_string(), "web".to_string());
        labels.insert("on".to_string(), "10.0.0.1".to_string());
        let doc = Doc {
            api_version: "v1",
            labels,
            empty_map: BTreeMap::new(),
            empty_list: Vec::new(),
            items: vec![
                Item {
                    name: "a".into(),
                    ports: vec![80, 443],
                },
                Item {
                    name: "b: c".into(),
                    ports: Vec::new(),
                },
            ],
            nested: vec![vec![1, 2], Vec::new()],
            none: None,
            flag: true,
            ratio: 1.0,
        };
        assert_eq!(
            to_document(&doc),
            "apiVersion: v1
labels:
  app: web
  \"on\": \"10.0.0.1\"
emptyMap: {}
emptyList: []
items:
- name: a
  ports:
  - 80
  - 443
- name: \"b: c\"
  ports: []
nested:
- - 1
  - 2
- []
none: null
flag: true
ratio: 1.0
"
        );
    }

    #[test]
    fn what_a_resolver_could_misread_is_quoted() {
        for s in [
            "",
            "on",
            "Yes",
            "NO",
            "y",
            "~",
            "null",
            "true",
            "010",
            "0x1F",
            "1_000",
            "10:20",
            "1e3",
            ".5",
            "+1",
            "-1",
            ".inf",
            "-.inf",
            ".NaN",
            "2024-01-02",
            "2001-12-14t21:59:43",
            "<<",
            "=",
            "- a",
            "-",
            "?",
            ": a",
            "a: b",
            "a #b",
            "a:",
            " a",
            "a ",
            "#a",
            "&a",
            "*a",
            "!a",
            "|a",
            ">a",
            "'a",
            "\"a",
            "%a",
            "@a",
            "`a",
            "{a",
            "[a",
            "]a",
            "}a",
            ",a",
            "---",
            "...",
            "--- a",
            "a\nb",
            "a\tb",
            "\u{0}",
            "\u{85}",
            "\u{2028}",
            "a\u{202E}b",
            "\u{FEFF}a",
            "10.0.0.1",
            "1.29.4",
        ] {
            assert!(!plain(s, false), "{s:?} would be written plain");
        }
        for s in [
            "web",
            "registry.local/svc-0:1.0.0",
            "app.kubernetes.io/managed-by",
            "10.0.0.0/8",
            "169.254.169.254/32",
            "fd00::1/64",
            "all()",
            "a-b_c.d",
            "Prefix",
            "café",
        ] {
            assert!(plain(s, false), "{s:?} would be quoted");
        }
        assert!(!plain("a:b", true), "a key with a colon is quoted");
    }

    #[test]
    fn escapes_are_yaml_escapes() {
        let mut out = String::new();
        quoted(
            &mut out,
            "q\"b\\\0\u{7}\u{8}\t\n\u{b}\u{c}\r\u{1b}\u{85}\u{2028}\u{2029}\u{1}\u{7f}\u{202e}",
        );
        assert_eq!(out, r#""q\"b\\\0\a\b\t\n\v\f\r\e\N\L\P\x01\x7F\u202E""#);
    }
}
