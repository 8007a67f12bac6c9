//! Completion and quick fixes.
//!
//! Completion offers what the schema allows at the cursor: node names under the
//! enclosing node (or the top level), property names of the node, the values of
//! enumerations and booleans, and the names of declared objects for references
//! (in the reference's scope when the node says which cluster and namespace).
//! Quick fixes turn each "did you mean" of a diagnostic into an edit.

use std::collections::{BTreeSet, HashMap};

use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CompletionItem, CompletionItemKind,
    CompletionTextEdit, Documentation, MarkupContent, MarkupKind, Range, TextEdit, Uri,
    WorkspaceEdit,
};

use super::features::{node_doc, prop_line, range};
use super::position::Encoding;
use super::syntax::{self, Node, Slot, Word};
use super::workspace::Analysis;
use crate::diag::Diagnostic;
use crate::lower::schema::{self, NodeSpec, Ty};
use crate::model::DeclKind;
use crate::source::{FileId, Span};

fn docs(value: String) -> Option<Documentation> {
    Some(Documentation::MarkupContent(MarkupContent {
        kind: MarkupKind::Markdown,
        value,
    }))
}

/// The completions at byte `offset` of `file`.
pub fn complete(
    analysis: &Analysis,
    file: FileId,
    offset: usize,
    enc: Encoding,
) -> Vec<CompletionItem> {
    let text = analysis.sources.get(file).map_or("", |f| f.text.as_str());
    let outline = syntax::outline(text);
    let mut path = syntax::path_at(&outline, offset);
    // After the last entry of a node, on its line: still that node.
    let level = path.last().map_or(&outline[..], |n| &n.children[..]);
    let line_rest = |n: &Node| {
        n.block.is_none()
            && n.end <= offset
            && text
                .get(n.end..offset)
                .is_some_and(|t| t.chars().all(|c| c == ' ' || c == '\t'))
    };
    if let Some(n) = level.iter().find(|n| line_rest(n)) {
        path.push(n);
    }
    let specs = syntax::specs_of(&path);
    let edit_range = |start: usize, end: usize| range(analysis, Span::new(file, start, end), enc);
    let Some(node) = path.last().copied() else {
        // Between top-level nodes.
        let at = edit_range(offset, offset);
        return node_names(schema::TOP_LEVEL.iter().copied(), at);
    };
    // In the block of the deepest node, not on its line: a child's name.
    if node.block.is_some_and(|(open, _)| offset > open) {
        let at = edit_range(offset, offset);
        return match specs.get(path.len() - 1) {
            Some(spec) => node_names(spec.children.iter().map(|c| c.node), at),
            None => Vec::new(),
        };
    }
    let parent_names = |at: Range| match path.len() {
        1 => node_names(schema::TOP_LEVEL.iter().copied(), at),
        n => match specs.get(n - 2) {
            Some(parent) if specs.len() >= n - 1 => {
                node_names(parent.children.iter().map(|c| c.node), at)
            }
            _ => Vec::new(),
        },
    };
    let spec = specs
        .get(path.len() - 1)
        .copied()
        .filter(|_| specs.len() == path.len());
    let scope = Scope::of(&path);
    match syntax::slot_at(node, offset) {
        Some(Slot::Name) => parent_names(edit_range(node.name.start, node.name.end)),
        Some(Slot::Key(k)) => match spec {
            Some(spec) => prop_names(spec, node, edit_range(k.start, k.end)),
            None => Vec::new(),
        },
        Some(Slot::PropValue(k, v)) => match spec.and_then(|s| syntax::prop_ty(s, &k.value)) {
            Some(ty) => values(ty, analysis, &scope, edit_range(v.start, v.end)),
            None => Vec::new(),
        },
        Some(Slot::Arg(i, v)) => {
            let at = edit_range(v.start, v.end);
            let mut out = match spec.and_then(|s| syntax::arg_ty(s, i)) {
                Some(ty) => values(ty, analysis, &scope, at),
                None => Vec::new(),
            };
            // A bare word may be the start of a property name.
            if let (Some(spec), false) = (spec, v.quoted) {
                out.extend(prop_names(spec, node, at));
            }
            out
        }
        None => {
            let Some(spec) = spec else {
                return Vec::new();
            };
            let at = edit_range(offset, offset);
            // Just after `key=`: the property's values.
            let before = text.get(..offset).unwrap_or("").trim_end();
            if before.ends_with('=') {
                if let Some(key) = key_before(node, offset) {
                    return match syntax::prop_ty(spec, &key.value) {
                        Some(ty) => values(ty, analysis, &scope, at),
                        None => Vec::new(),
                    };
                }
            }
            let args_before = node.args().filter(|a| a.end <= offset).count();
            let mut out = match syntax::arg_ty(spec, args_before) {
                Some(ty) => values(ty, analysis, &scope, at),
                None => Vec::new(),
            };
            out.extend(prop_names(spec, node, at));
            out
        }
    }
}

