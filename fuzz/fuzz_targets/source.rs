//! Arbitrary bytes as a one-file project: load, parse, lower, check, allocate and
//! emit; render every diagnostic; format. Nothing may panic, hang or grow without
//! bound (libFuzzer's -timeout and -rss_limit_mb enforce the last two). The fast KDL
//! path (`trellis::parse::fast`) must agree with the kdl crate on every text it
//! accepts (differential fuzzing).
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
        // The fast KDL path agrees with the kdl crate on whatever it accepts.
        if let Some(fast) = trellis::parse::fast::parse(text) {
            let slow = kdl::KdlDocument::parse_v2(text);
            let Ok(slow) = slow else {
                panic!("the fast path accepts what kdl rejects: {text:?}");
            };
            if let Err(diff) = trellis::parse::fast::same_document(&fast, &slow) {
                panic!("fast and kdl differ: {diff}: {text:?}");
            }
            let tree = trellis::parse::fast::parse_tree(text, 0);
            let slow_tree = trellis::parse::tree::Doc::from_kdl(&slow);
            assert!(
                tree.as_ref() == Some(&slow_tree),
                "fast and kdl trees differ: {text:?}"
            );
        }
    }
});
