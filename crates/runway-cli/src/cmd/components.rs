//! `runway components [NAME]`: the catalogue, generated from the components' own types.

use std::fmt::Write as _;

use runway_components::{ErasedComponent, ALL};
use runway_core::suggest::best_match;

/// Lists all components, or describes one.
pub fn run(name: Option<&str>) -> Result<String, String> {
    let mut out = String::new();
    let Some(name) = name else {
        let width = ALL.iter().map(|c| c.name().len()).max().unwrap_or(0);
        for c in ALL {
            let opt_in = if c.default_enabled() { "" } else { " (opt-in: list it in a stack's `components:`)" };
            let _ = writeln!(out, "{:<width$}  {}{opt_in}", c.name(), c.summary());
        }
        return Ok(out);
    };
    let Some(c) = ALL.iter().find(|c| c.name() == name || c.aliases().contains(&name)) else {
        let mut msg = format!("error: unknown component `{name}`\n");
        if let Some(m) = best_match(name, ALL.iter().map(|c| c.name())) {
            let _ = writeln!(msg, "  = help: did you mean `{m}`?");
        }
        let _ = writeln!(msg, "  = note: `runway components` lists the components");
        return Err(msg);
    };
    describe(*c, &mut out);
    Ok(out)
}

fn describe(c: &dyn ErasedComponent, out: &mut String) {
    let _ = writeln!(out, "{}: {}", c.name(), c.summary());
    if !c.aliases().is_empty() {
        let _ = writeln!(out, "also accepted as: {}", c.aliases().join(", "));
    }
    let schema = c.params_schema();
    let defaults = c.default_params();
    let _ = writeln!(out, "\nparameters (`{}.NAME` in a layer, `--set {}.NAME=VALUE`):", c.name(), c.name());
    if let Some(props) = schema.get("properties").and_then(|p| p.as_object()) {
        for (k, s) in props {
            let ty = type_of(s);
            let default = defaults.get(k).map(|d| serde_json::to_string(d).unwrap_or_default()).unwrap_or_default();
            let doc = s.get("description").and_then(|d| d.as_str()).unwrap_or("").replace('\n', " ");
            let _ = writeln!(out, "  {k}: {ty} = {default}");
            if !doc.is_empty() {
                let _ = writeln!(out, "      {doc}");
            }
        }
    }
    let _ = writeln!(
        out,
        "\nobjects (patch under `{}.KEY`, e.g. `{}.{}.spec`):",
        c.name(),
        c.name(),
        c.objects().first().map_or("sts", |o| o.key)
    );
    for o in c.objects() {
        let _ = writeln!(out, "  {}: {} - {}", o.key, o.kind, o.doc);
    }
}

/// A short type name from a schema (`integer`, `string`, `Quantity`, `object`, `x | null`).
fn type_of(s: &serde_json::Value) -> String {
    if let Some(r) = s.get("$ref").and_then(|r| r.as_str()) {
        let name = r.rsplit('/').next().unwrap_or("object");
        return name.to_string();
    }
    if let Some(t) = s.get("type") {
        return match t {
            serde_json::Value::String(t) => t.clone(),
            serde_json::Value::Array(ts) => ts.iter().filter_map(|t| t.as_str()).collect::<Vec<_>>().join(" | "),
            _ => "value".into(),
        };
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(list) = s.get(key).and_then(|l| l.as_array()) {
            return list.iter().map(type_of).collect::<Vec<_>>().join(" | ");
        }
    }
    if s.get("enum").is_some() {
        return "enum".into();
    }
    "value".into()
}
