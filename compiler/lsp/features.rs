//! The requests the server answers, each a function from the analysis (and the
//! editor's text) to an LSP result.

use lsp_server::{ErrorCode, Request};
use lsp_types::request::{Formatting, Request as _};
use lsp_types::{DocumentFormattingParams, Location, OneOf, Range, ServerCapabilities, TextEdit};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::position::{Encoding, LineIndex};
use super::workspace::{Analysis, Workspace};
use super::{uri, Answer, Server};
use crate::diag::Diagnostics;
use crate::source::{FileId, Span};

/// What the server offers, besides text synchronisation.
pub fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        document_formatting_provider: Some(OneOf::Left(true)),
        ..Default::default()
    }
}

/// Answers one request.
pub fn handle(server: &mut Server<'_>, req: &Request) -> Answer {
    match req.method.as_str() {
        Formatting::METHOD => formatting(server, params(req)?),
        _ => Err((
            ErrorCode::MethodNotFound,
            format!("trellis lsp does not answer {}", req.method),
        )),
    }
}

fn params<P: DeserializeOwned>(req: &Request) -> Result<P, (ErrorCode, String)> {
    serde_json::from_value(req.params.clone()).map_err(|e| {
        (
            ErrorCode::InvalidParams,
            format!("invalid parameters for {}: {e}", req.method),
        )
    })
}

fn to_value<T: serde::Serialize>(v: T) -> Answer {
    serde_json::to_value(v).map_err(|e| (ErrorCode::InternalError, e.to_string()))
}

/// The LSP range of a span of the analysis.
pub fn range(analysis: &Analysis, span: Span, enc: Encoding) -> Range {
    let (Some(file), Some(lines)) = (analysis.sources.get(span.file), analysis.lines(span.file))
    else {
        return Range::default();
    };
    Range {
        start: lines.position(&file.text, span.start as usize, enc),
        end: lines.position(&file.text, span.end as usize, enc),
    }
}

/// The LSP location of a span of the analysis.
pub fn location(
    analysis: &Analysis,
    ws: &Workspace,
    span: Span,
    enc: Encoding,
) -> Option<Location> {
    let file = analysis.sources.get(span.file)?;
    Some(Location {
        uri: uri::from_path(&ws.full_path(&file.path))?,
        range: range(analysis, span, enc),
    })
}

/// `textDocument/formatting`: the whole file as `trellis fmt` prints it; nothing
/// when it is already formatted or does not parse.
fn formatting(server: &mut Server<'_>, p: DocumentFormattingParams) -> Answer {
    let Some(path) = server.project_path(&p.text_document.uri) else {
        return Ok(Value::Null);
    };
    let Some(text) = server.workspace.as_ref().and_then(|ws| ws.text(&path)) else {
        return Ok(Value::Null);
    };
    let mut diags = Diagnostics::new();
    let Some(formatted) = crate::fmt::format_source(FileId(0), text, &mut diags) else {
        return Ok(Value::Null);
    };
    if formatted == text {
        return to_value(Vec::<TextEdit>::new());
    }
    let lines = LineIndex::new(text);
    to_value(vec![TextEdit {
        range: Range {
            start: lines.position(text, 0, server.encoding),
            end: lines.end(text, server.encoding),
        },
        new_text: formatted,
    }])
}
