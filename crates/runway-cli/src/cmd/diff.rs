//! `runway diff OLD NEW`, `runway diff --base REV [layer flags]`, and the reading of renders (files, directories, `-`) that
//! `runway render --check-upgrade` shares. The comparison itself is `runway_core::diff`.

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};

use clap::ArgMatches;
use runway_components::ALL;
use runway_core::diff::{diff, DiffOptions, ImmutableChange};
use serde::Deserialize;
use serde_json::Value;

use super::git::GitRev;
use super::layers::{self, Inputs, WorkTree};
use crate::args::{DiffArgs, DiffFormat, LayerArgs};

/// Runs `runway diff`: `Ok((stdout, changed))`, or the error message.
pub fn run(a: &DiffArgs, matches: Option<&ArgMatches>) -> Result<(String, bool), String> {
    if a.graph && a.format != DiffFormat::Markdown {
        return Err("error: `--graph` goes with `--format markdown` (a Mermaid graph in the comment)\n".to_string());
    }
    let (old, new) = match (&a.base, &a.old, &a.new) {
        (Some(rev), _, _) => render_both(rev, &a.layers, matches)?,
        (None, Some(old), Some(new)) => {
            if has_layers(&a.layers) {
                return Err("error: layer flags (`--stack`, `--platform`, `-f`, `--set`, ...) go with `--base REV`; \
                     to compare two renders, give only OLD and NEW\n"
                    .to_string());
            }
            let mut stdin_used = false;
            let old = read_render(old, &mut stdin_used)?;
            (old, read_render(new, &mut stdin_used)?)
        }
        // clap requires OLD and NEW unless `--base` is given.
        _ => return Err("error: give OLD and NEW, or `--base REV` with layer flags\n".to_string()),
    };
    let d = diff(&old, &new, DiffOptions { show_secrets: a.show_secrets });
    let text = match a.format {
        DiffFormat::Text => {
            let colour = colour(std::io::stdout().is_terminal(), std::env::var_os("NO_COLOR").as_deref());
            d.to_text(colour)
        }
        DiffFormat::Markdown if a.graph && !d.is_empty() => {
            let graph = runway_core::graph::Graph::of_diff(&d, &old, &new);
            format!(
                "{}\n#### The changed objects and their neighbours\n\n```mermaid\n{}```\n",
                d.to_markdown(),
                graph.to_mermaid()
            )
        }
        DiffFormat::Markdown => d.to_markdown(),
        DiffFormat::Json => runway_core::emit::to_json_pretty(&d.to_json()),
    };
    Ok((text, !d.is_empty()))
}

/// Colour only on a terminal, and never when `NO_COLOR` is set to a non-empty value
/// (no-color.org).
fn colour(terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    terminal && no_color.is_none_or(|v| v.is_empty())
}

/// True when any layer flag was given.
fn has_layers(l: &LayerArgs) -> bool {
    l.platform.is_some()
        || l.platform_file.is_some()
        || l.stack.is_some()
        || !l.files.is_empty()
        || !l.sets.is_empty()
        || !l.set_strings.is_empty()
        || !l.set_files.is_empty()
        || !l.secrets_files.is_empty()
}

/// The working tree, with standard input read once for both renders.
struct Local(Option<String>);

impl Inputs for Local {
    fn read(&self, path: &Path) -> Result<String, runway_core::Error> {
        WorkTree.read(path)
    }

    fn stdin(&self) -> Result<String, runway_core::Error> {
        match &self.0 {
            Some(text) => Ok(text.clone()),
            None => WorkTree.stdin(),
        }
    }
}

/// Renders the stack of `layers` at revision `rev` and in the working tree.
fn render_both(
    rev: &str,
    layers: &LayerArgs,
    matches: Option<&ArgMatches>,
) -> Result<(Vec<Value>, Vec<Value>), String> {
    if !has_layers(layers) {
        return Err(format!(
            "error: `--base {rev}` renders a stack at two revisions, but no layer flags were given\n  = help: give the stack as for `runway render`: `runway diff --base {rev} --stack STACK.yaml`\n"
        ));
    }
    let stdin = if layers.files.iter().any(|f| f.as_os_str() == "-") {
        Some(WorkTree.stdin().map_err(|e| e.render(&Default::default()))?)
    } else {
        None
    };
    let at_rev = GitRev::open(rev, stdin.clone())?;
    let render = |inputs: &dyn Inputs, what: &str| -> Result<Vec<Value>, String> {
        let note = |m: String| format!("{m}  = note: while rendering the stack {what}\n");
        let stack = layers::build_from(layers, matches, inputs).map_err(note)?;
        let out = stack.render(ALL).map_err(|e| note(e.render()))?;
        Ok(out.objects.into_iter().map(|o| o.value.into_value()).collect())
    };
    let old = render(&at_rev, &format!("at revision `{rev}`"))?;
    let new = render(&Local(stdin), "in the working tree")?;
    Ok((old, new))
}

