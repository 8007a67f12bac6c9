//! The long explanations (`compiler/diag/explain/TRxxxx.md`) against the compiler:
//!
//! - each starts with `# TRxxxx: name`;
//! - each (but TR0102 and TR0104, which cannot be shown as UTF-8 text, and TR0105,
//!   TR0412 and TR0707, which need a `trellis.lock` beside the source) has a
//!   ```kdl fails=TRxxxx example that, compiled alone, reports that code;
//! - every other ```kdl example in it compiles without errors;
//! - `docs/diagnostics.md` lists every code;
//! - `trellis explain` prints explanations by code and by name, and fails on an
//!   unknown code.

use std::process::Command;

use trellis::diag::codes::{self, Code};

/// Codes whose problem cannot be written as one KDL example: not UTF-8 text, too
/// large, or needing a `trellis.lock` beside the source (these are covered by UI
/// folder cases with a lock).
const NOT_SHOWABLE: &[&str] = &["TR0102", "TR0104", "TR0105", "TR0412", "TR0707"];

/// A fenced code block: its info string, its text and the line of its opening fence.
struct Fence {
    info: String,
    text: String,
    line: usize,
}

fn fences(markdown: &str) -> Result<Vec<Fence>, String> {
    let mut out = Vec::new();
    let mut open: Option<Fence> = None;
    for (idx, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_start();
        match open.as_mut() {
            None => {
                if let Some(info) = trimmed.strip_prefix("```") {
                    open = Some(Fence {
                        info: info.trim().to_string(),
                        text: String::new(),
                        line: idx + 1,
                    });
                }
            }
            Some(fence) => {
                if trimmed.trim_end() == "```" {
                    out.extend(open.take());
                } else {
                    fence.text.push_str(line);
                    fence.text.push('\n');
                }
            }
        }
    }
    match open {
        Some(fence) => Err(format!("unclosed code fence at line {}", fence.line)),
        None => Ok(out),
    }
}

/// What a ```kdl fence claims: `None` for a fence that is not KDL or is a fragment,
/// `Some(None)` for a clean example, `Some(Some(code))` for a failing one.
fn kdl_claim(info: &str) -> Option<Option<&str>> {
    let mut words = info.split_whitespace();
    if words.next() != Some("kdl") {
        return None;
    }
    let rest: Vec<&str> = words.collect();
    if rest.contains(&"fragment") {
        return None;
    }
    Some(rest.iter().find_map(|w| w.strip_prefix("fails=")))
}

fn describe(diags: &[trellis::diag::Diagnostic]) -> String {
    let items: Vec<String> = diags
        .iter()
        .map(|d| format!("{} {}", d.code.code, d.message))
        .collect();
    if items.is_empty() {
        "no diagnostics".to_string()
    } else {
        items.join("; ")
    }
}

/// The problems of one code's explanation.
fn check_explanation(code: &Code) -> Vec<String> {
    let mut problems = Vec::new();
    let text = code.explanation;
    let heading = format!("# {}: {}", code.code, code.name);
    if text.lines().next() != Some(heading.as_str()) {
        problems.push(format!("first line is not `{heading}`"));
    }
    let fences = match fences(text) {
        Ok(f) => f,
        Err(e) => return vec![e],
    };
    let mut failing_examples = 0;
    for fence in &fences {
        let Some(claim) = kdl_claim(&fence.info) else {
            continue;
        };
        let (_, compilation) = trellis::compile_str("example.kdl", &fence.text);
        match claim {
            Some(expected) => {
                if expected != code.code {
                    problems.push(format!(
                        "line {}: a failing example for {expected} belongs in {expected}.md",
                        fence.line
                    ));
                } else if !compilation
                    .diagnostics
                    .iter()
                    .any(|d| d.code.code == expected)
                {
                    problems.push(format!(
                        "line {}: the failing example does not report {expected} ({})",
                        fence.line,
                        describe(&compilation.diagnostics)
                    ));
                }
                failing_examples += 1;
            }
            None => {
                if compilation.has_errors() {
                    problems.push(format!(
                        "line {}: the example should compile without errors ({})",
                        fence.line,
                        describe(&compilation.diagnostics)
                    ));
                }
            }
        }
    }
    if NOT_SHOWABLE.contains(&code.code) {
        if failing_examples > 0 {
            problems.push(format!(
                "{} cannot be reproduced from UTF-8 text; describe it in a ```text block",
                code.code
            ));
        }
    } else if failing_examples == 0 {
        problems.push(format!("no ```kdl fails={} example", code.code));
    }
    problems
}

#[test]
fn every_explanation_has_a_heading_and_examples_that_compile_as_claimed() {
    let mut problems = Vec::new();
    for code in codes::ALL {
        for problem in check_explanation(code) {
            problems.push(format!("explain/{}.md: {problem}", code.code));
        }
    }
    assert!(
        problems.is_empty(),
        "explanations that do not match the compiler:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn the_checker_rejects_a_wrong_example() {
    // The test above is only as good as its parsing of fences: make sure a claim that
    // is false is caught.
    let bogus = Code {
        code: "TR0201",
        name: "unknown-node",
        severity: trellis::diag::Severity::Error,
        summary: "",
        help: "",
        explanation: "# TR0201: unknown-node\n\n```kdl fails=TR0201\nnetwork \"corp\" {\n    switch \"External\"\n    vips \"10.20.2.0\" \"10.20.2.255\"\n}\n```\n\n```kdl\nnetwerk \"corp\"\n```\n",
    };
    let problems = check_explanation(&bogus);
    assert_eq!(problems.len(), 2, "{problems:?}");
}

#[test]
fn the_diagnostics_guide_lists_every_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/diagnostics.md");
    let guide = std::fs::read_to_string(path).expect("docs/diagnostics.md exists");
    let missing: Vec<String> = codes::ALL
        .iter()
        .filter(|c| {
            // A row of the table: | `TR0201` | `unknown-node` | error | ... |
            let row = format!("| `{}` | `{}` | {} |", c.code, c.name, c.severity.as_str());
            !guide.lines().any(|l| l.starts_with(&row))
        })
        .map(|c| format!("{} {} ({})", c.code, c.name, c.severity.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/diagnostics.md has no table row `| `TRxxxx` | `name` | severity |` for: {missing:?}"
    );
}

fn trellis(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_trellis"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("the trellis binary runs")
}

#[test]
fn explain_prints_an_explanation_by_code() {
    let out = trellis(&["explain", "TR0201"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(codes::UNKNOWN_NODE.explanation),
        "stdout does not contain the explanation:\n{stdout}"
    );
    assert!(stdout.contains("# TR0201: unknown-node"), "{stdout}");
}

#[test]
fn explain_prints_an_explanation_by_name() {
    let out = trellis(&["explain", "unknown-node"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(codes::UNKNOWN_NODE.explanation),
        "stdout does not contain the explanation:\n{stdout}"
    );
}

#[test]
fn explain_fails_on_an_unknown_code() {
    let out = trellis(&["explain", "TR9999"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("TR9999"), "{stderr}");
}
