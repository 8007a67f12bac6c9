//! Lowering of `namespace` and `workload`.

use super::shape::Item;
use super::{check_unique_names, labels_of, Lowerer};
use crate::model::{Label, Labels, Namespace, Os, Protocol, Workload, WorkloadPort};
use crate::source::Spanned;

pub(crate) fn lower_namespace(lx: &mut Lowerer<'_>, item: &Item) {
    if !item.complete {
        return;
    }
    let (Some(name), Some(cluster)) = (super::name_arg(item), item.prop_str("cluster")) else {
        return;
    };
    lx.model.namespaces.push(Namespace {
        labels: item.child("labels").map(labels_of).unwrap_or_default(),
        name,
        cluster,
    });
}

pub(crate) fn lower_workload(lx: &mut Lowerer<'_>, item: &Item) {
    let Some(name) = super::name_arg(item) else {
        return;
    };
    let ports: Vec<&Item> = item.children_named("port").collect();
    let port_names: Vec<_> = ports.iter().filter_map(|p| p.arg_str(0)).collect();
    check_unique_names(
        lx.diags,
        "port",
        &format!("workload `{}`", name.value),
        port_names.iter(),
    );
    if !item.complete || ports.iter().any(|p| !p.complete) {
        return;
    }
    let (Some(cluster), Some(namespace), Some(image)) = (
        item.prop_str("cluster"),
        item.prop_str("namespace"),
        item.setting_str("image"),
    ) else {
        return;
    };
    let labels = match item.child("labels") {
        Some(l) => labels_of(l),
        None => Labels {
            items: vec![Label {
                key: Spanned::new("app".to_string(), name.span),
                value: name.clone(),
            }],
            expressions: Vec::new(),
            span: Some(name.span),
        },
    };
    let ports = super::exact(
        ports
            .iter()
            .filter_map(|p| {
                let number = p.arg(1)?;
                Some(WorkloadPort {
                    name: p.arg_str(0)?,
                    number: Spanned::new(number.value.as_port()?, number.span),
                    protocol: protocol_of(p),
                })
            })
            .collect(),
    );
    lx.model.workloads.push(Box::new(Workload {
        replicas: item
            .setting("replicas")
            .and_then(|v| Some(Spanned::new(u32::try_from(v.value.as_int()?).ok()?, v.span)))
            .unwrap_or_else(|| Spanned::new(1, name.span)),
        os: match item.setting_str("os") {
            Some(os) => Spanned::new(super::cluster::parse_os(&os.value), os.span),
            None => Spanned::new(Os::Linux, name.span),
        },
        reaches: item
            .children_named("reaches")
            .flat_map(|r| r.args.iter())
            .filter_map(|a| Some(Spanned::new(a.value.as_net()?, a.span)))
            .collect(),
        labels,
        ports,
        image,
        cluster,
        namespace,
        name,
    }));
}

/// The `protocol=` property of a port node, TCP when absent.
pub(crate) fn protocol_of(item: &Item) -> Spanned<Protocol> {
    match item.prop_str("protocol") {
        Some(p) => Spanned::new(
            match p.value.as_str() {
                "UDP" => Protocol::Udp,
                "SCTP" => Protocol::Sctp,
                _ => Protocol::Tcp,
            },
            p.span,
        ),
        None => Spanned::new(Protocol::Tcp, item.name_span),
    }
}
