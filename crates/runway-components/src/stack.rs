//! A stack: the platform base and the layers above it, in precedence order.
//!
//! Precedence, lowest first: component defaults, platform base, stack file, the stack's
//! `overrides:` in order, each `-f` in order, each `--set` in order. [`Stack`] collects
//! them (from text: no filesystem here, see [`crate::files`] for that) and
//! [`Stack::render`] runs the pipeline.

use runway_core::layer::parse_layer;
use runway_core::set::{parse_set, SetFlag};
use runway_core::suggest::best_match;
use runway_core::{Error, ErrorKind, Node, SourceKind, SourceMap, Span, Value};

use crate::platforms;

/// One layer above the platform base.
#[derive(Clone, Debug)]
pub enum Layer {
    /// A YAML file (stack, override, `-f`).
    Tree(Node),
    /// A `--set` / `--set-string` flag.
    Set(SetFlag),
}

/// The inputs of one render.
#[derive(Clone, Debug, Default)]
pub struct Stack {
    /// Every source read so far (for error excerpts and `explain`).
    pub sources: SourceMap,
    /// The chosen platform: its name, as chosen where (for conflict messages).
    platform_choice: Option<(String, String)>,
    /// The platform base layer.
    pub(crate) platform: Option<Node>,
    /// The layers above it.
    pub(crate) layers: Vec<Layer>,
    /// The stack's `components:` list, if it has one: only these are rendered.
    pub(crate) only: Option<Vec<(String, Span)>>,
    /// Secret values (`--secrets-file`), kept out of the layers and of `explain`.
    pub(crate) secrets: crate::context::Secrets,
}

/// Secrets-file groups that are not one component: the Sysdig backend's datastores and
/// services share one set of credentials under `sdc`, as its own single config file does.
pub const SHARED_SECRET_GROUPS: &[&str] = &["sdc"];

/// What a stack file says besides its layer content.
#[derive(Clone, Debug, Default)]
pub struct StackFile {
    /// `platform:` (a name, or a mapping's `name:`), with its position.
    pub platform: Option<(String, Span)>,
    /// `overrides:` paths as written, relative to the stack file's folder.
    pub overrides: Vec<(String, Span)>,
}

impl Stack {
    /// An empty stack (no platform yet).
    pub fn new() -> Self {
        Self::default()
    }

    /// Chooses an embedded platform base by name (`gke`). `by` says who chose it, for the
    /// message when two choices conflict (`--platform`, `stack.yaml`).
    pub fn platform(&mut self, name: &str, by: &str) -> Result<&mut Self, Error> {
        if let Some((prev, prev_by)) = &self.platform_choice {
            if prev != name {
                return Err(Error::new(ErrorKind::Conflict(format!(
                    "platform `{name}` from {by} conflicts with platform `{prev}` from {prev_by}"
                )))
                .help("choose the platform in one place: the stack file or `--platform`"));
            }
            return Ok(self);
        }
        let Some((file, text)) = platforms::get(name) else {
            let mut e = Error::new(ErrorKind::UnknownPlatform(name.to_string()))
                .note(format!("the platforms are {}", platforms::names().collect::<Vec<_>>().join(", ")));
            if let Some(m) = best_match(name, platforms::names()) {
                e = e.help(format!("did you mean `{m}`?"));
            }
            return Err(e);
        };
        let id = self.sources.add(file, SourceKind::Platform, text);
        self.platform = Some(parse_layer(id, text)?);
        self.platform_choice = Some((name.to_string(), by.to_string()));
        Ok(self)
    }

    /// Uses a platform base from a file (`--platform-file`) instead of an embedded one.
    pub fn platform_file(&mut self, name: &str, text: &str) -> Result<&mut Self, Error> {
        if let Some((prev, prev_by)) = &self.platform_choice {
            return Err(Error::new(ErrorKind::Conflict(format!(
                "`--platform-file {name}` conflicts with platform `{prev}` from {prev_by}"
            )))
            .help("a platform file replaces the embedded base: give one or the other"));
        }
        let id = self.sources.add(name, SourceKind::Platform, text);
        self.platform = Some(parse_layer(id, text)?);
        self.platform_choice = Some((name.to_string(), "--platform-file".to_string()));
        Ok(self)
    }

    /// How many sources the stack's own inputs are (the render adds defaults after them).
    pub fn sources_len(&self) -> usize {
        self.sources.len()
    }

    /// True once a platform base is chosen.
    pub fn has_platform(&self) -> bool {
        self.platform.is_some()
    }

    /// Adds a YAML layer (an override file, `-f`, standard input).
    pub fn layer(&mut self, name: &str, kind: SourceKind, text: &str) -> Result<&mut Self, Error> {
        let id = self.sources.add(name, kind, text);
        let node = parse_layer(id, text)?;
        self.layers.push(Layer::Tree(node));
        Ok(self)
    }

