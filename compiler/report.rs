//! The project report (`trellis report`): one self-contained HTML page with the
//! address plan of every network, every cluster with its load-balancer frontends and
//! connectivity matrix, every diagnostic, and what a build would change in
//! `trellis.lock`.
//!
//! This module prepares the data; `stdlib/templates/report.html.tera` only formats
//! it. Every figure comes from the stages that own it: pool sizes and demand from the
//! capacity check (`check::addresses`), addresses, their origin and the upgrade
//! reserve from the allocation, cells from the reachability engine, changes from
//! `lock::diff`. Nothing is re-derived here.
//!
//! The topology section embeds the SVG of `graph_svg.rs` (which escapes its own
//! strings) as it is.
//!
//! A project with errors still gets a report: it lists the errors, and each section
//! that needs the allocation (bars, addresses, frontends, matrix, plan) says why it
//! is missing.
//!
//! Invariant: pure and deterministic (networks, clusters, services and workloads are
//! sorted by name; no hash-map order reaches the page). Every string reaches the page
//! through the template's autoescaping with `emit::escape::html`.

use std::net::IpAddr;

use serde::Serialize;
use tera::{Context, Tera};

use crate::alloc::{AllocKey, Allocation, KeyRef, Origin};
use crate::check::addresses::{capacity, pool_size};
use crate::emit::escape;
use crate::lock::Change;
use crate::model::index::WorkloadIndex;
use crate::model::{
    Cluster, IpRange, LbSku, Model, Network, NetworkMode, PortRef, ServiceType, Workload,
};
use crate::reach::{Cell, Engine};
use crate::source::{Sources, Span};
use crate::Compilation;

const TEMPLATE_NAME: &str = "report.html";
const TEMPLATE: &str = include_str!("../stdlib/templates/report.html.tera");

/// Clusters with more workloads than this get no matrix in the report (the grid
/// would have more than 10,000 cells), and a project with such a cluster no
/// topology drawing; `trellis matrix` and `trellis graph` produce any size.
pub const MATRIX_LIMIT: usize = 100;

/// Why the allocation-dependent sections are empty.
const NO_ALLOCATION: &str =
    "not allocated: the project has errors (see Diagnostics), so trellis allocates nothing";

#[derive(Debug, Serialize)]
pub struct Report {
    /// The project path as given on the command line.
    pub project: String,
    pub version: &'static str,
    pub errors: usize,
    pub warnings: usize,
    /// Set when the project has errors: why bars, addresses and frontends are missing.
    pub missing: Option<&'static str>,
    pub networks: Vec<NetworkView>,
    pub clusters: Vec<ClusterView>,
    /// The topology drawn by `graph_svg` (its strings already escaped there);
    /// `None` when nothing was allocated or a cluster is too large to draw.
    pub topology: Option<String>,
    /// Why `topology` is `None`.
    pub topology_missing: Option<Vec<Segment>>,
    pub diagnostics: Vec<DiagView>,
    pub plan: PlanView,
}

#[derive(Debug, Serialize)]
pub struct NetworkView {
    pub name: String,
    pub declared_at: String,
    pub switch: String,
    pub mode: &'static str,
    pub prefix: Option<String>,
    pub gateway: Option<String>,
    pub dns: Vec<String>,
    pub vlan: Option<u16>,
    pub pools: Vec<PoolView>,
    pub addresses: Vec<AddressRow>,
}

/// One address pool and how it is used.
#[derive(Debug, Serialize)]
pub struct PoolView {
    /// `node` or `vip`, for the element ids.
    pub kind: &'static str,
    pub title: &'static str,
    pub start: String,
    pub end: String,
    pub declared_at: String,
    pub size: u64,
    /// What the declarations need, from the capacity check, and its breakdown.
    pub needed: u64,
    pub demand: Vec<Vec<Segment>>,
    /// Figures from the allocation; `None` when nothing was allocated.
    pub usage: Option<Usage>,
}

