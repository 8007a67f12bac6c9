//! YAML output: the one place that serialises Kubernetes objects.
//!
//! Uses `serde-saphyr`, which quotes every scalar a YAML 1.1 parser would read as
//! something other than a string (`on`, `yes`, `10:20`, `1_000`, `0x1F`...): the
//! Kubernetes tool chain still parses YAML with 1.1-era rules, so a label value
//! `on` written bare would become a boolean. Keys come out in struct field order
//! (or sorted, for maps), so output is deterministic.

use serde::Serialize;

/// One YAML document for `value`, ending in a newline. Serialising plain data
/// structs cannot fail; if it ever did, the error text is written as a YAML comment
/// so the output is still parseable and the failure is visible.
pub fn to_document<T: Serialize>(value: &T) -> String {
    match serde_saphyr::to_string(value) {
        Ok(mut text) => {
            if !text.ends_with('\n') {
                text.push('\n');
            }
            text
        }
        Err(e) => format!(
            "# trellis: internal error serialising this object: {}\n",
            e.to_string().replace('\n', " ")
        ),
    }
}
