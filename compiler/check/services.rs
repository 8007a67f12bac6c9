//! Service addresses and ports (TR0408–TR0411, TR0501): pinned load-balancer
//! addresses lie in the VIP pool of the cluster's network and are unique on that
//! network (across every cluster sharing it); internal load balancers get private
//! addresses; pinned NodePorts are unique per cluster; and clusters that share a
//! network are warned about AksHci's duplicate-address hazard.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::diag::{codes, Diagnostic, Diagnostics};
use crate::model::{Model, Network, Service, ServiceType};
use crate::source::Span;

fn network_of<'m>(model: &'m Model, service: &Service) -> Option<&'m Network> {
    let cluster = model
        .clusters
        .iter()
        .find(|c| c.name.value == service.cluster.value)?;
    model
        .networks
        .iter()
        .find(|n| n.name.value == cluster.network.value)
}

/// RFC 1918 private IPv4 space (and IPv6 unique-local addresses).
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_private(),
        IpAddr::V6(v6) => (v6.segments().first().copied().unwrap_or(0) & 0xfe00) == 0xfc00,
    }
}

fn in_pool(network: &Network, ip: IpAddr) -> bool {
    ip.is_ipv4() == network.vips.start.value.is_ipv4()
        && network.vips.start.value <= ip
        && ip <= network.vips.end.value
}

pub fn check_service_addresses(model: &Model, diags: &mut Diagnostics) {
    // Pinned addresses by network, sorted, to find duplicates in one pass.
    let mut pinned: BTreeMap<(&str, IpAddr), Vec<(&Service, Span)>> = BTreeMap::new();
    for service in model
        .services
        .iter()
        .filter(|s| s.kind.value == ServiceType::LoadBalancer)
    {
        let Some(network) = network_of(model, service) else {
            continue;
        };
        if let Some(addr) = &service.address {
            if !in_pool(network, addr.value) {
                diags.push(
                    Diagnostic::new(
                        &codes::ADDRESS_OUTSIDE_VIP_POOL,
                        addr.span,
                        format!(
                            "{} is outside the VIP pool {}–{} of network `{}`",
                            addr.value,
                            network.vips.start.value,
                            network.vips.end.value,
                            network.name.value
                        ),
                    )
                    .label("outside the VIP pool")
                    .related(network.vips.span, "VIP pool"),
                );
            }
            pinned
                .entry((network.name.value.as_str(), addr.value))
                .or_default()
                .push((service, addr.span));
            if service.internal.value && !is_private(addr.value) {
                diags.push(
                    Diagnostic::new(
                        &codes::PUBLIC_INTERNAL_ADDRESS,
                        addr.span,
                        format!(
                            "internal load balancer `{}` is pinned to the public address {}",
                            service.name.value, addr.value
                        ),
                    )
                    .label("public address")
                    .related(service.internal.span, "declared internal here"),
                );
            }
        } else if service.internal.value {
            let (start, end) = (network.vips.start.value, network.vips.end.value);
            if !is_private(start) || !is_private(end) {
                diags.push(
                    Diagnostic::new(
                        &codes::PUBLIC_INTERNAL_ADDRESS,
                        service.internal.span,
                        format!(
                            "internal load balancer `{}` would get an address from the public VIP pool {start}–{end} of network `{}`",
                            service.name.value, network.name.value
                        ),
                    )
                    .label("needs a private address")
                    .related(network.vips.span, "public VIP pool")
                    .help("pin a private `address` for it, or put the cluster on a network with a private VIP pool"),
                );
            }
        }
    }
    for ((net, addr), users) in &pinned {
        let Some(((first, first_span), rest)) = users.split_first() else {
            continue;
        };
        for (other, span) in rest {
            diags.push(
                Diagnostic::new(
                    &codes::ADDRESS_USED_TWICE,
                    *span,
                    format!(
                        "{addr} is pinned by service `{}` of cluster `{}` and by service `{}` of cluster `{}`, on network `{net}`",
                        other.name.value, other.cluster.value, first.name.value, first.cluster.value
                    ),
                )
                .label("pinned again here")
                .related(*first_span, "first pinned here"),
            );
        }
    }
}

pub fn check_node_ports(model: &Model, diags: &mut Diagnostics) {
    // Every port of a NodePort or LoadBalancer service takes a node port (the
    // HAProxy VM forwards to it), and a cluster has 2768 of them.
    let range = u64::from(crate::alloc::NODE_PORT_MAX - crate::alloc::NODE_PORT_MIN) + 1;
    for cluster in &model.clusters {
        let needed: u64 = model
            .services
            .iter()
            .filter(|s| s.cluster.value == cluster.name.value)
            .filter(|s| {
                matches!(
                    s.kind.value,
                    ServiceType::NodePort | ServiceType::LoadBalancer
                )
            })
            .map(|s| s.ports.len() as u64)
            .sum();
        if needed > range {
            diags.push(
                Diagnostic::new(
                    &codes::POOL_TOO_SMALL,
                    cluster.name.span,
                    format!(
                        "cluster `{}` needs {needed} node ports for its NodePort and LoadBalancer service ports, and the NodePort range {}–{} has {range}",
                        cluster.name.value,
                        crate::alloc::NODE_PORT_MIN,
                        crate::alloc::NODE_PORT_MAX
                    ),
                )
                .label("too many node ports")
                .help("make some services ClusterIP (behind an ingress), or spread them over more clusters"),
            );
        }
    }
    // Kubernetes lets one service use a node port for both TCP and UDP (DNS on
    // 53/TCP and 53/UDP); any other reuse in a cluster is a conflict.
    type Use<'m> = (Span, (&'m str, &'m str), crate::model::Protocol);
    let mut seen: BTreeMap<(&str, u16), Use<'_>> = BTreeMap::new();
    for service in &model.services {
        let owner = (
            service.namespace.value.as_str(),
            service.name.value.as_str(),
        );
        for port in &service.ports {
            let Some(np) = &port.node_port else {
                continue;
            };
            let key = (service.cluster.value.as_str(), np.value);
            match seen.get(&key) {
                Some((_, first_owner, first_protocol))
                    if *first_owner == owner && *first_protocol != port.protocol.value => {}
                Some((first, _, _)) => diags.push(
                    Diagnostic::new(
                        &codes::DUPLICATE_NODE_PORT,
                        np.span,
                        format!(
                            "node port {} is used twice in cluster `{}`",
                            np.value, service.cluster.value
                        ),
                    )
                    .label("used again here")
                    .related(*first, "first used here"),
                ),
                None => {
                    seen.insert(key, (np.span, owner, port.protocol.value));
                }
            }
        }
    }
}