#[derive(Debug, Serialize)]
pub struct Usage {
    pub used: u64,
    pub reserved: u64,
    pub free: u64,
    /// Bar widths, in percent of the pool, with three decimals.
    pub used_pct: String,
    pub reserved_pct: String,
    pub free_pct: String,
}

/// One address of a network and what holds it.
#[derive(Debug, Serialize)]
pub struct AddressRow {
    pub address: String,
    /// gateway, DNS server, API server VIP, control-plane VM, worker VM,
    /// load-balancer VM, upgrade reserve, service VIP.
    pub role: &'static str,
    pub consumer: Vec<Segment>,
    /// pinned, kept (trellis.lock), new, declared (the network's own settings and
    /// DHCP VM addresses).
    pub origin: &'static str,
    pub declared_at: String,
}

#[derive(Debug, Serialize)]
pub struct ClusterView {
    pub name: String,
    pub declared_at: String,
    pub network: String,
    pub plugin: &'static str,
    pub kubernetes: Option<String>,
    pub control_plane_count: u32,
    pub control_plane_vm: String,
    pub pools: Vec<PoolRow>,
    /// `None` when the cluster has no HAProxy load balancer.
    pub load_balancer: Option<LoadBalancerView>,
    pub api_server: Option<String>,
    pub frontends: Vec<Frontend>,
    pub matrix: Option<MatrixView>,
    /// Why `matrix` is `None`.
    pub matrix_missing: Option<Vec<Segment>>,
}

#[derive(Debug, Serialize)]
pub struct PoolRow {
    pub name: String,
    pub os: &'static str,
    pub count: u32,
    pub vm_size: String,
}

#[derive(Debug, Serialize)]
pub struct LoadBalancerView {
    pub count: u32,
    pub vm_size: String,
    pub addresses: Vec<String>,
}

/// One way into the cluster: `VIP:port → NodePort → workloads`.
#[derive(Debug, Serialize)]
pub struct Frontend {
    pub service: String,
    pub kind: &'static str,
    /// The VIP of a LoadBalancer service; `None` for a NodePort service (every
    /// node's address) or when nothing was allocated.
    pub vip: Option<String>,
    pub port: u16,
    pub protocol: &'static str,
    pub node_port: Option<u16>,
    pub target: String,
    pub workloads: Vec<String>,
    pub declared_at: String,
}

#[derive(Debug, Serialize)]
pub struct MatrixView {
    pub workloads: Vec<String>,
    pub rows: Vec<MatrixRow>,
}

#[derive(Debug, Serialize)]
pub struct MatrixRow {
    pub from: String,
    pub cells: Vec<MatrixCell>,
}

#[derive(Debug, Serialize)]
pub struct MatrixCell {
    /// allow, deny, partial, none (the CSS class).
    pub state: &'static str,
    pub symbol: &'static str,
    /// Spoken and printed text: "allowed", "denied", "some ports", "no port".
    pub text: &'static str,
    /// The destination, for the cell's title.
    pub to: String,
}

#[derive(Debug, Serialize)]
pub struct DiagView {
    pub severity: &'static str,
    pub code: &'static str,
    pub name: &'static str,
    pub message: Vec<Segment>,
    pub help: Vec<Segment>,
    pub location: String,
}

#[derive(Debug, Serialize)]
pub struct PlanView {
    /// unavailable (errors), no-lock, up-to-date, changes.
    pub state: &'static str,
    pub note: String,
    pub changes: Vec<ChangeRow>,
}

#[derive(Debug, Serialize)]
pub struct ChangeRow {
    pub sign: &'static str,
    pub kind: &'static str,
    pub what: Vec<Segment>,
    pub value: Vec<Segment>,
    pub was: Vec<Segment>,
}

/// A piece of text; `code` for what the compiler's messages put in backticks
/// (names, addresses), which the page sets in a monospace font.
#[derive(Debug, Serialize)]
pub struct Segment {
    pub text: String,
    pub code: bool,
}

