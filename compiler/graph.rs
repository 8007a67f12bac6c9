//! The topology (`trellis graph`): [`topology`] collects what is drawn, once;
//! [`render_dot`] writes it as a Graphviz DOT graph, `graph_svg.rs` as SVG laid out
//! by trellis itself.
//!
//! Nodes: each network (prefix, VIP pool), each cluster as a box around its
//! load-balancer VMs, LoadBalancer and NodePort services and workloads. Edges:
//! network → load balancer (the VMs sit on it), load balancer → service (each
//! `VIP:port`), service → workload (its selector, `port → target`, and the NodePort),
//! and workload → workload for traffic a policy allows (solid: every port the
//! destination declares; dashed: only some). Pairs that no policy concerns (neither
//! end isolated) are not drawn.
//!
//! Every identifier and label is a DOT double-quoted string built by [`quote`], so a
//! name can never end a string or open an HTML label. Output is deterministic:
//! networks, clusters, services and workloads are sorted by name.
//!
//! Invariant: pure; reads only the checked model, the allocation and the reachability
//! engine.

use std::fmt::Write as _;

use crate::alloc::{Allocation, KeyRef};
use crate::model::index::WorkloadIndex;
use crate::model::{LbSku, Model, PortRef, ServiceType, Workload};
use crate::reach::{Endpoint, Engine, Reason};

/// `s` as a DOT double-quoted string: `\` and `"` escaped, line breaks as `\n`
/// (a centred line in a label), other control characters dropped.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A label of several lines.
fn lines(parts: &[String]) -> String {
    quote(&parts.join("\n"))
}

/// What a node of the topology is; it decides the shape it is drawn with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    Network,
    LoadBalancer,
    Service,
    Workload,
}

/// One node: a stable id (`network/corp`, `lb/shop`, `service/shop/ns/web`,
/// `workload/shop/ns/web`) and the lines of its label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub id: String,
    pub kind: NodeKind,
    pub label: Vec<String>,
}

/// What an edge means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeKind {
    /// network → load balancer: the VMs sit on the network.
    Hosts,
    /// load balancer → service: one frontend, labelled `VIP:port/protocol`.
    Frontend,
    /// service → workload: the selector, `port → target (NodePort n)`.
    Selects,
    /// workload → workload: a policy allows every port the destination declares.
    AllowsAll,
    /// workload → workload: a policy allows only some of them.
    AllowsSome,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    pub from: String,
    pub to: String,
    pub kind: EdgeKind,
    pub label: Option<String>,
}

/// One cluster: its label, its nodes (load balancer, services, workloads, each
/// sorted by name) and the edges that start at its nodes or reach its load balancer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterGroup {
    pub name: String,
    pub network: String,
    pub label: String,
    pub load_balancer: Option<Node>,
    pub services: Vec<Node>,
    pub workloads: Vec<Node>,
    pub edges: Vec<Edge>,
}

/// The topology both renderings draw: DOT here, SVG in `graph_svg.rs`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Topology {
    /// The networks that hold a drawn cluster, sorted by name.
    pub networks: Vec<Node>,
    /// Sorted by name.
    pub clusters: Vec<ClusterGroup>,
}

impl Topology {
    /// Every node: the networks, then per cluster its load balancer, services and
    /// workloads.
    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        self.networks
            .iter()
            .chain(self.clusters.iter().flat_map(|c| {
                c.load_balancer
                    .iter()
                    .chain(&c.services)
                    .chain(&c.workloads)
            }))
    }
}

