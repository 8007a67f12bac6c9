//! End-to-end tests of `trellis lsp`: the real binary over stdio, driven by an
//! independent LSP client (pytest-lsp, installed by `tests/run` in target/venv).
//! The Python tests are in `tests/lsp/`; this test runs them and fails with their
//! output when one fails.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{require_tool, ROOT};

/// The whole Python suite must finish within this; each of its waits is bounded too.
const LIMIT: Duration = Duration::from_secs(600);

#[test]
fn language_server_end_to_end() {
    let Some(pytest) = require_tool("pytest") else {
        return;
    };
    let log = tempfile::NamedTempFile::new().expect("log file");
    let mut child = Command::new(pytest)
        .args(["-q", "-p", "no:cacheprovider", "-x", "--tb=short"])
        .current_dir(format!("{ROOT}/tests/lsp"))
        .env("TRELLIS_BIN", env!("CARGO_BIN_EXE_trellis"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .stdout(log.reopen().expect("log"))
        .stderr(log.reopen().expect("log"))
        .spawn()
        .expect("run pytest");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for pytest") {
            break status;
        }
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "pytest ran longer than {LIMIT:?}:\n{}",
                std::fs::read_to_string(log.path()).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = std::fs::read_to_string(log.path()).unwrap_or_default();
    assert!(
        status.success(),
        "the LSP end-to-end tests failed:\n{output}"
    );
    eprintln!("{output}");
}
