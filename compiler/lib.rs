//! trellis: a compiler for the networking of applications on AKS on Windows Server.
//!
//! ```text
//!  folder/file ──load──▶ Sources ──parse──▶ parse tree per chunk (parse/tree.rs)
//!                                              │ lower (schema shape, typed values)
//!                                              ▼
//!                         Model (+ declarations, every value spanned)
//!                                              │ check (names, references, addresses,
//!                                              ▼        services, platform; trellis.lock)
//!                                         alloc (addresses, node ports) ──▶ trellis.lock
//!                                              │
//!                          diagnostics ──render──▶ terminal text │ JSON
//! ```
//!
//! Address allocation and the emitters (Kubernetes, HAProxy, Calico, PowerShell)
//! come after `check` and read only the model.
//!
//! **Invariant:** no stage fails. Each returns what it built plus diagnostics; later
//! stages skip what failed to lower, so one broken declaration never hides problems
//! elsewhere.
//!
//! **Invariant:** the core is pure. `compile` takes `Sources`; only `load` reads
//! files, and only the CLI writes them.

// Compiler code reports problems; it never unwraps or indexes out of bounds.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

pub mod alloc;
pub mod check;
pub mod diag;
pub mod emit;
pub mod fmt;
pub mod graph;
pub mod graph_svg;
pub mod load;
pub mod lock;
pub mod lower;
pub mod lsp;
pub mod manifests;
pub mod model;
pub mod output;
pub mod par;
pub mod parse;
pub mod reach;
pub mod report;
pub mod source;
pub mod stdlib;
pub mod suggest;
pub mod timing;

use diag::{Diagnostic, Diagnostics, Severity};
use model::Model;
use source::Sources;

/// Options of one compilation.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Report warnings as errors.
    pub deny_warnings: bool,
    /// Stop after the checks and the allocation: no artifacts. For `check`, `plan`,
    /// `report`, the queries and the language server, which write no files;
    /// emitters report no diagnostics, so the diagnostics are the same.
    pub skip_emit: bool,
    /// How the Kubernetes and Calico objects are laid out in files.
    pub layout: emit::Layout,
}

/// The result of compiling a project.
#[derive(Debug)]
pub struct Compilation {
    /// The model; partial when lowering failed somewhere.
    pub model: Model,
    /// The project's `trellis.lock`, as read; `None` after [`compile_into`] with a
    /// sink (a build), which drops it once the allocation has used it, to give its
    /// memory to the emitters.
    pub lock: Option<lock::Lock>,
    /// Every allocated address and port; `None` when the project has errors.
    pub allocation: Option<alloc::Allocation>,
    /// The generated files, sorted by path; empty when the project has errors.
    pub artifacts: Vec<emit::Artifact>,
    /// Every diagnostic, sorted by file, offset and code.
    pub diagnostics: Vec<Diagnostic>,
}

