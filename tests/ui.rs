//! UI tests: what `trellis check` tells a user about each broken input.
//!
//! Every case is a file `tests/ui/<stage>/<case>.kdl`, or a folder
//! `tests/ui/<stage>/<case>/` of several `.kdl` files compiled as one project. Cases
//! are found by listing `tests/ui` when the test runs, so a new file is a new case.
//!
//! A case states the diagnostics it expects inline, under the line they point at:
//!
//! ```kdl
//! network "corp" { switch "External"; gatway "10.20.0.1"; vips "10.20.2.0" "10.20.2.255" }
//! //                                  ^^^^^^ TR0201
//! ```
//!
//! The carets sit under the columns (counted in chars) of the primary span, clipped
//! to that line; a zero-length span gets one caret. A caret line refers to the nearest
//! line above it that is not itself a caret line, so several may follow one line.
//! Other `//` comments are ordinary comments. A span that starts in column 1 or 2
//! cannot be reached from under `//`: indent that source line if possible, or else
//! give the column explicitly, `//^^^^ TR0101 (column 1)`.
//!
//! For each case the runner compiles the project, compares the primary spans and codes
//! of all diagnostics with the expectations (both ways, duplicates counted), and
//! snapshots the source with the rendered report into `snapshots/ui/<stage>/<case>.snap`.
//! TR0104 (a file over 16 MiB) is the one case not stored in `tests/ui`: the runner
//! generates its file in a temporary folder. All failing cases are reported together.

use std::fmt::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use trellis::diag::render::{render_text, TextStyle};
use trellis::diag::Diagnostic;
use trellis::source::Sources;
use trellis::{compile, load, Options};

const UI_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/ui");
const SNAPSHOT_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots/ui");

/// One UI case: a `.kdl` file or a folder of them.
struct Case {
    stage: String,
    name: String,
    /// The file or folder to load.
    path: PathBuf,
    /// The path shown to users, relative to `tests/ui`: `lower/unknown-node.kdl`.
    shown: String,
}

/// Where a diagnostic points, and its code: the unit the expectations are compared in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Mark {
    file: String,
    line: usize,
    column: usize,
    carets: usize,
    code: String,
}

impl Mark {
    /// The mark as a case would write it: the position and the caret line.
    fn describe(&self) -> String {
        let carets = "^".repeat(self.carets);
        let caret_line = if self.column >= 3 {
            let pad = " ".repeat(self.column - 3);
            format!("//{pad}{carets} {}", self.code)
        } else {
            format!("//{carets} {} (column {})", self.code, self.column)
        };
        format!(
            "{}:{}:{}: {}   (as a caret line: `{caret_line}`)",
            self.file, self.line, self.column, self.code
        )
    }
}

#[test]
fn ui() {
    let cases = discover();
    assert!(!cases.is_empty(), "no UI cases found in {UI_DIR}");
    let mut failures = Vec::new();
    for case in &cases {
        if let Err(report) = run_guarded(|| run_case(case)) {
            failures.push(format!("{}:\n{report}", case.shown));
        }
    }
    if let Err(report) = run_guarded(run_file_too_large) {
        failures.push(format!("parse/file-too-large (generated):\n{report}"));
    }
    if !failures.is_empty() {
        panic!(
            "{} of {} UI cases failed:\n\n{}",
            failures.len(),
            cases.len() + 1,
            failures.join("\n\n")
        );
    }
}

/// Runs a case, turning a panic (of the compiler or the runner) into a failure so the
/// other cases still run.
fn run_guarded(run: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
    catch_unwind(AssertUnwindSafe(run)).unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("(no message)");
        Err(format!("  panicked: {message}\n"))
    })
}

