//! Kubernetes objects against each other (TR0502–TR0508, TR0708): what a service
//! selects and targets, its ports, ingress routes and TLS hosts, and whether a
//! workload's OS has nodes to run on.
//!
//! Service selectors are matched through an index from (cluster, namespace, label)
//! to workloads, so a namespace of thousands of services and workloads is checked in
//! near-linear time; route conflicts are found by sorting.

use std::collections::BTreeMap;

use foldhash::{HashMap, HashSet};

use crate::diag::{codes, Diagnostic, Diagnostics};
use crate::model::index::WorkloadIndex;
use crate::model::{Model, PortRef, Service, ServiceType, Workload};
use crate::source::Span;

pub fn check_services(model: &Model, index: &WorkloadIndex, diags: &mut Diagnostics) {
    // Namespaces with a workload that failed to lower: its labels are unknown, so a
    // selector that matches nothing there may well match it.
    let lowered: HashSet<(&str, &str, &str)> = model
        .workloads
        .iter()
        .map(|w| {
            (
                w.cluster.value.as_str(),
                w.namespace.value.as_str(),
                w.name.value.as_str(),
            )
        })
        .collect();
    let broken: HashSet<(&str, &str)> = model
        .declarations
        .iter()
        .filter(|d| d.kind == crate::model::DeclKind::Workload && d.scoped)
        .filter_map(|d| {
            Some((
                d.scope().cluster?,
                d.scope().namespace?,
                d.name.value.as_str(),
            ))
        })
        .filter(|key| !lowered.contains(key))
        .map(|(c, ns, _)| (c, ns))
        .collect();
    for service in &model.services {
        check_duplicate_ports(service, diags);
        let Some(selector) = &service.selector else {
            continue;
        };
        if selector.items.is_empty() || service.kind.value == ServiceType::ExternalName {
            continue;
        }
        let selected = index.selected(service, selector);
        let selector_span = selector.span.unwrap_or(service.name.span);
        let scope = (
            service.cluster.value.as_str(),
            service.namespace.value.as_str(),
        );
        if selected.is_empty() && broken.contains(&scope) {
            continue;
        }
        if selected.is_empty() {
            let mut diag = Diagnostic::new(
                &codes::SELECTOR_MATCHES_NOTHING,
                selector_span,
                format!(
                    "the selector of service `{}` matches no workload in namespace `{}`",
                    service.name.value, service.namespace.value
                ),
            )
            .label("matches nothing");
            if let Some(other) = index.elsewhere(service, selector) {
                diag = diag
                    .related(other.name.span, format!("matches workload `{}` of namespace `{}`", other.name.value, other.namespace.value))
                    .help(format!(
                        "a service selects pods of its own namespace only; declare the service in namespace `{}`, or the workload in `{}`",
                        other.namespace.value, service.namespace.value
                    ));
            }
            diags.push(diag);
            continue;
        }
        check_target_ports(service, &selected, diags);
    }
}

fn check_duplicate_ports(service: &Service, diags: &mut Diagnostics) {
    let mut numbers: BTreeMap<(u16, crate::model::Protocol), Span> = BTreeMap::new();
    let mut names: BTreeMap<String, Span> = BTreeMap::new();
    for port in &service.ports {
        let key = (port.port.value, port.protocol.value);
        if let Some(first) = numbers.get(&key) {
            diags.push(
                Diagnostic::new(
                    &codes::DUPLICATE_SERVICE_PORT,
                    port.port.span,
                    format!(
                        "service `{}` lists port {}/{} twice",
                        service.name.value,
                        port.port.value,
                        port.protocol.value.as_str()
                    ),
                )
                .label("listed again")
                .related(*first, "first listed here"),
            );
        } else {
            numbers.insert(key, port.port.span);
        }
        let name = port.effective_name();
        let span = port.name.as_ref().map_or(port.port.span, |n| n.span);
        if let Some(first) = names.get(&name) {
            let derived = if port.name.is_none() {
                " (the name trellis gives it)"
            } else {
                ""
            };
            diags.push(
                Diagnostic::new(
                    &codes::DUPLICATE_SERVICE_PORT,
                    span,
                    format!(
                        "service `{}` has two ports named `{name}`{derived}",
                        service.name.value
                    ),
                )
                .label("name used again")
                .related(*first, "first used here")
                .help("give one of the ports another `name=`"),
            );
        } else {
            names.insert(name, span);
        }
    }
}

