//! `trellis lsp`: a language server over stdio.
//!
//! Built on `lsp-server` (the message loop rust-analyzer uses: a synchronous
//! connection with typed messages, no async runtime) and `lsp-types`. The server is
//! one loop on one thread: it reads a message, updates the workspace, and before it
//! answers a request or when no message is waiting, it analyses the project again
//! (`workspace.rs`, the compiler's own pipeline with a per-file parse cache) and
//! publishes the diagnostics that changed.
//!
//! Invariant: every request gets an answer. Bad parameters are `InvalidParams`, an
//! unknown method `MethodNotFound`, a request after `shutdown` `InvalidRequest`;
//! handlers clamp positions rather than fail. A panic in a handler (a bug) is caught
//! and answered as `InternalError`, so one bad request cannot end the session.

pub mod assist;
pub mod features;
pub mod nav;
pub mod position;
pub mod syntax;
pub mod uri;
pub mod workspace;

use std::collections::BTreeSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

use lsp_server::{Connection, ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::Notification as _;
use lsp_types::{
    notification, request::Request as _, InitializeParams, PositionEncodingKind,
    PublishDiagnosticsParams, ServerCapabilities, ServerInfo, TextDocumentContentChangeEvent,
    TextDocumentSyncCapability, TextDocumentSyncKind, TextDocumentSyncOptions,
    TextDocumentSyncSaveOptions, Uri,
};
use serde_json::Value;

use crate::diag::{Diagnostic, Severity};
use position::{Encoding, LineIndex};
use workspace::{Analysis, Workspace};

/// Runs the server on stdin/stdout until the client says `exit`. Returns whether the
/// session ended properly (`shutdown` before `exit`).
pub fn run_stdio() -> Result<bool, String> {
    let (connection, io_threads) = Connection::stdio();
    let clean = serve(&connection)?;
    drop(connection);
    io_threads.join().map_err(|e| e.to_string())?;
    Ok(clean)
}

/// Serves one session on `connection`: the initialize handshake, then messages until
/// `exit` or until the client goes away. Returns whether `shutdown` came first.
pub fn serve(connection: &Connection) -> Result<bool, String> {
    let (id, params) = connection.initialize_start().map_err(|e| e.to_string())?;
    let params: InitializeParams = match serde_json::from_value(params) {
        Ok(p) => p,
        Err(e) => {
            let _ = connection.sender.send(
                Response::new_err(
                    id,
                    ErrorCode::InvalidParams as i32,
                    format!("invalid initialize parameters: {e}"),
                )
                .into(),
            );
            return Err(format!("invalid initialize parameters: {e}"));
        }
    };
    let encoding = negotiate_encoding(&params);
    let root = root_of(&params);
    let result = serde_json::json!({
        "capabilities": capabilities(encoding),
        "serverInfo": ServerInfo {
            name: "trellis".to_string(),
            version: Some(env!("CARGO_PKG_VERSION").to_string()),
        },
    });
    connection
        .initialize_finish(id, result)
        .map_err(|e| e.to_string())?;
    if watches_files(&params) {
        // Hear about files created, changed or deleted outside the editor.
        let registration = lsp_types::RegistrationParams {
            registrations: vec![lsp_types::Registration {
                id: "trellis-watch".to_string(),
                method: notification::DidChangeWatchedFiles::METHOD.to_string(),
                register_options: serde_json::to_value(
                    lsp_types::DidChangeWatchedFilesRegistrationOptions {
                        watchers: ["**/*.kdl", "**/trellis.lock"]
                            .iter()
                            .map(|g| lsp_types::FileSystemWatcher {
                                glob_pattern: lsp_types::GlobPattern::String(g.to_string()),
                                kind: None,
                            })
                            .collect(),
                    },
                )
                .ok(),
            }],
        };
        let _ = connection.sender.send(
            Request::new(
                RequestId::from("trellis-watch".to_string()),
                lsp_types::request::RegisterCapability::METHOD.to_string(),
                registration,
            )
            .into(),
        );
    }
    let mut server = Server::new(connection, encoding, root);
    server.run()
}

/// Whether the client lets the server register file watchers.
fn watches_files(params: &InitializeParams) -> bool {
    params
        .capabilities
        .workspace
        .as_ref()
        .and_then(|w| w.did_change_watched_files.as_ref())
        .and_then(|d| d.dynamic_registration)
        == Some(true)
}

fn negotiate_encoding(params: &InitializeParams) -> Encoding {
    let offered = params
        .capabilities
        .general
        .as_ref()
        .and_then(|g| g.position_encodings.as_ref());
    match offered {
        Some(kinds) if kinds.contains(&PositionEncodingKind::UTF8) => Encoding::Utf8,
        _ => Encoding::Utf16,
    }
}

/// The workspace root: the first workspace folder, else the (deprecated) root URI.
#[allow(deprecated)]
fn root_of(params: &InitializeParams) -> Option<PathBuf> {
    params
        .workspace_folders
        .as_ref()
        .and_then(|f| f.first())
        .map(|f| &f.uri)
        .or(params.root_uri.as_ref())
        .and_then(uri::to_path)
}

fn capabilities(encoding: Encoding) -> ServerCapabilities {
    ServerCapabilities {
        position_encoding: Some(match encoding {
            Encoding::Utf8 => PositionEncodingKind::UTF8,
            Encoding::Utf16 => PositionEncodingKind::UTF16,
        }),
        text_document_sync: Some(TextDocumentSyncCapability::Options(
            TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(TextDocumentSyncKind::INCREMENTAL),
                save: Some(TextDocumentSyncSaveOptions::Supported(true)),
                ..Default::default()
            },
        )),
        ..features::capabilities()
    }
}

