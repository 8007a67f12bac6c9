//! `trellis fmt`: canonical formatting of trellis sources.

use crate::diag::Diagnostics;
use crate::parse;
use crate::source::FileId;

/// Formats one file's text. Returns `None` (with diagnostics) when it does not parse.
pub fn format_source(file: FileId, text: &str, diags: &mut Diagnostics) -> Option<String> {
    let mut doc = parse::parse_file(file, text, diags)?;
    doc.autoformat();
    Some(doc.to_string())
}
