//! The typed model of a project: networks, the AKS host, clusters, namespaces,
//! workloads, services, ingresses and policies, every value with its span.
//!
//! The model holds no `kdl` types and no text formatting. Objects appear in it only
//! when they lowered completely; every declaration with a valid name is also listed in
//! `declarations`, so references to a declaration with a broken body still resolve and
//! one mistake does not cascade into many.
//!
//! Invariant: all lists are in source order (files sorted by path, then by offset),
//! so everything derived from the model is deterministic.

pub mod index;

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::lower::schema::RefKind;
use crate::source::{Span, Spanned};

pub type Name = Spanned<String>;

/// The four long lists (workloads, services, policies, declarations: one or three
/// per service) hold boxes. Files are lowered in parallel, one model each, and a
/// build joins them ([`Model::concat`]): moving pointers, where moving the objects
/// copied about 15 MB into fresh memory at 10,000 services, and a build after
/// another large program ran was 6% slower (docs/performance.md).
#[derive(Debug, Default, Clone)]
pub struct Model {
    pub networks: Vec<Network>,
    pub hosts: Vec<Host>,
    pub clusters: Vec<Cluster>,
    pub namespaces: Vec<Namespace>,
    pub workloads: Vec<Box<Workload>>,
    pub services: Vec<Box<Service>>,
    pub ingresses: Vec<Ingress>,
    pub policies: Vec<Box<Policy>>,
    pub expectations: Vec<Expectation>,
    pub declarations: Vec<Box<Declaration>>,
}

impl Model {
    /// The services of `cluster` that take a NodePort (NodePort and LoadBalancer),
    /// sorted by namespace and name: what the load balancer fronts.
    pub fn exposed_services(&self, cluster: &str) -> Vec<&Service> {
        let mut services: Vec<&Service> = self
            .services
            .iter()
            .map(Box::as_ref)
            .filter(|s| s.cluster.value == cluster)
            .filter(|s| {
                matches!(
                    s.kind.value,
                    ServiceType::LoadBalancer | ServiceType::NodePort
                )
            })
            .collect();
        services.sort_by(|a, b| {
            (&a.namespace.value, &a.name.value).cmp(&(&b.namespace.value, &b.name.value))
        });
        services
    }

    /// The models of `pieces` (one per file) one after the other, each list
    /// allocated once at its final size ([`crate::par::concat`]). The long lists
    /// hold boxes, so only pointers move.
    pub fn concat(pieces: Vec<Model>) -> Model {
        use crate::par::concat;
        let (mut networks, mut hosts, mut clusters, mut namespaces, mut workloads) =
            (vec![], vec![], vec![], vec![], vec![]);
        let (mut services, mut ingresses, mut policies, mut expectations, mut declarations) =
            (vec![], vec![], vec![], vec![], vec![]);
        for piece in pieces {
            // Destructured so that a new field cannot be forgotten here.
            let Model {
                networks: n,
                hosts: h,
                clusters: c,
                namespaces: ns,
                workloads: w,
                services: s,
                ingresses: i,
                policies: p,
                expectations: e,
                declarations: d,
            } = piece;
            networks.push(n);
            hosts.push(h);
            clusters.push(c);
            namespaces.push(ns);
            workloads.push(w);
            services.push(s);
            ingresses.push(i);
            policies.push(p);
            expectations.push(e);
            declarations.push(d);
        }
        Model {
            networks: concat(networks),
            hosts: concat(hosts),
            clusters: concat(clusters),
            namespaces: concat(namespaces),
            workloads: concat(workloads),
            services: concat(services),
            ingresses: concat(ingresses),
            policies: concat(policies),
            expectations: concat(expectations),
            declarations: concat(declarations),
        }
    }

    /// Appends a copy of `other`'s objects, as if its files came after this model's.
    /// Lowering one file never looks at another, so lowering files one by one and
    /// appending the models in file order gives the model of lowering them together
    /// (the language server caches the model of each file this way).
    pub fn extend_from(&mut self, other: &Model) {
        // Destructured so that a new field cannot be forgotten here.
        let Model {
            networks,
            hosts,
            clusters,
            namespaces,
            workloads,
            services,
            ingresses,
            policies,
            expectations,
            declarations,
        } = other;
        self.networks.extend_from_slice(networks);
        self.hosts.extend_from_slice(hosts);
        self.clusters.extend_from_slice(clusters);
        self.namespaces.extend_from_slice(namespaces);
        self.workloads.extend_from_slice(workloads);
        self.services.extend_from_slice(services);
        self.ingresses.extend_from_slice(ingresses);
        self.policies.extend_from_slice(policies);
        self.expectations.extend_from_slice(expectations);
        self.declarations.extend_from_slice(declarations);
    }
}

