//! The network plan (TR04xx): every network's settings agree with its mode, its pools
//! and gateway lie inside its prefix, no two ranges overlap (within a network, and
//! pools across networks), every pool is large enough for what consumes it, and each
//! cluster's pod and service ranges stay clear of networks and pools.
//!
//! Capacity follows AksHci's "minimum IP address reservation" (akshci.md §2.2):
//! node IP pool = 3 for the AKS host (when it lives on the network) + per cluster
//! control-plane VMs + worker VMs + 5 reserved for upgrades + HAProxy VMs;
//! VIP pool = 1 for the AKS host + 1 API server per cluster + 1 per LoadBalancer
//! service. `capacity` is public so the allocator and reports use the same numbers.

use std::net::IpAddr;

use super::interval::{overlaps, Interval};
use crate::diag::{codes, Diagnostic, Diagnostics};
use crate::model::{Cluster, IpRange, LbSku, Model, Network, NetworkMode, ServiceType};
use crate::source::Span;

/// Node VMs an upgrade may add per workload cluster.
pub const UPGRADE_RESERVE: u64 = 5;
/// Node addresses the AKS host (management cluster) holds back for upgrades.
pub const HOST_UPGRADE_RESERVE: u64 = 2;
/// Node addresses of the AKS host (management cluster): 1 control plane + 2 for upgrades.
pub const HOST_NODE_ADDRESSES: u64 = 1 + HOST_UPGRADE_RESERVE;

/// One line of a capacity breakdown: who consumes how many addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Demand {
    pub consumer: String,
    pub count: u64,
}

/// What one network's pools must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capacity {
    pub node_ips: Vec<Demand>,
    pub vips: Vec<Demand>,
}

impl Capacity {
    pub fn node_total(&self) -> u64 {
        self.node_ips.iter().map(|d| d.count).sum()
    }

    pub fn vip_total(&self) -> u64 {
        self.vips.iter().map(|d| d.count).sum()
    }
}

/// Node VMs of a cluster, upgrade reserve and HAProxy VMs included.
pub fn cluster_node_demand(cluster: &Cluster) -> (u64, String) {
    let cp = u64::from(cluster.control_plane.count.value);
    let workers: u64 = cluster
        .node_pools
        .iter()
        .map(|p| u64::from(p.count.value))
        .sum();
    let lb = match cluster.load_balancer.sku.value {
        LbSku::HaProxy => u64::from(cluster.load_balancer.count.value),
        LbSku::None => 0,
    };
    let total = cp + workers + UPGRADE_RESERVE + lb;
    let detail = format!(
        "cluster `{}`: {cp} control-plane + {workers} worker + {UPGRADE_RESERVE} upgrade + {lb} load-balancer = {total}",
        cluster.name.value
    );
    (total, detail)
}

/// The addresses the consumers of `network` need from its pools.
pub fn capacity(model: &Model, network: &Network) -> Capacity {
    let mut cap = Capacity::default();
    let on_net = |name: &str| name == network.name.value;
    if model.hosts.iter().any(|h| on_net(&h.network.value)) {
        cap.node_ips.push(Demand {
            consumer: format!("AKS host: {HOST_NODE_ADDRESSES}"),
            count: HOST_NODE_ADDRESSES,
        });
        cap.vips.push(Demand {
            consumer: "AKS host API server: 1".into(),
            count: 1,
        });
    }
    for cluster in model.clusters.iter().filter(|c| on_net(&c.network.value)) {
        let (count, consumer) = cluster_node_demand(cluster);
        cap.node_ips.push(Demand { consumer, count });
        let services = model
            .services
            .iter()
            .filter(|s| {
                s.cluster.value == cluster.name.value && s.kind.value == ServiceType::LoadBalancer
            })
            .count() as u64;
        cap.vips.push(Demand {
            consumer: format!(
                "cluster `{}`: 1 API server + {services} LoadBalancer service{}",
                cluster.name.value,
                if services == 1 { "" } else { "s" }
            ),
            count: 1 + services,
        });
    }
    cap
}

