//! The Namespace objects of a render: one for every namespace the objects use, labelled
//! for Pod Security Admission at the strictest level its pods meet.

use runway_core::JsonPointer as _;
use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Namespace;
use runway_core::Object;

use crate::common::meta;

/// The pseudo-component that owns Namespace objects (and their `--output-dir` folder).
pub const COMPONENT: &str = "namespaces";

/// Namespaces every cluster has and runway must not own: relabelling them for Pod
/// Security Admission would stop system pods (kube-proxy, CNI) from restarting.
pub const SYSTEM_NAMESPACES: &[&str] = &["default", "kube-node-lease", "kube-public", "kube-system"];

/// Namespace objects for the namespaces used by `objects` (never the system ones).
pub fn namespaces_for(objects: &[Object]) -> Vec<Object> {
    let mut levels: BTreeMap<&str, &'static str> = BTreeMap::new();
    for o in objects {
        let ns = o.namespace();
        if ns.is_empty() || o.kind() == "Namespace" || SYSTEM_NAMESPACES.contains(&ns) {
            continue;
        }
        let level = pod_security_level(&o.value);
        let e = levels.entry(ns).or_insert("restricted");
        if rank(level) > rank(e) {
            *e = level;
        }
    }
    levels
        .into_iter()
        .map(|(ns, level)| {
            let mut labels = BTreeMap::from([
                ("app.kubernetes.io/managed-by".to_string(), meta::MANAGED_BY.to_string()),
                ("kubernetes.io/metadata.name".to_string(), ns.to_string()),
            ]);
            for mode in ["enforce", "audit", "warn"] {
                labels.insert(format!("pod-security.kubernetes.io/{mode}"), level.to_string());
            }
            let n = Namespace { metadata: meta::cluster_scoped(ns, labels), ..Default::default() };
            Object::new(COMPONENT, ns, &n)
        })
        .collect()
}

fn rank(level: &str) -> u8 {
    match level {
        "restricted" => 0,
        "baseline" => 1,
        _ => 2,
    }
}

/// The Pod Security Standard level a workload's pod template needs: `privileged` for
/// privileged containers, host namespaces or hostPath volumes; `baseline` for added
/// capabilities other than NET_BIND_SERVICE or a missing non-root/seccomp setting;
/// `restricted` otherwise. Objects without a pod template need nothing.
pub fn pod_security_level(obj: &serde_json::Value) -> &'static str {
    let spec = obj
        .ptr("/spec/template/spec")
        .or_else(|| obj.ptr("/spec/jobTemplate/spec/template/spec"))
        .or_else(|| if obj.get("kind").and_then(|k| k.as_str()) == Some("Pod") { obj.get("spec") } else { None });
    let Some(spec) = spec else { return "restricted" };
    let truthy = |p: &str| spec.ptr(p).and_then(|v| v.as_bool()).unwrap_or(false);
    if truthy("/hostNetwork") || truthy("/hostPID") || truthy("/hostIPC") {
        return "privileged";
    }
    let volumes = spec.get("volumes").and_then(|v| v.as_array()).map(Vec::as_slice).unwrap_or(&[]);
    if volumes.iter().any(|v| v.get("hostPath").is_some()) {
        return "privileged";
    }
    let containers = ["containers", "initContainers"]
        .iter()
        .filter_map(|k| spec.get(*k).and_then(|v| v.as_array()))
        .flatten()
        .collect::<Vec<_>>();
    let mut level = "restricted";
    let pod_non_root = spec.ptr("/securityContext/runAsNonRoot").and_then(|v| v.as_bool()) == Some(true);
    let pod_seccomp = spec.ptr("/securityContext/seccompProfile/type").and_then(|v| v.as_str());
    for c in containers {
        let sc = c.get("securityContext");
        let get = |p: &str| sc.and_then(|s| s.ptr(p));
        if get("/privileged").and_then(|v| v.as_bool()) == Some(true) {
            return "privileged";
        }
        let adds = get("/capabilities/add").and_then(|v| v.as_array()).map(Vec::as_slice).unwrap_or(&[]);
        if adds.iter().any(|a| a.as_str() != Some("NET_BIND_SERVICE")) {
            level = "baseline";
        }
        let drops_all = get("/capabilities/drop")
            .and_then(|v| v.as_array())
            .is_some_and(|d| d.iter().any(|x| x.as_str() == Some("ALL")));
        let non_root = get("/runAsNonRoot").and_then(|v| v.as_bool()).unwrap_or(pod_non_root);
        let no_escalation = get("/allowPrivilegeEscalation").and_then(|v| v.as_bool()) == Some(false);
        let seccomp = get("/seccompProfile/type").and_then(|v| v.as_str()).or(pod_seccomp);
        if !drops_all || !non_root || !no_escalation || !matches!(seccomp, Some("RuntimeDefault" | "Localhost")) {
            level = "baseline";
        }
    }
    level
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hardened_pod_is_restricted() {
        let o = json!({"kind": "Deployment", "spec": {"template": {"spec": {
            "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{"name": "a", "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}]}}}});
        assert_eq!(pod_security_level(&o), "restricted");
    }

    #[test]
    fn privileged_init_container_is_privileged() {
        let o = json!({"kind": "StatefulSet", "spec": {"template": {"spec": {
            "containers": [], "initContainers": [{"name": "s", "securityContext": {"privileged": true}}]}}}});
        assert_eq!(pod_security_level(&o), "privileged");
    }

    #[test]
    fn system_namespaces_are_never_rendered() {
        let mut cm = k8s_openapi::api::core::v1::ConfigMap::default();
        cm.metadata.name = Some("x".into());
        cm.metadata.namespace = Some("kube-system".into());
        assert!(namespaces_for(&[Object::new("t", "cm", &cm)]).is_empty());
    }

    #[test]
    fn host_path_is_privileged() {
        let o = json!({"kind": "DaemonSet", "spec": {"template": {"spec": {"containers": [], "volumes": [{"name": "l", "hostPath": {"path": "/var/log"}}]}}}});
        assert_eq!(pod_security_level(&o), "privileged");
    }
}