    /// Adds secret values (a `--secrets-file`: a mapping of component to key to string).
    /// They reach components through [`crate::Context::secrets_of`], never a layer.
    pub fn secrets(&mut self, name: &str, text: &str) -> Result<&mut Self, Error> {
        // The text is not kept in the source map: excerpts would print secret values.
        let id = self.sources.add(name, SourceKind::File, "");
        let node = parse_layer(id, text).map_err(|e| {
            Error::new(ErrorKind::Yaml("malformed secrets file".into()))
                .at(e.span().map_or(Span::whole(id), |s| Span { col: 0, ..s }))
        })?;
        for e in node.as_map().unwrap_or(&[]) {
            let Some(values) = e.node.as_map() else {
                return Err(
                    Error::invalid(format!("secrets of `{}` must be a mapping of key to string", e.key)).at(e.key_span)
                );
            };
            // Components read their secrets by canonical name; an alias (`edns`) is stored
            // under it, and a name no component has is a typo that would drop the values.
            let group = match crate::ALL.iter().find(|c| c.name() == e.key || c.aliases().contains(&e.key.as_str())) {
                Some(c) => c.name(),
                None if SHARED_SECRET_GROUPS.contains(&e.key.as_str()) => e.key.as_str(),
                None => {
                    let mut err = Error::new(ErrorKind::UnknownKey { what: "component".into() }).at(e.key_span);
                    let names = crate::ALL.iter().map(|c| c.name()).chain(SHARED_SECRET_GROUPS.iter().copied());
                    if let Some(m) = runway_core::suggest::best_match(&e.key, names) {
                        err = err.help(format!("did you mean `{m}`?"));
                    }
                    return Err(err.with_path(runway_core::KeyPath::root().key(&e.key)));
                }
            };
            let slot = self.secrets.entry(group.to_string()).or_default();
            for v in values {
                let Some(text) = v.node.as_str() else {
                    return Err(Error::invalid(format!("secret `{}.{}` must be a string (quote it)", e.key, v.key))
                        .at(v.key_span));
                };
                slot.insert(v.key.clone(), text.to_string());
            }
        }
        Ok(self)
    }

    /// Adds a `--set path=value` flag (`string` for `--set-string`).
    pub fn set(&mut self, expr: &str, string: bool) -> Result<&mut Self, Error> {
        let text = format!("{} {expr}", if string { "--set-string" } else { "--set" });
        let id = self.sources.add(text.clone(), SourceKind::Set, text.clone());
        let flag = parse_set(id, &text, string)?;
        self.layers.push(Layer::Set(flag));
        Ok(self)
    }

    /// Adds a `--set-file path=FILE` flag: the value at `path` is the file's text (a
    /// dashboard's JSON, a certificate), as a string.
    /// A file named `*.json` must hold valid JSON (a dashboard export): otherwise the error
    /// points at the file's line and column.
    pub fn set_file(&mut self, path: &str, file_name: &str, content: &str) -> Result<&mut Self, Error> {
        if file_name.ends_with(".json") {
            if let Err(e) = serde_json::from_str::<serde_json::Value>(content) {
                let file = self.sources.add(file_name, SourceKind::File, content);
                let at = Span { source: file, line: saturate(e.line()), col: saturate(e.column()) };
                let what = e.to_string();
                let what = what.split(" at line ").next().unwrap_or(&what).to_string();
                return Err(Error::invalid(format!("`{file_name}` is not valid JSON: {what}"))
                    .at(at)
                    .with_path(runway_core::KeyPath::parse(path).unwrap_or_default())
                    .help("give the file as exported (Grafana's \"Export for sharing externally\", or grafana.com's download)"));
            }
        }
        let text = format!("--set-file {path}={file_name}");
        let id = self.sources.add(text.clone(), SourceKind::Set, text.clone());
        let mut flag = parse_set(id, &format!("--set-string {path}="), true)?;
        flag.value = Node::new(Value::Str(content.to_string()), Span { source: id, line: 1, col: 1 });
        flag.path_span = Span { source: id, line: 1, col: 12 };
        self.layers.push(Layer::Set(flag));
        Ok(self)
    }

    /// Adds a stack file's layer content and returns what else it says (platform name,
    /// override paths) for the caller to act on: choosing the platform and reading the
    /// override files is the caller's job, because only it knows where files are.
    pub fn stack_file(&mut self, name: &str, text: &str) -> Result<StackFile, Error> {
        let id = self.sources.add(name, SourceKind::Stack, text);
        let node = parse_layer(id, text)?;
        self.stack_node(node)
    }

    /// [`Stack::stack_file`] for a file parsed once beforehand (a fleet's shared stack).
    pub fn parsed_stack_file(&mut self, file: &ParsedFile) -> Result<StackFile, Error> {
        let node = self.add_parsed(file, SourceKind::Stack);
        self.stack_node(node)
    }

    /// Adds a layer parsed once beforehand ([`Stack::layer`] without the parsing): many
    /// stacks can share one [`ParsedFile`].
    pub fn parsed_layer(&mut self, file: &ParsedFile, kind: SourceKind) -> &mut Self {
        let node = self.add_parsed(file, kind);
        self.layers.push(Layer::Tree(node));
        self
    }

