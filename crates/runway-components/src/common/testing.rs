//! Helpers every component's tests use: finding a built object by key, reading its
//! files and first container, changing default parameters, and naming an error's key path.

use runway_core::{Error, Object};

/// The object built under `key`; panics (failing the test) when there is none.
pub fn find<'a>(objects: &'a [Object], key: &str) -> &'a Object {
    objects.iter().find(|o| o.key == key).unwrap_or_else(|| panic!("no object `{key}`"))
}

/// The first container of the pod template of the object built under `key`.
pub fn first_container(objects: &[Object], key: &str) -> serde_json::Value {
    find(objects, key).value["spec"]["template"]["spec"]["containers"][0].clone()
}

/// The default parameters changed by `f`: `with(|p: &mut XParams| p.replicas = 3)`, or
/// without the annotation where the expected type says which parameters.
pub fn with<P: Default>(f: impl FnOnce(&mut P)) -> P {
    let mut p = P::default();
    f(&mut p);
    p
}

/// The text of file `name` in the `data` of the ConfigMap (or Secret) built under `key`;
/// panics (failing the test) when there is none.
pub fn data_file<'a>(objects: &'a [Object], key: &str, name: &str) -> &'a str {
    find(objects, key).value["data"][name].as_str().unwrap_or_else(|| panic!("no file `{name}` in `{key}`"))
}

/// The strings of a JSON list (a container's `command` or `args`); empty when absent.
pub fn strings(list: &serde_json::Value) -> Vec<String> {
    list.as_array().into_iter().flatten().filter_map(|a| a.as_str().map(String::from)).collect()
}

/// The error's key path as written in messages, or "" when it has none.
pub fn path_of(e: &Error) -> String {
    e.path().map(ToString::to_string).unwrap_or_default()
}

/// A validator of custom resources against the `version` schema of a vendored CRD (its
/// JSON, as build.rs writes it), strict as `kubernetes-validate --strict`: a field the
/// schema does not list is an error (the API server would prune it silently), except under
/// `x-kubernetes-preserve-unknown-fields`. Renders are validated by runway-core's CRD check;
/// this checks a single built object in a unit test, without a render.
pub fn crd_validator(crd_json: &str, version: &str) -> jsonschema::Validator {
    let crd: serde_json::Value = serde_json::from_str(crd_json).expect("a vendored CRD is JSON");
    let versions = crd["spec"]["versions"].as_array().expect("a CRD lists its versions");
    let v = versions.iter().find(|v| v["name"] == version).unwrap_or_else(|| panic!("no version `{version}`"));
    let mut schema = v["schema"]["openAPIV3Schema"].clone();
    strict(&mut schema);
    jsonschema::validator_for(&schema).expect("a CRD schema is a valid JSON schema")
}

/// The messages of every schema error of `value`, each with its JSON pointer.
pub fn schema_errors(validator: &jsonschema::Validator, value: &serde_json::Value) -> Vec<String> {
    validator.iter_errors(value).map(|e| format!("{}: {e}", e.instance_path())).collect()
}

/// Closes every object schema that lists its properties.
fn strict(schema: &mut serde_json::Value) {
    match schema {
        serde_json::Value::Object(m) => {
            let open = m.get("x-kubernetes-preserve-unknown-fields") == Some(&serde_json::Value::Bool(true));
            let object = m.get("type").and_then(|t| t.as_str()) == Some("object");
            if object && m.contains_key("properties") && !m.contains_key("additionalProperties") && !open {
                m.insert("additionalProperties".into(), serde_json::Value::Bool(false));
            }
            for (_, v) in m.iter_mut() {
                strict(v);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(strict),
        _ => {}
    }
}
