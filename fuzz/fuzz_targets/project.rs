//! Structurally valid, semantically random projects, with hostile values mixed in:
//! every checker sees them. Checks the properties of `compile_and_check`, that the
//! result does not depend on how the declarations are split into files or in which
//! order the files come, and that formatting keeps the meaning.
#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let mut u = Unstructured::new(bytes);
    let Ok(project) = trellis_fuzz::Generator::new(&mut u, true).project(40) else {
        return;
    };
    let whole = project.text();
    let one = trellis_fuzz::compile_and_check(&[("project.kdl".to_string(), whole.clone())]);
    // The same declarations, one file each, the files named in reverse order.
    let n = project.declarations.len();
    let split: Vec<(String, String)> = project
        .declarations
        .iter()
        .enumerate()
        .map(|(i, d)| (format!("f{:03}.kdl", n - i), d.clone()))
        .collect();
    let many = trellis_fuzz::compile_and_check(&split);
    assert_eq!(one, many, "the outputs depend on the file layout:\n{whole}");
    trellis_fuzz::check_format(&whole);
});
