//! Reading an existing deployment: a folder of Kubernetes YAML (`trellis matrix
//! --manifests DIR`) becomes a `Model` of one cluster that the reachability engine
//! (`crate::reach`) decides on, exactly as it does for a trellis project.
//!
//! ```text
//!  folder ──load──▶ Sources ──yaml──▶ documents (nodes with lines)
//!                                        │ objects: Namespaces, workloads, NetworkPolicies
//!                                        ▼
//!                   Model (cluster `manifests`) ──reach::Engine──▶ matrix (+ external ranges)
//! ```
//!
//! What is read (everything else is skipped with a note naming kind and place):
//! - `Namespace` (v1): its labels; `kubernetes.io/metadata.name` is implicit on every
//!   namespace, and a namespace used but not declared has only that label.
//! - Workloads: `Deployment`, `StatefulSet`, `DaemonSet`, `ReplicaSet` (apps/v1; the
//!   pod template's labels and container ports, named ports included) and bare
//!   `Pod`s. A Pod or ReplicaSet whose controlling `ownerReference` names a declared
//!   workload of the same namespace is part of it (Pod → ReplicaSet → Deployment).
//! - `NetworkPolicy` (networking.k8s.io/v1), translated to unordered policies (what
//!   Kubernetes policies are): `policyTypes` defaulted as the API server does (Ingress,
//!   plus Egress when egress rules are present), full label selectors
//!   (`matchLabels` and `matchExpressions`), peers, ipBlock with `except`, ports with
//!   named ports and `endPort`. Each listed direction isolates the selected pods: the
//!   translation ends it with an unconditional deny, the engine's form of isolation.
//! - `List` (v1): its `items`, each read as a document.
//!
//! Objects without a namespace are in `default`. A malformed document (not YAML,
//! missing kind or name, a bad selector operator, CIDR or port) is a `Problem` with
//! its place; the document is then left out, and the caller must not print a matrix.
//! Calico resources (`projectcalico.org/v3`) are not read: they are skipped with a
//! note, as their verdicts are not part of the matrix.
//!
//! Invariant: pure apart from `load`; the same files give the same model, notes and
//! problems, in file order.

pub mod matrix;
pub mod ranges;
pub mod yaml;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use ipnet::IpNet;

use crate::load::LoadError;
use crate::model::{
    Action, Cluster, ControlPlane, Direction, IpFamily, Label, LabelRequirement, Labels, LbSku,
    LoadBalancer, Model, Namespace, Os, Peer, Plugin, Policy, PolicyRule, PolicyTarget, PortRef,
    Protocol, RulePort, RuleProtocol, SelectorOp, Workload, WorkloadPort,
};
use crate::source::{FileId, Sources, Span, Spanned};
use yaml::{Node, Value};

/// Files larger than this are refused (a problem, not read).
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// The name of the one cluster the model of a manifest folder holds.
pub const CLUSTER: &str = "manifests";

/// Something said about the input, with its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub span: Span,
    pub message: String,
}

/// A manifest folder read into a model.
#[derive(Debug)]
pub struct Manifests {
    pub sources: Sources,
    /// One cluster (`CLUSTER`), its namespaces, workloads and policies.
    pub model: Model,
    /// Skipped objects and implicit namespaces.
    pub notes: Vec<Message>,
    /// Malformed input; the model is incomplete when there are any.
    pub problems: Vec<Message>,
}

impl Manifests {
    /// The cluster of the model.
    pub fn cluster(&self) -> Option<&Cluster> {
        self.model.clusters.first()
    }
}

/// Loads every `*.yaml` / `*.yml` below `path` (or the one file `path`), sorted by
/// path relative to it; hidden files and folders are skipped. Files that are too
/// large or not UTF-8 are added empty, with a problem.
pub fn load(path: &Path) -> Result<(Sources, Vec<Message>), LoadError> {
    let io_error = |p: &Path, e: std::io::Error| LoadError {
        path: p.to_path_buf(),
        message: e.to_string(),
    };
    let meta = std::fs::metadata(path).map_err(|e| io_error(path, e))?;
    let mut files = Vec::new();
    if meta.is_file() {
        files.push((
            path.to_string_lossy().replace('\\', "/"),
            path.to_path_buf(),
        ));
    } else {
        let walker = walkdir::WalkDir::new(path)
            .follow_links(false)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
        for entry in walker {
            let entry = entry.map_err(|e| LoadError {
                path: e
                    .path()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| path.into()),
                message: e.to_string(),
            })?;
            let ext = entry.path().extension().and_then(|e| e.to_str());
            if !entry.file_type().is_file() || !matches!(ext, Some("yaml" | "yml")) {
                continue;
            }
            let rel = crate::load::relative_path(path, entry.path());
            files.push((rel, entry.path().to_path_buf()));
        }
        files.sort();
    }
    let mut sources = Sources::new();
    let mut problems = Vec::new();
    for (rel, full) in files {
        let len = std::fs::metadata(&full)
            .map_err(|e| io_error(&full, e))?
            .len();
        if len > MAX_FILE_BYTES {
            let id = sources.add(rel, String::new());
            problems.push(Message {
                span: Span::new(id, 0, 0),
                message: format!(
                    "file is {len} bytes, more than the {MAX_FILE_BYTES} bytes trellis reads"
                ),
            });
            continue;
        }
        let bytes = std::fs::read(&full).map_err(|e| io_error(&full, e))?;
        add_bytes(&mut sources, &mut problems, rel, bytes);
    }
    Ok((sources, problems))
}

