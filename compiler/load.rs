//! Loading a project: a folder (every `*.kdl` below it) or a single file, into
//! `Sources`. This is the only module that reads input files.
//!
//! Files are sorted by their path relative to the project root, so the same folder
//! always gives the same `FileId`s whatever order the file system lists it in.
//! Hidden files and folders (a name starting with `.`), `target/` and the build
//! output folder are skipped.
//!
//! A file that is not UTF-8 or is too large still gets a `FileId` (with lossy or empty
//! text) and a diagnostic; only I/O failures are errors of this module (exit code 2).

use std::fmt;
use std::path::{Path, PathBuf};

use crate::diag::{codes, Diagnostic, Diagnostics};
use crate::source::{FileId, Sources, Span};

/// Files larger than this are refused with TR0104.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// An I/O failure: the path does not exist, a folder cannot be listed, a file cannot
/// be read. Not a problem of the input's content.
#[derive(Debug)]
pub struct LoadError {
    pub path: PathBuf,
    pub message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

impl std::error::Error for LoadError {}

/// A loaded project: its root folder, its files and the diagnostics found while
/// reading them.
#[derive(Debug)]
pub struct Project {
    pub root: PathBuf,
    pub sources: Sources,
    pub diagnostics: Diagnostics,
}

/// `file` relative to `root`, with `/` between components whatever the platform:
/// the stable name of a file in diagnostics and snapshots.
pub fn relative_path(root: &Path, file: &Path) -> String {
    file.strip_prefix(root)
        .unwrap_or(file)
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// Loads a folder or a single `.kdl` file. Folders in `skip` (the output folder) are
/// not entered.
pub fn load(path: &Path, skip: &[PathBuf]) -> Result<Project, LoadError> {
    let meta = std::fs::metadata(path).map_err(|e| LoadError {
        path: path.to_path_buf(),
        message: io_message(&e),
    })?;
    let mut sources = Sources::new();
    let mut diagnostics = Diagnostics::new();
    if meta.is_file() {
        let display = path.to_string_lossy().replace('\\', "/");
        read_into(path, display, &mut sources, &mut diagnostics)?;
        let root = path.parent().map(Path::to_path_buf).unwrap_or_default();
        read_lock(&root, &mut sources, &mut diagnostics)?;
        return Ok(Project {
            root,
            sources,
            diagnostics,
        });
    }
    let skip: Vec<PathBuf> = skip
        .iter()
        .filter_map(|p| std::fs::canonicalize(p).ok())
        .collect();
    let mut files = Vec::new();
    let walker = walkdir::WalkDir::new(path)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|entry| {
            if entry.depth() == 0 {
                return true;
            }
            let name = entry.file_name().to_string_lossy();
            if name.starts_with('.') {
                return false;
            }
            if entry.file_type().is_dir() {
                if name == "target" {
                    return false;
                }
                if let Ok(canon) = std::fs::canonicalize(entry.path()) {
                    if skip.contains(&canon) {
                        return false;
                    }
                }
            }
            true
        });
    for entry in walker {
        let entry = entry.map_err(|e| LoadError {
            path: e
                .path()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| path.into()),
            message: e
                .io_error()
                .map(io_message)
                .unwrap_or_else(|| e.to_string()),
        })?;
        if !entry.file_type().is_file() || entry.path().extension() != Some("kdl".as_ref()) {
            continue;
        }
        let rel = relative_path(path, entry.path());
        files.push((rel, entry.path().to_path_buf()));
    }
    files.sort();
    // Read one share of the files per core; added in order, and the first file
    // that cannot be read (in order) is the error, as when read one by one.
    let read = crate::par::map_shares(&files, |share| {
        share
            .iter()
            .map(|(_, full)| read_file(full))
            .collect::<Vec<_>>()
    });
    for ((rel, _), contents) in files.into_iter().zip(read.into_iter().flatten()) {
        add_read(contents?, rel, &mut sources, &mut diagnostics);
    }
    read_lock(path, &mut sources, &mut diagnostics)?;
    Ok(Project {
        root: path.to_path_buf(),
        sources,
        diagnostics,
    })
}

