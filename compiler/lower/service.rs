//! Lowering of `service` and `ingress`, with the constraints between one service's
//! settings (an ExternalName has no ports; only a LoadBalancer has an address).

use super::app::protocol_of;
use super::shape::Item;
use super::{labels_of, Lowerer};
use crate::diag::{codes, Diagnostic};
use crate::model::{
    Balance, HealthCheck, Ingress, IngressRule, PathMatch, PortRef, Route, Service, ServicePort,
    ServiceType, Tls,
};
use crate::source::{Span, Spanned};

pub(crate) fn lower_service(lx: &mut Lowerer<'_>, item: &Item) {
    let Some(name) = super::name_arg(item) else {
        return;
    };
    let kind = match item.setting_str("type") {
        Some(t) => Spanned::new(
            match t.value.as_str() {
                "NodePort" => ServiceType::NodePort,
                "LoadBalancer" => ServiceType::LoadBalancer,
                "ExternalName" => ServiceType::ExternalName,
                _ => ServiceType::ClusterIp,
            },
            t.span,
        ),
        None => Spanned::new(ServiceType::ClusterIp, name.span),
    };
    let type_span = item.child("type").map_or(name.span, |t| t.name_span);
    let type_label = if item.child("type").is_some() {
        "type declared here"
    } else {
        "ClusterIP by default (no `type`)"
    };
    let ty = kind.value.as_str();
    let mut ok = true;
    // A malformed `type` is reported by itself; checking other settings against the
    // ClusterIP default would only add noise.
    if item.child("type").is_some() && item.setting_str("type").is_none() {
        return;
    }
    let ports: Vec<&Item> = item.children_named("port").collect();
    if kind.value == ServiceType::ExternalName {
        for other in [
            "select",
            "port",
            "address",
            "internal",
            "balance",
            "health-check",
        ] {
            if let Some(o) = item.child(other) {
                lx.conflict(
                    o.name_span,
                    format!("an ExternalName service has no `{other}`"),
                    type_span,
                    "the service is an ExternalName",
                    "remove it: an ExternalName service is only a DNS alias",
                );
                ok = false;
            }
        }
        if item.child("external-name").is_none() && item.complete {
            lx.error(
                Diagnostic::new(
                    &codes::MISSING_SETTING,
                    name.span,
                    format!(
                        "ExternalName service `{}` has no `external-name`",
                        name.value
                    ),
                )
                .label("needs `external-name`")
                .related(type_span, "declared ExternalName here")
                .help("add `external-name \"db.example.com\"` with the DNS name it aliases"),
            );
            ok = false;
        }
    } else {
        if let Some(e) = item.child("external-name") {
            lx.conflict(
                e.name_span,
                format!("`external-name` needs type \"ExternalName\", but the service is {ty}"),
                type_span,
                type_label,
                "remove `external-name`, or make the service `type \"ExternalName\"`",
            );
            ok = false;
        }
        if ports.is_empty() && item.complete {
            lx.error(
                Diagnostic::new(
                    &codes::MISSING_SETTING,
                    name.span,
                    format!("{ty} service `{}` has no `port`", name.value),
                )
                .label("needs at least one `port`")
                .help("add `port 80 target=8080` (or a workload's port name as the target)"),
            );
            ok = false;
        }
    }
    if kind.value != ServiceType::LoadBalancer {
        for other in ["address", "internal", "balance", "health-check"] {
            if kind.value == ServiceType::ExternalName {
                break;
            }
            if let Some(o) = item.child(other) {
                lx.conflict(
                    o.name_span,
                    format!("`{other}` applies to LoadBalancer services, but the service is {ty}"),
                    type_span,
                    type_label,
                    "remove it, or make the service `type \"LoadBalancer\"`",
                );
                ok = false;
            }
        }
    }
    if matches!(kind.value, ServiceType::ClusterIp) {
        for p in &ports {
            if let Some(np) = p.prop("node-port") {
                lx.conflict(
                    np.span,
                    "a ClusterIP service has no node port".to_string(),
                    type_span,
                    type_label,
                    "remove `node-port`, or make the service `type \"NodePort\"` or \"LoadBalancer\"",
                );
                ok = false;
            }
        }
    }
    if !ok || !item.complete || ports.iter().any(|p| !p.complete) {
        return;
    }
    let (Some(cluster), Some(namespace)) = (item.prop_str("cluster"), item.prop_str("namespace"))
    else {
        return;
    };
    let ports = super::exact(
        ports
            .iter()
            .filter_map(|p| {
                let port = p.arg(0)?;
                Some(ServicePort {
                    span: p.span,
                    port: Spanned::new(port.value.as_port()?, port.span),
                    target: p.prop("target").and_then(|t| port_ref(&t.value, t.span)),
                    protocol: protocol_of(p),
                    name: p.prop_str("name"),
                    node_port: p.prop("node-port").and_then(|v| {
                        Some(Spanned::new(u16::try_from(v.value.as_int()?).ok()?, v.span))
                    }),
                })
            })
            .collect(),
    );
    let int_or = |i: &Item, key: &str, default: u32| {
        i.prop(key)
            .and_then(|v| u32::try_from(v.value.as_int()?).ok())
            .unwrap_or(default)
    };
    let health_check = item.child("health-check").map(|h| HealthCheck {
        span: h.name_span,
        path: h.prop_str("path"),
        interval_ms: int_or(h, "interval", 2000),
        rise: int_or(h, "rise", 2),
        fall: int_or(h, "fall", 3),
    });
    let balance = match item.setting_str("balance") {
        Some(b) => Spanned::new(
            match b.value.as_str() {
                "leastconn" => Balance::LeastConn,
                "source" => Balance::Source,
                _ => Balance::RoundRobin,
            },
            b.span,
        ),
        None => Spanned::new(Balance::RoundRobin, name.span),
    };
    lx.model.services.push(Box::new(Service {
        balance,
        health_check,
        selector: item.child("select").map(labels_of),
        ports,
        internal: item
            .setting("internal")
            .and_then(|v| Some(Spanned::new(v.value.as_bool()?, v.span)))
            .unwrap_or_else(|| Spanned::new(false, name.span)),
        address: item
            .setting("address")
            .and_then(|v| Some(Spanned::new(v.value.as_ip()?, v.span))),
        external_name: item.setting_str("external-name"),
        kind,
        cluster,
        namespace,
        name,
    }));
}