/// Adds a file's bytes to `sources`; a problem when they are not UTF-8 or too many.
pub fn add_bytes(sources: &mut Sources, problems: &mut Vec<Message>, path: String, bytes: Vec<u8>) {
    if bytes.len() as u64 > MAX_FILE_BYTES {
        let id = sources.add(path, String::new());
        problems.push(Message {
            span: Span::new(id, 0, 0),
            message: format!(
                "file is {} bytes, more than the {MAX_FILE_BYTES} bytes trellis reads",
                bytes.len()
            ),
        });
        return;
    }
    match String::from_utf8(bytes) {
        Ok(text) => {
            sources.add(path, text);
        }
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let lossy = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let id = sources.add(path, lossy);
            problems.push(Message {
                span: Span::new(id, at, at),
                message: "file is not UTF-8 text".into(),
            });
        }
    }
}

/// Reads the loaded files into a model.
pub fn read(sources: Sources, mut problems: Vec<Message>) -> Manifests {
    let skip: BTreeSet<FileId> = problems.iter().map(|p| p.span.file).collect();
    let mut r = Reader {
        sources: &sources,
        file: FileId(0),
        line_starts: Vec::new(),
        notes: Vec::new(),
        problems: Vec::new(),
        namespaces: BTreeMap::new(),
        objects: Vec::new(),
        policies: Vec::new(),
    };
    let files: Vec<(FileId, &str)> = sources
        .iter()
        .filter(|(id, _)| !skip.contains(id))
        .map(|(id, f)| (id, f.text.as_str()))
        .collect();
    let texts: Vec<&str> = files.iter().map(|(_, t)| *t).collect();
    let parsed = yaml::parse_all(&texts);
    for ((id, text), result) in files.iter().zip(parsed) {
        r.file = *id;
        r.line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        match result {
            Ok(docs) => {
                for doc in &docs {
                    r.document(doc, true);
                }
            }
            Err(e) => {
                let span = r.span_at(e.line, e.column);
                r.problems.push(Message {
                    span,
                    message: format!("not valid YAML: {}", first_line(&e.message)),
                });
            }
        }
    }
    let model = r.finish();
    let Reader {
        notes,
        problems: more,
        ..
    } = r;
    problems.extend(more);
    // By file and place, as diagnostics are.
    let mut notes = notes;
    notes.sort_by_key(|m| (m.span.file, m.span.start));
    problems.sort_by_key(|m| (m.span.file, m.span.start));
    Manifests {
        sources,
        model,
        notes,
        problems,
    }
}

/// Loads and reads a folder.
pub fn read_dir(path: &Path) -> Result<Manifests, LoadError> {
    let (sources, problems) = load(path)?;
    Ok(read(sources, problems))
}

/// The first line of a parser message, without the place it names (the caller
/// prints the place).
fn first_line(message: &str) -> &str {
    let line = message.lines().next().unwrap_or(message).trim();
    match line.rfind(" at line ") {
        Some(i) => line.get(..i).unwrap_or(line),
        None => line,
    }
}

const WORKLOAD_KINDS: [&str; 5] = [
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "Pod",
];

/// A workload object before grouping.
struct Object {
    kind: &'static str,
    namespace: Spanned<String>,
    name: Spanned<String>,
    /// The controlling owner: (kind, name).
    owner: Option<(String, String)>,
    labels: Labels,
    ports: Vec<WorkloadPort>,
    image: Spanned<String>,
    replicas: Spanned<u32>,
    os: Spanned<Os>,
}

/// A problem was reported; the document is left out.
struct Reported;

type Res<T> = Result<T, Reported>;

struct Reader<'s> {
    sources: &'s Sources,
    file: FileId,
    line_starts: Vec<usize>,
    notes: Vec<Message>,
    problems: Vec<Message>,
    /// Declared namespaces: labels, and the place of the declaration.
    namespaces: BTreeMap<String, (Labels, Span)>,
    objects: Vec<Object>,
    policies: Vec<Policy>,
}

