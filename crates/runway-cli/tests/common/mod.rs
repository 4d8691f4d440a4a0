//! Shared test harness: run the real `runway` binary, and insta settings that put
//! snapshots under the top-level snapshots/ folder.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("workspace root exists")
}

/// Runs `runway ARGS` in `dir` with `stdin`, no colour, no terminal.
pub fn runway_in(dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_runway"));
    cmd.args(args).current_dir(dir).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("runway starts");
    {
        let mut pipe = child.stdin.take().expect("stdin is piped");
        if let Some(text) = stdin {
            pipe.write_all(text.as_bytes()).expect("stdin written");
        }
    }
    child.wait_with_output().expect("runway finishes")
}

/// Runs `runway ARGS` at the workspace root.
pub fn runway(args: &[&str]) -> Output {
    runway_in(&root(), args, None)
}

/// Standard output as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("stdout is UTF-8")
}

/// Standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("stderr is UTF-8")
}

/// insta settings for snapshots/<folder>.
pub fn snapshot_settings(folder: &str) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(root().join("snapshots").join(folder));
    s.set_prepend_module_to_snapshot(false);
    s.set_omit_expression(true);
    s
}

/// Renders successfully or fails the test with runway's message.
pub fn render_ok(args: &[&str]) -> String {
    let o = runway(args);
    assert!(o.status.success(), "runway {args:?} failed:\n{}", stderr(&o));
    stdout(&o)
}
