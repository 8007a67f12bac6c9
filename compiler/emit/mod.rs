//! Emitters: the checked model and its allocation, turned into the files a
//! deployment needs. One module per target, one entry point each:
//!
//! - `kubernetes.rs`: Namespaces, Deployments, Services, Ingresses and a
//!   kustomization per cluster (`<cluster>/kubernetes/...`).
//! - `policy.rs`: each policy as a Kubernetes NetworkPolicy when that expresses it
//!   exactly, else a Calico NetworkPolicy or GlobalNetworkPolicy
//!   (`<cluster>/calico/...`).
//! - `haproxy.rs`: `haproxy.cfg` and `keepalived-<i>.conf` for each cluster's
//!   load-balancer VMs (`<cluster>/haproxy/...`), from `stdlib/templates/`.
//! - `powershell.rs`: `deploy.ps1` and `remove.ps1` for the AksHci module.
//! - `escape.rs`: quoting for HAProxy and keepalived; `yaml.rs`: YAML output.
//!
//! Invariant: emitters read only `Model` and `Allocation`, run only when the project
//! has no errors, never re-validate and never report diagnostics. Every path they
//! produce is built from validated names (DNS labels), so no user string can leave
//! the output folder. Artifacts are sorted by path; no hash-map order reaches
//! output.

pub mod escape;
pub mod haproxy;
pub mod kubernetes;
pub mod policy;
pub mod powershell;
pub mod yaml;

use crate::alloc::Allocation;
use crate::model::Model;

/// One generated file: its path relative to the output folder (forward slashes) and
/// its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    pub path: String,
    pub content: String,
}

/// Every artifact of the project, sorted by path.
pub fn emit_all(model: &Model, alloc: &Allocation) -> Vec<Artifact> {
    let mut artifacts = kubernetes::emit(model, alloc);
    artifacts.extend(policy::emit(model, alloc));
    let kustomizations = kubernetes::kustomizations(&artifacts);
    artifacts.extend(kustomizations);
    artifacts.extend(haproxy::emit(model, alloc));
    let scripts = powershell::emit(model, &artifacts);
    artifacts.extend(scripts);
    artifacts.sort_by(|a, b| a.path.cmp(&b.path));
    artifacts
}