impl Compilation {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Compiles `sources`. `load_diags` are the loader's diagnostics (unreadable files);
/// files they point at are not parsed.
pub fn compile(sources: &Sources, load_diags: Diagnostics, options: &Options) -> Compilation {
    compile_into(sources, load_diags, options, None)
}

/// [`compile`]; with a `sink`, the artifacts go to it a group at a time as they are
/// made ([`emit::emit_each`]; only when the checks found no error) instead of into
/// [`Compilation::artifacts`], which stays empty: `trellis build` writes them as
/// they come.
pub fn compile_into(
    sources: &Sources,
    load_diags: Diagnostics,
    options: &Options,
    sink: Option<&mut dyn FnMut(Vec<emit::Artifact>)>,
) -> Compilation {
    let skip: Vec<source::FileId> = load_diags.iter().map(|d| d.span.file).collect();
    let mut diags = load_diags;
    // Each file is lowered as soon as it is parsed, in the parallel workers, and its
    // document dropped: documents are the largest thing a compilation holds, and
    // lowering is per declaration, so the model pieces concatenated in file order
    // are the model `lower` makes of all files at once.
    // `trellis.lock` is read meanwhile, by the first free core.
    let ((lock, lock_diags), pieces) = timing::stage("parse+lower", || {
        parse::map_files_beside(
            sources,
            &skip,
            &mut diags,
            || {
                timing::stage("lock read", || {
                    let mut diags = Diagnostics::new();
                    (lock::read_from(sources, &mut diags), diags)
                })
            },
            |file, text, diags| parse_and_lower(sources, file, text, diags),
        )
    });
    diags.extend(lock_diags);
    let kdl_files = sources
        .iter()
        .filter(|(_, f)| f.kind == source::SourceKind::Kdl)
        .count();
    let all_parsed = pieces.len() == kdl_files;
    let model = timing::stage("concat", || Model::concat(pieces));
    finish(model, lock, all_parsed, diags, options, sink)
}

/// Parses and lowers one file, a chunk of top-level nodes at a time
/// ([`parse::for_each_tree`]), so that no large document is ever held: lowering is
/// per declaration, so the chunks lowered one after the other into one model make
/// the file's model (the language server lowers the same way). When a chunk does
/// not parse, what the chunks gave is dropped and the whole file is parsed, to
/// report its error.
fn parse_and_lower(
    sources: &Sources,
    file: source::FileId,
    text: &str,
    diags: &mut Diagnostics,
) -> Option<Model> {
    let mut model = Model::default();
    let mut chunk_diags = Diagnostics::new();
    let parsed = parse::for_each_tree(text, |doc| {
        lower::lower_doc(file, &doc, sources, &mut chunk_diags, &mut model);
    });
    if parsed {
        diags.extend(chunk_diags);
        return Some(model);
    }
    let doc = parse::parse_file(file, text, diags)?;
    Some(lower::lower(
        &[parse::ParsedFile { file, doc }],
        sources,
        diags,
    ))
}

/// The rest of `compile` once the files are parsed: `diags` holds the loader's and
/// the parser's diagnostics.
pub fn compile_parsed(
    sources: &Sources,
    parsed: &[parse::ParsedFile],
    mut diags: Diagnostics,
    options: &Options,
) -> Compilation {
    let model = lower::lower(parsed, sources, &mut diags);
    let kdl_files = sources
        .iter()
        .filter(|(_, f)| f.kind == source::SourceKind::Kdl)
        .count();
    compile_lowered(sources, model, parsed.len() == kdl_files, diags, options)
}

/// The rest of `compile` once the files are lowered: `diags` holds the loader's, the
/// parser's and lowering's diagnostics; `all_parsed` says whether every KDL file
/// parsed.
pub fn compile_lowered(
    sources: &Sources,
    model: Model,
    all_parsed: bool,
    mut diags: Diagnostics,
    options: &Options,
) -> Compilation {
    let lock = lock::read_from(sources, &mut diags);
    finish(model, lock, all_parsed, diags, options, None)
}

/// The stages after lowering, once `trellis.lock` is read: check, allocate, emit.
fn finish(
    model: Model,
    lock: Option<lock::Lock>,
    all_parsed: bool,
    mut diags: Diagnostics,
    options: &Options,
    sink: Option<&mut dyn FnMut(Vec<emit::Artifact>)>,
) -> Compilation {
    timing::stage("check", || check::check(&model, lock.as_ref(), &mut diags));
    let allocation = (!diags.has_errors()).then(|| {
        timing::stage("allocate", || {
            alloc::allocate(&model, lock.as_ref(), &mut diags)
        })
    });
    // The previous allocation has served: for a build, its memory goes to the
    // emitters.
    let lock = if sink.is_some() { None } else { lock };
    // Expectations need the node addresses the allocator gives, so they run last.
    if !diags.has_errors() {
        check::expect::check_expectations(&model, allocation.as_ref(), &mut diags);
    }
    let artifacts = match (&allocation, diags.has_errors(), sink) {
        (Some(alloc), false, None) if !options.skip_emit => {
            emit::emit_all(&model, alloc, options.layout)
        }
        (Some(alloc), false, Some(sink)) if !options.skip_emit => {
            emit::emit_each(&model, alloc, options.layout, sink);
            Vec::new()
        }
        _ => Vec::new(),
    };
    let mut diagnostics = diags.into_sorted();
    // A file that did not parse may hold the declarations other files refer to, so
    // its syntax error is the only thing to say about those references.
    if !all_parsed {
        diagnostics.retain(|d| !std::ptr::eq(d.code, &diag::codes::UNRESOLVED_REFERENCE));
    }
    if options.deny_warnings {
        for d in &mut diagnostics {
            d.severity = Severity::Error;
        }
    }
    Compilation {
        model,
        lock,
        allocation,
        artifacts,
        diagnostics,
    }
}

/// Compiles in-memory text as a one-file project, for tests and tools.
pub fn compile_str(path: &str, text: &str) -> (Sources, Compilation) {
    let mut sources = Sources::new();
    sources.add(path, text);
    let compilation = compile(&sources, Diagnostics::new(), &Options::default());
    (sources, compilation)
}
