//! Sizes the API server limits: all annotations of an object together at most 256 KiB
//! (keys and values), a ConfigMap's or Secret's data at most 1 MiB, and data keys made of
//! alphanumerics, `-`, `_` and `.` (at most 253 characters).

use serde_json::Value as J;

use super::{finding, pod_template};
use crate::error::Error;
use crate::object::Object;
use crate::path::KeyPath;

/// The API server's limit on an object's annotations, keys and values together.
pub const MAX_ANNOTATIONS: usize = 256 * 1024;
/// The API server's limit on a ConfigMap's or Secret's data.
pub const MAX_DATA: usize = 1024 * 1024;

/// True for a ConfigMap or Secret data key.
pub fn is_data_key(k: &str) -> bool {
    !k.is_empty()
        && k.len() <= 253
        && k != "."
        && k != ".."
        && k.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Checks annotation sizes (object and pod template) and ConfigMap/Secret data.
pub fn check_sizes(o: &Object) -> Result<(), Error> {
    let meta = KeyPath::root().key("metadata");
    check_annotations(o, o.value.get("metadata"), &meta)?;
    if let Some((t, at)) = pod_template(&o.value) {
        check_annotations(o, t.get("metadata"), &at.key("metadata"))?;
    }
    let fields: &[&str] = match o.kind() {
        "ConfigMap" => &["data", "binaryData"],
        "Secret" => &["data", "stringData"],
        _ => return Ok(()),
    };
    let mut total = 0usize;
    for field in fields {
        let Some(map) = o.value.get(*field).and_then(J::as_object) else { continue };
        for (k, v) in map {
            if !is_data_key(k) {
                return Err(finding(
                    o,
                    &KeyPath::root().key(field).key(k),
                    format!("`{k}` is not a valid data key (alphanumerics, `-`, `_`, `.`, at most 253 characters)"),
                ));
            }
            let len = v.as_str().map_or(0, str::len);
            // `data` of a Secret and `binaryData` of a ConfigMap are base64: count the bytes.
            let bytes =
                if (o.kind() == "Secret" && *field == "data") || *field == "binaryData" { len / 4 * 3 } else { len };
            total += k.len() + bytes;
        }
    }
    if total > MAX_DATA {
        return Err(finding(
            o,
            &KeyPath::root().key(fields[0]),
            format!("{} data is {} KiB, over the API server's limit of 1 MiB", o.kind(), total / 1024),
        )
        .help("split the data across several objects, or mount it from a volume"));
    }
    Ok(())
}

fn check_annotations(o: &Object, meta: Option<&J>, at: &KeyPath) -> Result<(), Error> {
    let Some(map) = meta.and_then(|m| m.get("annotations")).and_then(J::as_object) else { return Ok(()) };
    let total: usize = map.iter().map(|(k, v)| k.len() + v.as_str().map_or(0, str::len)).sum();
    if total > MAX_ANNOTATIONS {
        return Err(finding(
            o,
            &at.key("annotations"),
            format!("annotations are {} KiB, over the API server's limit of 256 KiB", total / 1024),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use serde_json::json;

    fn cm(data: J) -> Object {
        obj(json!({"kind": "ConfigMap", "metadata": {"name": "c", "namespace": "ns"}, "data": data}))
    }

    #[test]
    fn small_data_passes() {
        assert!(check_sizes(&cm(json!({"fluent.conf": "x"}))).is_ok());
    }

    #[test]
    fn data_over_one_mebibyte_is_found() {
        let e = check_sizes(&cm(json!({"big": "x".repeat(MAX_DATA)}))).unwrap_err();
        assert!(e.to_string().contains("over the API server's limit of 1 MiB"), "{e}");
    }

    #[test]
    fn a_bad_data_key_is_found() {
        let e = check_sizes(&cm(json!({"a/b": "x"}))).unwrap_err();
        assert_eq!(e.path().unwrap().to_string(), "c.k.data.a/b");
    }

    #[test]
    fn pod_template_annotations_over_256_kib_are_found() {
        let mut d = deploy_with(json!({"name": "a"}));
        d.value["spec"]["template"]["metadata"]["annotations"] = json!({"big": "x".repeat(MAX_ANNOTATIONS)});
        let e = check_sizes(&d).unwrap_err();
        assert_eq!(e.path().unwrap().to_string(), "c.k.spec.template.metadata.annotations");
        d.value["spec"]["template"]["metadata"]["annotations"] = json!({"small": "x"});
        assert!(check_sizes(&d).is_ok());
    }
}