/// Lists `tests/ui/<stage>/<case>.kdl` and `tests/ui/<stage>/<case>/`, sorted.
fn discover() -> Vec<Case> {
    let mut cases = Vec::new();
    for stage_dir in sorted_entries(Path::new(UI_DIR)) {
        if !stage_dir.is_dir() {
            continue;
        }
        let stage = file_name(&stage_dir);
        for path in sorted_entries(&stage_dir) {
            let file = file_name(&path);
            let name = if path.is_dir() {
                file.clone()
            } else if let Some(stem) = file.strip_suffix(".kdl") {
                stem.to_string()
            } else {
                continue;
            };
            cases.push(Case {
                shown: format!("{stage}/{file}"),
                stage: stage.clone(),
                name,
                path,
            });
        }
    }
    cases
}

fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.expect("readable folder entry").path())
        .collect();
    paths.sort();
    paths
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Runs one case; `Err` carries a report of everything that went wrong.
fn run_case(case: &Case) -> Result<(), String> {
    let (sources, diagnostics) = compile_case(case);
    let mut expected = Vec::new();
    let mut problems = Vec::new();
    for (_, file) in sources.iter() {
        parse_expectations(&file.path, &file.text, &mut expected, &mut problems);
    }
    let mut report = String::new();
    for problem in problems {
        let _ = writeln!(report, "  bad expectation: {problem}");
    }
    report.push_str(&compare(expected, &diagnostics, &sources));
    let source = sources
        .iter()
        .map(|(_, f)| {
            if case.path.is_dir() {
                format!("-- {} --\n{}", f.path, with_final_newline(&f.text))
            } else {
                with_final_newline(&f.text)
            }
        })
        .collect::<String>();
    if let Err(snapshot_failure) = check_snapshot(case, &source, &diagnostics, &sources) {
        report.push_str(&snapshot_failure);
    }
    if report.is_empty() {
        Ok(())
    } else {
        Err(report)
    }
}

/// Loads the case with the project loader and compiles it. File paths are rewritten to
/// be relative to `tests/ui`, so reports do not depend on where the checkout lives.
fn compile_case(case: &Case) -> (Sources, Vec<Diagnostic>) {
    let project =
        load::load(&case.path, &[]).unwrap_or_else(|e| panic!("cannot load {}: {e}", case.shown));
    let mut sources = Sources::new();
    for (_, file) in project.sources.iter() {
        let shown = if case.path.is_dir() {
            format!("{}/{}", case.shown, file.path)
        } else {
            case.shown.clone()
        };
        if file.kind == trellis::source::SourceKind::Lock {
            sources.add_lock(shown, file.text.clone());
        } else {
            sources.add(shown, file.text.clone());
        }
    }
    let compilation = compile(&sources, project.diagnostics, &Options::default());
    (sources, compilation.diagnostics)
}

/// Reads the caret lines of one file into `expected`; malformed ones go to `problems`.
fn parse_expectations(
    path: &str,
    text: &str,
    expected: &mut Vec<Mark>,
    problems: &mut Vec<String>,
) {
    let mut target: Option<usize> = None;
    for (idx, line) in text.lines().enumerate() {
        let Some((column, carets, code)) = caret_line(line) else {
            target = Some(idx + 1);
            continue;
        };
        match target {
            Some(line) => expected.push(Mark {
                file: path.to_string(),
                line,
                column,
                carets,
                code,
            }),
            None => problems.push(format!("{path}:{}: caret line with no line above", idx + 1)),
        }
    }
}

/// `//     ^^^^ TR0201` gives (column of the first caret, number of carets, code);
/// `//^^^^ TR0101 (column 1)` states the column instead.
fn caret_line(line: &str) -> Option<(usize, usize, String)> {
    let rest = line.trim_start().strip_prefix("//")?;
    let body = rest.trim_start();
    let carets = body.chars().take_while(|c| *c == '^').count();
    if carets == 0 {
        return None;
    }
    let after = body.get(carets..)?.trim();
    let (code, column) = match after.split_once(" (column ") {
        Some((code, n)) => (code, n.strip_suffix(')')?.parse().ok()?),
        None => (after, line.chars().position(|c| c == '^')? + 1),
    };
    let digits = code.strip_prefix("TR")?;
    if digits.len() != 4 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some((column, carets, code.to_string()))
}

