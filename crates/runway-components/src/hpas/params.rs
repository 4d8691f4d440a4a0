//! HorizontalPodAutoscalers as typed parameters (`hpas: {NAME: {...}}`), their validation,
//! their conversion to autoscaling/v2, and the Rust builder ([`HpaBuilder`]).

use std::collections::BTreeMap;

use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, ExternalMetricSource, HPAScalingPolicy, HPAScalingRules, HorizontalPodAutoscaler,
    HorizontalPodAutoscalerBehavior, HorizontalPodAutoscalerSpec, MetricIdentifier, MetricSpec, MetricTarget,
    ObjectMetricSource, PodsMetricSource, ResourceMetricSource,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use runway_core::{Error, KeyPath};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::meta;
use crate::context::Context;
use crate::quantity::Quantity;

/// The autoscalers, by name (`hpas: {kuard: {...}}`). Default: none.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct HpasParams(pub BTreeMap<String, HpaSpec>);

/// One autoscaler.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HpaSpec {
    /// The namespace of the autoscaler and its target. Default: `null`, the runtime's
    /// (`config.namespace`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The workload it scales.
    pub target: ScaleTarget,
    /// The fewest replicas. Default: `1`.
    #[serde(default = "one")]
    pub min_replicas: u32,
    /// The most replicas (required).
    pub max_replicas: u32,
    /// What it scales on; at least one (required).
    pub metrics: Vec<MetricSource>,
    /// How fast it scales up and down. Default: `null` (Kubernetes' defaults).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub behavior: Option<Behavior>,
    /// The target is not rendered by runway (an application's Deployment): declare it
    /// external so the render's reference check accepts it. Default: `false`, the target
    /// must be in the render.
    #[serde(default, skip_serializing_if = "is_false")]
    pub external: bool,
}

fn one() -> u32 {
    1
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// The workload an autoscaler scales (`scaleTargetRef`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScaleTarget {
    /// Its kind (`Deployment`, `StatefulSet`, ...).
    pub kind: String,
    /// Its name.
    pub name: String,
    /// Its API version. Default: `apps/v1`.
    #[serde(default = "apps_v1")]
    pub api_version: String,
}

fn apps_v1() -> String {
    "apps/v1".into()
}

impl ScaleTarget {
    /// A Deployment.
    pub fn deployment(name: impl Into<String>) -> Self {
        ScaleTarget { kind: "Deployment".into(), name: name.into(), api_version: apps_v1() }
    }

    /// A StatefulSet.
    pub fn stateful_set(name: impl Into<String>) -> Self {
        ScaleTarget { kind: "StatefulSet".into(), name: name.into(), api_version: apps_v1() }
    }
}

/// A metric to scale on: one of `resource`, `pods`, `object`, `external`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum MetricSource {
    /// CPU or memory of the target's pods.
    Resource(ResourceMetric),
    /// A metric of each of the target's pods, averaged.
    Pods(PodsMetric),
    /// A metric of another object (a Service, an Ingress).
    Object(ObjectMetric),
    /// A metric from outside the cluster (a queue's length).
    External(ExternalMetric),
}

/// A resource of the pods.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ResourceName {
    /// CPU.
    Cpu,
    /// Memory.
    Memory,
}

impl ResourceName {
    fn as_str(self) -> &'static str {
        match self {
            ResourceName::Cpu => "cpu",
            ResourceName::Memory => "memory",
        }
    }
}

/// The target of a resource metric.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ResourceTarget {
    /// Percent of the pods' requests, on average.
    Utilization(u32),
    /// An amount per pod, on average (`500m`, `1Gi`).
    AverageValue(Quantity),
}

/// `resource: {name: cpu, target: {utilization: 70}}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceMetric {
    /// `cpu` or `memory`.
    pub name: ResourceName,
    /// `utilization` (percent) or `average_value`.
    pub target: ResourceTarget,
}

/// `pods: {metric: NAME, average_value: 100}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PodsMetric {
    /// The metric's name.
    pub metric: String,
    /// Labels that narrow the metric's series. Default: `{}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub selector: BTreeMap<String, String>,
    /// The target per pod.
    pub average_value: Quantity,
}

