//! The requests the server answers, each a function from the analysis (and the
//! editor's text) to an LSP result.

use lsp_server::{ErrorCode, Request};
use lsp_types::request::{
    CodeActionRequest, Completion, DocumentSymbolRequest, Formatting, GotoDefinition, HoverRequest,
    References, Request as _,
};
use lsp_types::{
    CodeActionParams, CodeActionProviderCapability, CompletionOptions, CompletionParams,
    CompletionResponse, DocumentFormattingParams, DocumentSymbol, DocumentSymbolParams,
    GotoDefinitionParams, Hover, HoverContents, HoverParams, HoverProviderCapability, Location,
    MarkupContent, MarkupKind, OneOf, Range, ReferenceParams, ServerCapabilities, SymbolKind,
    TextDocumentPositionParams, TextEdit,
};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::position::{Encoding, LineIndex};
use super::syntax::{self, Node, Slot};
use super::workspace::{Analysis, Workspace};
use super::{assist, nav, uri, Answer, Server};
use crate::diag::Diagnostics;
use crate::lower::schema::{NodeSpec, Ty};
use crate::model::Declaration;
use crate::source::{FileId, Span};

/// What the server offers, besides text synchronisation.
pub fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        document_formatting_provider: Some(OneOf::Left(true)),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        definition_provider: Some(OneOf::Left(true)),
        references_provider: Some(OneOf::Left(true)),
        document_symbol_provider: Some(OneOf::Left(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec!["=".to_string(), "\"".to_string()]),
            ..Default::default()
        }),
        code_action_provider: Some(CodeActionProviderCapability::Simple(true)),
        ..Default::default()
    }
}

