//! The topology as a Graphviz DOT graph (`trellis graph`).
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

use crate::alloc::{AllocKey, Allocation};
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

/// The DOT graph of the project, or of one cluster (and its network).
pub fn dot(model: &Model, alloc: &Allocation, only_cluster: Option<&str>) -> String {
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

    let mut out = String::new();
    out.push_str("digraph trellis {\n");
    out.push_str("  graph [rankdir=LR, fontname=\"sans-serif\", compound=true];\n");
    out.push_str("  node [fontname=\"sans-serif\", shape=box, style=rounded];\n");
    out.push_str("  edge [fontname=\"sans-serif\", fontsize=10];\n");
    for n in &networks {
        let mut label = vec![format!("network {}", n.name.value)];
        if let Some(p) = &n.prefix {
            label.push(p.value.to_string());
        }
        label.push(format!(
            "VIPs {} – {}",
            n.vips.start.value, n.vips.end.value
        ));
        let _ = writeln!(
            out,
            "  {} [label={}, shape=folder];",
            quote(&format!("network/{}", n.name.value)),
            lines(&label)
        );
    }
    for c in &clusters {
        let cname = c.name.value.as_str();
        let _ = writeln!(out, "  subgraph {} {{", quote(&format!("cluster_{cname}")));
        let _ = writeln!(
            out,
            "    label={};",
            quote(&format!(
                "cluster {cname} ({}{})",
                c.plugin.value.as_str(),
                c.kubernetes
                    .as_ref()
                    .map(|k| format!(", {}", k.value))
                    .unwrap_or_default()
            ))
        );
        let lb_id = quote(&format!("lb/{cname}"));
        let has_lb = c.load_balancer.sku.value == LbSku::HaProxy;
        if has_lb {
            let mut label = vec![format!("load balancer ×{}", c.load_balancer.count.value)];
            if let Some(api) = addresses.get(&AllocKey::ApiServer(cname.to_string())) {
                label.push(format!("API {api}:6443"));
            }
            let _ = writeln!(out, "    {lb_id} [label={}, shape=box3d];", lines(&label));
        }
        let mut services: Vec<_> = model
            .services
            .iter()
            .filter(|s| s.cluster.value == cname)
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
        let engine = Engine::new(model, Some(alloc), c);
        let mut workloads: Vec<&Workload> = engine.workloads().collect();
        workloads.sort_by(|a, b| {
            (&a.namespace.value, &a.name.value).cmp(&(&b.namespace.value, &b.name.value))
        });
        let workload_id = |w: &Workload| {
            quote(&format!(
                "workload/{cname}/{}/{}",
                w.namespace.value, w.name.value
            ))
        };
        for s in &services {
            let _ = writeln!(
                out,
                "    {} [label={}, shape=ellipse, style=solid];",
                quote(&format!(
                    "service/{cname}/{}/{}",
                    s.namespace.value, s.name.value
                )),
                lines(&[
                    format!("{}/{}", s.namespace.value, s.name.value),
                    s.kind.value.as_str().to_string(),
                ])
            );
        }
        for w in &workloads {
            let _ = writeln!(
                out,
                "    {} [label={}];",
                workload_id(w),
                lines(&[
                    format!("{}/{}", w.namespace.value, w.name.value),
                    format!("{} × {}", w.replicas.value, w.os.value.as_str()),
                ])
            );
        }
        out.push_str("  }\n");
        if has_lb {
            let _ = writeln!(
                out,
                "  {} -> {lb_id};",
                quote(&format!("network/{}", c.network.value))
            );
        }
        for s in &services {
            let (ns, name) = (s.namespace.value.as_str(), s.name.value.as_str());
            let service_id = quote(&format!("service/{cname}/{ns}/{name}"));
            let vip = addresses.get(&AllocKey::Service(
                cname.to_string(),
                ns.to_string(),
                name.to_string(),
            ));
            let selected = s
                .selector
                .as_ref()
                .map(|sel| index.selected(s, sel))
                .unwrap_or_default();
            for p in &s.ports {
                let proto = p.protocol.value.as_str();
                if let (true, Some(vip)) =
                    (s.kind.value == ServiceType::LoadBalancer && has_lb, vip)
                {
                    let _ = writeln!(
                        out,
                        "  {lb_id} -> {service_id} [label={}];",
                        quote(&format!("{vip}:{}/{proto}", p.port.value))
                    );
                }
                let node_port = node_ports.get(&AllocKey::NodePort(
                    cname.to_string(),
                    ns.to_string(),
                    name.to_string(),
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
                let mut selected: Vec<&&Workload> = selected.iter().collect();
                selected.sort_by(|a, b| a.name.value.cmp(&b.name.value));
                for w in selected {
                    let _ = writeln!(
                        out,
                        "  {service_id} -> {} [label={}];",
                        workload_id(w),
                        quote(&label)
                    );
                }
            }
        }
        for src in &workloads {
            for dst in &workloads {
                if std::ptr::eq(*src, *dst) {
                    continue;
                }
                let Some(style) = policy_edge(&engine, src, dst) else {
                    continue;
                };
                let _ = writeln!(
                    out,
                    "  {} -> {} [style={style}, color=\"#2a7a2a\", arrowhead=vee];",
                    workload_id(src),
                    workload_id(dst)
                );
            }
        }
    }
    out.push_str("}\n");
    out
}

/// The style of the edge `src → dst`: `solid` when a policy allows every port `dst`
/// declares, `dashed` when it allows only some; `None` when nothing is allowed or no
/// policy is involved (neither end is isolated: every pod may talk to every pod, which
/// would draw a complete graph and say nothing).
fn policy_edge(engine: &Engine<'_>, src: &Workload, dst: &Workload) -> Option<&'static str> {
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
        (n, true) if n == dst.ports.len() => Some("solid"),
        _ => Some("dashed"),
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
