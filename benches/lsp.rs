//! The language server's response to one edit (`cargo bench --bench lsp`): from
//! `didChange` to the `publishDiagnostics` of the edited file, on the peers' job at
//! 1,000 services written by `tests/gen-peers-project` (`infra.kdl`, 450 bytes, and
//! `svc-000.kdl`, 1,000 services in 466 KB). The server runs in-process over
//! `lsp_server`'s memory connection, after its first analysis.
//!
//! Each iteration makes one edit that changes the file's diagnostics (misspell a
//! node name, then restore it), so every edit is answered by one publication.
//! Figures go to `docs/performance.md`.

#[path = "../tests/common/lsp_client.rs"]
mod lsp_client;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use lsp_client::{file_uri, Client};

const SERVICES: usize = 1000;

/// Times `iters` edits of `line` of `uri`: `from` becomes `to`, then back.
fn edits(client: &mut Client, uri: &str, line: u32, from: &str, to: &str, iters: u64) -> Duration {
    let mut total = Duration::ZERO;
    for i in 0..iters {
        let (old, new) = if i % 2 == 0 { (from, to) } else { (to, from) };
        let len = u32::try_from(old.len()).expect("short");
        let version = i32::try_from(i + 2).unwrap_or(i32::MAX);
        let started = Instant::now();
        client.change(uri, version, [[line, 4], [line, 4 + len]], new);
        let diags = client.next_diagnostics(uri);
        total += started.elapsed();
        assert_eq!(diags.is_empty(), i % 2 == 1, "edit {i} of {uri}: {diags:?}");
    }
    // Leave the file as it was.
    if iters % 2 == 1 {
        let len = u32::try_from(to.len()).expect("short");
        client.change(uri, 0, [[line, 4], [line, 4 + len]], from);
        client.next_diagnostics(uri);
    }
    total
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let status = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/gen-peers-project"))
        .arg(SERVICES.to_string())
        .arg(root)
        .status()
        .expect("run tests/gen-peers-project");
    assert!(status.success());
    let mut client = Client::start(root);
    for name in ["infra.kdl", "svc-000.kdl"] {
        let path = root.join(name);
        let text = std::fs::read_to_string(&path).expect("generated file");
        client.open(&file_uri(&path), &text);
    }
    // The first analysis, and a check that the project is clean before timing.
    let _ = client.request(
        "textDocument/formatting",
        serde_json::json!({
            "textDocument": {"uri": file_uri(&root.join("infra.kdl"))},
            "options": {"tabSize": 4, "insertSpaces": true},
        }),
    );
    assert!(
        client.diagnostics.values().all(Vec::is_empty),
        "{:?}",
        client.diagnostics
    );

    let infra = file_uri(&root.join("infra.kdl"));
    let services = file_uri(&root.join("svc-000.kdl"));
    let mut group = c.benchmark_group("lsp-1000");
    group.sample_size(10);
    // `    switch "External"` (line 1) in the 450-byte file.
    group.bench_function("edit-small-file", |b| {
        b.iter_custom(|iters| edits(&mut client, &infra, 1, "switch", "swtich", iters))
    });
    // `    image "registry.local/svc-0:1.0.0"` (line 1) in the 1,000-service file.
    group.bench_function("edit-1000-service-file", |b| {
        b.iter_custom(|iters| edits(&mut client, &services, 1, "image", "imag", iters))
    });
    group.finish();
    client.shutdown().expect("clean shutdown");
}

criterion_group!(benches, bench);
criterion_main!(benches);
