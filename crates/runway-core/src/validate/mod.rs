//! Whole-render validation: the API server's rules that the typed round-trip does not
//! catch, run over every rendered object before anything is printed. One module per family
//! of checks, each a plain function of the objects:
//!
//! - [`ports`]: container ports unique per pod, port names IANA service names (≤ 15);
//! - [`probes`]: liveness, readiness and startup probes point at a declared port;
//! - [`storage`]: claims use a storage class the platform has (or the render creates);
//! - [`sizes`]: annotations ≤ 256 KiB, ConfigMap and Secret data ≤ 1 MiB, data keys;
//! - [`quantities`]: quantity syntax in resources and claims, and request ≤ limit;
//! - [`selectors`]: a workload's selector matches its pod template, and no selector or
//!   claim template holds a version-like label (selectors are immutable);
//! - [`crd`]: custom resources against their CRD's `openAPIV3Schema`.
//!
//! Cross-object references are [`crate::refs`]; names and labels [`crate::names`]. Every
//! error's path is `component.key.field...`, and a note names the object
//! (`StatefulSet kubeprod/elasticsearch-logging`); the caller, which holds the layers,
//! adds the span of the override that set the field.

use crate::pointer::JsonPointer as _;
pub mod crd;
pub mod ports;
pub mod probes;
pub mod quantities;
pub mod selectors;
pub mod sizes;
pub mod storage;

use std::collections::BTreeSet;

use serde_json::Value as J;

use crate::error::{Error, ErrorKind};
use crate::object::Object;
use crate::path::KeyPath;
use crate::refs::ExternalRef;

/// What the checks need besides the objects.
#[derive(Clone, Copy, Debug)]
pub struct Facts<'a> {
    /// Objects that exist outside the render (`(kind, namespace, name)`).
    pub externals: &'a BTreeSet<ExternalRef>,
    /// The storage classes the platform has; empty means unknown (not checked).
    pub storage_classes: &'a [String],
    /// CRD schemas of the render and of CRDs the cluster already has.
    pub crds: &'a crd::CrdSchemas<'a>,
}

/// Runs every check of the render, in a fixed order; the first finding is returned.
pub fn check_render(objects: &[Object], facts: &Facts) -> Result<(), Error> {
    crate::refs::check_references(objects, facts.externals)?;
    storage::check_storage_classes(objects, facts.storage_classes)?;
    for o in objects {
        check_object(o)?;
    }
    facts.crds.check_objects(objects)
}

/// The checks of one object that need no other object.
pub fn check_object(o: &Object) -> Result<(), Error> {
    sizes::check_sizes(o)?;
    quantities::check_quantities(o)?;
    ports::check_ports(o)?;
    probes::check_probes(o)?;
    selectors::check_selectors(o)
}

/// `Kind namespace/name` (or `Kind name` when cluster-scoped), as kubectl prints objects.
pub fn describe(o: &Object) -> String {
    if o.namespace().is_empty() {
        format!("{} {}", o.kind(), o.name())
    } else {
        format!("{} {}/{}", o.kind(), o.namespace(), o.name())
    }
}

/// An error about field `path` of `o`: the path is prefixed with `component.key`, and a
/// note names the object.
pub fn finding(o: &Object, path: &KeyPath, msg: String) -> Error {
    let mut full = KeyPath::root().key(&o.component).key(&o.key);
    full.0.extend(path.0.iter().cloned());
    Error::new(ErrorKind::InvalidObject(msg)).with_path(full).note(format!("in {}", describe(o)))
}

/// The pod template of a workload and its path (`spec.template`, or a CronJob's
/// `spec.jobTemplate.spec.template`).
pub fn pod_template(v: &J) -> Option<(&J, KeyPath)> {
    let spec = KeyPath::root().key("spec");
    if let Some(t) = v.get("spec").and_then(|s| s.get("template")) {
        return Some((t, spec.key("template")));
    }
    if let Some(t) = v.ptr("/spec/jobTemplate/spec/template") {
        return Some((t, spec.key("jobTemplate").key("spec").key("template")));
    }
    None
}

/// The pod spec of a workload and its path (its template's `spec`, or a bare Pod's).
pub fn pod_spec(v: &J) -> Option<(&J, KeyPath)> {
    if let Some((t, at)) = pod_template(v) {
        return t.get("spec").map(|s| (s, at.key("spec")));
    }
    if v.get("kind").and_then(J::as_str) == Some("Pod") {
        return v.get("spec").map(|s| (s, KeyPath::root().key("spec")));
    }
    None
}

/// The containers of a pod spec with their paths: init containers, then containers.
pub fn containers<'a>(spec: &'a J, base: &KeyPath) -> Vec<(&'a J, KeyPath)> {
    let mut out = Vec::new();
    for list in ["initContainers", "containers"] {
        for (i, c) in items(spec.get(list)).iter().enumerate() {
            out.push((c, base.key(list).index(i)));
        }
    }
    out
}

/// A JSON array's items, or none.
pub fn items(v: Option<&J>) -> &[J] {
    v.and_then(J::as_array).map_or(&[], Vec::as_slice)
}

#[cfg(test)]
pub(crate) mod testing {
    //! Helpers shared by the checks' tests.
    use super::*;

    /// A custom-typed object (no round-trip) from JSON.
    pub fn obj(v: J) -> Object {
        Object::custom("c", "k", v, "test")
    }

    /// A Deployment in namespace `ns` with one container.
    pub fn deploy_with(container: J) -> Object {
        obj(serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "d", "namespace": "ns"},
            "spec": {"selector": {"matchLabels": {"app": "d"}},
                "template": {"metadata": {"labels": {"app": "d"}}, "spec": {"containers": [container]}}}}))
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;
    use serde_json::json;

    #[test]
    fn findings_name_the_object_and_prefix_the_path() {
        let o = deploy_with(json!({"name": "a"}));
        let e = finding(&o, &KeyPath::root().key("spec"), "bad".into());
        assert_eq!(e.path().map(ToString::to_string).as_deref(), Some("c.k.spec"));
        assert!(e.render(&crate::SourceMap::new()).contains("note: in Deployment ns/d"));
    }

    #[test]
    fn pod_specs_are_found_in_workloads_cronjobs_and_pods() {
        let cron = json!({"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {}}}}}});
        assert_eq!(pod_spec(&cron).map(|p| p.1.to_string()).as_deref(), Some("spec.jobTemplate.spec.template.spec"));
        assert!(pod_spec(&json!({"kind": "Pod", "spec": {}})).is_some());
        assert!(pod_spec(&json!({"kind": "Service", "spec": {}})).is_none());
    }
}
