//! The language server never crashes: thousands of random edits (half-typed nodes,
//! unbalanced braces and quotes, multi-byte text, positions inside surrogate pairs
//! and past the ends of lines and files), with every request the server offers sent
//! at random positions in between. Each request must be answered, never with
//! `InternalError` (the last-resort catch of a panic); at the end the original text
//! is restored and the diagnostics are those of the start again.

mod common;
#[path = "common/lsp_client.rs"]
mod lsp_client;

use std::time::{Duration, Instant};

use common::ROOT;
use lsp_client::{file_uri, Client};
use serde_json::{json, Value};

/// Per position encoding.
const EDITS: usize = 2000;
/// Stop early (and still check) if the machine is slow; the count is reported.
const TIME_LIMIT: Duration = Duration::from_secs(90);

/// A small deterministic generator (xorshift64*), so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        let i = usize::try_from(self.below(items.len() as u64)).unwrap_or(0);
        items.get(i).copied().unwrap_or("")
    }
}

const FRAGMENTS: &[&str] = &[
    "",
    "{",
    "}",
    "\"",
    "=",
    ";",
    "\n",
    "\r\n",
    "\r",
    " ",
    "\\",
    "/*",
    "*/",
    "//",
    "/-",
    "#",
    "(cidr)",
    "é",
    "😀",
    "\u{FEFF}",
    "\t",
    "network",
    "cluster \"",
    "service \"web\" ",
    "workload \"api\" cluster=\"retail\" namespace=\"store\" {\n",
    "port 80 target=\"",
    "node-pool \"x\" count=",
    "policy \"p\" cluster=",
    "preset=\"default-",
    "allow ingress {",
    "from { pods app=\"web\" }",
    "namespace=\"sto",
    "cluster=\"retail\"",
    "#true",
    "#\"raw\"#",
    "\"unterminated",
    "10.0.0.",
    "type \"LoadBalancer\"",
    "select app=",
    "image \"nginx\"",
    "}\n}\n}",
    "{{{{",
    "r\"v1\"",
    "0x1F",
    "1_000",
    "-",
    "..",
    "∞",
    "\u{0}",
];

const REQUESTS: &[&str] = &[
    "textDocument/hover",
    "textDocument/definition",
    "textDocument/references",
    "textDocument/completion",
    "textDocument/documentSymbol",
    "textDocument/codeAction",
    "textDocument/formatting",
];

fn random_position(rng: &mut Rng, lines: u64) -> Value {
    json!({"line": rng.below(lines + 3), "character": rng.below(120)})
}

fn request_params(method: &str, uri: &str, pos: &Value) -> Value {
    let doc = json!({"uri": uri});
    match method {
        "textDocument/documentSymbol" => json!({"textDocument": doc}),
        "textDocument/formatting" => {
            json!({"textDocument": doc, "options": {"tabSize": 4, "insertSpaces": true}})
        }
        "textDocument/codeAction" => json!({
            "textDocument": doc,
            "range": {"start": pos, "end": pos},
            "context": {"diagnostics": []},
        }),
        "textDocument/references" => json!({
            "textDocument": doc, "position": pos, "context": {"includeDeclaration": true},
        }),
        _ => json!({"textDocument": doc, "position": pos}),
    }
}

#[test]
fn thousands_of_random_edits_never_crash_the_server() {
    // UTF-16 positions (the default), then UTF-8 ones, where a random character
    // offset often falls inside a multi-byte character.
    random_edits(&[], 0x7E11_1500_D00D_F00D);
    random_edits(&["utf-8"], 0x5EED_0F0D_DB17_E5A1);
}

