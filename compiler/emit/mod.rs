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
//! The Kubernetes and Calico objects come out one file each, a cluster at a time;
//! with [`Layout::Bundle`] each cluster's are then joined into one multi-document
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

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::OnceLock;

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
    pub content: Content,
}

/// The text of a generated file: one string, or parts that follow each other in the
/// file (a bundle's documents, a `haproxy.cfg` rendered in pieces). The output
/// writer writes the parts one after another, so a file of thousands of documents
/// is never copied into one string: at 10,000 services that copy was 18 MB of fresh
/// memory (docs/performance.md). Reading it as a `str` (tests, reports) joins the
/// parts once, on first use.
#[derive(Clone, Default)]
pub struct Content {
    parts: Vec<Cow<'static, str>>,
    joined: OnceLock<String>,
}

impl Content {
    /// The text made of `parts`, in order.
    pub fn from_parts(parts: Vec<Cow<'static, str>>) -> Content {
        Content {
            parts,
            joined: OnceLock::new(),
        }
    }

    /// The parts, in file order; their concatenation is the text.
    pub fn parts(&self) -> &[Cow<'static, str>] {
        &self.parts
    }

    /// The length of the text in bytes, without joining the parts (as `str::len`
    /// through `Deref` would).
    pub fn len(&self) -> usize {
        self.parts.iter().map(|p| p.len()).sum()
    }

    /// Whether the text is empty, without joining the parts.
    pub fn is_empty(&self) -> bool {
        self.parts.iter().all(|p| p.is_empty())
    }

    /// The whole text, owned: the one part itself, or the parts joined.
    pub fn into_string(self) -> String {
        let mut parts = self.parts;
        match parts.len() {
            1 => parts.pop().map(Cow::into_owned).unwrap_or_default(),
            _ => parts.concat(),
        }
    }

    /// The whole text. Joins the parts on first use when there are several.
    pub fn as_str(&self) -> &str {
        match self.parts.as_slice() {
            [] => "",
            [one] => one,
            parts => self.joined.get_or_init(|| parts.concat()),
        }
    }
}

impl From<String> for Content {
    fn from(text: String) -> Content {
        Content::from_parts(vec![Cow::Owned(text)])
    }
}

