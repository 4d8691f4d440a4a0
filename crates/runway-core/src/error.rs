//! Errors as data: a kind, where it happened (span and key path), and help for the fix.
//!
//! Errors are raised by the stage that finds them and rendered once, at the edge, against
//! the [`SourceMap`] (one grep-able line, then an excerpt of the offending line):
//!
//! ```text
//! error: overrides/prod.yaml:7:5: prometheus.retension_days: unknown parameter
//!   |
//! 7 |     retension_days: 30
//!   |     ^
//!   = help: did you mean `retention_days`?
//! ```

use std::fmt::{self, Write as _};

use crate::path::KeyPath;
use crate::source::{SourceMap, Span};

/// What went wrong. Lowercase messages, names in backticks, no trailing period.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The text is not YAML (or uses YAML we reject: anchors, tags, duplicate keys).
    #[error("{0}")]
    Yaml(String),
    /// A layer file or object patch is not a mapping at the top.
    #[error("expected a mapping, found {found}")]
    NotMapping {
        /// What was found.
        found: &'static str,
    },
    /// A key that is not known at that place.
    #[error("unknown {what}")]
    UnknownKey {
        /// What the key was taken for (`parameter`, `component`, `field of StatefulSet`, ...).
        what: String,
    },
    /// A value of the wrong type or shape.
    #[error("{0}")]
    Invalid(String),
    /// A file that cannot be read.
    #[error("cannot read `{path}`: {reason}")]
    Io {
        /// The path as given.
        path: String,
        /// The operating system's reason.
        reason: String,
    },
    /// A file or folder that cannot be written (`--output-dir`).
    #[error("cannot write `{path}`: {reason}")]
    Write {
        /// The path as given.
        path: String,
        /// The operating system's reason.
        reason: String,
    },
    /// A `--set` flag that does not parse.
    #[error("bad `--set` flag: {0}")]
    BadSet(String),
    /// An unknown platform name.
    #[error("unknown platform `{0}`")]
    UnknownPlatform(String),
    /// Flags or inputs that contradict each other.
    #[error("{0}")]
    Conflict(String),
    /// A rendered object fails validation (round-trip, names, references).
    #[error("{0}")]
    InvalidObject(String),
    /// A path given to `explain` leads nowhere.
    #[error("no value at this path")]
    NoSuchPath,
}

/// A runway error: boxed so that `Result<T, Error>` stays one word.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error(Box<Repr>);

#[derive(Clone, Debug, PartialEq, Eq)]
struct Repr {
    kind: ErrorKind,
    span: Option<Span>,
    path: Option<KeyPath>,
    help: Vec<String>,
    notes: Vec<String>,
}

impl Error {
    /// An error of `kind` with no location yet.
    pub fn new(kind: ErrorKind) -> Self {
        Error(Box::new(Repr { kind, span: None, path: None, help: Vec::new(), notes: Vec::new() }))
    }

    /// Shorthand for [`ErrorKind::Invalid`].
    pub fn invalid(msg: impl Into<String>) -> Self {
        Self::new(ErrorKind::Invalid(msg.into()))
    }

    /// Sets where the error is (keeps an existing position if `span` has none).
    pub fn at(mut self, span: Span) -> Self {
        let keep = matches!(self.0.span, Some(s) if s.line > 0) && span.line == 0;
        if !keep {
            self.0.span = Some(span);
        }
        self
    }

    /// Sets the key path (the first one set wins: it is the most precise).
    pub fn with_path(mut self, path: KeyPath) -> Self {
        if self.0.path.is_none() {
            self.0.path = Some(path);
        }
        self
    }

    /// Replaces the key path.
    pub fn replace_path(mut self, path: KeyPath) -> Self {
        self.0.path = Some(path);
        self
    }

    /// Adds a `help:` line (how to fix it).
    pub fn help(mut self, text: impl Into<String>) -> Self {
        self.0.help.push(text.into());
        self
    }

    /// Adds a `note:` line (context).
    pub fn note(mut self, text: impl Into<String>) -> Self {
        self.0.notes.push(text.into());
        self
    }

