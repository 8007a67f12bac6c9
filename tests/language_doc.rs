//! `docs/language.md` against the language itself:
//!
//! - every node, argument and property of the schema (`lower::schema::TOP_LEVEL`,
//!   walked recursively) is mentioned in the reference as `name` in backticks;
//! - every ```kdl example in it compiles without errors (```kdl fragment blocks are
//!   excerpts and are not compiled; ```kdl fails=TRxxxx blocks must report that code).

use std::collections::BTreeSet;

use trellis::lower::schema::{NodeSpec, TOP_LEVEL};

const DOC_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/language.md");

fn doc() -> String {
    std::fs::read_to_string(DOC_PATH).expect("docs/language.md exists")
}

/// A fenced code block: its info string (after the backticks), its text, and the line
/// of the opening fence (1-based).
struct Fence {
    info: String,
    text: String,
    line: usize,
}

fn fences(markdown: &str) -> Vec<Fence> {
    let mut out = Vec::new();
    let mut open: Option<(String, usize, String)> = None;
    for (idx, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_start();
        match &mut open {
            None => {
                if let Some(info) = trimmed.strip_prefix("```") {
                    open = Some((info.trim().to_string(), idx + 1, String::new()));
                }
            }
            Some((info, start, text)) => {
                if trimmed.trim_end() == "```" {
                    out.push(Fence {
                        info: std::mem::take(info),
                        text: std::mem::take(text),
                        line: *start,
                    });
                    open = None;
                } else {
                    text.push_str(line);
                    text.push('\n');
                }
            }
        }
    }
    assert!(
        open.is_none(),
        "docs/language.md has an unclosed code fence"
    );
    out
}

/// Every (path, name) of a node, argument or property below the top level.
fn schema_names() -> BTreeSet<(String, &'static str)> {
    fn walk(
        spec: &'static NodeSpec,
        path: &str,
        seen: &mut BTreeSet<usize>,
        out: &mut BTreeSet<(String, &'static str)>,
    ) {
        let path = if path.is_empty() {
            spec.name.to_string()
        } else {
            format!("{path} > {}", spec.name)
        };
        out.insert((format!("node {path}"), spec.name));
        for arg in spec.args {
            out.insert((format!("argument of {path}"), arg.name));
        }
        for prop in spec.props {
            out.insert((format!("property of {path}"), prop.name));
        }
        // Shared specs (`labels`, `port`, peers) are documented once per place, but
        // walking them once is enough to find every name.
        if !seen.insert(spec as *const NodeSpec as usize) {
            return;
        }
        for child in spec.children {
            walk(child.node, &path, seen, out);
        }
    }
    let mut seen = BTreeSet::new();
    let mut out = BTreeSet::new();
    for spec in TOP_LEVEL {
        walk(spec, "", &mut seen, &mut out);
    }
    out
}

#[test]
fn every_schema_name_is_documented() {
    let doc = doc();
    let missing: Vec<String> = schema_names()
        .into_iter()
        .filter(|(_, name)| !doc.contains(&format!("`{name}`")))
        .map(|(what, name)| format!("{what}: `{name}`"))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/language.md does not mention:\n  {}",
        missing.join("\n  ")
    );
}

#[test]
fn every_top_level_node_has_a_section() {
    let doc = doc();
    for spec in TOP_LEVEL {
        let heading = format!("### `{}`", spec.name);
        assert!(
            doc.lines().any(|l| l.trim_end() == heading),
            "docs/language.md has no heading `{heading}`"
        );
    }
}

#[test]
fn kdl_examples_compile() {
    let doc = doc();
    let mut compiled = 0;
    let mut failures = Vec::new();
    for fence in fences(&doc) {
        let mut words = fence.info.split_whitespace();
        if words.next() != Some("kdl") {
            continue;
        }
        let rest: Vec<&str> = words.collect();
        if rest.contains(&"fragment") {
            continue;
        }
        let expected = rest.iter().find_map(|w| w.strip_prefix("fails="));
        let (_, compilation) = trellis::compile_str("doc.kdl", &fence.text);
        compiled += 1;
        match expected {
            Some(code) => {
                if !compilation.diagnostics.iter().any(|d| d.code.code == code) {
                    failures.push(format!(
                        "line {}: expected {code}, got {:?}",
                        fence.line,
                        compilation
                            .diagnostics
                            .iter()
                            .map(|d| (d.code.code, d.message.as_str()))
                            .collect::<Vec<_>>()
                    ));
                }
            }
            None => {
                let errors: Vec<_> = compilation
                    .diagnostics
                    .iter()
                    .filter(|d| d.is_error())
                    .map(|d| format!("{} {}", d.code.code, d.message))
                    .collect();
                if !errors.is_empty() {
                    failures.push(format!("line {}: {}", fence.line, errors.join("; ")));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "examples in docs/language.md that do not compile as marked:\n  {}",
        failures.join("\n  ")
    );
    assert!(
        compiled >= 10,
        "docs/language.md should have compiled examples, found {compiled}"
    );
}