/// The topology of the project, or of one cluster (and its network).
pub fn topology(model: &Model, alloc: &Allocation, only_cluster: Option<&str>) -> Topology {
    let addresses = alloc.address_map();
    let node_ports = alloc.node_port_map();
    let index = WorkloadIndex::new(model);
    let mut clusters: Vec<_> = model
        .clusters
        .iter()
        .filter(|c| only_cluster.is_none_or(|o| c.name.value == o))
        .collect();
    clusters.sort_by(|a, b| a.name.value.cmp(&b.name.value));
    let mut networks: Vec<_> = model
        .networks
        .iter()
        .filter(|n| clusters.iter().any(|c| c.network.value == n.name.value))
        .collect();
    networks.sort_by(|a, b| a.name.value.cmp(&b.name.value));

    let mut topo = Topology::default();
    for n in &networks {
        let mut label = vec![format!("network {}", n.name.value)];
        if let Some(p) = &n.prefix {
            label.push(p.value.to_string());
        }
        label.push(format!(
            "VIPs {} – {}",
            n.vips.start.value, n.vips.end.value
        ));
        topo.networks.push(Node {
            id: format!("network/{}", n.name.value),
            kind: NodeKind::Network,
            label,
        });
    }
    for c in &clusters {
        let cname = c.name.value.as_str();
        let lb_id = format!("lb/{cname}");
        let has_lb = c.load_balancer.sku.value == LbSku::HaProxy;
        let load_balancer = has_lb.then(|| {
            let mut label = vec![format!("load balancer ×{}", c.load_balancer.count.value)];
            if let Some(api) = addresses.get(&KeyRef::ApiServer(cname)) {
                label.push(format!("API {api}:6443"));
            }
            Node {
                id: lb_id.clone(),
                kind: NodeKind::LoadBalancer,
                label,
            }
        });
        let services = model.exposed_services(cname);
        let engine = Engine::new(model, Some(alloc), c);
        let workloads = engine.workloads_by_name(None);
        let workload_id =
            |w: &Workload| format!("workload/{cname}/{}/{}", w.namespace.value, w.name.value);
        let mut edges = Vec::new();
        if has_lb {
            edges.push(Edge {
                from: format!("network/{}", c.network.value),
                to: lb_id.clone(),
                kind: EdgeKind::Hosts,
                label: None,
            });
        }
        for s in &services {
            let (ns, name) = (s.namespace.value.as_str(), s.name.value.as_str());
            let service_id = format!("service/{cname}/{ns}/{name}");
            let vip = addresses.get(&KeyRef::Service(cname, ns, name));
            let mut selected = s
                .selector
                .as_ref()
                .map(|sel| index.selected(s, sel))
                .unwrap_or_default();
            selected.sort_by(|a, b| a.name.value.cmp(&b.name.value));
            for p in &s.ports {
                let proto = p.protocol.value.as_str();
                if let (true, Some(vip)) =
                    (s.kind.value == ServiceType::LoadBalancer && has_lb, vip)
                {
                    edges.push(Edge {
                        from: lb_id.clone(),
                        to: service_id.clone(),
                        kind: EdgeKind::Frontend,
                        label: Some(format!("{vip}:{}/{proto}", p.port.value)),
                    });
                }
                let node_port = node_ports.get(&KeyRef::NodePort(
                    cname,
                    ns,
                    name,
                    p.port.value,
                    p.protocol.value,
                ));
                let target = match p.target.as_ref().map(|t| &t.value) {
                    Some(PortRef::Name(n)) => n.clone(),
                    Some(PortRef::Number(n)) => n.to_string(),
                    None => p.port.value.to_string(),
                };
                let label = match node_port {
                    Some(np) => format!("{} → {target} (NodePort {np})", p.port.value),
                    None => format!("{} → {target}", p.port.value),
                };
                for w in &selected {
                    edges.push(Edge {
                        from: service_id.clone(),
                        to: workload_id(w),
                        kind: EdgeKind::Selects,
                        label: Some(label.clone()),
                    });
                }
            }
        }
        for src in &workloads {
            for dst in &workloads {
                if std::ptr::eq(*src, *dst) {
                    continue;
                }
                let Some(kind) = policy_edge(&engine, src, dst) else {
                    continue;
                };
                edges.push(Edge {
                    from: workload_id(src),
                    to: workload_id(dst),
                    kind,
                    label: None,
                });
            }
        }
        topo.clusters.push(ClusterGroup {
            name: cname.to_string(),
            network: c.network.value.clone(),
            label: format!(
                "cluster {cname} ({}{})",
                c.plugin.value.as_str(),
                c.kubernetes
                    .as_ref()
                    .map(|k| format!(", {}", k.value))
                    .unwrap_or_default()
            ),
            load_balancer,
            services: services
                .iter()
                .map(|s| Node {
                    id: format!("service/{cname}/{}/{}", s.namespace.value, s.name.value),
                    kind: NodeKind::Service,
                    label: vec![
                        format!("{}/{}", s.namespace.value, s.name.value),
                        s.kind.value.as_str().to_string(),
                    ],
                })
                .collect(),
            workloads: workloads
                .iter()
                .map(|w| Node {
                    id: workload_id(w),
                    kind: NodeKind::Workload,
                    label: vec![
                        format!("{}/{}", w.namespace.value, w.name.value),
                        format!("{} × {}", w.replicas.value, w.os.value.as_str()),
                    ],
                })
                .collect(),
            edges,
        });
    }
    topo
}