    /// The kind.
    pub fn kind(&self) -> &ErrorKind {
        &self.0.kind
    }

    /// The span, if known.
    pub fn span(&self) -> Option<Span> {
        self.0.span
    }

    /// The key path, if known.
    pub fn path(&self) -> Option<&KeyPath> {
        self.0.path.as_ref()
    }

    /// The help lines.
    pub fn helps(&self) -> &[String] {
        &self.0.help
    }

    /// Renders the full message: the error line, an excerpt when the source has text, then
    /// help and notes. Ends with a newline.
    pub fn render(&self, sources: &SourceMap) -> String {
        let mut out = String::from("error: ");
        if let Some(span) = self.0.span {
            let _ = write!(out, "{}: ", span.display(sources));
        }
        if let Some(path) = self.0.path.as_ref().filter(|p| !p.is_empty()) {
            let _ = write!(out, "{path}: ");
        }
        let _ = writeln!(out, "{}", self.0.kind);
        if let Some(span) = self.0.span {
            if let Some(line) = sources.line_text(span.source, span.line) {
                let num = span.line.to_string();
                let pad = " ".repeat(num.len());
                let (line, col) = excerpt_window(line, span.col.saturating_sub(1) as usize);
                let caret_pad: String = line.chars().take(col).map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
                let _ = writeln!(out, "{pad} |");
                let _ = writeln!(out, "{num} | {line}");
                let _ = writeln!(out, "{pad} | {caret_pad}^");
            }
        }
        for h in &self.0.help {
            let _ = writeln!(out, "  = help: {h}");
        }
        for n in &self.0.notes {
            let _ = writeln!(out, "  = note: {n}");
        }
        out
    }
}

/// The widest excerpt line printed: a minified or deeply nested line (thousands of `[`)
/// would otherwise fill the terminal with one line.
const EXCERPT_WIDTH: usize = 100;

/// Cuts `line` to at most [`EXCERPT_WIDTH`] characters around character `col`, marking cuts
/// with `…`; returns the window and the caret's column within it.
fn excerpt_window(line: &str, col: usize) -> (String, usize) {
    let len = line.chars().count();
    if len <= EXCERPT_WIDTH {
        return (line.to_string(), col);
    }
    let start = col.saturating_sub(EXCERPT_WIDTH / 2).min(len - EXCERPT_WIDTH);
    let mut window: String = line.chars().skip(start).take(EXCERPT_WIDTH).collect();
    let mut caret = col - start;
    if start > 0 {
        window.insert(0, '…');
        caret += 1;
    }
    if start + EXCERPT_WIDTH < len {
        window.push('…');
    }
    (window, caret)
}

impl fmt::Display for Error {
    /// The one-line form without source names (use [`Error::render`] at the edge).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(path) = self.0.path.as_ref().filter(|p| !p.is_empty()) {
            write!(f, "{path}: ")?;
        }
        write!(f, "{}", self.0.kind)
    }
}

impl std::error::Error for Error {}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Error::new(kind)
    }
}

#[cfg(test)]
mod excerpt_tests {
    use super::excerpt_window;

    #[test]
    fn short_lines_are_kept_whole() {
        assert_eq!(excerpt_window("  replicas: x", 12), ("  replicas: x".to_string(), 12));
    }

    #[test]
    fn long_lines_are_cut_around_the_caret() {
        let line = format!("{}X{}", "[".repeat(500), "]".repeat(500));
        let (w, caret) = excerpt_window(&line, 500);
        assert_eq!(w.chars().nth(caret), Some('X'));
        assert!(w.starts_with('…') && w.ends_with('…'));
        assert!(w.chars().count() <= 102);
    }

    #[test]
    fn a_caret_near_the_start_keeps_the_start() {
        let line = "a".repeat(300);
        let (w, caret) = excerpt_window(&line, 3);
        assert_eq!(caret, 3);
        assert!(!w.starts_with('…') && w.ends_with('…'));
    }
}