/// The object an object metric describes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DescribedObject {
    /// Its kind (`Service`, `Ingress`, `Deployment`).
    pub kind: String,
    /// Its name.
    pub name: String,
    /// Its API version. Default: `null`, from the kind (`v1` for Service, Pod, Node and
    /// Namespace; `apps/v1` for Deployment, StatefulSet, DaemonSet and ReplicaSet;
    /// `networking.k8s.io/v1` for Ingress); other kinds must give it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
}

impl DescribedObject {
    /// A Service.
    pub fn service(name: impl Into<String>) -> Self {
        DescribedObject { kind: "Service".into(), name: name.into(), api_version: None }
    }

    /// The API version, given or known for the kind.
    pub fn api_version(&self) -> Option<String> {
        self.api_version.clone().or_else(|| {
            let v = match self.kind.as_str() {
                "Service" | "Pod" | "Node" | "Namespace" => "v1",
                "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" => "apps/v1",
                "Ingress" => "networking.k8s.io/v1",
                _ => return None,
            };
            Some(v.to_string())
        })
    }
}

/// `object: {metric: NAME, described_object: {...}, value: 100}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ObjectMetric {
    /// The metric's name.
    pub metric: String,
    /// The object the metric is about.
    pub described_object: DescribedObject,
    /// Labels that narrow the metric's series. Default: `{}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub selector: BTreeMap<String, String>,
    /// The target of the metric's value (one of `value` and `average_value`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Quantity>,
    /// The target of the value divided by the number of pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub average_value: Option<Quantity>,
}

/// `external: {metric: NAME, selector: {...}, value: 30}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExternalMetric {
    /// The metric's name.
    pub metric: String,
    /// Labels that pick the metric's series. Default: `{}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub selector: BTreeMap<String, String>,
    /// The target of the metric's value (one of `value` and `average_value`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Quantity>,
    /// The target of the value divided by the number of pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub average_value: Option<Quantity>,
}

/// A metric's target for the builder: the value itself, or per pod.
#[derive(Clone, Debug, PartialEq)]
pub enum MetricValue {
    /// The metric's value.
    Value(Quantity),
    /// The value divided by the number of pods.
    AverageValue(Quantity),
}

impl MetricValue {
    fn split(self) -> (Option<Quantity>, Option<Quantity>) {
        match self {
            MetricValue::Value(q) => (Some(q), None),
            MetricValue::AverageValue(q) => (None, Some(q)),
        }
    }
}

/// Scaling speed (`behavior`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Behavior {
    /// Rules for scaling up. Default: `null` (Kubernetes': at once, double or +4 pods per 15s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_up: Option<ScalingRules>,
    /// Rules for scaling down. Default: `null` (Kubernetes': 300s stabilization window).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_down: Option<ScalingRules>,
}

/// Rules for one direction.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScalingRules {
    /// Seconds of past recommendations considered (0 to 3600). Default: `null`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stabilization_window_seconds: Option<u32>,
    /// Which policy wins when several allow a change. Default: `null` (`Max`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select_policy: Option<SelectPolicy>,
    /// How much may change per period. Default: `[]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<ScalingPolicy>,
}

/// `selectPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum SelectPolicy {
    /// The policy allowing the largest change.
    Max,
    /// The policy allowing the smallest change.
    Min,
    /// No scaling in this direction.
    Disabled,
}

/// One scaling policy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScalingPolicy {
    /// `Pods` (a count) or `Percent` (of the current replicas).
    #[serde(rename = "type")]
    pub type_: PolicyType,
    /// How many pods or percent (at least 1).
    pub value: u32,
    /// Over how many seconds (1 to 1800).
    pub period_seconds: u32,
}

/// A policy's unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum PolicyType {
    /// A number of pods.
    Pods,
    /// A percentage of the current replicas.
    Percent,
}

fn is_metric_name(s: &str) -> bool {
    !s.is_empty() && !s.chars().any(char::is_whitespace) && !s.contains('/')
}