impl Declaration {
    /// Where the name is unique: nowhere in particular for networks, clusters and
    /// the host; the cluster for namespaces and global policies; else the namespace
    /// of the cluster. Parts whose reference is missing are `None`.
    pub fn scope(&self) -> ScopeRef<'_> {
        let cluster = self.cluster_ref.as_ref().map(|c| c.value.as_str());
        let namespace = self.namespace_ref.as_ref().map(|n| n.value.as_str());
        match self.kind {
            DeclKind::Network | DeclKind::Host | DeclKind::Cluster => ScopeRef::default(),
            DeclKind::Namespace => ScopeRef {
                cluster,
                namespace: None,
            },
            DeclKind::Policy if self.global => ScopeRef {
                cluster,
                namespace: None,
            },
            _ => ScopeRef { cluster, namespace },
        }
    }
}

/// What a declaration declares, for the name table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DeclKind {
    Network,
    Host,
    Cluster,
    Namespace,
    Workload,
    Service,
    Ingress,
    Policy,
}

impl DeclKind {
    pub fn noun(self) -> &'static str {
        match self {
            DeclKind::Network => "network",
            DeclKind::Host => "host",
            DeclKind::Cluster => "cluster",
            DeclKind::Namespace => "namespace",
            DeclKind::Workload => "workload",
            DeclKind::Service => "service",
            DeclKind::Ingress => "ingress",
            DeclKind::Policy => "policy",
        }
    }

    pub fn from_ref(kind: RefKind) -> DeclKind {
        match kind {
            RefKind::Network => DeclKind::Network,
            RefKind::Cluster => DeclKind::Cluster,
            RefKind::Namespace => DeclKind::Namespace,
            RefKind::Workload => DeclKind::Workload,
            RefKind::Service => DeclKind::Service,
        }
    }
}

/// Where a name is unique: networks and clusters in the project, namespaces in a
/// cluster, everything else in a namespace of a cluster (global policies in a cluster).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Scope {
    pub cluster: Option<String>,
    pub namespace: Option<String>,
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        ScopeRef {
            cluster: self.cluster.as_deref(),
            namespace: self.namespace.as_deref(),
        }
        .fmt(f)
    }
}

/// A [`Scope`] that borrows its names, for lookups that copy nothing: a
/// declaration's, read from its references ([`Declaration::scope`]), or a
/// reference's (`check::refs`, which checks a reference for every declaration; at
/// 30,000 declarations copying names into a [`Scope`] for each lookup was most of
/// that pass).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ScopeRef<'a> {
    pub cluster: Option<&'a str>,
    pub namespace: Option<&'a str>,
}

impl<'a> ScopeRef<'a> {
    /// A cluster.
    pub fn cluster(cluster: &'a str) -> ScopeRef<'a> {
        ScopeRef {
            cluster: Some(cluster),
            namespace: None,
        }
    }

    /// A namespace of a cluster.
    pub fn namespace(cluster: &'a str, namespace: &'a str) -> ScopeRef<'a> {
        ScopeRef {
            cluster: Some(cluster),
            namespace: Some(namespace),
        }
    }

    /// The owned scope.
    pub fn to_scope(self) -> Scope {
        Scope {
            cluster: self.cluster.map(str::to_string),
            namespace: self.namespace.map(str::to_string),
        }
    }
}

impl fmt::Display for ScopeRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.cluster, self.namespace) {
            (Some(c), Some(n)) => write!(f, "namespace `{n}` of cluster `{c}`"),
            (Some(c), None) => write!(f, "cluster `{c}`"),
            _ => f.write_str("the project"),
        }
    }
}

