//! Writing a build's artifacts to the output folder, all or nothing.
//!
//! The artifacts go to a fresh temporary folder beside the target
//! (`.NAME.trellis-new`), a group at a time as the build makes them ([`Staging`]);
//! only when every file is written is the previous output moved aside
//! (`.NAME.trellis-old`), the new one renamed into place, and the old one removed.
//! A large file whose previous version holds the same bytes is linked to it rather
//! than written again ([`KEEP_FROM`]). A failure before the swap leaves the previous output untouched; a
//! build killed between the two renames leaves the previous output in
//! `.NAME.trellis-old`, which the next build puts back before it starts. Files of
//! objects that no longer exist disappear with the old folder.
//!
//! The output folder holds a marker file, `.trellis-output`; trellis refuses to
//! replace a non-empty folder without it, so a mistyped `-o` never deletes a folder
//! trellis did not write.
//!
//! Invariant: this module and `load` are the only ones that touch the file system.

use std::fmt;
use std::path::{Component, Path, PathBuf};

use crate::emit::{Artifact, Content};

/// The marker file trellis writes into every output folder.
pub const MARKER: &str = ".trellis-output";

#[derive(Debug)]
pub struct OutputError {
    pub path: PathBuf,
    pub message: String,
}

impl fmt::Display for OutputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

impl std::error::Error for OutputError {}

fn err(path: &Path, message: impl Into<String>) -> OutputError {
    OutputError {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> OutputError + '_ {
    move |e| err(path, e.to_string())
}

/// The sibling folders used for the swap.
fn siblings(dir: &Path) -> Result<(PathBuf, PathBuf), OutputError> {
    let name = dir
        .file_name()
        .ok_or_else(|| err(dir, "the output folder needs a name"))?
        .to_string_lossy()
        .into_owned();
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((
        parent.join(format!(".{name}.trellis-new")),
        parent.join(format!(".{name}.trellis-old")),
    ))
}

/// Writes `artifacts` to `dir`, replacing its previous content atomically as seen
/// from any later build.
pub fn write_output(dir: &Path, artifacts: &[Artifact]) -> Result<(), OutputError> {
    let mut staging = Staging::begin(dir)?;
    staging.write(artifacts)?;
    staging.commit()
}

/// A build's output while it is written: the temporary folder beside the target,
/// filled by [`Staging::write`] as the artifacts are made (so a build never holds
/// all its files in memory), swapped in by [`Staging::commit`]. Dropped without a
/// commit (an error, a failed write), it removes the temporary folder and the
/// previous output stays as it was.
#[derive(Debug)]
pub struct Staging {
    dir: PathBuf,
    new: PathBuf,
    old: PathBuf,
    /// The folders made in `new`, relative to it, each with whether the same folder
    /// of the previous output is a real folder (not a link), whose files may be kept.
    folders: std::collections::BTreeMap<PathBuf, bool>,
    /// The previous output, when trellis wrote it (it has the marker).
    previous: Option<PathBuf>,
    files: usize,
    committed: bool,
}

impl Staging {
    /// Checks that `dir` may be replaced and makes the temporary folder.
    pub fn begin(dir: &Path) -> Result<Self, OutputError> {
        let (new, old) = siblings(dir)?;
        // A previous build interrupted mid-swap: put the old output back first.
        if !dir.exists() && old.is_dir() {
            std::fs::rename(&old, dir).map_err(io(&old))?;
        }
        if dir.exists() {
            if !dir.is_dir() {
                return Err(err(dir, "exists and is not a folder"));
            }
            let empty = std::fs::read_dir(dir).map_err(io(dir))?.next().is_none();
            if !empty && !dir.join(MARKER).is_file() {
                return Err(err(
                    dir,
                    format!("refusing to replace a folder trellis did not write (it has no {MARKER}); choose another output folder with -o"),
                ));
            }
        }
        if new.exists() {
            std::fs::remove_dir_all(&new).map_err(io(&new))?;
        }
        std::fs::create_dir_all(&new).map_err(io(&new))?;
        let previous = real_folder(dir)
            .then(|| dir.join(MARKER))
            .filter(|marker| marker.is_file())
            .map(|_| dir.to_path_buf());
        Ok(Staging {
            dir: dir.to_path_buf(),
            new,
            old,
            folders: std::collections::BTreeMap::new(),
            previous,
            files: 0,
            committed: false,
        })
    }

    /// Writes `artifacts` into the temporary folder. A large file whose previous
    /// output holds exactly the same bytes is linked to it instead ([`KEEP_FROM`]).
    pub fn write(&mut self, artifacts: &[Artifact]) -> Result<(), OutputError> {
        write_all(
            &self.new,
            self.previous.as_deref(),
            &mut self.folders,
            artifacts,
        )?;
        self.files += artifacts.len();
        Ok(())
    }

    /// How many files [`Staging::write`] has written.
    pub fn files(&self) -> usize {
        self.files
    }

    /// Writes the marker, moves the previous output aside, renames the temporary
    /// folder into place and removes the previous output.
    pub fn commit(mut self) -> Result<(), OutputError> {
        let marker = self.new.join(MARKER);
        std::fs::write(
            &marker,
            "This folder is written by `trellis build`; it is replaced as a whole on every build.\n",
        )
        .map_err(io(&marker))?;
        let (dir, new, old) = (&self.dir, &self.new, &self.old);
        if old.exists() {
            std::fs::remove_dir_all(old).map_err(io(old))?;
        }
        let had_previous = dir.exists();
        if had_previous {
            std::fs::rename(dir, old).map_err(io(dir))?;
        }
        if let Err(e) = std::fs::rename(new, dir) {
            if had_previous {
                let _ = std::fs::rename(old, dir);
            }
            return Err(err(dir, e.to_string()));
        }
        // In place: nothing left to remove on drop.
        self.committed = true;
        if had_previous {
            std::fs::remove_dir_all(old).map_err(io(old))?;
        }
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.new);
        }
    }
}