fn check_selector(sel: &BTreeMap<String, String>, at: &KeyPath) -> Result<(), Error> {
    for (k, v) in sel {
        if !runway_core::names::is_qualified_name(k) || !runway_core::names::is_label_value(v) {
            return Err(Error::invalid(format!("`{k}: {v}` is not a label selector term"))
                .help("use label keys and values as Kubernetes labels take them, e.g. `queue: orders`")
                .with_path(at.key("selector")));
        }
    }
    Ok(())
}

fn positive(q: &Quantity, at: KeyPath) -> Result<(), Error> {
    if q.to_f64() <= 0.0 {
        return Err(Error::invalid(format!("target `{q}` must be more than zero"))
            .help("an autoscaler divides by its target; give a positive amount, e.g. `100`")
            .with_path(at));
    }
    Ok(())
}

/// Exactly one of `value` and `average_value`.
fn one_target(value: &Option<Quantity>, average: &Option<Quantity>, at: &KeyPath) -> Result<(), Error> {
    match (value, average) {
        (Some(q), None) => positive(q, at.key("value")),
        (None, Some(q)) => positive(q, at.key("average_value")),
        (None, None) => Err(Error::invalid("the metric has no target")
            .help("give `value` (the metric itself) or `average_value` (per pod)")
            .with_path(at.clone())),
        (Some(_), Some(_)) => Err(Error::invalid("`value` and `average_value` exclude each other")
            .help("keep `value` for the metric itself, or `average_value` for the metric per pod")
            .with_path(at.key("average_value"))),
    }
}

fn target(type_: &str, value: Option<Quantity>, average: Option<Quantity>) -> MetricTarget {
    MetricTarget {
        type_: type_.into(),
        value: value.map(|q| q.to_k8s()),
        average_value: average.map(|q| q.to_k8s()),
        average_utilization: None,
    }
}

fn value_target(value: &Option<Quantity>, average: &Option<Quantity>) -> MetricTarget {
    match (value, average) {
        (Some(v), _) => target("Value", Some(v.clone()), None),
        (None, a) => target("AverageValue", None, a.clone()),
    }
}

fn identifier(name: &str, selector: &BTreeMap<String, String>) -> MetricIdentifier {
    MetricIdentifier {
        name: name.into(),
        selector: (!selector.is_empty())
            .then(|| LabelSelector { match_labels: Some(selector.clone()), ..Default::default() }),
    }
}

impl HpaSpec {
    /// The namespace it renders into.
    pub fn namespace_in<'a>(&'a self, cx: &'a Context) -> &'a str {
        self.namespace.as_deref().unwrap_or_else(|| cx.namespace())
    }

