//! Storage classes: a PersistentVolumeClaim, or a StatefulSet's `volumeClaimTemplates`,
//! that names a class the cluster lacks stays Pending forever. The class must be one the
//! platform declares (`platform.storage_classes`) or a StorageClass of the render; an
//! empty name (`""`, a claim bound to a pre-provisioned volume) and no name (the cluster's
//! default class) are fine. An empty platform list means the classes are unknown.

use crate::pointer::JsonPointer as _;
use std::collections::BTreeSet;

use serde_json::Value as J;

use super::{finding, items};
use crate::error::Error;
use crate::object::Object;
use crate::path::KeyPath;

/// Checks every claim's storage class against `known` and the render's StorageClasses.
pub fn check_storage_classes(objects: &[Object], known: &[String]) -> Result<(), Error> {
    if known.is_empty() {
        return Ok(());
    }
    let mut classes: BTreeSet<&str> = known.iter().map(String::as_str).collect();
    classes.extend(objects.iter().filter(|o| o.kind() == "StorageClass").map(Object::name));
    for o in objects {
        let claims: Vec<(&J, KeyPath)> = match o.kind() {
            "PersistentVolumeClaim" => {
                o.value.get("spec").map(|s| (s, KeyPath::root().key("spec"))).into_iter().collect()
            }
            _ => items(o.value.ptr("/spec/volumeClaimTemplates"))
                .iter()
                .enumerate()
                .filter_map(|(i, t)| {
                    t.get("spec")
                        .map(|s| (s, KeyPath::root().key("spec").key("volumeClaimTemplates").index(i).key("spec")))
                })
                .collect(),
        };
        for (spec, at) in claims {
            let Some(class) = spec.get("storageClassName").and_then(J::as_str) else { continue };
            if class.is_empty() || classes.contains(class) {
                continue;
            }
            let list: Vec<String> = classes.iter().map(|c| format!("`{c}`")).collect();
            return Err(finding(
                o,
                &at.key("storageClassName"),
                format!("storage class `{class}` does not exist on this platform"),
            )
            .help(format!("the platform has {}", list.join(", ")))
            .help("add it to `platform.storage_classes` if the cluster has it, or render a StorageClass"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use serde_json::json;

    fn sts(class: &str) -> Object {
        obj(json!({"kind": "StatefulSet", "metadata": {"name": "s", "namespace": "ns"},
            "spec": {"volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"storageClassName": class}}]}}))
    }

    #[test]
    fn a_known_class_passes() {
        assert!(check_storage_classes(&[sts("standard")], &["standard".into()]).is_ok());
        assert!(check_storage_classes(&[sts("")], &["standard".into()]).is_ok());
    }

    #[test]
    fn an_unknown_class_is_found() {
        let e = check_storage_classes(&[sts("fast")], &["standard".into()]).unwrap_err();
        assert_eq!(e.path().unwrap().to_string(), "c.k.spec.volumeClaimTemplates[0].spec.storageClassName");
    }

    #[test]
    fn a_rendered_storage_class_counts() {
        let pvc = obj(json!({"kind": "PersistentVolumeClaim", "metadata": {"name": "p", "namespace": "ns"},
            "spec": {"storageClassName": "fast"}}));
        let sc = obj(json!({"kind": "StorageClass", "metadata": {"name": "fast"}}));
        assert!(check_storage_classes(std::slice::from_ref(&pvc), &["standard".into()]).is_err());
        assert!(check_storage_classes(&[pvc, sc], &["standard".into()]).is_ok());
    }
}
