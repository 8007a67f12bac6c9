//! Checks over the whole model: one file per concern. Each check reads the model and
//! reports diagnostics; none changes the model or formats output.
//!
//! - `refs.rs`: duplicate declarations and unresolved references (TR03xx).
//! - `platform.rs`: plugin and platform limits (TR07xx).

mod platform;
mod refs;

use crate::diag::Diagnostics;
use crate::model::Model;

/// Runs every check on the model.
pub fn check(model: &Model, diags: &mut Diagnostics) {
    refs::check_duplicates(model, diags);
    refs::check_references(model, diags);
    platform::check_plugins(model, diags);
    platform::check_vm_sizes(model, diags);
}