/// The DOT graph of the project, or of one cluster (and its network).
pub fn dot(model: &Model, alloc: &Allocation, only_cluster: Option<&str>) -> String {
    render_dot(&topology(model, alloc, only_cluster))
}

/// The topology as DOT.
pub fn render_dot(topo: &Topology) -> String {
    let mut out = String::new();
    out.push_str("digraph trellis {\n");
    out.push_str("  graph [rankdir=LR, fontname=\"sans-serif\", compound=true];\n");
    out.push_str("  node [fontname=\"sans-serif\", shape=box, style=rounded];\n");
    out.push_str("  edge [fontname=\"sans-serif\", fontsize=10];\n");
    for n in &topo.networks {
        let _ = writeln!(
            out,
            "  {} [label={}, shape=folder];",
            quote(&n.id),
            lines(&n.label)
        );
    }
    for c in &topo.clusters {
        let _ = writeln!(
            out,
            "  subgraph {} {{",
            quote(&format!("cluster_{}", c.name))
        );
        let _ = writeln!(out, "    label={};", quote(&c.label));
        if let Some(lb) = &c.load_balancer {
            let _ = writeln!(
                out,
                "    {} [label={}, shape=box3d];",
                quote(&lb.id),
                lines(&lb.label)
            );
        }
        for s in &c.services {
            let _ = writeln!(
                out,
                "    {} [label={}, shape=ellipse, style=solid];",
                quote(&s.id),
                lines(&s.label)
            );
        }
        for w in &c.workloads {
            let _ = writeln!(out, "    {} [label={}];", quote(&w.id), lines(&w.label));
        }
        out.push_str("  }\n");
        for e in &c.edges {
            let attrs = match (e.kind, &e.label) {
                (EdgeKind::AllowsAll, _) => {
                    " [style=solid, color=\"#2a7a2a\", arrowhead=vee]".to_string()
                }
                (EdgeKind::AllowsSome, _) => {
                    " [style=dashed, color=\"#2a7a2a\", arrowhead=vee]".to_string()
                }
                (_, Some(label)) => format!(" [label={}]", quote(label)),
                (_, None) => String::new(),
            };
            let _ = writeln!(out, "  {} -> {}{attrs};", quote(&e.from), quote(&e.to));
        }
    }
    out.push_str("}\n");
    out
}

/// The style of the edge `src → dst`: `solid` when a policy allows every port `dst`
/// declares, `dashed` when it allows only some; `None` when nothing is allowed or no
/// policy is involved (neither end is isolated: every pod may talk to every pod, which
/// would draw a complete graph and say nothing).
fn policy_edge(engine: &Engine<'_>, src: &Workload, dst: &Workload) -> Option<EdgeKind> {
    let mut allowed = 0;
    let mut by_policy = false;
    for p in &dst.ports {
        let v = engine.decide(
            Endpoint::Pod(src),
            Endpoint::Pod(dst),
            p.number.value,
            p.protocol.value,
        );
        if v.allowed {
            allowed += 1;
            by_policy |= matches!(v.egress.reason, Reason::Rule { .. })
                || matches!(v.ingress.reason, Reason::Rule { .. });
        }
    }
    match (allowed, by_policy) {
        (0, _) | (_, false) => None,
        (n, true) if n == dst.ports.len() => Some(EdgeKind::AllowsAll),
        _ => Some(EdgeKind::AllowsSome),
    }
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn quote_keeps_names_inside_the_string() {
        assert_eq!(quote("web"), "\"web\"");
        assert_eq!(quote("a\"b"), "\"a\\\"b\"");
        assert_eq!(quote("a\\"), "\"a\\\\\"");
        assert_eq!(quote("a\nb"), "\"a\\nb\"");
        assert_eq!(quote("a\u{0}\u{1b}b"), "\"ab\"");
        assert_eq!(quote("<b>"), "\"<b>\"");
    }
}