/// Answers one request.
pub fn handle(server: &mut Server<'_>, req: &Request) -> Answer {
    match req.method.as_str() {
        Formatting::METHOD => formatting(server, params(req)?),
        HoverRequest::METHOD => hover(server, params(req)?),
        GotoDefinition::METHOD => definition(server, params(req)?),
        References::METHOD => references(server, params(req)?),
        DocumentSymbolRequest::METHOD => symbols(server, params(req)?),
        Completion::METHOD => completion(server, params(req)?),
        CodeActionRequest::METHOD => code_actions(server, params(req)?),
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

/// The file of a request and the byte offset of its position, in the analysis.
fn at(server: &mut Server<'_>, p: &TextDocumentPositionParams) -> Option<(FileId, usize)> {
    let path = server.project_path(&p.text_document.uri)?;
    let enc = server.encoding;
    let analysis = server.analysis.as_ref()?;
    let file = analysis.file_id(&path)?;
    let text = analysis.sources.get(file)?.text.as_str();
    let offset = analysis.lines(file)?.offset(text, p.position, enc);
    Some((file, offset))
}

fn text_of(analysis: &Analysis, file: FileId) -> &str {
    analysis.sources.get(file).map_or("", |f| f.text.as_str())
}

/// The declaration a position names: the target of a reference under it, or the
/// declaration whose name is under it.
fn declaration_at(server: &mut Server<'_>, p: &TextDocumentPositionParams) -> Vec<Declaration> {
    let Some((file, offset)) = at(server, p) else {
        return Vec::new();
    };
    let Some(analysis) = server.analysis.as_ref() else {
        return Vec::new();
    };
    let text = text_of(analysis, file);
    let model = &analysis.compilation.model;
    let outline = syntax::outline(text);
    let sites = nav::ref_sites(&outline);
    if let Some(site) = sites.iter().find(|s| s.word.contains(offset)) {
        return nav::resolve(model, site).into_iter().cloned().collect();
    }
    model
        .declarations
        .iter()
        .filter(|d| {
            d.name.span.file == file
                && d.name.span.start as usize <= offset
                && offset <= d.name.span.end as usize
        })
        .map(|d| Declaration::clone(d))
        .collect()
}

/// The preset named by a `preset="NAME"` under the cursor.
fn preset_at(server: &mut Server<'_>, p: &TextDocumentPositionParams) -> Option<String> {
    let (file, offset) = at(server, p)?;
    let analysis = server.analysis.as_ref()?;
    let outline = syntax::outline(text_of(analysis, file));
    let site = nav::preset_sites(&outline)
        .into_iter()
        .find(|w| w.contains(offset))?;
    Some(site.value.clone())
}

fn definition(server: &mut Server<'_>, p: GotoDefinitionParams) -> Answer {
    if let Some(name) = preset_at(server, &p.text_document_position_params) {
        let Some(((start, end), _)) = nav::preset_definition(&name) else {
            return Ok(Value::Null);
        };
        let Some(uri) = nav::presets_file().and_then(|f| uri::from_path(&f)) else {
            return Ok(Value::Null);
        };
        let text = crate::stdlib::PRESETS_KDL;
        let lines = LineIndex::new(text);
        return to_value(vec![Location {
            uri,
            range: Range {
                start: lines.position(text, start, server.encoding),
                end: lines.position(text, end, server.encoding),
            },
        }]);
    }
    let decls = declaration_at(server, &p.text_document_position_params);
    let (Some(analysis), Some(ws)) = (server.analysis.as_ref(), server.workspace.as_ref()) else {
        return Ok(Value::Null);
    };
    let locations: Vec<Location> = decls
        .iter()
        .filter_map(|d| location(analysis, ws, d.name.span, server.encoding))
        .collect();
    if locations.is_empty() {
        return Ok(Value::Null);
    }
    to_value(locations)
}

fn references(server: &mut Server<'_>, p: ReferenceParams) -> Answer {
    if let Some(name) = preset_at(server, &p.text_document_position) {
        let (Some(analysis), Some(ws)) = (server.analysis.as_ref(), server.workspace.as_ref())
        else {
            return Ok(Value::Null);
        };
        let mut out = Vec::new();
        for (id, file) in analysis.sources.iter() {
            let outline = syntax::outline(&file.text);
            for w in nav::preset_sites(&outline) {
                if w.value == name {
                    let span = Span::new(id, w.start, w.end);
                    out.extend(location(analysis, ws, span, server.encoding));
                }
            }
        }
        return to_value(out);
    }
    let decls = declaration_at(server, &p.text_document_position);
    let (Some(analysis), Some(ws)) = (server.analysis.as_ref(), server.workspace.as_ref()) else {
        return Ok(Value::Null);
    };
    let Some(target) = decls.first() else {
        return Ok(Value::Null);
    };
    let model = &analysis.compilation.model;
    let mut out = Vec::new();
    if p.context.include_declaration {
        out.extend(location(analysis, ws, target.name.span, server.encoding));
    }
    for (id, file) in analysis.sources.iter() {
        if file.kind != crate::source::SourceKind::Kdl {
            continue;
        }
        let outline = syntax::outline(&file.text);
        for site in nav::ref_sites(&outline) {
            if nav::resolve(model, &site)
                .iter()
                .any(|d| nav::same(d, target))
            {
                let span = Span::new(id, site.word.start, site.word.end);
                out.extend(location(analysis, ws, span, server.encoding));
            }
        }
    }
    to_value(out)
}

fn markdown(value: String) -> Answer {
    to_value(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value,
        }),
        range: None,
    })
}

