//! The project the server serves: the files on disk under the workspace root, the
//! editor's unsaved buffers over them, and the last compilation.
//!
//! Analysis is the compiler's own pipeline (`load`, `parse`, `lower`,
//! `compile_lowered`), with one addition: the parse and the lowering of each file are
//! cached, keyed by its path and exact text (and, for the lowering, its `FileId`), so
//! after an edit only the edited file is parsed and lowered again. Lowering never
//! looks beyond its file, so the project's model is the per-file models appended in
//! file order (`Model::extend_from`). A large file is parsed and lowered in chunks
//! of whole top-level nodes (`chunks.rs`), so an edit there redoes one chunk's parse
//! (and the lowering of the chunks whose offset it moved). Checking and allocation run over the whole
//! project each time; emitting is skipped, since the server needs only the
//! diagnostics, the model and the allocation. Figures: `docs/performance.md`.
//!
//! Invariant: the diagnostics of an analysis are exactly those `trellis check` prints
//! for the same texts: the same stages run on the same `Sources`, in the same order.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use kdl::KdlDocument;

use super::position::LineIndex;
use crate::diag::{Diagnostic, Diagnostics};
use crate::parse::chunks;
use crate::parse::{self, ParsedFile};

use crate::model::Model;
use crate::source::{FileId, SourceKind, Sources};
use crate::{compile_lowered, load, lock, lower, Compilation, Options};

/// A file as the loader read it from disk.
#[derive(Debug)]
struct DiskFile {
    text: String,
    kind: SourceKind,
    /// The loader's diagnostics for it (not UTF-8, too large), spans in file 0.
    diags: Vec<Diagnostic>,
}

/// The cached parse of one file's text.
#[derive(Debug)]
struct CachedParse {
    text: String,
    doc: Option<KdlDocument>,
    /// The parser's diagnostics, spans in `file`.
    diags: Vec<Diagnostic>,
    file: FileId,
    lines: LineIndex,
    /// The file lowered alone (model and diagnostics), while its `FileId` is `file`.
    lowered: Option<(Model, Vec<Diagnostic>)>,
    /// For a large file parsed in chunks (`chunks.rs`): the chunks, in order; `doc`
    /// is then `None` and `lowered` unused.
    chunks: Vec<Chunk>,
}

/// A chunk of a large file: its text, its document (spans relative to the chunk),
/// and its lowering while it starts at `base` in file `FileId`.
#[derive(Debug)]
struct Chunk {
    text: String,
    doc: KdlDocument,
    lowered: Option<(usize, FileId, Model, Vec<Diagnostic>)>,
}

/// Parses a large file chunk by chunk, reusing the chunks of `old` whose text is
/// unchanged. `None` when the file is not cut or a chunk does not parse: then the
/// whole file must be parsed.
fn parse_chunks(id: FileId, text: &str, old: Vec<Chunk>) -> Option<Vec<Chunk>> {
    let cuts = chunks::cuts(text)?;
    let mut old: HashMap<String, Chunk> = old.into_iter().map(|c| (c.text.clone(), c)).collect();
    let mut out = Vec::with_capacity(cuts.len());
    for (k, &start) in cuts.iter().enumerate() {
        let end = cuts.get(k + 1).copied().unwrap_or(text.len());
        let piece = text.get(start..end)?;
        if let Some(chunk) = old.remove(piece) {
            out.push(chunk);
            continue;
        }
        let mut scratch = Diagnostics::new();
        let doc = parse::parse_file(id, piece, &mut scratch)?;
        out.push(Chunk {
            text: piece.to_string(),
            doc,
            lowered: None,
        });
    }
    Some(out)
}

/// One analysis of the whole project.
#[derive(Debug)]
pub struct Analysis {
    pub sources: Sources,
    pub compilation: Compilation,
    /// The line table of each file, by `FileId`.
    pub lines: Vec<LineIndex>,
}

impl Analysis {
    pub fn file_id(&self, path: &str) -> Option<FileId> {
        self.sources
            .iter()
            .find(|(_, f)| f.path == path)
            .map(|(id, _)| id)
    }

    pub fn lines(&self, file: FileId) -> Option<&LineIndex> {
        self.lines.get(file.0 as usize)
    }
}

