//! Valid-looking projects (no hostile values), so that most of them check clean and
//! reach the allocator, every emitter and the reachability engine; a clean project's
//! outputs must parse back and be identical across two compilations, and the
//! bundle layout must hold the same documents.
#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let mut u = Unstructured::new(bytes);
    let Ok(project) = trellis_fuzz::Generator::new(&mut u, false).project(30) else {
        return;
    };
    let files = [("project.kdl".to_string(), project.text())];
    let first = trellis_fuzz::compile_and_check(&files);
    let second = trellis_fuzz::compile_and_check(&files);
    assert_eq!(first, second, "two compilations of one project differ");
    trellis_fuzz::check_bundle(&files, &first.0);
});
