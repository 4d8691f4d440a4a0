//! Checksums of the configuration a pod template uses from *other* components, so that a
//! change to it rolls the pods.
//!
//! A component annotates its pods with the checksum of its own ConfigMaps and Secrets
//! (`checksum/config`). The Sysdig backend's pods also read what other components render:
//! the ConfigMap `sysdigcloud-config` and the Secrets of `sdc_config`, the `sdc-mysql`
//! Secret of `sdc_mysql`, the `sdc-redis` Secret of `sdc_redis`. A component cannot see
//! another one's objects, so this runs over the whole render, after object patches (a
//! patched ConfigMap counts with its patch): [`annotate_referenced_checksums`] puts on each
//! pod template the sha256 of every rendered ConfigMap and Secret that the template
//! references and that another component built, as [`REFERENCED_CHECKSUM_ANNOTATION`].
//! Pods that use nothing of another component get no annotation, so the output of every
//! other component is unchanged.
//!
//! It replaces the original's ritual after every ConfigMap edit
//! (`kubectl patch deployment sdc-api -p '{"spec":{"template":{"metadata":{"labels":{"date":...}}}}}'`).

use runway_core::JsonPointer as _;
use std::collections::{BTreeMap, BTreeSet};

use runway_core::Object;
use serde_json::Value as J;
use sha2::{Digest, Sha256};

/// The pod template annotation: sha256 over the referenced objects' kinds, names and data.
pub const REFERENCED_CHECKSUM_ANNOTATION: &str = "checksum/referenced-config";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The sha256 of `text`, in lowercase hex: a component's own checksum annotations.
pub fn sha256_hex(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

/// The sha256, in lowercase hex, of named texts (a ConfigMap's keys and values, or
/// files and their names) in the order given: each name and text followed by a NUL, so
/// that no two different lists hash alike.
pub fn named_sha256<'a>(entries: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut h = Sha256::new();
    for (name, text) in entries {
        h.update(name.as_bytes());
        h.update([0]);
        h.update(text.as_bytes());
        h.update([0]);
    }
    hex(&h.finalize())
}

/// The sha256 of a ConfigMap's or Secret's content (`data`, `binaryData`, `stringData`).
fn content_hash(v: &J) -> String {
    let mut h = Sha256::new();
    for field in ["data", "binaryData", "stringData"] {
        h.update(field.as_bytes());
        h.update([0]);
        if let Some(map) = v.get(field).and_then(J::as_object) {
            // Sorted explicitly: the hash must not depend on the map's iteration order.
            let sorted: BTreeMap<&String, &J> = map.iter().collect();
            for (k, val) in sorted {
                h.update(k.as_bytes());
                h.update([0]);
                h.update(val.as_str().unwrap_or_default().as_bytes());
                h.update([0]);
            }
        }
    }
    hex(&h.finalize())
}

/// The ConfigMaps and Secrets a pod spec references, as `(kind, name)`: volumes (also
/// projected ones), `env[].valueFrom` and `envFrom` of every container and init container.
/// Image pull secrets are left out: changing them needs no restart.
pub fn referenced_config(pod_spec: &J) -> BTreeSet<(&'static str, String)> {
    let mut out = BTreeSet::new();
    let mut add = |kind: &'static str, name: Option<&J>| {
        if let Some(n) = name.and_then(J::as_str) {
            out.insert((kind, n.to_string()));
        }
    };
    for vol in pod_spec.get("volumes").and_then(J::as_array).into_iter().flatten() {
        add("ConfigMap", vol.ptr("/configMap/name"));
        add("Secret", vol.ptr("/secret/secretName"));
        for src in vol.ptr("/projected/sources").and_then(J::as_array).into_iter().flatten() {
            add("ConfigMap", src.ptr("/configMap/name"));
            add("Secret", src.ptr("/secret/name"));
        }
    }
    for list in ["initContainers", "containers"] {
        for c in pod_spec.get(list).and_then(J::as_array).into_iter().flatten() {
            for e in c.get("env").and_then(J::as_array).into_iter().flatten() {
                add("ConfigMap", e.ptr("/valueFrom/configMapKeyRef/name"));
                add("Secret", e.ptr("/valueFrom/secretKeyRef/name"));
            }
            for e in c.get("envFrom").and_then(J::as_array).into_iter().flatten() {
                add("ConfigMap", e.ptr("/configMapRef/name"));
                add("Secret", e.ptr("/secretRef/name"));
            }
        }
    }
    out
}