    /// Checks the autoscaler named `name`; errors carry `hpas.NAME.…`.
    pub fn validate(&self, name: &str) -> Result<(), Error> {
        let at = KeyPath::root().key("hpas").key(name);
        if !runway_core::names::is_dns_subdomain(name) || name.len() > 253 {
            return Err(Error::invalid(format!("`{name}` is not an object name"))
                .help("use lowercase letters, digits, `-` and `.`, e.g. `kuard`")
                .with_path(at));
        }
        if let Some(ns) = &self.namespace {
            if !runway_core::names::is_dns_label(ns) {
                return Err(Error::invalid(format!("`{ns}` is not a namespace name"))
                    .help("use lowercase letters, digits and `-`")
                    .with_path(at.key("namespace")));
            }
        }
        let t = &self.target;
        if t.kind.is_empty() || !t.kind.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(Error::invalid(format!("`{}` is not a kind", t.kind))
                .help("name the workload's kind, e.g. `Deployment` or `StatefulSet`")
                .with_path(at.key("target").key("kind")));
        }
        if !runway_core::names::is_dns_subdomain(&t.name) {
            return Err(Error::invalid(format!("`{}` is not an object name", t.name))
                .help("name the workload to scale, e.g. `kuard`")
                .with_path(at.key("target").key("name")));
        }
        if t.api_version.is_empty() || t.api_version.contains(' ') {
            return Err(Error::invalid(format!("`{}` is not an API version", t.api_version))
                .help("e.g. `apps/v1`")
                .with_path(at.key("target").key("api_version")));
        }
        if self.max_replicas < 1 || i32::try_from(self.max_replicas).is_err() {
            return Err(Error::invalid(format!("max_replicas {} is not a pod count", self.max_replicas))
                .help("give the most replicas the autoscaler may set, at least 1")
                .with_path(at.key("max_replicas")));
        }
        if self.min_replicas < 1 {
            return Err(Error::invalid("min_replicas must be at least 1")
                .help("scaling to zero needs the alpha HPAScaleToZero feature; use 1 or more")
                .with_path(at.key("min_replicas")));
        }
        if self.min_replicas > self.max_replicas {
            return Err(Error::invalid(format!(
                "min_replicas {} is more than max_replicas {}",
                self.min_replicas, self.max_replicas
            ))
            .help(format!("lower `min_replicas` to at most {} or raise `max_replicas`", self.max_replicas))
            .with_path(at.key("min_replicas")));
        }
        if self.metrics.is_empty() {
            return Err(Error::invalid("an autoscaler needs at least one metric")
                .help("add e.g. `- resource: {name: cpu, target: {utilization: 70}}`")
                .with_path(at.key("metrics")));
        }
        for (i, m) in self.metrics.iter().enumerate() {
            let mat = at.key("metrics").index(i);
            match m {
                MetricSource::Resource(r) => match &r.target {
                    ResourceTarget::Utilization(u) => {
                        if *u == 0 || i32::try_from(*u).is_err() {
                            return Err(Error::invalid(format!("utilization {u}% is not a target"))
                                .help("give a percentage of the pods' requests, e.g. `70`")
                                .with_path(mat.key("resource").key("target").key("utilization")));
                        }
                    }
                    ResourceTarget::AverageValue(q) => {
                        positive(q, mat.key("resource").key("target").key("average_value"))?
                    }
                },
                MetricSource::Pods(p) => {
                    let pat = mat.key("pods");
                    if !is_metric_name(&p.metric) {
                        return Err(metric_name_error(&p.metric, pat.key("metric")));
                    }
                    check_selector(&p.selector, &pat)?;
                    positive(&p.average_value, pat.key("average_value"))?;
                }
                MetricSource::Object(o) => {
                    let oat = mat.key("object");
                    if !is_metric_name(&o.metric) {
                        return Err(metric_name_error(&o.metric, oat.key("metric")));
                    }
                    let d = &o.described_object;
                    if d.kind.is_empty() || !runway_core::names::is_dns_subdomain(&d.name) {
                        return Err(Error::invalid(format!("`{} {}` is not an object", d.kind, d.name))
                            .help("name the object the metric describes, e.g. `{kind: Service, name: kuard}`")
                            .with_path(oat.key("described_object")));
                    }
                    if d.api_version().is_none() {
                        return Err(Error::invalid(format!("the API version of kind `{}` is not known", d.kind))
                            .help("give `api_version`, e.g. `networking.k8s.io/v1`")
                            .with_path(oat.key("described_object").key("api_version")));
                    }
                    check_selector(&o.selector, &oat)?;
                    one_target(&o.value, &o.average_value, &oat)?;
                }
                MetricSource::External(e) => {
                    let eat = mat.key("external");
                    if !is_metric_name(&e.metric) {
                        return Err(metric_name_error(&e.metric, eat.key("metric")));
                    }
                    check_selector(&e.selector, &eat)?;
                    one_target(&e.value, &e.average_value, &eat)?;
                }
            }
        }
        if let Some(b) = &self.behavior {
            for (dir, rules) in [("scale_up", &b.scale_up), ("scale_down", &b.scale_down)] {
                let Some(r) = rules else { continue };
                let rat = at.key("behavior").key(dir);
                if r.stabilization_window_seconds.is_some_and(|w| w > 3600) {
                    return Err(Error::invalid("the stabilization window is at most 3600 seconds")
                        .help("use e.g. `300`")
                        .with_path(rat.key("stabilization_window_seconds")));
                }
                for (j, p) in r.policies.iter().enumerate() {
                    if p.value == 0 || i32::try_from(p.value).is_err() {
                        return Err(Error::invalid("a policy's value must be at least 1")
                            .help("e.g. `{type: Pods, value: 4, period_seconds: 60}`")
                            .with_path(rat.key("policies").index(j).key("value")));
                    }
                    if !(1..=1800).contains(&p.period_seconds) {
                        return Err(Error::invalid(format!("period {}s is outside 1 to 1800", p.period_seconds))
                            .help("e.g. `60`")
                            .with_path(rat.key("policies").index(j).key("period_seconds")));
                    }
                }
            }
        }
        Ok(())
    }

    /// The autoscaler as autoscaling/v2, validated.
    pub fn to_k8s(&self, name: &str, cx: &Context) -> Result<HorizontalPodAutoscaler, Error> {
        self.validate(name)?;
        let metrics = self
            .metrics
            .iter()
            .map(|m| match m {
                MetricSource::Resource(r) => MetricSpec {
                    type_: "Resource".into(),
                    resource: Some(ResourceMetricSource {
                        name: r.name.as_str().into(),
                        target: match &r.target {
                            ResourceTarget::Utilization(u) => MetricTarget {
                                type_: "Utilization".into(),
                                average_utilization: Some(*u as i32),
                                ..Default::default()
                            },
                            ResourceTarget::AverageValue(q) => target("AverageValue", None, Some(q.clone())),
                        },
                    }),
                    ..Default::default()
                },
                MetricSource::Pods(p) => MetricSpec {
                    type_: "Pods".into(),
                    pods: Some(PodsMetricSource {
                        metric: identifier(&p.metric, &p.selector),
                        target: target("AverageValue", None, Some(p.average_value.clone())),
                    }),
                    ..Default::default()
                },
                MetricSource::Object(o) => MetricSpec {
                    type_: "Object".into(),
                    object: Some(ObjectMetricSource {
                        described_object: CrossVersionObjectReference {
                            api_version: o.described_object.api_version(),
                            kind: o.described_object.kind.clone(),
                            name: o.described_object.name.clone(),
                        },
                        metric: identifier(&o.metric, &o.selector),
                        target: value_target(&o.value, &o.average_value),
                    }),
                    ..Default::default()
                },
                MetricSource::External(e) => MetricSpec {
                    type_: "External".into(),
                    external: Some(ExternalMetricSource {
                        metric: identifier(&e.metric, &e.selector),
                        target: value_target(&e.value, &e.average_value),
                    }),
                    ..Default::default()
                },
            })
            .collect();
        let rules = |r: &ScalingRules| HPAScalingRules {
            stabilization_window_seconds: r.stabilization_window_seconds.map(|w| w as i32),
            select_policy: r.select_policy.map(|s| format!("{s:?}")),
            policies: (!r.policies.is_empty()).then(|| {
                r.policies
                    .iter()
                    .map(|p| HPAScalingPolicy {
                        type_: format!("{:?}", p.type_),
                        value: p.value as i32,
                        period_seconds: p.period_seconds as i32,
                    })
                    .collect()
            }),
            ..Default::default()
        };
        Ok(HorizontalPodAutoscaler {
            metadata: meta::namespaced(name, self.namespace_in(cx), meta::labels(name, "hpas")),
            spec: Some(HorizontalPodAutoscalerSpec {
                scale_target_ref: CrossVersionObjectReference {
                    api_version: Some(self.target.api_version.clone()),
                    kind: self.target.kind.clone(),
                    name: self.target.name.clone(),
                },
                min_replicas: Some(self.min_replicas as i32),
                max_replicas: self.max_replicas as i32,
                metrics: Some(metrics),
                behavior: self.behavior.as_ref().map(|b| HorizontalPodAutoscalerBehavior {
                    scale_up: b.scale_up.as_ref().map(rules),
                    scale_down: b.scale_down.as_ref().map(rules),
                }),
            }),
            ..Default::default()
        })
    }
}