/// A port number or port name value as a `PortRef`.
pub(crate) fn port_ref(value: &super::value::Value, span: Span) -> Option<Spanned<PortRef>> {
    if let Some(p) = value.as_port() {
        return Some(Spanned::new(PortRef::Number(p), span));
    }
    value
        .as_str()
        .map(|s| Spanned::new(PortRef::Name(s.to_string()), span))
}

pub(crate) fn lower_ingress(lx: &mut Lowerer<'_>, item: &Item) {
    if !item.complete || item.children.iter().any(|c| !c.complete) {
        return;
    }
    let (Some(name), Some(cluster), Some(namespace)) = (
        super::name_arg(item),
        item.prop_str("cluster"),
        item.prop_str("namespace"),
    ) else {
        return;
    };
    let tls = item
        .children_named("tls")
        .filter_map(|t| {
            Some(Tls {
                span: t.name_span,
                hosts: t
                    .args
                    .iter()
                    .filter_map(|h| Some(Spanned::new(h.value.as_str()?.to_string(), h.span)))
                    .collect(),
                secret: t.prop_str("secret")?,
            })
        })
        .collect();
    let rules = item
        .children_named("rule")
        .map(|r| IngressRule {
            span: r.name_span,
            host: r.arg_str(0),
            routes: r
                .children_named("route")
                .filter_map(|route| {
                    let port = route.prop("port")?;
                    Some(Route {
                        path: route.arg_str(0)?,
                        service: route.prop_str("service")?,
                        port: port_ref(&port.value, port.span)?,
                        path_match: match route.prop_str("match") {
                            Some(m) => Spanned::new(
                                match m.value.as_str() {
                                    "Exact" => PathMatch::Exact,
                                    "ImplementationSpecific" => PathMatch::ImplementationSpecific,
                                    _ => PathMatch::Prefix,
                                },
                                m.span,
                            ),
                            None => Spanned::new(PathMatch::Prefix, route.name_span),
                        },
                    })
                })
                .collect(),
        })
        .collect();
    lx.model.ingresses.push(Ingress {
        class: item.setting_str("class"),
        tls,
        rules,
        name,
        cluster,
        namespace,
    });
}
