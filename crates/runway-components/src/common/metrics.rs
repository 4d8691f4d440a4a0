//! Metrics endpoints, declared once per workload, and the two ways Prometheus is told
//! about them (`platform.monitoring`):
//!
//! - `annotations`: `prometheus.io/scrape|port|path` on the pod template, which BKPR's
//!   Prometheus reads in its `kubernetes-pods` job;
//! - `operator`: a ServiceMonitor (the workload has a Service exposing the metrics port by
//!   name) or a PodMonitor (it has none), `monitoring.coreos.com/v1`, labelled with
//!   `platform.monitor_labels` so that a kube-prometheus-stack Prometheus selects it;
//! - `both`: the two at once, for moving from one Prometheus to the other.
//!
//! A component declares a [`Scrape`] (which pods or Service, which named port, path and
//! interval) and takes both its pod annotations and its monitor object from it, so the two
//! can never disagree. The Prometheus Operator owns the CRDs, so runway does not render
//! them; prometheus/crds/ holds upstream's copies, which renders validate monitors and rules
//! against.

use std::collections::BTreeMap;

use runway_core::Object;
use serde::Serialize;

use crate::common::meta;
use crate::context::Context;

/// The API version of ServiceMonitor, PodMonitor and PrometheusRule.
pub const MONITORING_API_VERSION: &str = "monitoring.coreos.com/v1";

/// One HTTP endpoint that serves Prometheus metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MetricsEndpoint {
    /// The name of the port: the container port's name for a PodMonitor, the Service
    /// port's name for a ServiceMonitor (runway names them alike).
    pub port_name: &'static str,
    /// The port number (the annotations carry the number).
    pub port: i32,
    /// The HTTP path. Default: `/metrics`.
    pub path: &'static str,
    /// The scrape interval (`30s`); `None` keeps Prometheus' global interval. Default: `None`.
    pub interval: Option<&'static str>,
}

impl MetricsEndpoint {
    /// `/metrics` on port `port_name` (`port`), at the global interval.
    pub const fn new(port_name: &'static str, port: i32) -> Self {
        MetricsEndpoint { port_name, port, path: "/metrics", interval: None }
    }

    /// The same on another path.
    pub const fn path(self, path: &'static str) -> Self {
        MetricsEndpoint { path, ..self }
    }

    /// The same at another interval.
    pub const fn interval(self, interval: &'static str) -> Self {
        MetricsEndpoint { interval: Some(interval), ..self }
    }
}

/// What a monitor selects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// The Service with these labels, which has a port named as the endpoint's.
    Service(BTreeMap<String, String>),
    /// The pods with these labels, whose container has a port named as the endpoint's.
    Pods(BTreeMap<String, String>),
}

/// A workload's metrics: where they are served and how Prometheus finds them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scrape {
    /// The workload's name, which the monitor takes.
    pub name: String,
    /// Its namespace.
    pub namespace: String,
    /// The `app.kubernetes.io/component` label of the monitor (the runway component).
    pub component: String,
    /// What the monitor selects.
    pub target: Target,
    /// The endpoint.
    pub endpoint: MetricsEndpoint,
}

impl Scrape {
    /// Metrics of the pods labelled `selector` (a PodMonitor in operator mode).
    pub fn pods(
        component: &str,
        name: &str,
        namespace: &str,
        selector: BTreeMap<String, String>,
        endpoint: MetricsEndpoint,
    ) -> Self {
        Scrape {
            name: name.into(),
            namespace: namespace.into(),
            component: component.into(),
            target: Target::Pods(selector),
            endpoint,
        }
    }

    /// Metrics behind the Service labelled `service_labels` (a ServiceMonitor in operator mode).
    pub fn service(
        component: &str,
        name: &str,
        namespace: &str,
        service_labels: BTreeMap<String, String>,
        endpoint: MetricsEndpoint,
    ) -> Self {
        Scrape {
            name: name.into(),
            namespace: namespace.into(),
            component: component.into(),
            target: Target::Service(service_labels),
            endpoint,
        }
    }

    /// The pod annotations: `prometheus.io/scrape|port|path` when `platform.monitoring` is
    /// `annotations` or `both`, none otherwise.
    pub fn annotations(&self, cx: &Context) -> BTreeMap<String, String> {
        if !cx.platform.monitoring.annotations() {
            return BTreeMap::new();
        }
        BTreeMap::from([
            ("prometheus.io/scrape".to_string(), "true".to_string()),
            ("prometheus.io/port".to_string(), self.endpoint.port.to_string()),
            ("prometheus.io/path".to_string(), self.endpoint.path.to_string()),
        ])
    }

