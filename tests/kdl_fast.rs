//! The fast KDL path (`trellis::parse::fast`) against the `kdl` crate: on every text
//! it accepts, the `kdl` crate must produce an equal document (names, type
//! annotations, entries, values, children and every span), both as `kdl`'s own type
//! and as the tree lowering reads (`trellis::parse::tree`); what the `kdl` crate
//! rejects, it must not accept. Checked on the KDL specification's test cases (the
//! copy shipped with the `kdl` crate), on every example, on generated projects, and
//! on seeded random mutations of all of them. It must also take the fast path for the
//! projects trellis users write, or it is no faster.

use std::path::PathBuf;

use kdl::KdlDocument;
use trellis::parse::fast;
use trellis::parse::tree::Doc;

mod common;

#[path = "common/mutate.rs"]
mod mutate;

use common::{example_dirs, ROOT};
use mutate::{mutate, Rng};

/// Checks one text; returns whether the fast path took it.
fn check(what: &str, text: &str) -> bool {
    let slow = KdlDocument::parse_v2(text);
    match (fast::parse(text), slow) {
        (None, _) => false,
        (Some(_), Err(e)) => {
            panic!("{what}: the fast path accepts what kdl rejects ({e:?}):\n{text}")
        }
        (Some(f), Ok(s)) => {
            if let Err(diff) = fast::same_document(&f, &s) {
                panic!("{what}: fast and kdl differ: {diff}\n{text}");
            }
            // The tree lowering reads, as the fast path builds it, is the kdl
            // crate's document seen as that tree; at an offset, moved by it.
            let tree = Doc::from_kdl(&s);
            assert_eq!(
                fast::parse_tree(text, 0).as_ref(),
                Some(&tree),
                "{what}:\n{text}"
            );
            let moved = fast::parse_tree(text, 5).expect("the fast path took it");
            assert_eq!(moved.at.0, tree.at.0 + 5, "{what}");
            if let (Some(a), Some(b)) = (moved.nodes.last(), tree.nodes.last()) {
                assert_eq!(
                    (a.at.0, a.name.at.0),
                    (b.at.0 + 5, b.name.at.0 + 5),
                    "{what}"
                );
            }
            true
        }
    }
}

/// The specification's test inputs, from the `kdl` crate's sources in cargo's
/// registry (the crate is a dependency, so it is always there).
fn spec_cases() -> Vec<PathBuf> {
    let lock = std::fs::read_to_string(format!("{ROOT}/Cargo.lock")).expect("Cargo.lock");
    let version = lock
        .split("[[package]]")
        .find(|p| p.contains("name = \"kdl\"\n"))
        .and_then(|p| p.lines().find(|l| l.starts_with("version = ")))
        .map(|l| {
            l.trim_start_matches("version = ")
                .trim_matches('"')
                .to_string()
        })
        .expect("kdl in Cargo.lock");
    let home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").expect("HOME")).join(".cargo"));
    let mut cases = Vec::new();
    if let Ok(registries) = std::fs::read_dir(home.join("registry/src")) {
        for registry in registries.flatten() {
            let dir = registry
                .path()
                .join(format!("kdl-{version}/tests/test_cases/input"));
            if let Ok(entries) = std::fs::read_dir(&dir) {
                cases.extend(entries.flatten().map(|e| e.path()));
                break;
            }
        }
    }
    cases.sort();
    cases
}

#[test]
fn the_specification_test_cases_agree() {
    let cases = spec_cases();
    if cases.is_empty() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "the kdl crate's test cases are not in cargo's registry"
        );
        eprintln!("SKIPPED: the kdl crate's test cases are not in cargo's registry");
        return;
    }
    let mut fast_path = 0;
    for case in &cases {
        let Ok(text) = std::fs::read_to_string(case) else {
            continue;
        };
        if check(&case.display().to_string(), &text) {
            fast_path += 1;
        }
    }
    eprintln!(
        "{fast_path} of {} specification cases took the fast path",
        cases.len()
    );
    assert!(cases.len() > 300, "{} cases", cases.len());
    assert!(fast_path > 50, "only {fast_path} cases took the fast path");
}

fn example_texts() -> Vec<(String, String)> {
    let mut texts = Vec::new();
    for dir in example_dirs() {
        for entry in std::fs::read_dir(&dir).expect("example").flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "kdl" || e == "lock") {
                let text = std::fs::read_to_string(&path).expect("read");
                texts.push((path.display().to_string(), text));
            }
        }
    }
    for path in [
        "stdlib/presets.kdl",
        "stdlib/akshci.kdl",
        "stdlib/akshci-cmdlets.kdl",
    ] {
        let text = std::fs::read_to_string(format!("{ROOT}/{path}")).expect("stdlib");
        texts.push((path.to_string(), text));
    }
    texts.sort();
    texts
}

#[test]
fn every_example_takes_the_fast_path_and_agrees() {
    for (what, text) in example_texts() {
        assert!(check(&what, &text), "{what} does not take the fast path");
        // The same with Windows line endings.
        let crlf = text.replace('\n', "\r\n");
        assert!(
            check(&format!("{what} (CRLF)"), &crlf),
            "{what} (CRLF) does not take the fast path"
        );
    }
}

#[test]
fn the_generated_peers_project_takes_the_fast_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    common::gen_peers_project(300, dir.path());
    for entry in std::fs::read_dir(dir.path()).expect("dir").flatten() {
        let text = std::fs::read_to_string(entry.path()).expect("read");
        assert!(check(&entry.path().display().to_string(), &text));
    }
}

#[test]
fn random_mutations_agree() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let seeds: Vec<String> = example_texts().into_iter().map(|(_, t)| t).collect();
    let (mut taken, mut total) = (0, 0);
    for round in 0..4_000 {
        let mut text: Vec<char> = seeds[rng.below(seeds.len())].chars().collect();
        // Work on a window of whole lines, so the texts stay small and mostly valid.
        let mut start = rng.below(text.len().max(1));
        while start > 0 && text[start - 1] != '\n' {
            start -= 1;
        }
        let mut end = (start + 1 + rng.below(400)).min(text.len());
        while end < text.len() && text[end - 1] != '\n' {
            end += 1;
        }
        let mut window: Vec<char> = text.drain(start..end).collect();
        let edits = 1 + rng.below(4);
        mutate(&mut rng, &mut window, edits);
        let text: String = window.into_iter().collect();
        total += 1;
        if check(&format!("mutation {round}"), &text) {
            taken += 1;
        }
    }
    eprintln!("{taken} of {total} mutations took the fast path");
    assert!(taken > 100, "only {taken} mutations took the fast path");
}
