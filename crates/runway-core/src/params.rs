//! Typed parameters read from a merged, spanned tree.
//!
//! Unknown keys are found by walking the tree beside the parameters' JSON schema
//! (schemars), before serde runs, because serde's own message has neither a position
//! nor a suggestion. Type errors come from serde (through serde_path_to_error) and are
//! pointed at the value that caused them.

use schemars::JsonSchema;
use serde::de::DeserializeOwned;

use crate::error::{Error, ErrorKind};
use crate::node::Node;
use crate::path::KeyPath;
use crate::suggest::best_match;

/// The JSON schema of a parameter type, as a plain JSON value.
pub fn schema_of<P: JsonSchema>() -> serde_json::Value {
    schemars::schema_for!(P).to_value()
}

/// [`schema_of`], generated once per type and process: a type's schema never changes, and
/// generating it was a measurable part of every render (a fleet reads every component's
/// parameters once per cluster).
fn cached_schema_of<P: JsonSchema + 'static>() -> std::sync::Arc<serde_json::Value> {
    type Memo = std::collections::BTreeMap<std::any::TypeId, std::sync::Arc<serde_json::Value>>;
    static MEMO: std::sync::Mutex<Memo> = std::sync::Mutex::new(std::collections::BTreeMap::new());
    let id = std::any::TypeId::of::<P>();
    // Entries are inserted whole, so a lock poisoned elsewhere still holds good schemas.
    if let Some(s) = MEMO.lock().unwrap_or_else(|e| e.into_inner()).get(&id) {
        return s.clone();
    }
    let schema = std::sync::Arc::new(schema_of::<P>());
    MEMO.lock().unwrap_or_else(|e| e.into_inner()).entry(id).or_insert(schema).clone()
}

/// Reads `P` from `node`. `prefix` is the path of `node` (for messages); `what` names
/// the owner (`elasticsearch`) for "not a parameter of" notes.
pub fn read_params<P: DeserializeOwned + JsonSchema + 'static>(
    node: &Node,
    prefix: &KeyPath,
    what: &str,
) -> Result<P, Error> {
    let schema = cached_schema_of::<P>();
    check_unknown_keys(node, &schema, &schema, prefix, what)?;
    let json = node.to_json();
    serde_path_to_error::deserialize(&json).map_err(|e| {
        let rel = KeyPath::parse(&e.path().to_string()).unwrap_or_default();
        let span = node.span_of(&rel);
        let mut full = prefix.clone();
        full.0.extend(rel.0);
        Error::invalid(tidy_serde_message(&e.inner().to_string())).at(span).with_path(full)
    })
}

/// Rewords serde's messages the way the rest of runway speaks (`expected u32` becomes
/// `expected a whole number`); shared with the object round-trip.
pub fn tidy_serde_message(msg: &str) -> String {
    // A wrong value of the right type is out of range: say the range. A wrong type is
    // not: "a whole number" says enough.
    let range = msg.starts_with("invalid value: ");
    let mut out = msg.replace("invalid type: ", "wrong type: found ").replace("invalid value: ", "wrong value: found ");
    for (rust, words, range_words) in [
        ("expected u8", "expected a whole number", "expected a whole number from 0 to 255"),
        ("expected u16", "expected a whole number", "expected a whole number from 0 to 65535"),
        ("expected u32", "expected a whole number", "expected a whole number from 0 to 4294967295"),
        ("expected u64", "expected a whole number", "expected a whole number, 0 or more"),
        ("expected i32", "expected a whole number", "expected a whole number from -2147483648 to 2147483647"),
        ("expected i64", "expected a whole number", "expected a whole number"),
        ("expected usize", "expected a whole number", "expected a whole number, 0 or more"),
        ("expected f64", "expected a number", "expected a number"),
        ("expected a sequence", "expected a list", "expected a list"),
        ("expected a map", "expected a mapping", "expected a mapping"),
    ] {
        if let Some(rest) = out.strip_suffix(rust) {
            out = format!("{rest}{}", if range { range_words } else { words });
        }
    }
    out = out.replace("sequence, expected", "list, expected").replace("found map,", "found mapping,");
    if let Some(i) = out.find("expected struct ") {
        out = format!("{}expected a mapping", &out[..i]);
    }
    out
}

/// Follows `$ref` into `root`'s `$defs`.
fn deref<'a>(root: &'a serde_json::Value, s: &'a serde_json::Value) -> &'a serde_json::Value {
    let mut cur = s;
    for _ in 0..16 {
        match cur.get("$ref").and_then(|r| r.as_str()) {
            Some(r) => {
                let name = r.rsplit('/').next().unwrap_or("");
                match root
                    .get("$defs")
                    .and_then(|d| d.get(name))
                    .or_else(|| root.get("definitions").and_then(|d| d.get(name)))
                {
                    Some(next) => cur = next,
                    None => return cur,
                }
            }
            None => return cur,
        }
    }
    cur
}