/// An answer to a request: a result, or an error code and message.
pub type Answer = Result<Value, (ErrorCode, String)>;

pub struct Server<'c> {
    connection: &'c Connection,
    pub encoding: Encoding,
    /// `None` until a root is known (no root given and no file opened yet).
    pub workspace: Option<Workspace>,
    pub analysis: Option<Analysis>,
    /// The text changed since the last analysis.
    dirty: bool,
    /// Project paths that have diagnostics published now.
    published: BTreeSet<String>,
    shut_down: bool,
    /// The last failure to read the project, as logged.
    load_error: Option<String>,
}

impl<'c> Server<'c> {
    pub fn new(
        connection: &'c Connection,
        encoding: Encoding,
        root: Option<PathBuf>,
    ) -> Server<'c> {
        Server {
            connection,
            encoding,
            workspace: root.map(Workspace::new),
            analysis: None,
            dirty: true,
            published: BTreeSet::new(),
            shut_down: false,
            load_error: None,
        }
    }

    /// The message loop. Returns whether `shutdown` came before `exit`.
    pub fn run(&mut self) -> Result<bool, String> {
        loop {
            // Analyse when nothing is waiting, so a burst of edits costs one analysis.
            if self.dirty && self.connection.receiver.is_empty() {
                self.refresh();
            }
            let Ok(msg) = self.connection.receiver.recv() else {
                return Ok(self.shut_down);
            };
            match msg {
                Message::Request(req) => self.on_request(req),
                Message::Notification(n) => {
                    if n.method == notification::Exit::METHOD {
                        return Ok(self.shut_down);
                    }
                    self.on_notification(n);
                }
                Message::Response(_) => {}
            }
        }
    }

    fn send(&self, msg: Message) {
        // The client going away ends the loop at the next `recv`.
        let _ = self.connection.sender.send(msg);
    }

    /// Analyses the project again if it changed, and publishes the diagnostics.
    pub fn refresh(&mut self) {
        if !self.dirty {
            return;
        }
        self.dirty = false;
        let Some(ws) = self.workspace.as_mut() else {
            return;
        };
        // The compiler does not panic on any input (tests/robustness.rs); should it
        // ever, the session goes on with the previous analysis and a fresh cache.
        let analysis = catch_unwind(AssertUnwindSafe(|| ws.analyze()));
        let load_error = ws.load_error.clone();
        match analysis {
            Ok(analysis) => {
                self.publish(&analysis);
                self.analysis = Some(analysis);
            }
            Err(_) => {
                ws.clear_cache();
                self.log(
                    "trellis: internal error while analysing the project; please report it with the input that caused it",
                );
            }
        }
        if load_error != self.load_error {
            if let Some(e) = &load_error {
                self.log(&format!("trellis: cannot read the project: {e}"));
            }
            self.load_error = load_error;
        }
    }

    /// A `window/logMessage` to the client.
    fn log(&self, message: &str) {
        let params = lsp_types::LogMessageParams {
            typ: lsp_types::MessageType::ERROR,
            message: message.to_string(),
        };
        self.send(Notification::new(notification::LogMessage::METHOD.to_string(), params).into());
    }

    fn publish(&mut self, analysis: &Analysis) {
        let Some(ws) = self.workspace.as_ref() else {
            return;
        };
        let mut by_file: std::collections::BTreeMap<String, Vec<lsp_types::Diagnostic>> =
            std::collections::BTreeMap::new();
        for d in &analysis.compilation.diagnostics {
            let Some(file) = analysis.sources.get(d.span.file) else {
                continue;
            };
            by_file
                .entry(file.path.clone())
                .or_default()
                .push(to_lsp_diagnostic(d, analysis, ws, self.encoding));
        }
        let stale: Vec<String> = self
            .published
            .iter()
            .filter(|p| !by_file.contains_key(*p))
            .cloned()
            .collect();
        for path in stale {
            by_file.insert(path, Vec::new());
        }
        let mut published = BTreeSet::new();
        for (path, diagnostics) in by_file {
            let Some(uri) = uri::from_path(&ws.full_path(&path)) else {
                continue;
            };
            if !diagnostics.is_empty() {
                published.insert(path);
            }
            let params = PublishDiagnosticsParams {
                uri,
                diagnostics,
                version: None,
            };
            self.send(
                Notification::new(notification::PublishDiagnostics::METHOD.to_string(), params)
                    .into(),
            );
        }
        self.published = published;
    }

    fn on_request(&mut self, req: Request) {
        let id = req.id.clone();
        if req.method == lsp_types::request::Shutdown::METHOD {
            self.shut_down = true;
            self.send(Response::new_ok(id, ()).into());
            return;
        }
        if self.shut_down {
            self.answer(
                id,
                Err((
                    ErrorCode::InvalidRequest,
                    "the server is shutting down".to_string(),
                )),
            );
            return;
        }
        self.refresh();
        let answer = catch_unwind(AssertUnwindSafe(|| features::handle(self, &req)))
            .unwrap_or_else(|_| {
                Err((
                    ErrorCode::InternalError,
                    format!("internal error while answering {}", req.method),
                ))
            });
        self.answer(id, answer);
    }

    fn answer(&self, id: RequestId, answer: Answer) {
        let response = match answer {
            Ok(value) => Response::new_ok(id, value),
            Err((code, message)) => Response::new_err(id, code as i32, message),
        };
        self.send(response.into());
    }

    fn on_notification(&mut self, n: Notification) {
        // A malformed notification is dropped: there is no one to answer.
        let _ = catch_unwind(AssertUnwindSafe(|| self.notification(n)));
    }

    fn notification(&mut self, n: Notification) {
        use lsp_types::notification::{
            DidChangeTextDocument, DidChangeWatchedFiles, DidCloseTextDocument,
            DidOpenTextDocument, DidSaveTextDocument,
        };
        match n.method.as_str() {
            DidOpenTextDocument::METHOD => {
                let Ok(p) =
                    serde_json::from_value::<lsp_types::DidOpenTextDocumentParams>(n.params)
                else {
                    return;
                };
                if let Some(path) = self.project_path(&p.text_document.uri) {
                    if let Some(ws) = self.workspace.as_mut() {
                        ws.set_overlay(path, p.text_document.text);
                        self.dirty = true;
                    }
                }
            }
            DidChangeTextDocument::METHOD => {
                let Ok(p) =
                    serde_json::from_value::<lsp_types::DidChangeTextDocumentParams>(n.params)
                else {
                    return;
                };
                let Some(path) = self.project_path(&p.text_document.uri) else {
                    return;
                };
                let encoding = self.encoding;
                let Some(text) = self.workspace.as_mut().and_then(|ws| ws.overlay_mut(&path))
                else {
                    return;
                };
                for change in p.content_changes {
                    apply_change(text, change, encoding);
                }
                self.dirty = true;
            }
            DidSaveTextDocument::METHOD => {
                let Ok(p) =
                    serde_json::from_value::<lsp_types::DidSaveTextDocumentParams>(n.params)
                else {
                    return;
                };
                if let (Some(path), Some(text)) = (self.project_path(&p.text_document.uri), p.text)
                {
                    if let Some(ws) = self.workspace.as_mut() {
                        ws.set_overlay(path, text);
                    }
                }
                // The file on disk changed: read the project again (the parse cache
                // keeps unchanged files from being parsed again).
                if let Some(ws) = self.workspace.as_mut() {
                    ws.reload_disk();
                }
                self.dirty = true;
            }
            DidCloseTextDocument::METHOD => {
                let Ok(p) =
                    serde_json::from_value::<lsp_types::DidCloseTextDocumentParams>(n.params)
                else {
                    return;
                };
                if let Some(path) = self.project_path(&p.text_document.uri) {
                    if let Some(ws) = self.workspace.as_mut() {
                        ws.remove_overlay(&path);
                        ws.reload_disk();
                        self.dirty = true;
                    }
                }
            }
            DidChangeWatchedFiles::METHOD => {
                if let Some(ws) = self.workspace.as_mut() {
                    ws.reload_disk();
                    self.dirty = true;
                }
            }
            _ => {}
        }
    }

    /// The project path of a document; the first document opened without a
    /// workspace root makes its folder the root.
    pub fn project_path(&mut self, uri: &Uri) -> Option<String> {
        let path = uri::to_path(uri)?;
        if self.workspace.is_none() {
            let folder = path.parent()?.to_path_buf();
            self.workspace = Some(Workspace::new(folder));
        }
        self.workspace.as_ref()?.project_path(&path)
    }
}