/// A declared name, for the name table. Its scope is not stored but read from its
/// references ([`Declaration::scope`]): there are one to three declarations per
/// service, and a copy of two names in each was 3 MB at 10,000 services.
#[derive(Debug, Clone)]
pub struct Declaration {
    pub kind: DeclKind,
    /// The declared name; for the nameless `host`, the node name's span and "host".
    pub name: Name,
    /// False for a namespaced declaration whose `cluster=` or `namespace=` is missing
    /// or malformed: nothing can refer to it, and it is in no scope.
    pub scoped: bool,
    /// A policy declared `global=#true`: in its cluster, not in a namespace.
    pub global: bool,
    /// The `cluster=` reference of a namespaced declaration, as written.
    pub cluster_ref: Option<Name>,
    /// The `namespace=` reference of a namespaced declaration, as written.
    pub namespace_ref: Option<Name>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkMode {
    Static,
    Dhcp,
}

/// An inclusive address range, `start..=end`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpRange {
    pub start: Spanned<IpAddr>,
    pub end: Spanned<IpAddr>,
    /// The whole `node-ips` / `vips` node.
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Network {
    pub name: Name,
    pub switch: Spanned<String>,
    pub mode: Spanned<NetworkMode>,
    pub prefix: Option<Spanned<IpNet>>,
    pub gateway: Option<Spanned<IpAddr>>,
    pub dns: Vec<Spanned<IpAddr>>,
    pub vlan: Option<Spanned<u16>>,
    pub node_ips: Option<IpRange>,
    pub vips: IpRange,
}

#[derive(Debug, Clone)]
pub struct Host {
    pub span: Span,
    pub network: Name,
    pub cloud_service_cidr: Option<Spanned<IpNet>>,
    pub image_dir: Option<Spanned<String>>,
    pub working_dir: Option<Spanned<String>>,
    pub cloud_config_dir: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plugin {
    Calico,
    Flannel,
}

impl Plugin {
    pub fn as_str(self) -> &'static str {
        match self {
            Plugin::Calico => "calico",
            Plugin::Flannel => "flannel",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Os {
    Linux,
    Windows,
}

impl Os {
    /// `Linux` or `Windows`, as AksHci writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Os::Linux => "Linux",
            Os::Windows => "Windows",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LbSku {
    HaProxy,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpFamily {
    Ipv4,
    Ipv6,
    Dual,
}

#[derive(Debug, Clone)]
pub struct ControlPlane {
    pub count: Spanned<u32>,
    pub vm_size: Spanned<String>,
    /// Declared VM addresses (DHCP networks); the `addresses` node's span.
    pub addresses: Option<Spanned<Vec<Spanned<IpAddr>>>>,
}

#[derive(Debug, Clone)]
pub struct LoadBalancer {
    pub sku: Spanned<LbSku>,
    pub count: Spanned<u32>,
    pub vm_size: Spanned<String>,
    /// The VMs' network interface that holds the VIPs (keepalived).
    pub interface: Spanned<String>,
}

#[derive(Debug, Clone)]
pub struct NodePool {
    pub name: Name,
    pub os: Spanned<Os>,
    pub count: Spanned<u32>,
    pub vm_size: Spanned<String>,
    pub os_sku: Option<Spanned<String>>,
    pub max_pods: Spanned<u32>,
    pub taints: Vec<Spanned<String>>,
    /// Declared VM addresses (DHCP networks); the `addresses` node's span.
    pub addresses: Option<Spanned<Vec<Spanned<IpAddr>>>>,
}

#[derive(Debug, Clone)]
pub struct Cluster {
    pub name: Name,
    pub network: Name,
    pub plugin: Spanned<Plugin>,
    pub kubernetes: Option<Spanned<String>>,
    pub control_plane: ControlPlane,
    pub load_balancer: LoadBalancer,
    pub node_pools: Vec<NodePool>,
    pub pod_cidr: Spanned<IpNet>,
    pub service_cidr: Spanned<IpNet>,
    pub ip_family: Spanned<IpFamily>,
    /// Marked for re-creation: immutable settings may change against the lock.
    pub recreate: bool,
}

/// A label, `key=value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub key: Spanned<String>,
    pub value: Spanned<String>,
}

/// Labels sorted by key; keys are unique. As a selector (a policy's `pods`, a
/// peer's `pods` / `namespaces`) it is a Kubernetes LabelSelector: every `items`
/// label (`matchLabels`) AND every `expressions` requirement (`matchExpressions`);
/// empty selects everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Labels {
    pub items: Vec<Label>,
    /// Set-based requirements, for selectors read from Kubernetes manifests
    /// (`trellis matrix --manifests`). The trellis language lowers to equality
    /// only, so this is empty for every selector of a trellis project.
    pub expressions: Vec<LabelRequirement>,
    /// The `labels` / `select` / `pods` node; the declaration when defaulted.
    pub span: Option<Span>,
}

impl Labels {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.items
            .iter()
            .find(|l| l.key.value == key)
            .map(|l| l.value.value.as_str())
    }

    /// Whether this selector selects the labels `get` looks up: every
    /// `key=value` is present, and every requirement holds.
    pub fn selects<'a>(&self, get: impl Fn(&str) -> Option<&'a str>) -> bool {
        self.items
            .iter()
            .all(|s| get(&s.key.value) == Some(s.value.value.as_str()))
            && self.expressions.iter().all(|r| r.holds(get(&r.key.value)))
    }
}

/// The operator of a set-based label requirement (`matchExpressions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelectorOp {
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

impl SelectorOp {
    /// The operator as Kubernetes writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            SelectorOp::In => "In",
            SelectorOp::NotIn => "NotIn",
            SelectorOp::Exists => "Exists",
            SelectorOp::DoesNotExist => "DoesNotExist",
        }
    }
}

