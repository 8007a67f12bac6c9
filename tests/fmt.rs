//! `trellis fmt`: the canonical layout (golden snapshots in `snapshots/fmt/`), keeping
//! every comment, idempotence and meaning preservation over the examples, hand-written
//! tricky inputs and thousands of seeded random variations of them; then `trellis fmt`
//! and `--check` end to end on a temporary folder.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use kdl::{KdlDocument, KdlEntry, KdlNode};
use trellis::diag::Diagnostics;
use trellis::source::FileId;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// `format_source`, which must accept the text.
fn fmt(text: &str) -> String {
    let mut diags = Diagnostics::new();
    let out = trellis::fmt::format_source(FileId(0), text, &mut diags);
    assert!(diags.is_empty(), "diagnostics for {text:?}");
    out.expect("valid input formats")
}

/// The formatter's own output, never its fall-back to the unchanged text.
fn canonical(text: &str) -> String {
    match trellis::fmt::format_canonical(text) {
        Some(out) => out,
        None => panic!("the formatter gave up on (or broke the meaning of):\n{text}"),
    }
}

fn parse(text: &str) -> KdlDocument {
    match KdlDocument::parse_v2(text) {
        Ok(doc) => doc,
        Err(e) => panic!("does not parse ({e}):\n{text}"),
    }
}

// --- Structural comparison, written independently of the formatter's own check ---

/// Describes the difference between two documents, ignoring layout and comments (an
/// empty children block counts as none), or `None` when they mean the same.
fn difference(a: &KdlDocument, b: &KdlDocument, path: &str) -> Option<String> {
    if a.nodes().len() != b.nodes().len() {
        return Some(format!(
            "{path}: {} nodes vs {}",
            a.nodes().len(),
            b.nodes().len()
        ));
    }
    a.nodes()
        .iter()
        .zip(b.nodes())
        .enumerate()
        .find_map(|(i, (x, y))| node_difference(x, y, &format!("{path}/{i}")))
}

fn node_difference(a: &KdlNode, b: &KdlNode, path: &str) -> Option<String> {
    let name = |n: &KdlNode| n.name().value().to_string();
    let ty = |n: &KdlNode| n.ty().map(|t| t.value().to_string());
    if name(a) != name(b) || ty(a) != ty(b) {
        return Some(format!(
            "{path}: node ({:?}){:?} vs ({:?}){:?}",
            ty(a),
            name(a),
            ty(b),
            name(b)
        ));
    }
    let entries = |n: &KdlNode| n.entries().iter().map(entry_key).collect::<Vec<_>>();
    if entries(a) != entries(b) {
        return Some(format!(
            "{path} ({}): entries {:?} vs {:?}",
            name(a),
            entries(a),
            entries(b)
        ));
    }
    let empty = KdlDocument::new();
    let children = |n: &KdlNode| n.children().cloned().unwrap_or_else(|| empty.clone());
    difference(&children(a), &children(b), &format!("{path} ({})", name(a)))
}

type EntryKey = (Option<String>, Option<String>, String);

fn entry_key(e: &KdlEntry) -> EntryKey {
    let value = match e.value() {
        kdl::KdlValue::String(s) => format!("string {s:?}"),
        kdl::KdlValue::Integer(i) => format!("integer {i}"),
        kdl::KdlValue::Float(f) if f.is_nan() => "float NaN".to_string(),
        kdl::KdlValue::Float(f) => format!("float {:?}", f.to_bits()),
        kdl::KdlValue::Bool(b) => format!("bool {b}"),
        kdl::KdlValue::Null => "null".to_string(),
    };
    (
        e.name().map(|n| n.value().to_string()),
        e.ty().map(|t| t.value().to_string()),
        value,
    )
}