/// Writes `content` to a new file at `path`. Several parts are gathered into a
/// buffer and written a buffer at a time: they are never joined in memory.
fn write_file(path: &Path, content: &Content) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::File::create(path)?;
    match content.parts() {
        [one] => file.write_all(one.as_bytes()),
        parts => {
            let mut buffer = std::io::BufWriter::with_capacity(WRITE_BUFFER, file);
            for part in parts {
                buffer.write_all(part.as_bytes())?;
            }
            buffer.flush()
        }
    }
}

/// The buffer a file of many parts is written through.
const WRITE_BUFFER: usize = 256 * 1024;

/// Writes `artifacts` under `root`, making the folders not in `made` yet; with the
/// `previous` output, keeps its large files that are unchanged.
fn write_all(
    root: &Path,
    previous: Option<&Path>,
    made: &mut std::collections::BTreeMap<PathBuf, bool>,
    artifacts: &[Artifact],
) -> Result<(), OutputError> {
    let mut folders = std::collections::BTreeSet::new();
    for artifact in artifacts {
        let rel = Path::new(&artifact.path);
        // Paths come from validated names; refuse anything that could leave the
        // folder all the same.
        let safe = rel.components().all(|c| matches!(c, Component::Normal(_)));
        if !safe || artifact.path.is_empty() {
            return Err(err(rel, "refusing to write outside the output folder"));
        }
        if let Some(parent) = rel.parent().filter(|p| !made.contains_key(*p)) {
            folders.insert(parent);
        }
    }
    // Each folder once, then the files in parallel (one share per core): a build
    // writes tens of thousands of small files.
    for folder in folders {
        let path = root.join(folder);
        std::fs::create_dir_all(&path).map_err(io(&path))?;
        // A previous file is only kept from a folder reached without following a
        // link, so that nothing outside the output folder becomes part of it.
        let real = previous.is_some_and(|p| {
            folder
                .ancestors()
                .filter(|a| !a.as_os_str().is_empty())
                .all(|a| real_folder(&p.join(a)))
        });
        made.insert(folder.to_path_buf(), real);
    }
    let made = &*made;
    crate::par::map_shares(artifacts, |batch| -> Result<(), OutputError> {
        for artifact in batch {
            let path = root.join(&artifact.path);
            let from = Path::new(&artifact.path)
                .parent()
                .filter(|folder| made.get(*folder).copied().unwrap_or(false))
                .and(previous)
                .map(|p| p.join(&artifact.path));
            let kept = from.is_some_and(|from| keep(&from, &path, &artifact.content));
            if !kept {
                write_file(&path, &artifact.content).map_err(io(&path))?;
            }
        }
        Ok(())
    })
    .into_iter()
    .collect::<Result<(), OutputError>>()
}

