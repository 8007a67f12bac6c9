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
        "trellis: {stage:<16} {:>8.1} ms {:>6} MB resident",
        start.elapsed().as_secs_f64() * 1000.0,
        resident_mb().map_or_else(|| "?".to_owned(), |mb| mb.to_string())
    );
    result
}

/// The process's resident memory in MB when the stage ended (Linux `/proc`; `None`
/// elsewhere): where the peak comes from, beside where the time goes.
fn resident_mb() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096 / (1024 * 1024))
}
