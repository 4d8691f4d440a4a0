//! Cross-object references of a whole render, checked before anything is printed:
//!
//! - a Service's selector matches the pod template of a workload in its namespace;
//! - a StatefulSet's `serviceName` is a headless Service of its namespace;
//! - a PodDisruptionBudget's selector matches a pod template; an HPA's target exists;
//! - an HPA's target has the `apiVersion` the HPA names and a selector that selects its
//!   own pods;
//! - ConfigMaps, Secrets (volumes, projected volumes, env, `imagePullSecrets`), PVCs, the
//!   ServiceAccount and the PriorityClass a pod uses exist (claims may come from the
//!   StatefulSet's own `volumeClaimTemplates`; optional references may be absent);
//! - a RoleBinding's Role and ServiceAccount subjects exist;
//! - an Ingress backend names a Service port that exists.
//!
//! Objects outside the render may be declared external by `(kind, namespace, name)`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value as J;

use crate::error::Error;
use crate::object::Object;
use crate::path::KeyPath;
use crate::validate::selectors::selector_matches;

/// `(kind, namespace, name)` of an object that exists outside the render.
pub type ExternalRef = (String, String, String);

/// A label map as JSON.
type Labels = serde_json::Map<String, J>;

/// Built-in PriorityClasses and ClusterRoles that every cluster has.
const BUILTIN_PRIORITY_CLASSES: &[&str] = &["system-cluster-critical", "system-node-critical"];

/// The ConfigMap every namespace has.
const BUILTIN_CONFIG_MAP: &str = "kube-root-ca.crt";