    /// Adds [`Scrape::annotations`] to `annotations`.
    pub fn annotate(&self, annotations: &mut BTreeMap<String, String>, cx: &Context) {
        annotations.extend(self.annotations(cx));
    }

    /// The kind of monitor: `ServiceMonitor` or `PodMonitor`.
    pub fn monitor_kind(&self) -> &'static str {
        match self.target {
            Target::Service(_) => "ServiceMonitor",
            Target::Pods(_) => "PodMonitor",
        }
    }

    /// The monitor object, under object key `key`, when `platform.monitoring` is
    /// `operator` or `both`; `None` otherwise.
    pub fn monitor(&self, component: &str, key: &str, cx: &Context) -> Option<Object> {
        if !cx.platform.monitoring.operator() {
            return None;
        }
        let endpoint = Endpoint {
            port: self.endpoint.port_name,
            path: self.endpoint.path,
            interval: self.endpoint.interval,
            scheme: "http",
        };
        let mut labels = meta::labels(&self.name, &self.component);
        labels.extend(cx.platform.monitor_labels.clone());
        let metadata = Metadata { name: &self.name, namespace: &self.namespace, labels };
        let value = match &self.target {
            Target::Service(sel) => serde_json::to_value(MonitorObject {
                api_version: MONITORING_API_VERSION,
                kind: "ServiceMonitor",
                metadata,
                spec: ServiceMonitorSpec {
                    selector: Selector { match_labels: sel },
                    endpoints: vec![endpoint],
                    job_label: None,
                },
            }),
            Target::Pods(sel) => serde_json::to_value(MonitorObject {
                api_version: MONITORING_API_VERSION,
                kind: "PodMonitor",
                metadata,
                spec: PodMonitorSpec {
                    selector: Selector { match_labels: sel },
                    pod_metrics_endpoints: vec![endpoint],
                },
            }),
        };
        // Invariant: these types hold strings and string maps only.
        let value = value.expect("monitor objects serialize to JSON");
        Some(Object::custom(component, key, value, self.monitor_kind()))
    }
}

/// A PrometheusRule named `name` holding `groups` (each `{name, rules}` as in a Prometheus
/// rule file), labelled for the operator's `ruleSelector`.
pub fn prometheus_rule(
    component: &str,
    key: &str,
    name: &str,
    namespace: &str,
    groups: serde_json::Value,
    cx: &Context,
) -> Object {
    let mut labels = meta::labels(name, component);
    labels.extend(cx.platform.monitor_labels.clone());
    let value = serde_json::json!({
        "apiVersion": MONITORING_API_VERSION,
        "kind": "PrometheusRule",
        "metadata": Metadata { name, namespace, labels },
        "spec": {"groups": groups},
    });
    Object::custom(component, key, value, "PrometheusRule")
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MonitorObject<'a, S> {
    api_version: &'static str,
    kind: &'static str,
    metadata: Metadata<'a>,
    spec: S,
}