/// Reads `ROOT/trellis.lock` when it exists, as the project's lock file.
fn read_lock(
    root: &Path,
    sources: &mut Sources,
    diagnostics: &mut Diagnostics,
) -> Result<(), LoadError> {
    let path = root.join(crate::lock::LOCK_FILE);
    if !path.is_file() {
        return Ok(());
    }
    let io_err = |e: std::io::Error| LoadError {
        path: path.clone(),
        message: io_message(&e),
    };
    let len = std::fs::metadata(&path).map_err(io_err)?.len();
    let bytes = if len > MAX_FILE_BYTES {
        Vec::new()
    } else {
        std::fs::read(&path).map_err(io_err)?
    };
    let text = String::from_utf8(bytes);
    let valid = text.is_ok() && len <= MAX_FILE_BYTES;
    let id = sources.add_lock(crate::lock::LOCK_FILE, text.unwrap_or_default());
    if !valid {
        diagnostics.push(
            Diagnostic::new(
                &codes::MALFORMED_LOCK,
                Span::new(id, 0, 0),
                "trellis.lock is not a UTF-8 text file of at most 16 MiB".to_string(),
            )
            .label("this file"),
        );
    }
    Ok(())
}

fn read_into(
    path: &Path,
    display: String,
    sources: &mut Sources,
    diagnostics: &mut Diagnostics,
) -> Result<FileId, LoadError> {
    Ok(add_read(read_file(path)?, display, sources, diagnostics))
}

/// A source file's contents, or its size when it is too large to read.
enum Contents {
    Bytes(Vec<u8>),
    TooLarge(u64),
}

fn read_file(path: &Path) -> Result<Contents, LoadError> {
    let io_err = |e: std::io::Error| LoadError {
        path: path.to_path_buf(),
        message: io_message(&e),
    };
    let len = std::fs::metadata(path).map_err(io_err)?.len();
    if len > MAX_FILE_BYTES {
        return Ok(Contents::TooLarge(len));
    }
    std::fs::read(path).map(Contents::Bytes).map_err(io_err)
}

/// Adds what [`read_file`] read to `sources`: a file too large becomes an empty
/// file and TR0104.
fn add_read(
    contents: Contents,
    display: String,
    sources: &mut Sources,
    diagnostics: &mut Diagnostics,
) -> FileId {
    match contents {
        Contents::Bytes(bytes) => add_bytes(sources, diagnostics, display, bytes),
        Contents::TooLarge(len) => {
            let id = sources.add(display, String::new());
            diagnostics.push(
                Diagnostic::new(
                    &codes::FILE_TOO_LARGE,
                    Span::new(id, 0, 0),
                    format!(
                        "file is {len} bytes, more than the {MAX_FILE_BYTES} bytes trellis reads"
                    ),
                )
                .label("this file"),
            );
            id
        }
    }
}

/// Adds a file's bytes to `sources`, reporting TR0102 when they are not UTF-8. Used by
/// the loader and by tests and tools that hold bytes in memory.
pub fn add_bytes(
    sources: &mut Sources,
    diagnostics: &mut Diagnostics,
    display: String,
    bytes: Vec<u8>,
) -> FileId {
    match String::from_utf8(bytes) {
        Ok(text) => sources.add(display, text),
        Err(err) => {
            let valid_up_to = err.utf8_error().valid_up_to();
            let lossy = String::from_utf8_lossy(err.as_bytes()).into_owned();
            let id = sources.add(display, lossy);
            diagnostics.push(
                Diagnostic::new(
                    &codes::INVALID_UTF8,
                    Span::new(id, valid_up_to, valid_up_to + 1),
                    format!("file is not valid UTF-8 (first bad byte at offset {valid_up_to})"),
                )
                .label("invalid byte"),
            );
            id
        }
    }
}

fn io_message(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or folder".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    }
}
