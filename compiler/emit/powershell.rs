//! Deployment scripts for the AksHci PowerShell module: `deploy.ps1` takes an AKS
//! host from nothing to the declared networks and clusters, then applies the
//! generated manifests and Calico resources; `remove.ps1` tears the clusters and
//! their networks down in reverse order.
//!
//! ```text
//! deploy.ps1
//! remove.ps1
//! ```
//!
//! Rendered from `stdlib/templates/*.ps1.tera` with autoescaping (`escape.rs`):
//! every string reaches the script as a single-quoted literal, never as code.
//! Variable names are built from indexes, not from names. The cmdlets and
//! parameters used are the ones `stdlib/akshci-cmdlets.kdl` documents; tests check
//! every generated call against that file.

use serde::Serialize;
use tera::Context;

use super::{engine, escape, render, Artifact};
use crate::model::{Cluster, LbSku, Model, Network, NetworkMode, NodePool};

const DEPLOY_TEMPLATE: &str = include_str!("../../stdlib/templates/deploy.ps1.tera");
const REMOVE_TEMPLATE: &str = include_str!("../../stdlib/templates/remove.ps1.tera");

#[derive(Serialize)]
struct NetworkCtx {
    index: usize,
    name: String,
    switch: String,
    #[serde(rename = "static")]
    is_static: bool,
    prefix: String,
    gateway: String,
    dns: Vec<String>,
    node_start: String,
    node_end: String,
    vip_start: String,
    vip_end: String,
    vlan: Option<u16>,
}

#[derive(Serialize)]
struct HostCtx {
    network: NetworkCtx,
    image_dir: Option<String>,
    working_dir: Option<String>,
    cloud_config_dir: Option<String>,
    cloud_service_cidr: Option<String>,
}

#[derive(Serialize)]
struct LbCtx {
    name: String,
    sku: &'static str,
    vm_size: String,
    count: u32,
}

#[derive(Serialize)]
struct PoolCtx {
    name: String,
    count: u32,
    vm_size: String,
    os_type: &'static str,
    os_sku: Option<String>,
    taints: Option<String>,
    max_pods: u32,
}

#[derive(Serialize)]
struct ClusterCtx {
    name: String,
    plugin: &'static str,
    kubernetes: Option<String>,
    cp_count: u32,
    cp_vm: String,
    lb_vm: String,
    lb: Option<LbCtx>,
    has_network: bool,
    network_index: usize,
    first_pool: PoolCtx,
    pools: Vec<PoolCtx>,
    manifests: Option<String>,
    calico: Vec<String>,
}

/// Writes `deploy.ps1` and `remove.ps1` for the whole project. `paths` are those of
/// the manifests, so the script applies exactly the files that exist.
pub fn emit(model: &Model, paths: &[String]) -> Vec<Artifact> {
    let deploy = engine("deploy.ps1", DEPLOY_TEMPLATE, escape::powershell);
    let remove = engine("remove.ps1", REMOVE_TEMPLATE, escape::powershell);
    let host = model.hosts.first();
    let host_network = host.and_then(|h| {
        model
            .networks
            .iter()
            .find(|n| n.name.value == h.network.value)
    });
    // Cluster networks: every network a cluster uses, except the host's own.
    let mut cluster_networks: Vec<&Network> = model
        .networks
        .iter()
        .filter(|n| Some(n.name.value.as_str()) != host_network.map(|h| h.name.value.as_str()))
        .filter(|n| {
            model
                .clusters
                .iter()
                .any(|c| c.network.value == n.name.value)
        })
        .collect();
    cluster_networks.sort_by(|a, b| a.name.value.cmp(&b.name.value));
    let networks: Vec<NetworkCtx> = cluster_networks
        .iter()
        .enumerate()
        .map(|(i, n)| network_ctx(i, n))
        .collect();
    let mut clusters: Vec<&Cluster> = model.clusters.iter().collect();
    clusters.sort_by(|a, b| a.name.value.cmp(&b.name.value));
    let cluster_ctxs: Vec<ClusterCtx> = clusters
        .iter()
        .filter_map(|c| {
            let network_index = cluster_networks
                .iter()
                .position(|n| n.name.value == c.network.value);
            cluster_ctx(c, network_index, paths)
        })
        .collect();
    let host_ctx = match (host, host_network) {
        (Some(h), Some(n)) => Some(HostCtx {
            network: network_ctx(0, n),
            image_dir: h.image_dir.as_ref().map(|v| v.value.clone()),
            working_dir: h.working_dir.as_ref().map(|v| v.value.clone()),
            cloud_config_dir: h.cloud_config_dir.as_ref().map(|v| v.value.clone()),
            cloud_service_cidr: h.cloud_service_cidr.as_ref().map(|v| v.value.to_string()),
        }),
        _ => None,
    };
    let mut context = Context::new();
    context.insert("host", &host_ctx);
    context.insert("networks", &networks);
    context.insert("clusters", &cluster_ctxs);
    let mut out = vec![Artifact {
        path: "deploy.ps1".into(),
        content: render(&deploy, "deploy.ps1", &context).into(),
    }];
    let mut removal = Context::new();
    let names: Vec<&str> = clusters
        .iter()
        .rev()
        .map(|c| c.name.value.as_str())
        .collect();
    let net_names: Vec<&str> = cluster_networks
        .iter()
        .rev()
        .map(|n| n.name.value.as_str())
        .collect();
    removal.insert("clusters", &names);
    removal.insert("networks", &net_names);
    out.push(Artifact {
        path: "remove.ps1".into(),
        content: render(&remove, "remove.ps1", &removal).into(),
    });
    out
}