fn metric_name_error(name: &str, at: KeyPath) -> Error {
    Error::invalid(format!("`{name}` is not a metric name"))
        .help("give the metric as the metrics API lists it, e.g. `net.http.request.count`")
        .with_path(at)
}

/// Builds an autoscaler in Rust, the same one `hpas:` builds from YAML:
///
/// ```
/// use runway_components::hpas::{DescribedObject, HpaBuilder, MetricValue, ScaleTarget};
/// use runway_components::Quantity;
///
/// let (name, spec) = HpaBuilder::new("kuard", ScaleTarget::deployment("kuard"))
///     .namespace("default")
///     .min(3)
///     .max(10)
///     .object_metric("net.http.request.count", DescribedObject::service("kuard"), MetricValue::Value(Quantity::from("100")))
///     .external()
///     .spec();
/// assert_eq!((name.as_str(), spec.min_replicas, spec.max_replicas), ("kuard", 3, 10));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct HpaBuilder {
    name: String,
    spec: HpaSpec,
}

impl HpaBuilder {
    /// An autoscaler `name` for `target`, from 1 to 1 replica and no metric yet.
    pub fn new(name: impl Into<String>, target: ScaleTarget) -> Self {
        HpaBuilder {
            name: name.into(),
            spec: HpaSpec {
                namespace: None,
                target,
                min_replicas: 1,
                max_replicas: 1,
                metrics: Vec::new(),
                behavior: None,
                external: false,
            },
        }
    }