fn random_edits(encodings: &[&str], seed: u64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let mut files = Vec::new();
    for entry in std::fs::read_dir(format!("{ROOT}/examples/multi-tier")).expect("example") {
        let path = entry.expect("entry").path();
        let target = root.join(path.file_name().expect("name"));
        std::fs::copy(&path, &target).expect("copy");
        if target.extension().is_some_and(|e| e == "kdl") {
            files.push(target);
        }
    }
    files.sort();
    let mut client = Client::start_with(root, encodings);
    let mut texts = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).expect("read");
        client.open(&file_uri(path), &text);
        texts.push(text);
    }
    // The starting diagnostics (the example is clean: every list empty or absent).
    let _ = client.request(
        "textDocument/documentSymbol",
        json!({"textDocument": {"uri": file_uri(&files[0])}}),
    );
    let before: Vec<Vec<Value>> = files
        .iter()
        .map(|p| {
            client
                .diagnostics
                .get(&file_uri(p))
                .cloned()
                .unwrap_or_default()
        })
        .collect();

    let mut rng = Rng(seed);
    let started = Instant::now();
    let mut done = 0;
    let mut answered = 0;
    for i in 0..EDITS {
        if started.elapsed() > TIME_LIMIT {
            break;
        }
        let f = usize::try_from(rng.below(files.len() as u64)).unwrap_or(0);
        let uri = file_uri(&files[f]);
        let lines = 40;
        let start = random_position(&mut rng, lines);
        let end = if rng.below(3) == 0 {
            random_position(&mut rng, lines)
        } else {
            start.clone()
        };
        let text: String = (0..rng.below(3) + 1).map(|_| rng.pick(FRAGMENTS)).collect();
        client.notify(
            "textDocument/didChange",
            json!({
                "textDocument": {"uri": uri, "version": i + 2},
                "contentChanges": [{"range": {"start": start, "end": end}, "text": text}],
            }),
        );
        if rng.below(4) == 0 {
            let method = rng.pick(REQUESTS);
            let pos = random_position(&mut rng, lines);
            let response = client.request(method, request_params(method, &uri, &pos));
            if let Err(e) = &response.response_result {
                assert_ne!(
                    e.code,
                    lsp_server::ErrorCode::InternalError as i32,
                    "{method} at {pos} after {i} edits: {}",
                    e.message
                );
            }
            answered += 1;
        }
        done += 1;
    }
    assert!(done >= 500, "only {done} edits in {TIME_LIMIT:?}");
    // The edits broke the files, and the server said so.
    let broken = files.iter().any(|p| {
        client
            .diagnostics
            .get(&file_uri(p))
            .is_some_and(|d| !d.is_empty())
    });
    assert!(broken, "no diagnostics after {done} random edits");

    // Restore every file in full: the diagnostics are those of the start.
    for (path, text) in files.iter().zip(&texts) {
        client.notify(
            "textDocument/didChange",
            json!({
                "textDocument": {"uri": file_uri(path), "version": 100_000},
                "contentChanges": [{"text": text}],
            }),
        );
    }
    let _ = client.request(
        "textDocument/documentSymbol",
        json!({"textDocument": {"uri": file_uri(&files[0])}}),
    );
    let after: Vec<Vec<Value>> = files
        .iter()
        .map(|p| {
            client
                .diagnostics
                .get(&file_uri(p))
                .cloned()
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(before, after);
    eprintln!(
        "{encodings:?}: {done} edits, {answered} requests answered in {:?}",
        started.elapsed()
    );
    assert_eq!(client.shutdown(), Ok(true));
}

#[test]
fn shutdown_and_exit_follow_the_protocol() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("a.kdl"), "network\n").expect("write");
    let mut client = Client::start(dir.path());
    let unknown = client.request("trellis/unknown", json!({}));
    assert_eq!(
        unknown.response_result.map_err(|e| e.code),
        Err(lsp_server::ErrorCode::MethodNotFound as i32)
    );
    let bad = client.request("textDocument/formatting", json!({"textDocument": 3}));
    assert_eq!(
        bad.response_result.map_err(|e| e.code),
        Err(lsp_server::ErrorCode::InvalidParams as i32)
    );
    assert!(client
        .request("shutdown", Value::Null)
        .response_result
        .is_ok());
    let after = client.request("textDocument/documentSymbol", json!({}));
    assert_eq!(
        after.response_result.map_err(|e| e.code),
        Err(lsp_server::ErrorCode::InvalidRequest as i32)
    );
    client.notify("exit", Value::Null);
    assert_eq!(client.join(), Ok(true));

    // `exit` without `shutdown`: the loop reports it (the CLI exits with 1).
    let client = Client::start(dir.path());
    client.notify("exit", Value::Null);
    assert_eq!(client.join(), Ok(false));
}

/// A diagnostic as compared: code, message, start and end (line, UTF-16 character).
type Seen = (String, String, (u64, u64), (u64, u64));

/// The UTF-16 position of a byte offset, computed here independently of the server.
fn utf16_position(text: &str, offset: usize) -> (u64, u64) {
    let before = &text[..offset];
    let line = before.matches('\n').count() as u64;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let character = before[line_start..].encode_utf16().count() as u64;
    (line, character)
}