/// Applies one content change to a buffer, clamping its range to the text.
pub fn apply_change(text: &mut String, change: TextDocumentContentChangeEvent, enc: Encoding) {
    match change.range {
        None => *text = change.text,
        Some(range) => {
            let lines = LineIndex::new(text);
            let start = lines.offset(text, range.start, enc);
            let end = lines.offset(text, range.end, enc).max(start);
            text.replace_range(start..end, &change.text);
        }
    }
}

pub(crate) fn to_lsp_diagnostic(
    d: &Diagnostic,
    analysis: &Analysis,
    ws: &Workspace,
    enc: Encoding,
) -> lsp_types::Diagnostic {
    let related: Vec<lsp_types::DiagnosticRelatedInformation> = d
        .related
        .iter()
        .filter_map(|r| {
            Some(lsp_types::DiagnosticRelatedInformation {
                location: features::location(analysis, ws, r.span, enc)?,
                message: r.message.clone(),
            })
        })
        .collect();
    lsp_types::Diagnostic {
        range: features::range(analysis, d.span, enc),
        severity: Some(match d.severity {
            Severity::Error => lsp_types::DiagnosticSeverity::ERROR,
            Severity::Warning => lsp_types::DiagnosticSeverity::WARNING,
        }),
        code: Some(lsp_types::NumberOrString::String(d.code.code.to_string())),
        code_description: None,
        source: Some("trellis".to_string()),
        message: d.message.clone(),
        related_information: (!related.is_empty()).then_some(related),
        tags: None,
        data: Some(serde_json::json!({ "label": d.label, "help": d.help })),
    }
}
