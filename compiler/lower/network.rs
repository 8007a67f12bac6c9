//! Lowering of `network` (an AksHci virtual network) and `host` (the AKS host).

use super::shape::Item;
use super::Lowerer;
use crate::model::{Host, IpRange, Network, NetworkMode};
use crate::source::Spanned;

pub(crate) fn lower_network(lx: &mut Lowerer<'_>, item: &Item) {
    if !item.complete {
        return;
    }
    let (Some(name), Some(switch), Some(vips)) = (
        super::name_arg(item),
        item.setting_str("switch"),
        item.child("vips").and_then(range_of),
    ) else {
        return;
    };
    let mode = match item.setting("mode") {
        Some(m) => Spanned::new(
            if m.value.as_str() == Some("dhcp") {
                NetworkMode::Dhcp
            } else {
                NetworkMode::Static
            },
            m.span,
        ),
        None => Spanned::new(NetworkMode::Static, name.span),
    };
    let network = Network {
        switch,
        mode,
        prefix: item
            .setting("prefix")
            .and_then(|v| Some(Spanned::new(v.value.as_net()?, v.span))),
        gateway: item
            .setting("gateway")
            .and_then(|v| Some(Spanned::new(v.value.as_ip()?, v.span))),
        dns: item
            .child("dns")
            .map(|d| {
                d.args
                    .iter()
                    .filter_map(|v| Some(Spanned::new(v.value.as_ip()?, v.span)))
                    .collect()
            })
            .unwrap_or_default(),
        vlan: item
            .setting("vlan")
            .and_then(|v| Some(Spanned::new(u16::try_from(v.value.as_int()?).ok()?, v.span))),
        node_ips: item.child("node-ips").and_then(range_of),
        vips,
        name,
    };
    lx.model.networks.push(network);
}

fn range_of(item: &Item) -> Option<IpRange> {
    let start = item.arg(0)?;
    let end = item.arg(1)?;
    Some(IpRange {
        start: Spanned::new(start.value.as_ip()?, start.span),
        end: Spanned::new(end.value.as_ip()?, end.span),
        span: item.span,
    })
}

pub(crate) fn lower_host(lx: &mut Lowerer<'_>, item: &Item) {
    if !item.complete {
        return;
    }
    let Some(network) = item.setting_str("network") else {
        return;
    };
    lx.model.hosts.push(Host {
        span: item.name_span,
        network,
        cloud_service_cidr: item
            .setting("cloud-service-cidr")
            .and_then(|v| Some(Spanned::new(v.value.as_net()?, v.span))),
        image_dir: item.setting_str("image-dir"),
        working_dir: item.setting_str("working-dir"),
        cloud_config_dir: item.setting_str("cloud-config-dir"),
    });
}
