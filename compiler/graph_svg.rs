//! The topology as SVG (`trellis graph --format svg`), laid out by trellis itself so
//! that no Graphviz is needed.
//!
//! The layout is a fixed, layered grid, which suits the graph's shape (traffic flows
//! one way: network → load balancer → service → workload):
//!
//! ```text
//!  ┌ network band ───────────────────────────────────────────────────────┐
//!  │            ┌ cluster box ─────────────────────────────────────────┐ │
//!  │ [network] ─┼─▶ [LB] ──VIP:port──▶ (service) ──port──▶ [workload] ─┼╮│
//!  │            │                     (service) ────────▶ [workload] ◀┼╯│
//!  │            └──────────────────────────────────────────────────────┘ │
//!  └─────────────────────────────────────────────────────────────────────┘
//! ```
//!
//! Columns: networks, load balancers, services, workloads. Each network is a band
//! holding its clusters, stacked; each cluster is a box whose rows hold its services
//! and workloads (sorted by name, as in the topology). Edges between columns are
//! curves with their label in the gap before the target; policy edges between
//! workloads are arcs on the right of the workload column (solid: every port,
//! dashed: some ports). Text widths are estimated for a monospace font at a fixed
//! size, so the layout needs no font metrics and is byte-identical on every machine.
//!
//! Every string is XML-escaped by `emit::escape::html`.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use crate::alloc::Allocation;
use crate::emit::escape::html_string as esc;
use crate::graph::{topology, Edge, EdgeKind, Node, NodeKind, Topology};
use crate::model::Model;

const FONT_SIZE: f64 = 12.0;
/// Advance of one character of DejaVu Sans Mono (0.602 em) at `FONT_SIZE`.
const CHAR_WIDTH: f64 = 7.3;
const LINE_HEIGHT: f64 = 15.0;
const NODE_PAD_X: f64 = 10.0;
const NODE_PAD_Y: f64 = 7.0;
const ROW_GAP: f64 = 14.0;
const MARGIN: f64 = 16.0;
const BAND_PAD: f64 = 14.0;
const CLUSTER_HEADER: f64 = 26.0;
const CLUSTER_PAD: f64 = 14.0;
const MIN_GAP: f64 = 56.0;
const LABEL_GAP: f64 = 24.0;
/// Room right of the workloads for policy arcs.
const ARC_ROOM: f64 = 90.0;

const GREEN: &str = "#2a7a2a";

/// The SVG drawing of the project, or of one cluster (and its network).
pub fn svg(model: &Model, alloc: &Allocation, only_cluster: Option<&str>) -> String {
    render(&topology(model, alloc, only_cluster))
}

fn text_width(s: &str) -> f64 {
    s.chars().count() as f64 * CHAR_WIDTH
}

/// Horizontal padding inside a node; services are pill-shaped and need more.
fn pad_x(n: &Node) -> f64 {
    match n.kind {
        NodeKind::Service => NODE_PAD_X + 8.0,
        _ => NODE_PAD_X,
    }
}

fn node_size(n: &Node) -> (f64, f64) {
    let w = n.label.iter().map(|l| text_width(l)).fold(0.0, f64::max) + 2.0 * pad_x(n);
    let h = n.label.len() as f64 * LINE_HEIGHT + 2.0 * NODE_PAD_Y;
    (w, h)
}

/// Where a node is drawn: its box.
#[derive(Debug, Clone, Copy)]
struct Place {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
}

impl Place {
    fn right(&self) -> (f64, f64) {
        (self.x + self.w, self.y + self.h / 2.0)
    }
    fn left(&self) -> (f64, f64) {
        (self.x, self.y + self.h / 2.0)
    }
}

/// One number as SVG writes it: at most one decimal, no `-0`.
fn n(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    if r == 0.0 {
        "0".to_string()
    } else if r.fract() == 0.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.1}")
    }
}

/// Edges between the same two nodes with the same meaning, merged: one curve whose
/// label has one line per original edge (one per service port), in order.
fn merge(edges: &[Edge]) -> Vec<(&Edge, Vec<&str>)> {
    let mut order: Vec<(&str, &str, u8)> = Vec::new();
    let mut merged: HashMap<(&str, &str, u8), (&Edge, Vec<&str>)> = HashMap::new();
    for e in edges {
        let key = (e.from.as_str(), e.to.as_str(), e.kind as u8);
        let entry = merged.entry(key).or_insert_with(|| {
            order.push(key);
            (e, Vec::new())
        });
        if let Some(l) = &e.label {
            entry.1.push(l.as_str());
        }
    }
    order
        .into_iter()
        .filter_map(|k| merged.remove(&k))
        .collect()
}