pub fn check_networks(model: &Model, diags: &mut Diagnostics) {
    let mut pools = Vec::new();
    for (idx, net) in model.networks.iter().enumerate() {
        check_network_settings(net, diags);
        let mut ivs = Vec::new();
        for (range, what) in [
            (&net.node_ips, "node IP pool"),
            (&Some(net.vips.clone()), "VIP pool"),
        ] {
            if let Some(range) = range {
                if let Some(iv) = range_interval(
                    range,
                    format!("the {what} of network `{}`", net.name.value),
                    idx,
                ) {
                    pools.push(iv.clone());
                    ivs.push(iv);
                }
            }
        }
        if let Some(gw) = &net.gateway {
            ivs.extend(Interval::addr(
                gw.value,
                gw.span,
                format!("the gateway of network `{}`", net.name.value),
                idx,
            ));
        }
        for dns in &net.dns {
            ivs.extend(Interval::addr(
                dns.value,
                dns.span,
                format!("DNS server {}", dns.value),
                idx,
            ));
        }
        if let Some(prefix) = &net.prefix {
            if let ipnet::IpNet::V4(v4) = prefix.value {
                if v4.prefix_len() <= 30 {
                    let what = |kind: &str| format!("the {kind} address of {}", prefix.value);
                    for (addr, kind) in [(v4.network(), "network"), (v4.broadcast(), "broadcast")] {
                        let mut iv = Interval::new(addr, addr, prefix.span, what(kind), idx);
                        iv.reserved = true;
                        ivs.push(iv);
                    }
                }
            }
        }
        report_overlaps(&ivs, false, diags);
        check_capacity(model, net, diags);
    }
    // Pools of different networks must not overlap either (AksHci known issue: two
    // hosts or cluster networks handing out the same addresses).
    report_overlaps(&pools, true, diags);
}

/// The number of addresses in a pool, as the capacity check counts them; `None` when
/// the range is malformed (reported elsewhere).
pub fn pool_size(range: &IpRange) -> Option<u64> {
    range_interval(range, String::new(), 0).map(|iv| iv.size())
}

fn range_interval(range: &IpRange, what: String, group: usize) -> Option<Interval> {
    Interval::range(range.start.value, range.end.value, range.span, what, group)
}

fn report_overlaps(ivs: &[Interval], between_groups_only: bool, diags: &mut Diagnostics) {
    for (later, earlier) in overlaps(ivs, between_groups_only) {
        let (Some(a), Some(b)) = (ivs.get(later), ivs.get(earlier)) else {
            continue;
        };
        let shared = Interval {
            lo: a.lo.max(b.lo),
            hi: a.hi.min(b.hi),
            ..a.clone()
        };
        if a.reserved || b.reserved {
            let (reserved, pool) = if a.reserved { (a, b) } else { (b, a) };
            if pool.reserved {
                continue;
            }
            diags.push(
                Diagnostic::new(
                    &codes::OVERLAPPING_RANGES,
                    pool.span,
                    format!("{} includes {}, {}", pool.what, shared.describe_addresses(), reserved.what),
                )
                .label(format!("includes {}", shared.describe_addresses()))
                .related(reserved.span, "network prefix")
                .help("no VM can use a subnet's network or broadcast address; start the pool after it or end it before it"),
            );
            continue;
        }
        // Point at the narrower of the two; the other is the related place.
        let (here, there) = if a.size() <= b.size() { (a, b) } else { (b, a) };
        diags.push(
            Diagnostic::new(
                &codes::OVERLAPPING_RANGES,
                here.span,
                format!(
                    "{} overlaps {} at {}",
                    here.what,
                    there.what,
                    shared.describe_addresses()
                ),
            )
            .label("overlaps")
            .related(there.span, there.what.clone())
            .help(if here.lo == here.hi && there.lo != there.hi {
                // A gateway or DNS server is fixed by the datacenter: the pool moves.
                format!(
                    "shrink {} so that it leaves out {}",
                    there.what,
                    here.describe_addresses()
                )
            } else {
                format!(
                    "give {} addresses of its own, outside {}",
                    here.what,
                    there.describe_addresses()
                )
            }),
        );
    }
}

