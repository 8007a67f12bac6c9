//! Malformed input never panics the compiler: binary garbage, invalid UTF-8, huge
//! numbers, deep nesting, huge strings, and thousands of random mutations of real
//! projects all come back as diagnostics.
//!
//! The random cases use a fixed-seed generator, so a failure is reproducible; each
//! failure message prints the input that caused it.

use std::panic::{catch_unwind, AssertUnwindSafe};

use trellis::diag::render::{render_json, render_text, TextStyle};
use trellis::diag::{Diagnostic, Diagnostics};
use trellis::source::Sources;

/// Compiles bytes as a one-file project, renders every diagnostic both ways, and
/// returns the diagnostics. Panics (failing the test) with the input on a panic.
fn compile_bytes(bytes: &[u8]) -> Vec<Diagnostic> {
    let result = catch_unwind(AssertUnwindSafe(|| {
        let mut sources = Sources::new();
        let mut diags = Diagnostics::new();
        trellis::load::add_bytes(&mut sources, &mut diags, "input.kdl".into(), bytes.to_vec());
        let compilation = trellis::compile(&sources, diags, &trellis::Options::default());
        let _ = render_text(&compilation.diagnostics, &sources, TextStyle::plain());
        let _ = render_json(&compilation.diagnostics, &sources);
        let _ = trellis::fmt::format_source(
            trellis::source::FileId(0),
            sources
                .get(trellis::source::FileId(0))
                .map_or("", |f| f.text.as_str()),
            &mut Diagnostics::new(),
        );
        compilation.diagnostics
    }));
    match result {
        Ok(d) => d,
        Err(_) => panic!(
            "compiler panicked on input {:?}",
            String::from_utf8_lossy(bytes)
        ),
    }
}

fn codes(diags: &[Diagnostic]) -> Vec<&'static str> {
    diags.iter().map(|d| d.code.code).collect()
}

#[test]
fn invalid_utf8_is_a_diagnostic() {
    let d = compile_bytes(b"network \"corp\" { switch \"\xff\xfe\" }");
    assert_eq!(codes(&d), ["TR0102"]);
}

#[test]
fn binary_garbage_is_a_syntax_error() {
    let d = compile_bytes(&[0, 1, 2, 3, 0xc3, 0x28, b'{', 0, b'}']);
    assert!(!d.is_empty());
    let d = compile_bytes(b"\0\0\0\0");
    assert!(!d.is_empty());
}

#[test]
fn huge_numbers_are_diagnostics() {
    for text in [
        "network \"a\" { vlan 99999999999999999999999999999999999999999999999999 }",
        "network \"a\" { vlan 170141183460469231731687303715884105727 }",
        "network \"a\" { vlan -170141183460469231731687303715884105728 }",
        "network \"a\" { vlan 1e400 }",
        "network \"a\" { vlan 0x7fffffffffffffffffffffffffffffff }",
        "workload \"w\" cluster=\"c\" namespace=\"n\" { replicas 9223372036854775808 }",
        "service \"s\" cluster=\"c\" namespace=\"n\" { port 18446744073709551616 }",
        "network \"a\" { vlan #inf }",
        "network \"a\" { vlan #nan }",
    ] {
        let d = compile_bytes(text.as_bytes());
        assert!(d.iter().any(Diagnostic::is_error), "{text}");
    }
}

#[test]
fn deep_nesting_is_refused_not_a_stack_overflow() {
    for depth in [40usize, 1_000, 10_000, 100_000] {
        let text = format!("{}{}", "a {".repeat(depth), "}".repeat(depth));
        let d = compile_bytes(text.as_bytes());
        assert_eq!(codes(&d), ["TR0103"], "depth {depth}");
    }
    // Unclosed deep nesting too.
    let d = compile_bytes("a {".repeat(50_000).as_bytes());
    assert_eq!(codes(&d), ["TR0103"]);
}

