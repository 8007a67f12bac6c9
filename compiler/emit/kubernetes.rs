//! Kubernetes manifests, per cluster: a Namespace per declared namespace, a
//! Deployment per workload, a Service per service, an Ingress per ingress, and a
//! `kustomization.yaml` listing them, laid out as
//!
//! ```text
//! <cluster>/kubernetes/kustomization.yaml
//! <cluster>/kubernetes/<namespace>/namespace.yaml
//! <cluster>/kubernetes/<namespace>/deployment-<name>.yaml
//! <cluster>/kubernetes/<namespace>/service-<name>.yaml
//! <cluster>/kubernetes/<namespace>/ingress-<name>.yaml
//! ```
//!
//! Objects are typed serde structs (field order is output order), serialised by
//! `yaml.rs`. Windows and Linux workloads get a `kubernetes.io/os` node selector and
//! tolerate the taints of the node pools of their OS. LoadBalancer services carry the
//! allocated or pinned address in `spec.externalIPs` (AksHci ignores
//! `spec.loadBalancerIP`) and their node ports, which the HAProxy VM forwards to;
//! `docs/outputs.md` explains the fields chosen.

use std::collections::BTreeMap;

use foldhash::HashMap;

use serde::Serialize;

use super::yaml::to_document;
use super::{Artifact, Lookups, Objects};
use crate::alloc::KeyRef;
use crate::model::{
    Cluster, Ingress, Labels, Model, Os, PathMatch, PortRef, Service, ServiceType, Workload,
};
use crate::par;

/// The label every object trellis writes carries.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "trellis");

/// Writes the manifests of `objects` (one cluster's: `emit::emit_each`), the objects
/// of each kind in blocks to the next free core.
pub(crate) fn emit(model: &Model, objects: &Objects<'_>, lookups: &Lookups) -> Vec<Artifact> {
    let cx = Context { lookups };
    let clusters: HashMap<&str, &Cluster> = model
        .clusters
        .iter()
        .map(|c| (c.name.value.as_str(), c))
        .collect();
    // An object of a cluster that is not declared has no manifest (the checker
    // reports it; emitters run only on checked models).
    let file = |cluster: &str, namespace: &str, name: String, content: String| {
        clusters.contains_key(cluster).then(|| Artifact {
            path: format!("{cluster}/kubernetes/{namespace}/{name}"),
            content: content.into(),
        })
    };
    let mut out = par::flat_map(&objects.namespaces, |ns| {
        let object = Namespace {
            api_version: "v1",
            kind: "Namespace",
            metadata: Metadata::new(&ns.name.value, None, object_labels(&ns.labels)),
        };
        let content = to_document(&object);
        Vec::from_iter(file(
            &ns.cluster.value,
            &ns.name.value,
            "namespace.yaml".into(),
            content,
        ))
    });
    out.extend(par::flat_map(&objects.workloads, |w| {
        let Some(cluster) = clusters.get(w.cluster.value.as_str()) else {
            return Vec::new();
        };
        Vec::from_iter(file(
            &w.cluster.value,
            &w.namespace.value,
            format!("deployment-{}.yaml", w.name.value),
            to_document(&deployment(cluster, w)),
        ))
    }));
    out.extend(par::flat_map(&objects.services, |s| {
        Vec::from_iter(file(
            &s.cluster.value,
            &s.namespace.value,
            format!("service-{}.yaml", s.name.value),
            to_document(&cx.service(s)),
        ))
    }));
    out.extend(par::flat_map(&objects.ingresses, |i| {
        Vec::from_iter(file(
            &i.cluster.value,
            &i.namespace.value,
            format!("ingress-{}.yaml", i.name.value),
            to_document(&ingress(i)),
        ))
    }));
    out
}

struct Context<'l, 'm> {
    lookups: &'l Lookups<'m>,
}

