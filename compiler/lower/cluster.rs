//! Lowering of `cluster`: a workload cluster, its control plane, load balancer and
//! node pools. Defaults are those of New-AksHciCluster (`docs/language.md`).

use ipnet::IpNet;

use super::shape::Item;
use super::{check_unique_names, Lowerer};
use crate::model::{Cluster, ControlPlane, IpFamily, LbSku, LoadBalancer, NodePool, Os, Plugin};
use crate::source::Spanned;

pub const DEFAULT_POD_CIDR: &str = "10.244.0.0/16";
pub const DEFAULT_SERVICE_CIDR: &str = "10.96.0.0/12";
pub const DEFAULT_CONTROL_PLANE_VM: &str = "Standard_A4_v2";
pub const DEFAULT_LB_VM: &str = "Standard_A4_v2";
pub const DEFAULT_NODE_VM: &str = "Standard_K8S3_v1";
pub const DEFAULT_MAX_PODS: u32 = 110;

pub(crate) fn lower_cluster(lx: &mut Lowerer<'_>, item: &Item) {
    let Some(name) = super::name_arg(item) else {
        return;
    };
    let pools: Vec<&Item> = item.children_named("node-pool").collect();
    let pool_names: Vec<_> = pools.iter().filter_map(|p| p.arg_str(0)).collect();
    check_unique_names(
        lx.diags,
        "node pool",
        &format!("cluster `{}`", name.value),
        pool_names.iter(),
    );
    if !item.complete || pools.iter().any(|p| !p.complete) {
        return;
    }
    let Some(network) = item.setting_str("network") else {
        return;
    };
    let at = name.span;
    let str_or = |i: Option<&Item>, prop: &str, default: &str| -> Spanned<String> {
        i.and_then(|i| i.prop_str(prop))
            .unwrap_or_else(|| Spanned::new(default.to_string(), i.map_or(at, |i| i.name_span)))
    };
    let u32_or = |i: Option<&Item>, prop: &str, default: u32| -> Spanned<u32> {
        i.and_then(|i| i.prop(prop))
            .and_then(|v| Some(Spanned::new(u32::try_from(v.value.as_int()?).ok()?, v.span)))
            .unwrap_or_else(|| Spanned::new(default, i.map_or(at, |i| i.name_span)))
    };
    let cp = item.child("control-plane");
    let lb = item.child("load-balancer");
    let control_plane = ControlPlane {
        count: u32_or(cp, "count", 1),
        vm_size: str_or(cp, "vm-size", DEFAULT_CONTROL_PLANE_VM),
        addresses: cp.and_then(addresses_of),
    };
    let sku = lb.and_then(|l| l.prop_str("sku"));
    let load_balancer = LoadBalancer {
        sku: match sku {
            Some(s) if s.value == "none" => Spanned::new(LbSku::None, s.span),
            Some(s) => Spanned::new(LbSku::HaProxy, s.span),
            None => Spanned::new(LbSku::HaProxy, lb.map_or(at, |l| l.name_span)),
        },
        count: u32_or(lb, "count", 1),
        vm_size: str_or(lb, "vm-size", DEFAULT_LB_VM),
        interface: str_or(lb, "interface", "eth0"),
    };
    let node_pools = pools
        .iter()
        .filter_map(|p| {
            let pool_at = p.name_span;
            Some(NodePool {
                name: p.arg_str(0)?,
                os: match p.prop_str("os") {
                    Some(os) => Spanned::new(parse_os(&os.value), os.span),
                    None => Spanned::new(Os::Linux, pool_at),
                },
                count: u32_or(Some(p), "count", 1),
                vm_size: str_or(Some(p), "vm-size", DEFAULT_NODE_VM),
                os_sku: p.prop_str("os-sku"),
                max_pods: u32_or(Some(p), "max-pods", DEFAULT_MAX_PODS),
                taints: p
                    .children_named("taint")
                    .filter_map(|t| t.arg_str(0))
                    .collect(),
                addresses: addresses_of(p),
            })
        })
        .collect();
    let plugin = match item.setting_str("plugin") {
        Some(p) if p.value == "flannel" => Spanned::new(Plugin::Flannel, p.span),
        Some(p) => Spanned::new(Plugin::Calico, p.span),
        None => Spanned::new(Plugin::Calico, at),
    };
    let ip_family = match item.setting_str("ip-family") {
        Some(f) => Spanned::new(
            match f.value.as_str() {
                "ipv6" => IpFamily::Ipv6,
                "dual" => IpFamily::Dual,
                _ => IpFamily::Ipv4,
            },
            f.span,
        ),
        None => Spanned::new(IpFamily::Ipv4, at),
    };
    let cidr_or = |setting: &str, default: &str| -> Option<Spanned<IpNet>> {
        match item.setting(setting) {
            Some(v) => Some(Spanned::new(v.value.as_net()?, v.span)),
            None => Some(Spanned::new(default.parse().ok()?, at)),
        }
    };
    let (Some(pod_cidr), Some(service_cidr)) = (
        cidr_or("pod-cidr", DEFAULT_POD_CIDR),
        cidr_or("service-cidr", DEFAULT_SERVICE_CIDR),
    ) else {
        return;
    };
    lx.model.clusters.push(Cluster {
        network,
        plugin,
        kubernetes: item.setting_str("kubernetes"),
        control_plane,
        load_balancer,
        node_pools,
        pod_cidr,
        service_cidr,
        ip_family,
        recreate: item.setting("recreate").and_then(|v| v.value.as_bool()) == Some(true),
        name,
    });
}

/// The `addresses` child of a control plane or node pool.
fn addresses_of(item: &Item) -> Option<Spanned<Vec<Spanned<std::net::IpAddr>>>> {
    let node = item.child("addresses")?;
    let list = node
        .args
        .iter()
        .filter_map(|a| Some(Spanned::new(a.value.as_ip()?, a.span)))
        .collect();
    Some(Spanned::new(list, node.name_span))
}

pub(crate) fn parse_os(s: &str) -> Os {
    if s == "windows" {
        Os::Windows
    } else {
        Os::Linux
    }
}
