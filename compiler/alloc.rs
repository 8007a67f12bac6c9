//! Address and port allocation: gives every node VM, load-balancer VM, API server,
//! LoadBalancer service and service port an address or NodePort, deterministically
//! and stably.
//!
//! Per network, the node IP pool (static networks only) serves, in order, the AKS
//! host's 3 addresses, then each cluster (sorted by name): its control-plane VMs,
//! its workers pool by pool, its HAProxy VMs, and the 5 addresses reserved for
//! upgrades. The VIP pool serves API servers (host first, then clusters by name)
//! upwards from its start, and LoadBalancer services (sorted by cluster, namespace,
//! name) downwards from its end, so infrastructure and services never interleave.
//! NodePorts come from 30000–32767 per cluster, upwards.
//!
//! Each demand is served in three passes: pinned values first (`address`,
//! `node-port`), then the value `trellis.lock` records for it, then the first free
//! value. Because locked values are kept, adding or removing a service never moves
//! another allocation; a pin that takes a value the lock gives to something else is
//! TR0412. Sorting by names (never by file order) makes the result independent of
//! how declarations are spread over files.
//!
//! Example: a pool 10.20.2.0–10.20.2.255, one cluster `shop` with services `api` and
//! `web`: `shop`'s API server gets 10.20.2.0, `api` 10.20.2.255, `web` 10.20.2.254.
//! Adding a service `admin` later gives it 10.20.2.253, because the lock keeps the
//! others where they are.
//!
//! Invariant: runs only on a model without errors; never emits text.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use crate::check::addresses::{HOST_NODE_ADDRESSES, HOST_UPGRADE_RESERVE, UPGRADE_RESERVE};
use crate::diag::{codes, Diagnostic, Diagnostics};
use crate::lock::Lock;
use crate::model::{Cluster, LbSku, Model, NetworkMode, Plugin, Protocol, ServiceType};
use crate::source::Span;

/// First and last port of the Kubernetes NodePort range.
pub const NODE_PORT_MIN: u16 = 30000;
pub const NODE_PORT_MAX: u16 = 32767;

/// What an allocation is for. Its text form (`cluster/shop/api-server`) is the key in
/// `trellis.lock`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AllocKey {
    /// The AKS host's node addresses (control plane and upgrades), 0..3.
    HostNode(u32),
    HostApiServer,
    ApiServer(String),
    ControlPlane(String, u32),
    /// Cluster, pool, index.
    Worker(String, String, u32),
    LoadBalancer(String, u32),
    Upgrade(String, u32),
    /// Cluster, namespace, service.
    Service(String, String, String),
    /// Cluster, namespace, service, port, protocol.
    NodePort(String, String, String, u16, Protocol),
}

