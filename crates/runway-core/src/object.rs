//! Rendered objects and their canonical order.
//!
//! An [`Object`] is a Kubernetes object as a component built it, identified inside its
//! component by a key (`sts`, `svc`, ... as BKPR named them), with the typed round-trip
//! of its kind attached so that a patched object can be read back into its k8s-openapi type.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{Error, ErrorKind};
use crate::path::KeyPath;
use crate::shared::SharedValue;

/// Reads a JSON value into the object's type and writes it back (`Err` names the field).
type RoundTrip = fn(&serde_json::Value) -> Result<serde_json::Value, Error>;

/// A rendered object with its identity inside the render.
#[derive(Clone, Debug)]
pub struct Object {
    /// The component that built it (`elasticsearch`).
    pub component: String,
    /// Its key inside the component (`sts`), the key that override files patch under.
    pub key: String,
    /// The object (shared with other objects until changed: [`SharedValue`]).
    pub value: SharedValue,
    /// The Rust type's name, for messages (`StatefulSet`).
    pub type_name: &'static str,
    round_trip: RoundTrip,
}

fn round_trip<K: Serialize + DeserializeOwned>(v: &serde_json::Value) -> Result<serde_json::Value, Error> {
    let typed: K = serde_path_to_error::deserialize(v).map_err(|e| {
        let path = json_path_to_keypath(&e.path().to_string());
        Error::new(ErrorKind::InvalidObject(crate::params::tidy_serde_message(&e.inner().to_string()))).with_path(path)
    })?;
    serde_json::to_value(&typed).map_err(|e| Error::new(ErrorKind::InvalidObject(e.to_string())))
}

/// serde_path_to_error prints `spec.containers[0].image`; `?` marks an unknown position.
fn json_path_to_keypath(p: &str) -> KeyPath {
    if p == "." || p.is_empty() {
        return KeyPath::root();
    }
    KeyPath::parse(p).unwrap_or_default()
}

impl Object {
    /// Wraps a typed k8s-openapi object.
    pub fn new<K>(component: &str, key: &str, obj: &K) -> Self
    where
        K: k8s_openapi::Resource + Serialize + DeserializeOwned,
    {
        // Invariant: k8s-openapi types serialize to JSON without error (no non-string keys,
        // no non-finite floats in their schema).
        let value = serde_json::to_value(obj).expect("k8s-openapi objects serialize to JSON");
        let type_name = std::any::type_name::<K>().rsplit("::").next().unwrap_or("object");
        Object {
            component: component.to_string(),
            key: key.to_string(),
            value: value.into(),
            type_name,
            round_trip: round_trip::<K>,
        }
    }

    /// Wraps an object given as JSON (vendored data) with the typed round-trip of `K`
    /// attached, without deserializing it now: use it only for data that tests prove reads
    /// back into `K` unchanged. A layer's patch still goes through `K`.
    /// The value may be a [`SharedValue`] that other objects hold too (it is copied on the
    /// first change).
    pub fn from_value<K>(component: &str, key: &str, value: impl Into<SharedValue>) -> Self
    where
        K: k8s_openapi::Resource + Serialize + DeserializeOwned,
    {
        let value = value.into();
        let type_name = std::any::type_name::<K>().rsplit("::").next().unwrap_or("object");
        Object { component: component.to_string(), key: key.to_string(), value, type_name, round_trip: round_trip::<K> }
    }

    /// Wraps an object whose type is not in k8s-openapi (a custom resource); `check` reads
    /// it back (e.g. `round_trip_dynamic`), and CRD schemas validate it later.
    pub fn custom(component: &str, key: &str, value: serde_json::Value, type_name: &'static str) -> Self {
        Object {
            component: component.to_string(),
            key: key.to_string(),
            value: value.into(),
            type_name,
            round_trip: |v| Ok(v.clone()),
        }
    }

    /// `kind`.
    pub fn kind(&self) -> &str {
        self.value.get("kind").and_then(|v| v.as_str()).unwrap_or("")
    }

    /// `apiVersion`.
    pub fn api_version(&self) -> &str {
        self.value.get("apiVersion").and_then(|v| v.as_str()).unwrap_or("")
    }

    /// `metadata.name`.
    pub fn name(&self) -> &str {
        // `get` rather than `pointer`: these run inside the sort, and a JSON pointer is
        // re-parsed (with string replaces) on every call.
        self.value.get("metadata").and_then(|m| m.get("name")).and_then(|v| v.as_str()).unwrap_or("")
    }

    /// `metadata.namespace`, empty for cluster-scoped objects.
    pub fn namespace(&self) -> &str {
        self.value.get("metadata").and_then(|m| m.get("namespace")).and_then(|v| v.as_str()).unwrap_or("")
    }

    /// Checks names and labels ([`crate::names`]); the error's path is relative to the object.
    pub fn check_names(&self) -> Result<(), Error> {
        crate::names::check_names(&self.value)
    }

