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

/// The same corpus as the property test in `emit.rs`: words YAML 1.1 or 1.2 would resolve to
/// something else, numbers, dates, indicators, Unicode, multi-line text, plus every string of
/// up to 3 characters over an alphabet of number, indicator and whitespace characters and of
/// up to 4 over number characters.
#[rustfmt::skip] // a data table, kept compact
fn tricky_strings() -> Vec<String> {
    let mut words: Vec<String> = [
        "", " ", "  ", "~", "null", "Null", "NULL", "nULL", "y", "Y", "yes", "Yes", "YES", "yEs",
        "n", "N", "no", "No", "NO", "true", "True", "TRUE", "tRUE", "false", "False", "FALSE",
        "on", "On", "ON", "oN", "off", "Off", "OFF", "<<", "=", "-", "--", "---", "...", "?",
        ":", "-a", "- a", "? a", ": a", "a:", "a: b", "a:b", "a #b", "a#b", "#a", "&a", "*a",
        "!a", "!!str", "|", ">", "'", "\"", "%a", "@a", "`a", ",", "[", "]", "{", "}", "[a]",
        "{a: b}", "a,b", "0", "1", "-1", "+1", "01", "0777", "0o17", "0x1F", "0X1f", "0b101",
        "1_000", "1__", "_1", "+_1", "1.5", "1.", ".5", "-.5", "+.5", "1e3", "1E3", "1e+3",
        "1.0e-3", "1e", ".e5", ".inf", "-.inf", "+.inf", ".Inf", ".INF", ".nan", ".NaN", "inf",
        "nan", "NaN", "infinity", "-Infinity", "12:30", "1:20:30.5", "-1:20", "190:20:30",
        "12:30pm", "1.2.3", "v1.2.3", "1.2.3-rc1", "100m", "512Mi", "1Gi", "10s", "0.5",
        "1_000.5", "._", "._5", "1e_5", "0.", "00", "-0", "+0", "0x", "0b", "0_x1F", "+_0x1",
        "0_b1", "0__o7", "1:2:3:4", "2001:db8::1", "127.0.0.1", "10.0.0.0/8", "8080", "80/TCP",
        "1e400", "18446744073709551616", "2001-12-14", "2001-12-14t21:59:43.10-05:00",
        "2001-12-14 21:59:43.10 -5", "2001-12-15T02:59:43.1Z", "2002-1-1", "2024-foo",
        "20240101", "héllo", "日本語", "emoji 😀", "👍🏽", "👨‍👩‍👧", "\u{a0}", "a\u{a0}", "\u{a0}a",
        "\u{200b}", "\u{3000}", "\u{feff}", "a\u{feff}b", "\u{85}", "\u{2028}", "a\u{2029}b",
        "\u{fffe}", "\u{ffff}", "\u{7f}", "\u{80}", "\u{9f}", "\u{e000}", "\u{10ffff}", "\u{0}",
        "\u{1b}[31mred\u{1b}[0m", " a", "a ", "\ta", "a\t", "a\tb", "\t", "a  b", "a\nb",
        "a\nb\n", "a\nb\n\n", "\n", "\n\n", "\na", " a\nb", "  a\n b\n", "\ta\nb", "a\n  \nb",
        "a\n  ", "a\n  \n", "   \na", "a\r\nb\r\n", "a\rb", "\r", "\r\n", "trailing space \nnext",
        "# comment\nfoo: bar\n", "---\nfoo\n...\n", "key: value\n", "- item\n", "a\n\n\nb",
        "\n a", "a\n\tb", "a\n\t", "\t\n", " \n", " \n ", "a\u{2028}b\n", "x\n  y\n    z\n",
        "😀\n日本\n", "key: value", "foo: bar", "http://example.com", "https://a.b/c?d=e#f",
        "C:\\path", "a\\nb", "\\", "'quoted'", "\"dq\"", "it's", "say \"hi\"", "...\n", "--- a",
        "... a", "|\n", ">\n a", "- \n", "a:\n b", "#!/bin/sh\nset -e\necho \"$1\"\n",
        "{{ .Values.x }}", "${VAR}", "*", "&", "!", "--port", "--port=80", "-inf", "-Inf", "-nan", "-e5", "--1", "-y", "-n", "--no",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    words.push("k".repeat(1100));
    words.push(format!("{}\n{}", "x".repeat(2000), " y".repeat(600)));
    let alphabet = [
        '0', '1', '9', '.', '_', ':', 'e', 'E', '+', '-', 'x', 'o', 'b', ' ', '#', 'a', 'y', 'n',
        '~', '\'', '"', '\n', '\t',
    ];
    let mut current = vec![String::new()];
    for _ in 0..3 {
        let next: Vec<String> = current
            .iter()
            .flat_map(|prefix| alphabet.iter().map(move |ch| format!("{prefix}{ch}")))
            .collect();
        words.extend(next.iter().cloned());
        current = next;
    }
    let numeric = ['0', '1', '.', '_', ':', 'e', '+', '-'];
    for a in numeric {
        for b in numeric {
            for c in numeric {
                for d in numeric {
                    words.push([a, b, c, d].iter().collect());
                }
            }
        }
    }
    words
}