/// Splits a message at its backticks: "no network `crop`" → "no network ", `crop`.
/// An unpaired backtick stays as text.
pub fn segments(message: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut rest = message;
    while let Some((before, after)) = rest.split_once('`') {
        let Some((inside, tail)) = after.split_once('`') else {
            break;
        };
        if !before.is_empty() {
            out.push(Segment {
                text: before.to_string(),
                code: false,
            });
        }
        out.push(Segment {
            text: inside.to_string(),
            code: true,
        });
        rest = tail;
    }
    if !rest.is_empty() {
        out.push(Segment {
            text: rest.to_string(),
            code: false,
        });
    }
    out
}

/// Builds the report's data. `project` is the path shown in the title.
pub fn prepare(compilation: &Compilation, sources: &Sources, project: &str) -> Report {
    let model = &compilation.model;
    let errors = compilation
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .count();
    let has_errors = errors > 0;
    // With `--deny-warnings` the allocation exists but a build would not happen: the
    // report shows it only when the project has no errors, as `build` writes it.
    let alloc = compilation.allocation.as_ref().filter(|_| !has_errors);
    let at = |span: Span| location(span, sources, false);

    let mut networks: Vec<&Network> = model.networks.iter().collect();
    networks.sort_by(|a, b| a.name.value.cmp(&b.name.value));
    let networks = networks
        .into_iter()
        .map(|n| network_view(model, n, alloc, &at))
        .collect();

    let mut clusters: Vec<&Cluster> = model.clusters.iter().collect();
    clusters.sort_by(|a, b| a.name.value.cmp(&b.name.value));
    let index = WorkloadIndex::new(model);
    let clusters = clusters
        .into_iter()
        .map(|c| cluster_view(model, c, alloc, has_errors, &index, &at))
        .collect();

    let diagnostics = compilation
        .diagnostics
        .iter()
        .map(|d| DiagView {
            severity: d.severity.as_str(),
            code: d.code.code,
            name: d.code.name,
            message: segments(&d.message),
            help: segments(&d.help),
            location: location(d.span, sources, true),
        })
        .collect();

    let largest = model
        .clusters
        .iter()
        .map(|c| {
            let n = model
                .workloads
                .iter()
                .filter(|w| w.cluster.value == c.name.value)
                .count();
            (n, c.name.value.as_str())
        })
        .max();
    let (topology, topology_missing) = match (alloc, largest) {
        (None, _) => (None, Some(segments(NO_ALLOCATION))),
        (Some(_), Some((n, c))) if n > MATRIX_LIMIT => (
            None,
            Some(segments(&format!(
                "cluster `{c}` has {n} workloads: more than the report draws ({MATRIX_LIMIT}); run `trellis graph --format svg`"
            ))),
        ),
        (Some(a), _) => (Some(crate::graph_svg::svg(model, a, None)), None),
    };

    Report {
        project: project.to_string(),
        version: env!("CARGO_PKG_VERSION"),
        errors,
        warnings: compilation.diagnostics.len() - errors,
        missing: has_errors.then_some(NO_ALLOCATION),
        networks,
        clusters,
        topology,
        topology_missing,
        diagnostics,
        plan: plan_view(compilation, alloc),
    }
}

/// Renders the report as one HTML page. Fails only if the embedded template is
/// broken, which the tests rule out; the error says where.
pub fn render(report: &Report) -> Result<String, String> {
    let mut tera = Tera::new();
    tera.autoescape_on(vec![TEMPLATE_NAME.to_string()]);
    tera.set_escape_fn(escape::html);
    tera.add_raw_template(TEMPLATE_NAME, TEMPLATE)
        .map_err(|e| e.to_string())?;
    let context = Context::from_serialize(report).map_err(|e| e.to_string())?;
    tera.render(TEMPLATE_NAME, &context)
        .map_err(|e| e.to_string())
}