fn check_target_ports(service: &Service, selected: &[&Workload], diags: &mut Diagnostics) {
    for port in &service.ports {
        let (target, span) = match &port.target {
            Some(t) => (t.value.clone(), t.span),
            None => (PortRef::Number(port.port.value), port.port.span),
        };
        match &target {
            PortRef::Name(name) => {
                let missing: Vec<&&Workload> = selected
                    .iter()
                    .filter(|w| {
                        !w.ports.iter().any(|p| {
                            &p.name.value == name && p.protocol.value == port.protocol.value
                        })
                    })
                    .collect();
                if let Some(first) = missing.first() {
                    let declared: Vec<String> = first
                        .ports
                        .iter()
                        .map(|p| format!("`{}`", p.name.value))
                        .collect();
                    let mut diag = Diagnostic::new(
                        &codes::TARGET_PORT_NOT_EXPOSED,
                        span,
                        format!(
                            "service `{}` targets port `{name}`/{}, which workload `{}` does not declare",
                            service.name.value,
                            port.protocol.value.as_str(),
                            first.name.value
                        ),
                    )
                    .label("no such port")
                    .related(first.name.span, "selected workload");
                    if !declared.is_empty() {
                        diag = diag.help(format!(
                            "workload `{}` declares {}",
                            first.name.value,
                            declared.join(", ")
                        ));
                    }
                    diags.push(diag);
                }
            }
            PortRef::Number(number) => {
                let declared = selected.iter().any(|w| {
                    w.ports.iter().any(|p| {
                        p.number.value == *number && p.protocol.value == port.protocol.value
                    })
                });
                let any_ports = selected.iter().any(|w| !w.ports.is_empty());
                if !declared && any_ports {
                    diags.push(
                        Diagnostic::new(
                            &codes::TARGET_PORT_UNDECLARED,
                            span,
                            format!(
                                "service `{}` sends traffic to port {number}/{}, which {} declares",
                                service.name.value,
                                port.protocol.value.as_str(),
                                match selected {
                                    [only] => format!("its selected workload `{}` never", only.name.value),
                                    _ => format!("none of its {} selected workloads", selected.len()),
                                }
                            ),
                        )
                        .label("undeclared port"),
                    );
                }
            }
        }
    }
}

/// A route for conflict detection: (cluster, class, host, path, path type), its
/// span, and the ingress it belongs to.
type RouteKey<'m> = (
    (&'m str, &'m str, &'m str, &'m str, &'static str),
    Span,
    &'m str,
);