fn network_ctx(index: usize, n: &Network) -> NetworkCtx {
    let text = |v: Option<String>| v.unwrap_or_default();
    NetworkCtx {
        index,
        name: n.name.value.clone(),
        switch: n.switch.value.clone(),
        is_static: n.mode.value == NetworkMode::Static,
        prefix: text(n.prefix.as_ref().map(|p| p.value.to_string())),
        gateway: text(n.gateway.as_ref().map(|g| g.value.to_string())),
        dns: n.dns.iter().map(|d| d.value.to_string()).collect(),
        node_start: text(n.node_ips.as_ref().map(|r| r.start.value.to_string())),
        node_end: text(n.node_ips.as_ref().map(|r| r.end.value.to_string())),
        vip_start: n.vips.start.value.to_string(),
        vip_end: n.vips.end.value.to_string(),
        vlan: n.vlan.as_ref().map(|v| v.value),
    }
}

fn pool_ctx(p: &NodePool) -> PoolCtx {
    PoolCtx {
        name: p.name.value.clone(),
        count: p.count.value,
        vm_size: p.vm_size.value.clone(),
        os_type: p.os.value.as_str(),
        os_sku: p.os_sku.as_ref().map(|s| s.value.clone()),
        taints: (!p.taints.is_empty()).then(|| {
            p.taints
                .iter()
                .map(|t| t.value.as_str())
                .collect::<Vec<_>>()
                .join(",")
        }),
        max_pods: p.max_pods.value,
    }
}

fn cluster_ctx(c: &Cluster, network_index: Option<usize>, paths: &[String]) -> Option<ClusterCtx> {
    let first = c.node_pools.first()?;
    let name = &c.name.value;
    let lb = &c.load_balancer;
    // A load-balancer setting is only needed when it differs from the default
    // single HAProxy VM.
    let lb_ctx = (lb.sku.value == LbSku::None || lb.count.value != 1).then(|| LbCtx {
        name: format!("{name}lb"),
        sku: match lb.sku.value {
            LbSku::HaProxy => "HAProxy",
            LbSku::None => "none",
        },
        vm_size: lb.vm_size.value.clone(),
        count: lb.count.value,
    });
    let manifests = format!("{name}/kubernetes");
    let has_manifests = paths
        .iter()
        .any(|p| p.starts_with(&format!("{manifests}/")));
    let calico_prefix = format!("{name}/calico/");
    let mut calico: Vec<String> = paths
        .iter()
        .filter(|p| p.starts_with(&calico_prefix))
        .cloned()
        .collect();
    // The tier before the policies that live in it.
    calico.sort_by(|a, b| super::apply_order(a).cmp(&super::apply_order(b)));
    Some(ClusterCtx {
        name: name.clone(),
        plugin: c.plugin.value.as_str(),
        kubernetes: c.kubernetes.as_ref().map(|k| k.value.clone()),
        cp_count: c.control_plane.count.value,
        cp_vm: c.control_plane.vm_size.value.clone(),
        lb_vm: lb.vm_size.value.clone(),
        lb: lb_ctx,
        has_network: network_index.is_some(),
        network_index: network_index.unwrap_or(0),
        first_pool: pool_ctx(first),
        pools: c.node_pools.iter().map(pool_ctx).collect(),
        manifests: has_manifests.then_some(manifests),
        calico,
    })
}