    /// Chooses a platform base parsed once beforehand: an embedded one (`by` says who
    /// chose it, as for [`Stack::platform`]) or a platform file (`by` is `None`).
    pub fn parsed_platform(&mut self, name: &str, by: Option<&str>, file: &ParsedFile) -> Result<&mut Self, Error> {
        if let Some((prev, prev_by)) = &self.platform_choice {
            match by {
                Some(_) if prev == name => return Ok(self),
                Some(by) => {
                    return Err(Error::new(ErrorKind::Conflict(format!(
                        "platform `{name}` from {by} conflicts with platform `{prev}` from {prev_by}"
                    )))
                    .help("choose the platform in one place: the stack file or the fleet file"))
                }
                None => {
                    return Err(Error::new(ErrorKind::Conflict(format!(
                        "platform file `{name}` conflicts with platform `{prev}` from {prev_by}"
                    )))
                    .help("a platform file replaces the embedded base: give one or the other"))
                }
            }
        }
        let node = self.add_parsed(file, SourceKind::Platform);
        self.platform = Some(node);
        self.platform_choice = Some((name.to_string(), by.unwrap_or("a platform file").to_string()));
        Ok(self)
    }

    /// Adds `file`'s text to the sources and returns its tree pointing at it.
    fn add_parsed(&mut self, file: &ParsedFile, kind: SourceKind) -> Node {
        let id = self.sources.add(file.name.as_str(), kind, file.text.as_str());
        let mut node = file.node.clone();
        set_source(&mut node, id);
        node
    }

    fn stack_node(&mut self, node: Node) -> Result<StackFile, Error> {
        let mut out = StackFile::default();
        let mut rest = Vec::new();
        let Value::Map(entries) = node.value else {
            return Err(Error::new(ErrorKind::NotMapping { found: node.type_name() }).at(node.span()));
        };
        for e in entries {
            match e.key.as_str() {
                "platform" => match &e.node.value {
                    Value::Str(s) => out.platform = Some((s.clone(), e.node.span())),
                    Value::Map(_) => {
                        if let Some(n) = e.node.get("name") {
                            match n.as_str() {
                                Some(s) => out.platform = Some((s.to_string(), n.span())),
                                None => return Err(Error::invalid("`platform.name` must be a string").at(n.span())),
                            }
                        }
                        rest.push(e);
                    }
                    _ => {
                        return Err(Error::invalid(format!(
                            "`platform` must be a platform name or a mapping, found a {}",
                            e.node.type_name()
                        ))
                        .at(e.node.span()))
                    }
                },
                "overrides" => out.overrides = string_list(&e.node, "overrides")?,
                "components" => self.only = Some(string_list(&e.node, "components")?),
                _ => rest.push(e),
            }
        }
        self.layers.push(Layer::Tree(Node { value: Value::Map(rest), trail: node.trail }));
        Ok(out)
    }
}

/// A layer file read and parsed once, to be added to many stacks (a fleet's platform
/// bases, stack files and shared layers): parsing is paid once, not once per cluster.
#[derive(Clone, Debug)]
pub struct ParsedFile {
    /// The name shown in messages (the path as the user gave it).
    pub name: String,
    /// The text, for excerpts.
    pub text: String,
    node: Node,
}

impl ParsedFile {
    /// Parses `text`; an error is rendered against a source map holding only this file.
    pub fn parse(name: &str, kind: SourceKind, text: &str) -> Result<Self, (Error, SourceMap)> {
        let mut sources = SourceMap::new();
        let id = sources.add(name, kind, text);
        match parse_layer(id, text) {
            Ok(node) => Ok(ParsedFile { name: name.to_string(), text: text.to_string(), node }),
            Err(e) => Err((e, sources)),
        }
    }
}

/// Points every span of a freshly parsed tree (one source) at `id`.
fn set_source(node: &mut Node, id: runway_core::SourceId) {
    for s in &mut node.trail {
        s.source = id;
    }
    match &mut node.value {
        Value::Seq(items) => items.iter_mut().for_each(|n| set_source(n, id)),
        Value::Map(entries) => {
            for e in entries {
                e.key_span.source = id;
                set_source(&mut e.node, id);
            }
        }
        _ => {}
    }
}

fn string_list(n: &Node, key: &str) -> Result<Vec<(String, Span)>, Error> {
    let Value::Seq(items) = &n.value else {
        return Err(
            Error::invalid(format!("`{key}` must be a list of strings, found a {}", n.type_name())).at(n.span())
        );
    };
    items
        .iter()
        .map(|i| match i.as_str() {
            Some(s) => Ok((s.to_string(), i.span())),
            None => {
                Err(Error::invalid(format!("`{key}` must be a list of strings, found a {}", i.type_name()))
                    .at(i.span()))
            }
        })
        .collect()
}

/// A line or column as a span holds it.
fn saturate(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
