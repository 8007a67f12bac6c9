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
use crate::model::Model;

/// Runs every check on the model; `lock` is the previous build's `trellis.lock`.
pub fn check(model: &Model, lock: Option<&Lock>, diags: &mut Diagnostics) {
    refs::check_duplicates(model, diags);
    refs::check_references(model, diags);
    platform::check_plugins(model, diags);
    platform::check_vm_sizes(model, diags);
    platform::check_capabilities(model, diags);
    addresses::check_networks(model, diags);
    addresses::check_cluster_cidrs(model, diags);
    services::check_service_addresses(model, diags);
    services::check_node_ports(model, diags);
    services::check_shared_network_hazard(model, diags);
    services::check_load_balancer_protocols(model, diags);
    addresses::check_node_addresses(model, diags);
    policy::check_policies(model, diags);
    policy::check_policy_selectors(model, diags);
    policy::check_node_peers(model, diags);
    workloads::check_services(model, diags);
    workloads::check_ingresses(model, diags);
    workloads::check_workload_os(model, diags);
    if let Some(lock) = lock {
        platform::check_plugin_changes(model, lock, diags);
    }
}
