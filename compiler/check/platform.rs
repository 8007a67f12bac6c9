//! Plugin and platform limits of AKS on Windows Server (TR07xx).

use crate::diag::{codes, Diagnostic, Diagnostics};
use crate::model::{Model, Plugin};

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