/// `file:line` (and `:column` when `column`), or `—` for a span in no file.
fn location(span: Span, sources: &Sources, column: bool) -> String {
    let span = sources.clamp(span);
    match sources.get(span.file) {
        Some(f) => {
            let (line, col) = f.line_col(span.start as usize);
            if column {
                format!("{}:{line}:{col}", f.path)
            } else {
                format!("{}:{line}", f.path)
            }
        }
        None => "—".to_string(),
    }
}

fn network_view(
    model: &Model,
    n: &Network,
    alloc: Option<&Allocation>,
    at: &dyn Fn(Span) -> String,
) -> NetworkView {
    let net = n.name.value.as_str();
    let cap = capacity(model, n);
    let mut pools = Vec::new();
    if let (NetworkMode::Static, Some(range)) = (n.mode.value, &n.node_ips) {
        pools.push(pool_view(
            "node",
            "Node IP pool",
            range,
            cap.node_total(),
            cap.node_ips.iter().map(|d| segments(&d.consumer)).collect(),
            alloc,
            net,
            at,
        ));
    }
    pools.push(pool_view(
        "vip",
        "VIP pool",
        &n.vips,
        cap.vip_total(),
        cap.vips.iter().map(|d| segments(&d.consumer)).collect(),
        alloc,
        net,
        at,
    ));

    let mut rows: Vec<(IpAddr, AddressRow)> = Vec::new();
    let declared = |address: IpAddr, role, consumer: String, span| {
        (
            address,
            AddressRow {
                address: address.to_string(),
                role,
                consumer: segments(&consumer),
                origin: "declared",
                declared_at: at(span),
            },
        )
    };
    if let Some(gw) = &n.gateway {
        rows.push(declared(
            gw.value,
            "gateway",
            format!("network `{net}`"),
            gw.span,
        ));
    }
    for dns in &n.dns {
        rows.push(declared(
            dns.value,
            "DNS server",
            format!("network `{net}`"),
            dns.span,
        ));
    }
    // VM addresses declared on a DHCP network (the allocator serves static ones).
    for c in model.clusters.iter().filter(|c| c.network.value == net) {
        let cname = &c.name.value;
        if let Some(list) = &c.control_plane.addresses {
            for (i, a) in list.value.iter().enumerate() {
                rows.push(declared(
                    a.value,
                    "control-plane VM",
                    format!("control-plane VM {i} of cluster `{cname}`"),
                    a.span,
                ));
            }
        }
        for pool in &c.node_pools {
            if let Some(list) = &pool.addresses {
                for (i, a) in list.value.iter().enumerate() {
                    rows.push(declared(
                        a.value,
                        "worker VM",
                        format!(
                            "worker {i} of node pool `{}` of cluster `{cname}`",
                            pool.name.value
                        ),
                        a.span,
                    ));
                }
            }
        }
    }
    for a in alloc
        .into_iter()
        .flat_map(|a| &a.addresses)
        .filter(|a| a.network == net)
    {
        rows.push((
            a.address,
            AddressRow {
                address: a.address.to_string(),
                role: role(&a.key),
                consumer: segments(&a.key.describe()),
                origin: match a.origin {
                    Origin::Pinned => "pinned",
                    Origin::Locked => "kept (trellis.lock)",
                    Origin::New => "new",
                },
                declared_at: declaration(model, &a.key)
                    .map(at)
                    .unwrap_or_else(|| "—".to_string()),
            },
        ));
    }
    // Stable: equal addresses (a conflict reported elsewhere) keep their order.
    rows.sort_by_key(|r| r.0);

    NetworkView {
        name: net.to_string(),
        declared_at: at(n.name.span),
        switch: n.switch.value.clone(),
        mode: match n.mode.value {
            NetworkMode::Static => "static",
            NetworkMode::Dhcp => "DHCP",
        },
        prefix: n.prefix.as_ref().map(|p| p.value.to_string()),
        gateway: n.gateway.as_ref().map(|g| g.value.to_string()),
        dns: n.dns.iter().map(|d| d.value.to_string()).collect(),
        vlan: n.vlan.as_ref().map(|v| v.value),
        pools,
        addresses: rows.into_iter().map(|(_, r)| r).collect(),
    }
}