impl Context<'_, '_> {
    fn service(&self, s: &Service) -> ServiceObject {
        let key = |port: u16, protocol| {
            KeyRef::NodePort(
                &s.cluster.value,
                &s.namespace.value,
                &s.name.value,
                port,
                protocol,
            )
        };
        let ports = s
            .ports
            .iter()
            .map(|p| ServicePortObject {
                name: p.name.as_ref().map(|n| n.value.clone()).unwrap_or_else(|| {
                    format!(
                        "{}-{}",
                        p.protocol.value.as_str().to_lowercase(),
                        p.port.value
                    )
                }),
                protocol: p.protocol.value.as_str(),
                port: p.port.value,
                target_port: match p.target.as_ref().map(|t| &t.value) {
                    Some(PortRef::Name(n)) => IntOrString::Str(n.clone()),
                    Some(PortRef::Number(n)) => IntOrString::Int(*n),
                    None => IntOrString::Int(p.port.value),
                },
                node_port: self
                    .lookups
                    .node_ports
                    .get(&key(p.port.value, p.protocol.value))
                    .copied(),
            })
            .collect();
        let address = self
            .lookups
            .addresses
            .get(&KeyRef::Service(
                &s.cluster.value,
                &s.namespace.value,
                &s.name.value,
            ))
            .map(|a| a.to_string());
        let metadata = Metadata::new(&s.name.value, Some(&s.namespace.value), managed_labels());
        let is_external_name = s.kind.value == ServiceType::ExternalName;
        ServiceObject {
            api_version: "v1",
            kind: "Service",
            metadata,
            spec: ServiceSpec {
                kind: s.kind.value.as_str(),
                selector: s.selector.as_ref().map(labels_map),
                ports: if is_external_name { Vec::new() } else { ports },
                // AksHci ignores `loadBalancerIP`; its documented way to pin a
                // load-balancer address (inside the VIP pool) is `externalIPs`.
                external_ips: match (s.kind.value, address) {
                    (ServiceType::LoadBalancer, Some(a)) => vec![a],
                    _ => Vec::new(),
                },
                external_name: s.external_name.as_ref().map(|n| n.value.clone()),
            },
        }
    }
}

fn managed_labels() -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    labels.insert(MANAGED_BY.0.to_string(), MANAGED_BY.1.to_string());
    labels
}

pub(crate) fn labels_map(labels: &Labels) -> BTreeMap<String, String> {
    labels
        .items
        .iter()
        .map(|l| (l.key.value.clone(), l.value.value.clone()))
        .collect()
}

/// Declared labels plus the managed-by label (declared labels win).
fn object_labels(labels: &Labels) -> BTreeMap<String, String> {
    let mut out = managed_labels();
    out.extend(labels_map(labels));
    out
}

fn deployment(cluster: &Cluster, w: &Workload) -> DeploymentObject {
    let pod_labels = labels_map(&w.labels);
    let os = match w.os.value {
        Os::Linux => "linux",
        Os::Windows => "windows",
    };
    let mut node_selector = BTreeMap::new();
    node_selector.insert("kubernetes.io/os".to_string(), os.to_string());
    // Tolerate every taint of the pools this workload can run on.
    let mut tolerations: Vec<Toleration> = cluster
        .node_pools
        .iter()
        .filter(|p| p.os.value == w.os.value)
        .flat_map(|p| p.taints.iter())
        .map(|t| toleration(&t.value))
        .collect();
    tolerations.sort();
    tolerations.dedup();
    DeploymentObject {
        api_version: "apps/v1",
        kind: "Deployment",
        metadata: Metadata::new(
            &w.name.value,
            Some(&w.namespace.value),
            object_labels(&w.labels),
        ),
        spec: DeploymentSpec {
            replicas: w.replicas.value,
            selector: Selector {
                match_labels: pod_labels.clone(),
            },
            template: PodTemplate {
                metadata: PodMetadata { labels: pod_labels },
                spec: PodSpec {
                    node_selector,
                    tolerations,
                    containers: vec![Container {
                        name: w.name.value.clone(),
                        image: w.image.value.clone(),
                        ports: w
                            .ports
                            .iter()
                            .map(|p| ContainerPort {
                                name: p.name.value.clone(),
                                container_port: p.number.value,
                                protocol: p.protocol.value.as_str(),
                            })
                            .collect(),
                    }],
                },
            },
        },
    }
}

/// "key=value:Effect" or "key:Effect" (validated in lowering) as a toleration.
fn toleration(taint: &str) -> Toleration {
    let (kv, effect) = taint.rsplit_once(':').unwrap_or((taint, ""));
    match kv.split_once('=') {
        Some((key, value)) => Toleration {
            key: key.to_string(),
            operator: "Equal",
            value: Some(value.to_string()),
            effect: effect.to_string(),
        },
        None => Toleration {
            key: kv.to_string(),
            operator: "Exists",
            value: None,
            effect: effect.to_string(),
        },
    }
}

