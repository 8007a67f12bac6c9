//! Helpers shared by the integration tests: the example projects and the external
//! validators. Each test crate uses only some of them.
#![allow(dead_code)]

use std::path::PathBuf;

pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The folders of `examples/`, sorted.
pub fn example_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(format!("{ROOT}/examples"))
        .expect("examples folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// The names of the example projects, sorted.
pub fn example_names() -> Vec<String> {
    example_dirs()
        .iter()
        .map(|d| d.file_name().expect("name").to_string_lossy().into_owned())
        .collect()
}

/// Finds a validator executable: `target/venv/bin/NAME` (where `tests/run` installs
/// Python tools), then `PATH`, then `/usr/sbin` and `/sbin` (haproxy, keepalived).
pub fn find_tool(name: &str) -> Option<PathBuf> {
    let venv = PathBuf::from(format!("{ROOT}/target/venv/bin/{name}"));
    if venv.is_file() {
        return Some(venv);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|p| p.join(name))
        .find(|p| p.is_file())
}

/// [`find_tool`], or, when it is missing: a failure under `CI=true`, otherwise a loud
/// note that the check is skipped.
pub fn require_tool(name: &str) -> Option<PathBuf> {
    let found = find_tool(name);
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{name} is not installed; tests/run installs it (CI=true forbids skipping)"
        );
        eprintln!("SKIPPED: {name} is not installed; run tests/run to install it");
    }
    found
}

/// Fails the test, listing code and message of each error, when `compilation` has
/// errors; `what` names the project.
pub fn assert_no_errors(compilation: &trellis::Compilation, what: &str) {
    let errors: Vec<String> = compilation
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| format!("{} {}", d.code.code, d.message))
        .collect();
    assert!(errors.is_empty(), "{what}: {errors:#?}");
}

/// Writes the peers' job for `services` services into `dir` with
/// `tests/gen-peers-project` (the generator the benchmarks and docs use).
pub fn gen_peers_project(services: usize, dir: &std::path::Path) {
    let out = std::process::Command::new("python3")
        .arg(format!("{ROOT}/tests/gen-peers-project"))
        .arg(services.to_string())
        .arg(dir)
        .output()
        .expect("python3 tests/gen-peers-project");
    assert!(
        out.status.success(),
        "tests/gen-peers-project: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The same files, added in reverse order (as another file system might list them).
pub fn reversed(sources: &trellis::source::Sources) -> trellis::source::Sources {
    use trellis::source::{SourceKind, Sources};
    let mut files: Vec<_> = sources.iter().map(|(_, f)| f.clone()).collect();
    files.reverse();
    let mut out = Sources::new();
    for f in files {
        match f.kind {
            SourceKind::Kdl => out.add(f.path.clone(), f.text.clone()),
            SourceKind::Lock => out.add_lock(f.path.clone(), f.text.clone()),
        };
    }
    out
}