#[allow(clippy::too_many_arguments)] // one call per pool kind; a struct would only rename them
fn pool_view(
    kind: &'static str,
    title: &'static str,
    range: &IpRange,
    needed: u64,
    demand: Vec<Vec<Segment>>,
    alloc: Option<&Allocation>,
    network: &str,
    at: &dyn Fn(Span) -> String,
) -> PoolView {
    let size = pool_size(range).unwrap_or(0);
    let (lo, hi) = (range.start.value, range.end.value);
    let usage = alloc.map(|alloc| {
        let inside = alloc
            .addresses
            .iter()
            .filter(|a| a.network == network && lo <= a.address && a.address <= hi);
        let (mut used, mut reserved) = (0u64, 0u64);
        for a in inside {
            if a.key.is_upgrade_reserve() {
                reserved += 1;
            } else {
                used += 1;
            }
        }
        let free = size.saturating_sub(used + reserved);
        let pct = |n: u64| {
            if size == 0 {
                "0.000".to_string()
            } else {
                format!("{:.3}", n as f64 * 100.0 / size as f64)
            }
        };
        Usage {
            used,
            reserved,
            free,
            used_pct: pct(used),
            reserved_pct: pct(reserved),
            free_pct: pct(free),
        }
    });
    PoolView {
        kind,
        title,
        start: lo.to_string(),
        end: hi.to_string(),
        declared_at: at(range.span),
        size,
        needed,
        demand,
        usage,
    }
}

/// What an allocated address is, in a word or two.
fn role(key: &AllocKey) -> &'static str {
    if key.is_upgrade_reserve() {
        return "upgrade reserve";
    }
    match key {
        AllocKey::HostNode(_) => "AKS host VM",
        AllocKey::HostApiServer | AllocKey::ApiServer(_) => "API server VIP",
        AllocKey::ControlPlane(..) => "control-plane VM",
        AllocKey::Worker(..) => "worker VM",
        AllocKey::LoadBalancer(..) => "load-balancer VM",
        AllocKey::Upgrade(..) => "upgrade reserve",
        AllocKey::Service(..) => "service VIP",
        AllocKey::NodePort(..) => "node port",
    }
}

/// The declaration that makes trellis allocate `key`.
fn declaration(model: &Model, key: &AllocKey) -> Option<Span> {
    let cluster = |c: &str| model.clusters.iter().find(|x| x.name.value == c);
    match key {
        AllocKey::HostNode(_) | AllocKey::HostApiServer => model.hosts.first().map(|h| h.span),
        AllocKey::ApiServer(c) | AllocKey::Upgrade(c, _) => cluster(c).map(|c| c.name.span),
        AllocKey::ControlPlane(c, _) => cluster(c).map(|c| c.control_plane.count.span),
        AllocKey::Worker(c, p, _) => cluster(c)?
            .node_pools
            .iter()
            .find(|x| x.name.value == *p)
            .map(|p| p.name.span),
        AllocKey::LoadBalancer(c, _) => cluster(c).map(|c| c.load_balancer.count.span),
        AllocKey::Service(c, ns, s) | AllocKey::NodePort(c, ns, s, _, _) => model
            .services
            .iter()
            .find(|x| x.cluster.value == *c && x.namespace.value == *ns && x.name.value == *s)
            .map(|s| s.address.as_ref().map_or(s.name.span, |a| a.span)),
    }
}