/// The error message of `--check-upgrade`: one error per immutable change.
pub fn upgrade_errors(changes: &[ImmutableChange]) -> String {
    let mut msg = String::new();
    for c in changes {
        msg.push_str(&format!(
            "error: {}/{}/{}: {}: immutable field changed, the API server will refuse the apply\n  = help: {}\n",
            c.id.kind,
            if c.id.namespace.is_empty() { "-" } else { &c.id.namespace },
            c.id.name,
            c.path,
            c.hint
        ));
    }
    msg.push_str(&format!(
        "error: refusing the render: {} immutable field change(s) from the previous render\n",
        changes.len()
    ));
    msg
}

/// Reads a render: a file, every `*.yaml`/`*.yml`/`*.json` file below a directory (sorted by
/// path), or standard input for `-` (at most once per command).
pub fn read_render(path: &Path, stdin_used: &mut bool) -> Result<Vec<Value>, String> {
    if path.as_os_str() == "-" {
        if *stdin_used {
            return Err("error: `-` (standard input) can be given only once\n".to_string());
        }
        *stdin_used = true;
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map_err(|e| format!("error: cannot read standard input: {e}\n"))?;
        return parse(&text, "<stdin>", false);
    }
    if path.is_dir() {
        let mut files = Vec::new();
        walk(path, &mut files).map_err(|e| format!("error: {}: cannot read directory: {e}\n", path.display()))?;
        files.sort();
        let mut out = Vec::new();
        for f in files {
            out.extend(read_file(&f)?);
        }
        return Ok(out);
    }
    read_file(path)
}

fn read_file(path: &Path) -> Result<Vec<Value>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        let reason = match e.kind() {
            std::io::ErrorKind::NotFound => "no such file".to_string(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
            std::io::ErrorKind::InvalidData => "not UTF-8 text".to_string(),
            _ => e.to_string(),
        };
        // Worded as every other input error (`files::read_file`).
        format!("error: cannot read `{}`: {reason}\n", path.display())
    })?;
    let json = path.extension().is_some_and(|e| e == "json");
    parse(&text, &path.display().to_string(), json)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let p = entry?.path();
        if p.is_dir() {
            walk(&p, out)?;
        } else if p.extension().is_some_and(|e| e == "yaml" || e == "yml" || e == "json") {
            out.push(p);
        }
    }
    Ok(())
}

/// Parses a YAML stream (JSON is YAML too) into objects, flattening `List` objects and
/// skipping empty documents.
fn parse(text: &str, name: &str, json: bool) -> Result<Vec<Value>, String> {
    let docs: Vec<Value> = if json || text.trim_start().starts_with('{') {
        vec![serde_json::from_str(text).map_err(|e| format!("error: {name}: not valid JSON: {e}\n"))?]
    } else {
        let mut docs = Vec::new();
        for doc in serde_yaml::Deserializer::from_str(text) {
            docs.push(Value::deserialize(doc).map_err(|e| format!("error: {name}: not valid YAML: {e}\n"))?);
        }
        docs
    };
    let mut out = Vec::new();
    for d in docs {
        flatten(d, name, &mut out)?;
    }
    Ok(out)
}

fn flatten(doc: Value, name: &str, out: &mut Vec<Value>) -> Result<(), String> {
    match doc {
        Value::Null => Ok(()),
        Value::Object(ref m) if m.get("kind").and_then(Value::as_str).is_some_and(|k| k.ends_with("List")) => {
            if let Some(Value::Array(items)) = m.get("items") {
                for item in items {
                    flatten(item.clone(), name, out)?;
                }
            }
            Ok(())
        }
        Value::Object(_) => {
            out.push(doc);
            Ok(())
        }
        _ => Err(format!("error: {name}: a document is not a Kubernetes object (a mapping)\n")),
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;

    use super::colour;

    #[test]
    fn colour_needs_a_terminal_and_no_no_color() {
        assert!(colour(true, None));
        assert!(!colour(false, None));
        assert!(!colour(true, Some(OsStr::new("1"))));
        assert!(!colour(false, Some(OsStr::new("1"))));
        // no-color.org: an empty value does not disable colour.
        assert!(colour(true, Some(OsStr::new(""))));
    }
}