fn check_network_settings(net: &Network, diags: &mut Diagnostics) {
    let name = &net.name.value;
    // IPv4 only.
    let mut v6: Vec<(String, Span)> = Vec::new();
    if let Some(p) = net.prefix.as_ref().filter(|p| p.value.addr().is_ipv6()) {
        v6.push((format!("prefix {}", p.value), p.span));
    }
    let mut addresses: Vec<(IpAddr, Span)> = Vec::new();
    if let Some(g) = &net.gateway {
        addresses.push((g.value, g.span));
    }
    addresses.extend(net.dns.iter().map(|d| (d.value, d.span)));
    for range in net.node_ips.iter().chain(std::iter::once(&net.vips)) {
        addresses.push((range.start.value, range.start.span));
        addresses.push((range.end.value, range.end.span));
    }
    v6.extend(
        addresses
            .into_iter()
            .filter(|(ip, _)| ip.is_ipv6())
            .map(|(ip, span)| (format!("address {ip}"), span)),
    );
    for (what, span) in v6 {
        diags.push(
            Diagnostic::new(
                &codes::IPV6_NETWORK,
                span,
                format!("network `{name}` uses the IPv6 {what}"),
            )
            .label("IPv6"),
        );
    }
    match net.mode.value {
        NetworkMode::Static => {
            // Examples inside the declared prefix when there is one.
            let inside = |what: &str| match &net.prefix {
                Some(p) => format!("<{what} in {}>", p.value),
                None => format!("<{what}>"),
            };
            let examples = [
                "prefix \"<subnet, e.g. 10.20.0.0/16>\"".to_string(),
                format!("gateway \"{}\"", inside("address")),
                format!("dns \"{}\"", inside("address")),
                format!("node-ips \"{}\" \"{}\"", inside("first"), inside("last")),
            ];
            let [prefix_ex, gateway_ex, dns_ex, node_ips_ex] = &examples;
            let missing = [
                ("prefix", net.prefix.is_none(), prefix_ex.as_str()),
                ("gateway", net.gateway.is_none(), gateway_ex.as_str()),
                ("dns", net.dns.is_empty(), dns_ex.as_str()),
                ("node-ips", net.node_ips.is_none(), node_ips_ex.as_str()),
            ];
            let absent: Vec<(&str, &str)> = missing
                .iter()
                .filter(|(_, absent, _)| *absent)
                .map(|(setting, _, example)| (*setting, *example))
                .collect();
            if !absent.is_empty() {
                let names: Vec<String> = absent.iter().map(|(s, _)| format!("`{s}`")).collect();
                let examples: Vec<&str> = absent.iter().map(|(_, e)| *e).collect();
                diags.push(
                    Diagnostic::new(
                        &codes::MISSING_SETTING,
                        net.name.span,
                        format!("static network `{name}` has no {}", join_and(&names)),
                    )
                    .label("static (the default mode)")
                    .help(format!(
                        "add `{}`; a static network needs prefix, gateway, dns and node-ips (or write `mode \"dhcp\"`)",
                        examples.join("; ")
                    )),
                );
            }
        }
        NetworkMode::Dhcp => {
            if let Some(pool) = &net.node_ips {
                diags.push(
                    Diagnostic::new(
                        &codes::DHCP_NODE_POOL,
                        pool.span,
                        format!("DHCP network `{name}` declares a node IP pool"),
                    )
                    .label("not used with DHCP")
                    .related(net.mode.span, "DHCP chosen here"),
                );
            }
        }
    }
    for (range, what) in net
        .node_ips
        .iter()
        .map(|r| (r, "node IP pool"))
        .chain([(&net.vips, "VIP pool")])
    {
        let (start, end) = (range.start.value, range.end.value);
        if start.is_ipv4() == end.is_ipv4() && start > end {
            diags.push(
                Diagnostic::new(
                    &codes::INVALID_RANGE,
                    range.end.span,
                    format!(
                        "the {what} of network `{name}` ends at {end}, before its start {start}"
                    ),
                )
                .label("before the start")
                .related(range.start.span, "pool starts here")
                .help(format!(
                    "swap them: `{} \"{end}\" \"{start}\"`",
                    if what == "VIP pool" {
                        "vips"
                    } else {
                        "node-ips"
                    }
                )),
            );
        }
    }
    if let Some(prefix) = &net.prefix {
        let mut inside: Vec<(IpAddr, Span, String)> = Vec::new();
        for (range, what) in net
            .node_ips
            .iter()
            .map(|r| (r, "node IP pool"))
            .chain([(&net.vips, "VIP pool")])
        {
            inside.push((range.start.value, range.start.span, format!("the {what}")));
            inside.push((range.end.value, range.end.span, format!("the {what}")));
        }
        if let Some(g) = &net.gateway {
            inside.push((g.value, g.span, "the gateway".into()));
        }
        for (ip, span, what) in inside {
            if ip.is_ipv4() == prefix.value.addr().is_ipv4() && !prefix.value.contains(&ip) {
                diags.push(
                    Diagnostic::new(
                        &codes::OUTSIDE_PREFIX,
                        span,
                        format!(
                            "{ip} ({what}) is outside {}, the prefix of network `{name}`",
                            prefix.value
                        ),
                    )
                    .label(format!("outside {}", prefix.value))
                    .related(prefix.span, "network prefix"),
                );
            }
        }
    }
}

