//! Object metadata: names, namespaces and the labels every runway object carries.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

/// `app.kubernetes.io/managed-by` value on every object, so `kubectl get -l` finds them.
pub const MANAGED_BY: &str = "runway";

/// The labels that select a component's pods. They never change across releases
/// (selectors are immutable), so no version goes in here.
pub fn selector_labels(name: &str) -> BTreeMap<String, String> {
    BTreeMap::from([("name".to_string(), name.to_string())])
}

/// Selector labels plus the recommended `app.kubernetes.io/*` labels.
pub fn labels(name: &str, component: &str) -> BTreeMap<String, String> {
    let mut l = selector_labels(name);
    l.insert("app.kubernetes.io/name".into(), name.into());
    l.insert("app.kubernetes.io/component".into(), component.into());
    l.insert("app.kubernetes.io/part-of".into(), "runway".into());
    l.insert("app.kubernetes.io/managed-by".into(), MANAGED_BY.into());
    l
}

/// Metadata for a namespaced object.
pub fn namespaced(name: &str, namespace: &str, labels: BTreeMap<String, String>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_string()),
        namespace: Some(namespace.to_string()),
        labels: Some(labels),
        ..Default::default()
    }
}

/// Metadata for a cluster-scoped object.
pub fn cluster_scoped(name: &str, labels: BTreeMap<String, String>) -> ObjectMeta {
    ObjectMeta { name: Some(name.to_string()), labels: Some(labels), ..Default::default() }
}

/// A label selector matching exactly `labels`.
pub fn selector(labels: BTreeMap<String, String>) -> LabelSelector {
    LabelSelector { match_labels: Some(labels), ..Default::default() }
}