/// Files at least this large are kept from the previous output when their bytes
/// are unchanged: linked, not written again. Rewriting a bundle or a load
/// balancer's configuration (megabytes at 10,000 services) costs fresh memory for
/// the page cache, and removing the old copy costs as much again; comparing reads
/// what the cache already holds. An unchanged file also keeps its time stamps.
/// Smaller files (one per object in the default layout) are written: opening and
/// comparing each would cost more than writing it.
pub const KEEP_FROM: usize = 64 * 1024;

/// Links `to` to the previous output's `from` when `from` is a regular file (not a
/// link, and on Unix of no other name) holding exactly `content`, of at least
/// [`KEEP_FROM`] bytes. Any doubt (an error, another size, a byte that differs, no
/// hard links on this file system) answers no, and the file is written.
fn keep(from: &Path, to: &Path, content: &Content) -> bool {
    let size = content.len();
    if size < KEEP_FROM {
        return false;
    }
    let regular = std::fs::symlink_metadata(from)
        .is_ok_and(|m| m.file_type().is_file() && m.len() == size as u64 && single_link(&m));
    regular && same_bytes(from, content) && std::fs::hard_link(from, to).is_ok()
}

/// Whether no other name shares the file: one linked elsewhere (a copy made with
/// `cp -l`) is not kept, so that what the output holds never changes with it.
#[cfg(unix)]
fn single_link(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    meta.nlink() == 1
}

#[cfg(not(unix))]
fn single_link(_: &std::fs::Metadata) -> bool {
    true
}

/// Whether the file at `path` holds exactly the bytes of `content`, read a block
/// at a time.
fn same_bytes(path: &Path, content: &Content) -> bool {
    use std::io::Read;
    let Ok(mut file) = std::fs::File::open(path) else {
        return false;
    };
    let mut block = vec![0u8; COMPARE_BLOCK];
    let mut parts = content.parts().iter().map(|p| p.as_bytes());
    let mut part: &[u8] = &[];
    loop {
        let read = match file.read(&mut block) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return false,
        };
        let mut chunk = block.get(..read).unwrap_or_default();
        while !chunk.is_empty() {
            if part.is_empty() {
                match parts.next() {
                    Some(next) => part = next,
                    // The file is longer than the content.
                    None => return false,
                }
                continue;
            }
            let n = part.len().min(chunk.len());
            let (mine, theirs) = (part.split_at(n), chunk.split_at(n));
            if mine.0 != theirs.0 {
                return false;
            }
            (part, chunk) = (mine.1, theirs.1);
        }
    }
    // The file ended: the content must have ended too.
    part.is_empty() && parts.all(<[u8]>::is_empty)
}

/// The block [`same_bytes`] reads at a time.
const COMPARE_BLOCK: usize = 64 * 1024;

/// Whether `path` is a folder itself, not a link to one.
fn real_folder(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_dir())
}