/// An [`AllocKey`] that borrows its names, for looking allocations up without
/// copying names into a key: the emitters look up two or three per service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyRef<'a> {
    HostNode(u32),
    HostApiServer,
    ApiServer(&'a str),
    ControlPlane(&'a str, u32),
    Worker(&'a str, &'a str, u32),
    LoadBalancer(&'a str, u32),
    Upgrade(&'a str, u32),
    Service(&'a str, &'a str, &'a str),
    NodePort(&'a str, &'a str, &'a str, u16, Protocol),
}

impl AllocKey {
    /// The same key, borrowing its names.
    pub fn as_ref(&self) -> KeyRef<'_> {
        match self {
            AllocKey::HostNode(i) => KeyRef::HostNode(*i),
            AllocKey::HostApiServer => KeyRef::HostApiServer,
            AllocKey::ApiServer(c) => KeyRef::ApiServer(c),
            AllocKey::ControlPlane(c, i) => KeyRef::ControlPlane(c, *i),
            AllocKey::Worker(c, p, i) => KeyRef::Worker(c, p, *i),
            AllocKey::LoadBalancer(c, i) => KeyRef::LoadBalancer(c, *i),
            AllocKey::Upgrade(c, i) => KeyRef::Upgrade(c, *i),
            AllocKey::Service(c, ns, name) => KeyRef::Service(c, ns, name),
            AllocKey::NodePort(c, ns, name, port, proto) => {
                KeyRef::NodePort(c, ns, name, *port, *proto)
            }
        }
    }

    /// The cluster the allocation belongs to, `None` for the AKS host.
    pub fn cluster(&self) -> Option<&str> {
        match self {
            AllocKey::HostNode(_) | AllocKey::HostApiServer => None,
            AllocKey::ApiServer(c)
            | AllocKey::ControlPlane(c, _)
            | AllocKey::Worker(c, _, _)
            | AllocKey::LoadBalancer(c, _)
            | AllocKey::Upgrade(c, _)
            | AllocKey::Service(c, _, _)
            | AllocKey::NodePort(c, _, _, _, _) => Some(c),
        }
    }

    /// True for an address held back for upgrades (akshci.md §2.2): a workload
    /// cluster's `UPGRADE_RESERVE` addresses, and the AKS host's node addresses after
    /// its control plane (`HOST_NODE_ADDRESSES - HOST_UPGRADE_RESERVE`).
    pub fn is_upgrade_reserve(&self) -> bool {
        match self {
            AllocKey::Upgrade(..) => true,
            AllocKey::HostNode(i) => u64::from(*i) >= HOST_NODE_ADDRESSES - HOST_UPGRADE_RESERVE,
            _ => false,
        }
    }

    /// Parses the text form written by `Display`.
    pub fn parse(text: &str) -> Option<AllocKey> {
        // At most six parts, gathered without allocating: a lock has an entry per
        // service.
        let mut parts = [""; 6];
        let mut count = 0;
        for part in text.split('/') {
            *parts.get_mut(count)? = part;
            count += 1;
        }
        let num = |s: &str| s.parse::<u32>().ok();
        let owned = |s: &str| s.to_string();
        Some(match parts.get(..count)? {
            ["host", "node", i] => AllocKey::HostNode(num(i)?),
            ["host", "api-server"] => AllocKey::HostApiServer,
            ["cluster", c, "api-server"] => AllocKey::ApiServer(owned(c)),
            ["cluster", c, "control-plane", i] => AllocKey::ControlPlane(owned(c), num(i)?),
            ["cluster", c, "pool", p, i] => AllocKey::Worker(owned(c), owned(p), num(i)?),
            ["cluster", c, "load-balancer", i] => AllocKey::LoadBalancer(owned(c), num(i)?),
            ["cluster", c, "upgrade", i] => AllocKey::Upgrade(owned(c), num(i)?),
            ["service", c, ns, name] => AllocKey::Service(owned(c), owned(ns), owned(name)),
            ["service", c, ns, name, port, proto] => AllocKey::NodePort(
                owned(c),
                owned(ns),
                owned(name),
                port.parse().ok()?,
                match *proto {
                    "TCP" => Protocol::Tcp,
                    "UDP" => Protocol::Udp,
                    "SCTP" => Protocol::Sctp,
                    _ => return None,
                },
            ),
            _ => return None,
        })
    }

    /// A short description for summaries and messages: "service shop/web".
    pub fn describe(&self) -> String {
        match self {
            AllocKey::HostNode(i) => format!("AKS host node address {i}"),
            AllocKey::HostApiServer => "the AKS host's API server".into(),
            AllocKey::ApiServer(c) => format!("the API server of cluster `{c}`"),
            AllocKey::ControlPlane(c, i) => format!("control-plane VM {i} of cluster `{c}`"),
            AllocKey::Worker(c, p, i) => format!("worker {i} of node pool `{p}` of cluster `{c}`"),
            AllocKey::LoadBalancer(c, i) => format!("load-balancer VM {i} of cluster `{c}`"),
            AllocKey::Upgrade(c, i) => format!("upgrade address {i} of cluster `{c}`"),
            AllocKey::Service(c, ns, s) => format!("service `{ns}/{s}` of cluster `{c}`"),
            AllocKey::NodePort(c, ns, s, p, proto) => {
                format!(
                    "port {p}/{} of service `{ns}/{s}` of cluster `{c}`",
                    proto.as_str()
                )
            }
        }
    }
}

impl fmt::Display for AllocKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AllocKey::HostNode(i) => write!(f, "host/node/{i}"),
            AllocKey::HostApiServer => f.write_str("host/api-server"),
            AllocKey::ApiServer(c) => write!(f, "cluster/{c}/api-server"),
            AllocKey::ControlPlane(c, i) => write!(f, "cluster/{c}/control-plane/{i}"),
            AllocKey::Worker(c, p, i) => write!(f, "cluster/{c}/pool/{p}/{i}"),
            AllocKey::LoadBalancer(c, i) => write!(f, "cluster/{c}/load-balancer/{i}"),
            AllocKey::Upgrade(c, i) => write!(f, "cluster/{c}/upgrade/{i}"),
            AllocKey::Service(c, ns, s) => write!(f, "service/{c}/{ns}/{s}"),
            AllocKey::NodePort(c, ns, s, p, proto) => {
                write!(f, "service/{c}/{ns}/{s}/{p}/{}", proto.as_str())
            }
        }
    }
}

/// Where an allocated value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Requested in the source (`address`, `node-port`).
    Pinned,
    /// Kept from `trellis.lock`.
    Locked,
    /// Allocated by this build.
    New,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressAlloc {
    pub key: AllocKey,
    pub network: String,
    pub address: IpAddr,
    pub origin: Origin,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortAlloc {
    pub key: AllocKey,
    pub cluster: String,
    pub node_port: u16,
    pub origin: Origin,
}

/// Every allocated address and port, plus each cluster's network plugin (recorded in
/// the lock because it cannot change after deployment).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allocation {
    /// Sorted by network, then address.
    pub addresses: Vec<AddressAlloc>,
    /// Sorted by cluster, then port.
    pub node_ports: Vec<PortAlloc>,
    /// Sorted by cluster name.
    pub plugins: Vec<(String, Plugin)>,
}

impl Allocation {
    /// Every address by what it is for, for emitters that look many up.
    pub fn address_map(&self) -> foldhash::HashMap<KeyRef<'_>, IpAddr> {
        self.addresses
            .iter()
            .map(|a| (a.key.as_ref(), a.address))
            .collect()
    }

    /// Every node port by what it is for.
    pub fn node_port_map(&self) -> foldhash::HashMap<KeyRef<'_>, u16> {
        self.node_ports
            .iter()
            .map(|p| (p.key.as_ref(), p.node_port))
            .collect()
    }

    /// The node VMs of `cluster` (control plane and workers): the addresses trellis
    /// allocated on a static network, then those declared on a DHCP network.
    pub fn node_addresses(alloc: Option<&Allocation>, cluster: &Cluster) -> Vec<IpAddr> {
        let c = cluster.name.value.as_str();
        let allocated = alloc.into_iter().flat_map(|a| &a.addresses).filter(|a| {
            matches!(&a.key, AllocKey::ControlPlane(k, _) | AllocKey::Worker(k, _, _) if k == c)
        });
        let declared = cluster
            .control_plane
            .addresses
            .iter()
            .chain(
                cluster
                    .node_pools
                    .iter()
                    .filter_map(|p| p.addresses.as_ref()),
            )
            .flat_map(|l| l.value.iter().map(|a| a.value));
        allocated.map(|a| a.address).chain(declared).collect()
    }

    pub fn address(&self, key: &AllocKey) -> Option<IpAddr> {
        self.addresses
            .iter()
            .find(|a| &a.key == key)
            .map(|a| a.address)
    }

    pub fn node_port(&self, key: &AllocKey) -> Option<u16> {
        self.node_ports
            .iter()
            .find(|p| &p.key == key)
            .map(|p| p.node_port)
    }
}

