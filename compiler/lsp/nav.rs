//! Named references: where a file names a network, cluster, namespace, workload or
//! service (every value whose schema type is `Ty::Ref`), which declaration each one
//! names, and what is known about that declaration (for hover); and the policy
//! presets (`preset="NAME"`), defined in the embedded `stdlib/presets.kdl`.
//!
//! Scopes follow `check::refs`: networks and clusters are project-wide, a namespace
//! belongs to the cluster of the node that names it (`cluster=`), workloads and
//! services to a namespace of that cluster (`namespace=`, or a `namespace` node
//! beside the reference, as in a policy peer).

use std::fmt::Write as _;

use super::syntax::{self, Node, Word};
use crate::alloc::{AllocKey, Allocation};
use crate::lower::schema::{NodeSpec, RefKind, Ty};
use crate::model::{DeclKind, Declaration, Model};

/// One named reference in a file.
#[derive(Debug, Clone)]
pub struct RefSite<'a> {
    pub kind: RefKind,
    pub word: &'a Word,
    pub cluster: Option<String>,
    pub namespace: Option<String>,
}

#[derive(Debug, Clone, Default)]
struct Cx {
    cluster: Option<String>,
    namespace: Option<String>,
}

/// Every named reference in an outline.
pub fn ref_sites(nodes: &[Node]) -> Vec<RefSite<'_>> {
    let mut out = Vec::new();
    for node in nodes {
        let Some(spec) = crate::lower::schema::top_level(&node.name.value) else {
            continue;
        };
        let cx = Cx {
            cluster: match node.name.value.as_str() {
                "cluster" => node.arg(0).map(|w| w.value.clone()),
                _ => node.prop("cluster").map(|w| w.value.clone()),
            },
            namespace: match node.name.value.as_str() {
                "namespace" => node.arg(0).map(|w| w.value.clone()),
                _ => node.prop("namespace").map(|w| w.value.clone()),
            },
        };
        walk(node, spec, &cx, &mut out);
    }
    out
}

fn walk<'a>(node: &'a Node, spec: &'static NodeSpec, cx: &Cx, out: &mut Vec<RefSite<'a>>) {
    // A `namespace=` beside a reference sets its namespace (`from workload="web"
    // namespace="ops"`), and so does a `namespace` node among the children.
    let mut inner = cx.clone();
    if let Some(ns) = node
        .prop("namespace")
        .filter(|_| node.name.value != "namespace")
    {
        inner.namespace = Some(ns.value.clone());
    }
    let site = |kind, word| RefSite {
        kind,
        word,
        cluster: inner.cluster.clone(),
        namespace: inner.namespace.clone(),
    };
    for (i, word) in node.args().enumerate() {
        if let Some(Ty::Ref(kind)) = syntax::arg_ty(spec, i) {
            out.push(site(kind, word));
        }
    }
    for entry in &node.entries {
        if let (Some(key), Some(value)) = (&entry.key, &entry.value) {
            if let Some(Ty::Ref(kind)) = syntax::prop_ty(spec, &key.value) {
                out.push(site(kind, value));
            }
        }
    }
    if let Some(ns) = node
        .children
        .iter()
        .find(|c| c.name.value == "namespace")
        .and_then(|c| c.arg(0))
    {
        inner.namespace = Some(ns.value.clone());
    }
    for child in &node.children {
        if let Some(c) = spec.child(&child.name.value) {
            walk(child, c.node, &inner, out);
        }
    }
}

fn matches_opt(want: &Option<String>, have: Option<&str>) -> bool {
    match (want, have) {
        (Some(w), Some(h)) => w == h,
        _ => true,
    }
}

/// The declarations a reference names: those of its kind and name in its scope
/// (when the scope is known; otherwise any of that kind and name).
pub fn resolve<'m>(model: &'m Model, site: &RefSite<'_>) -> Vec<&'m Declaration> {
    let kind = DeclKind::from_ref(site.kind);
    model
        .declarations
        .iter()
        .map(Box::as_ref)
        .filter(|d| d.kind == kind && d.name.value == site.word.value)
        .filter(|d| match kind {
            DeclKind::Network | DeclKind::Cluster => true,
            DeclKind::Namespace => matches_opt(&site.cluster, d.scope().cluster),
            _ => {
                matches_opt(&site.cluster, d.scope().cluster)
                    && matches_opt(&site.namespace, d.scope().namespace)
            }
        })
        .collect()
}

