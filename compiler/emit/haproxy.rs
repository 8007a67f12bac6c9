//! The load balancer of each cluster: `haproxy.cfg` for its HAProxy VM(s) and, with
//! more than one VM, a `keepalived-<i>.conf` per VM that moves the VIPs between
//! them. Rendered from `stdlib/templates/` with autoescaping (`escape.rs`); the
//! frontends of `haproxy.cfg` (the template's `frontends` block, nearly all of the
//! file) are written by [`write_frontends`], tested to give the template's bytes.
//!
//! ```text
//! <cluster>/haproxy/haproxy.cfg
//! <cluster>/haproxy/keepalived-0.conf     (only with load-balancer count > 1)
//! ```
//!
//! Frontends: the API server VIP on 6443 forwarding to the control-plane nodes on
//! 6443; one per LoadBalancer service port, bound to the service's VIP and that
//! port, forwarding to the worker nodes at the port's NodePort (only the node pools
//! of the OS the selected workloads run on). TCP by default; HTTP mode with
//! `option httpchk` when the service declares a health-check path.
//!
//! Node addresses come from the allocator on static networks and from `addresses`
//! on DHCP networks; a DHCP cluster without them gets no configuration (TR0414 says
//! so at check time).

use std::collections::BTreeSet;

use foldhash::{HashMap, HashMapExt};
use std::net::IpAddr;

use serde::Serialize;
use tera::{Context, Tera};

use super::{engine, escape, render, render_sized, Artifact, Content, Lookups};
use crate::alloc::KeyRef;
use crate::model::{Cluster, LbSku, Model, Network, NetworkMode, Os, ServiceType};
use std::borrow::Cow;

const HAPROXY_TEMPLATE: &str = include_str!("../../stdlib/templates/haproxy.cfg.tera");
const KEEPALIVED_TEMPLATE: &str = include_str!("../../stdlib/templates/keepalived.conf.tera");

/// The Kubernetes API server port on the control-plane nodes and the VIP.
pub const API_SERVER_PORT: u16 = 6443;

#[derive(Serialize)]
struct Frontend {
    /// Where it comes from: `api-server` or `service:shop/web:80/TCP`.
    source: String,
    name: String,
    backend: String,
    address: String,
    port: u16,
    mode: &'static str,
    balance: &'static str,
    check_path: Option<String>,
    interval: u32,
    rise: u32,
    fall: u32,
    /// The index of the frontend's servers in the cluster's `server_sets`.
    servers: usize,
    /// The port every server listens on: 6443, or the service port's NodePort.
    server_port: u16,
}

/// A backend server without its port. A cluster's frontends share a few sets of
/// servers (the control plane; the workers of the OSes a service selects), so each
/// set is made once and each frontend names its set (the template's
/// `server_sets[fe.servers]`): 2,000 services on 10 workers make 10 servers, not
/// 20,000.
#[derive(Serialize)]
struct Server {
    name: String,
    address: String,
}

