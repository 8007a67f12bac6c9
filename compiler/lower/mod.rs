//! Lowering: parsed KDL documents into the typed `Model`.
//!
//! Two steps per top-level node: `shape` checks it against the schema and gives an
//! `Item` with typed values; then the per-kind function (`network.rs`, `cluster.rs`,
//! `app.rs`, `service.rs`, `policy.rs`) builds the model object and reports the
//! constraints that involve several settings of one declaration (TR0220, duplicate
//! sub-declarations). Cross-declaration checks (references, pools) belong to `check`.
//!
//! Invariant: only `parse` and this module see `kdl` types. Lowering never stops at
//! the first problem: a broken declaration is left out of the model, but its name is
//! still recorded in `Model::declarations`.

mod app;
mod cluster;
mod expect;
mod network;
mod policy;
pub mod schema;
mod service;
pub mod shape;
pub mod value;

use std::collections::BTreeMap;

use crate::diag::{codes, Diagnostic, Diagnostics};
use crate::model::{DeclKind, Declaration, Label, Labels, Model, Name};
use crate::parse::tree::{Doc, Node};
use crate::parse::ParsedFile;
use crate::source::{FileId, Sources, Span, Spanned};
use shape::{Item, ShapeCx};

/// Lowers every parsed file into one model.
pub fn lower(files: &[ParsedFile], sources: &Sources, diags: &mut Diagnostics) -> Model {
    let mut model = Model::default();
    for file in files {
        let doc = Doc::from_kdl(&file.doc);
        lower_nodes(file.file, &doc.nodes, sources, diags, &mut model);
    }
    model
}

/// Lowers the nodes of one file (or of a chunk of it) into `model`, after what it
/// holds.
pub fn lower_doc(
    file: FileId,
    doc: &Doc,
    sources: &Sources,
    diags: &mut Diagnostics,
    model: &mut Model,
) {
    lower_nodes(file, &doc.nodes, sources, diags, model);
}

/// Lowers the top-level `nodes` of `file` into `model`.
fn lower_nodes(
    file: FileId,
    nodes: &[Node],
    sources: &Sources,
    diags: &mut Diagnostics,
    model: &mut Model,
) {
    for node in nodes {
        let mut cx = ShapeCx {
            file,
            sources,
            diags,
        };
        let name: &str = &node.name.value;
        let Some(spec) = schema::top_level(name) else {
            let span = Span::from_at(file, node.name.at);
            cx.unknown_node(name, span, None, schema::TOP_LEVEL.iter().map(|n| n.name));
            continue;
        };
        let item = cx.shape(node, spec);
        let mut lx = Lowerer { model, diags };
        lx.declare(&item);
        match spec.name {
            "network" => network::lower_network(&mut lx, &item),
            "host" => network::lower_host(&mut lx, &item),
            "cluster" => cluster::lower_cluster(&mut lx, &item),
            "namespace" => app::lower_namespace(&mut lx, &item),
            "workload" => app::lower_workload(&mut lx, &item),
            "service" => service::lower_service(&mut lx, &item),
            "ingress" => service::lower_ingress(&mut lx, &item),
            "policy" => policy::lower_policy(&mut lx, &item),
            "expect" => expect::lower_expect(&mut lx, &item),
            _ => {}
        }
    }
}

/// The state lowering functions share.
pub(crate) struct Lowerer<'a> {
    pub model: &'a mut Model,
    pub diags: &'a mut Diagnostics,
}

impl Lowerer<'_> {
    /// Records the declaration's name and scope when they are valid.
    fn declare(&mut self, item: &Item) {
        let kind = match item.spec.name {
            "network" => DeclKind::Network,
            "host" => DeclKind::Host,
            "cluster" => DeclKind::Cluster,
            "namespace" => DeclKind::Namespace,
            "workload" => DeclKind::Workload,
            "service" => DeclKind::Service,
            "ingress" => DeclKind::Ingress,
            "policy" => DeclKind::Policy,
            _ => return,
        };
        let name = if kind == DeclKind::Host {
            Spanned::new("host".to_string(), item.name_span)
        } else {
            match item.arg_str(0) {
                Some(name) => name,
                None => return,
            }
        };
        let cluster_ref = item.prop_str("cluster");
        let namespace_ref = item.prop_str("namespace");
        let global = item.prop("global").and_then(|g| g.value.as_bool()) == Some(true);
        let mut declaration = Declaration {
            kind,
            name,
            scoped: false,
            global: kind == DeclKind::Policy && global,
            cluster_ref,
            namespace_ref,
        };
        let scope = declaration.scope();
        let (cluster, namespace) = (scope.cluster.is_some(), scope.namespace.is_some());
        declaration.scoped = matches!(kind, DeclKind::Network | DeclKind::Host | DeclKind::Cluster)
            || (cluster && (namespace || kind == DeclKind::Namespace || global));
        self.model.declarations.push(Box::new(declaration));
    }

    pub fn error(&mut self, diag: Diagnostic) {
        self.diags.push(diag);
    }

    /// Reports two settings of one declaration that exclude each other.
    pub fn conflict(
        &mut self,
        at: Span,
        message: String,
        other: Span,
        other_label: &str,
        help: &str,
    ) {
        self.diags.push(
            Diagnostic::new(&codes::CONFLICTING_SETTINGS, at, message)
                .label("conflicts")
                .related(other, other_label)
                .help(help),
        );
    }
}

/// The labels of a label-map child (`labels`, `select`, `pods`, `namespaces`), sorted
/// by key.
pub(crate) fn labels_of(item: &Item) -> Labels {
    let mut sorted: BTreeMap<String, Label> = BTreeMap::new();
    for p in &item.props {
        if let Some(v) = p.value.value.as_str() {
            sorted.insert(
                p.key.value.clone(),
                Label {
                    key: p.key.clone(),
                    value: Spanned::new(v.to_string(), p.value.span),
                },
            );
        }
    }
    Labels {
        items: sorted.into_values().collect(),
        expressions: Vec::new(),
        span: Some(item.name_span),
    }
}

/// `list` without spare room. The model keeps every list it is given for the whole
/// build, and a list grown by pushing, or collected through a filter, starts with
/// room for four: for a service's one port and a policy's one rule, three quarters
/// of the memory (about 11 MB at 10,000 services).
pub(crate) fn exact<T>(mut list: Vec<T>) -> Vec<T> {
    list.shrink_to_fit();
    list
}

/// A name argument or property as a `Name`.
pub(crate) fn name_arg(item: &Item) -> Option<Name> {
    item.arg_str(0)
}

/// Reports names that appear twice in one list (node pools of a cluster, ports of a
/// workload), pointing at both.
pub(crate) fn check_unique_names<'n>(
    diags: &mut Diagnostics,
    what: &str,
    scope: &str,
    names: impl Iterator<Item = &'n Name>,
) {
    let mut seen: BTreeMap<&str, Span> = BTreeMap::new();
    for name in names {
        if let Some(first) = seen.get(name.value.as_str()) {
            diags.push(
                Diagnostic::new(
                    &codes::DUPLICATE_DECLARATION,
                    name.span,
                    format!("{what} `{}` is declared twice in {scope}", name.value),
                )
                .label("declared again here")
                .related(*first, "first declared here")
                .help(format!("rename or remove one of the {what}s")),
            );
        } else {
            seen.insert(name.value.as_str(), name.span);
        }
    }
}