/// Whether two declarations are the same (kind, scope and name).
pub fn same(a: &Declaration, b: &Declaration) -> bool {
    a.kind == b.kind && a.scope() == b.scope() && a.name.value == b.name.value
}

/// What is known about a declaration, as Markdown: its settings and, when the
/// project has no errors, what the allocator gave it.
pub fn facts(model: &Model, alloc: Option<&Allocation>, decl: &Declaration) -> String {
    let name = decl.name.value.as_str();
    let cluster = decl.scope().cluster.unwrap_or("");
    let namespace = decl.scope().namespace.unwrap_or("");
    let mut out = format!("**{} `{name}`**", decl.kind.noun());
    if decl.kind != DeclKind::Network && decl.kind != DeclKind::Cluster {
        let _ = write!(out, " in {}", decl.scope());
    }
    out.push_str("\n\n");
    let not_allocated = "not allocated: the project has errors";
    match decl.kind {
        DeclKind::Network => {
            if let Some(n) = model.networks.iter().find(|n| n.name.value == name) {
                let _ = writeln!(out, "- switch: `{}`", n.switch.value);
                if let Some(p) = &n.prefix {
                    let _ = writeln!(out, "- prefix: `{}`", p.value);
                }
                if let Some(g) = &n.gateway {
                    let _ = writeln!(out, "- gateway: `{}`", g.value);
                }
                if let Some(r) = &n.node_ips {
                    let _ = writeln!(
                        out,
                        "- node addresses: `{}`–`{}`",
                        r.start.value, r.end.value
                    );
                }
                let _ = writeln!(
                    out,
                    "- VIP pool: `{}`–`{}`",
                    n.vips.start.value, n.vips.end.value
                );
            }
        }
        DeclKind::Cluster => {
            if let Some(c) = model.clusters.iter().find(|c| c.name.value == name) {
                let _ = writeln!(out, "- network: `{}`", c.network.value);
                let _ = writeln!(out, "- plugin: `{}`", c.plugin.value.as_str());
                let _ = writeln!(out, "- pod CIDR: `{}`", c.pod_cidr.value);
                let _ = writeln!(out, "- service CIDR: `{}`", c.service_cidr.value);
                for pool in &c.node_pools {
                    let _ = writeln!(
                        out,
                        "- node pool `{}`: {} × {} ({})",
                        pool.name.value,
                        pool.count.value,
                        pool.os.value.as_str(),
                        pool.vm_size.value
                    );
                }
                let api = alloc.and_then(|a| a.address(&AllocKey::ApiServer(name.to_string())));
                match api {
                    Some(a) => {
                        let _ = writeln!(out, "- API server address: `{a}`");
                    }
                    None => {
                        let _ = writeln!(out, "- API server address: {not_allocated}");
                    }
                }
            }
        }
        DeclKind::Namespace => {
            if let Some(ns) = model
                .namespaces
                .iter()
                .find(|n| n.name.value == name && n.cluster.value == cluster)
            {
                for l in &ns.labels.items {
                    let _ = writeln!(out, "- label `{}={}`", l.key.value, l.value.value);
                }
            }
        }
        DeclKind::Workload => {
            if let Some(w) = model.workloads.iter().find(|w| {
                w.name.value == name && w.cluster.value == cluster && w.namespace.value == namespace
            }) {
                let _ = writeln!(out, "- image: `{}`", w.image.value);
                let _ = writeln!(out, "- replicas: {}", w.replicas.value);
                for p in &w.ports {
                    let _ = writeln!(
                        out,
                        "- port `{}`: {}/{}",
                        p.name.value,
                        p.number.value,
                        p.protocol.value.as_str()
                    );
                }
            }
        }
        DeclKind::Service => {
            if let Some(s) = model.services.iter().find(|s| {
                s.name.value == name && s.cluster.value == cluster && s.namespace.value == namespace
            }) {
                let _ = writeln!(out, "- type: `{}`", s.kind.value.as_str());
                let key = AllocKey::Service(cluster.into(), namespace.into(), name.into());
                match (alloc.and_then(|a| a.address(&key)), &s.address) {
                    (Some(a), _) => {
                        let _ = writeln!(out, "- address: `{a}`");
                    }
                    (None, Some(pinned)) => {
                        let _ = writeln!(out, "- address: `{}` (pinned)", pinned.value);
                    }
                    (None, None) if alloc.is_none() => {
                        let _ = writeln!(out, "- address: {not_allocated}");
                    }
                    (None, None) => {}
                }
                for p in &s.ports {
                    let proto = p.protocol.value;
                    let _ = write!(out, "- port {}/{}", p.port.value, proto.as_str());
                    if let Some(t) = &p.target {
                        let _ = write!(out, " → `{}`", t.value);
                    }
                    let key = AllocKey::NodePort(
                        cluster.into(),
                        namespace.into(),
                        name.into(),
                        p.port.value,
                        proto,
                    );
                    if let Some(np) = alloc.and_then(|a| a.node_port(&key)) {
                        let _ = write!(out, ", NodePort {np}");
                    } else if let Some(np) = &p.node_port {
                        let _ = write!(out, ", NodePort {}", np.value);
                    }
                    out.push('\n');
                }
            }
        }
        DeclKind::Host | DeclKind::Ingress | DeclKind::Policy => {}
    }
    out.trim_end().to_string()
}

