//! Reads runway's YAML back with a YAML 1.1 parser (PyYAML) and checks it is what was meant.
//!
//! kubectl, Argo CD and Flux read YAML 1.1 (go-yaml), where `on`, `yes`, `y`, `NO`, `0777` and
//! `12:30` are not strings; serde_yaml, which the unit tests of `emit.rs` read back with, speaks
//! YAML 1.2 and cannot catch a string that 1.1 would turn into a bool or a number. So this test
//! writes a corpus of tricky strings with `emit::to_yaml_stream`, loads the file with
//! `yaml.safe_load_all` in `python3`, and compares the JSON it prints with the input, value for
//! value. Without PyYAML it fails (`pip install pyyaml`): it never passes silently.

use std::path::PathBuf;
use std::process::Command;

use runway_core::emit::to_yaml_stream;
use serde_json::{json, Map, Value};

/// Loads every document of the file named by argv[1] and prints them as one JSON array.
/// Anything that is not plain JSON data (a non-string key, a date) is made visible instead of
/// being converted quietly by `json.dumps`.
const LOAD_SCRIPT: &str = r#"
import json, sys, yaml
def plain(o):
    if isinstance(o, dict):
        return {(k if isinstance(k, str) else "<<non-string key %r>>" % (k,)): plain(v) for k, v in o.items()}
    if isinstance(o, list):
        return [plain(x) for x in o]
    if o is None or isinstance(o, (str, bool, int, float)):
        return o
    return {"<<not JSON>>": repr(o)}
with open(sys.argv[1], encoding="utf-8") as f:
    docs = [plain(d) for d in yaml.safe_load_all(f)]
sys.stdout.write(json.dumps(docs))
"#;

#[test]
fn pyyaml_reads_back_every_tricky_value() {
    require_pyyaml();
    let corpus = tricky_strings();
    let mut docs = vec![
        // Each string as a value, under its own key.
        Value::Object(corpus.iter().enumerate().map(|(i, s)| (format!("v{i:05}"), json!(s))).collect()),
        // Each string as a key.
        Value::Object(corpus.iter().map(|s| (s.clone(), json!(1))).collect()),
        // In sequences, nested sequences and mappings inside sequences.
        Value::Array(corpus.iter().map(|s| json!([s, [s, [s]], { "k": s, "l": [s, { "m": s }] }])).collect()),
        json!({ "numbers": [0, -1, 1.0, -0.0, 0.5, 1e20, 1.5e-7, 1.5e300, u64::MAX, i64::MIN] }),
        json!({ "empty": [{}, [], { "a": {} }, { "b": [] }], "null": null, "bools": [true, false] }),
    ];
    // Each string as a document of its own, where `---` and `...` would be markers.
    docs.extend(corpus.iter().map(|s| json!(s)));

    let yaml = to_yaml_stream(&docs);
    let path = temp_path("yaml11_readback.yaml");
    std::fs::write(&path, &yaml).expect("write temp file");
    let output = Command::new("python3").arg("-c").arg(LOAD_SCRIPT).arg(&path).output().expect("run python3");
    let _ = std::fs::remove_file(&path);
    assert!(output.status.success(), "PyYAML could not load the stream: {}", String::from_utf8_lossy(&output.stderr));
    let read: Vec<Value> = serde_json::from_slice(&output.stdout).expect("python printed JSON");

    assert_eq!(read.len(), docs.len(), "document count");
    for (index, (got, want)) in read.iter().zip(&docs).enumerate() {
        if let Some(difference) = first_difference(got, want, &format!("document {index}")) {
            panic!("PyYAML read back something else: {difference}");
        }
    }
}

/// Fails, with the fix in the message, when `python3` or PyYAML is missing.
fn require_pyyaml() {
    let status = Command::new("python3").args(["-c", "import yaml"]).output().map(|output| output.status.success());
    assert!(
        matches!(status, Ok(true)),
        "this test needs python3 with PyYAML (a YAML 1.1 reader, like kubectl's): \
         run `pip install pyyaml` (or `apt-get install python3-yaml`)"
    );
}

/// A path in the temp directory unique to this process.
fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("runway-{}-{name}", std::process::id()))
}

/// Where `got` first differs from `want`, as a path and both values.
fn first_difference(got: &Value, want: &Value, path: &str) -> Option<String> {
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => {
            if let Some(key) = w.keys().find(|k| !g.contains_key(*k)) {
                return Some(format!("{path}: key {key:?} missing; extra keys: {:?}", extra_keys(g, w)));
            }
            if let Some(key) = g.keys().find(|k| !w.contains_key(*k)) {
                return Some(format!("{path}: unexpected key {key:?}"));
            }
            w.iter().find_map(|(k, wv)| first_difference(&g[k], wv, &format!("{path}.{k:?}")))
        }
        (Value::Array(g), Value::Array(w)) if g.len() == w.len() => {
            g.iter().zip(w).enumerate().find_map(|(i, (gv, wv))| first_difference(gv, wv, &format!("{path}[{i}]")))
        }
        _ if got == want => None,
        _ => Some(format!("{path}: got {got:?}, want {want:?}")),
    }
}

fn extra_keys<'a>(got: &'a Map<String, Value>, want: &Map<String, Value>) -> Vec<&'a String> {
    got.keys().filter(|k| !want.contains_key(*k)).collect()
}

// The same corpus as the property test in `emit.rs`: words YAML 1.1 or 1.2 would resolve to
// something else, numbers, dates, indicators, Unicode, multi-line text, plus every string of
// up to 3 characters over an alphabet of number, indicator and whitespace characters and of
// up to 4 over number characters.
include!("../testdata/tricky_strings.rs");