    /// The namespace (default: the runtime's).
    pub fn namespace(mut self, ns: impl Into<String>) -> Self {
        self.spec.namespace = Some(ns.into());
        self
    }

    /// The fewest replicas.
    pub fn min(mut self, n: u32) -> Self {
        self.spec.min_replicas = n;
        self
    }

    /// The most replicas.
    pub fn max(mut self, n: u32) -> Self {
        self.spec.max_replicas = n;
        self
    }

    /// The target is outside the render.
    pub fn external(mut self) -> Self {
        self.spec.external = true;
        self
    }

    /// Scale on CPU, as a percentage of the pods' requests.
    pub fn cpu_utilization(self, percent: u32) -> Self {
        self.resource_metric(ResourceName::Cpu, ResourceTarget::Utilization(percent))
    }

    /// Scale on a resource of the pods.
    pub fn resource_metric(mut self, name: ResourceName, target: ResourceTarget) -> Self {
        self.spec.metrics.push(MetricSource::Resource(ResourceMetric { name, target }));
        self
    }

    /// Scale on a metric of each pod, averaged.
    pub fn pods_metric(mut self, metric: impl Into<String>, average_value: Quantity) -> Self {
        self.spec.metrics.push(MetricSource::Pods(PodsMetric {
            metric: metric.into(),
            selector: BTreeMap::new(),
            average_value,
        }));
        self
    }

    /// Scale on a metric of another object.
    pub fn object_metric(mut self, metric: impl Into<String>, described: DescribedObject, target: MetricValue) -> Self {
        let (value, average_value) = target.split();
        self.spec.metrics.push(MetricSource::Object(ObjectMetric {
            metric: metric.into(),
            described_object: described,
            selector: BTreeMap::new(),
            value,
            average_value,
        }));
        self
    }

    /// Scale on a metric from outside the cluster.
    pub fn external_metric(
        mut self,
        metric: impl Into<String>,
        selector: BTreeMap<String, String>,
        target: MetricValue,
    ) -> Self {
        let (value, average_value) = target.split();
        self.spec.metrics.push(MetricSource::External(ExternalMetric {
            metric: metric.into(),
            selector,
            value,
            average_value,
        }));
        self
    }

    /// Scaling speed.
    pub fn behavior(mut self, behavior: Behavior) -> Self {
        self.spec.behavior = Some(behavior);
        self
    }

    /// The name and spec, for [`HpasParams`].
    pub fn spec(self) -> (String, HpaSpec) {
        (self.name, self.spec)
    }

    /// The validated autoscaling/v2 object.
    pub fn build(&self, cx: &Context) -> Result<HorizontalPodAutoscaler, Error> {
        self.spec.to_k8s(&self.name, cx)
    }
}
