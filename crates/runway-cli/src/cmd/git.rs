//! Input files read from a git revision, for `runway diff --base REV`. git runs as a
//! subprocess (`git rev-parse`, `git cat-file`), here and nowhere else: the libraries take
//! text.

use std::path::{Component, Path, PathBuf};
use std::process::Command;

use runway_core::{Error, ErrorKind};

use super::layers::Inputs;

/// A git revision of the repository that holds the working directory.
pub struct GitRev {
    /// The revision as the user wrote it (`origin/main`).
    rev: String,
    /// The repository's top-level folder (`git rev-parse --show-toplevel`).
    root: PathBuf,
    /// The working directory, made absolute.
    cwd: PathBuf,
    /// Standard input, read once and shared by both renders (`-f -`).
    stdin: Option<String>,
}

impl GitRev {
    /// Finds the repository of the working directory and checks that `rev` names a commit.
    pub fn open(rev: &str, stdin: Option<String>) -> Result<Self, String> {
        let cwd = std::env::current_dir().map_err(|e| format!("error: cannot read the working directory: {e}\n"))?;
        let top = git(&cwd, &["rev-parse", "--show-toplevel"]).map_err(|e| {
            format!("error: `--base {rev}` needs a git repository, and the working directory is not in one: {e}\n")
        })?;
        let root = PathBuf::from(String::from_utf8_lossy(&top).trim_end_matches(['\n', '\r']));
        if rev.starts_with('-') {
            return Err(format!("error: `--base {rev}`: a revision cannot start with `-`\n"));
        }
        git(&root, &["rev-parse", "--verify", "--quiet", "--end-of-options", &format!("{rev}^{{commit}}")]).map_err(
            |_| {
                format!(
                    "error: `--base {rev}`: no such revision in {}\n  = help: fetch it first (`git fetch origin main`) or name a commit, branch or tag\n",
                    root.display()
                )
            },
        )?;
        // git prints the top level with symbolic links resolved; so is the working directory
        // compared with it.
        let cwd = cwd.canonicalize().unwrap_or(cwd);
        let root = root.canonicalize().unwrap_or(root);
        Ok(GitRev { rev: rev.to_string(), root, cwd, stdin })
    }

    /// `path` (as the user gave it, relative to the working directory) relative to the
    /// repository's top level, with `/` separators.
    fn in_repo(&self, path: &Path) -> Option<String> {
        let mut abs = PathBuf::new();
        for c in self.cwd.join(path).components() {
            match c {
                Component::CurDir => {}
                Component::ParentDir => {
                    abs.pop();
                }
                other => abs.push(other.as_os_str()),
            }
        }
        let rel = abs.strip_prefix(&self.root).ok()?;
        let parts: Vec<String> = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
        Some(parts.join("/"))
    }
}

impl Inputs for GitRev {
    fn read(&self, path: &Path) -> Result<String, Error> {
        let io = |reason: String| Error::new(ErrorKind::Io { path: path.display().to_string(), reason });
        let Some(rel) = self.in_repo(path) else {
            return Err(io(format!("outside the git repository {}", self.root.display()))
                .help("`runway diff --base` reads every input file from the revision: keep them in the repository"));
        };
        match git(&self.root, &["cat-file", "blob", &format!("{}:{rel}", self.rev)]) {
            Ok(bytes) => String::from_utf8(bytes).map_err(|_| io("not UTF-8 text".into())),
            Err(_) => Err(io(format!("no such file at revision `{}` (`{}:{rel}`)", self.rev, self.rev)).help(format!(
                "files named on the command line are read at both revisions: list an override file new \
                 since `{}` in the stack file's `overrides:` (which `{}` does not reference yet), or compare \
                 two renders with `runway diff OLD NEW`",
                self.rev, self.rev
            ))),
        }
    }

    fn stdin(&self) -> Result<String, Error> {
        self.stdin
            .clone()
            .ok_or_else(|| Error::new(ErrorKind::Io { path: "<stdin>".into(), reason: "not read".into() }))
    }
}

/// Runs `git ARGS` in `dir`: its standard output, or its standard error as the reason.
fn git(dir: &Path, args: &[&str]) -> Result<Vec<u8>, String> {
    let out = Command::new("git").args(args).current_dir(dir).output().map_err(|e| format!("cannot run git: {e}"))?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}