/// The key of the property whose `=` is just before `offset`.
fn key_before(node: &Node, offset: usize) -> Option<&Word> {
    node.entries
        .iter()
        .filter(|e| e.value.is_none())
        .filter_map(|e| e.key.as_ref())
        .filter(|k| k.end < offset)
        .max_by_key(|k| k.end)
}

/// The cluster and namespace a node's references are in.
struct Scope {
    cluster: Option<String>,
    namespace: Option<String>,
}

impl Scope {
    fn of(path: &[&Node]) -> Scope {
        let top = path.first();
        let own = |key: &str, kind: &str| {
            top.and_then(|n| match n.name.value == kind {
                true => n.arg(0),
                false => n.prop(key),
            })
            .map(|w| w.value.clone())
        };
        Scope {
            cluster: own("cluster", "cluster"),
            namespace: path
                .iter()
                .rev()
                .find_map(|n| n.prop("namespace"))
                .map(|w| w.value.clone())
                .or_else(|| own("namespace", "namespace")),
        }
    }
}

fn node_names<'a>(specs: impl Iterator<Item = &'a NodeSpec>, at: Range) -> Vec<CompletionItem> {
    specs
        .map(|spec| CompletionItem {
            label: spec.name.to_string(),
            kind: Some(CompletionItemKind::KEYWORD),
            detail: Some(spec.doc.to_string()),
            documentation: docs(node_doc(spec)),
            text_edit: Some(CompletionTextEdit::Edit(TextEdit {
                range: at,
                new_text: spec.name.to_string(),
            })),
            ..Default::default()
        })
        .collect()
}

fn prop_names(spec: &NodeSpec, node: &Node, at: Range) -> Vec<CompletionItem> {
    // Properties already written with a value are not offered again.
    let present: BTreeSet<&str> = node
        .entries
        .iter()
        .filter(|e| e.value.is_some())
        .filter_map(|e| e.key.as_ref())
        .map(|k| k.value.as_str())
        .collect();
    spec.props
        .iter()
        .filter(|p| !present.contains(p.name))
        .map(|p| CompletionItem {
            label: format!("{}=", p.name),
            kind: Some(CompletionItemKind::PROPERTY),
            detail: Some(p.ty.describe()),
            documentation: docs(prop_line(p)),
            filter_text: Some(p.name.to_string()),
            text_edit: Some(CompletionTextEdit::Edit(TextEdit {
                range: at,
                new_text: format!("{}=", p.name),
            })),
            ..Default::default()
        })
        .collect()
}

fn quoted(s: &str) -> String {
    crate::fmt::quote(s)
}

fn values(ty: Ty, analysis: &Analysis, scope: &Scope, at: Range) -> Vec<CompletionItem> {
    let item = |label: String, kind, detail: String| CompletionItem {
        label: label.clone(),
        kind: Some(kind),
        detail: Some(detail),
        filter_text: Some(quoted(&label)),
        text_edit: Some(CompletionTextEdit::Edit(TextEdit {
            range: at,
            new_text: quoted(&label),
        })),
        ..Default::default()
    };
    match ty {
        Ty::Choice(choices) => choices
            .iter()
            .map(|c| {
                item(
                    c.to_string(),
                    CompletionItemKind::ENUM_MEMBER,
                    ty.describe(),
                )
            })
            .collect(),
        Ty::Bool => ["#true", "#false"]
            .iter()
            .map(|b| CompletionItem {
                label: b.to_string(),
                kind: Some(CompletionItemKind::VALUE),
                text_edit: Some(CompletionTextEdit::Edit(TextEdit {
                    range: at,
                    new_text: b.to_string(),
                })),
                ..Default::default()
            })
            .collect(),
        Ty::Ref(kind) => {
            let kind = DeclKind::from_ref(kind);
            let mut names = BTreeSet::new();
            for (k, cluster, namespace, name) in declared(analysis) {
                let in_scope = match kind {
                    DeclKind::Network | DeclKind::Cluster => true,
                    DeclKind::Namespace => same(&scope.cluster, &cluster),
                    _ => same(&scope.cluster, &cluster) && same(&scope.namespace, &namespace),
                };
                if k == kind && in_scope {
                    names.insert(name);
                }
            }
            if kind == DeclKind::Namespace {
                for ns in crate::check::refs::BUILTIN_NAMESPACES {
                    names.insert(ns.to_string());
                }
            }
            names
                .into_iter()
                .map(|n| item(n, CompletionItemKind::REFERENCE, kind.noun().to_string()))
                .collect()
        }
        _ => Vec::new(),
    }
}

