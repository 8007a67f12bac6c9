//! Plugin and platform limits of AKS on Windows Server (TR07xx).

use crate::diag::{codes, Diagnostic, Diagnostics};
use crate::model::{Model, Plugin};
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