/// One thing that needs a value from a pool.
struct Demand {
    key: AllocKey,
    /// A value the source pins, with the span of the pin.
    pinned: Option<(u32, Span)>,
    /// Take the highest free value instead of the lowest.
    from_end: bool,
}

/// Allocates everything the model needs. `lock` holds the previous build's
/// allocations. Conflicts between pins and the lock are reported as TR0412.
pub fn allocate(model: &Model, lock: Option<&Lock>, diags: &mut Diagnostics) -> Allocation {
    let mut alloc = Allocation::default();
    let mut clusters: Vec<&crate::model::Cluster> = model.clusters.iter().collect();
    clusters.sort_by(|a, b| a.name.value.cmp(&b.name.value));
    let mut services: Vec<&crate::model::Service> =
        model.services.iter().map(Box::as_ref).collect();
    services.sort_by(|a, b| {
        (&a.cluster.value, &a.namespace.value, &a.name.value).cmp(&(
            &b.cluster.value,
            &b.namespace.value,
            &b.name.value,
        ))
    });
    let mut networks: Vec<&crate::model::Network> = model.networks.iter().collect();
    networks.sort_by(|a, b| a.name.value.cmp(&b.name.value));

    // The address pools and the clusters' NodePort ranges are independent: served at
    // once, each with its own diagnostics, reported in this order.
    let ((addresses, address_diags), (node_ports, port_diags)) = crate::par::join(
        || {
            let mut diags = Diagnostics::new();
            let mut addresses =
                allocate_addresses(model, lock, &clusters, &services, &networks, &mut diags);
            addresses.sort_by(|a, b| (&a.network, a.address).cmp(&(&b.network, b.address)));
            (addresses, diags)
        },
        || {
            let mut diags = Diagnostics::new();
            let mut node_ports = allocate_node_ports(lock, &clusters, &services, &mut diags);
            node_ports.sort_by(|a, b| (&a.cluster, a.node_port).cmp(&(&b.cluster, b.node_port)));
            (node_ports, diags)
        },
    );
    diags.extend(address_diags);
    diags.extend(port_diags);
    alloc.addresses = addresses;
    alloc.node_ports = node_ports;
    alloc.plugins = clusters
        .iter()
        .map(|c| (c.name.value.clone(), c.plugin.value))
        .collect();
    alloc
}

