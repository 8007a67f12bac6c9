//! Emitters: the checked model and its allocation, turned into the files a
//! deployment needs. One module per target, one entry point each:
//!
//! - `kubernetes.rs`: Namespaces, Deployments, Services, Ingresses and a
//!   kustomization per cluster (`<cluster>/kubernetes/...`).
//! - `policy.rs`: each policy as a Kubernetes NetworkPolicy when that expresses it
//!   exactly, else a Calico NetworkPolicy or GlobalNetworkPolicy
//!   (`<cluster>/calico/...`).
//! - `haproxy.rs`: `haproxy.cfg` and `keepalived-<i>.conf` for each cluster's
//!   load-balancer VMs (`<cluster>/haproxy/...`), from `stdlib/templates/`.
//! - `powershell.rs`: `deploy.ps1` and `remove.ps1` for the AksHci module.
//! - `escape.rs`: quoting for HAProxy and keepalived; `yaml.rs`: YAML output.
//!
//! The Kubernetes and Calico objects come out one file each; with
//! [`Layout::Bundle`] they are then joined, per cluster, into one multi-document
//! stream per target, in the order they must be applied.
//!
//! Invariant: emitters read only `Model` and `Allocation`, run only when the project
//! has no errors, never re-validate and never report diagnostics. Every path they
//! produce is built from validated names (DNS labels), so no user string can leave
//! the output folder. Artifacts are sorted by path; no hash-map order reaches
//! output.

pub mod escape;
pub mod haproxy;
pub mod kubernetes;
pub mod policy;
pub mod powershell;
pub mod yaml;

use std::collections::BTreeMap;

use crate::alloc::Allocation;
use crate::model::Model;

/// How a cluster's Kubernetes and Calico objects are laid out in files.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Layout {
    /// One file per object: `<cluster>/kubernetes/<namespace>/<kind>-<name>.yaml`
    /// and `<cluster>/calico/...`.
    #[default]
    Files,
    /// One multi-document YAML stream per cluster and target:
    /// `<cluster>/kubernetes/manifests.yaml` and `<cluster>/calico/policies.yaml`,
    /// holding the same documents in the order they must be applied.
    Bundle,
}

/// The file of a cluster's Kubernetes objects in [`Layout::Bundle`], relative to
/// `<cluster>/kubernetes/`.
pub const KUBERNETES_BUNDLE: &str = "manifests.yaml";
/// The file of a cluster's Calico objects in [`Layout::Bundle`], relative to
/// `<cluster>/calico/`.
pub const CALICO_BUNDLE: &str = "policies.yaml";

/// One generated file: its path relative to the output folder (forward slashes) and
/// its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    pub path: String,
    pub content: String,
}

/// Every artifact of the project, sorted by path.
pub fn emit_all(model: &Model, alloc: &Allocation, layout: Layout) -> Vec<Artifact> {
    use crate::timing::stage;
    let mut artifacts = stage("emit kubernetes", || kubernetes::emit(model, alloc));
    artifacts.extend(stage("emit policies", || policy::emit(model, alloc)));
    if layout == Layout::Bundle {
        artifacts = stage("bundle", || bundle(artifacts));
    }
    let kustomizations = kubernetes::kustomizations(&artifacts);
    artifacts.extend(kustomizations);
    artifacts.extend(stage("emit haproxy", || haproxy::emit(model, alloc)));
    let scripts = stage("emit powershell", || powershell::emit(model, &artifacts));
    artifacts.extend(scripts);
    artifacts.sort_by(|a, b| a.path.cmp(&b.path));
    artifacts
}

/// A template engine for one built-in template (`stdlib/templates`), escaping every
/// value with `escape_fn`.
///
/// The built-in templates are part of the binary and rendered for every example in
/// the tests, so only a bug in trellis can make this or [`render`] fail. A build
/// must then stop rather than leave the file out: both panic, which the command line
/// reports as an internal error (exit code 2) before anything is written.
pub(crate) fn engine(name: &str, template: &str, escape_fn: tera::EscapeFn) -> tera::Tera {
    let mut tera = tera::Tera::new();
    tera.autoescape_on(vec![name.to_string()]);
    tera.set_escape_fn(escape_fn);
    if let Err(e) = tera.add_raw_template(name, template) {
        panic!("internal error: the built-in template {name} does not compile: {e:?}");
    }
    tera
}

