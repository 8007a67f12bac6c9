//! Names: every declaration is unique in its scope, and every reference names a
//! declaration of the right kind in the right scope (TR0301, TR0302).
//!
//! Scopes: networks, clusters and the host are project-wide; namespaces belong to a
//! cluster; workloads, services, ingresses and policies to a namespace of a cluster.
//! The namespaces Kubernetes creates itself (`default`, `kube-system`, `kube-public`,
//! `kube-node-lease`) exist in every cluster without a declaration.

use foldhash::{HashMap, HashMapExt};

use crate::diag::{codes, Diagnostic, Diagnostics};
use crate::model::{DeclKind, Declaration, Model, Name, Scope, ScopeRef};
use crate::suggest::did_you_mean;

/// Namespaces every Kubernetes cluster has.
pub const BUILTIN_NAMESPACES: &[&str] =
    &["default", "kube-node-lease", "kube-public", "kube-system"];

pub fn check_duplicates(model: &Model, diags: &mut Diagnostics) {
    // A hash map: at 30,000 declarations the ordered map's scope comparisons took
    // a third of `check`. Only lookups; the order of reports is the declarations'.
    let mut seen: HashMap<(DeclKind, ScopeRef<'_>, &str), &Declaration> =
        HashMap::with_capacity(model.declarations.len());
    for decl in model.declarations.iter().filter(|d| d.scoped) {
        let key = (decl.kind, decl.scope(), decl.name.value.as_str());
        if let Some(first) = seen.get(&key) {
            let (message, help) = if decl.kind == DeclKind::Host {
                (
                    "the AKS host is declared twice".to_string(),
                    "a project has one AKS host; remove one `host` node".to_string(),
                )
            } else {
                (
                    format!(
                        "{} `{}` is declared twice in {}",
                        decl.kind.noun(),
                        decl.name.value,
                        decl.scope()
                    ),
                    format!("rename or remove one of the two {}s", decl.kind.noun()),
                )
            };
            diags.push(
                Diagnostic::new(&codes::DUPLICATE_DECLARATION, decl.name.span, message)
                    .label("declared again here")
                    .related(first.name.span, "first declared here")
                    .help(help),
            );
        } else {
            seen.insert(key, decl);
        }
    }
}

/// The declared names, by kind and scope.
struct Names<'m> {
    by_scope: HashMap<(DeclKind, ScopeRef<'m>), Vec<&'m str>>,
}

impl<'m> Names<'m> {
    fn new(model: &'m Model) -> Names<'m> {
        let mut by_scope: HashMap<(DeclKind, ScopeRef<'m>), Vec<&'m str>> = HashMap::new();
        for decl in model.declarations.iter().filter(|d| d.scoped) {
            by_scope
                .entry((decl.kind, decl.scope()))
                .or_default()
                .push(decl.name.value.as_str());
        }
        for names in by_scope.values_mut() {
            names.sort_unstable();
            names.dedup();
        }
        Names { by_scope }
    }

    fn get(&self, kind: DeclKind, at: ScopeRef<'m>) -> &[&'m str] {
        self.by_scope
            .get(&(kind, at))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    fn has_cluster(&self, name: &'m str) -> bool {
        self.get(DeclKind::Cluster, ScopeRef::default())
            .binary_search(&name)
            .is_ok()
    }

    fn has_namespace(&self, cluster: &'m str, name: &'m str) -> bool {
        BUILTIN_NAMESPACES.contains(&name)
            || self
                .get(DeclKind::Namespace, ScopeRef::cluster(cluster))
                .binary_search(&name)
                .is_ok()
    }

    /// Reports `reference` unless a `kind` of that name exists in scope `at`.
    fn expect(&self, diags: &mut Diagnostics, kind: DeclKind, at: ScopeRef<'m>, reference: &Name) {
        // The declared names are sorted: a lookup is a binary search, and the list of
        // candidates is only built for a reference that does not resolve.
        let declared = self.get(kind, at);
        let builtin =
            kind == DeclKind::Namespace && BUILTIN_NAMESPACES.contains(&reference.value.as_str());
        if builtin || declared.binary_search(&reference.value.as_str()).is_ok() {
            return;
        }
        let mut names: Vec<&str> = declared.to_vec();
        if kind == DeclKind::Namespace {
            names.extend(BUILTIN_NAMESPACES);
            names.sort_unstable();
            names.dedup();
        }
        if names.contains(&reference.value.as_str()) {
            return;
        }
        let scope = at.to_scope();
        let place = match kind {
            DeclKind::Network | DeclKind::Cluster => String::new(),
            _ => format!(" in {scope}"),
        };
        let mut diag = Diagnostic::new(
            &codes::UNRESOLVED_REFERENCE,
            reference.span,
            format!("no {} named `{}`{place}", kind.noun(), reference.value),
        )
        .label(format!("unknown {}", kind.noun()));
        let listed = list_names(&names);
        diag = match did_you_mean(&reference.value, names.iter().copied()) {
            Some(best) => diag.help(format!("did you mean `{best}`? declared: {listed}")),
            None if names.is_empty() => diag.help(format!(
                "no {} is declared{place}; declare `{}`",
                kind.noun(),
                declaration_example(kind, &scope, &reference.value)
            )),
            None => diag.help(format!("declared {}s: {listed}", kind.noun())),
        };
        diags.push(diag);
    }
}

/// `workload "web" cluster="shop" namespace="shop"`: how to declare what is missing.
fn declaration_example(kind: DeclKind, scope: &Scope, name: &str) -> String {
    let mut out = format!("{} \"{name}\"", kind.noun());
    if let Some(cluster) = &scope.cluster {
        out.push_str(&format!(" cluster=\"{cluster}\""));
    }
    if let Some(namespace) = &scope.namespace {
        out.push_str(&format!(" namespace=\"{namespace}\""));
    }
    out
}

fn list_names(names: &[&str]) -> String {
    const SHOWN: usize = 8;
    let mut out: Vec<String> = names.iter().take(SHOWN).map(|n| format!("`{n}`")).collect();
    if names.len() > SHOWN {
        out.push(format!("and {} more", names.len() - SHOWN));
    }
    out.join(", ")
}

pub fn check_references(model: &Model, diags: &mut Diagnostics) {
    let names = Names::new(model);
    let project = ScopeRef::default();
    for host in &model.hosts {
        names.expect(diags, DeclKind::Network, project, &host.network);
    }
    for cluster in &model.clusters {
        names.expect(diags, DeclKind::Network, project, &cluster.network);
    }
    // The scope references of every declaration, complete or not: its cluster, then
    // (when the cluster exists) its namespace.
    for decl in &model.declarations {
        let Some(cluster) = &decl.cluster_ref else {
            continue;
        };
        names.expect(diags, DeclKind::Cluster, project, cluster);
        if let (Some(namespace), true) = (&decl.namespace_ref, names.has_cluster(&cluster.value)) {
            names.expect(
                diags,
                DeclKind::Namespace,
                ScopeRef::cluster(&cluster.value),
                namespace,
            );
        }
    }
    for ingress in &model.ingresses {
        if !names.has_namespace(&ingress.cluster.value, &ingress.namespace.value) {
            continue;
        }
        let scope = ScopeRef::namespace(&ingress.cluster.value, &ingress.namespace.value);
        for route in ingress.rules.iter().flat_map(|r| &r.routes) {
            names.expect(diags, DeclKind::Service, scope, &route.service);
        }
    }
    for policy in &model.policies {
        let cluster = policy.cluster.value.as_str();
        if !names.has_cluster(cluster) {
            continue;
        }
        let own_ns = policy.namespace.as_ref().map(|n| n.value.as_str());
        if let Some(ns) = own_ns.filter(|ns| names.has_namespace(cluster, ns)) {
            for w in &policy.workloads {
                names.expect(
                    diags,
                    DeclKind::Workload,
                    ScopeRef::namespace(cluster, ns),
                    w,
                );
            }
        }
        for peer in policy.rules.iter().flat_map(|r| &r.peers) {
            if let Some(ns) = &peer.namespace {
                names.expect(diags, DeclKind::Namespace, ScopeRef::cluster(cluster), ns);
            }
            let peer_ns = peer.namespace.as_ref().map(|n| n.value.as_str()).or(own_ns);
            if let (Some(w), Some(ns)) = (&peer.workload, peer_ns) {
                if names.has_namespace(cluster, ns) {
                    names.expect(
                        diags,
                        DeclKind::Workload,
                        ScopeRef::namespace(cluster, ns),
                        w,
                    );
                }
            }
        }
    }
}
