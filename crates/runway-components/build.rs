//! Converts the vendored CRDs (upstream YAML, kept byte for byte in src/cert_manager/crds/
//! and src/prometheus/crds/) into compact JSON at build time, so a render reads ~1 MB of
//! JSON with serde_json instead of parsing ~1 MB of YAML: the difference between a few
//! milliseconds and twenty on every `runway render`.

use std::fs;
use std::path::Path;

fn main() {
    let out = Path::new(&std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("crds");
    fs::create_dir_all(&out).expect("OUT_DIR is writable");
    // cert-manager's and MetalLB's CRDs (rendered) and the Prometheus Operator's (not
    // rendered: the operator owns them; every operator-mode render validates its monitors and
    // PrometheusRule against them).
    for dir in ["src/cert_manager/crds", "src/prometheus/crds", "src/metallb/crds"] {
        convert(Path::new(dir), &out);
    }
}

/// Writes every `*.yaml` of `src` as compact JSON into `out`.
fn convert(src: &Path, out: &Path) {
    println!("cargo:rerun-if-changed={}", src.display());
    let mut names: Vec<_> = fs::read_dir(src)
        .unwrap_or_else(|e| panic!("the vendored CRDs are in {}: {e}", src.display()))
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    names.sort();
    for path in names {
        println!("cargo:rerun-if-changed={}", path.display());
        let text = fs::read_to_string(&path).expect("a vendored CRD is UTF-8");
        let mut value: serde_json::Value =
            serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display()));
        floats_where_typed(&mut value);
        let file = path.file_name().expect("a file name").to_string_lossy().replace(".yaml", ".json");
        fs::write(out.join(file), serde_json::to_string(&value).expect("JSON")).expect("OUT_DIR is writable");
    }
}

/// JSONSchemaProps holds `minimum`, `maximum` and `multipleOf` as f64, so `65535` reads back
/// as `65535.0`; write them as floats here and the JSON is already what the typed
/// round-trip gives (a test in cert_manager checks that fixed point).
fn floats_where_typed(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                if matches!(k.as_str(), "minimum" | "maximum" | "multipleOf") {
                    if let Some(f) = x.as_f64() {
                        if let Some(n) = serde_json::Number::from_f64(f) {
                            *x = serde_json::Value::Number(n);
                        }
                    }
                } else {
                    floats_where_typed(x);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(floats_where_typed),
        _ => {}
    }
}
