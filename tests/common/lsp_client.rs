//! A minimal in-process LSP client for tests and benchmarks: runs
//! `trellis::lsp::serve` on a thread over `lsp_server`'s in-memory connection and
//! exchanges raw JSON messages with it. Every wait is bounded.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::Path;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use lsp_server::{Connection, Message, Notification, Request, RequestId, Response};
use serde_json::{json, Value};

pub const WAIT: Duration = Duration::from_secs(30);

pub struct Client {
    conn: Connection,
    server: Option<JoinHandle<Result<bool, String>>>,
    next_id: i32,
    /// The last diagnostics published for each URI.
    pub diagnostics: HashMap<String, Vec<Value>>,
    /// How many publishDiagnostics notifications arrived, per URI.
    pub published: HashMap<String, usize>,
}

pub fn file_uri(path: &Path) -> String {
    let mut out = String::from("file://");
    for b in path.to_string_lossy().bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Client {
    /// Starts a server on `root` and completes the initialize handshake.
    pub fn start(root: &Path) -> Client {
        Client::start_with(root, &[])
    }

    /// [`Client::start`], offering these position encodings (`utf-8`, `utf-16`).
    pub fn start_with(root: &Path, encodings: &[&str]) -> Client {
        let (server_conn, conn) = Connection::memory();
        let server = std::thread::Builder::new()
            .stack_size(64 * 1024 * 1024)
            .spawn(move || trellis::lsp::serve(&server_conn))
            .expect("server thread");
        let mut client = Client {
            conn,
            server: Some(server),
            next_id: 0,
            diagnostics: HashMap::new(),
            published: HashMap::new(),
        };
        let root_uri = file_uri(root);
        let init = client.request(
            "initialize",
            json!({
                "processId": null,
                "rootUri": root_uri,
                "capabilities": if encodings.is_empty() {
                    json!({})
                } else {
                    json!({"general": {"positionEncodings": encodings}})
                },
                "workspaceFolders": [{"uri": root_uri, "name": "root"}],
            }),
        );
        assert!(init.response_result.is_ok(), "initialize failed: {init:?}");
        client.notify("initialized", json!({}));
        client
    }

    pub fn notify(&self, method: &str, params: Value) {
        self.conn
            .sender
            .send(Notification::new(method.to_string(), params).into())
            .expect("server gone");
    }

    /// Sends a request and waits for its response, recording what comes meanwhile.
    pub fn request(&mut self, method: &str, params: Value) -> Response {
        self.next_id += 1;
        let id = RequestId::from(self.next_id);
        self.conn
            .sender
            .send(Request::new(id.clone(), method.to_string(), params).into())
            .expect("server gone");
        let deadline = Instant::now() + WAIT;
        loop {
            match self.recv(deadline) {
                Message::Response(r) if r.id == id => return r,
                _ => {}
            }
        }
    }

    fn recv(&mut self, deadline: Instant) -> Message {
        let left = deadline.saturating_duration_since(Instant::now());
        let msg = self
            .conn
            .receiver
            .recv_timeout(left)
            .expect("the server did not answer in time");
        if let Message::Notification(n) = &msg {
            if n.method == "textDocument/publishDiagnostics" {
                let uri = n.params["uri"].as_str().unwrap_or("").to_string();
                let diags = n.params["diagnostics"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                *self.published.entry(uri.clone()).or_default() += 1;
                self.diagnostics.insert(uri, diags);
            }
        }
        msg
    }

    /// Waits for the next publishDiagnostics of `uri` and returns its diagnostics.
    pub fn next_diagnostics(&mut self, uri: &str) -> Vec<Value> {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Message::Notification(n) = self.recv(deadline) {
                if n.method == "textDocument/publishDiagnostics" && n.params["uri"] == uri {
                    return self.diagnostics.get(uri).cloned().unwrap_or_default();
                }
            }
        }
    }

    pub fn open(&self, uri: &str, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "trellis", "version": 1, "text": text}}),
        );
    }

    /// An incremental change of `range` (`[[l, c], [l, c]]`) to `text`.
    pub fn change(&self, uri: &str, version: i32, range: [[u32; 2]; 2], text: &str) {
        self.notify(
            "textDocument/didChange",
            json!({
                "textDocument": {"uri": uri, "version": version},
                "contentChanges": [{
                    "range": {
                        "start": {"line": range[0][0], "character": range[0][1]},
                        "end": {"line": range[1][0], "character": range[1][1]},
                    },
                    "text": text,
                }],
            }),
        );
    }

    /// Waits for the server loop to end and returns what it returned.
    pub fn join(mut self) -> Result<bool, String> {
        let server = self.server.take().expect("server thread");
        server.join().expect("server thread panicked")
    }

    /// `shutdown` then `exit`; returns what the server loop returned.
    pub fn shutdown(mut self) -> Result<bool, String> {
        let r = self.request("shutdown", Value::Null);
        assert!(r.response_result.is_ok(), "shutdown failed: {r:?}");
        self.notify("exit", Value::Null);
        let server = self.server.take().expect("server thread");
        server.join().expect("server thread panicked")
    }
}