fn check_capacity(model: &Model, net: &Network, diags: &mut Diagnostics) {
    let cap = capacity(model, net);
    let pools = [
        (
            net.node_ips
                .as_ref()
                .filter(|_| net.mode.value == NetworkMode::Static),
            cap.node_total(),
            &cap.node_ips,
            "node IP pool",
            "node",
        ),
        (
            Some(&net.vips),
            cap.vip_total(),
            &cap.vips,
            "VIP pool",
            "virtual IP",
        ),
    ];
    for (range, need, breakdown, what, kind) in pools {
        let Some(range) = range else {
            continue;
        };
        let Some(iv) = range_interval(range, String::new(), 0) else {
            continue;
        };
        let have = iv.size();
        if need > have {
            let lines: Vec<String> = breakdown.iter().map(|d| d.consumer.clone()).collect();
            diags.push(
                Diagnostic::new(
                    &codes::POOL_TOO_SMALL,
                    range.span,
                    format!(
                        "the {what} of network `{}` is too small: needs {need} {kind} addresses, pool has {have}",
                        net.name.value
                    ),
                )
                .label(format!("{have} addresses"))
                .help(format!(
                    "widen the pool by at least {}; demand: {}",
                    need - have,
                    lines.join("; ")
                )),
            );
        }
    }
}