/// The documentation of a node, from the schema (the source of docs/language.md).
pub fn node_doc(spec: &NodeSpec) -> String {
    let mut out = format!("**`{}`**: {}", spec.name, spec.doc);
    if let Some(d) = spec.default {
        out.push_str(&format!(" Default: `{d}`."));
    }
    let mut args: Vec<String> = spec
        .args
        .iter()
        .map(|a| format!("- `{}`: {}{}", a.name, a.ty.describe(), doc_suffix(a.doc)))
        .collect();
    if let Some(r) = &spec.rest {
        args.push(format!(
            "- `{}`: {}{}",
            r.name,
            r.ty.describe(),
            doc_suffix(r.doc)
        ));
    }
    if !args.is_empty() {
        out.push_str("\n\nArguments:\n");
        out.push_str(&args.join("\n"));
    }
    if !spec.props.is_empty() {
        out.push_str("\n\nProperties:\n");
        let props: Vec<String> = spec
            .props
            .iter()
            .map(|p| format!("- {}", prop_line(p)))
            .collect();
        out.push_str(&props.join("\n"));
    }
    if !spec.children.is_empty() {
        let names: Vec<String> = spec
            .children
            .iter()
            .map(|c| format!("`{}`", c.node.name))
            .collect();
        out.push_str(&format!("\n\nChildren: {}", names.join(", ")));
    }
    out
}

fn doc_suffix(doc: &str) -> String {
    if doc.is_empty() {
        String::new()
    } else {
        format!("; {doc}")
    }
}

pub fn prop_line(p: &crate::lower::schema::PropSpec) -> String {
    let mut out = format!("`{}`: {}", p.name, p.ty.describe());
    if p.required {
        out.push_str(", required");
    }
    if let Some(d) = p.default {
        out.push_str(&format!(", default `{d}`"));
    }
    out.push_str(&doc_suffix(p.doc));
    out
}

fn hover(server: &mut Server<'_>, p: HoverParams) -> Answer {
    let pos = p.text_document_position_params;
    let decls = declaration_at(server, &pos);
    let preset = preset_at(server, &pos);
    let Some((file, offset)) = at(server, &pos) else {
        return Ok(Value::Null);
    };
    let Some(analysis) = server.analysis.as_ref() else {
        return Ok(Value::Null);
    };
    let text = text_of(analysis, file);
    let mut parts: Vec<String> = Vec::new();
    let outline = syntax::outline(text);
    let path = syntax::path_at(&outline, offset);
    let specs = syntax::specs_of(&path);
    if let (Some(node), true) = (path.last(), specs.len() == path.len()) {
        let spec = specs.last().copied();
        match (syntax::slot_at(node, offset), spec) {
            (Some(Slot::Name), Some(spec)) => parts.push(node_doc(spec)),
            (Some(Slot::Key(k)), Some(spec)) => {
                if let Some(prop) = spec.prop(&k.value) {
                    parts.push(prop_line(prop));
                } else if let Some(ty) = spec.free_props {
                    parts.push(format!(
                        "`{}`: a label; its value is {}",
                        k.value,
                        ty.describe()
                    ));
                }
            }
            (Some(Slot::PropValue(k, _)), Some(spec)) if decls.is_empty() => {
                if let Some(ty) = syntax::prop_ty(spec, &k.value) {
                    parts.push(value_doc(&k.value, ty));
                }
            }
            (Some(Slot::Arg(i, _)), Some(spec)) if decls.is_empty() => {
                if let Some(ty) = syntax::arg_ty(spec, i) {
                    let name = spec.args.get(i).map_or("value", |a| a.name);
                    parts.push(value_doc(name, ty));
                }
            }
            _ => {}
        }
    }
    if let Some((_, definition)) = preset.as_deref().and_then(nav::preset_definition) {
        parts.push(format!("built-in preset:\n\n```kdl\n{definition}\n```"));
    }
    for decl in &decls {
        parts.push(nav::facts(
            &analysis.compilation.model,
            analysis.compilation.allocation.as_ref(),
            decl,
        ));
    }
    // The diagnostics under the cursor, with what to do about them.
    for d in &analysis.compilation.diagnostics {
        if d.span.file == file && d.span.start as usize <= offset && offset <= d.span.end as usize {
            parts.push(format!(
                "**{}** {}\n\nhelp: {}",
                d.code.code, d.message, d.help
            ));
        }
    }
    if parts.is_empty() {
        return Ok(Value::Null);
    }
    markdown(parts.join("\n\n---\n\n"))
}