/// Renders the topology.
pub fn render(topo: &Topology) -> String {
    // Column widths and the gaps that hold edge labels.
    let col =
        |nodes: &mut dyn Iterator<Item = &Node>| nodes.map(|n| node_size(n).0).fold(0.0, f64::max);
    let w_net = col(&mut topo.networks.iter());
    let w_lb = col(&mut topo
        .clusters
        .iter()
        .filter_map(|c| c.load_balancer.as_ref()));
    let w_svc = col(&mut topo.clusters.iter().flat_map(|c| &c.services));
    let w_wl = col(&mut topo.clusters.iter().flat_map(|c| &c.workloads));
    let label_width = |kind: EdgeKind| {
        topo.clusters
            .iter()
            .flat_map(|c| &c.edges)
            .filter(|e| e.kind == kind)
            .filter_map(|e| e.label.as_deref())
            .map(text_width)
            .fold(0.0, f64::max)
    };
    let gap_lb = MIN_GAP;
    let gap_svc = (label_width(EdgeKind::Frontend) + LABEL_GAP).max(MIN_GAP);
    let gap_wl = (label_width(EdgeKind::Selects) + LABEL_GAP).max(MIN_GAP);
    let x_net = MARGIN + BAND_PAD;
    let x_cluster = x_net + w_net + gap_lb / 2.0;
    let x_lb = x_net + w_net + gap_lb;
    let x_svc = x_lb + w_lb + gap_svc;
    let x_wl = x_svc + w_svc + gap_wl;
    let has_arcs = topo
        .clusters
        .iter()
        .flat_map(|c| &c.edges)
        .any(|e| matches!(e.kind, EdgeKind::AllowsAll | EdgeKind::AllowsSome));
    let x_cluster_end = x_wl + w_wl + CLUSTER_PAD + if has_arcs { ARC_ROOM } else { 0.0 };
    let x_band_end = x_cluster_end + BAND_PAD;
    let width = x_band_end + MARGIN;

    // Row pitch: the tallest node, so rows line up across columns.
    let tallest = topo.nodes().map(|n| node_size(n).1).fold(0.0, f64::max);
    let pitch = tallest + ROW_GAP;

    let mut places: BTreeMap<String, Place> = BTreeMap::new();
    let mut body = String::new();
    let mut y = MARGIN;
    for net in &topo.networks {
        let net_name = net.id.trim_start_matches("network/");
        let clusters: Vec<_> = topo
            .clusters
            .iter()
            .filter(|c| c.network == net_name)
            .collect();
        let band_top = y;
        let mut cy = band_top + BAND_PAD;
        let mut boxes = String::new();
        for c in &clusters {
            let rows = [
                usize::from(c.load_balancer.is_some()),
                c.services.len(),
                c.workloads.len(),
                1,
            ]
            .into_iter()
            .max()
            .unwrap_or(1);
            let height = CLUSTER_HEADER + rows as f64 * pitch - ROW_GAP + CLUSTER_PAD;
            let _ = writeln!(
                boxes,
                "<g class=\"cluster\"><title>{}</title><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"6\" fill=\"#ffffff\" stroke=\"#5b6575\"/><text x=\"{}\" y=\"{}\" font-weight=\"bold\">{}</text></g>",
                esc(&c.label),
                n(x_cluster),
                n(cy),
                n(x_cluster_end - x_cluster),
                n(height),
                n(x_cluster + 10.0),
                n(cy + 17.0),
                esc(&c.label)
            );
            let rows_top = cy + CLUSTER_HEADER;
            // Every node of a column has the column's width, so edges leave and
            // arrive on one line.
            let mut place_column = |nodes: &[&Node], x: f64, w: f64| {
                // Centre the column's nodes in the cluster's rows.
                let offset = rows.saturating_sub(nodes.len()) as f64 * pitch / 2.0;
                for (i, node) in nodes.iter().enumerate() {
                    let (_, h) = node_size(node);
                    let top = rows_top + offset + i as f64 * pitch + (tallest - h) / 2.0;
                    places.insert(node.id.clone(), Place { x, y: top, w, h });
                }
            };
            let lb: Vec<&Node> = c.load_balancer.iter().collect();
            place_column(&lb, x_lb, w_lb);
            place_column(&c.services.iter().collect::<Vec<_>>(), x_svc, w_svc);
            place_column(&c.workloads.iter().collect::<Vec<_>>(), x_wl, w_wl);
            cy += height + BAND_PAD;
        }
        let band_bottom = cy.max(band_top + tallest + 2.0 * BAND_PAD);
        let (_, h) = node_size(net);
        let w = w_net;
        places.insert(
            net.id.clone(),
            Place {
                x: x_net,
                y: band_top + (band_bottom - band_top - h) / 2.0,
                w,
                h,
            },
        );
        let _ = writeln!(
            body,
            "<g class=\"network-band\"><title>{}</title><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"8\" fill=\"#eef2f7\" stroke=\"#c4ccd8\"/></g>",
            esc(&net.id),
            n(MARGIN),
            n(band_top),
            n(x_band_end - MARGIN),
            n(band_bottom - band_top)
        );
        body.push_str(&boxes);
        y = band_bottom + ROW_GAP;
    }
    let height = y - ROW_GAP + MARGIN;

    // Edges below nodes, labels above edges.
    let mut edges = String::new();
    let mut labels = String::new();
    for c in &topo.clusters {
        // Each policy arc of a cluster reaches a little further right than the one
        // before, so arcs between neighbours do not overlap.
        let mut arc = 0.0f64;
        for (e, label_lines) in merge(&c.edges) {
            let (Some(from), Some(to)) = (places.get(e.from.as_str()), places.get(e.to.as_str()))
            else {
                continue;
            };
            match e.kind {
                EdgeKind::AllowsAll | EdgeKind::AllowsSome => {
                    let (x1, y1) = from.right();
                    let (x2, y2) = to.right();
                    let span = ((y2 - y1).abs() / pitch).min(4.0);
                    let reach = x_wl + w_wl + 16.0 + span * 10.0 + (arc * 5.0) % 20.0;
                    arc += 1.0;
                    let dash = if e.kind == EdgeKind::AllowsSome {
                        " stroke-dasharray=\"6 4\""
                    } else {
                        ""
                    };
                    let _ = writeln!(
                        edges,
                        "<path class=\"edge policy\" d=\"M{} {} C{} {} {} {} {} {}\" fill=\"none\" stroke=\"{GREEN}\" stroke-width=\"1.5\"{dash} marker-end=\"url(#arrow-green)\"><title>{} → {}: {}</title></path>",
                        n(x1), n(y1 + 3.0), n(reach), n(y1 + 3.0), n(reach), n(y2 - 3.0), n(x2 + 2.0), n(y2 - 3.0),
                        esc(&e.from), esc(&e.to),
                        if e.kind == EdgeKind::AllowsAll { "a policy allows every port" } else { "a policy allows some ports" }
                    );
                }
                _ => {
                    let (x1, y1) = from.right();
                    let (x2, y2) = to.left();
                    let mid = (x1 + x2) / 2.0;
                    let _ = writeln!(
                        edges,
                        "<path class=\"edge\" d=\"M{} {} C{} {} {} {} {} {}\" fill=\"none\" stroke=\"#3c4656\" stroke-width=\"1.2\" marker-end=\"url(#arrow)\"/>",
                        n(x1), n(y1), n(mid), n(y1), n(mid), n(y2), n(x2 - 2.0), n(y2)
                    );
                    if !label_lines.is_empty() {
                        // In the gap before the target, just above the curve's end.
                        let w = label_lines
                            .iter()
                            .map(|l| text_width(l))
                            .fold(0.0, f64::max);
                        let lx = x2 - LABEL_GAP / 2.0 - w;
                        let lh = label_lines.len() as f64 * LINE_HEIGHT;
                        let ly = y2 - lh - 4.0;
                        let _ = write!(
                            labels,
                            "<g class=\"edge-label\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#ffffff\" fill-opacity=\"0.85\"/><text x=\"{}\" y=\"{}\" font-size=\"11\">",
                            n(lx - 2.0), n(ly), n(w + 4.0), n(lh + 2.0), n(lx), n(ly + LINE_HEIGHT - 3.0)
                        );
                        for (i, l) in label_lines.iter().enumerate() {
                            let _ = write!(
                                labels,
                                "<tspan x=\"{}\" dy=\"{}\">{}</tspan>",
                                n(lx),
                                if i == 0 {
                                    "0".to_string()
                                } else {
                                    n(LINE_HEIGHT)
                                },
                                esc(l)
                            );
                        }
                        labels.push_str("</text></g>\n");
                    }
                }
            }
        }
    }

    let mut nodes = String::new();
    for node in topo.nodes() {
        if let Some(p) = places.get(node.id.as_str()) {
            draw_node(&mut nodes, node, p);
        }
    }

    let mut out = String::new();
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"DejaVu Sans Mono, Menlo, Consolas, monospace\" font-size=\"{}\">",
        n(FONT_SIZE),
        w = n(width),
        h = n(height.max(2.0 * MARGIN)),
    );
    out.push_str("<title>trellis topology</title>\n");
    out.push_str("<defs>\n<marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto\"><path d=\"M0 0 L10 5 L0 10 z\" fill=\"#3c4656\"/></marker>\n");
    let _ = writeln!(
        out,
        "<marker id=\"arrow-green\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto\"><path d=\"M0 0 L10 5 L0 10 L3 5 z\" fill=\"{GREEN}\"/></marker>\n</defs>"
    );
    out.push_str("<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n");
    out.push_str(&body);
    out.push_str(&edges);
    out.push_str(&nodes);
    out.push_str(&labels);
    out.push_str("</svg>\n");
    out
}

