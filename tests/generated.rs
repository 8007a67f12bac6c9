//! The fuzz targets' project generator (`fuzz/src/lib.rs`), run on fixed seeds in the
//! ordinary test suite: generated projects, clean and with errors, keep every
//! property the fuzz targets check (outputs parse back, formatting keeps meaning).
//! The coverage-guided runs are in `tests/run` and `docs/testing.md`.

#[path = "../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod generator;