#[derive(Debug)]
pub struct Workspace {
    pub root: PathBuf,
    disk: BTreeMap<String, DiskFile>,
    /// Unsaved editor buffers, by project path; they override `disk`.
    overlays: BTreeMap<String, String>,
    cache: HashMap<String, CachedParse>,
    /// A message about the last failure to read the root, if any.
    pub load_error: Option<String>,
}

impl Workspace {
    pub fn new(root: PathBuf) -> Workspace {
        let mut ws = Workspace {
            root,
            disk: BTreeMap::new(),
            overlays: BTreeMap::new(),
            cache: HashMap::new(),
            load_error: None,
        };
        ws.reload_disk();
        ws
    }

    /// Reads the project folder again, as `trellis check ROOT` does.
    pub fn reload_disk(&mut self) {
        self.disk.clear();
        let project = match load::load(&self.root, &[]) {
            Ok(p) => p,
            Err(e) => {
                self.load_error = Some(e.to_string());
                return;
            }
        };
        self.load_error = None;
        let mut diags: HashMap<FileId, Vec<Diagnostic>> = HashMap::new();
        for d in project.diagnostics.iter() {
            diags.entry(d.span.file).or_default().push(d.clone());
        }
        for (id, file) in project.sources.iter() {
            self.disk.insert(
                file.path.clone(),
                DiskFile {
                    text: file.text.clone(),
                    kind: file.kind,
                    diags: diags
                        .remove(&id)
                        .unwrap_or_default()
                        .iter()
                        .map(|d| respan(d, id, FileId(0)))
                        .collect(),
                },
            );
        }
    }

    /// The project path (relative, `/`-separated) of a file, when it is a source of
    /// this project: a `.kdl` file below the root, or the root's `trellis.lock`.
    pub fn project_path(&self, path: &Path) -> Option<String> {
        let rel = path.strip_prefix(&self.root).ok()?;
        let parts: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let joined = parts.join("/");
        if joined == lock::LOCK_FILE {
            return Some(joined);
        }
        let hidden = parts
            .iter()
            .enumerate()
            .any(|(i, p)| p.starts_with('.') || (p == "target" && i + 1 < parts.len()));
        (joined.ends_with(".kdl") && !hidden).then_some(joined)
    }

    pub fn full_path(&self, project_path: &str) -> PathBuf {
        self.root.join(project_path)
    }

    pub fn set_overlay(&mut self, path: String, text: String) {
        self.overlays.insert(path, text);
    }

    pub fn overlay(&self, path: &str) -> Option<&String> {
        self.overlays.get(path)
    }

    pub fn overlay_mut(&mut self, path: &str) -> Option<&mut String> {
        self.overlays.get_mut(path)
    }

    pub fn remove_overlay(&mut self, path: &str) {
        self.overlays.remove(path);
    }

    /// The current text of a project file: the editor's buffer, else the disk's.
    pub fn text(&self, path: &str) -> Option<&str> {
        self.overlays
            .get(path)
            .or_else(|| self.disk.get(path).map(|d| &d.text))
            .map(String::as_str)
    }

    /// Forgets every cached parse and lowering.
    pub fn clear_cache(&mut self) {
        self.cache.clear();
    }