/// Comment markers (`C` and two digits) in `text`, in order.
fn markers(text: &str) -> Vec<String> {
    let chars: Vec<char> = std::iter::once(' ').chain(text.chars()).collect();
    chars
        .windows(4)
        .filter(|w| {
            matches!(w, [before, 'C', a, b]
                if a.is_ascii_digit() && b.is_ascii_digit() && !before.is_ascii_uppercase())
        })
        .map(|w| w.iter().skip(1).collect())
        .collect()
}

/// Every property the formatter promises, for one input.
fn check(input: &str) -> String {
    let out = canonical(input);
    if let Some(diff) = difference(&parse(input), &parse(&out), "") {
        panic!("meaning changed: {diff}\n--- input\n{input}\n--- output\n{out}");
    }
    let again = canonical(&out);
    assert_eq!(again, out, "not idempotent; input:\n{input}");
    assert_eq!(
        markers(&out),
        markers(input),
        "a comment moved or was lost\n--- input\n{input}\n--- output\n{out}"
    );
    check_layout(&out);
    out
}

/// Layout rules that hold for any output.
fn check_layout(out: &str) {
    assert!(!out.contains('\r'), "CR in output:\n{out}");
    assert!(
        out.is_empty() || (out.ends_with('\n') && !out.ends_with("\n\n")),
        "not exactly one final newline:\n{out:?}"
    );
    assert!(!out.starts_with('\n'), "blank first line:\n{out}");
    assert!(!out.contains("\n\n\n"), "two blank lines in a row:\n{out}");
    let lines: Vec<&str> = out.lines().collect();
    // Lines inside multi-line strings and comments keep their own indentation.
    let verbatim = out.contains("\"\"\"") || out.contains("/*");
    for line in &lines {
        assert_eq!(line.trim_end(), *line, "trailing whitespace:\n{out}");
        let indent = line.len() - line.trim_start_matches(' ').len();
        if !verbatim {
            assert!(!line.starts_with('\t'), "tab indentation:\n{out}");
            assert!(indent % 4 == 0, "indentation {line:?}:\n{out}");
        }
    }
    for pair in lines.windows(2) {
        if let [first, second] = pair {
            assert!(
                !(first.ends_with('{') && second.is_empty()),
                "blank line after `{{`:\n{out}"
            );
            assert!(
                !(first.is_empty() && second.trim_start().starts_with('}')),
                "blank line before `}}`:\n{out}"
            );
        }
    }
}

fn snapshot(name: &str, input: &str) {
    let out = check(input);
    let text = format!("----- INPUT\n{input}\n----- OUTPUT\n{out}");
    insta::with_settings!({
        snapshot_path => concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots/fmt"),
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::assert_snapshot!(name, text);
    });
}

// --- Inputs ----------------------------------------------------------------

const TASK_EXAMPLE: &str = r###"// C01 The datacenter network
network "corp" { switch "External"; prefix (cidr)"10.20.0.0/16" // C02 office
    gateway "10.20.0.1"
    dns "10.20.0.10" "10.20.0.11"
    /* C03 pools */ node-ips "10.20.1.0" "10.20.1.255"
    vips "10.20.2.0" "10.20.2.255"
}
cluster shop { network corp; control-plane count=3; node-pool "linux" os="linux" count=3 { taint "sku=Windows:NoSchedule" } }
/- service "old" cluster="shop" namespace="shop"
service "web" cluster="shop" namespace="shop" { type "LoadBalancer"; select app="web"; port 80 target="http" }
"###;

const COMMENTS: &str = r###"// C01 before the first node


// C02 after two blank lines
network "corp" { // C03 after the brace
    // C04 first in the block

    switch "a" // C05 tail
    gateway "10.0.0.1"; // C06 after a semicolon
    dns "1.1.1.1" /* C07 between */ "8.8.8.8" /* C08 before the end */
    /* C09 before a node */ vips "10.0.2.0" "10.0.2.255"
    // C10 end of the block


}
cluster "shop" { } // C11 after an empty block
a; /* C12 between nodes */ b; /* C13 after the last */
/* C14
   spans lines */
