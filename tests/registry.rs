//! The registry of diagnostic codes (`compiler/diag/codes.rs`) against the rest of the
//! project: codes are well-formed and unique, every code is shown by a UI snapshot and
//! used by the compiler, and no code is mentioned anywhere without being registered.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use trellis::diag::codes;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Every file under `dir` (recursively) whose name ends with `ext`, sorted.
fn files_with_ext(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("readable folder entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.to_string_lossy().ends_with(ext) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Every `TR` followed by four digits in `text`.
fn code_mentions(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    (0..bytes.len())
        .filter(|&i| {
            bytes.get(i..i + 2) == Some(b"TR".as_slice())
                && bytes
                    .get(i + 2..i + 6)
                    .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
        })
        .filter_map(|i| text.get(i..i + 6).map(str::to_string))
        .collect()
}

fn is_code(s: &str) -> bool {
    s.len() == 6 && s.starts_with("TR") && s.bytes().skip(2).all(|b| b.is_ascii_digit())
}

fn is_kebab_case(s: &str) -> bool {
    !s.is_empty()
        && s.split('-').all(|word| {
            !word.is_empty()
                && word
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

#[test]
fn codes_are_well_formed_unique_and_sorted() {
    let mut problems = Vec::new();
    for code in codes::ALL {
        if !is_code(code.code) {
            problems.push(format!(
                "{}: not of the form TR followed by 4 digits",
                code.code
            ));
        }
        if !is_kebab_case(code.name) {
            problems.push(format!(
                "{}: name `{}` is not kebab-case",
                code.code, code.name
            ));
        }
    }
    for pair in codes::ALL.windows(2) {
        if let [a, b] = pair {
            if a.code >= b.code {
                problems.push(format!(
                    "{} comes before {}: codes must be sorted and unique",
                    a.code, b.code
                ));
            }
        }
    }
    let mut names = BTreeSet::new();
    for code in codes::ALL {
        if !names.insert(code.name) {
            problems.push(format!("{}: name `{}` is used twice", code.code, code.name));
        }
    }
    assert!(
        problems.is_empty(),
        "registry problems:\n{}",
        problems.join("\n")
    );
}

#[test]
fn every_code_is_shown_by_a_ui_snapshot() {
    let snapshots = files_with_ext(&Path::new(ROOT).join("snapshots/ui"), ".snap");
    let mut shown = BTreeSet::new();
    for path in &snapshots {
        let text = read(path);
        // Only the rendered diagnostics count, not the expectations in the source.
        if let Some((_, diagnostics)) = text.split_once("----- DIAGNOSTICS") {
            shown.extend(code_mentions(diagnostics));
        }
    }
    let missing: Vec<&str> = codes::ALL
        .iter()
        .map(|c| c.code)
        .filter(|c| !shown.contains(*c))
        .collect();
    assert!(
        missing.is_empty(),
        "codes that no snapshot under snapshots/ui/ shows (add a case to tests/ui/): {missing:?}"
    );
}

#[test]
fn every_code_is_used_by_the_compiler() {
    let registry_path = Path::new(ROOT).join("compiler/diag/codes.rs");
    let registry = read(&registry_path);
    // Entries look like `    KDL_SYNTAX "TR0101" "kdl-syntax-error" Error`.
    let idents: Vec<(String, String)> = registry
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let ident = words.next()?;
            let code = words.next()?.strip_prefix('"')?.strip_suffix('"')?;
            let is_ident = ident
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
            (is_ident && is_code(code)).then(|| (ident.to_string(), code.to_string()))
        })
        .collect();
    let listed: BTreeSet<&str> = idents.iter().map(|(_, code)| code.as_str()).collect();
    let registered: BTreeSet<&str> = codes::ALL.iter().map(|c| c.code).collect();
    assert_eq!(
        listed, registered,
        "could not read every `IDENT \"TRxxxx\"` entry of compiler/diag/codes.rs"
    );

    let sources: Vec<String> = files_with_ext(&Path::new(ROOT).join("compiler"), ".rs")
        .iter()
        .filter(|p| **p != registry_path)
        .map(|p| read(p))
        .collect();
    let unused: Vec<String> = idents
        .iter()
        .filter(|(ident, _)| {
            let use_site = format!("codes::{ident}");
            !sources.iter().any(|text| {
                text.match_indices(&use_site).any(|(at, _)| {
                    let next = text.as_bytes().get(at + use_site.len()).copied();
                    !next.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
                })
            })
        })
        .map(|(ident, code)| format!("{code} (codes::{ident})"))
        .collect();
    assert!(
        unused.is_empty(),
        "codes never used as `codes::IDENT` in compiler/ outside codes.rs: {unused:?}"
    );
}

#[test]
fn no_unregistered_code_is_mentioned() {
    let registered: BTreeSet<&str> = codes::ALL.iter().map(|c| c.code).collect();
    let mut files = files_with_ext(&Path::new(ROOT).join("compiler"), ".rs");
    let docs = Path::new(ROOT).join("docs");
    if docs.is_dir() {
        files.extend(
            files_with_ext(&docs, ".md")
                .into_iter()
                .filter(|p| p.parent() == Some(docs.as_path())),
        );
    }
    let mut problems = Vec::new();
    for path in &files {
        let text = read(path);
        for (idx, line) in text.lines().enumerate() {
            for code in code_mentions(line) {
                if !registered.contains(code.as_str()) {
                    let shown = path.strip_prefix(ROOT).unwrap_or(path).display();
                    problems.push(format!("{shown}:{}: {code}", idx + 1));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "unregistered codes mentioned (register them in compiler/diag/codes.rs or fix the text):\n{}",
        problems.join("\n")
    );
}