/// The object schemas a value may match (through `anyOf`/`oneOf`/`allOf`, for `Option`s).
fn object_branches<'a>(root: &'a serde_json::Value, s: &'a serde_json::Value, out: &mut Vec<&'a serde_json::Value>) {
    let s = deref(root, s);
    if s.get("properties").is_some() || s.get("additionalProperties").is_some() {
        out.push(s);
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(list) = s.get(key).and_then(|l| l.as_array()) {
            for b in list {
                object_branches(root, b, out);
            }
        }
    }
}

fn item_schema<'a>(root: &'a serde_json::Value, s: &'a serde_json::Value) -> Option<&'a serde_json::Value> {
    let s = deref(root, s);
    if let Some(items) = s.get("items") {
        return Some(items);
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(list) = s.get(key).and_then(|l| l.as_array()) {
            if let Some(found) = list.iter().find_map(|b| item_schema(root, b)) {
                return Some(found);
            }
        }
    }
    None
}

/// Rejects keys of `node` that `schema` does not allow, with a did-you-mean.
pub fn check_unknown_keys(
    node: &Node,
    root: &serde_json::Value,
    schema: &serde_json::Value,
    path: &KeyPath,
    what: &str,
) -> Result<(), Error> {
    if let Some(entries) = node.as_map() {
        let mut branches = Vec::new();
        object_branches(root, schema, &mut branches);
        if branches.is_empty() {
            return Ok(());
        }
        for e in entries {
            let mut sub = None;
            let mut closed = true;
            for b in &branches {
                if let Some(p) = b.get("properties").and_then(|p| p.get(&e.key)) {
                    sub = Some(p);
                    break;
                }
                match b.get("additionalProperties") {
                    Some(serde_json::Value::Bool(false)) => {}
                    Some(serde_json::Value::Bool(true)) | None => closed = false,
                    Some(s) => {
                        closed = false;
                        sub = Some(s);
                    }
                }
            }
            match sub {
                Some(s) => check_unknown_keys(&e.node, root, s, &path.key(&e.key), what)?,
                None if closed => {
                    let known: Vec<&str> = branches
                        .iter()
                        .filter_map(|b| b.get("properties").and_then(|p| p.as_object()))
                        .flat_map(|p| p.keys().map(String::as_str))
                        .collect();
                    let mut err = Error::new(ErrorKind::UnknownKey {
                        what: if path.segments().len() <= 1 { "parameter".into() } else { "key".into() },
                    })
                    .at(e.key_span)
                    .with_path(path.key(&e.key));
                    if let Some(m) = best_match(&e.key, known.iter().copied()) {
                        err = err.help(format!("did you mean `{m}`?"));
                    }
                    return Err(err.note(format!("`runway components {what}` lists its parameters")));
                }
                None => {}
            }
        }
    } else if let crate::node::Value::Seq(items) = &node.value {
        if let Some(is) = item_schema(root, schema) {
            for (i, item) in items.iter().enumerate() {
                check_unknown_keys(item, root, is, &path.index(i), what)?;
            }
        }
    }
    Ok(())
}

/// Appends a relative path to a prefix.
pub fn join(prefix: &KeyPath, rel: &KeyPath) -> KeyPath {
    let mut p = prefix.clone();
    p.0.extend(rel.0.iter().cloned());
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::parse_layer;
    use crate::source::SourceId;
    use serde::Deserialize;

    #[derive(Debug, Default, Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields, default)]
    struct Inner {
        memory: Option<String>,
    }

    #[derive(Debug, Default, Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields, default)]
    struct P {
        replicas: u32,
        retention_days: u32,
        resources: Inner,
        labels: std::collections::BTreeMap<String, String>,
    }

    fn read(text: &str) -> Result<P, Error> {
        let n = parse_layer(SourceId(0), text).unwrap();
        read_params::<P>(&n, &KeyPath::root().key("es"), "es")
    }

    #[test]
    fn typed_params_read() {
        let p = read("replicas: 5\nlabels: {a: b}\n").unwrap();
        assert_eq!(p.replicas, 5);
    }

    #[test]
    fn unknown_parameter_suggests_the_closest() {
        let e = read("retension_days: 3\n").unwrap_err();
        assert_eq!(e.helps(), ["did you mean `retention_days`?"]);
        assert_eq!(e.span().map(|s| (s.line, s.col)), Some((1, 1)));
        assert_eq!(e.path().unwrap().to_string(), "es.retension_days");
    }

    #[test]
    fn unknown_nested_key_is_found() {
        let e = read("resources:\n  memmory: 1Gi\n").unwrap_err();
        assert_eq!(e.path().unwrap().to_string(), "es.resources.memmory");
        assert_eq!(e.span().map(|s| s.line), Some(2));
    }

    #[test]
    fn free_form_maps_accept_any_key() {
        assert!(read("labels: {anything: x}\n").is_ok());
    }

    #[test]
    fn wrong_type_points_at_the_value() {
        let e = read("replicas: many\n").unwrap_err();
        assert_eq!(e.path().unwrap().to_string(), "es.replicas");
        assert_eq!(e.span().map(|s| (s.line, s.col)), Some((1, 11)));
    }
}