fn ingress(i: &Ingress) -> IngressObject {
    IngressObject {
        api_version: "networking.k8s.io/v1",
        kind: "Ingress",
        metadata: Metadata::new(&i.name.value, Some(&i.namespace.value), managed_labels()),
        spec: IngressSpec {
            ingress_class_name: i.class.as_ref().map(|c| c.value.clone()),
            tls: i
                .tls
                .iter()
                .map(|t| IngressTls {
                    hosts: t.hosts.iter().map(|h| h.value.clone()).collect(),
                    secret_name: t.secret.value.clone(),
                })
                .collect(),
            rules: i
                .rules
                .iter()
                .map(|r| IngressRuleObject {
                    host: r.host.as_ref().map(|h| h.value.clone()),
                    http: HttpRule {
                        paths: r
                            .routes
                            .iter()
                            .map(|route| HttpPath {
                                path: route.path.value.clone(),
                                path_type: match route.path_match.value {
                                    PathMatch::Prefix => "Prefix",
                                    PathMatch::Exact => "Exact",
                                    PathMatch::ImplementationSpecific => "ImplementationSpecific",
                                },
                                backend: Backend {
                                    service: BackendService {
                                        name: route.service.value.clone(),
                                        port: match &route.port.value {
                                            PortRef::Number(n) => BackendPort {
                                                number: Some(*n),
                                                name: None,
                                            },
                                            PortRef::Name(n) => BackendPort {
                                                number: None,
                                                name: Some(n.clone()),
                                            },
                                        },
                                    },
                                },
                            })
                            .collect(),
                    },
                })
                .collect(),
        },
    }
}

// ---------------------------------------------------------------- objects

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Metadata {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: BTreeMap<String, String>,
}

impl Metadata {
    fn new(name: &str, namespace: Option<&str>, labels: BTreeMap<String, String>) -> Metadata {
        Metadata {
            name: name.to_string(),
            namespace: namespace.map(str::to_string),
            labels,
            annotations: BTreeMap::new(),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Namespace {
    api_version: &'static str,
    kind: &'static str,
    metadata: Metadata,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Kustomization {
    api_version: &'static str,
    kind: &'static str,
    resources: Vec<String>,
}

/// A `kustomization.yaml` for every `<cluster>/kubernetes/` folder among
/// `artifacts`, listing its manifests with the namespaces first, so `kubectl apply
/// -k` creates them before their objects.
pub fn kustomizations(artifacts: &[Artifact]) -> Vec<Artifact> {
    let mut by_cluster: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for a in artifacts {
        if let Some((cluster, "kubernetes", rest)) = super::manifest_folder(&a.path) {
            by_cluster
                .entry(cluster)
                .or_default()
                .push(rest.to_string());
        }
    }
    by_cluster
        .into_iter()
        .map(|(cluster, mut files)| {
            files.sort_by(|a, b| super::apply_order(a).cmp(&super::apply_order(b)));
            Artifact {
                path: format!("{cluster}/kubernetes/kustomization.yaml"),
                content: to_document(&Kustomization {
                    api_version: "kustomize.config.k8s.io/v1beta1",
                    kind: "Kustomization",
                    resources: files,
                })
                .into(),
            }
        })
        .collect()
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DeploymentObject {
    api_version: &'static str,
    kind: &'static str,
    metadata: Metadata,
    spec: DeploymentSpec,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DeploymentSpec {
    replicas: u32,
    selector: Selector,
    template: PodTemplate,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Selector {
    match_labels: BTreeMap<String, String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PodTemplate {
    metadata: PodMetadata,
    spec: PodSpec,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PodMetadata {
    labels: BTreeMap<String, String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PodSpec {
    node_selector: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tolerations: Vec<Toleration>,
    containers: Vec<Container>,
}

#[derive(Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "camelCase")]
struct Toleration {
    key: String,
    operator: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<String>,
    effect: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Container {
    name: String,
    image: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ports: Vec<ContainerPort>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ContainerPort {
    name: String,
    container_port: u16,
    protocol: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ServiceObject {
    api_version: &'static str,
    kind: &'static str,
    metadata: Metadata,
    spec: ServiceSpec,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ServiceSpec {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    selector: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ports: Vec<ServicePortObject>,
    #[serde(rename = "externalIPs", skip_serializing_if = "Vec::is_empty")]
    external_ips: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_name: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ServicePortObject {
    name: String,
    protocol: &'static str,
    port: u16,
    target_port: IntOrString,
    #[serde(skip_serializing_if = "Option::is_none")]
    node_port: Option<u16>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum IntOrString {
    Int(u16),
    Str(String),
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct IngressObject {
    api_version: &'static str,
    kind: &'static str,
    metadata: Metadata,
    spec: IngressSpec,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct IngressSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    ingress_class_name: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tls: Vec<IngressTls>,
    rules: Vec<IngressRuleObject>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct IngressTls {
    hosts: Vec<String>,
    secret_name: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct IngressRuleObject {
    #[serde(skip_serializing_if = "Option::is_none")]
    host: Option<String>,
    http: HttpRule,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HttpRule {
    paths: Vec<HttpPath>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HttpPath {
    path: String,
    path_type: &'static str,
    backend: Backend,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Backend {
    service: BackendService,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BackendService {
    name: String,
    port: BackendPort,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BackendPort {
    #[serde(skip_serializing_if = "Option::is_none")]
    number: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
}