/// A large file is parsed in chunks: after every random edit the server's
/// diagnostics are those `trellis::compile` gives for the same texts.
#[test]
fn large_files_parsed_in_chunks_give_the_diagnostics_of_check() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    common::gen_peers_project(150, root);
    let names = ["infra.kdl", "svc-000.kdl"];
    let mut texts: Vec<String> = names
        .iter()
        .map(|n| std::fs::read_to_string(root.join(n)).expect("generated"))
        .collect();
    assert!(
        texts[1].len() >= trellis::parse::chunks::MIN_FILE,
        "the file is cut"
    );
    let uris: Vec<String> = names.iter().map(|n| file_uri(&root.join(n))).collect();
    let mut client = Client::start(root);
    client.open(&uris[1], &texts[1]);

    let mut rng = Rng(0xC4A2_1D5E_0BAD_CAFE);
    let inserts: &[&str] = &[
        "\n",
        "}",
        "{",
        "\"",
        "x",
        "é",
        "\nservice \"extra\" cluster=\"bench0\" namespace=\"apps\" {\n    type \"ClusterIP\"\n}\n",
        "\nworkload \"svc-1\" cluster=\"bench0\" namespace=\"apps\" { image \"a:1\"; }\n",
        " replicas=3",
        "/*",
        "*/",
        "\\",
    ];
    let original = texts[1].clone();
    let mut parsed_rounds = 0;
    for round in 0..60 {
        // One edit of the original at a char boundary, sent as the full text: most
        // chunks are reused, the edited one is parsed again (or, when the edit
        // breaks the syntax, the whole file).
        texts[1] = original.clone();
        let text = &mut texts[1];
        let mut at = usize::try_from(rng.below(text.len() as u64)).unwrap_or(0);
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        if rng.below(2) == 0 {
            let mut end = (at + usize::try_from(rng.below(40)).unwrap_or(0)).min(text.len());
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.replace_range(at..end, "");
        } else {
            text.insert_str(at, rng.pick(inserts));
        }
        client.notify(
            "textDocument/didChange",
            json!({
                "textDocument": {"uri": uris[1], "version": round + 2},
                "contentChanges": [{"text": texts[1]}],
            }),
        );
        let _ = client.request(
            "textDocument/documentSymbol",
            json!({"textDocument": {"uri": uris[1]}}),
        );

        let mut sources = trellis::source::Sources::new();
        for (n, t) in names.iter().zip(&texts) {
            sources.add(*n, t.clone());
        }
        let oracle = trellis::compile(
            &sources,
            trellis::diag::Diagnostics::new(),
            &trellis::Options::default(),
        );
        if !oracle.diagnostics.iter().any(|d| d.code.code == "TR0101") {
            parsed_rounds += 1;
        }
        for (k, uri) in uris.iter().enumerate() {
            let want: Vec<Seen> = oracle
                .diagnostics
                .iter()
                .filter(|d| d.span.file.0 as usize == k)
                .map(|d| {
                    (
                        d.code.code.to_string(),
                        d.message.clone(),
                        utf16_position(&texts[k], d.span.start as usize),
                        utf16_position(&texts[k], d.span.end as usize),
                    )
                })
                .collect();
            let got: Vec<Seen> = client
                .diagnostics
                .get(uri)
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|d| {
                    let p = |w: &str| {
                        (
                            d["range"][w]["line"].as_u64().unwrap_or(0),
                            d["range"][w]["character"].as_u64().unwrap_or(0),
                        )
                    };
                    (
                        d["code"].as_str().unwrap_or("").to_string(),
                        d["message"].as_str().unwrap_or("").to_string(),
                        p("start"),
                        p("end"),
                    )
                })
                .collect();
            assert_eq!(got, want, "round {round}, {}", names[k]);
        }
    }
    // Enough edits kept the file valid for the chunks to be used.
    assert!(
        parsed_rounds >= 15,
        "only {parsed_rounds} of 60 edits parsed"
    );
    assert_eq!(client.shutdown(), Ok(true));
}

/// A client that allows it is asked to watch the project's files.
#[test]
fn registers_file_watchers_when_the_client_allows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server_conn, conn) = lsp_server::Connection::memory();
    let server = std::thread::spawn(move || trellis::lsp::serve(&server_conn));
    let root = file_uri(dir.path());
    let init = lsp_server::Request::new(
        lsp_server::RequestId::from(1),
        "initialize".to_string(),
        json!({
            "processId": null,
            "rootUri": root,
            "capabilities": {"workspace": {"didChangeWatchedFiles": {"dynamicRegistration": true}}},
        }),
    );
    conn.sender.send(init.into()).expect("send");
    conn.sender
        .send(lsp_server::Notification::new("initialized".to_string(), json!({})).into())
        .expect("send");
    let mut registered = None;
    let deadline = Instant::now() + Duration::from_secs(30);
    while registered.is_none() {
        let left = deadline.saturating_duration_since(Instant::now());
        match conn.receiver.recv_timeout(left).expect("an answer in time") {
            lsp_server::Message::Request(r) if r.method == "client/registerCapability" => {
                registered = Some(r)
            }
            _ => {}
        }
    }
    let r = registered.expect("registration");
    let watchers = &r.params["registrations"][0]["registerOptions"]["watchers"];
    assert_eq!(
        r.params["registrations"][0]["method"],
        "workspace/didChangeWatchedFiles"
    );
    assert_eq!(watchers[0]["globPattern"], "**/*.kdl");
    assert_eq!(watchers[1]["globPattern"], "**/trellis.lock");
    conn.sender
        .send(lsp_server::Response::new_ok(r.id, Value::Null).into())
        .expect("send");
    conn.sender
        .send(lsp_server::Notification::new("exit".to_string(), Value::Null).into())
        .expect("send");
    assert_eq!(server.join().expect("server thread"), Ok(false));
}