/// Checks every reference; the error names the object (`component.key` and the field).
pub fn check_references(objects: &[Object], external: &BTreeSet<ExternalRef>) -> Result<(), Error> {
    let mut exists: BTreeSet<(&str, &str, &str)> = BTreeSet::new();
    for o in objects {
        exists.insert((o.kind(), o.namespace(), o.name()));
    }
    let has = |kind: &str, ns: &str, name: &str| {
        // Every namespace holds the cluster's CA bundle (kube-root-ca.crt, published by the
        // controller manager since Kubernetes 1.20): projected token volumes mount it.
        (kind == "ConfigMap" && name == BUILTIN_CONFIG_MAP)
            || exists.contains(&(kind, ns, name))
            || external.contains(&(kind.to_string(), ns.to_string(), name.to_string()))
    };
    // Pod template labels by namespace.
    let mut templates: BTreeMap<&str, Vec<&Labels>> = BTreeMap::new();
    for o in objects {
        if let Some(l) = pod_template(&o.value).and_then(|t| t.pointer("/metadata/labels")).and_then(J::as_object) {
            templates.entry(o.namespace()).or_default().push(l);
        }
    }
    let matches_some = |ns: &str, sel: &Labels| {
        templates.get(ns).is_some_and(|ts| ts.iter().any(|labels| sel.iter().all(|(k, v)| labels.get(k) == Some(v))))
    };
    let fail = |o: &Object, path: KeyPath, msg: String| crate::validate::finding(o, &path, msg);

    for o in objects {
        let ns = o.namespace();
        let v = &o.value;
        match o.kind() {
            "Service" => {
                if let Some(sel) = v.pointer("/spec/selector").and_then(J::as_object) {
                    if !sel.is_empty() && !matches_some(ns, sel) {
                        return Err(fail(
                            o,
                            KeyPath::root().key("spec").key("selector"),
                            format!(
                                "Service `{}` selects {} but no pod template in namespace `{ns}` has those labels",
                                o.name(),
                                J::Object(sel.clone())
                            ),
                        ));
                    }
                }
            }
            "StatefulSet" => {
                if let Some(svc) = v.pointer("/spec/serviceName").and_then(J::as_str) {
                    let headless =
                        objects.iter().find(|s| s.kind() == "Service" && s.namespace() == ns && s.name() == svc);
                    match headless {
                        Some(s) if s.value.pointer("/spec/clusterIP").and_then(J::as_str) == Some("None") => {}
                        Some(_) => {
                            return Err(fail(o, KeyPath::root().key("spec").key("serviceName"), format!(
                                "serviceName `{svc}` is not a headless Service (it needs `clusterIP: None` for stable pod DNS names)"
                            )))
                        }
                        None if has("Service", ns, svc) => {}
                        None => {
                            return Err(fail(o, KeyPath::root().key("spec").key("serviceName"), format!(
                                "serviceName `{svc}` names no Service in namespace `{ns}`"
                            )))
                        }
                    }
                }
            }
            "PodDisruptionBudget" => {
                if let Some(sel) = v.pointer("/spec/selector") {
                    let selects = templates.get(ns).is_some_and(|ts| ts.iter().any(|l| selector_matches(sel, l)));
                    if !selects {
                        return Err(fail(
                            o,
                            KeyPath::root().key("spec").key("selector"),
                            format!("PodDisruptionBudget `{}` selects no pod template in namespace `{ns}`", o.name()),
                        ));
                    }
                }
            }
            "HorizontalPodAutoscaler" => {
                let kind = v.pointer("/spec/scaleTargetRef/kind").and_then(J::as_str).unwrap_or("");
                let name = v.pointer("/spec/scaleTargetRef/name").and_then(J::as_str).unwrap_or("");
                if !has(kind, ns, name) {
                    return Err(fail(
                        o,
                        KeyPath::root().key("spec").key("scaleTargetRef"),
                        format!("scale target {kind} `{name}` is not rendered in namespace `{ns}`"),
                    ));
                }
                let target = objects.iter().find(|t| t.kind() == kind && t.namespace() == ns && t.name() == name);
                if let Some(t) = target {
                    let api = v.pointer("/spec/scaleTargetRef/apiVersion").and_then(J::as_str).unwrap_or("");
                    if api != t.api_version() {
                        return Err(fail(
                            o,
                            KeyPath::root().key("spec").key("scaleTargetRef").key("apiVersion"),
                            format!("scale target {kind} `{name}` is `{}`, not `{api}`", t.api_version()),
                        ));
                    }
                    let labels =
                        pod_template(&t.value).and_then(|p| p.pointer("/metadata/labels")).and_then(J::as_object);
                    let sel = t.value.pointer("/spec/selector");
                    if let (Some(sel), Some(labels)) = (sel, labels) {
                        if !selector_matches(sel, labels) {
                            return Err(fail(
                                o,
                                KeyPath::root().key("spec").key("scaleTargetRef"),
                                format!("scale target {kind} `{name}` has a selector that misses its own pods, so the HPA sees no pods to measure"),
                            ));
                        }
                    }
                }
            }
            "Ingress" => {
                let rules = v.pointer("/spec/rules").and_then(J::as_array).map(Vec::as_slice).unwrap_or(&[]);
                for (ri, r) in rules.iter().enumerate() {
                    let paths = r.pointer("/http/paths").and_then(J::as_array).map(Vec::as_slice).unwrap_or(&[]);
                    for (pi, p) in paths.iter().enumerate() {
                        let Some(b) = p.pointer("/backend/service") else { continue };
                        let at = KeyPath::root().key("spec").key("rules").index(ri).key("http").key("paths").index(pi);
                        let name = b.get("name").and_then(J::as_str).unwrap_or("");
                        let svc =
                            objects.iter().find(|s| s.kind() == "Service" && s.namespace() == ns && s.name() == name);
                        let Some(svc) = svc else {
                            if has("Service", ns, name) {
                                continue;
                            }
                            return Err(fail(
                                o,
                                at,
                                format!("backend Service `{name}` is not rendered in namespace `{ns}`"),
                            ));
                        };
                        let ports =
                            svc.value.pointer("/spec/ports").and_then(J::as_array).map(Vec::as_slice).unwrap_or(&[]);
                        let found = match (b.pointer("/port/name").and_then(J::as_str), b.pointer("/port/number")) {
                            (Some(pn), _) => ports.iter().any(|p| p.get("name").and_then(J::as_str) == Some(pn)),
                            (None, Some(num)) => ports.iter().any(|p| p.get("port") == Some(num)),
                            _ => false,
                        };
                        if !found {
                            return Err(fail(o, at, format!("backend port of Service `{name}` does not exist on it")));
                        }
                    }
                }
            }
            "RoleBinding" | "ClusterRoleBinding" => {
                let kind = v.pointer("/roleRef/kind").and_then(J::as_str).unwrap_or("");
                let name = v.pointer("/roleRef/name").and_then(J::as_str).unwrap_or("");
                let role_ns = if kind == "Role" { ns } else { "" };
                let builtin = kind == "ClusterRole"
                    && (name.starts_with("system:") || matches!(name, "view" | "edit" | "admin" | "cluster-admin"));
                if !builtin && !has(kind, role_ns, name) {
                    return Err(fail(o, KeyPath::root().key("roleRef"), format!("{kind} `{name}` is not rendered")));
                }
                for (i, s) in
                    v.get("subjects").and_then(J::as_array).map(Vec::as_slice).unwrap_or(&[]).iter().enumerate()
                {
                    if s.get("kind").and_then(J::as_str) == Some("ServiceAccount") {
                        let sname = s.get("name").and_then(J::as_str).unwrap_or("");
                        let sns = s.get("namespace").and_then(J::as_str).unwrap_or(ns);
                        if !has("ServiceAccount", sns, sname) && sname != "default" {
                            return Err(fail(
                                o,
                                KeyPath::root().key("subjects").index(i),
                                format!("ServiceAccount `{sname}` is not rendered in namespace `{sns}`"),
                            ));
                        }
                    }
                }
            }
            _ => {}
        }
        if let Some(spec) = pod_template(v).and_then(|t| t.get("spec")) {
            let base = pod_spec_path(v);
            check_pod_refs(o, spec, &base, &has).map_err(|(path, msg)| fail(o, path, msg))?;
        }
    }
    Ok(())
}