fn value_doc(name: &str, ty: Ty) -> String {
    format!("`{name}`: {}", ty.describe())
}

fn symbol_kind(name: &str) -> SymbolKind {
    match name {
        "network" => SymbolKind::PACKAGE,
        "host" => SymbolKind::OBJECT,
        "cluster" => SymbolKind::MODULE,
        "namespace" => SymbolKind::NAMESPACE,
        "workload" => SymbolKind::CLASS,
        "service" | "ingress" => SymbolKind::INTERFACE,
        "policy" => SymbolKind::STRUCT,
        "expect" => SymbolKind::EVENT,
        _ => SymbolKind::FIELD,
    }
}

#[allow(deprecated)] // `DocumentSymbol::deprecated` must be written
fn symbol(node: &Node, analysis: &Analysis, file: FileId, enc: Encoding) -> DocumentSymbol {
    let span = |start: usize, end: usize| range(analysis, Span::new(file, start, end), enc);
    let (name, selection) = match node.arg(0) {
        Some(a) => (
            format!("{} {}", node.name.value, a.value),
            span(a.start, a.end),
        ),
        None => (
            node.name.value.clone(),
            span(node.name.start, node.name.end),
        ),
    };
    let children: Vec<DocumentSymbol> = node
        .children
        .iter()
        .map(|c| symbol(c, analysis, file, enc))
        .collect();
    DocumentSymbol {
        name,
        detail: None,
        kind: symbol_kind(&node.name.value),
        tags: None,
        deprecated: None,
        range: span(node.start, node.end),
        selection_range: selection,
        children: (!children.is_empty()).then_some(children),
    }
}

fn symbols(server: &mut Server<'_>, p: DocumentSymbolParams) -> Answer {
    let Some(path) = server.project_path(&p.text_document.uri) else {
        return Ok(Value::Null);
    };
    let Some(analysis) = server.analysis.as_ref() else {
        return Ok(Value::Null);
    };
    let Some(file) = analysis.file_id(&path) else {
        return Ok(Value::Null);
    };
    let text = analysis.sources.get(file).map_or("", |f| f.text.as_str());
    let outline = syntax::outline(text);
    let out: Vec<DocumentSymbol> = outline
        .iter()
        .map(|n| symbol(n, analysis, file, server.encoding))
        .collect();
    to_value(out)
}

fn completion(server: &mut Server<'_>, p: CompletionParams) -> Answer {
    let Some((file, offset)) = at(server, &p.text_document_position) else {
        return Ok(Value::Null);
    };
    let Some(analysis) = server.analysis.as_ref() else {
        return Ok(Value::Null);
    };
    to_value(CompletionResponse::Array(assist::complete(
        analysis,
        file,
        offset,
        server.encoding,
    )))
}

fn code_actions(server: &mut Server<'_>, p: CodeActionParams) -> Answer {
    let Some(path) = server.project_path(&p.text_document.uri) else {
        return Ok(Value::Null);
    };
    let enc = server.encoding;
    let (Some(analysis), Some(ws)) = (server.analysis.as_ref(), server.workspace.as_ref()) else {
        return Ok(Value::Null);
    };
    let Some(file) = analysis.file_id(&path) else {
        return Ok(Value::Null);
    };
    let (Some(lines), Some(text)) = (analysis.lines(file), analysis.sources.get(file)) else {
        return Ok(Value::Null);
    };
    let start = lines.offset(&text.text, p.range.start, enc);
    let end = lines.offset(&text.text, p.range.end, enc).max(start);
    to_value(assist::quick_fixes(
        analysis,
        file,
        &p.text_document.uri,
        start,
        end,
        enc,
        |d| super::to_lsp_diagnostic(d, analysis, ws, enc),
    ))
}