/// Annotates every pod template with the checksum of the rendered ConfigMaps and Secrets
/// of its namespace that it references and that another component built. Deterministic:
/// the same objects give the same annotations, whatever their order.
pub fn annotate_referenced_checksums(objects: &mut [Object]) {
    // Where each ConfigMap and Secret is; hashed below only when another component's pod
    // references it (hashing every one, dashboards included, was most of this pass).
    let mut configs: BTreeMap<(&str, &str, &str), usize> = BTreeMap::new();
    for (i, o) in objects.iter().enumerate() {
        if let kind @ ("ConfigMap" | "Secret") = o.kind() {
            configs.insert((kind, o.namespace(), o.name()), i);
        }
    }
    let mut hashes: BTreeMap<usize, String> = BTreeMap::new();
    let mut sums: Vec<(usize, &'static str, String)> = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        let pointer = if o.value.ptr("/spec/template").is_some() {
            "/spec/template"
        } else if o.value.ptr("/spec/jobTemplate/spec/template").is_some() {
            "/spec/jobTemplate/spec/template"
        } else {
            continue;
        };
        let Some(spec) = o.value.ptr(&format!("{pointer}/spec")) else { continue };
        let mut h = Sha256::new();
        let mut any = false;
        for (kind, name) in referenced_config(spec) {
            let Some(&at) = configs.get(&(kind, o.namespace(), name.as_str())) else { continue };
            if objects[at].component == o.component {
                continue;
            }
            any = true;
            let hash = hashes.entry(at).or_insert_with(|| content_hash(&objects[at].value));
            h.update(format!("{kind}/{name}={hash}\n").as_bytes());
        }
        if any {
            sums.push((i, pointer, hex(&h.finalize())));
        }
    }
    for (i, pointer, sum) in sums {
        let Some(template) = objects[i].value.pointer_mut(pointer) else { continue };
        if template.get("metadata").is_none_or(|m| !m.is_object()) {
            template["metadata"] = J::Object(Default::default());
        }
        let meta = &mut template["metadata"];
        if meta.get("annotations").is_none_or(|a| !a.is_object()) {
            meta["annotations"] = J::Object(Default::default());
        }
        meta["annotations"][REFERENCED_CHECKSUM_ANNOTATION] = J::String(sum);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_hex_is_the_lowercase_hex_digest() {
        // sha256("") is a published constant.
        assert_eq!(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }

    #[test]
    fn named_sha256_separates_names_from_texts() {
        assert_ne!(named_sha256([("ab", "c")]), named_sha256([("a", "bc")]));
        assert_eq!(named_sha256([("a", "1"), ("b", "2")]), named_sha256([("a", "1"), ("b", "2")]));
        assert_ne!(named_sha256([("a", "1"), ("b", "2")]), named_sha256([("b", "2"), ("a", "1")]));
    }
    use serde_json::json;

    fn obj(component: &str, key: &str, v: J) -> Object {
        Object::custom(component, key, v, "test")
    }

    fn cm(component: &str, name: &str, value: &str) -> Object {
        obj(
            component,
            "config",
            json!({"kind": "ConfigMap", "metadata": {"name": name, "namespace": "ns"}, "data": {"k": value}}),
        )
    }

    fn deploy(component: &str, volumes: J) -> Object {
        obj(
            component,
            "deploy",
            json!({"kind": "Deployment", "metadata": {"name": "d", "namespace": "ns"},
                "spec": {"template": {"metadata": {"labels": {"a": "b"}},
                "spec": {"containers": [{"name": "c", "env": [
                    {"name": "X", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]}],
                "volumes": volumes}}}}),
        )
    }

    fn annotation(objects: &[Object]) -> Option<String> {
        let d = objects.iter().find(|o| o.kind() == "Deployment").expect("the deployment");
        d.value
            .ptr("/spec/template/metadata/annotations")
            .and_then(|a| a.get(REFERENCED_CHECKSUM_ANNOTATION))
            .and_then(J::as_str)
            .map(str::to_string)
    }

    #[test]
    fn other_components_config_rolls_the_pods() {
        let vols = json!([{"name": "v", "configMap": {"name": "cfg"}}]);
        let mut a = vec![cm("config", "cfg", "one"), deploy("backend", vols.clone())];
        annotate_referenced_checksums(&mut a);
        let first = annotation(&a).expect("annotated");
        assert_eq!(first.len(), 64);
        let mut b = vec![deploy("backend", vols.clone()), cm("config", "cfg", "one")];
        annotate_referenced_checksums(&mut b);
        assert_eq!(annotation(&b).as_deref(), Some(first.as_str()), "order does not matter");
        let mut c = vec![cm("config", "cfg", "two"), deploy("backend", vols)];
        annotate_referenced_checksums(&mut c);
        assert_ne!(annotation(&c), Some(first), "a change changes the checksum");
    }

    #[test]
    fn own_and_unrendered_config_is_left_to_the_component() {
        let vols = json!([{"name": "v", "configMap": {"name": "cfg"}}]);
        let mut a = vec![cm("backend", "cfg", "one"), deploy("backend", vols.clone())];
        annotate_referenced_checksums(&mut a);
        assert_eq!(annotation(&a), None);
        let mut b = vec![deploy("backend", vols)];
        annotate_referenced_checksums(&mut b);
        assert_eq!(annotation(&b), None);
    }

    #[test]
    fn projected_and_env_references_count() {
        let secret = |v: &str| {
            obj(
                "mysql",
                "secret",
                json!({"kind": "Secret", "metadata": {"name": "s", "namespace": "ns"}, "data": {"k": v}}),
            )
        };
        let vols = json!([{"name": "p", "projected": {"sources": [{"secret": {"name": "other"}}]}}]);
        let mut a = vec![secret("YQ=="), deploy("backend", vols.clone())];
        annotate_referenced_checksums(&mut a);
        let mut b = vec![secret("Yg=="), deploy("backend", vols.clone())];
        annotate_referenced_checksums(&mut b);
        assert!(annotation(&a).is_some());
        assert_ne!(annotation(&a), annotation(&b));

        let spec =
            json!({"volumes": vols, "containers": [{"name": "c", "envFrom": [{"configMapRef": {"name": "e"}}]}]});
        let refs: Vec<(&str, String)> = referenced_config(&spec).into_iter().collect();
        assert_eq!(refs, [("ConfigMap", "e".to_string()), ("Secret", "other".to_string())]);
    }
}
