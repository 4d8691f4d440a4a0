//! [`SharedValue`]: an object's JSON, shared between objects until one of them changes it.
//!
//! Vendored objects (cert-manager's CRDs are most of a cluster's bytes) are the same in
//! every render; a fleet renders them once per cluster. Sharing one parsed copy makes
//! building, comparing (pointer first) and dropping them nearly free, while code that
//! changes an object (a patch, a label, a waiver annotation) gets its own copy the moment
//! it asks for `&mut` (copy on write, [`std::sync::Arc::make_mut`]).

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use serde_json::Value;

/// A JSON value behind a shared, copy-on-write pointer. Reads go through `Deref` to the
/// `Value`; any `&mut` access first makes the value this object's own.
#[derive(Clone, Debug, Default)]
pub struct SharedValue(Arc<Value>);

impl SharedValue {
    /// Wraps a value shared with every clone of `arc`.
    pub fn from_arc(arc: Arc<Value>) -> Self {
        SharedValue(arc)
    }

    /// True when both point at the same allocation: then they are equal without looking.
    pub fn shares_with(&self, other: &SharedValue) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// The value, cloned only if it is still shared.
    pub fn into_value(self) -> Value {
        Arc::unwrap_or_clone(self.0)
    }
}

impl Deref for SharedValue {
    type Target = Value;
    fn deref(&self) -> &Value {
        &self.0
    }
}

impl DerefMut for SharedValue {
    fn deref_mut(&mut self) -> &mut Value {
        Arc::make_mut(&mut self.0)
    }
}

impl From<Value> for SharedValue {
    fn from(v: Value) -> Self {
        SharedValue(Arc::new(v))
    }
}

impl PartialEq for SharedValue {
    fn eq(&self, other: &Self) -> bool {
        self.shares_with(other) || *self.0 == *other.0
    }
}

impl PartialEq<Value> for SharedValue {
    fn eq(&self, other: &Value) -> bool {
        *self.0 == *other
    }
}

impl std::fmt::Display for SharedValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl serde::Serialize for SharedValue {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_change_copies_a_shared_value_and_leaves_the_other_alone() {
        let a = SharedValue::from(json!({"kind": "CustomResourceDefinition"}));
        let mut b = a.clone();
        assert!(a.shares_with(&b));
        b["kind"] = json!("ConfigMap");
        assert!(!a.shares_with(&b));
        assert_eq!(a["kind"], "CustomResourceDefinition");
        assert_eq!(b["kind"], "ConfigMap");
    }

    #[test]
    fn equal_values_compare_equal_whether_shared_or_not() {
        let a = SharedValue::from(json!({"a": [1, 2]}));
        assert_eq!(a, a.clone());
        assert_eq!(a, SharedValue::from(json!({"a": [1, 2]})));
        assert_ne!(a, SharedValue::from(json!({"a": [2, 1]})));
        assert_eq!(a.clone().into_value(), json!({"a": [1, 2]}));
    }
}