/// A LoadBalancer port of a cluster: the port, its span, and the service's name.
type ExposedPort<'m> = (u16, Span, &'m str);

/// AksHci known issue: clusters that share a cluster network and expose
/// LoadBalancer services on different ports can be handed the same address.
pub fn check_shared_network_hazard(model: &Model, diags: &mut Diagnostics) {
    for network in &model.networks {
        let clusters: Vec<&str> = model
            .clusters
            .iter()
            .filter(|c| c.network.value == network.name.value)
            .map(|c| c.name.value.as_str())
            .collect();
        if clusters.len() < 2 {
            continue;
        }
        // The first LoadBalancer port of each cluster, with its span.
        let ports_of = |cluster: &str| -> Vec<ExposedPort<'_>> {
            model
                .services
                .iter()
                .filter(|s| s.cluster.value == cluster && s.kind.value == ServiceType::LoadBalancer)
                .flat_map(|s| {
                    s.ports
                        .iter()
                        .map(move |p| (p.port.value, p.port.span, s.name.value.as_str()))
                })
                .collect()
        };
        let exposing: Vec<(&str, Vec<ExposedPort<'_>>)> = clusters
            .iter()
            .map(|c| (*c, ports_of(c)))
            .filter(|(_, ports)| !ports.is_empty())
            .collect();
        let Some(((first_cluster, first_ports), rest)) = exposing.split_first() else {
            continue;
        };
        let first_set: std::collections::BTreeSet<u16> = first_ports.iter().map(|p| p.0).collect();
        for (cluster, ports) in rest {
            let set: std::collections::BTreeSet<u16> = ports.iter().map(|p| p.0).collect();
            // The hazard needs different ports: one cluster exposing a port the other
            // does not, in either direction. The warning points at the port that
            // differs.
            let pair = match ports.iter().find(|p| !first_set.contains(&p.0)) {
                Some(mine) => first_ports
                    .first()
                    .map(|theirs| ((mine, *cluster), (theirs, *first_cluster))),
                None => first_ports
                    .iter()
                    .find(|p| !set.contains(&p.0))
                    .and_then(|theirs| {
                        ports
                            .first()
                            .map(|mine| ((theirs, *first_cluster), (mine, *cluster)))
                    }),
            };
            let Some((
                ((port, span, service), here),
                ((other_port, other_span, other_service), there),
            )) = pair
            else {
                continue;
            };
            diags.push(
                Diagnostic::new(
                    &codes::SHARED_NETWORK_LB_HAZARD,
                    *span,
                    format!(
                        "clusters `{here}` and `{there}` share network `{}` and expose load-balancer ports {port} and {other_port}: AksHci can give both the same address",
                        network.name.value
                    ),
                )
                .label(format!("service `{service}` on port {port}"))
                .related(*other_span, format!("service `{other_service}` of cluster `{there}` on port {other_port}")),
            );
        }
    }
}

/// The HAProxy VM forwards TCP only (mode tcp or http): a LoadBalancer service port
/// over UDP or SCTP would never be reachable through it.
pub fn check_load_balancer_protocols(model: &Model, diags: &mut Diagnostics) {
    for service in model
        .services
        .iter()
        .filter(|s| s.kind.value == ServiceType::LoadBalancer)
    {
        let Some(cluster) = model
            .clusters
            .iter()
            .find(|c| c.name.value == service.cluster.value)
        else {
            continue;
        };
        if cluster.load_balancer.sku.value != crate::model::LbSku::HaProxy {
            continue;
        }
        for port in &service.ports {
            if port.protocol.value != crate::model::Protocol::Tcp {
                diags.push(
                    Diagnostic::new(
                        &codes::UDP_LOAD_BALANCER,
                        port.protocol.span,
                        format!(
                            "LoadBalancer service `{}` exposes port {}/{}, and the HAProxy load balancer of cluster `{}` forwards TCP only",
                            service.name.value,
                            port.port.value,
                            port.protocol.value.as_str(),
                            cluster.name.value
                        ),
                    )
                    .label("not TCP")
                    .help(format!(
                        "the HAProxy load balancer forwards TCP only: expose {} with a NodePort service, or bring your own load balancer (`load-balancer sku=\"none\"`)",
                        port.protocol.value.as_str()
                    )),
                );
            }
        }
    }
}