/// The pod template of a workload (`spec.template`, or a CronJob's job template's).
fn pod_template(v: &J) -> Option<&J> {
    v.pointer("/spec/template").or_else(|| v.pointer("/spec/jobTemplate/spec/template"))
}

fn pod_spec_path(v: &J) -> KeyPath {
    if v.pointer("/spec/template").is_some() {
        KeyPath::root().key("spec").key("template").key("spec")
    } else {
        KeyPath::root().key("spec").key("jobTemplate").key("spec").key("template").key("spec")
    }
}

fn check_pod_refs(
    o: &Object,
    spec: &J,
    base: &KeyPath,
    has: &dyn Fn(&str, &str, &str) -> bool,
) -> Result<(), (KeyPath, String)> {
    let ns = o.namespace();
    let optional = |v: &J| v.get("optional").and_then(J::as_bool) == Some(true);
    if let Some(sa) = spec.get("serviceAccountName").and_then(J::as_str) {
        if sa != "default" && !has("ServiceAccount", ns, sa) {
            return Err((
                base.key("serviceAccountName"),
                format!("ServiceAccount `{sa}` is not rendered in namespace `{ns}`"),
            ));
        }
    }
    if let Some(pc) = spec.get("priorityClassName").and_then(J::as_str) {
        if !BUILTIN_PRIORITY_CLASSES.contains(&pc) && !has("PriorityClass", "", pc) {
            return Err((base.key("priorityClassName"), format!("PriorityClass `{pc}` is not rendered")));
        }
    }
    for (i, s) in
        spec.get("imagePullSecrets").and_then(J::as_array).map(Vec::as_slice).unwrap_or(&[]).iter().enumerate()
    {
        let name = s.get("name").and_then(J::as_str).unwrap_or("");
        if !has("Secret", ns, name) {
            return Err((
                base.key("imagePullSecrets").index(i),
                format!("image pull Secret `{name}` is not rendered in namespace `{ns}`"),
            ));
        }
    }
    let claim_templates: BTreeSet<&str> = o
        .value
        .pointer("/spec/volumeClaimTemplates")
        .and_then(J::as_array)
        .map(|ts| ts.iter().filter_map(|t| t.pointer("/metadata/name").and_then(J::as_str)).collect())
        .unwrap_or_default();
    let volumes = spec.get("volumes").and_then(J::as_array).map(Vec::as_slice).unwrap_or(&[]);
    let mut volume_names: BTreeSet<&str> = claim_templates.clone();
    for (i, vol) in volumes.iter().enumerate() {
        let at = base.key("volumes").index(i);
        volume_names.extend(vol.get("name").and_then(J::as_str));
        if let Some(cm) = vol.get("configMap") {
            let name = cm.get("name").and_then(J::as_str).unwrap_or("");
            if !optional(cm) && !has("ConfigMap", ns, name) {
                return Err((at, format!("ConfigMap `{name}` is not rendered in namespace `{ns}`")));
            }
        }
        if let Some(s) = vol.get("secret") {
            let name = s.get("secretName").and_then(J::as_str).unwrap_or("");
            if !optional(s) && !has("Secret", ns, name) {
                return Err((at, format!("Secret `{name}` is not rendered in namespace `{ns}`")));
            }
        }
        for (si, src) in
            vol.pointer("/projected/sources").and_then(J::as_array).map(Vec::as_slice).unwrap_or(&[]).iter().enumerate()
        {
            for (field, kind) in [("configMap", "ConfigMap"), ("secret", "Secret")] {
                let Some(r) = src.get(field) else { continue };
                let name = r.get("name").and_then(J::as_str).unwrap_or("");
                if !optional(r) && !has(kind, ns, name) {
                    return Err((
                        at.key("projected").key("sources").index(si),
                        format!("{kind} `{name}` is not rendered in namespace `{ns}`"),
                    ));
                }
            }
        }
        if let Some(c) = vol.get("persistentVolumeClaim") {
            let name = c.get("claimName").and_then(J::as_str).unwrap_or("");
            if !has("PersistentVolumeClaim", ns, name) {
                return Err((at, format!("PersistentVolumeClaim `{name}` is not rendered in namespace `{ns}`")));
            }
        }
    }
    for list in ["initContainers", "containers"] {
        for (ci, c) in spec.get(list).and_then(J::as_array).map(Vec::as_slice).unwrap_or(&[]).iter().enumerate() {
            let cpath = base.key(list).index(ci);
            for (mi, m) in
                c.get("volumeMounts").and_then(J::as_array).map(Vec::as_slice).unwrap_or(&[]).iter().enumerate()
            {
                let name = m.get("name").and_then(J::as_str).unwrap_or("");
                if !volume_names.contains(name) {
                    return Err((
                        cpath.key("volumeMounts").index(mi),
                        format!("volume `{name}` is mounted but not declared in the pod"),
                    ));
                }
            }
            for (ei, e) in c.get("env").and_then(J::as_array).map(Vec::as_slice).unwrap_or(&[]).iter().enumerate() {
                for (field, kind) in [("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")] {
                    if let Some(r) = e.pointer(&format!("/valueFrom/{field}")) {
                        let name = r.get("name").and_then(J::as_str).unwrap_or("");
                        if !optional(r) && !has(kind, ns, name) {
                            return Err((
                                cpath.key("env").index(ei),
                                format!("{kind} `{name}` is not rendered in namespace `{ns}`"),
                            ));
                        }
                    }
                }
            }
            for (ei, e) in c.get("envFrom").and_then(J::as_array).map(Vec::as_slice).unwrap_or(&[]).iter().enumerate() {
                for (field, kind) in [("configMapRef", "ConfigMap"), ("secretRef", "Secret")] {
                    if let Some(r) = e.get(field) {
                        let name = r.get("name").and_then(J::as_str).unwrap_or("");
                        if !optional(r) && !has(kind, ns, name) {
                            return Err((
                                cpath.key("envFrom").index(ei),
                                format!("{kind} `{name}` is not rendered in namespace `{ns}`"),
                            ));
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(component: &str, key: &str, v: J) -> Object {
        Object::custom(component, key, v, "test")
    }

    fn deploy(labels: J, volumes: J) -> Object {
        obj(
            "c",
            "deploy",
            json!({"kind": "Deployment", "metadata": {"name": "d", "namespace": "ns"},
            "spec": {"template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "a"}], "volumes": volumes}}}}),
        )
    }

    #[test]
    fn service_selector_must_match_a_pod_template() {
        let svc = obj(
            "c",
            "svc",
            json!({"kind": "Service", "metadata": {"name": "s", "namespace": "ns"}, "spec": {"selector": {"name": "x"}}}),
        );
        assert!(check_references(&[deploy(json!({"name": "x"}), json!([])), svc.clone()], &BTreeSet::new()).is_ok());
        let e = check_references(&[deploy(json!({"name": "y"}), json!([])), svc], &BTreeSet::new()).unwrap_err();
        assert_eq!(e.path().unwrap().to_string(), "c.svc.spec.selector");
    }

    #[test]
    fn missing_config_map_is_found() {
        let d = deploy(json!({}), json!([{"name": "v", "configMap": {"name": "nope"}}]));
        let e = check_references(&[d], &BTreeSet::new()).unwrap_err();
        assert_eq!(e.path().unwrap().to_string(), "c.deploy.spec.template.spec.volumes[0]");
    }

    #[test]
    fn external_objects_satisfy_references() {
        let d = deploy(json!({}), json!([{"name": "v", "secret": {"secretName": "tls"}}]));
        let ext = BTreeSet::from([("Secret".to_string(), "ns".to_string(), "tls".to_string())]);
        assert!(check_references(&[d], &ext).is_ok());
    }

    #[test]
    fn projected_volumes_and_image_pull_secrets_are_references() {
        let d = deploy(json!({}), json!([{"name": "v", "projected": {"sources": [{"configMap": {"name": "ca"}}]}}]));
        let e = check_references(&[d], &BTreeSet::new()).unwrap_err();
        assert_eq!(e.path().unwrap().to_string(), "c.deploy.spec.template.spec.volumes[0].projected.sources[0]");
        let ext = BTreeSet::from([("ConfigMap".to_string(), "ns".to_string(), "ca".to_string())]);
        let d = deploy(json!({}), json!([{"name": "v", "projected": {"sources": [{"configMap": {"name": "ca"}}]}}]));
        assert!(check_references(&[d], &ext).is_ok());
        let mut d = deploy(json!({}), json!([]));
        d.value["spec"]["template"]["spec"]["imagePullSecrets"] = json!([{"name": "regcred"}]);
        let e = check_references(&[d], &BTreeSet::new()).unwrap_err();
        assert!(e.to_string().contains("image pull Secret `regcred`"), "{e}");
    }

    #[test]
    fn pdb_selector_expressions_must_select_a_pod_template() {
        let pdb = |op: &str| {
            obj(
                "c",
                "pdb",
                json!({"kind": "PodDisruptionBudget", "metadata": {"name": "p", "namespace": "ns"},
                "spec": {"selector": {"matchExpressions": [{"key": "name", "operator": op, "values": ["x"]}]}}}),
            )
        };
        assert!(check_references(&[deploy(json!({"name": "x"}), json!([])), pdb("In")], &BTreeSet::new()).is_ok());
        assert!(check_references(&[deploy(json!({"name": "x"}), json!([])), pdb("NotIn")], &BTreeSet::new()).is_err());
    }

    #[test]
    fn hpa_target_must_have_the_named_api_version_and_select_its_pods() {
        let hpa = |api: &str| {
            obj(
                "c",
                "hpa",
                json!({"kind": "HorizontalPodAutoscaler", "metadata": {"name": "h", "namespace": "ns"},
                "spec": {"scaleTargetRef": {"apiVersion": api, "kind": "Deployment", "name": "d"}}}),
            )
        };
        let mut d = deploy(json!({"name": "x"}), json!([]));
        d.value["apiVersion"] = json!("apps/v1");
        d.value["spec"]["selector"] = json!({"matchLabels": {"name": "x"}});
        assert!(check_references(&[d.clone(), hpa("apps/v1")], &BTreeSet::new()).is_ok());
        assert!(check_references(&[d.clone(), hpa("extensions/v1beta1")], &BTreeSet::new()).is_err());
        d.value["spec"]["selector"] = json!({"matchLabels": {"name": "y"}});
        let e = check_references(&[d, hpa("apps/v1")], &BTreeSet::new()).unwrap_err();
        assert!(e.to_string().contains("misses its own pods"), "{e}");
    }

    #[test]
    fn statefulset_service_must_be_headless() {
        let sts = obj(
            "c",
            "sts",
            json!({"kind": "StatefulSet", "metadata": {"name": "s", "namespace": "ns"}, "spec": {"serviceName": "h"}}),
        );
        let svc = obj(
            "c",
            "svc",
            json!({"kind": "Service", "metadata": {"name": "h", "namespace": "ns"}, "spec": {"clusterIP": "10.0.0.1"}}),
        );
        assert!(check_references(&[sts, svc], &BTreeSet::new()).is_err());
    }
}