/// The node IP and VIP pools of every network.
fn allocate_addresses(
    model: &Model,
    lock: Option<&Lock>,
    clusters: &[&crate::model::Cluster],
    services: &[&crate::model::Service],
    networks: &[&crate::model::Network],
    diags: &mut Diagnostics,
) -> Vec<AddressAlloc> {
    let mut alloc = Allocation::default();
    for &network in networks {
        let net = network.name.value.as_str();
        let host_here = model.hosts.iter().any(|h| h.network.value == net);
        let on_net: Vec<&&crate::model::Cluster> =
            clusters.iter().filter(|c| c.network.value == net).collect();
        // Node IP pool.
        if let (NetworkMode::Static, Some(range)) = (network.mode.value, &network.node_ips) {
            let mut demands = Vec::new();
            if host_here {
                demands
                    .extend((0..HOST_NODE_ADDRESSES as u32).map(|i| plain(AllocKey::HostNode(i))));
            }
            for cluster in &on_net {
                let c = &cluster.name.value;
                demands.extend(
                    (0..cluster.control_plane.count.value)
                        .map(|i| plain(AllocKey::ControlPlane(c.clone(), i))),
                );
                for pool in &cluster.node_pools {
                    demands.extend(
                        (0..pool.count.value).map(|i| {
                            plain(AllocKey::Worker(c.clone(), pool.name.value.clone(), i))
                        }),
                    );
                }
                if cluster.load_balancer.sku.value == LbSku::HaProxy {
                    demands.extend(
                        (0..cluster.load_balancer.count.value)
                            .map(|i| plain(AllocKey::LoadBalancer(c.clone(), i))),
                    );
                }
                demands.extend(
                    (0..UPGRADE_RESERVE as u32).map(|i| plain(AllocKey::Upgrade(c.clone(), i))),
                );
            }
            if let (Some(lo), Some(hi)) = (v4(range.start.value), v4(range.end.value)) {
                let got = serve(
                    lo,
                    hi,
                    demands,
                    |k| locked_address(lock, k, net),
                    range.span,
                    "node IP pool",
                    diags,
                );
                push_addresses(&mut alloc, net, got);
            }
        }
        // VIP pool.
        let mut demands = Vec::new();
        if host_here {
            demands.push(plain(AllocKey::HostApiServer));
        }
        for cluster in &on_net {
            demands.push(plain(AllocKey::ApiServer(cluster.name.value.clone())));
        }
        for service in services
            .iter()
            .filter(|s| s.kind.value == ServiceType::LoadBalancer)
        {
            if !on_net.iter().any(|c| c.name.value == service.cluster.value) {
                continue;
            }
            demands.push(Demand {
                key: AllocKey::Service(
                    service.cluster.value.clone(),
                    service.namespace.value.clone(),
                    service.name.value.clone(),
                ),
                pinned: service
                    .address
                    .as_ref()
                    .and_then(|a| Some((v4(a.value)?, a.span))),
                from_end: true,
            });
        }
        if let (Some(lo), Some(hi)) = (v4(network.vips.start.value), v4(network.vips.end.value)) {
            let got = serve(
                lo,
                hi,
                demands,
                |k| locked_address(lock, k, net),
                network.vips.span,
                "VIP pool",
                diags,
            );
            push_addresses(&mut alloc, net, got);
        }
    }
    alloc.addresses
}