/// Writes every cluster's load-balancer configuration.
pub(crate) fn emit(model: &Model, lookups: &Lookups) -> Vec<Artifact> {
    let haproxy = engine("haproxy.cfg", HAPROXY_TEMPLATE, escape::haproxy);
    let keepalived = engine("keepalived.conf", KEEPALIVED_TEMPLATE, escape::keepalived);
    let cx = Cx {
        model,
        addresses: &lookups.addresses,
        node_ports: &lookups.node_ports,
        workloads: &lookups.workloads,
    };
    let mut jobs: Vec<(&Cluster, &Network, usize)> = Vec::new();
    for network in sorted_networks(model) {
        let mut clusters: Vec<&Cluster> = model
            .clusters
            .iter()
            .filter(|c| c.network.value == network.name.value)
            .collect();
        clusters.sort_by(|a, b| a.name.value.cmp(&b.name.value));
        jobs.extend(
            clusters
                .into_iter()
                .enumerate()
                .map(|(vrid_idx, cluster)| (cluster, network, vrid_idx)),
        );
    }
    // Each cluster's services in frontend order with their VIPs, its sets of
    // servers, and its keepalived files.
    let plans: Vec<Plan> = crate::par::flat_map(&jobs, |&(cluster, network, vrid_idx)| {
        cx.plan(cluster, network, vrid_idx, &keepalived)
            .into_iter()
            .collect()
    });
    // Each `haproxy.cfg` in pieces of `PIECE` services, each piece's frontends made
    // and rendered by the next free core: a cluster has thousands, and clusters are
    // few. The first piece is the whole template (the global and default sections,
    // the API server's frontend, then its services'), the others its `frontends`
    // block; joined in order, they are the file the template gives for all
    // frontends at once.
    let pieces: Vec<(usize, &[Fronted], bool)> = plans
        .iter()
        .enumerate()
        .flat_map(|(p, plan)| {
            // The first piece is there even without services: it holds the API
            // server's frontend.
            let (first, rest) = plan.services.split_at(PIECE.min(plan.services.len()));
            std::iter::once((p, first, true))
                .chain(rest.chunks(PIECE).map(move |services| (p, services, false)))
        })
        .collect();
    let texts = crate::par::map_each(&pieces, |&(p, services, first)| {
        let Some(plan) = plans.get(p) else {
            return String::new();
        };
        let frontends = cx.frontends(plan, services, first);
        render_piece(&haproxy, plan.cluster, &plan.server_sets, &frontends, first)
    });
    let owners: Vec<usize> = pieces.into_iter().map(|(p, _, _)| p).collect();
    let mut texts = owners.into_iter().zip(texts).peekable();
    let mut out = Vec::new();
    for (p, plan) in plans.into_iter().enumerate() {
        let mut parts = Vec::new();
        while let Some((_, text)) = texts.next_if(|(q, _)| *q == p) {
            parts.push(text);
        }
        out.push(Artifact {
            path: format!("{}/haproxy/haproxy.cfg", plan.cluster),
            content: Content::from_parts(parts.into_iter().map(Cow::Owned).collect()),
        });
        out.extend(plan.keepalived);
    }
    out
}

/// A piece of cluster `cluster`'s `haproxy.cfg`: its `frontends`, after the global
/// and default sections when it is the `first`.
fn render_piece(
    haproxy: &Tera,
    cluster: &str,
    server_sets: &[Vec<Server>],
    frontends: &[Frontend],
    first: bool,
) -> String {
    // About 300 bytes per frontend and 40 per server line.
    let size = if first { 1024 } else { 0 }
        + frontends
            .iter()
            .map(|fe| 300 + 40 * server_sets.get(fe.servers).map_or(0, Vec::len))
            .sum::<usize>();
    let mut out = if first {
        // The template without frontends: everything before its `frontends` block.
        let mut context = Context::new();
        context.insert("cluster", cluster);
        context.insert("frontends", &[] as &[Frontend]);
        context.insert("server_sets", &[] as &[Vec<Server>]);
        render_sized(haproxy, "haproxy.cfg", None, &context, size)
    } else {
        String::with_capacity(size)
    };
    write_frontends(&mut out, server_sets, frontends);
    out
}

/// The template's `frontends` block for `frontends`, written without the template
/// engine: the same bytes (`tests::the_writer_is_the_template` renders both on
/// frontends that need every kind of escaping), at a fraction of the cost. tera
/// made a value of every field of every frontend and looked each up by name: at
/// 10,000 services, 39 of a build's 220 ms of work. The template stays the
/// definition of the file.
fn write_frontends(out: &mut String, server_sets: &[Vec<Server>], frontends: &[Frontend]) {
    use std::fmt::Write;
    let word = |out: &mut String, text: &str| out.push_str(&escape::haproxy_word(text));
    for fe in frontends {
        out.push_str("# ");
        word(out, &fe.source);
        out.push_str("\nfrontend ");
        word(out, &fe.name);
        out.push_str("\n    bind ");
        word(out, &fe.address);
        // Numbers are plain words: nothing to escape. Writing to a `String`
        // cannot fail.
        let _ = write!(out, ":{}\n    mode ", fe.port);
        word(out, fe.mode);
        if fe.mode == "http" {
            out.push_str("\n    option httplog");
        }
        out.push_str("\n    default_backend ");
        word(out, &fe.backend);
        out.push_str("\n\nbackend ");
        word(out, &fe.backend);
        out.push_str("\n    mode ");
        word(out, fe.mode);
        out.push_str("\n    balance ");
        word(out, fe.balance);
        // As the template's `if`: an empty path is false.
        if let Some(path) = fe.check_path.as_deref().filter(|p| !p.is_empty()) {
            out.push_str("\n    option httpchk GET ");
            word(out, path);
        }
        let _ = write!(
            out,
            "\n    default-server check inter {} rise {} fall {}",
            fe.interval, fe.rise, fe.fall
        );
        for server in server_sets.get(fe.servers).map_or(&[][..], Vec::as_slice) {
            out.push_str("\n    server ");
            word(out, &server.name);
            out.push(' ');
            word(out, &server.address);
            let _ = write!(out, ":{}", fe.server_port);
        }
        out.push_str("\n\n");
    }
}

