//! `runway diff OLD NEW` and the reading of renders (files, directories, `-`) that
//! `runway render --check-upgrade` shares. The comparison itself is `runway_core::diff`.

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};

use runway_core::diff::{diff, DiffOptions, ImmutableChange};
use serde::Deserialize;
use serde_json::Value;

use crate::args::{DiffArgs, DiffFormat};

/// Runs `runway diff`: `Ok((stdout, changed))`, or the error message.
pub fn run(a: &DiffArgs) -> Result<(String, bool), String> {
    let mut stdin_used = false;
    let old = read_render(&a.old, &mut stdin_used)?;
    let new = read_render(&a.new, &mut stdin_used)?;
    let d = diff(&old, &new, DiffOptions { show_secrets: a.show_secrets });
    let text = match a.format {
        DiffFormat::Text => {
            let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            d.to_text(colour)
        }
        DiffFormat::Markdown => d.to_markdown(),
        DiffFormat::Json => runway_core::emit::to_json_pretty(&d.to_json()),
    };
    Ok((text, !d.is_empty()))
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
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("error: {}: cannot read file: {e}\n", path.display()))?;
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