/// One `matchExpressions` entry: `key`, operator, values (empty for `Exists` and
/// `DoesNotExist`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelRequirement {
    pub span: Span,
    pub key: Spanned<String>,
    pub op: SelectorOp,
    pub values: Vec<String>,
}

impl LabelRequirement {
    /// Whether the requirement holds for a label whose value is `value` (`None`:
    /// the label is absent). `NotIn` and `DoesNotExist` hold for an absent label.
    pub fn holds(&self, value: Option<&str>) -> bool {
        match (self.op, value) {
            (SelectorOp::In, Some(v)) => self.values.iter().any(|x| x == v),
            (SelectorOp::In, None) => false,
            (SelectorOp::NotIn, Some(v)) => !self.values.iter().any(|x| x == v),
            (SelectorOp::NotIn, None) => true,
            (SelectorOp::Exists, v) => v.is_some(),
            (SelectorOp::DoesNotExist, v) => v.is_none(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Namespace {
    pub name: Name,
    pub cluster: Name,
    pub labels: Labels,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        }
    }
}

#[derive(Debug, Clone)]
pub struct WorkloadPort {
    pub name: Name,
    pub number: Spanned<u16>,
    pub protocol: Spanned<Protocol>,
}

#[derive(Debug, Clone)]
pub struct Workload {
    pub name: Name,
    pub cluster: Name,
    pub namespace: Name,
    pub image: Spanned<String>,
    pub replicas: Spanned<u32>,
    /// Declared labels, or `app=<name>` when none are declared.
    pub labels: Labels,
    pub ports: Vec<WorkloadPort>,
    pub os: Spanned<Os>,
    /// Addresses outside the cluster the workload connects to.
    pub reaches: Vec<Spanned<IpNet>>,
}

/// A port given as a number or as the name of a workload's port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortRef {
    Number(u16),
    Name(String),
}

impl fmt::Display for PortRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PortRef::Number(n) => write!(f, "{n}"),
            PortRef::Name(s) => f.write_str(s),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceType {
    ClusterIp,
    NodePort,
    LoadBalancer,
    ExternalName,
}

impl ServiceType {
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceType::ClusterIp => "ClusterIP",
            ServiceType::NodePort => "NodePort",
            ServiceType::LoadBalancer => "LoadBalancer",
            ServiceType::ExternalName => "ExternalName",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ServicePort {
    pub span: Span,
    pub port: Spanned<u16>,
    /// The pods' port; `None` means the same number as `port`.
    pub target: Option<Spanned<PortRef>>,
    pub protocol: Spanned<Protocol>,
    pub name: Option<Name>,
    pub node_port: Option<Spanned<u16>>,
}

impl ServicePort {
    /// The port's name in the Service: the declared `name=`, or `<protocol>-<port>`
    /// (`tcp-80`), which is always a valid and, per port, unique IANA service name.
    pub fn effective_name(&self) -> String {
        match &self.name {
            Some(n) => n.value.clone(),
            None => format!(
                "{}-{}",
                self.protocol.value.as_str().to_lowercase(),
                self.port.value
            ),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Service {
    pub name: Name,
    pub cluster: Name,
    pub namespace: Name,
    pub kind: Spanned<ServiceType>,
    /// `None` when the service has no `select` (no selector: endpoints managed elsewhere).
    pub selector: Option<Labels>,
    pub ports: Vec<ServicePort>,
    pub internal: Spanned<bool>,
    pub address: Option<Spanned<IpAddr>>,
    pub external_name: Option<Spanned<String>>,
    pub balance: Spanned<Balance>,
    pub health_check: Option<HealthCheck>,
}

/// The HAProxy balancing algorithm of a LoadBalancer service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Balance {
    RoundRobin,
    LeastConn,
    Source,
}

impl Balance {
    pub fn as_str(self) -> &'static str {
        match self {
            Balance::RoundRobin => "roundrobin",
            Balance::LeastConn => "leastconn",
            Balance::Source => "source",
        }
    }
}

/// How the HAProxy VM checks the nodes behind a service.
#[derive(Debug, Clone)]
pub struct HealthCheck {
    pub span: Span,
    /// HTTP GET on this path; a TCP connect when `None`.
    pub path: Option<Spanned<String>>,
    pub interval_ms: u32,
    pub rise: u32,
    pub fall: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathMatch {
    Prefix,
    Exact,
    ImplementationSpecific,
}

#[derive(Debug, Clone)]
pub struct Route {
    pub path: Spanned<String>,
    pub service: Name,
    pub port: Spanned<PortRef>,
    pub path_match: Spanned<PathMatch>,
}

#[derive(Debug, Clone)]
pub struct IngressRule {
    pub span: Span,
    /// `None`: every host.
    pub host: Option<Spanned<String>>,
    pub routes: Vec<Route>,
}

#[derive(Debug, Clone)]
pub struct Tls {
    pub span: Span,
    pub hosts: Vec<Spanned<String>>,
    pub secret: Name,
}

#[derive(Debug, Clone)]
pub struct Ingress {
    pub name: Name,
    pub cluster: Name,
    pub namespace: Name,
    pub class: Option<Spanned<String>>,
    pub tls: Vec<Tls>,
    pub rules: Vec<IngressRule>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Allow,
    Deny,
    Log,
    Pass,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    Ingress,
    Egress,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyTarget {
    Auto,
    Kubernetes,
    Calico,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleProtocol {
    Tcp,
    Udp,
    Sctp,
    Icmp,
}

/// One peer of a rule (`from` / `to`). Lowering guarantees exactly one of these
/// shapes: a workload (with its namespace); pod and/or namespace selectors (and an
/// optional namespace name); a CIDR with exceptions; anywhere; the nodes.
#[derive(Debug, Clone)]
pub struct Peer {
    pub span: Span,
    pub workload: Option<Name>,
    pub namespace: Option<Name>,
    pub pods: Option<Labels>,
    pub namespaces: Option<Labels>,
    pub cidr: Option<Spanned<IpNet>>,
    pub except: Vec<Spanned<IpNet>>,
    pub anywhere: bool,
    pub nodes: bool,
}

#[derive(Debug, Clone)]
pub struct RulePort {
    pub port: Spanned<PortRef>,
    pub end: Option<Spanned<u16>>,
    pub protocol: Spanned<Protocol>,
}

#[derive(Debug, Clone)]
pub struct Icmp {
    pub span: Span,
    pub icmp_type: Option<Spanned<u8>>,
    pub code: Option<Spanned<u8>>,
}

#[derive(Debug, Clone)]
pub struct PolicyRule {
    pub span: Span,
    pub action: Spanned<Action>,
    pub direction: Spanned<Direction>,
    pub peers: Vec<Peer>,
    pub ports: Vec<RulePort>,
    pub protocol: Option<Spanned<RuleProtocol>>,
    pub icmp: Option<Icmp>,
}

#[derive(Debug, Clone)]
pub struct Policy {
    pub name: Name,
    pub cluster: Name,
    pub namespace: Option<Name>,
    pub global: Spanned<bool>,
    pub order: Option<Spanned<u32>>,
    pub target: Spanned<PolicyTarget>,
    /// `pods` selector; `None` with no `workloads` either means every pod in scope.
    pub pods: Option<Labels>,
    pub workloads: Vec<Name>,
    pub rules: Vec<PolicyRule>,
}

/// One end of an expected connection, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointRef {
    Workload { namespace: String, name: String },
    Address(IpAddr),
}

/// `expect allow|deny from=… to=… port=…`: checked against the policies at compile
/// time.
#[derive(Debug, Clone)]
pub struct Expectation {
    pub span: Span,
    pub allow: Spanned<bool>,
    pub cluster: Name,
    pub from: Spanned<EndpointRef>,
    pub to: Spanned<EndpointRef>,
    pub port: Spanned<u16>,
    pub protocol: Spanned<Protocol>,
}