    /// Reads the value back into its k8s-openapi type and replaces it with the typed
    /// re-serialization, then checks names and labels ([`crate::names`]). Fails if a field
    /// is unknown to the type or has the wrong type, or a name breaks the API server's
    /// rules; the error's path is relative to the object.
    pub fn check_round_trip(&mut self) -> Result<(), Error> {
        let back = (self.round_trip)(&self.value)?;
        if let Some(path) = first_loss(&self.value, &back, KeyPath::root()) {
            let field = path.segments().last().map(|s| match s {
                crate::path::Segment::Key(k) => k.clone(),
                crate::path::Segment::Index(i) => format!("[{i}]"),
            });
            return Err(Error::new(ErrorKind::UnknownKey {
                what: format!("field of {} (`{}` is not in its schema)", self.type_name, field.unwrap_or_default()),
            })
            .with_path(path));
        }
        self.value = back.into();
        crate::names::check_names(&self.value)
    }
}

/// The first path where `orig` holds something that `back` lost (an unknown field).
/// `null` in `orig` counts as absent.
fn first_loss(orig: &serde_json::Value, back: &serde_json::Value, at: KeyPath) -> Option<KeyPath> {
    let mut reversed = Vec::new();
    if !lost_below(orig, back, &mut reversed) {
        return None;
    }
    let mut path = at;
    path.0.extend(reversed.into_iter().rev());
    Some(path)
}

/// True when `orig` holds something `back` lost; `reversed` then holds where, innermost
/// segment first. Segments are made only on the way back from a loss, so comparing a
/// whole object builds no path per field.
fn lost_below(orig: &serde_json::Value, back: &serde_json::Value, reversed: &mut Vec<crate::path::Segment>) -> bool {
    use crate::path::Segment;
    use serde_json::Value as J;
    match (orig, back) {
        (J::Object(o), J::Object(b)) => {
            for (k, v) in o.iter().filter(|(_, v)| !v.is_null()) {
                if b.get(k).is_none_or(|bv| lost_below(v, bv, reversed)) {
                    reversed.push(Segment::Key(k.clone()));
                    return true;
                }
            }
            false
        }
        (J::Array(o), J::Array(b)) => {
            for (i, (ov, bv)) in o.iter().zip(b).enumerate() {
                if lost_below(ov, bv, reversed) {
                    reversed.push(Segment::Index(i));
                    return true;
                }
            }
            false
        }
        _ => false,
    }
}

/// The install rank of a kind: Helm's install order as DESIGN.md gives it (Namespace and
/// CRDs first, Ingresses last); unknown kinds after all known ones.
pub fn kind_rank(kind: &str) -> usize {
    const ORDER: &[&str] = &[
        "Namespace",
        "NetworkPolicy",
        "ResourceQuota",
        "LimitRange",
        "CustomResourceDefinition",
        "PriorityClass",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Role",
        "RoleBinding",
        "Secret",
        "ConfigMap",
        "StorageClass",
        "PersistentVolume",
        "PersistentVolumeClaim",
        "Service",
        "DaemonSet",
        "Pod",
        "ReplicaSet",
        "Deployment",
        "StatefulSet",
        "Job",
        "CronJob",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "IngressClass",
        "Ingress",
        "APIService",
    ];
    ORDER.iter().position(|k| *k == kind).unwrap_or(ORDER.len())
}

/// Sorts objects into canonical order: kind rank, then kind name (for unknown kinds),
/// namespace, name, then the component and key (so the order is total and independent
/// of input order).
pub fn sort_canonical(objects: &mut [Object]) {
    objects.sort_by_cached_key(|o| {
        (
            kind_rank(o.kind()),
            o.kind().to_string(),
            o.namespace().to_string(),
            o.name().to_string(),
            o.component.clone(),
            o.key.clone(),
        )
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn cm(name: &str) -> Object {
        let c =
            ConfigMap { metadata: ObjectMeta { name: Some(name.into()), ..Default::default() }, ..Default::default() };
        Object::new("t", name, &c)
    }

    #[test]
    fn namespaces_sort_before_config_maps() {
        let ns =
            Namespace { metadata: ObjectMeta { name: Some("z".into()), ..Default::default() }, ..Default::default() };
        let mut objs = vec![cm("a"), Object::new("t", "ns", &ns)];
        sort_canonical(&mut objs);
        assert_eq!(objs[0].kind(), "Namespace");
    }

    #[test]
    fn same_kind_sorts_by_name() {
        let mut objs = vec![cm("b"), cm("a")];
        sort_canonical(&mut objs);
        assert_eq!(objs[0].name(), "a");
    }

    #[test]
    fn unknown_field_fails_round_trip() {
        let mut o = cm("a");
        o.value["dta"] = serde_json::json!({"k": "v"});
        let e = o.check_round_trip().unwrap_err();
        assert_eq!(e.path().map(ToString::to_string).as_deref(), Some("dta"));
    }

    #[test]
    fn wrong_type_fails_round_trip_with_path() {
        let mut o = cm("a");
        o.value["data"] = serde_json::json!({"k": 5});
        let e = o.check_round_trip().unwrap_err();
        assert_eq!(e.path().map(ToString::to_string).as_deref(), Some("data.k"));
    }
}