#[test]
fn huge_strings_are_refused() {
    let text = format!(
        "network \"corp\" {{ switch \"{}\"; vips \"10.0.0.1\" \"10.0.0.2\" }}",
        "x".repeat(1 << 20)
    );
    let d = compile_bytes(text.as_bytes());
    assert_eq!(codes(&d), ["TR0222"]);
    // The report names the place instead of printing the 1 MB line.
    let mut sources = Sources::new();
    sources.add("input.kdl", text.clone());
    let rendered = render_text(&d, &sources, TextStyle::plain());
    assert!(rendered.len() < 1_000, "{} bytes", rendered.len());
    assert!(
        rendered.contains("at input.kdl:1:25: too long (the line is too long to show)"),
        "{rendered}"
    );
    // A short line around the same value is still shown with its caret.
    let short = "network \"corp\" {\n    switch \"".to_string() + &"x".repeat(1100) + "\"\n}\n";
    let (sources, compilation) = trellis::compile_str("input.kdl", &short);
    let rendered = render_text(&compilation.diagnostics, &sources, TextStyle::plain());
    assert!(rendered.contains("╰── too long"), "{rendered}");
}

#[test]
fn many_declarations_are_fine() {
    let mut text = String::new();
    for i in 0..5_000 {
        text.push_str(&format!("namespace \"ns{i}\" cluster=\"missing\"\n"));
    }
    let d = compile_bytes(text.as_bytes());
    assert_eq!(d.len(), 5_000);
    assert!(d.iter().all(|d| d.code.code == "TR0302"));
}

/// xorshift64*: a tiny deterministic generator, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn examples() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");
    for entry in walkdir::WalkDir::new(root).sort_by_file_name() {
        let entry = entry.expect("walk");
        if entry.path().extension().is_some_and(|e| e == "kdl") {
            out.push(std::fs::read(entry.path()).expect("read"));
        }
    }
    assert!(!out.is_empty());
    out
}

const FRAGMENTS: &[&[u8]] = &[
    b"{",
    b"}",
    b";",
    b"\"",
    b"=",
    b"#",
    b"(",
    b")",
    b"/-",
    b"//",
    b"/*",
    b"*/",
    b"\\",
    b"\n",
    b"r#\"",
    b"\"#",
    b"#true",
    b"#null",
    b"-1",
    b"0x",
    b"1e9",
    b"99999999999999999999999",
    b"\xff",
    b"\xc3",
    b"\0",
    b"\xe2\x80\xae",
    b"\"\"\"",
    b"network",
    b"cluster",
    b"port",
    b"select",
    b"from",
    b"to",
    b"cidr=",
    b"(cidr)",
    b"\"10.0.0.0/8\"",
    b"\"::1\"",
    b"\"\"",
    b" ",
    b"\t",
    b"\r\n",
    b"\xef\xbb\xbf",
];

#[test]
fn random_mutations_of_real_projects_never_panic() {
    let seeds = examples();
    let mut rng = Rng(0x5eed_7e11_15ba_d00d);
    for _ in 0..3_000 {
        let mut input = seeds[rng.below(seeds.len())].clone();
        for _ in 0..1 + rng.below(6) {
            let pos = rng.below(input.len() + 1);
            match rng.below(4) {
                0 => {
                    let frag = FRAGMENTS[rng.below(FRAGMENTS.len())];
                    input.splice(pos..pos, frag.iter().copied());
                }
                1 => {
                    let end = (pos + rng.below(20)).min(input.len());
                    input.drain(pos..end);
                }
                2 => {
                    if pos < input.len() {
                        input[pos] = rng.next() as u8;
                    }
                }
                _ => {
                    let from = rng.below(input.len());
                    let end = (from + rng.below(40)).min(input.len());
                    let chunk = input[from..end].to_vec();
                    input.splice(pos..pos, chunk);
                }
            }
        }
        compile_bytes(&input);
    }
}

#[test]
fn random_token_soup_never_panics() {
    let mut rng = Rng(0xdead_beef_cafe_f00d);
    for _ in 0..3_000 {
        let mut input = Vec::new();
        for _ in 0..rng.below(60) {
            input.extend_from_slice(FRAGMENTS[rng.below(FRAGMENTS.len())]);
            if rng.below(3) == 0 {
                input.push(b' ');
            }
        }
        compile_bytes(&input);
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(0x0123_4567_89ab_cdef);
    for _ in 0..2_000 {
        let len = rng.below(200);
        let input: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        compile_bytes(&input);
    }
}
