//! The filesystem edge of the library: reading layer files and stack files, and writing
//! `--output-dir` trees atomically. Everything else works on text.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use runway_core::{Error, ErrorKind, SourceKind};

use crate::stack::Stack;

/// The largest input file runway reads. Layers, stack, secrets and dashboard files are a
/// few kilobytes; a file this large is a mistake (a render output given with `-f`, a log),
/// and refusing it keeps a bad command failing within a second instead of parsing for
/// minutes. Default: 16 MiB.
pub const MAX_INPUT_BYTES: u64 = 16 * 1024 * 1024;

/// Reads a file, with an error that names the path as the user wrote it.
pub fn read_file(path: &Path) -> Result<String, Error> {
    let name = path.display().to_string();
    let io = |e: &std::io::Error| Error::new(ErrorKind::Io { path: name.clone(), reason: io_reason(e) });
    let meta = fs::metadata(path).map_err(|e| io(&e))?;
    if meta.is_dir() {
        return Err(Error::new(ErrorKind::Io { path: name, reason: "is a directory".into() }));
    }
    if meta.len() > MAX_INPUT_BYTES {
        return Err(too_large(&name, Some(meta.len())));
    }
    decode_input(&name, fs::read(path).map_err(|e| io(&e))?)
}

/// Reads all of `reader` (standard input) as an input file named `name`, with the limits
/// and checks of [`read_file`].
pub fn read_input(name: &str, reader: impl std::io::Read) -> Result<String, Error> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::new(ErrorKind::Io { path: name.into(), reason: io_reason(&e) }))?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(too_large(name, None));
    }
    decode_input(name, bytes)
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::IsADirectory => "is a directory".into(),
        _ => e.to_string(),
    }
}

/// `len` is the file's size when known (standard input is read only up to the limit).
fn too_large(name: &str, len: Option<u64>) -> Error {
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    let size = len.map_or_else(|| "more than the limit".to_string(), |l| format!("{:.1} MiB", mib(l)));
    Error::new(ErrorKind::Io {
        path: name.into(),
        reason: format!("{size}: runway reads input files of at most {:.0} MiB", mib(MAX_INPUT_BYTES)),
    })
    .help("input files are layers, stacks, secrets and dashboards; was a render output given by mistake?")
}

/// Turns an input file's bytes into text: UTF-8 (a byte-order mark is dropped, as YAML
/// allows), or an error that gives the line and column of the first byte that is not.
pub fn decode_input(name: &str, bytes: Vec<u8>) -> Result<String, Error> {
    match String::from_utf8(bytes) {
        Ok(mut text) => {
            if text.starts_with('\u{feff}') {
                text.drain(..'\u{feff}'.len_utf8());
            }
            Ok(text)
        }
        Err(e) => {
            let bytes = e.as_bytes();
            let valid = e.utf8_error().valid_up_to();
            let before = &bytes[..valid];
            let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
            let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            // Columns count characters, as every other position runway prints; the prefix
            // up to `valid` is UTF-8 by definition.
            let col = String::from_utf8_lossy(&before[line_start..]).chars().count() + 1;
            Err(Error::new(ErrorKind::Io {
                path: name.into(),
                reason: format!("not UTF-8 text: byte 0x{:02x} at {name}:{line}:{col}", bytes[valid]),
            })
            .help("save the file as UTF-8 (`iconv -f latin1 -t utf-8`)"))
        }
    }
}

/// Reads a stack file and everything it names: its platform (unless `--platform` chose one
/// already, which must then agree) and its `overrides:` files, relative to its folder.
pub fn load_stack_file(stack: &mut Stack, path: &Path) -> Result<(), Error> {
    load_stack_file_with(stack, path, &mut read_file)
}

/// [`load_stack_file`] with the files read by `read` (the stack file, then each override
/// file by its path joined to the stack file's folder): `runway diff --base REV` reads them
/// from a git revision.
pub fn load_stack_file_with(
    stack: &mut Stack,
    path: &Path,
    read: &mut dyn FnMut(&Path) -> Result<String, Error>,
) -> Result<(), Error> {
    let text = read(path)?;
    let name = path.display().to_string();
    let sf = stack.stack_file(&name, &text)?;
    if let Some((platform, span)) = &sf.platform {
        stack.platform(platform, &name).map_err(|e| e.at(*span))?;
    }
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    for (rel, span) in &sf.overrides {
        let p: PathBuf = lexical_join(&dir, rel);
        let text = read(&p).map_err(|e| e.at(*span).with_path(runway_core::KeyPath::root().key("overrides")))?;
        stack.layer(&p.display().to_string(), SourceKind::StackOverride, &text)?;
    }
    Ok(())
}