fn cluster_view(
    model: &Model,
    c: &Cluster,
    alloc: Option<&Allocation>,
    has_errors: bool,
    index: &WorkloadIndex<'_>,
    at: &dyn Fn(Span) -> String,
) -> ClusterView {
    let cname = c.name.value.as_str();
    let addresses: foldhash::HashMap<KeyRef<'_>, IpAddr> =
        alloc.map(Allocation::address_map).unwrap_or_default();
    let node_ports: foldhash::HashMap<KeyRef<'_>, u16> =
        alloc.map(Allocation::node_port_map).unwrap_or_default();
    let load_balancer = (c.load_balancer.sku.value == LbSku::HaProxy).then(|| LoadBalancerView {
        count: c.load_balancer.count.value,
        vm_size: c.load_balancer.vm_size.value.clone(),
        addresses: (0..c.load_balancer.count.value)
            .filter_map(|i| {
                addresses
                    .get(&KeyRef::LoadBalancer(cname, i))
                    .map(IpAddr::to_string)
            })
            .collect(),
    });

    let services = model.exposed_services(cname);
    let mut frontends = Vec::new();
    for s in services {
        let (ns, name) = (s.namespace.value.as_str(), s.name.value.as_str());
        let vip = (s.kind.value == ServiceType::LoadBalancer)
            .then(|| {
                addresses
                    .get(&KeyRef::Service(cname, ns, name))
                    .map(IpAddr::to_string)
            })
            .flatten();
        let mut selected: Vec<&Workload> = s
            .selector
            .as_ref()
            .map(|sel| index.selected(s, sel))
            .unwrap_or_default();
        selected.sort_by(|a, b| a.name.value.cmp(&b.name.value));
        let workloads: Vec<String> = selected
            .iter()
            .map(|w| format!("{}/{}", w.namespace.value, w.name.value))
            .collect();
        for p in &s.ports {
            frontends.push(Frontend {
                service: format!("{ns}/{name}"),
                kind: s.kind.value.as_str(),
                vip: vip.clone(),
                port: p.port.value,
                protocol: p.protocol.value.as_str(),
                node_port: node_ports
                    .get(&KeyRef::NodePort(
                        cname,
                        ns,
                        name,
                        p.port.value,
                        p.protocol.value,
                    ))
                    .copied(),
                target: match p.target.as_ref().map(|t| &t.value) {
                    Some(PortRef::Name(n)) => n.clone(),
                    Some(PortRef::Number(n)) => n.to_string(),
                    None => p.port.value.to_string(),
                },
                workloads: workloads.clone(),
                declared_at: at(p.span),
            });
        }
    }

    let (matrix, matrix_missing) = if has_errors {
        (
            None,
            Some(segments(
                "not computed: the project has errors, and policies that did not check would make it wrong",
            )),
        )
    } else {
        matrix_view(model, c, alloc)
    };

    ClusterView {
        name: cname.to_string(),
        declared_at: at(c.name.span),
        network: c.network.value.clone(),
        plugin: c.plugin.value.as_str(),
        kubernetes: c.kubernetes.as_ref().map(|k| k.value.clone()),
        control_plane_count: c.control_plane.count.value,
        control_plane_vm: c.control_plane.vm_size.value.clone(),
        pools: c
            .node_pools
            .iter()
            .map(|p| PoolRow {
                name: p.name.value.clone(),
                os: p.os.value.as_str(),
                count: p.count.value,
                vm_size: p.vm_size.value.clone(),
            })
            .collect(),
        load_balancer,
        api_server: addresses
            .get(&KeyRef::ApiServer(cname))
            .map(IpAddr::to_string),
        frontends,
        matrix,
        matrix_missing,
    }
}

