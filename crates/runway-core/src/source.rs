//! Where every input value came from.
//!
//! Each layer (component defaults, platform base, stack file, override file, `--set` flag,
//! built object) is a *source* with a name and a kind. A [`Span`] points into a source by
//! line and column (1-based); line 0 means the source has no text (defaults, built objects).

use std::fmt;

/// Index of a source inside a [`SourceMap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SourceId(pub u32);

/// What kind of layer a source is; `explain` prints it so the precedence chain reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceKind {
    /// The defaults a component declares for its parameters.
    Defaults,
    /// A platform base (`platforms/gke.yaml`, embedded or `--platform-file`).
    Platform,
    /// The stack file given with `--stack`.
    Stack,
    /// A file listed under the stack's `overrides:`.
    StackOverride,
    /// A file given with `-f` (or `-` for standard input).
    File,
    /// A `--set` or `--set-string` flag.
    Set,
    /// An object as a component built it, before patches.
    Built,
}

impl SourceKind {
    /// A short label for messages and `explain`.
    pub fn label(self) -> &'static str {
        match self {
            SourceKind::Defaults => "default",
            SourceKind::Platform => "platform",
            SourceKind::Stack => "stack",
            SourceKind::StackOverride => "stack override",
            SourceKind::File => "file",
            SourceKind::Set => "flag",
            SourceKind::Built => "built",
        }
    }
}

/// One source: its display name (a path as the user gave it, or `--set a.b=1`) and text.
#[derive(Clone, Debug)]
pub struct Source {
    /// Name shown in messages: the path as given, `<stdin>`, `--set x=y`, `defaults of elasticsearch`.
    pub name: String,
    /// The layer kind.
    pub kind: SourceKind,
    /// The text, for excerpts in error messages; empty for sources without text.
    pub text: String,
}

/// All sources of one render, indexed by [`SourceId`].
#[derive(Clone, Debug, Default)]
pub struct SourceMap {
    sources: Vec<Source>,
}

impl SourceMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a source and returns its id.
    pub fn add(&mut self, name: impl Into<String>, kind: SourceKind, text: impl Into<String>) -> SourceId {
        let id = SourceId(u32::try_from(self.sources.len()).unwrap_or(u32::MAX));
        self.sources.push(Source { name: name.into(), kind, text: text.into() });
        id
    }

    /// How many sources there are.
    pub fn len(&self) -> usize {
        self.sources.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    /// The source behind an id; `None` for an id of another map.
    pub fn get(&self, id: SourceId) -> Option<&Source> {
        self.sources.get(id.0 as usize)
    }

    /// The display name of a source, or `<unknown>`.
    pub fn name(&self, id: SourceId) -> &str {
        self.get(id).map_or("<unknown>", |s| s.name.as_str())
    }

    /// The text of line `line` (1-based) of a source, for excerpts.
    pub fn line_text(&self, id: SourceId, line: u32) -> Option<&str> {
        if line == 0 {
            return None;
        }
        self.get(id)?.text.lines().nth(line as usize - 1)
    }
}

/// A position in a source. `line == 0` means "the whole source" (no position).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    /// Which source.
    pub source: SourceId,
    /// 1-based line, 0 when the source has no text.
    pub line: u32,
    /// 1-based column.
    pub col: u32,
}

impl Span {
    /// A span that names a source but no position in it.
    pub fn whole(source: SourceId) -> Self {
        Span { source, line: 0, col: 0 }
    }

    /// Renders as `name:line:col` (or `name` without a position).
    pub fn display<'a>(&self, map: &'a SourceMap) -> SpanDisplay<'a> {
        SpanDisplay { span: *self, map }
    }
}

/// [`Span`] rendered against its [`SourceMap`].
pub struct SpanDisplay<'a> {
    span: Span,
    map: &'a SourceMap,
}

impl fmt::Display for SpanDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.map.name(self.span.source);
        if self.span.line == 0 {
            write!(f, "{name}")
        } else {
            write!(f, "{name}:{}:{}", self.span.line, self.span.col)
        }
    }
}