pub fn check_ingresses(model: &Model, diags: &mut Diagnostics) {
    // Services by (cluster, namespace, name).
    let services: HashMap<(&str, &str, &str), &Service> = model
        .services
        .iter()
        .map(Box::as_ref)
        .map(|s| {
            (
                (
                    s.cluster.value.as_str(),
                    s.namespace.value.as_str(),
                    s.name.value.as_str(),
                ),
                s,
            )
        })
        .collect();
    // (cluster, class, host, path) -> first route span, for conflicts.
    let mut routes: Vec<RouteKey<'_>> = Vec::new();
    for ingress in &model.ingresses {
        let c = ingress.cluster.value.as_str();
        let ns = ingress.namespace.value.as_str();
        let class = ingress.class.as_ref().map_or("", |c| c.value.as_str());
        for rule in &ingress.rules {
            let host = rule.host.as_ref().map_or("*", |h| h.value.as_str());
            for route in &rule.routes {
                let path_type = match route.path_match.value {
                    crate::model::PathMatch::Prefix => "Prefix",
                    crate::model::PathMatch::Exact => "Exact",
                    crate::model::PathMatch::ImplementationSpecific => "ImplementationSpecific",
                };
                routes.push((
                    (c, class, host, route.path.value.as_str(), path_type),
                    route.path.span,
                    ingress.name.value.as_str(),
                ));
                let Some(service) = services.get(&(c, ns, route.service.value.as_str())) else {
                    continue;
                };
                let found = service.ports.iter().any(|p| match &route.port.value {
                    PortRef::Number(n) => p.port.value == *n,
                    PortRef::Name(n) => &p.effective_name() == n,
                });
                if !found && service.kind.value != ServiceType::ExternalName {
                    let ports: Vec<String> = service
                        .ports
                        .iter()
                        .map(|p| match &p.name {
                            Some(n) => format!("{} (`{}`)", p.port.value, n.value),
                            None => p.port.value.to_string(),
                        })
                        .collect();
                    diags.push(
                        Diagnostic::new(
                            &codes::ROUTE_PORT_MISSING,
                            route.port.span,
                            format!(
                                "service `{}` has no port {}",
                                service.name.value, route.port.value
                            ),
                        )
                        .label("no such port")
                        .related(service.name.span, "service declared here")
                        .help(format!(
                            "service `{}` has port {}",
                            service.name.value,
                            ports.join(", ")
                        )),
                    );
                }
            }
        }
        for tls in &ingress.tls {
            for host in &tls.hosts {
                let served = ingress.rules.iter().any(|r| match &r.host {
                    None => true,
                    Some(h) => host_matches(&h.value, &host.value),
                });
                if !served {
                    diags.push(
                        Diagnostic::new(
                            &codes::TLS_HOST_NOT_ROUTED,
                            host.span,
                            format!(
                                "ingress `{}` has a certificate for `{}` but no rule for it",
                                ingress.name.value, host.value
                            ),
                        )
                        .label("no rule serves this host"),
                    );
                }
            }
        }
    }
    routes.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    for pair in routes.windows(2) {
        let [(key_a, span_a, ingress_a), (key_b, span_b, ingress_b)] = pair else {
            continue;
        };
        if key_a == key_b {
            let (_, _, host, path, path_type) = key_a;
            let host = if *host == "*" {
                "every host".to_string()
            } else {
                format!("host `{host}`")
            };
            let place = if ingress_a == ingress_b {
                format!("in ingress `{ingress_a}`")
            } else {
                format!("by ingresses `{ingress_a}` and `{ingress_b}`")
            };
            diags.push(
                Diagnostic::new(
                    &codes::CONFLICTING_ROUTE,
                    *span_b,
                    format!("{host}, path `{path}` ({path_type}) is routed twice, {place}"),
                )
                .label("routed again")
                .related(*span_a, "first routed here"),
            );
        }
    }
}

/// True when an ingress rule host serves `host`: equal, or a wildcard rule
/// (`*.example.com`) covering exactly one more label (`a.example.com`).
fn host_matches(rule: &str, host: &str) -> bool {
    if rule == host {
        return true;
    }
    match (rule.strip_prefix("*."), host.split_once('.')) {
        (Some(suffix), Some((first, rest))) => !first.is_empty() && first != "*" && rest == suffix,
        _ => false,
    }
}

/// A workload needs a node pool of its OS with at least one node.
pub fn check_workload_os(model: &Model, diags: &mut Diagnostics) {
    for w in &model.workloads {
        let Some(cluster) = model
            .clusters
            .iter()
            .find(|c| c.name.value == w.cluster.value)
        else {
            continue;
        };
        let has_nodes = cluster
            .node_pools
            .iter()
            .any(|p| p.os.value == w.os.value && p.count.value > 0);
        if !has_nodes {
            let os = match w.os.value {
                crate::model::Os::Linux => "linux",
                crate::model::Os::Windows => "windows",
            };
            let empty_pool = cluster.node_pools.iter().find(|p| p.os.value == w.os.value);
            let help = match empty_pool {
                Some(pool) => format!(
                    "scale node pool `{}` above `count=0`, or run an image built for the OS the cluster has nodes of",
                    pool.name.value
                ),
                None => format!(
                    "add `node-pool \"{os}\" os=\"{os}\" count=…` to cluster `{}`, or run an image built for the OS the cluster has",
                    cluster.name.value
                ),
            };
            diags.push(
                Diagnostic::new(
                    &codes::NO_POOL_FOR_OS,
                    w.os.span,
                    format!(
                        "workload `{}` needs {os} nodes, and cluster `{}` has none",
                        w.name.value, cluster.name.value
                    ),
                )
                .label(format!("{os} workload"))
                .related(cluster.name.span, "cluster declared here")
                .help(help),
            );
        }
    }
}
