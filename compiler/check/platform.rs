//! Plugin and platform limits of AKS on Windows Server (TR07xx).

use crate::diag::{codes, Diagnostic, Diagnostics};
use crate::model::{IpFamily, Model, Plugin};
use crate::source::Spanned;
use crate::stdlib::platform;
use crate::suggest::did_you_mean;

/// Flannel was retired in December 2023: warn on every cluster that chooses it.
pub fn check_plugins(model: &Model, diags: &mut Diagnostics) {
    for cluster in &model.clusters {
        if cluster.plugin.value == Plugin::Flannel {
            diags.push(
                Diagnostic::new(
                    &codes::FLANNEL_DEPRECATED,
                    cluster.plugin.span,
                    format!(
                        "cluster `{}` uses the flannel plugin, retired in December 2023",
                        cluster.name.value
                    ),
                )
                .label("deprecated plugin"),
            );
        }
    }
}

/// Every VM size (control plane, load balancer, node pools) must be one that
/// Get-AksHciVmSize lists (`stdlib/akshci.kdl`); names compare case-insensitively.
pub fn check_vm_sizes(model: &Model, diags: &mut Diagnostics) {
    let platform = platform();
    for cluster in &model.clusters {
        let sizes = [
            (
                "the control plane".to_string(),
                &cluster.control_plane.vm_size,
            ),
            (
                "the load balancer".to_string(),
                &cluster.load_balancer.vm_size,
            ),
        ]
        .into_iter()
        .chain(
            cluster
                .node_pools
                .iter()
                .map(|p| (format!("node pool `{}`", p.name.value), &p.vm_size)),
        );
        for (what, size) in sizes {
            check_vm_size(platform, &what, size, diags);
        }
    }
}

fn check_vm_size(
    platform: &crate::stdlib::Platform,
    what: &str,
    size: &Spanned<String>,
    diags: &mut Diagnostics,
) {
    if platform.vm_size(&size.value).is_some() {
        return;
    }
    let names = platform.vm_sizes.iter().map(|s| s.name.as_str());
    let help = match did_you_mean(&size.value, names) {
        Some(best) => format!("did you mean \"{best}\"?"),
        None => {
            let all: Vec<&str> = platform.vm_sizes.iter().map(|s| s.name.as_str()).collect();
            format!("AksHci offers {}", all.join(", "))
        }
    };
    diags.push(
        Diagnostic::new(
            &codes::UNKNOWN_VM_SIZE,
            size.span,
            format!("AksHci offers no VM size `{}` (for {what})", size.value),
        )
        .label("unknown VM size")
        .help(help),
    );
}

/// What a flannel cluster cannot do (the capability table in `docs/language.md`:
/// no network policies, no IPv6, no pod-to-VM traffic on the cluster's own network),
/// and IPv6 pod networking, which the PowerShell-deployed platform does not run.
pub fn check_capabilities(model: &Model, diags: &mut Diagnostics) {
    for cluster in &model.clusters {
        let flannel = cluster.plugin.value == Plugin::Flannel;
        if cluster.ip_family.value != IpFamily::Ipv4 {
            let family = match cluster.ip_family.value {
                IpFamily::Ipv6 => "IPv6",
                _ => "dual-stack",
            };
            let diag = if flannel {
                Diagnostic::new(
                    &codes::FLANNEL_IPV6,
                    cluster.ip_family.span,
                    format!(
                        "flannel cluster `{}` cannot run {family} networking",
                        cluster.name.value
                    ),
                )
                .label(format!("{family} on flannel"))
                .related(cluster.plugin.span, "flannel: IPv4 only (capability table)")
            } else {
                Diagnostic::new(
                    &codes::IPV6_UNSUPPORTED,
                    cluster.ip_family.span,
                    format!("cluster `{}` asks for {family} networking, which AKS on Windows Server does not deploy", cluster.name.value),
                )
                .label(family)
            };
            diags.push(diag);
        }
        if !flannel {
            continue;
        }
        for policy in model
            .policies
            .iter()
            .filter(|p| p.cluster.value == cluster.name.value)
        {
            diags.push(
                Diagnostic::new(
                    &codes::FLANNEL_POLICY,
                    policy.name.span,
                    format!("policy `{}` applies to flannel cluster `{}`, which enforces no network policies", policy.name.value, cluster.name.value),
                )
                .label("would be ignored")
                .related(cluster.plugin.span, "flannel: network policies \"no\" (capability table)"),
            );
        }
        let prefix = model
            .networks
            .iter()
            .find(|n| n.name.value == cluster.network.value)
            .and_then(|n| n.prefix.as_ref());
        let Some(prefix) = prefix else {
            continue;
        };
        for workload in model
            .workloads
            .iter()
            .filter(|w| w.cluster.value == cluster.name.value)
        {
            for target in &workload.reaches {
                let inside = prefix.value.contains(&target.value.network())
                    && prefix.value.contains(&target.value.broadcast());
                let overlaps = inside || target.value.contains(&prefix.value.network());
                if overlaps {
                    // An address alone is shown as written, without "/32".
                    let shown = if target.value.prefix_len() == target.value.max_prefix_len() {
                        target.value.addr().to_string()
                    } else {
                        target.value.to_string()
                    };
                    let relation = if inside {
                        format!("on network `{}`", cluster.network.value)
                    } else {
                        format!("which takes in network `{}`", cluster.network.value)
                    };
                    diags.push(
                        Diagnostic::new(
                            &codes::FLANNEL_SAME_NETWORK_VM,
                            target.span,
                            format!(
                                "workload `{}` must reach {shown}, {relation} of its flannel cluster `{}`",
                                workload.name.value, cluster.name.value
                            ),
                        )
                        .label("on the cluster's own network")
                        .related(prefix.span, "the cluster's network")
                        .related(cluster.plugin.span, "flannel: pod to VM on the same network \"no\" (capability table)"),
                    );
                }
            }
        }
    }
}

/// The network plugin of a deployed cluster (recorded in `trellis.lock`) cannot
/// change, unless the cluster is marked `recreate #true`.
pub fn check_plugin_changes(model: &Model, lock: &crate::lock::Lock, diags: &mut Diagnostics) {
    for cluster in &model.clusters {
        let Some(locked) = lock.plugins.get(&cluster.name.value) else {
            continue;
        };
        if locked.plugin == cluster.plugin.value || cluster.recreate {
            continue;
        }
        let name = |p: Plugin| p.as_str();
        diags.push(
            Diagnostic::new(
                &codes::PLUGIN_CHANGED,
                cluster.plugin.span,
                format!(
                    "cluster `{}` was deployed with {}, and a network plugin cannot change after deployment",
                    cluster.name.value,
                    name(locked.plugin)
                ),
            )
            .label(if cluster.plugin.span == cluster.name.span {
                format!("now {} (the default)", name(cluster.plugin.value))
            } else {
                format!("now {}", name(cluster.plugin.value))
            })
            .related(locked.span, format!("deployed with {} (trellis.lock)", name(locked.plugin))),
        );
    }
}