impl std::ops::Deref for Content {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Content {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<[u8]> for Content {
    fn as_ref(&self) -> &[u8] {
        self.as_str().as_bytes()
    }
}

impl PartialEq for Content {
    fn eq(&self, other: &Content) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Content {}

impl std::fmt::Debug for Content {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl std::fmt::Display for Content {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every artifact of the project, sorted by path.
pub fn emit_all(model: &Model, alloc: &Allocation, layout: Layout) -> Vec<Artifact> {
    let mut artifacts = Vec::new();
    emit_each(model, alloc, layout, &mut |made| artifacts.extend(made));
    artifacts.sort_by(|a, b| a.path.cmp(&b.path));
    artifacts
}

/// Every artifact of the project, handed to `sink` a group at a time as soon as the
/// group is made (each cluster's manifests with its kustomization, then the load
/// balancers', then the scripts), in no particular order: `trellis build` writes
/// each group and drops it, so a build never holds all its files at once.
pub fn emit_each(
    model: &Model,
    alloc: &Allocation,
    layout: Layout,
    sink: &mut dyn FnMut(Vec<Artifact>),
) {
    use crate::timing::stage;
    // What the emitters look up, made once, at once.
    let ((addresses, node_ports), workloads) = crate::par::join(
        || (alloc.address_map(), alloc.node_port_map()),
        || crate::model::index::WorkloadIndex::new(model),
    );
    let lookups = Lookups {
        addresses,
        node_ports,
        workloads,
    };
    // One cluster at a time: its manifests are made, bundled and handed over before
    // the next cluster's are made, so a build holds one cluster's documents, not
    // all of them (at 10,000 services in five clusters, 4 MB rather than 18 MB).
    // Every file is made from its own cluster's objects, so the files are the same.
    // The scripts apply exactly the files that exist.
    let mut paths: Vec<String> = Vec::new();
    for objects in Objects::by_cluster(model) {
        let mut manifests = stage("emit kubernetes", || {
            kubernetes::emit(model, &objects, &lookups)
        });
        manifests.extend(stage("emit policies", || {
            policy::emit(model, alloc, &objects.policies)
        }));
        if layout == Layout::Bundle {
            manifests = stage("bundle", || bundle(manifests));
        }
        manifests.extend(kubernetes::kustomizations(&manifests));
        paths.extend(manifests.iter().map(|a| a.path.clone()));
        sink(manifests);
    }
    sink(stage("emit haproxy", || haproxy::emit(model, &lookups)));
    sink(stage("emit powershell", || powershell::emit(model, &paths)));
}

/// The Kubernetes and Calico objects of one cluster (named by the objects'
/// `cluster`), each kind in model order.
#[derive(Default)]
pub(crate) struct Objects<'m> {
    pub namespaces: Vec<&'m crate::model::Namespace>,
    pub workloads: Vec<&'m crate::model::Workload>,
    pub services: Vec<&'m crate::model::Service>,
    pub ingresses: Vec<&'m crate::model::Ingress>,
    pub policies: Vec<&'m crate::model::Policy>,
}

impl<'m> Objects<'m> {
    /// The objects of `model`, a cluster at a time, by cluster name.
    fn by_cluster(model: &'m Model) -> Vec<Objects<'m>> {
        let mut clusters: BTreeMap<&str, Objects<'m>> = BTreeMap::new();
        for n in &model.namespaces {
            let at = clusters.entry(&n.cluster.value).or_default();
            at.namespaces.push(n);
        }
        for w in &model.workloads {
            let at = clusters.entry(&w.cluster.value).or_default();
            at.workloads.push(w);
        }
        for s in &model.services {
            let at = clusters.entry(&s.cluster.value).or_default();
            at.services.push(s);
        }
        for i in &model.ingresses {
            let at = clusters.entry(&i.cluster.value).or_default();
            at.ingresses.push(i);
        }
        for p in &model.policies {
            let at = clusters.entry(&p.cluster.value).or_default();
            at.policies.push(p);
        }
        clusters.into_values().collect()
    }
}

/// Every allocated address and node port by what it is for, and the workloads by
/// label: the Kubernetes and HAProxy emitters look up two or three per service.
pub(crate) struct Lookups<'a> {
    pub addresses: foldhash::HashMap<crate::alloc::KeyRef<'a>, std::net::IpAddr>,
    pub node_ports: foldhash::HashMap<crate::alloc::KeyRef<'a>, u16>,
    pub workloads: crate::model::index::WorkloadIndex<'a>,
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

/// A manifest's place in its stream: after the namespaces and tiers (`true`) or
/// among them, then its path after the stream's folder; then its index.
type Place<'a> = (bool, &'a str, usize);

/// Joins each cluster's Kubernetes files, and each cluster's Calico files, into one
/// stream of YAML documents in apply order. Every other artifact is kept as it is.
fn bundle(artifacts: Vec<Artifact>) -> Vec<Artifact> {
    // Every manifest by stream (`<cluster>/<folder>`), with its place in the stream:
    // its apply order, in which the path compares after the stream's shared prefix.
    let mut by_stream: BTreeMap<&str, Vec<Place>> = BTreeMap::new();
    for (i, a) in artifacts.iter().enumerate() {
        let Some((cluster, folder, _)) = manifest_folder(&a.path) else {
            continue;
        };
        let at = cluster.len() + 1 + folder.len();
        let (Some(stream), Some(rest)) = (a.path.get(..at), a.path.get(at..)) else {
            continue;
        };
        let (later, _) = apply_order(&a.path);
        by_stream
            .entry(stream)
            .or_default()
            .push((later != 0, rest, i));
    }
    // Each stream sorted by the next free core; the documents are then moved into
    // their streams, never copied.
    let by_stream: Vec<(&str, Vec<Place>)> = by_stream.into_iter().collect();
    let orders = crate::par::map_each(&by_stream, |(_, members)| {
        let mut members = members.clone();
        members.sort_unstable();
        members
            .into_iter()
            .map(|(_, _, i)| i)
            .collect::<Vec<usize>>()
    });
    let streams: Vec<(String, Vec<usize>)> = by_stream
        .iter()
        .map(|(stream, _)| stream.to_string())
        .zip(orders)
        .collect();
    let manifests: usize = streams.iter().map(|(_, members)| members.len()).sum();
    let mut out = Vec::with_capacity(streams.len() + artifacts.len() - manifests);
    let mut slots: Vec<Option<Artifact>> = artifacts.into_iter().map(Some).collect();
    for (stream, members) in streams {
        let file = if stream.ends_with("/kubernetes") {
            KUBERNETES_BUNDLE
        } else {
            CALICO_BUNDLE
        };
        // Each document after its separator.
        let mut parts = Vec::with_capacity(2 * members.len());
        for i in members {
            if let Some(document) = slots.get_mut(i).and_then(Option::take) {
                parts.push(Cow::Borrowed("---\n"));
                parts.extend(document.content.parts);
            }
        }
        out.push(Artifact {
            path: format!("{stream}/{file}"),
            content: Content::from_parts(parts),
        });
    }
    out.extend(slots.into_iter().flatten());
    out
}