/// Renders the built-in template `name` of `tera` (see [`engine`]).
pub(crate) fn render(tera: &tera::Tera, name: &str, context: &tera::Context) -> String {
    render_sized(tera, name, None, context, 8 * 1024)
}

/// [`render`] into a buffer of `capacity` bytes, for a file whose size is roughly
/// known in advance (a load balancer's thousands of frontends): a megabyte grown
/// step by step touches fresh memory at every step. With `block`, only that block
/// of the template: a long file rendered in pieces.
pub(crate) fn render_sized(
    tera: &tera::Tera,
    name: &str,
    block: Option<&str>,
    context: &tera::Context,
    capacity: usize,
) -> String {
    let mut out = Vec::with_capacity(capacity);
    let rendered = match block {
        None => tera.render_to(name, context, &mut out),
        Some(block) => tera.render_block_to(name, block, context, &mut out),
    };
    let text = rendered
        .map_err(|e| format!("{e:?}"))
        .and_then(|()| String::from_utf8(out).map_err(|e| format!("{e:?}")));
    match text {
        Ok(text) => text,
        Err(e) => panic!("internal error: the built-in template {name} did not render: {e}"),
    }
}

/// The cluster, the folder (`kubernetes` or `calico`) and the rest of a manifest's
/// path; `None` for other outputs. Read from the first two segments only: a
/// namespace may be named `kubernetes` or `calico` (`c/calico/kubernetes/...` is a
/// Calico policy of namespace `kubernetes`).
pub(crate) fn manifest_folder(path: &str) -> Option<(&str, &str, &str)> {
    let mut parts = path.splitn(3, '/');
    let (cluster, folder, rest) = (parts.next()?, parts.next()?, parts.next()?);
    matches!(folder, "kubernetes" | "calico").then_some((cluster, folder, rest))
}

/// Where a manifest goes when applied: Namespaces before the objects in them, and
/// the Calico tier before the policies in it; then by path. Used for the
/// kustomization's list, the order `deploy.ps1` applies Calico files in, and the
/// order of documents in a bundle.
pub(crate) fn apply_order(path: &str) -> (u8, &str) {
    let file = path.rsplit('/').next().unwrap_or(path);
    let first = file == "namespace.yaml" || file.starts_with("tier-");
    (u8::from(!first), path)
}

/// Joins each cluster's Kubernetes files, and each cluster's Calico files, into one
/// stream of YAML documents in apply order. Every other artifact is kept as it is.
fn bundle(artifacts: Vec<Artifact>) -> Vec<Artifact> {
    let mut kept = Vec::new();
    let mut streams: BTreeMap<String, Vec<Artifact>> = BTreeMap::new();
    for a in artifacts {
        let target = manifest_folder(&a.path).map(|(cluster, folder, _)| {
            let file = if folder == "kubernetes" {
                KUBERNETES_BUNDLE
            } else {
                CALICO_BUNDLE
            };
            format!("{cluster}/{folder}/{file}")
        });
        match target {
            Some(path) => streams.entry(path).or_default().push(a),
            None => kept.push(a),
        }
    }
    // The streams, one share per core.
    let streams: Vec<(String, Vec<Artifact>)> = streams.into_iter().collect();
    kept.extend(crate::par::flat_map(&streams, |(path, documents)| {
        let mut documents: Vec<&Artifact> = documents.iter().collect();
        documents.sort_by(|a, b| apply_order(&a.path).cmp(&apply_order(&b.path)));
        let size = documents.iter().map(|d| d.content.len() + 4).sum();
        let mut content = String::with_capacity(size);
        for d in documents {
            content.push_str("---\n");
            content.push_str(&d.content);
        }
        vec![Artifact {
            path: path.clone(),
            content,
        }]
    }));
    kept
}
