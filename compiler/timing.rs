//! Wall time per stage, on standard error, when `TRELLIS_TIMINGS` is set (as
//! `rustc -Z time-passes`): for finding where a large build spends its time
//! (`docs/performance.md`). Off by default; when off, a stage costs one load.

use std::sync::OnceLock;
use std::time::Instant;

fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("TRELLIS_TIMINGS").is_some_and(|v| !v.is_empty()))
}

/// Runs `f`; when timings are on, prints how long it took under `stage`.
pub fn stage<R>(stage: &str, f: impl FnOnce() -> R) -> R {
    if !enabled() {
        return f();
    }
    let start = Instant::now();
    let result = f();
    eprintln!(
        "trellis: {stage:<16} {:>8.1} ms",
        start.elapsed().as_secs_f64() * 1000.0
    );
    result
}
