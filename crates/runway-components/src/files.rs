//! The filesystem edge of the library: reading layer files and stack files, and writing
//! `--output-dir` trees atomically. Everything else works on text.

use std::fs;
use std::path::{Path, PathBuf};

use runway_core::{Error, ErrorKind, SourceKind};

use crate::stack::Stack;

/// Reads a file, with an error that names the path as the user wrote it.
pub fn read_file(path: &Path) -> Result<String, Error> {
    fs::read_to_string(path)
        .map_err(|e| Error::new(ErrorKind::Io { path: path.display().to_string(), reason: io_reason(&e) }))
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::InvalidData => "not UTF-8 text".into(),
        std::io::ErrorKind::IsADirectory => "is a directory".into(),
        _ => e.to_string(),
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
fn lexical_join(dir: &Path, rel: &str) -> PathBuf {
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
pub fn write_tree(dir: &Path, files: &[(String, String)]) -> Result<(), Error> {
    let io = |p: &Path, e: std::io::Error| {
        Error::new(ErrorKind::Io { path: p.display().to_string(), reason: io_reason(&e) })
    };
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let base = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
    fs::create_dir_all(&parent).map_err(|e| io(&parent, e))?;
    let tmp = unique(&parent, &format!(".{base}.runway-tmp"));
    let result = (|| {
        fs::create_dir(&tmp).map_err(|e| io(&tmp, e))?;
        for (rel, content) in files {
            let p = tmp.join(rel);
            if let Some(d) = p.parent() {
                fs::create_dir_all(d).map_err(|e| io(d, e))?;
            }
            fs::write(&p, content).map_err(|e| io(&p, e))?;
        }
        if dir.exists() {
            if !dir.is_dir() {
                return Err(Error::new(ErrorKind::Io {
                    path: dir.display().to_string(),
                    reason: "exists and is not a directory".into(),
                }));
            }
            let old = unique(&parent, &format!(".{base}.runway-old"));
            fs::rename(dir, &old).map_err(|e| io(dir, e))?;
            if let Err(e) = fs::rename(&tmp, dir) {
                let _ = fs::rename(&old, dir);
                return Err(io(dir, e));
            }
            fs::remove_dir_all(&old).map_err(|e| io(&old, e))?;
        } else {
            fs::rename(&tmp, dir).map_err(|e| io(dir, e))?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_dir_all(&tmp);
    }
    result
}

/// A path under `parent` starting with `stem` that does not exist yet.
fn unique(parent: &Path, stem: &str) -> PathBuf {
    let pid = std::process::id();
    (0u32..)
        .map(|i| parent.join(format!("{stem}-{pid}-{i}")))
        .find(|p| !p.exists())
        .unwrap_or_else(|| parent.join(stem))
}