// C15 end of the file"###;

const SLASHDASH: &str = r###"/- service "old" cluster="shop" {
    type "ClusterIP" // C01 inside a commented-out node
}
node /-1 2 /- key=3 k2=4 /-{ child } { real } /- { other }
/-
// C02 between the slashdash and its node
gone 1
/- /* C03 */ gone2
arg /-
    dropped kept
nested { /- a { /- b } c }
"###;

const SEMICOLONS: &str = "a;b;c\nd { e; f; g { h; i } }; j\nk 1; l 2 // C01\n";

const STRINGS: &str = r###"strings "plain" bare "with \"quotes\"" "back\\slash" "tab\tnew\nline"
raw #"C:\path"# #"say "hi""# ##"has "# inside"## #"plain raw"#
escapes "\u{41}\u{e9}" "\s" "ws \
      escape" "unicode ✓ é 日本" "\b\f\r" "\u{200E}"
ident-like "true" "123" "-1" ".5" "a b" "" "-" "+" "." "a=b" "#x"
"quoted name" "key with space"=1 "plain"="v" "true"=#false "é"=é
multi """
    first
      indented

    last
    """
multi-raw #"""
    "quoted" \ and backslash
    """#
"###;

const NUMBERS_AND_TYPES: &str = r###"(ty)node (u8)255 key=(hex)0x1F 1_000 1.5e3 -0.0 +5 0b101 0o17 1.0E-7
keywords #true #false #null #inf #-inf #nan
"(weird ty)" (cidr)"10.0.0.0/16" ("type with space")#true prop=("q t")"v"
"###;

const EMPTY_BLOCKS: &str =
    "node { }\nnode2 {\n\n}\nnode3 { /* C01 only a comment */ }\nnode4 1 {}\nnode5 /- { }\n";

const ESCLINES: &str = "node \\\n    a \\\n    b \\ // C01 comment after a continuation\n    c\nother 1 \\\n    \\\n    2\n";

const DEEP: &str = "a { b { c { d { e { f { g { h 1 } } } } } } }\n/- x { y { z } }\n";

const INDENTED_COMMENTS: &str = r###"top {
            /* C01 a block comment
               indented too far */
  child
            // C02 a line comment indented too far
}
  /* C03
 short second line */
"###;

const ODD_SPACING: &str =
    "\tnode\t\t a   b\u{a0}c  key = 1  other= 2 last =3\n   (t)   name ( t2 )  \"v\"\n";

const COMMENTS_INSIDE_ENTRIES: &str =
    "node ( /* C01 */ ty )\"v\" k /* C02 */ = /* C03 */ v (t)/* C04 */1\n";

/// The hand-written inputs, each checked and snapshotted.
const CASES: &[(&str, &str)] = &[
    ("task_example", TASK_EXAMPLE),
    ("comments", COMMENTS),
    ("slashdash", SLASHDASH),
    ("semicolons", SEMICOLONS),
    ("strings", STRINGS),
    ("numbers_and_types", NUMBERS_AND_TYPES),
    ("empty_blocks", EMPTY_BLOCKS),
    ("esclines", ESCLINES),
    ("deep", DEEP),
    ("indented_comments", INDENTED_COMMENTS),
    ("odd_spacing", ODD_SPACING),
    ("comments_inside_entries", COMMENTS_INSIDE_ENTRIES),
];

/// Inputs too small or too odd for a snapshot.
const SMALL_CASES: &[&str] = &[
    "",
    "\n",
    "   \n\n  ",
    "// C01 only a comment",
    "/* C01 */",
    "node",
    "node;",
    "node // C01",
    "\\ // C01 a continuation between nodes\nnode 1",
    "a { b }",
    "a {\n}",
    "a { /- b }",
    "a /- { } { /- c }",
    "/- a\n/- b\n",
    "a /* C01 */\n",
    "a; /* C01 */",
    "a { b; /* C01 */ }",
    "a { b /* C01 */ }",
    "a {\n    b\n} /* C01 */ // C02",
    "a \\ // C01\n  /* C02 */\n",
    "a 1 \\\n\nb 2",
    "a (t)\"v\" /-(t)\"w\"",
    "(t)/* C01 */a",
    "a \"\"\"\n  x\n  \"\"\"",
    "a #\"\"\"\n  x \"\"\" y\n  \"\"\"#",
    "a \"\"\"\n\t\ttabbed\n\t\t\"\"\"",
    "a \"tab\\tlit\ttab\"",
    "\"\" 1",
    "\"#\" \"=\"=\"=\"",
    // The `kdl` crate reads these as a node followed by a slashdashed node.
    "a #nan/-b 1",
    "a #true/-\nb 2",
    "a {b}/-c",
    "node1 \u{7f}arg +-5 -5 +.x --",
    "/- a #true\"b\" 2\n/- a #false(t)c",
    "a { b } /- /* C01 */ c 1",
];

#[test]
fn golden_outputs() {
    for (name, input) in CASES {
        snapshot(name, input);
    }
}

#[test]
fn small_cases_keep_meaning_comments_and_are_idempotent() {
    for input in SMALL_CASES {
        check(input);
    }
}

#[test]
fn exact_small_outputs() {
    let cases = [
        ("", ""),
        ("\n\n", ""),
        ("node", "node\n"),
        ("network corp", "network \"corp\"\n"),
        ("switch \"a\" // tail", "switch \"a\" // tail\n"),
        ("a { }", "a\n"),
        ("a;b", "a\nb\n"),
        ("a\n\n\n\nb", "a\n\nb\n"),
        ("a {\n\n  b\n\n}", "a {\n    b\n}\n"),
        ("a 0x1F 1_000", "a 0x1F 1_000\n"),
        ("a k = 1", "a k=1\n"),
        ("\"a\" \"b c\"=d", "a \"b c\"=\"d\"\n"),
        ("a #\"x\\y\"#", "a #\"x\\y\"#\n"),
        ("a #\"xy\"#", "a \"xy\"\n"),
        ("a \\\n b", "a \"b\"\n"),
        ("/-a 1", "/- a 1\n"),
        ("a /- b c", "a /-\"b\" \"c\"\n"),
        ("a { /* c */ }", "a {\n    /* c */\n}\n"),
    ];
    for (input, expected) in cases {
        assert_eq!(check(input), expected, "input {input:?}");
    }
}

#[test]
fn line_endings_and_byte_order_mark() {
    assert_eq!(check("a\r\nb { c\r\n}\r\n"), "a\nb {\n    c\n}\n");
    assert_eq!(check("\u{feff}node 1\n"), "node 1\n");
    assert_eq!(check("a /* x\r\n   y */ b\r"), "a /* x\n   y */ \"b\"\n");
    assert_eq!(check("a\u{2028}b\u{85}c\u{c}d"), "a\nb\nc\nd\n");
    // A multi-line string's line breaks become LF without changing its value.
    assert_eq!(
        check("a \"\"\"\r\n  x\r\n  \"\"\"\r\n"),
        "a \"\"\"\n  x\n  \"\"\"\n"
    );
}

#[test]
fn multi_line_strings() {
    // Kept as written, whitespace-only lines emptied...
    assert_eq!(
        check("a \"\"\"\n    x\n      \n    y\n    \"\"\""),
        "a \"\"\"\n    x\n\n    y\n    \"\"\"\n"
    );
    // ...but quoted on one line when a line ends in whitespace.
    assert_eq!(
        check("a \"\"\"\n    x  \n    y\n    \"\"\""),
        "a \"x  \\ny\"\n"
    );
}

#[test]
fn syntax_errors_are_reported_not_formatted() {
    for bad in ["a {", "a \"unterminated", "a }", "(t a"] {
        let mut diags = Diagnostics::new();
        let out = trellis::fmt::format_source(FileId(0), bad, &mut diags);
        assert!(out.is_none(), "{bad:?}");
        assert!(diags.has_errors(), "{bad:?}");
        assert!(trellis::fmt::format_canonical(bad).is_none());
    }
}

#[test]
fn format_source_matches_format_canonical() {
    assert_eq!(fmt(TASK_EXAMPLE), canonical(TASK_EXAMPLE));
}

fn kdl_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read examples")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            kdl_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "kdl") {
            out.push(path);
        }
    }
}

fn example_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    kdl_files(&Path::new(ROOT).join("examples"), &mut files);
    assert!(!files.is_empty(), "no examples found");
    files
}

#[test]
fn every_example_keeps_meaning_and_is_idempotent() {
    for path in example_files() {
        let text = std::fs::read_to_string(&path).expect("read example");
        let out = check(&text);
        assert_eq!(fmt(&text), out, "{}", path.display());
    }
}

// --- Random variations -------------------------------------------------------

/// A small fixed-seed generator (SplitMix64), so failures are reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a>(&mut self, options: &[&'a str]) -> &'a str {
        options
            .get(self.below(options.len()))
            .copied()
            .unwrap_or("")
    }
}

/// Inserts layout and comment noise at a random character boundary of `text`.
fn mutate(text: &str, rng: &mut Rng) -> String {
    const NOISE: &[&str] = &[
        " ",
        "\n",
        "\n\n",
        "\t",
        ";",
        "; ",
        " /* C99 */ ",
        "/* C99 */",
        " // C99\n",
        " \\\n",
        " \\ // C99\n",
        "\r\n",
        " /- x ",
        "/-",
        " { }",
        " {\n}\n",
        "/- n 1\n",
        " (t)",
        "=",
        "\"",
        "#",
        "}",
        "{",
        " /* C99\n  more */ ",
        "\u{a0}",
        " \"\"\"\n  s\n  \"\"\" ",
        " #\"r\\\"# ",
        " #true",
        " /-/-",
        "\u{2028}",
        "\u{3000}",
        "\u{85}",
        "\u{c}",
        " k=(t)1",
        " \"q\\\"\\\\\"",
    ];
    let boundaries: Vec<usize> = text
        .char_indices()
        .map(|(i, _)| i)
        .chain([text.len()])
        .collect();
    let at = boundaries
        .get(rng.below(boundaries.len()))
        .copied()
        .unwrap_or(0);
    let (head, tail) = text.split_at(at);
    match rng.below(5) {
        // Copy a piece of the text elsewhere.
        0 => {
            let from = boundaries
                .get(rng.below(boundaries.len()))
                .copied()
                .unwrap_or(0);
            let piece: String = text
                .get(from..)
                .unwrap_or("")
                .chars()
                .take(rng.below(40))
                .collect();
            format!("{head}{piece}{tail}")
        }
        // Delete a few characters.
        1 => {
            let skip = tail
                .char_indices()
                .nth(1 + rng.below(3))
                .map_or(tail.len(), |(i, _)| i);
            format!("{head}{}", tail.get(skip..).unwrap_or(""))
        }
        _ => format!("{head}{}{tail}", rng.pick(NOISE)),
    }
}

#[test]
fn random_variations_keep_meaning_and_are_idempotent() {
    let mut corpus: Vec<String> = CASES.iter().map(|(_, t)| t.to_string()).collect();
    corpus.extend(SMALL_CASES.iter().map(|t| t.to_string()));
    for path in example_files() {
        corpus.push(std::fs::read_to_string(path).expect("read example"));
    }
    // More inputs for a local search, e.g. the KDL test suite's `input` folder.
    if let Ok(dir) = std::env::var("TRELLIS_FMT_CORPUS") {
        let mut files = Vec::new();
        kdl_files(Path::new(&dir), &mut files);
        corpus.extend(files.iter().filter_map(|f| std::fs::read_to_string(f).ok()));
    }
    // More rounds and another seed for a longer local search:
    // TRELLIS_FMT_FUZZ=ROUNDS:SEED cargo test --test fmt random
    let (rounds, seed) = std::env::var("TRELLIS_FMT_FUZZ")
        .ok()
        .and_then(|v| {
            let (r, s) = v.split_once(':')?;
            Some((r.parse().ok()?, s.parse().ok()?))
        })
        .unwrap_or((4000usize, 0x7e11_15f0u64));
    let mut rng = Rng(seed);
    let mut valid = 0;
    for round in 0..rounds {
        let base = corpus
            .get(round % corpus.len())
            .cloned()
            .unwrap_or_default();
        let mut text = base;
        for _ in 0..1 + rng.below(6) {
            text = mutate(&text, &mut rng);
        }
        if KdlDocument::parse_v2(&text).is_err() {
            continue;
        }
        valid += 1;
        let out = canonical(&text);
        if let Some(diff) = difference(&parse(&text), &parse(&out), "") {
            panic!("meaning changed: {diff}\n--- input\n{text:?}\n--- output\n{out}");
        }
        assert_eq!(canonical(&out), out, "not idempotent; input:\n{text:?}");
        assert_eq!(
            markers(&out).len(),
            markers(&text).len(),
            "a comment was lost; input:\n{text:?}\n--- output\n{out}"
        );
    }
    println!("{valid} valid variations of {rounds}");
    assert!(valid > rounds / 5, "only {valid} valid variations");
}

// --- The binary --------------------------------------------------------------

fn trellis(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trellis"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run trellis")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).expect("read")
}

#[test]
fn binary_checks_and_rewrites_a_folder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let messy = root.join("net.kdl");
    let tidy = root.join("app.kdl");
    std::fs::write(&messy, TASK_EXAMPLE).expect("write");
    let tidy_text = canonical("service \"web\" cluster=\"shop\" { port 80 }\n");
    std::fs::write(&tidy, &tidy_text).expect("write");
    let dir_arg = root.to_str().expect("utf-8 path");

    let out = trellis(&["fmt", dir_arg, "--check"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("net.kdl"), "{stdout}");
    assert!(!stdout.contains("app.kdl"), "{stdout}");
    assert_eq!(read(&messy), TASK_EXAMPLE, "--check must not write");

    let out = trellis(&["fmt", dir_arg]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(read(&messy), canonical(TASK_EXAMPLE));
    assert_eq!(read(&tidy), tidy_text);
    assert!(read(&messy).contains("// C02 office"));

    let out = trellis(&["fmt", dir_arg, "--check"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");

    // A single file works too.
    std::fs::write(&messy, "a;b").expect("write");
    let file_arg = messy.to_str().expect("utf-8 path");
    assert_eq!(
        trellis(&["fmt", file_arg, "--check"]).status.code(),
        Some(1)
    );
    assert_eq!(trellis(&["fmt", file_arg]).status.code(), Some(0));
    assert_eq!(read(&messy), "a\nb\n");
}

#[test]
fn binary_leaves_every_file_alone_on_a_syntax_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let messy = root.join("a.kdl");
    let broken = root.join("b.kdl");
    std::fs::write(&messy, "a;b\n").expect("write");
    std::fs::write(&broken, "network \"corp\" {\n").expect("write");
    let dir_arg = root.to_str().expect("utf-8 path");

    let out = trellis(&["fmt", dir_arg]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("TR0101"), "{stderr}");
    assert!(stderr.contains("b.kdl"), "{stderr}");
    assert_eq!(read(&messy), "a;b\n");
    assert_eq!(read(&broken), "network \"corp\" {\n");

    let out = trellis(&["fmt", dir_arg, "--check"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(read(&messy), "a;b\n");
    let leftovers: Vec<_> = std::fs::read_dir(root)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(leftovers.len(), 2, "{leftovers:?}");
}