/// How many services' frontends of a `haproxy.cfg` one core makes and writes at a
/// time.
const PIECE: usize = 256;

/// What a cluster's load balancer is given: the API server's VIP, its
/// LoadBalancer services in frontend order and the sets of servers they name, for
/// `haproxy.cfg`; its keepalived files, rendered.
struct Plan<'m> {
    cluster: &'m str,
    api_vip: IpAddr,
    services: Vec<Fronted<'m>>,
    server_sets: Vec<Vec<Server>>,
    keepalived: Vec<Artifact>,
}

/// A LoadBalancer service with its VIP and the index of its servers in the
/// cluster's `server_sets`.
struct Fronted<'m> {
    service: &'m crate::model::Service,
    vip: IpAddr,
    servers: usize,
}

fn sorted_networks(model: &Model) -> Vec<&Network> {
    let mut networks: Vec<&Network> = model.networks.iter().collect();
    networks.sort_by(|a, b| a.name.value.cmp(&b.name.value));
    networks
}

struct Cx<'m> {
    model: &'m Model,
    addresses: &'m HashMap<KeyRef<'m>, IpAddr>,
    node_ports: &'m HashMap<KeyRef<'m>, u16>,
    workloads: &'m crate::model::index::WorkloadIndex<'m>,
}

/// The node addresses of a cluster: control-plane VMs, and workers per pool with
/// the pool's OS.
struct Nodes {
    control_plane: Vec<IpAddr>,
    workers: Vec<(Os, String, Vec<IpAddr>)>,
}

impl<'m> Cx<'m> {
    fn nodes(&self, cluster: &Cluster, network: &Network) -> Option<Nodes> {
        let c = &cluster.name.value;
        match network.mode.value {
            NetworkMode::Static => Some(Nodes {
                control_plane: (0..cluster.control_plane.count.value)
                    .filter_map(|i| self.addresses.get(&KeyRef::ControlPlane(c, i)).copied())
                    .collect(),
                workers: cluster
                    .node_pools
                    .iter()
                    .map(|p| {
                        let addrs = (0..p.count.value)
                            .filter_map(|i| {
                                self.addresses
                                    .get(&KeyRef::Worker(c, &p.name.value, i))
                                    .copied()
                            })
                            .collect();
                        (p.os.value, p.name.value.clone(), addrs)
                    })
                    .collect(),
            }),
            NetworkMode::Dhcp => {
                let declared = |a: &Option<
                    crate::source::Spanned<Vec<crate::source::Spanned<IpAddr>>>,
                >,
                                count: u32| {
                    match a {
                        Some(list) => Some(list.value.iter().map(|x| x.value).collect::<Vec<_>>()),
                        None if count == 0 => Some(Vec::new()),
                        None => None,
                    }
                };
                Some(Nodes {
                    control_plane: declared(
                        &cluster.control_plane.addresses,
                        cluster.control_plane.count.value,
                    )?,
                    workers: cluster
                        .node_pools
                        .iter()
                        .map(|p| {
                            Some((
                                p.os.value,
                                p.name.value.clone(),
                                declared(&p.addresses, p.count.value)?,
                            ))
                        })
                        .collect::<Option<Vec<_>>>()?,
                })
            }
        }
    }

