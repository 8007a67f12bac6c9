//! Large files are parsed a chunk of top-level nodes at a time
//! (`trellis::parse::for_each_tree`): `compile` lowers each chunk as it is parsed,
//! and `trellis.lock` is read the same way, so no large document is ever held. Here
//! that path is held to parsing the whole file, on a generated project and a lock
//! of the size where chunking starts, and on seeded random edits of both (which
//! make syntax errors, and so the fall-back to the whole file):
//!
//! - whenever every chunk parses, the chunks' nodes are the whole document's nodes,
//!   span for span;
//! - `compile` (chunked) and `compile_parsed` (whole files) give the same model and
//!   the same diagnostics.

use kdl::KdlDocument;
use trellis::diag::Diagnostics;
use trellis::parse::{self, chunks, fast};
use trellis::source::Sources;
use trellis::{compile, compile_parsed, Compilation, Options};

mod common;
#[path = "common/mutate.rs"]
mod mutate;

use mutate::{mutate, Rng};

/// The generated peers project of `services` services: its files, and the lock a
/// build writes for it.
fn project(services: usize) -> (Vec<(String, String)>, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    common::gen_peers_project(services, dir.path());
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir.path())
        .expect("dir")
        .flatten()
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(e.path()).expect("read"))
        })
        .filter(|(name, _)| name.ends_with(".kdl"))
        .collect();
    files.sort();
    let mut sources = Sources::new();
    for (name, text) in &files {
        sources.add(name.clone(), text.clone());
    }
    let built = compile(&sources, Diagnostics::new(), &Options::default());
    common::assert_no_errors(&built, "generated project");
    let lock = trellis::lock::render(built.allocation.as_ref().expect("allocated"));
    (files, lock)
}

/// Whether the chunked parse agrees with the whole parse of `text`; returns whether
/// every chunk parsed.
fn chunks_agree(what: &str, text: &str) -> bool {
    let mut nodes = Vec::new();
    let parsed = parse::for_each_tree(text, |doc| {
        nodes.extend(doc.to_kdl().nodes().iter().cloned())
    });
    if !parsed {
        return false;
    }
    let whole = match parse::parse_kdl(text) {
        Ok(doc) => doc,
        Err(e) => panic!("{what}: every chunk parses but the whole text does not: {e:?}"),
    };
    let mut joined = KdlDocument::new();
    joined.set_span(whole.span());
    joined.nodes_mut().extend(nodes);
    if let Err(diff) = fast::same_document(&joined, &whole) {
        panic!("{what}: chunks and whole differ: {diff}");
    }
    true
}

/// Runs `f` on a thread with the stack the `trellis` binary gives the compiler: in a
/// debug build the `kdl` crate recurses once per character of an unclosed `/*`
/// comment, more than a test thread's 2 MiB hold.
fn on_big_stack(f: impl FnOnce() + Send + 'static) {
    let worker = std::thread::Builder::new()
        .stack_size(64 * 1024 * 1024)
        .spawn(f)
        .expect("spawn");
    if let Err(panic) = worker.join() {
        std::panic::resume_unwind(panic);
    }
}

#[test]
fn chunks_are_the_whole_document_under_random_edits() {
    on_big_stack(chunks_under_random_edits);
}

fn chunks_under_random_edits() {
    let (files, lock) = project(300);
    let big: Vec<&str> = files
        .iter()
        .map(|(_, t)| t.as_str())
        .chain([lock.as_str()])
        .filter(|t| t.len() >= chunks::MIN_FILE)
        .collect();
    assert!(big.len() >= 2, "no text large enough to be cut");
    for text in &big {
        let cuts = chunks::cuts(text).expect("cut");
        assert!(cuts.len() > 4, "only {} chunks", cuts.len());
        assert!(chunks_agree("unedited", text));
    }
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let (mut whole_chunks, mut rounds) = (0, 0);
    for round in 0..300 {
        let mut text: Vec<char> = big[rng.below(big.len())].chars().collect();
        let edits = 1 + rng.below(3);
        mutate(&mut rng, &mut text, edits);
        let text: String = text.into_iter().collect();
        rounds += 1;
        if chunks_agree(&format!("round {round}"), &text) {
            whole_chunks += 1;
        }
    }
    eprintln!("{whole_chunks} of {rounds} edited texts parsed chunk by chunk");
    assert!(
        whole_chunks > 30,
        "only {whole_chunks} edited texts parsed in chunks"
    );
    assert!(whole_chunks < rounds, "no edit made a chunk fail");
}

fn summary(c: &Compilation) -> (String, Vec<String>) {
    let diags = c
        .diagnostics
        .iter()
        .map(|d| format!("{} {:?} {}", d.code.code, d.span, d.message))
        .collect();
    (format!("{:?}", c.model), diags)
}

#[test]
fn compile_by_chunks_equals_compile_of_whole_files_under_random_edits() {
    on_big_stack(compile_under_random_edits);
}

fn compile_under_random_edits() {
    let (files, _) = project(120);
    let (big_index, _) = files
        .iter()
        .enumerate()
        .find(|(_, (_, t))| t.len() >= chunks::MIN_FILE)
        .expect("a file large enough to be cut");
    let options = Options {
        skip_emit: true,
        ..Options::default()
    };
    let mut rng = Rng(0x0bad_5eed_1234_5678);
    for round in 0..40 {
        let mut sources = Sources::new();
        for (k, (name, text)) in files.iter().enumerate() {
            let text = if k == big_index && round > 0 {
                let mut chars: Vec<char> = text.chars().collect();
                let edits = 1 + rng.below(3);
                mutate(&mut rng, &mut chars, edits);
                chars.into_iter().collect()
            } else {
                text.clone()
            };
            sources.add(name.clone(), text);
        }
        let chunked = compile(&sources, Diagnostics::new(), &options);
        let mut diags = Diagnostics::new();
        let parsed = parse::parse_all(&sources, &[], &mut diags);
        let whole = compile_parsed(&sources, &parsed, diags, &options);
        assert_eq!(summary(&chunked), summary(&whole), "round {round}");
    }
}