/// Each cluster's NodePort range.
fn allocate_node_ports(
    lock: Option<&Lock>,
    clusters: &[&crate::model::Cluster],
    services: &[&crate::model::Service],
    diags: &mut Diagnostics,
) -> Vec<PortAlloc> {
    let mut node_ports = Vec::new();
    // Node ports, per cluster.
    for cluster in clusters {
        let c = cluster.name.value.as_str();
        let mut demands = Vec::new();
        for service in services.iter().filter(|s| s.cluster.value == c) {
            if !matches!(
                service.kind.value,
                ServiceType::NodePort | ServiceType::LoadBalancer
            ) {
                continue;
            }
            for port in &service.ports {
                demands.push(Demand {
                    key: AllocKey::NodePort(
                        c.to_string(),
                        service.namespace.value.clone(),
                        service.name.value.clone(),
                        port.port.value,
                        port.protocol.value,
                    ),
                    pinned: port
                        .node_port
                        .as_ref()
                        .map(|p| (u32::from(p.value), p.span)),
                    from_end: false,
                });
            }
        }
        let span = cluster.name.span;
        let got = serve(
            u32::from(NODE_PORT_MIN),
            u32::from(NODE_PORT_MAX),
            demands,
            |k| {
                lock.and_then(|l| l.node_port_entry(k, c))
                    .map(|e| (u32::from(e.node_port), e.span))
            },
            span,
            "NodePort range",
            diags,
        );
        for (key, value, origin) in got {
            if let Ok(node_port) = u16::try_from(value) {
                node_ports.push(PortAlloc {
                    key,
                    cluster: c.to_string(),
                    node_port,
                    origin,
                });
            }
        }
    }
    node_ports
}

/// The address `trellis.lock` gives `key` on `network`, with the lock entry's span.
fn locked_address(lock: Option<&Lock>, key: &AllocKey, network: &str) -> Option<(u32, Span)> {
    let entry = lock?.address_entry(key, network)?;
    Some((v4(entry.address)?, entry.span))
}

fn plain(key: AllocKey) -> Demand {
    Demand {
        key,
        pinned: None,
        from_end: false,
    }
}

fn v4(ip: IpAddr) -> Option<u32> {
    match ip {
        IpAddr::V4(a) => Some(u32::from(a)),
        IpAddr::V6(_) => None,
    }
}

fn push_addresses(alloc: &mut Allocation, network: &str, got: Vec<(AllocKey, u32, Origin)>) {
    for (key, value, origin) in got {
        alloc.addresses.push(AddressAlloc {
            key,
            network: network.to_string(),
            address: IpAddr::V4(Ipv4Addr::from(value)),
            origin,
        });
    }
}