    /// The cluster's [`Plan`]; `None` when its node addresses or API server VIP
    /// are unknown.
    fn plan(
        &self,
        cluster: &'m Cluster,
        network: &Network,
        vrid_idx: usize,
        keepalived: &Tera,
    ) -> Option<Plan<'m>> {
        let c = cluster.name.value.as_str();
        let nodes = self.nodes(cluster, network)?;
        let api_vip = self.addresses.get(&KeyRef::ApiServer(c))?;
        let mut services: Vec<&crate::model::Service> = self
            .model
            .services
            .iter()
            .map(Box::as_ref)
            .filter(|s| s.cluster.value == c && s.kind.value == ServiceType::LoadBalancer)
            .collect();
        services.sort_by(|a, b| {
            (&a.namespace.value, &a.name.value).cmp(&(&b.namespace.value, &b.name.value))
        });
        let mut fronted = Vec::with_capacity(services.len());
        let mut server_sets: Vec<Vec<Server>> = vec![nodes
            .control_plane
            .iter()
            .enumerate()
            .map(|(i, a)| Server {
                name: format!("control-plane-{i}"),
                address: a.to_string(),
            })
            .collect()];
        // The workers' set of each selection of OSes, made once.
        let mut worker_sets: HashMap<Vec<Os>, usize> = HashMap::new();
        let mut vips: BTreeSet<IpAddr> = BTreeSet::from([*api_vip]);
        for service in services {
            let (ns, name) = (&service.namespace.value, &service.name.value);
            let Some(vip) = self.addresses.get(&KeyRef::Service(c, ns, name)) else {
                continue;
            };
            vips.insert(*vip);
            let mut oses = self.selected_oses(service);
            oses.sort();
            let servers = *worker_sets.entry(oses).or_insert_with_key(|oses| {
                server_sets.push(
                    nodes
                        .workers
                        .iter()
                        .filter(|(os, _, _)| oses.is_empty() || oses.contains(os))
                        .flat_map(|(_, pool, addrs)| {
                            addrs.iter().enumerate().map(move |(i, a)| Server {
                                name: format!("{pool}-{i}"),
                                address: a.to_string(),
                            })
                        })
                        .collect(),
                );
                server_sets.len() - 1
            });
            fronted.push(Fronted {
                service,
                vip: *vip,
                servers,
            });
        }
        let mut plan = Plan {
            cluster: c,
            api_vip: *api_vip,
            services: fronted,
            server_sets,
            keepalived: Vec::new(),
        };
        let lb = &cluster.load_balancer;
        let vm_count = match lb.sku.value {
            LbSku::HaProxy => lb.count.value,
            LbSku::None => lb.count.value,
        };
        if vm_count < 2 {
            return Some(plan);
        }
        let prefix_len = network.prefix.as_ref().map_or(32, |p| p.value.prefix_len());
        let vip_list: Vec<String> = vips.iter().map(|v| format!("{v}/{prefix_len}")).collect();
        for index in 0..vm_count {
            let mut context = Context::new();
            context.insert("cluster", c);
            context.insert("index", &index);
            context.insert("router_id", &format!("{c}-lb-{index}"));
            context.insert("instance", &format!("{c}_vips"));
            context.insert("interface", &lb.interface.value);
            context.insert("vrid", &(vrid_idx + 1));
            context.insert("priority", &(200 - 10 * index));
            context.insert("vips", &vip_list);
            plan.keepalived.push(Artifact {
                path: format!("{c}/haproxy/keepalived-{index}.conf"),
                content: render(keepalived, "keepalived.conf", &context).into(),
            });
        }
        Some(plan)
    }

    /// The frontends of `services`, a piece of `plan`'s, after the API server's
    /// when it is the `first` piece.
    fn frontends(&self, plan: &Plan, services: &[Fronted], first: bool) -> Vec<Frontend> {
        let c = plan.cluster;
        // Sized up front: a large list grown step by step touches fresh memory at
        // every step.
        let ports: usize = services.iter().map(|f| f.service.ports.len()).sum();
        let mut frontends = Vec::with_capacity(usize::from(first) + ports);
        if first {
            frontends.push(Frontend {
                source: "api-server".into(),
                name: "fe_api_server".into(),
                backend: "be_api_server".into(),
                address: plan.api_vip.to_string(),
                port: API_SERVER_PORT,
                mode: "tcp",
                balance: "roundrobin",
                check_path: None,
                interval: 2000,
                rise: 2,
                fall: 3,
                servers: 0,
                server_port: API_SERVER_PORT,
            });
        }
        for &Fronted {
            service,
            vip,
            servers,
        } in services
        {
            let (ns, name) = (&service.namespace.value, &service.name.value);
            let check = service.health_check.as_ref();
            // HAProxy forwards TCP only; UDP and SCTP ports (possible with
            // `sku="none"`) are left to the user's own load balancer.
            for port in service
                .ports
                .iter()
                .filter(|p| p.protocol.value == crate::model::Protocol::Tcp)
            {
                let Some(node_port) = self.node_ports.get(&KeyRef::NodePort(
                    c,
                    ns,
                    name,
                    port.port.value,
                    port.protocol.value,
                )) else {
                    continue;
                };
                let id = format!("{ns}_{name}_{}", port.port.value);
                let check_path = check.and_then(|h| h.path.as_ref()).map(|p| p.value.clone());
                frontends.push(Frontend {
                    source: format!(
                        "service:{ns}/{name}:{}/{}",
                        port.port.value,
                        port.protocol.value.as_str()
                    ),
                    name: format!("fe_svc_{id}"),
                    backend: format!("be_svc_{id}"),
                    address: vip.to_string(),
                    port: port.port.value,
                    mode: if check_path.is_some() { "http" } else { "tcp" },
                    balance: service.balance.value.as_str(),
                    check_path,
                    interval: check.map_or(2000, |h| h.interval_ms),
                    rise: check.map_or(2, |h| h.rise),
                    fall: check.map_or(3, |h| h.fall),
                    servers,
                    server_port: *node_port,
                });
            }
        }
        frontends
    }

    /// The OSes of the workloads a service selects; empty when it selects none (then
    /// every worker is a backend).
    fn selected_oses(&self, service: &crate::model::Service) -> Vec<Os> {
        let Some(selector) = &service.selector else {
            return Vec::new();
        };
        let mut oses: Vec<Os> = Vec::new();
        for w in self.workloads.selected(service, selector) {
            if !oses.contains(&w.os.value) {
                oses.push(w.os.value);
            }
        }
        oses
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn server(name: &str, address: &str) -> Server {
        Server {
            name: name.into(),
            address: address.into(),
        }
    }

    /// The template rendered for all `frontends` at once: the definition of the
    /// file.
    fn template(server_sets: &[Vec<Server>], frontends: &[Frontend]) -> String {
        let haproxy = engine("haproxy.cfg", HAPROXY_TEMPLATE, escape::haproxy);
        let mut context = Context::new();
        context.insert("cluster", "c");
        context.insert("frontends", frontends);
        context.insert("server_sets", server_sets);
        render_sized(&haproxy, "haproxy.cfg", None, &context, 0)
    }

    /// What `emit` writes for `frontends`: the first piece, then the rest a piece
    /// at a time.
    fn pieces(server_sets: &[Vec<Server>], frontends: &[Frontend]) -> String {
        let haproxy = engine("haproxy.cfg", HAPROXY_TEMPLATE, escape::haproxy);
        let mut out = render_piece(&haproxy, "c", server_sets, &[], true);
        for piece in frontends.chunks(PIECE) {
            out.push_str(&render_piece(&haproxy, "c", server_sets, piece, false));
        }
        out
    }

    /// The pieces joined are the file the template gives for all frontends at once.
    #[test]
    fn pieces_join_into_the_whole_file() {
        let frontends: Vec<Frontend> = (0..3 * PIECE + 5)
            .map(|i| Frontend {
                source: format!("service:ns/svc-{i}:80/TCP"),
                name: format!("fe_svc_ns_svc-{i}_80"),
                backend: format!("be_svc_ns_svc-{i}_80"),
                address: format!("10.0.{}.{}", i / 250, i % 250),
                port: 80,
                mode: if i % 3 == 0 { "http" } else { "tcp" },
                balance: "roundrobin",
                check_path: (i % 3 == 0).then(|| "/healthz".to_string()),
                interval: 2000,
                rise: 2,
                fall: 3,
                servers: i % 2,
                server_port: 30000,
            })
            .collect();
        let server_sets = vec![
            vec![server("control-plane-0", "10.1.0.1")],
            vec![server("linux-0", "10.1.0.2"), server("linux-1", "10.1.0.3")],
        ];
        let whole = template(&server_sets, &frontends);
        assert_eq!(pieces(&server_sets, &frontends), whole);
        // The first piece may hold frontends too (the API server's).
        let haproxy = engine("haproxy.cfg", HAPROXY_TEMPLATE, escape::haproxy);
        let (first, rest) = frontends.split_at(1);
        let mut joined = render_piece(&haproxy, "c", &server_sets, first, true);
        joined.push_str(&render_piece(&haproxy, "c", &server_sets, rest, false));
        assert_eq!(joined, whole);
        assert_eq!(whole.matches("\nfrontend ").count(), 3 * PIECE + 5);
        assert!(
            whole.ends_with(":30000\n\n"),
            "{}",
            &whole[whole.len() - 80..]
        );
    }

    /// Every field that reaches the file, holding text that needs every kind of
    /// escaping (and an empty path, which the template's `if` treats as absent):
    /// the writer gives the template's bytes.
    #[test]
    fn the_writer_is_the_template() {
        const WORDS: [&str; 12] = [
            "plain-1.2_3",
            "",
            "a b",
            "x#y",
            "$(reboot)",
            "a\"b\\c",
            "x\ny",
            "it's",
            "fd00::1",
            "ünï",
            "\u{202e}evil",
            "\t\r\0",
        ];
        let word = |i: usize| WORDS.get(i % WORDS.len()).copied().unwrap_or_default();
        let frontends: Vec<Frontend> = (0..60)
            .map(|i| Frontend {
                source: word(i).into(),
                name: word(i + 1).into(),
                backend: word(i + 2).into(),
                address: word(i + 3).into(),
                port: u16::try_from(i).unwrap_or(0) * 1000,
                mode: match i % 3 {
                    0 => "tcp",
                    1 => "http",
                    _ => "h t#p",
                },
                balance: word(i + 4),
                check_path: (i % 4 != 0).then(|| word(i + 5).to_string()),
                interval: u32::try_from(i).unwrap_or(0),
                rise: 1,
                fall: u32::MAX,
                servers: i % 3,
                server_port: u16::MAX,
            })
            .collect();
        let server_sets = vec![
            vec![],
            (0..WORDS.len())
                .map(|i| server(word(i), word(i + 1)))
                .collect(),
            vec![server("linux-0", "10.1.0.2")],
        ];
        assert_eq!(
            pieces(&server_sets, &frontends),
            template(&server_sets, &frontends)
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// The same on arbitrary text.
        #[test]
        fn the_writer_is_the_template_on_any_text(
            fields in proptest::collection::vec(any::<String>(), 6),
            servers in proptest::collection::vec((any::<String>(), any::<String>()), 0..4),
            check in any::<Option<String>>(),
            numbers in any::<(u16, u32, u32, u32, u16)>(),
            http in any::<bool>(),
        ) {
            let field = |i: usize| fields.get(i).cloned().unwrap_or_default();
            let (port, interval, rise, fall, server_port) = numbers;
            let balance: &'static str = Box::leak(field(4).into_boxed_str());
            let frontends = vec![Frontend {
                source: field(0),
                name: field(1),
                backend: field(2),
                address: field(3),
                port,
                mode: if http { "http" } else { "tcp" },
                balance,
                check_path: check,
                interval,
                rise,
                fall,
                servers: 0,
                server_port,
            }];
            let server_sets = vec![servers.iter().map(|(n, a)| server(n, a)).collect()];
            prop_assert_eq!(
                pieces(&server_sets, &frontends),
                template(&server_sets, &frontends)
            );
        }
    }
}