/// `dir/rel` with `.` and `..` resolved by name (not through symlinks), so messages show
/// `overrides/x.yaml` rather than `examples/gke/../../overrides/x.yaml`.
pub(crate) fn lexical_join(dir: &Path, rel: &str) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in dir.join(rel).components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                let can_pop = matches!(out.components().next_back(), Some(Component::Normal(_)));
                if can_pop {
                    out.pop();
                } else {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Writes `files` (relative path, content) as the whole content of `dir`: first into a
/// fresh sibling folder, then renamed into place, so a failure never leaves half a tree
/// and a previous tree is replaced only once the new one is complete.
pub fn write_tree(dir: &Path, files: &[(String, impl AsRef<str>)]) -> Result<(), Error> {
    let staged = StagedTree::new(dir)?;
    for (rel, content) in files {
        staged.write(rel, content.as_ref())?;
    }
    staged.commit()
}

/// A write failure under the output tree (an `--output-dir` that cannot be written).
fn io_error(p: &Path, e: &std::io::Error) -> Error {
    Error::new(ErrorKind::Write { path: p.display().to_string(), reason: io_reason(e) })
}

/// A directory tree being written: files go into a fresh sibling folder of the target,
/// which [`StagedTree::commit`] renames into place (replacing a previous tree only then).
/// Dropped without a commit, the folder is removed and the target is left as it was.
/// [`StagedTree::write`] takes `&self`, so many threads can write one tree (a fleet).
#[derive(Debug)]
pub struct StagedTree {
    dir: PathBuf,
    parent: PathBuf,
    base: String,
    tmp: PathBuf,
    committed: bool,
}

impl StagedTree {
    /// Starts a tree that will become `dir`.
    pub fn new(dir: &Path) -> Result<Self, Error> {
        let parent = match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let base = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
        fs::create_dir_all(&parent).map_err(|e| io_error(&parent, &e))?;
        let tmp = unique(&parent, &format!(".{base}.runway-tmp"));
        fs::create_dir(&tmp).map_err(|e| io_error(&tmp, &e))?;
        Ok(StagedTree { dir: dir.to_path_buf(), parent, base, tmp, committed: false })
    }

    /// Writes one file, `rel` being relative to the tree's root (folders are created).
    pub fn write(&self, rel: &str, content: &str) -> Result<(), Error> {
        let p = self.tmp.join(rel);
        if let Some(d) = p.parent() {
            fs::create_dir_all(d).map_err(|e| io_error(d, &e))?;
        }
        fs::write(&p, content).map_err(|e| io_error(&p, &e))
    }

    /// Writes many files under the folder `prefix` of the tree, creating each folder once
    /// (a fleet writes ~125,000 files: a `mkdir` and a `stat` per file would be a tenth
    /// of its time). Returns the bytes written.
    pub fn write_many(&self, prefix: &str, files: &[(String, impl AsRef<str>)]) -> Result<usize, Error> {
        let root = self.tmp.join(prefix);
        let mut made = std::collections::BTreeSet::new();
        let mut bytes = 0;
        for (rel, content) in files {
            let dir = rel.rsplit_once('/').map_or("", |(d, _)| d);
            if made.insert(dir) {
                let d = root.join(dir);
                fs::create_dir_all(&d).map_err(|e| io_error(&d, &e))?;
            }
            let p = root.join(rel);
            let content = content.as_ref();
            fs::write(&p, content).map_err(|e| io_error(&p, &e))?;
            bytes += content.len();
        }
        Ok(bytes)
    }

    /// Renames the finished tree into place, replacing what was there.
    pub fn commit(mut self) -> Result<(), Error> {
        let dir = self.dir.clone();
        if dir.exists() {
            if !dir.is_dir() {
                return Err(Error::new(ErrorKind::Write {
                    path: dir.display().to_string(),
                    reason: "exists and is not a directory".into(),
                }));
            }
            let old = unique(&self.parent, &format!(".{}.runway-old", self.base));
            fs::rename(&dir, &old).map_err(|e| io_error(&dir, &e))?;
            if let Err(e) = fs::rename(&self.tmp, &dir) {
                let _ = fs::rename(&old, &dir);
                return Err(io_error(&dir, &e));
            }
            self.committed = true;
            fs::remove_dir_all(&old).map_err(|e| io_error(&old, &e))?;
        } else {
            fs::rename(&self.tmp, &dir).map_err(|e| io_error(&dir, &e))?;
            self.committed = true;
        }
        Ok(())
    }
}

impl Drop for StagedTree {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.tmp);
        }
    }
}

/// A path under `parent` starting with `stem` that does not exist yet.
fn unique(parent: &Path, stem: &str) -> PathBuf {
    let pid = std::process::id();
    (0u32..)
        .map(|i| parent.join(format!("{stem}-{pid}-{i}")))
        .find(|p| !p.exists())
        .unwrap_or_else(|| parent.join(stem))
}