fn matrix_view(
    model: &Model,
    c: &Cluster,
    alloc: Option<&Allocation>,
) -> (Option<MatrixView>, Option<Vec<Segment>>) {
    let engine = Engine::new(model, alloc, c);
    let workloads = engine.workloads_by_name(None);
    if workloads.is_empty() {
        return (None, Some(segments("the cluster has no workloads")));
    }
    if workloads.len() > MATRIX_LIMIT {
        return (
            None,
            Some(segments(&format!(
                "{} workloads: more than the report draws ({MATRIX_LIMIT}); run `trellis matrix --cluster {}`",
                workloads.len(),
                c.name.value
            ))),
        );
    }
    let names: Vec<String> = workloads
        .iter()
        .map(|w| format!("{}/{}", w.namespace.value, w.name.value))
        .collect();
    let rows = workloads
        .iter()
        .zip(&names)
        .map(|(src, from)| MatrixRow {
            from: from.clone(),
            cells: workloads
                .iter()
                .zip(&names)
                .map(|(dst, to)| {
                    let (state, symbol, text) = match engine.cell(src, dst, None) {
                        Cell::Allow => ("allow", "✓", "allowed"),
                        Cell::Deny => ("deny", "✗", "denied"),
                        Cell::Partial => ("partial", "◐", "some ports"),
                        Cell::NoPorts => ("none", "–", "no port"),
                    };
                    MatrixCell {
                        state,
                        symbol,
                        text,
                        to: to.clone(),
                    }
                })
                .collect(),
        })
        .collect();
    (
        Some(MatrixView {
            workloads: names,
            rows,
        }),
        None,
    )
}

fn plan_view(compilation: &Compilation, alloc: Option<&Allocation>) -> PlanView {
    let Some(alloc) = alloc else {
        return PlanView {
            state: "unavailable",
            note: "no plan: the project has errors, so a build would write nothing".to_string(),
            changes: Vec::new(),
        };
    };
    let Some(lock) = &compilation.lock else {
        let n = alloc.addresses.len() + alloc.node_ports.len();
        return PlanView {
            state: "no-lock",
            note: format!(
                "there is no trellis.lock yet: the first build records all {n} allocations"
            ),
            changes: Vec::new(),
        };
    };
    let changes: Vec<ChangeRow> = crate::lock::diff(lock, alloc)
        .into_iter()
        .map(|change| {
            let (sign, kind, what, value, was) = match change {
                Change::Added { key, value } => {
                    ("+", "added", key.describe(), value, String::new())
                }
                Change::Removed { key, value } => {
                    ("−", "removed", key.describe(), String::new(), value)
                }
                Change::Moved { key, from, to } => ("~", "moved", key.describe(), to, from),
                Change::Plugin { cluster, from, to } => (
                    "!",
                    "plugin change (re-creates the cluster)",
                    format!("cluster `{cluster}`"),
                    to.as_str().to_string(),
                    from.as_str().to_string(),
                ),
            };
            ChangeRow {
                sign,
                kind,
                what: segments(&what),
                value: segments(&value),
                was: segments(&was),
            }
        })
        .collect();
    if changes.is_empty() {
        return PlanView {
            state: "up-to-date",
            note: "no changes: trellis.lock is up to date".to_string(),
            changes,
        };
    }
    PlanView {
        state: "changes",
        note: format!(
            "a build would change trellis.lock in {} place{}",
            changes.len(),
            if changes.len() == 1 { "" } else { "s" }
        ),
        changes,
    }
}

#[cfg(test)]
mod tests {
    use super::segments;

    fn show(message: &str) -> Vec<(String, bool)> {
        segments(message)
            .into_iter()
            .map(|s| (s.text, s.code))
            .collect()
    }

    #[test]
    fn segments_split_at_backticks() {
        let t = |s: &str| (s.to_string(), false);
        let c = |s: &str| (s.to_string(), true);
        assert_eq!(show("no network `crop`"), vec![t("no network "), c("crop")]);
        assert_eq!(
            show("`a` and `b`."),
            vec![c("a"), t(" and "), c("b"), t(".")]
        );
        assert_eq!(show("one ` only"), vec![t("one ` only")]);
        assert_eq!(show("`a` then `"), vec![c("a"), t(" then `")]);
        assert_eq!(show(""), vec![]);
        assert_eq!(show("``"), vec![c("")]);
    }
}