/// Pod and service ranges of each cluster: not overlapping each other, any
/// network's prefix, or any pool.
pub fn check_cluster_cidrs(model: &Model, diags: &mut Diagnostics) {
    let mut fixed = Vec::new();
    for (idx, net) in model.networks.iter().enumerate() {
        // The prefix covers its pools; pools count on their own only where there is no
        // prefix (DHCP networks) or they stray outside it (reported as TR0402 too).
        if let Some(prefix) = &net.prefix {
            fixed.extend(Interval::net(
                prefix.value,
                prefix.span,
                format!("network `{}` ({})", net.name.value, prefix.value),
                idx + 1,
            ));
        }
        for (range, what) in net
            .node_ips
            .iter()
            .map(|r| (r, "node IP pool"))
            .chain([(&net.vips, "VIP pool")])
        {
            let inside = net.prefix.as_ref().is_some_and(|p| {
                p.value.contains(&range.start.value) && p.value.contains(&range.end.value)
            });
            if !inside {
                fixed.extend(range_interval(
                    range,
                    format!("the {what} of network `{}`", net.name.value),
                    idx + 1,
                ));
            }
        }
    }
    for cluster in &model.clusters {
        let mut ivs = fixed.clone();
        // Group 0 is the cluster's own ranges; `overlaps` between groups reports them
        // against networks, and the pod/service pair is checked directly.
        let own = [
            (&cluster.pod_cidr, "pod range"),
            (&cluster.service_cidr, "service range"),
        ];
        for (cidr, what) in own {
            ivs.extend(Interval::net(
                cidr.value,
                cidr.span,
                format!(
                    "the {what} {} of cluster `{}`",
                    cidr.value, cluster.name.value
                ),
                0,
            ));
        }
        let found = overlaps(&ivs, true);
        for (a, b) in found {
            let (Some(x), Some(y)) = (ivs.get(a), ivs.get(b)) else {
                continue;
            };
            // Report only pairs that involve the cluster's own ranges.
            let (mine, other) = match (x.group, y.group) {
                (0, _) => (x, y),
                (_, 0) => (y, x),
                _ => continue,
            };
            diags.push(cidr_overlap(cluster, mine, other));
        }
        let (pod, svc) = (&cluster.pod_cidr, &cluster.service_cidr);
        if pod.value.contains(&svc.value.network()) || svc.value.contains(&pod.value.network()) {
            diags.push(
                Diagnostic::new(
                    &codes::CLUSTER_CIDR_OVERLAP,
                    svc.span,
                    format!(
                        "the service range {} of cluster `{}` overlaps its pod range {}",
                        svc.value, cluster.name.value, pod.value
                    ),
                )
                .label("overlaps the pod range")
                .related(pod.span, "pod range"),
            );
        }
    }
}

fn cidr_overlap(cluster: &Cluster, mine: &Interval, other: &Interval) -> Diagnostic {
    let default_note = if mine.span == cluster.name.span {
        " (the AksHci default)"
    } else {
        ""
    };
    Diagnostic::new(
        &codes::CLUSTER_CIDR_OVERLAP,
        mine.span,
        format!("{}{default_note} overlaps {}", mine.what, other.what),
    )
    .label("overlaps")
    .related(other.span, other.what.clone())
    .help(if default_note.is_empty() {
        let setting = if mine.what.contains("pod range") {
            "pod-cidr"
        } else {
            "service-cidr"
        };
        format!("pods could not reach those addresses: change the cluster's `{setting}` to a range no network or pool uses")
    } else {
        "pods could not reach those addresses: move the network or pool out of the cluster's pod (10.244.0.0/16) and service (10.96.0.0/12) ranges, which AksHci fixes".to_string()
    })
}