impl Reader<'_> {
    fn span_at(&self, line: usize, column: usize) -> Span {
        let text = self
            .sources
            .get(self.file)
            .map(|f| f.text.as_str())
            .unwrap_or("");
        let start = self
            .line_starts
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or(0);
        let offset = text
            .get(start..)
            .and_then(|rest| rest.char_indices().nth(column.saturating_sub(1)))
            .map_or(start, |(i, _)| start + i);
        Span::new(self.file, offset, offset)
    }

    fn span(&self, node: &Node) -> Span {
        self.span_at(node.line, node.column)
    }

    fn problem(&mut self, node: &Node, message: String) -> Reported {
        let span = self.span(node);
        self.problems.push(Message { span, message });
        Reported
    }

    fn note(&mut self, span: Span, message: String) {
        self.notes.push(Message { span, message });
    }

    /// A string field, required.
    fn string(&mut self, parent: &Node, key: &str, what: &str) -> Res<Spanned<String>> {
        match parent.get(key) {
            Some(n) => match n.as_str() {
                Some(s) if !s.is_empty() => Ok(Spanned::new(s.to_string(), self.span(n))),
                _ => {
                    // YAML 1.1, as Kubernetes reads it: `n`, `yes`, `on`, `1` are
                    // not strings.
                    let hint = match n.value {
                        Value::Bool(_) | Value::Int(_) | Value::Float(_) => " (quote it)",
                        _ => "",
                    };
                    Err(self.problem(
                        n,
                        format!(
                            "{what} must be a non-empty string, not {}{hint}",
                            n.describe()
                        ),
                    ))
                }
            },
            None => Err(self.problem(parent, format!("{what} is missing"))),
        }
    }

    /// A string field, optional.
    fn opt_string(&mut self, parent: &Node, key: &str, what: &str) -> Res<Option<Spanned<String>>> {
        match parent.get(key) {
            None => Ok(None),
            Some(n) if n.is_null() => Ok(None),
            Some(_) => self.string(parent, key, what).map(Some),
        }
    }

    /// A mapping field, optional (null counts as absent).
    fn opt_map<'n>(&mut self, parent: &'n Node, key: &str, what: &str) -> Res<Option<&'n Node>> {
        match parent.get(key) {
            None => Ok(None),
            Some(n) if n.is_null() => Ok(None),
            Some(n) if matches!(n.value, Value::Map(_)) => Ok(Some(n)),
            Some(n) => {
                Err(self.problem(n, format!("{what} must be a mapping, not {}", n.describe())))
            }
        }
    }

    /// A list field, optional (null counts as empty).
    fn list<'n>(&mut self, parent: &'n Node, key: &str, what: &str) -> Res<&'n [Node]> {
        match parent.get(key) {
            None => Ok(&[]),
            Some(n) => match &n.value {
                Value::Null => Ok(&[]),
                Value::Seq(items) => Ok(items),
                _ => Err(self.problem(n, format!("{what} must be a list, not {}", n.describe()))),
            },
        }
    }

    /// Refuses keys other than `allowed` in a mapping where a misspelt key would
    /// silently change what a policy means.
    fn only_keys(&mut self, node: &Node, allowed: &[&str], what: &str) -> Res<()> {
        if let Value::Map(entries) = &node.value {
            for (k, _) in entries {
                match k.as_str() {
                    Some(key) if allowed.contains(&key) => {}
                    Some(key) => {
                        return Err(self.problem(
                            k,
                            format!(
                                "unknown field `{key}` in {what} (expected one of: {})",
                                allowed.join(", ")
                            ),
                        ))
                    }
                    None => {
                        return Err(
                            self.problem(k, format!("{what} has a key that is not a string"))
                        )
                    }
                }
            }
        }
        Ok(())
    }

    /// A `key: value` map of strings, sorted by key.
    fn string_map(&mut self, node: Option<&Node>, what: &str) -> Res<Vec<Label>> {
        let Some(node) = node.filter(|n| !n.is_null()) else {
            return Ok(Vec::new());
        };
        let Value::Map(entries) = &node.value else {
            return Err(self.problem(
                node,
                format!("{what} must be a mapping, not {}", node.describe()),
            ));
        };
        let mut sorted = BTreeMap::new();
        for (k, v) in entries {
            let Some(key) = k.as_str() else {
                return Err(self.problem(
                    k,
                    format!("a key of {what} must be a string, not {}", k.describe()),
                ));
            };
            let Some(value) = v.as_str() else {
                return Err(self.problem(
                    v,
                    format!(
                        "the value of `{key}` in {what} must be a string, not {} (quote it)",
                        v.describe()
                    ),
                ));
            };
            sorted.insert(
                key.to_string(),
                Label {
                    key: Spanned::new(key.to_string(), self.span(k)),
                    value: Spanned::new(value.to_string(), self.span(v)),
                },
            );
        }
        Ok(sorted.into_values().collect())
    }

    /// One document (or `List` item).
    fn document(&mut self, doc: &Node, top: bool) {
        let _ = self.object(doc, top);
    }

    fn object(&mut self, doc: &Node, top: bool) -> Res<()> {
        if !matches!(doc.value, Value::Map(_)) {
            return Err(self.problem(
                doc,
                format!(
                    "a Kubernetes object must be a mapping, not {}",
                    doc.describe()
                ),
            ));
        }
        let kind = self.string(doc, "kind", "`kind`")?;
        let api = self.string(doc, "apiVersion", "`apiVersion`")?;
        let known = match (api.value.as_str(), kind.value.as_str()) {
            ("v1", "List") if top => {
                let items = self.list(doc, "items", "`items` of a List")?;
                for item in items {
                    self.document(item, false);
                }
                return Ok(());
            }
            ("v1", "Namespace") => true,
            ("v1", "Pod") => true,
            ("apps/v1", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet") => true,
            ("networking.k8s.io/v1", "NetworkPolicy") => true,
            _ => false,
        };
        if !known {
            let why = if api.value.starts_with("projectcalico.org/")
                || api.value.starts_with("crd.projectcalico.org/")
            {
                " (Calico resources are not read; the matrix leaves them out)"
            } else {
                ""
            };
            self.note(
                kind.span,
                format!(
                    "skipped {} {}{why}",
                    kind.value.escape_debug(),
                    api.value.escape_debug()
                ),
            );
            return Ok(());
        }
        let Some(meta) = self.opt_map(doc, "metadata", "`metadata`")? else {
            return Err(self.problem(doc, format!("{} has no `metadata`", kind.value)));
        };
        let name = self.string(meta, "name", "`metadata.name`")?;
        let label_only = kind.value == "Namespace";
        if !is_dns_name(&name.value, label_only) {
            return Err(self.problem_at(
                name.span,
                format!(
                    "`{}` is not a valid {} name ({})",
                    name.value.escape_debug(),
                    kind.value,
                    if label_only {
                        "at most 63 lowercase letters, digits and `-`, starting and ending with a letter or digit"
                    } else {
                        "at most 253 lowercase letters, digits, `-` and `.`, starting and ending with a letter or digit"
                    }
                ),
            ));
        }
        match kind.value.as_str() {
            "Namespace" => self.namespace(meta, name),
            "NetworkPolicy" => {
                let ns = self.object_namespace(meta)?;
                self.network_policy(doc, ns, name)
            }
            k => {
                let ns = self.object_namespace(meta)?;
                let kind = WORKLOAD_KINDS
                    .iter()
                    .copied()
                    .find(|w| *w == k)
                    .unwrap_or("Pod");
                self.workload(doc, meta, kind, ns, name)
            }
        }
    }

    fn object_namespace(&mut self, meta: &Node) -> Res<Spanned<String>> {
        match self.opt_string(meta, "namespace", "`metadata.namespace`")? {
            Some(ns) if !is_dns_name(&ns.value, true) => Err(self.problem_at(
                ns.span,
                format!(
                    "`{}` is not a valid namespace name (at most 63 lowercase letters, digits and `-`, starting and ending with a letter or digit)",
                    ns.value.escape_debug()
                ),
            )),
            Some(ns) => Ok(ns),
            None => Ok(Spanned::new("default".to_string(), self.span(meta))),
        }
    }

    fn namespace(&mut self, meta: &Node, name: Spanned<String>) -> Res<()> {
        let items = self.string_map(meta.get("labels"), "`metadata.labels`")?;
        if let Some((_, first)) = self.namespaces.get(&name.value) {
            let first = *first;
            self.problems.push(Message {
                span: name.span,
                message: format!(
                    "Namespace `{}` is declared twice (first at {})",
                    name.value,
                    self.place(first)
                ),
            });
            return Err(Reported);
        }
        let labels = Labels {
            items,
            expressions: Vec::new(),
            span: Some(name.span),
        };
        self.namespaces.insert(name.value, (labels, name.span));
        Ok(())
    }

    /// `path:line` of a span, for messages that point at a second place.
    fn place(&self, span: Span) -> String {
        match self.sources.get(span.file) {
            Some(f) => {
                let (line, _) = f.line_col(span.start as usize);
                format!("{}:{line}", f.path)
            }
            None => "?".into(),
        }
    }

    fn workload(
        &mut self,
        doc: &Node,
        meta: &Node,
        kind: &'static str,
        namespace: Spanned<String>,
        name: Spanned<String>,
    ) -> Res<()> {
        let owner = self.owner(meta)?;
        let spec = self.opt_map(doc, "spec", "`spec`")?;
        let (pod_meta, pod_spec, replicas) = if kind == "Pod" {
            (Some(meta), spec, None)
        } else {
            let Some(spec) = spec else {
                return Err(self.problem(doc, format!("{kind} `{}` has no `spec`", name.value)));
            };
            let Some(template) = self.opt_map(spec, "template", "`spec.template`")? else {
                return Err(self.problem(
                    spec,
                    format!("{kind} `{}` has no `spec.template`", name.value),
                ));
            };
            let replicas = match spec.get("replicas") {
                None => None,
                Some(n) => match n.value {
                    Value::Null => None,
                    Value::Int(i) if (0..=i128::from(u32::MAX)).contains(&i) => {
                        Some(Spanned::new(u32::try_from(i).unwrap_or(0), self.span(n)))
                    }
                    _ => {
                        return Err(self.problem(
                            n,
                            format!("`replicas` must be a count, not {}", n.describe()),
                        ))
                    }
                },
            };
            (
                self.opt_map(template, "metadata", "`spec.template.metadata`")?,
                self.opt_map(template, "spec", "`spec.template.spec`")?,
                replicas,
            )
        };
        let labels = Labels {
            items: self.string_map(pod_meta.and_then(|m| m.get("labels")), "the pod labels")?,
            expressions: Vec::new(),
            span: Some(name.span),
        };
        let mut ports: Vec<WorkloadPort> = Vec::new();
        let mut image = Spanned::new(String::new(), name.span);
        let mut os = Spanned::new(Os::Linux, name.span);
        if let Some(pod_spec) = pod_spec {
            let containers = self.list(pod_spec, "containers", "`containers`")?;
            for (i, c) in containers.iter().enumerate() {
                if i == 0 {
                    if let Some(img) = self.opt_string(c, "image", "`image`")? {
                        image = img;
                    }
                }
                for p in self.list(c, "ports", "`ports` of a container")? {
                    let port = self.container_port(p)?;
                    if !ports.iter().any(|q| {
                        q.number.value == port.number.value
                            && q.protocol.value == port.protocol.value
                    }) {
                        ports.push(port);
                    }
                }
            }
            if let Some(sel) = self.opt_map(pod_spec, "nodeSelector", "`nodeSelector`")? {
                if let Some(n) = sel.get("kubernetes.io/os") {
                    if n.as_str() == Some("windows") {
                        os = Spanned::new(Os::Windows, self.span(n));
                    }
                }
            }
        }
        let replicas = replicas.unwrap_or_else(|| Spanned::new(1, name.span));
        self.objects.push(Object {
            kind,
            namespace,
            name,
            owner,
            labels,
            ports,
            image,
            replicas,
            os,
        });
        Ok(())
    }

    /// The controlling owner reference (or the only one).
    fn owner(&mut self, meta: &Node) -> Res<Option<(String, String)>> {
        let refs = self.list(meta, "ownerReferences", "`ownerReferences`")?;
        let mut chosen = None;
        for r in refs {
            let kind = self.string(r, "kind", "the `kind` of an owner reference")?;
            let name = self.string(r, "name", "the `name` of an owner reference")?;
            let controller = matches!(
                r.get("controller").map(|n| &n.value),
                Some(Value::Bool(true))
            );
            if controller || refs.len() == 1 {
                chosen = Some((kind.value, name.value));
            }
        }
        Ok(chosen)
    }

    fn container_port(&mut self, p: &Node) -> Res<WorkloadPort> {
        let Some(number) = p.get("containerPort") else {
            return Err(self.problem(p, "a container port has no `containerPort`".into()));
        };
        let value = match number.value {
            Value::Int(i) if (1..=65535).contains(&i) => u16::try_from(i).unwrap_or(0),
            _ => {
                return Err(self.problem(
                    number,
                    format!(
                        "`containerPort` must be a number from 1 to 65535, not {}",
                        value_text(number)
                    ),
                ))
            }
        };
        let protocol = self.protocol(p)?;
        let name = match self.opt_string(p, "name", "the `name` of a container port")? {
            Some(n) => {
                if !is_port_name(&n.value) {
                    return Err(self.problem_at(n.span, format!("`{}` is not a valid port name (1 to 15 lowercase letters, digits and `-`, with a letter)", n.value)));
                }
                n
            }
            None => Spanned::new(String::new(), self.span(number)),
        };
        Ok(WorkloadPort {
            name,
            number: Spanned::new(value, self.span(number)),
            protocol,
        })
    }

    fn problem_at(&mut self, span: Span, message: String) -> Reported {
        self.problems.push(Message { span, message });
        Reported
    }

    /// `protocol` of a port, TCP when absent.
    fn protocol(&mut self, p: &Node) -> Res<Spanned<Protocol>> {
        match p.get("protocol") {
            None => Ok(Spanned::new(Protocol::Tcp, self.span(p))),
            Some(n) => {
                let protocol = match n.as_str() {
                    Some("TCP") => Protocol::Tcp,
                    Some("UDP") => Protocol::Udp,
                    Some("SCTP") => Protocol::Sctp,
                    _ => {
                        return Err(self.problem(
                            n,
                            format!("`protocol` must be TCP, UDP or SCTP, not {}", value_text(n)),
                        ))
                    }
                };
                Ok(Spanned::new(protocol, self.span(n)))
            }
        }
    }

    fn network_policy(
        &mut self,
        doc: &Node,
        namespace: Spanned<String>,
        name: Spanned<String>,
    ) -> Res<()> {
        let Some(spec) = self.opt_map(doc, "spec", "`spec`")? else {
            return Err(self.problem(doc, format!("NetworkPolicy `{}` has no `spec`", name.value)));
        };
        self.only_keys(
            spec,
            &["podSelector", "policyTypes", "ingress", "egress"],
            "a NetworkPolicy spec",
        )?;
        // Required by the API: `{}` selects every pod, a missing one is a mistake.
        let pods = match spec.get("podSelector") {
            Some(n) if !n.is_null() => self.selector(n, "`podSelector`")?,
            _ => {
                return Err(self.problem(
                    spec,
                    "`spec.podSelector` is missing (`podSelector: {}` selects every pod of the namespace)".into(),
                ))
            }
        };
        let ingress = self.list(spec, "ingress", "`ingress`")?;
        let egress = self.list(spec, "egress", "`egress`")?;
        let types: Vec<Spanned<Direction>> = match spec.get("policyTypes") {
            Some(n) if !n.is_null() => {
                let items = self.list(spec, "policyTypes", "`policyTypes`")?;
                let mut types = Vec::new();
                for t in items {
                    let d = match t.as_str() {
                        Some("Ingress") => Direction::Ingress,
                        Some("Egress") => Direction::Egress,
                        _ => {
                            return Err(self.problem(
                                t,
                                format!(
                                    "a policy type is `Ingress` or `Egress`, not {}",
                                    value_text(t)
                                ),
                            ))
                        }
                    };
                    if !types.iter().any(|x: &Spanned<Direction>| x.value == d) {
                        types.push(Spanned::new(d, self.span(t)));
                    }
                }
                if types.is_empty() {
                    let span = self.span(n);
                    types.push(Spanned::new(Direction::Ingress, span));
                    if !egress.is_empty() {
                        types.push(Spanned::new(Direction::Egress, span));
                    }
                }
                types
            }
            // The API server's default: Ingress, and Egress when egress rules exist.
            _ => {
                let mut types = vec![Spanned::new(Direction::Ingress, name.span)];
                if !egress.is_empty() {
                    types.push(Spanned::new(Direction::Egress, name.span));
                }
                types
            }
        };
        let mut rules = Vec::new();
        for t in &types {
            let (list, peers_key) = match t.value {
                Direction::Ingress => (ingress, "from"),
                Direction::Egress => (egress, "to"),
            };
            for rule in list {
                self.rule(rule, t.value, peers_key, &mut rules)?;
            }
            // Listing a direction isolates the selected pods in it.
            rules.push(PolicyRule {
                span: t.span,
                action: Spanned::new(Action::Deny, t.span),
                direction: Spanned::new(t.value, t.span),
                peers: Vec::new(),
                ports: Vec::new(),
                protocol: None,
                icmp: None,
            });
        }
        self.policies.push(Policy {
            name,
            cluster: Spanned::new(CLUSTER.to_string(), namespace.span),
            namespace: Some(namespace),
            global: Spanned::new(false, Span::new(self.file, 0, 0)),
            order: None,
            target: Spanned::new(PolicyTarget::Kubernetes, Span::new(self.file, 0, 0)),
            pods: Some(pods),
            workloads: Vec::new(),
            rules,
        });
        Ok(())
    }

    /// One ingress or egress rule, as one trellis rule per port protocol shape: the
    /// numbered and named ports together, and one rule per protocol-only entry.
    fn rule(
        &mut self,
        rule: &Node,
        direction: Direction,
        peers_key: &str,
        out: &mut Vec<PolicyRule>,
    ) -> Res<()> {
        if rule.is_null() {
            return Err(self.problem(
                rule,
                "a rule must be a mapping (`{}` allows everything), not null".into(),
            ));
        }
        if !matches!(rule.value, Value::Map(_)) {
            return Err(self.problem(
                rule,
                format!("a rule must be a mapping, not {}", rule.describe()),
            ));
        }
        self.only_keys(rule, &[peers_key, "ports"], "a rule")?;
        let mut peers = Vec::new();
        for p in self.list(rule, peers_key, peers_key)? {
            peers.push(self.peer(p)?);
        }
        let span = self.span(rule);
        let base = |ports: Vec<RulePort>, protocol: Option<Spanned<RuleProtocol>>| PolicyRule {
            span,
            action: Spanned::new(Action::Allow, span),
            direction: Spanned::new(direction, span),
            peers: peers.clone(),
            ports,
            protocol,
            icmp: None,
        };
        let entries = self.list(rule, "ports", "`ports`")?;
        if entries.is_empty() {
            out.push(base(Vec::new(), None));
            return Ok(());
        }
        let mut numbered = Vec::new();
        let mut whole = Vec::new();
        for e in entries {
            self.only_keys(e, &["port", "endPort", "protocol"], "a port entry")?;
            if !matches!(e.value, Value::Map(_)) {
                return Err(self.problem(
                    e,
                    format!("a port entry must be a mapping, not {}", e.describe()),
                ));
            }
            let protocol = self.protocol(e)?;
            let end = match e.get("endPort") {
                None => None,
                Some(n) if n.is_null() => None,
                Some(n) => match n.value {
                    Value::Int(i) if (1..=65535).contains(&i) => {
                        Some(Spanned::new(u16::try_from(i).unwrap_or(0), self.span(n)))
                    }
                    _ => {
                        return Err(self.problem(
                            n,
                            format!(
                                "`endPort` must be a number from 1 to 65535, not {}",
                                value_text(n)
                            ),
                        ))
                    }
                },
            };
            let port = match e.get("port") {
                None => None,
                Some(n) if n.is_null() => None,
                Some(n) => Some(match &n.value {
                    Value::Int(i) if (1..=65535).contains(i) => {
                        Spanned::new(PortRef::Number(u16::try_from(*i).unwrap_or(0)), self.span(n))
                    }
                    Value::Str(s) if is_port_name(s) => Spanned::new(PortRef::Name(s.clone()), self.span(n)),
                    _ => {
                        return Err(self.problem(
                            n,
                            format!(
                                "`port` must be a number from 1 to 65535 or a port name (1 to 15 lowercase letters, digits and `-`, with a letter), not {}",
                                value_text(n)
                            ),
                        ))
                    }
                }),
            };
            match (port, end) {
                (None, Some(end)) => {
                    return Err(
                        self.problem_at(end.span, "`endPort` needs a numbered `port`".into())
                    );
                }
                (Some(p), Some(end)) => match p.value {
                    PortRef::Number(n) if n <= end.value => numbered.push(RulePort {
                        port: p,
                        end: Some(end),
                        protocol,
                    }),
                    PortRef::Number(n) => {
                        return Err(self.problem_at(
                            end.span,
                            format!("`endPort` {} is below `port` {n}", end.value),
                        ))
                    }
                    PortRef::Name(_) => {
                        return Err(self.problem_at(
                            end.span,
                            "`endPort` needs a numbered `port`, not a port name".into(),
                        ))
                    }
                },
                (Some(p), None) => numbered.push(RulePort {
                    port: p,
                    end: None,
                    protocol,
                }),
                (None, None) => {
                    let rp = match protocol.value {
                        Protocol::Tcp => RuleProtocol::Tcp,
                        Protocol::Udp => RuleProtocol::Udp,
                        Protocol::Sctp => RuleProtocol::Sctp,
                    };
                    if !whole.iter().any(|w: &Spanned<RuleProtocol>| w.value == rp) {
                        whole.push(Spanned::new(rp, protocol.span));
                    }
                }
            }
        }
        if !numbered.is_empty() {
            out.push(base(numbered, None));
        }
        for w in whole {
            out.push(base(Vec::new(), Some(w)));
        }
        Ok(())
    }

    fn peer(&mut self, p: &Node) -> Res<Peer> {
        if !matches!(p.value, Value::Map(_)) {
            return Err(self.problem(p, format!("a peer must be a mapping, not {}", p.describe())));
        }
        self.only_keys(
            p,
            &["podSelector", "namespaceSelector", "ipBlock"],
            "a peer",
        )?;
        let span = self.span(p);
        let mut peer = Peer {
            span,
            workload: None,
            namespace: None,
            pods: None,
            namespaces: None,
            cidr: None,
            except: Vec::new(),
            anywhere: false,
            nodes: false,
        };
        let pods = p.get("podSelector").filter(|n| !n.is_null());
        let namespaces = p.get("namespaceSelector").filter(|n| !n.is_null());
        let block = p.get("ipBlock").filter(|n| !n.is_null());
        match (pods, namespaces, block) {
            (None, None, None) => Err(self.problem(p, "a peer must have `podSelector`, `namespaceSelector` or `ipBlock`".into())),
            (_, _, Some(b)) if pods.is_some() || namespaces.is_some() => Err(self.problem(
                b,
                "`ipBlock` cannot be combined with `podSelector` or `namespaceSelector` in one peer".into(),
            )),
            (_, _, Some(b)) => {
                self.only_keys(b, &["cidr", "except"], "an ipBlock")?;
                let cidr = self.string(b, "cidr", "`ipBlock.cidr`")?;
                let net = self.cidr(&cidr)?;
                for e in self.list(b, "except", "`ipBlock.except`")? {
                    let Some(text) = e.as_str() else {
                        return Err(self.problem(e, format!("an `except` entry must be a CIDR string, not {}", e.describe())));
                    };
                    let ex = self.cidr(&Spanned::new(text.to_string(), self.span(e)))?;
                    if !(net.value.contains(&ex.value) && ex.value.prefix_len() > net.value.prefix_len()) {
                        return Err(self.problem(
                            e,
                            format!("`except` {} must lie strictly inside the `cidr` {}", ex.value, net.value),
                        ));
                    }
                    peer.except.push(ex);
                }
                peer.cidr = Some(net);
                Ok(peer)
            }
            (pods, namespaces, None) => {
                if let Some(n) = pods {
                    peer.pods = Some(self.selector(n, "`podSelector`")?);
                }
                if let Some(n) = namespaces {
                    peer.namespaces = Some(self.selector(n, "`namespaceSelector`")?);
                }
                Ok(peer)
            }
        }
    }

    fn cidr(&mut self, text: &Spanned<String>) -> Res<Spanned<IpNet>> {
        match text.value.parse::<IpNet>() {
            Ok(net) => Ok(Spanned::new(net.trunc(), text.span)),
            Err(_) => Err(self.problem_at(
                text.span,
                format!(
                    "`{}` is not a CIDR such as 10.0.0.0/8 or fd00::/64",
                    text.value
                ),
            )),
        }
    }

    /// A LabelSelector: `matchLabels` and `matchExpressions`.
    fn selector(&mut self, node: &Node, what: &str) -> Res<Labels> {
        if !matches!(node.value, Value::Map(_)) {
            return Err(self.problem(
                node,
                format!("{what} must be a mapping, not {}", node.describe()),
            ));
        }
        self.only_keys(node, &["matchLabels", "matchExpressions"], what)?;
        let items = self.string_map(node.get("matchLabels"), "`matchLabels`")?;
        let mut expressions = Vec::new();
        for e in self.list(node, "matchExpressions", "`matchExpressions`")? {
            self.only_keys(e, &["key", "operator", "values"], "a selector requirement")?;
            let key = self.string(e, "key", "the `key` of a selector requirement")?;
            let op_text = self.string(e, "operator", "the `operator` of a selector requirement")?;
            let op = match op_text.value.as_str() {
                "In" => SelectorOp::In,
                "NotIn" => SelectorOp::NotIn,
                "Exists" => SelectorOp::Exists,
                "DoesNotExist" => SelectorOp::DoesNotExist,
                other => {
                    return Err(self.problem_at(
                        op_text.span,
                        format!("unknown selector operator `{other}` (expected In, NotIn, Exists or DoesNotExist)"),
                    ))
                }
            };
            let mut values = Vec::new();
            for v in self.list(e, "values", "`values`")? {
                match v.as_str() {
                    Some(s) => values.push(s.to_string()),
                    None => {
                        return Err(self.problem(
                            v,
                            format!(
                                "a selector value must be a string, not {} (quote it)",
                                v.describe()
                            ),
                        ))
                    }
                }
            }
            match op {
                SelectorOp::In | SelectorOp::NotIn if values.is_empty() => {
                    return Err(self.problem(
                        e,
                        format!("operator {} needs at least one value", op.as_str()),
                    ));
                }
                SelectorOp::Exists | SelectorOp::DoesNotExist if !values.is_empty() => {
                    return Err(
                        self.problem(e, format!("operator {} takes no values", op.as_str()))
                    );
                }
                _ => {}
            }
            expressions.push(LabelRequirement {
                span: self.span(e),
                key,
                op,
                values,
            });
        }
        Ok(Labels {
            items,
            expressions,
            span: Some(self.span(node)),
        })
    }

    /// Groups workloads into their owners, completes the namespaces and builds the
    /// model.
    fn finish(&mut self) -> Model {
        let mut model = Model::default();
        // Duplicates: the same kind, namespace and name twice.
        let mut seen: HashMap<(&str, &str, &str), Span> = HashMap::new();
        let mut duplicate = vec![false; self.objects.len()];
        let mut dup_problems = Vec::new();
        for (i, o) in self.objects.iter().enumerate() {
            let key = (o.kind, o.namespace.value.as_str(), o.name.value.as_str());
            if let Some(first) = seen.get(&key) {
                dup_problems.push(Message {
                    span: o.name.span,
                    message: format!(
                        "{} `{}/{}` is declared twice (first at {})",
                        o.kind,
                        o.namespace.value,
                        o.name.value,
                        self.place(*first)
                    ),
                });
                if let Some(d) = duplicate.get_mut(i) {
                    *d = true;
                }
            } else {
                seen.insert(key, o.name.span);
            }
        }
        self.problems.extend(dup_problems);
        // A Pod or ReplicaSet owned by a declared workload is part of it.
        let owned: Vec<bool> = self
            .objects
            .iter()
            .map(|o| {
                o.owner.as_ref().is_some_and(|(kind, name)| {
                    matches!(
                        (o.kind, kind.as_str()),
                        ("Pod", "ReplicaSet" | "StatefulSet" | "DaemonSet")
                            | ("ReplicaSet", "Deployment")
                    ) && seen.contains_key(&(
                        kind.as_str(),
                        o.namespace.value.as_str(),
                        name.as_str(),
                    ))
                })
            })
            .collect();
        let kept: Vec<&Object> = self
            .objects
            .iter()
            .zip(owned.iter().zip(&duplicate))
            .filter(|(_, (owned, dup))| !**owned && !**dup)
            .map(|(o, _)| o)
            .collect();
        // Names shared by workloads of different kinds in a namespace get their kind.
        let mut count: HashMap<(&str, &str), usize> = HashMap::new();
        for o in &kept {
            *count
                .entry((o.namespace.value.as_str(), o.name.value.as_str()))
                .or_default() += 1;
        }
        let cluster_name = |span: Span| Spanned::new(CLUSTER.to_string(), span);
        for o in &kept {
            let shared = count
                .get(&(o.namespace.value.as_str(), o.name.value.as_str()))
                .is_some_and(|n| *n > 1);
            let name = if shared {
                Spanned::new(format!("{} ({})", o.name.value, o.kind), o.name.span)
            } else {
                o.name.clone()
            };
            model.workloads.push(Box::new(Workload {
                name,
                cluster: cluster_name(o.name.span),
                namespace: o.namespace.clone(),
                image: o.image.clone(),
                replicas: o.replicas.clone(),
                labels: o.labels.clone(),
                ports: o.ports.clone(),
                os: o.os.clone(),
                reaches: Vec::new(),
            }));
        }
        model.policies = std::mem::take(&mut self.policies)
            .into_iter()
            .map(Box::new)
            .collect();
        // Namespaces: declared, then used but not declared.
        let mut used: BTreeMap<String, Span> = BTreeMap::new();
        for (ns, span) in model
            .workloads
            .iter()
            .map(|w| (&w.namespace.value, w.namespace.span))
            .chain(
                model
                    .policies
                    .iter()
                    .filter_map(|p| p.namespace.as_ref().map(|n| (&n.value, n.span))),
            )
        {
            used.entry(ns.clone()).or_insert(span);
        }
        let mut implicit = Vec::new();
        for (ns, span) in &used {
            if !self.namespaces.contains_key(ns) {
                implicit.push(Message {
                    span: *span,
                    message: format!(
                        "namespace `{ns}` is not declared; its only label is `kubernetes.io/metadata.name={ns}`"
                    ),
                });
                self.namespaces.insert(
                    ns.clone(),
                    (
                        Labels {
                            items: Vec::new(),
                            expressions: Vec::new(),
                            span: Some(*span),
                        },
                        *span,
                    ),
                );
            }
        }
        self.notes.extend(implicit);
        let anchor = Span::new(FileId(0), 0, 0);
        for (ns, (labels, span)) in &self.namespaces {
            model.namespaces.push(Namespace {
                name: Spanned::new(ns.clone(), *span),
                cluster: cluster_name(*span),
                labels: labels.clone(),
            });
        }
        model.clusters.push(synthetic_cluster(anchor));
        model
    }
}

