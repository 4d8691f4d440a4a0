//! Selectors. A workload's `spec.selector` must select its own pod template (the API
//! server refuses it otherwise), and because a workload's selector and a StatefulSet's
//! claim templates can never change, neither may hold a label that changes with every
//! release: a version (`app.kubernetes.io/version`, `version: 1.2.3`) or a Helm chart
//! label (`helm.sh/chart: x-1.2.3`). Such a label makes the next upgrade fail halfway; in
//! a Service's selector it drops the old pods from the Service during a rollout.

use crate::pointer::JsonPointer as _;
use serde_json::Value as J;

use super::{finding, items, pod_template};
use crate::error::Error;
use crate::object::Object;
use crate::path::KeyPath;

/// Kinds whose `spec.selector` is a LabelSelector of their own pod template.
const WORKLOADS: &[&str] = &["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"];

/// Label keys that change with every release.
const VERSION_KEYS: &[&str] = &["app.kubernetes.io/version", "helm.sh/chart", "chart", "version"];

/// True when `sel` (a LabelSelector: `matchLabels` and `matchExpressions`) selects
/// `labels`. An empty selector selects everything.
pub fn selector_matches(sel: &J, labels: &serde_json::Map<String, J>) -> bool {
    let by_labels =
        sel.get("matchLabels").and_then(J::as_object).is_none_or(|m| m.iter().all(|(k, v)| labels.get(k) == Some(v)));
    by_labels
        && items(sel.get("matchExpressions")).iter().all(|e| {
            let key = e.get("key").and_then(J::as_str).unwrap_or("");
            let values = items(e.get("values"));
            let value = labels.get(key);
            match e.get("operator").and_then(J::as_str).unwrap_or("") {
                "In" => value.is_some_and(|v| values.contains(v)),
                "NotIn" => value.is_none_or(|v| !values.contains(v)),
                "Exists" => value.is_some(),
                "DoesNotExist" => value.is_none(),
                _ => false,
            }
        })
}