    /// Compiles the project as it stands, parsing only the files whose text changed
    /// since the last analysis.
    pub fn analyze(&mut self) -> Analysis {
        let mut sources = Sources::new();
        let mut diags = Diagnostics::new();
        let mut skip = Vec::new();
        let mut kdl_paths: Vec<&String> = self
            .disk
            .iter()
            .filter(|(_, d)| d.kind == SourceKind::Kdl)
            .map(|(p, _)| p)
            .chain(self.overlays.keys().filter(|p| *p != lock::LOCK_FILE))
            .collect();
        kdl_paths.sort();
        kdl_paths.dedup();
        for path in kdl_paths {
            let disk = self.disk.get(path);
            let (text, load_diags) = match (self.overlays.get(path), disk) {
                (Some(text), _) => (text, &[][..]),
                (None, Some(d)) => (&d.text, d.diags.as_slice()),
                (None, None) => continue,
            };
            let id = sources.add(path.clone(), text.clone());
            if !load_diags.is_empty() {
                skip.push(id);
            }
            for d in load_diags {
                diags.push(respan(d, FileId(0), id));
            }
        }
        let lock_text = self
            .overlays
            .get(lock::LOCK_FILE)
            .map(|t| (t, &[][..]))
            .or_else(|| {
                self.disk
                    .get(lock::LOCK_FILE)
                    .map(|d| (&d.text, d.diags.as_slice()))
            });
        if let Some((text, load_diags)) = lock_text {
            let id = sources.add_lock(lock::LOCK_FILE, text.clone());
            for d in load_diags {
                diags.push(respan(d, FileId(0), id));
            }
        }

        // Parse and lower what changed; the model is the cached per-file models
        // appended in file order.
        let mut model = Model::default();
        let mut all_parsed = true;
        let mut lines = Vec::with_capacity(sources.len());
        let mut live = std::collections::HashSet::new();
        for (id, file) in sources.iter() {
            live.insert(file.path.clone());
            let fresh = match self.cache.get(&file.path) {
                Some(c) => c.text != file.text,
                None => true,
            };
            if fresh {
                let mut file_diags = Diagnostics::new();
                let parsable = file.kind == SourceKind::Kdl && !skip.contains(&id);
                let old = self
                    .cache
                    .remove(&file.path)
                    .map(|c| c.chunks)
                    .unwrap_or_default();
                let chunks = parsable
                    .then(|| parse_chunks(id, &file.text, old))
                    .flatten()
                    .unwrap_or_default();
                let doc = if parsable && chunks.is_empty() {
                    parse::parse_file(id, &file.text, &mut file_diags)
                } else {
                    None
                };
                self.cache.insert(
                    file.path.clone(),
                    CachedParse {
                        text: file.text.clone(),
                        doc,
                        diags: file_diags.into_sorted(),
                        file: id,
                        lines: LineIndex::new(&file.text),
                        lowered: None,
                        chunks,
                    },
                );
            }
            let Some(cached) = self.cache.get_mut(&file.path) else {
                lines.push(LineIndex::new(&file.text));
                continue;
            };
            if cached.file != id {
                // Files were added or removed before this one: spans must be redone.
                for d in &mut cached.diags {
                    *d = respan(d, cached.file, id);
                }
                cached.file = id;
                cached.lowered = None;
            }
            for d in &cached.diags {
                diags.push(d.clone());
            }
            lines.push(cached.lines.clone());
            if file.kind != SourceKind::Kdl {
                continue;
            }
            if !cached.chunks.is_empty() {
                let mut base = 0;
                for chunk in &mut cached.chunks {
                    let current = chunk
                        .lowered
                        .as_ref()
                        .is_some_and(|(b, f, _, _)| *b == base && *f == id);
                    if !current {
                        let mut doc = chunk.doc.clone();
                        chunks::shift(&mut doc, base);
                        let mut lower_diags = Diagnostics::new();
                        let m = lower::lower(
                            &[ParsedFile { file: id, doc }],
                            &sources,
                            &mut lower_diags,
                        );
                        chunk.lowered = Some((base, id, m, lower_diags.into_sorted()));
                    }
                    if let Some((_, _, m, lower_diags)) = &chunk.lowered {
                        model.extend_from(m);
                        for d in lower_diags {
                            diags.push(d.clone());
                        }
                    }
                    base += chunk.text.len();
                }
                continue;
            }
            let Some(doc) = cached.doc.take() else {
                all_parsed = false;
                continue;
            };
            let parsed = [ParsedFile { file: id, doc }];
            if cached.lowered.is_none() {
                let mut lower_diags = Diagnostics::new();
                let m = lower::lower(&parsed, &sources, &mut lower_diags);
                cached.lowered = Some((m, lower_diags.into_sorted()));
            }
            let [ParsedFile { doc, .. }] = parsed;
            cached.doc = Some(doc);
            if let Some((m, lower_diags)) = &cached.lowered {
                model.extend_from(m);
                for d in lower_diags {
                    diags.push(d.clone());
                }
            }
        }
        self.cache.retain(|path, _| live.contains(path));

        // The server needs the diagnostics, the model and the allocation, not the
        // generated files.
        let options = Options {
            skip_emit: true,
            ..Options::default()
        };
        let compilation = compile_lowered(&sources, model, all_parsed, diags, &options);
        Analysis {
            sources,
            compilation,
            lines,
        }
    }
}

/// `d` with every span in file `from` moved to file `to`.
fn respan(d: &Diagnostic, from: FileId, to: FileId) -> Diagnostic {
    let mut d = d.clone();
    if d.span.file == from {
        d.span.file = to;
    }
    for r in &mut d.related {
        if r.span.file == from {
            r.span.file = to;
        }
    }
    d
}