#[derive(Serialize)]
struct Metadata<'a> {
    name: &'a str,
    namespace: &'a str,
    labels: BTreeMap<String, String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Selector<'a> {
    match_labels: &'a BTreeMap<String, String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Endpoint {
    port: &'static str,
    path: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    interval: Option<&'static str>,
    scheme: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ServiceMonitorSpec<'a> {
    selector: Selector<'a>,
    endpoints: Vec<Endpoint>,
    #[serde(skip_serializing_if = "Option::is_none")]
    job_label: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PodMonitorSpec<'a> {
    selector: Selector<'a>,
    pod_metrics_endpoints: Vec<Endpoint>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::MonitoringMode;
    use runway_core::JsonPointer as _;

    fn cx(mode: MonitoringMode) -> Context {
        let mut cx = Context::default();
        cx.platform.monitoring = mode;
        cx
    }

    fn scrape() -> Scrape {
        Scrape::pods("demo", "demo", "kubeprod", meta::selector_labels("demo"), MetricsEndpoint::new("metrics", 9100))
    }

    #[test]
    fn annotations_mode_annotates_and_renders_no_monitor() {
        let cx = cx(MonitoringMode::Annotations);
        let a = scrape().annotations(&cx);
        assert_eq!(a["prometheus.io/port"], "9100");
        assert_eq!(a["prometheus.io/path"], "/metrics");
        assert!(scrape().monitor("demo", "podMonitor", &cx).is_none());
    }

    #[test]
    fn operator_mode_renders_a_monitor_and_no_annotations() {
        let cx = cx(MonitoringMode::Operator);
        assert!(scrape().annotations(&cx).is_empty());
        let m = scrape().monitor("demo", "podMonitor", &cx).expect("a monitor in operator mode");
        assert_eq!(m.kind(), "PodMonitor");
        assert_eq!(m.value["metadata"]["labels"]["release"], "kube-prometheus-stack");
        assert_eq!(m.value["spec"]["podMetricsEndpoints"][0]["port"], "metrics");
        assert_eq!(m.value["spec"]["selector"]["matchLabels"]["name"], "demo");
    }

    #[test]
    fn both_mode_does_both_and_a_service_target_gives_a_service_monitor() {
        let cx = cx(MonitoringMode::Both);
        let s = Scrape::service(
            "demo",
            "demo",
            "kubeprod",
            meta::selector_labels("demo"),
            MetricsEndpoint::new("web", 9090).path("/x/metrics").interval("30s"),
        );
        assert_eq!(s.annotations(&cx)["prometheus.io/path"], "/x/metrics");
        let m = s.monitor("demo", "serviceMonitor", &cx).expect("a monitor in both mode");
        assert_eq!(m.kind(), "ServiceMonitor");
        assert_eq!(m.value["spec"]["endpoints"][0]["interval"], "30s");
        assert_eq!(m.value["spec"]["endpoints"][0]["path"], "/x/metrics");
    }

    /// The labels of `o` at JSON pointer `at`, as a map.
    fn labels_at<'a>(o: &'a Object, at: &str) -> Option<&'a serde_json::Map<String, serde_json::Value>> {
        o.value.ptr(at).and_then(|l| l.as_object())
    }

    fn matches(selector: &serde_json::Value, labels: Option<&serde_json::Map<String, serde_json::Value>>) -> bool {
        let want = selector["matchLabels"].as_object().expect("a monitor selects by matchLabels");
        labels.is_some_and(|l| want.iter().all(|(k, v)| l.get(k) == Some(v)))
    }

    #[test]
    fn every_monitor_of_an_operator_render_selects_a_named_port_that_exists() {
        let mut stack = crate::Stack::new();
        stack.platform("onprem", "test").expect("onprem exists");
        for set in ["config.dns_zone=example.com", "platform.monitoring=operator"] {
            stack.set(set, false).expect("a set flag");
        }
        let objects = stack.render(crate::ALL).unwrap_or_else(|e| panic!("{}", e.render())).objects;
        let monitors: Vec<&Object> =
            objects.iter().filter(|o| matches!(o.kind(), "ServiceMonitor" | "PodMonitor")).collect();
        assert!(monitors.len() >= 10, "{} monitors", monitors.len());
        for m in &monitors {
            let ns = m.namespace();
            assert_eq!(m.value["metadata"]["labels"]["release"], "kube-prometheus-stack", "{}", m.name());
            let selector = &m.value["spec"]["selector"];
            if m.kind() == "ServiceMonitor" {
                let port = m.value["spec"]["endpoints"][0]["port"].as_str().expect("a port name");
                let services: Vec<&Object> = objects
                    .iter()
                    .filter(|o| o.kind() == "Service" && o.namespace() == ns)
                    .filter(|o| matches(selector, labels_at(o, "/metadata/labels")))
                    .collect();
                assert_eq!(services.len(), 1, "ServiceMonitor {} selects {} Services", m.name(), services.len());
                let ports = services[0].value["spec"]["ports"].as_array().expect("ports");
                assert!(ports.iter().any(|p| p["name"] == port), "Service {} has no port `{port}`", services[0].name());
            } else {
                let port = m.value["spec"]["podMetricsEndpoints"][0]["port"].as_str().expect("a port name");
                let pods: Vec<&Object> = objects
                    .iter()
                    .filter(|o| o.namespace() == ns)
                    .filter(|o| matches(selector, labels_at(o, "/spec/template/metadata/labels")))
                    .collect();
                assert!(!pods.is_empty(), "PodMonitor {} selects no pods", m.name());
                for w in pods {
                    let containers = w.value["spec"]["template"]["spec"]["containers"].as_array().expect("containers");
                    assert!(
                        containers
                            .iter()
                            .flat_map(|c| c["ports"].as_array().into_iter().flatten())
                            .any(|p| p["name"] == port),
                        "{} {} has no container port `{port}`",
                        w.kind(),
                        w.name()
                    );
                }
            }
        }
        // In operator mode no pod carries scrape annotations.
        assert!(objects
            .iter()
            .all(|o| o.value.ptr("/spec/template/metadata/annotations/prometheus.io~1scrape").is_none()));
    }
}