/// The `preset="NAME"` values of the policies of an outline.
pub fn preset_sites(nodes: &[Node]) -> Vec<&Word> {
    nodes
        .iter()
        .filter(|n| n.name.value == "policy")
        .filter_map(|n| n.prop("preset"))
        .collect()
}

/// The byte range of preset `name`'s name in `stdlib/presets.kdl`, and the text of
/// its definition (the comment above it included).
pub fn preset_definition(name: &str) -> Option<((usize, usize), &'static str)> {
    let text = crate::stdlib::PRESETS_KDL;
    let outline = syntax::outline(text);
    let node = outline
        .iter()
        .find(|n| n.name.value == "preset" && n.arg(0).is_some_and(|a| a.value == name))?;
    let arg = node.arg(0)?;
    // The definition with the `//` comment lines just above it.
    let mut start = text.get(..node.start)?.rfind('\n').map_or(0, |i| i + 1);
    while start > 0 {
        let prev_start = text.get(..start - 1)?.rfind('\n').map_or(0, |i| i + 1);
        let line = text.get(prev_start..start - 1)?;
        if !line.trim_start().starts_with("//") {
            break;
        }
        start = prev_start;
    }
    Some(((arg.start, arg.end), text.get(start..node.end)?))
}

/// A read-only copy of `stdlib/presets.kdl` in the temporary folder, for editors to
/// open at a preset's definition (the presets are embedded in the binary). Written
/// when missing or different; `None` when it cannot be written.
pub fn presets_file() -> Option<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("trellis-{}", env!("CARGO_PKG_VERSION")));
    let path = dir.join("presets.kdl");
    let text = crate::stdlib::PRESETS_KDL;
    if std::fs::read_to_string(&path).ok().as_deref() != Some(text) {
        std::fs::create_dir_all(&dir).ok()?;
        let tmp = dir.join(format!("presets.kdl.{}", std::process::id()));
        std::fs::write(&tmp, text).ok()?;
        // Read-only, so an edit in the editor is refused rather than lost.
        if let Ok(meta) = std::fs::metadata(&tmp) {
            let mut perms = meta.permissions();
            perms.set_readonly(true);
            let _ = std::fs::set_permissions(&tmp, perms);
        }
        std::fs::rename(&tmp, &path).ok()?;
    }
    Some(path)
}
