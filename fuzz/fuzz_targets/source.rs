//! Arbitrary bytes as a one-file project: load, parse, lower, check, allocate and
//! emit; render every diagnostic; format. Nothing may panic, hang or grow without
//! bound (libFuzzer's -timeout and -rss_limit_mb enforce the last two).
#![no_main]

use libfuzzer_sys::fuzz_target;
use trellis::diag::render::{render_json, render_text, TextStyle};
use trellis::diag::Diagnostics;
use trellis::source::Sources;

fuzz_target!(|bytes: &[u8]| {
    let mut sources = Sources::new();
    let mut diags = Diagnostics::new();
    trellis::load::add_bytes(&mut sources, &mut diags, "input.kdl".into(), bytes.to_vec());
    let compilation = trellis::compile(&sources, diags, &trellis::Options::default());
    let _ = render_text(&compilation.diagnostics, &sources, TextStyle::plain());
    let _ = render_json(&compilation.diagnostics, &sources);
    if let Ok(text) = std::str::from_utf8(bytes) {
        trellis_fuzz::check_format(text);
    }
});
