//! Turns layer flags into a [`Stack`], in precedence order: platform base, stack file (and
//! its overrides), each `-f` in order, each `--set`/`--set-string` in command-line order.

use std::path::Path;

use clap::ArgMatches;
use runway_components::{files, Stack};
use runway_core::{Error, ErrorKind, SourceKind};

use crate::args::LayerArgs;

/// Where the input files of a render are read from: the working tree, or (for
/// `runway diff --base REV`) a git revision.
pub trait Inputs {
    /// The text of a layer, stack, override, platform or `--set-file` file.
    fn read(&self, path: &Path) -> Result<String, Error>;
    /// The text of standard input (`-f -`).
    fn stdin(&self) -> Result<String, Error>;
}

/// The working tree and this process's standard input.
pub struct WorkTree;

impl Inputs for WorkTree {
    fn read(&self, path: &Path) -> Result<String, Error> {
        files::read_file(path)
    }

    fn stdin(&self) -> Result<String, Error> {
        files::read_input("<stdin>", std::io::stdin().lock())
    }
}

/// Builds the stack from the working tree; `Err` is the rendered message.
pub fn build(a: &LayerArgs, matches: Option<&ArgMatches>) -> Result<Stack, String> {
    build_from(a, matches, &WorkTree)
}

/// Builds the stack with its files read from `inputs`. Secrets files are always read from
/// the working tree: they are kept out of version control.
pub fn build_from(a: &LayerArgs, matches: Option<&ArgMatches>, inputs: &dyn Inputs) -> Result<Stack, String> {
    let mut stack = Stack::new();
    if let Some(p) = &a.platform {
        step(&mut stack, |s| s.platform(p, "--platform").map(drop))?;
    }
    if let Some(p) = &a.platform_file {
        step(&mut stack, |s| {
            let text = inputs.read(p)?;
            s.platform_file(&p.display().to_string(), &text).map(drop)
        })?;
    }
    if let Some(s) = &a.stack {
        step(&mut stack, |st| files::load_stack_file_with(st, s, &mut |p| inputs.read(p)))?;
    }
    let mut stdin_used = false;
    for f in &a.files {
        if f.as_os_str() == "-" {
            if stdin_used {
                let e = Error::new(ErrorKind::Conflict("`-f -` given twice: standard input can be read once".into()));
                return Err(e.render(&stack.sources));
            }
            stdin_used = true;
            step(&mut stack, |s| {
                let text = inputs.stdin()?;
                s.layer("<stdin>", SourceKind::File, &text).map(drop)
            })?;
        } else {
            step(&mut stack, |s| {
                let text = inputs.read(f).map_err(|e| e.help("the file was given with `-f`"))?;
                s.layer(&f.display().to_string(), SourceKind::File, &text).map(drop)
            })?;
        }
    }
    for f in &a.secrets_files {
        step(&mut stack, |s| {
            let text = files::read_file(f).map_err(|e| e.help("the file was given with `--secrets-file`"))?;
            s.secrets(&f.display().to_string(), &text).map(drop)
        })?;
    }
    // --set, --set-string and --set-file apply in the order they were typed.
    enum SetKind {
        Typed,
        String,
        File,
    }
    let mut sets: Vec<(usize, &str, SetKind)> = Vec::new();
    let indices =
        |id: &str| -> Vec<usize> { matches.and_then(|m| m.indices_of(id)).map(Iterator::collect).unwrap_or_default() };
    let (si, ssi, sfi) = (indices("sets"), indices("set_strings"), indices("set_files"));
    for (i, s) in a.sets.iter().enumerate() {
        sets.push((si.get(i).copied().unwrap_or(i), s, SetKind::Typed));
    }
    for (i, s) in a.set_strings.iter().enumerate() {
        sets.push((ssi.get(i).copied().unwrap_or(usize::MAX / 2 + i), s, SetKind::String));
    }
    for (i, s) in a.set_files.iter().enumerate() {
        sets.push((sfi.get(i).copied().unwrap_or(usize::MAX / 2 + 1000 + i), s, SetKind::File));
    }
    sets.sort_by_key(|(i, _, _)| *i);
    for (_, s, kind) in sets {
        step(&mut stack, |st| match kind {
            SetKind::Typed => st.set(s, false).map(drop),
            SetKind::String => st.set(s, true).map(drop),
            SetKind::File => {
                let Some((path, file)) = s.split_once('=') else {
                    return Err(Error::new(ErrorKind::BadSet(format!("`--set-file {s}`: expected `path=FILE`"))));
                };
                let text = inputs
                    .read(Path::new(file))
                    .map_err(|e| e.help(format!("the file was given with `--set-file {s}`")))?;
                st.set_file(path, file, &text).map(drop)
            }
        })?;
    }
    if !stack.has_platform() {
        let e = Error::new(ErrorKind::Conflict("no platform chosen".into())).help(
            "give `--platform aks|eks|gke|onprem|kind`, `--platform-file FILE`, or a `--stack` file with `platform:`",
        );
        return Err(e.render(&stack.sources));
    }
    Ok(stack)
}

/// Runs one step of assembling the stack; an error is rendered against the sources so far.
fn step(stack: &mut Stack, f: impl FnOnce(&mut Stack) -> Result<(), Error>) -> Result<(), String> {
    f(stack).map_err(|e| e.render(&stack.sources))
}