/// True when a label key or value changes with every release: a version key, or a value
/// that looks like a version (`1.2.3`, `v2.0`, `7.10.2-debian`) or a chart (`es-1.2.3`).
pub fn is_version_like(key: &str, value: &str) -> bool {
    let name = key.rsplit('/').next().unwrap_or(key);
    if VERSION_KEYS.contains(&key) || name == "version" || name.ends_with("-version") {
        return true;
    }
    // The last `-`-separated part that starts with a digit, or the whole value.
    let candidates = std::iter::once(value).chain(value.split('-').skip(1));
    candidates.into_iter().any(|part| {
        let v = part.strip_prefix('v').unwrap_or(part);
        let core = v.split(['-', '+']).next().unwrap_or("");
        let nums: Vec<&str> = core.split('.').collect();
        nums.len() >= 2 && nums.iter().all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// Checks `o`'s selectors: its own pod template matches, and no version-like labels in a
/// workload selector, a Service selector or a claim template.
pub fn check_selectors(o: &Object) -> Result<(), Error> {
    let sel_path = KeyPath::root().key("spec").key("selector");
    let kind = o.kind();
    if WORKLOADS.contains(&kind) {
        if let Some(sel) = o.value.ptr("/spec/selector") {
            hazards(o, sel.get("matchLabels"), &sel_path.key("matchLabels"), "selector")?;
            let labels = pod_template(&o.value)
                .and_then(|(t, _)| t.ptr("/metadata/labels"))
                .and_then(J::as_object)
                .cloned()
                .unwrap_or_default();
            if !selector_matches(sel, &labels) {
                return Err(finding(
                    o,
                    &sel_path,
                    format!("the selector {sel} does not select the pod template's labels {}", J::Object(labels)),
                )
                .help("the API server refuses a workload whose selector misses its own pods")
                .help("give the pod template every label of `spec.selector.matchLabels`"));
            }
        }
    }
    if kind == "Service" {
        hazards(o, o.value.ptr("/spec/selector"), &sel_path, "selector")?;
    }
    for (i, t) in items(o.value.ptr("/spec/volumeClaimTemplates")).iter().enumerate() {
        let at = KeyPath::root().key("spec").key("volumeClaimTemplates").index(i).key("metadata").key("labels");
        hazards(o, t.ptr("/metadata/labels"), &at, "claim template")?;
    }
    Ok(())
}

fn hazards(o: &Object, labels: Option<&J>, at: &KeyPath, what: &str) -> Result<(), Error> {
    let Some(map) = labels.and_then(J::as_object) else { return Ok(()) };
    for (k, v) in map {
        let value = v.as_str().unwrap_or("");
        if is_version_like(k, value) {
            let why = if o.kind() == "Service" {
                "a Service selector with a version drops the old pods from the Service during every rollout"
            } else {
                "it can never change, so the next release's upgrade would fail halfway"
            };
            return Err(finding(
                o,
                &at.key(k),
                format!("version-like label `{k}: {value}` in the {what} of {} `{}`: {why}", o.kind(), o.name()),
            )
            .help("keep version labels on the pod template's and object's metadata only"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use serde_json::json;

    #[test]
    fn version_like_labels() {
        for (k, v) in [
            ("app.kubernetes.io/version", "x"),
            ("helm.sh/chart", "x"),
            ("a", "1.2.3"),
            ("a", "v7.10"),
            ("a", "elasticsearch-7.17.3"),
            ("a", "1.2.3-debian"),
            ("x/version", "a"),
            ("es-version", "a"),
        ] {
            assert!(is_version_like(k, v), "{k}: {v}");
        }
        for (k, v) in [
            ("app.kubernetes.io/name", "elasticsearch"),
            ("name", "fluentd-es"),
            ("a", "v1"),
            ("component", "sdc-cassandra-0"),
            ("a", ""),
        ] {
            assert!(!is_version_like(k, v), "{k}: {v}");
        }
    }

    #[test]
    fn selector_expressions_match() {
        let labels = json!({"app": "a", "tier": "web"});
        let labels = labels.as_object().unwrap();
        assert!(selector_matches(&json!({"matchLabels": {"app": "a"}}), labels));
        assert!(selector_matches(
            &json!({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["web", "api"]},
                {"key": "gone", "operator": "DoesNotExist"}]}),
            labels
        ));
        assert!(!selector_matches(
            &json!({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["web"]}]}),
            labels
        ));
        assert!(!selector_matches(&json!({"matchLabels": {"app": "b"}}), labels));
    }

    #[test]
    fn a_stable_selector_passes() {
        assert!(check_selectors(&deploy_with(json!({"name": "a"}))).is_ok());
    }

    #[test]
    fn a_selector_missing_its_template_is_found() {
        let mut d = deploy_with(json!({"name": "a"}));
        d.value["spec"]["selector"]["matchLabels"]["app"] = json!("other");
        let e = check_selectors(&d).unwrap_err();
        assert_eq!(e.path().unwrap().to_string(), "c.k.spec.selector");
    }

    #[test]
    fn a_version_in_a_workload_selector_is_found() {
        let mut d = deploy_with(json!({"name": "a"}));
        d.value["spec"]["selector"]["matchLabels"]["app.kubernetes.io/version"] = json!("1.2.3");
        d.value["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/version"] = json!("1.2.3");
        let e = check_selectors(&d).unwrap_err();
        assert_eq!(e.path().unwrap().to_string(), r"c.k.spec.selector.matchLabels.app\.kubernetes\.io/version");
    }

    #[test]
    fn a_version_in_a_claim_template_is_found() {
        let sts = obj(json!({"kind": "StatefulSet", "metadata": {"name": "s"},
            "spec": {"volumeClaimTemplates": [{"metadata": {"name": "data", "labels": {"chart": "es-1.0.0"}}}]}}));
        assert!(check_selectors(&sts).unwrap_err().to_string().contains("claim template"));
    }

    #[test]
    fn a_version_in_a_service_selector_is_found() {
        let svc = obj(json!({"kind": "Service", "metadata": {"name": "s"}, "spec": {"selector": {"version": "2"}}}));
        assert!(check_selectors(&svc).is_err());
    }
}