fn draw_node(out: &mut String, node: &Node, p: &Place) {
    let (fill, stroke, shape) = match node.kind {
        NodeKind::Network => ("#dde6f3", "#2f5d9e", "folder"),
        NodeKind::LoadBalancer => ("#f6ead8", "#8a5a12", "box3d"),
        NodeKind::Service => ("#ffffff", "#3c4656", "ellipse"),
        NodeKind::Workload => ("#eaf4ec", "#2a7a2a", "rounded"),
    };
    let _ = write!(
        out,
        "<g class=\"node {}\"><title>{}</title>",
        match node.kind {
            NodeKind::Network => "network",
            NodeKind::LoadBalancer => "load-balancer",
            NodeKind::Service => "service",
            NodeKind::Workload => "workload",
        },
        esc(&node.id)
    );
    let (x, y, w, h) = (p.x, p.y, p.w, p.h);
    match shape {
        "folder" => {
            let _ = write!(
                out,
                "<path d=\"M{} {} h{} l4 -5 h{} v{} h{} z\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"1.5\"/>",
                n(x), n(y), n(w * 0.35), n(w * 0.65 - 4.0), n(h + 5.0), n(-w)
            );
            let _ = write!(
                out,
                "<path d=\"M{} {} v{}\" stroke=\"{stroke}\"/>",
                n(x),
                n(y),
                n(h)
            );
        }
        "box3d" => {
            let _ = write!(
                out,
                "<path d=\"M{} {} l4 -4 h{} v{} l-4 4\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"1.2\"/><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"1.5\"/>",
                n(x), n(y), n(w), n(h), n(x), n(y), n(w), n(h)
            );
        }
        "ellipse" => {
            let _ = write!(
                out,
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"{}\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"1.5\"/>",
                n(x), n(y), n(w), n(h), n(h / 2.0)
            );
        }
        _ => {
            let _ = write!(
                out,
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"6\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"1.5\"/>",
                n(x), n(y), n(w), n(h)
            );
        }
    }
    let tx = x + pad_x(node);
    let _ = write!(
        out,
        "<text x=\"{}\" y=\"{}\">",
        n(tx),
        n(y + NODE_PAD_Y + LINE_HEIGHT - 4.0)
    );
    for (i, line) in node.label.iter().enumerate() {
        let _ = write!(
            out,
            "<tspan x=\"{}\" dy=\"{}\"{}>{}</tspan>",
            n(tx),
            if i == 0 {
                "0".to_string()
            } else {
                n(LINE_HEIGHT)
            },
            if i == 0 { " font-weight=\"bold\"" } else { "" },
            esc(line)
        );
    }
    out.push_str("</text></g>\n");
}