/// The declared objects (kind, cluster, namespace, name): the model's, and those
/// written in files that do not parse now (read from their outline), so that a
/// file being typed still offers its own names.
fn declared(analysis: &Analysis) -> Vec<(DeclKind, Option<String>, Option<String>, String)> {
    let mut out: Vec<_> = analysis
        .compilation
        .model
        .declarations
        .iter()
        .map(|d| {
            (
                d.kind,
                d.scope().cluster.map(str::to_string),
                d.scope().namespace.map(str::to_string),
                d.name.value.clone(),
            )
        })
        .collect();
    for (_, file) in analysis.sources.iter() {
        if file.kind != crate::source::SourceKind::Kdl {
            continue;
        }
        for node in syntax::outline(&file.text) {
            let kind = match node.name.value.as_str() {
                "network" => DeclKind::Network,
                "cluster" => DeclKind::Cluster,
                "namespace" => DeclKind::Namespace,
                "workload" => DeclKind::Workload,
                "service" => DeclKind::Service,
                _ => continue,
            };
            let Some(name) = node.arg(0) else {
                continue;
            };
            let prop = |k: &str| node.prop(k).map(|w| w.value.clone());
            let namespace = (kind != DeclKind::Namespace)
                .then(|| prop("namespace"))
                .flatten();
            let cluster = match kind {
                DeclKind::Network | DeclKind::Cluster => None,
                _ => prop("cluster"),
            };
            out.push((kind, cluster, namespace, name.value.clone()));
        }
    }
    out
}

fn same(want: &Option<String>, have: &Option<String>) -> bool {
    match (want, have) {
        (Some(w), Some(h)) => w == h,
        _ => true,
    }
}

/// The word a "did you mean" help suggests: `` did you mean `x`? `` or
/// `did you mean "x"?`.
pub fn suggestion(help: &str) -> Option<&str> {
    let rest = help.split("did you mean ").nth(1)?;
    let close = match rest.chars().next()? {
        '`' => '`',
        '"' => '"',
        _ => return None,
    };
    let inner = rest.get(1..)?;
    let end = inner.find(close)?;
    inner.get(..end).filter(|s| !s.is_empty())
}

/// The quick fixes for the diagnostics of `file` that overlap `start..end`.
pub fn quick_fixes(
    analysis: &Analysis,
    file: FileId,
    uri: &Uri,
    start: usize,
    end: usize,
    enc: Encoding,
    to_lsp: impl Fn(&Diagnostic) -> lsp_types::Diagnostic,
) -> Vec<CodeActionOrCommand> {
    let mut out = Vec::new();
    for d in &analysis.compilation.diagnostics {
        let (s, e) = (d.span.start as usize, d.span.end as usize);
        if d.span.file != file || e < start || s > end {
            continue;
        }
        let Some(best) = suggestion(&d.help) else {
            continue;
        };
        let written = analysis.sources.slice(d.span);
        // A quoted value is replaced by a quoted value; a property written with
        // its value (`ox="linux"`) has only its key replaced.
        let (span, new_text) = if written.starts_with('"') || written.starts_with('#') {
            (d.span, quoted(best))
        } else {
            let key_len = written.find('=').unwrap_or(written.len());
            (Span::new(file, s, s + key_len), best.to_string())
        };
        let edit = TextEdit {
            range: range(analysis, span, enc),
            new_text,
        };
        out.push(CodeActionOrCommand::CodeAction(CodeAction {
            title: format!("Replace with `{best}`"),
            kind: Some(CodeActionKind::QUICKFIX),
            diagnostics: Some(vec![to_lsp(d)]),
            edit: Some(WorkspaceEdit {
                changes: Some(HashMap::from([(uri.clone(), vec![edit])])),
                ..Default::default()
            }),
            is_preferred: Some(true),
            ..Default::default()
        }));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::suggestion;

    #[test]
    fn reads_both_forms_of_did_you_mean() {
        assert_eq!(suggestion("did you mean `switch`?"), Some("switch"));
        assert_eq!(suggestion("did you mean \"calico\"?"), Some("calico"));
        assert_eq!(
            suggestion("did you mean `shop`? declared: `a`, `shop`"),
            Some("shop")
        );
        assert_eq!(suggestion("use \"a\" or \"b\""), None);
        assert_eq!(suggestion("did you mean ``?"), None);
        assert_eq!(suggestion("did you mean `x"), None);
    }
}