fn join_and(items: &[String]) -> String {
    match items.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// Declared node addresses (`addresses` in a control plane or node pool): only on
/// DHCP networks, one per VM, each once and inside the network's prefix when it has
/// one. A DHCP cluster without them gets TR0414: trellis cannot name the load
/// balancer's backends.
pub fn check_node_addresses(model: &Model, diags: &mut Diagnostics) {
    // Declared addresses per network, across its clusters, to find duplicates.
    let mut seen: std::collections::BTreeMap<(&str, IpAddr), (Span, &str)> =
        std::collections::BTreeMap::new();
    for cluster in &model.clusters {
        let Some(network) = model
            .networks
            .iter()
            .find(|n| n.name.value == cluster.network.value)
        else {
            continue;
        };
        let dhcp = network.mode.value == NetworkMode::Dhcp;
        let groups = std::iter::once((
            "the control plane".to_string(),
            cluster.control_plane.count.value,
            &cluster.control_plane.addresses,
        ))
        .chain(cluster.node_pools.iter().map(|p| {
            (
                format!("node pool `{}`", p.name.value),
                p.count.value,
                &p.addresses,
            )
        }));
        let mut missing = Vec::new();
        for (what, count, addresses) in groups {
            let Some(addresses) = addresses else {
                if dhcp && count > 0 {
                    missing.push(what);
                }
                continue;
            };
            if !dhcp {
                diags.push(
                    Diagnostic::new(
                        &codes::NODE_ADDRESSES_MISMATCH,
                        addresses.span,
                        format!("{what} of cluster `{}` declares addresses, but network `{}` is static and allocates them", cluster.name.value, network.name.value),
                    )
                    .label("not used on a static network")
                    .related(network.name.span, "static network")
                    .help("remove `addresses`: trellis allocates node addresses from the node IP pool"),
                );
                continue;
            }
            let n = addresses.value.len();
            if n != count as usize {
                let vms = if count == 1 {
                    "1 VM".to_string()
                } else {
                    format!("{count} VMs")
                };
                let declared = if n == 1 {
                    "1 declared address".to_string()
                } else {
                    format!("{n} declared addresses")
                };
                diags.push(
                    Diagnostic::new(
                        &codes::NODE_ADDRESSES_MISMATCH,
                        addresses.span,
                        format!(
                            "{what} of cluster `{}` has {vms} and {declared}",
                            cluster.name.value
                        ),
                    )
                    .label(declared.clone())
                    .help("declare exactly one address per VM"),
                );
            }
            for addr in &addresses.value {
                let key = (network.name.value.as_str(), addr.value);
                if let Some((first, first_cluster)) = seen.get(&key) {
                    diags.push(
                        Diagnostic::new(
                            &codes::NODE_ADDRESSES_MISMATCH,
                            addr.span,
                            format!("{} is declared for two VMs on network `{}` (clusters `{first_cluster}` and `{}`)", addr.value, network.name.value, cluster.name.value),
                        )
                        .label("declared again")
                        .related(*first, "first declared here")
                        .help("give every VM its own reserved address"),
                    );
                } else {
                    seen.insert(key, (addr.span, cluster.name.value.as_str()));
                }
                if let Some(prefix) = network
                    .prefix
                    .as_ref()
                    .filter(|p| !p.value.contains(&addr.value))
                {
                    diags.push(
                        Diagnostic::new(
                            &codes::NODE_ADDRESSES_MISMATCH,
                            addr.span,
                            format!(
                                "{} is outside {}, the prefix of network `{}`",
                                addr.value, prefix.value, network.name.value
                            ),
                        )
                        .label("outside the network")
                        .related(prefix.span, "network prefix")
                        .help(format!(
                            "declare the address the DHCP server reserves for this VM, inside {}",
                            prefix.value
                        )),
                    );
                }
                let (lo, hi) = (network.vips.start.value, network.vips.end.value);
                let reserved =
                    if lo <= addr.value && addr.value <= hi && lo.is_ipv4() == addr.value.is_ipv4()
                    {
                        Some(("the VIP pool", network.vips.span))
                    } else if network
                        .gateway
                        .as_ref()
                        .is_some_and(|g| g.value == addr.value)
                    {
                        network.gateway.as_ref().map(|g| ("the gateway", g.span))
                    } else {
                        network
                            .dns
                            .iter()
                            .find(|d| d.value == addr.value)
                            .map(|d| ("a DNS server", d.span))
                    };
                if let Some((what_else, span)) = reserved {
                    diags.push(
                        Diagnostic::new(&codes::NODE_ADDRESSES_MISMATCH, addr.span, format!("{} is a VM address and also {what_else} of network `{}`", addr.value, network.name.value))
                            .label("already taken")
                            .related(span, what_else)
                            .help("reserve VM addresses outside the VIP pool, the gateway and the DNS servers"),
                    );
                }
            }
        }
        if !missing.is_empty() {
            let list = match missing.split_last() {
                Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
                _ => missing.join(""),
            };
            diags.push(
                Diagnostic::new(
                    &codes::DHCP_BACKENDS_UNKNOWN,
                    cluster.name.span,
                    format!(
                        "cluster `{}` is on DHCP network `{}` and declares no addresses for {list}: its load balancer configuration cannot be written",
                        cluster.name.value,
                        network.name.value,
                    ),
                )
                .label("node addresses unknown"),
            );
        }
    }
}