/// The number or text of a scalar for messages; the kind of anything else.
fn value_text(n: &Node) -> String {
    match &n.value {
        Value::Int(i) => i.to_string(),
        Value::Str(s) => format!("`{s}`"),
        _ => n.describe(),
    }
}

/// A DNS-1123 label (`label_only`: namespaces) or subdomain (other objects), as
/// Kubernetes requires for names.
fn is_dns_name(s: &str, label_only: bool) -> bool {
    let max = if label_only { 63 } else { 253 };
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|b| alnum(b) || b == b'-' || (!label_only && b == b'.'))
        && s.bytes().next().is_some_and(alnum)
        && s.bytes().last().is_some_and(alnum)
}

/// An IANA service name as Kubernetes accepts it for a port name.
fn is_port_name(s: &str) -> bool {
    (1..=15).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && s.bytes().any(|b| b.is_ascii_lowercase())
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
}

/// The cluster a manifest folder is deployed to: only its name matters to the
/// engine; it has no declared node addresses.
fn synthetic_cluster(span: Span) -> Cluster {
    let s = |v: &str| Spanned::new(v.to_string(), span);
    let net = |v: &str| Spanned::new(v.parse::<IpNet>().unwrap_or_default(), span);
    Cluster {
        name: s(CLUSTER),
        network: s(CLUSTER),
        plugin: Spanned::new(Plugin::Calico, span),
        kubernetes: None,
        control_plane: ControlPlane {
            count: Spanned::new(0, span),
            vm_size: s(""),
            addresses: None,
        },
        load_balancer: LoadBalancer {
            sku: Spanned::new(LbSku::None, span),
            count: Spanned::new(0, span),
            vm_size: s(""),
            interface: s(""),
        },
        node_pools: Vec::new(),
        pod_cidr: net("10.244.0.0/16"),
        service_cidr: net("10.96.0.0/12"),
        ip_family: Spanned::new(IpFamily::Dual, span),
        recreate: false,
    }
}
