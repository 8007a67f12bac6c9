//! Checks over the whole model: one file per concern. Each check reads the model and
//! reports diagnostics; none changes the model or formats output.
//!
//! - `refs.rs`: duplicate declarations and unresolved references (TR03xx).
//! - `addresses.rs`: the network plan: settings, ranges, overlaps, capacity (TR04xx).
//! - `services.rs`: pinned addresses, internal load balancers, node ports, the
//!   shared-network hazard (TR0408–TR0411, TR0501).
//! - `workloads.rs`: service selectors and target ports, duplicate ports, ingress
//!   routes and TLS hosts, workload OS against node pools (TR0502–TR0508, TR0708).
//! - `policy.rs`: what output expresses a policy, shadowed rules, selectors that
//!   match nothing, unknown named ports (TR06xx).
//! - `platform.rs`: plugin and platform limits (TR07xx).
//!
//! Checks run only on what lowered completely; a check that needs a reference
//! resolved skips objects whose references do not resolve (`refs.rs` reports them).

pub mod addresses;
pub mod expect;
pub mod interval;
mod platform;
pub mod policy;
pub mod refs;
pub mod services;
pub mod workloads;

use crate::diag::Diagnostics;
use crate::lock::Lock;
use crate::model::index::WorkloadIndex;
use crate::model::Model;

/// Runs every check on the model; `lock` is the previous build's `trellis.lock`.
pub fn check(model: &Model, lock: Option<&Lock>, diags: &mut Diagnostics) {
    // The passes read only the model, so the two halves run at once (of about the
    // same cost at 10,000 services); their reports are appended in pass order, as if
    // they had run one after the other, and sorted at the end.
    let (first, second) = crate::par::join(
        || {
            let mut diags = Diagnostics::new();
            refs::check_duplicates(model, &mut diags);
            refs::check_references(model, &mut diags);
            platform::check_plugins(model, &mut diags);
            platform::check_vm_sizes(model, &mut diags);
            platform::check_capabilities(model, &mut diags);
            addresses::check_networks(model, &mut diags);
            addresses::check_cluster_cidrs(model, &mut diags);
            services::check_node_ports(model, &mut diags);
            services::check_load_balancer_protocols(model, &mut diags);
            addresses::check_node_addresses(model, &mut diags);
            diags
        },
        || {
            let mut diags = Diagnostics::new();
            // The workloads by label, for the selector checks of policies and services.
            let index = WorkloadIndex::new(model);
            policy::check_policies(model, &mut diags);
            policy::check_policy_selectors(model, &index, &mut diags);
            policy::check_node_peers(model, &mut diags);
            workloads::check_services(model, &index, &mut diags);
            workloads::check_ingresses(model, &mut diags);
            workloads::check_workload_os(model, &mut diags);
            services::check_service_addresses(model, &mut diags);
            services::check_shared_network_hazard(model, &mut diags);
            if let Some(lock) = lock {
                platform::check_plugin_changes(model, lock, &mut diags);
            }
            diags
        },
    );
    diags.extend(first);
    diags.extend(second);
}