/// Serves `demands` from `lo..=hi`: pins, then locked values, then free values.
fn serve(
    lo: u32,
    hi: u32,
    demands: Vec<Demand>,
    locked: impl Fn(&AllocKey) -> Option<(u32, Span)>,
    pool_span: Span,
    pool_name: &str,
    diags: &mut Diagnostics,
) -> Vec<(AllocKey, u32, Origin)> {
    // The values already given: pinned, then kept from the lock.
    let mut used: BTreeSet<u32> = BTreeSet::new();
    let mut out = Vec::with_capacity(demands.len());
    // What the lock gives each demand, looked up once.
    let from_lock: Vec<Option<(u32, Span)>> = demands.iter().map(|d| locked(&d.key)).collect();
    // Who the lock gives each value to, among current demands.
    let lock_owner: BTreeMap<u32, (&AllocKey, Span)> = demands
        .iter()
        .zip(&from_lock)
        .filter_map(|(d, locked)| {
            let (value, span) = (*locked)?;
            Some((value, (&d.key, span)))
        })
        .collect();
    let mut rest = Vec::new();
    for (demand, from_lock) in demands.iter().zip(&from_lock) {
        match demand.pinned {
            Some((value, span)) => {
                if let Some((owner, lock_span)) =
                    lock_owner.get(&value).filter(|o| o.0 != &demand.key)
                {
                    let pinned_by_owner = demands
                        .iter()
                        .any(|d| &d.key == *owner && d.pinned.map(|p| p.0) == Some(value));
                    if !pinned_by_owner {
                        diags.push(
                            Diagnostic::new(
                                &codes::LOCK_CONFLICT,
                                span,
                                format!(
                                    "{} is pinned here for {}, but trellis.lock gives it to {}",
                                    show_value(value, pool_name),
                                    demand.key.describe(),
                                    owner.describe()
                                ),
                            )
                            .label("pinned")
                            .related(*lock_span, format!("trellis.lock: {}", owner.describe()))
                            .help(format!(
                                "pin another value, or remove the entry `for=\"{owner}\"` from trellis.lock so trellis moves {} elsewhere",
                                owner.describe()
                            )),
                        );
                    }
                }
                used.insert(value);
                out.push((demand.key.clone(), value, Origin::Pinned));
            }
            None => rest.push((demand, from_lock)),
        }
    }
    let mut fresh = Vec::new();
    for (demand, from_lock) in rest {
        match from_lock.map(|(value, _)| value) {
            Some(value) if (lo..=hi).contains(&value) && !used.contains(&value) => {
                used.insert(value);
                out.push((demand.key.clone(), value, Origin::Locked));
            }
            _ => fresh.push(demand),
        }
    }
    let taken = used;
    let mut up = lo;
    let mut down = hi;
    let mut free_up = move |taken: &BTreeSet<u32>| -> Option<u32> {
        while up <= hi {
            let v = up;
            up = up.checked_add(1)?;
            if !taken.contains(&v) {
                return Some(v);
            }
        }
        None
    };
    let mut free_down = move |taken: &BTreeSet<u32>| -> Option<u32> {
        while down >= lo {
            let v = down;
            if down == 0 {
                down = 1;
                if lo == 0 {
                    // Nothing below zero; make the loop end.
                    return (!taken.contains(&v)).then_some(v);
                }
            } else {
                down -= 1;
            }
            if !taken.contains(&v) {
                return Some(v);
            }
        }
        None
    };
    let mut taken = taken;
    let mut exhausted = 0usize;
    for demand in fresh {
        // Lowest-first and highest-first cursors never cross a taken value twice,
        // because every value they hand out is added to `taken`.
        let value = if demand.from_end {
            free_down(&taken)
        } else {
            free_up(&taken)
        };
        match value {
            Some(v) => {
                taken.insert(v);
                out.push((demand.key.clone(), v, Origin::New));
            }
            None => exhausted += 1,
        }
    }
    if exhausted > 0 {
        diags.push(
            Diagnostic::new(
                &codes::POOL_TOO_SMALL,
                pool_span,
                format!("the {pool_name} ran out: {exhausted} more value(s) needed"),
            )
            .label("exhausted"),
        );
    }
    out
}

fn show_value(value: u32, pool_name: &str) -> String {
    if pool_name == "NodePort range" {
        format!("node port {value}")
    } else {
        Ipv4Addr::from(value).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every key reads back from the text `trellis.lock` records for it; anything
    /// else, longer lists of parts included, reads as nothing.
    #[test]
    fn keys_read_back_from_their_text() {
        let c = || "shop".to_string();
        let keys = [
            AllocKey::HostNode(2),
            AllocKey::HostApiServer,
            AllocKey::ApiServer(c()),
            AllocKey::ControlPlane(c(), 0),
            AllocKey::Worker(c(), "linux".into(), 3),
            AllocKey::LoadBalancer(c(), 1),
            AllocKey::Upgrade(c(), 0),
            AllocKey::Service(c(), "apps".into(), "web".into()),
            AllocKey::NodePort(c(), "apps".into(), "web".into(), 443, Protocol::Udp),
        ];
        for key in keys {
            assert_eq!(
                AllocKey::parse(&key.to_string()),
                Some(key.clone()),
                "{key}"
            );
        }
        for text in [
            "",
            "/",
            "host",
            "service/shop/apps/web/80/TCP/extra",
            "service/shop/apps/web/80/TCP/a/b/c",
            "cluster/shop/pool/linux/x",
            "service/shop/apps/web/80/XTP",
        ] {
            assert_eq!(AllocKey::parse(text), None, "{text}");
        }
    }
}