/// The mark of a diagnostic's primary span.
fn mark_of(diag: &Diagnostic, sources: &Sources) -> Mark {
    let span = sources.clamp(diag.span);
    let file = sources.get(span.file).expect("diagnostic in a known file");
    let (line, column) = file.line_col(span.start as usize);
    let covered = file.text.get(span.range()).unwrap_or("");
    let carets = covered.chars().take_while(|c| *c != '\n').count().max(1);
    Mark {
        file: file.path.clone(),
        line,
        column,
        carets,
        code: diag.code.code.to_string(),
    }
}

/// Compares expectations with the diagnostics as multisets; "" when they agree.
fn compare(mut expected: Vec<Mark>, diagnostics: &[Diagnostic], sources: &Sources) -> String {
    let mut actual: Vec<Mark> = diagnostics.iter().map(|d| mark_of(d, sources)).collect();
    expected.sort();
    actual.sort();
    let mut missing = Vec::new();
    let mut unexpected = Vec::new();
    let (mut e, mut a) = (
        expected.into_iter().peekable(),
        actual.into_iter().peekable(),
    );
    loop {
        match (e.peek(), a.peek()) {
            (Some(x), Some(y)) if x == y => {
                e.next();
                a.next();
            }
            (Some(x), Some(y)) if x < y => missing.extend(e.next()),
            (Some(_), None) => missing.extend(e.next()),
            (_, Some(_)) => unexpected.extend(a.next()),
            (None, None) => break,
        }
    }
    let mut report = String::new();
    for m in missing {
        let _ = writeln!(report, "  missing:    {}", m.describe());
    }
    for m in unexpected {
        let _ = writeln!(report, "  unexpected: {}", m.describe());
    }
    report
}

/// Snapshots the source and the rendered diagnostics; `Err` when insta disagrees.
fn check_snapshot(
    case: &Case,
    source: &str,
    diagnostics: &[Diagnostic],
    sources: &Sources,
) -> Result<(), String> {
    let rendered = render_text(diagnostics, sources, TextStyle::plain());
    let text =
        format!("----- SOURCE CODE\n{source}----- DIAGNOSTICS\n{rendered}").replace("\r\n", "\n");
    let snapshot_dir = Path::new(SNAPSHOT_DIR).join(&case.stage);
    catch_unwind(AssertUnwindSafe(|| {
        insta::with_settings!({
            snapshot_path => snapshot_dir,
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(case.name.as_str(), text);
        });
    }))
    .map_err(|_| {
        format!(
            "  the report does not match snapshots/ui/{}/{}.snap (see insta's output above; \
             accept it with `cargo insta review` or INSTA_UPDATE=always after reading it)\n",
            case.stage, case.name
        )
    })
}

fn with_final_newline(text: &str) -> String {
    if text.is_empty() || text.ends_with('\n') {
        text.to_string()
    } else {
        format!("{text}\n")
    }
}

/// TR0104: a file one byte over the 16 MiB limit, generated in a temporary folder
/// rather than stored in the repository.
fn run_file_too_large() -> Result<(), String> {
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = dir.path().join("file-too-large.kdl");
    let size = usize::try_from(load::MAX_FILE_BYTES).expect("limit fits usize") + 1;
    std::fs::write(&path, vec![b' '; size]).expect("write the large file");
    let case = Case {
        stage: "parse".to_string(),
        name: "file-too-large".to_string(),
        path,
        shown: "parse/file-too-large.kdl".to_string(),
    };
    let (sources, diagnostics) = compile_case(&case);
    let expected = vec![Mark {
        file: case.shown.clone(),
        line: 1,
        column: 1,
        carets: 1,
        code: "TR0104".to_string(),
    }];
    let mut report = compare(expected, &diagnostics, &sources);
    let source = format!("<generated: {size} spaces, one byte over the 16 MiB limit>\n");
    if let Err(snapshot_failure) = check_snapshot(&case, &source, &diagnostics, &sources) {
        report.push_str(&snapshot_failure);
    }
    if report.is_empty() {
        Ok(())
    } else {
        Err(report)
    }
}
