//! HorizontalPodAutoscalers (autoscaling/v2) from override files and from Rust: scale any
//! workload on CPU or memory, on a metric of its pods, of another object (the Sysdig
//! adapter's `net.http.request.count` of a Service) or from outside the cluster.
//!
//! ```yaml
//! hpas:
//!   kuard:
//!     namespace: default        # default: the runtime's namespace
//!     target: {kind: Deployment, name: kuard}
//!     min_replicas: 3
//!     max_replicas: 10
//!     metrics:
//!       - object:
//!           metric: net.http.request.count
//!           described_object: {kind: Service, name: kuard}
//!           value: 100
//!       - resource: {name: cpu, target: {utilization: 70}}
//!       - pods: {metric: jvm.heap.used.percent, average_value: 80}
//!       - external: {metric: queue.length, selector: {queue: orders}, average_value: 30}
//!     external: true            # kuard is not rendered by runway
//! ```
//!
//! From Rust, [`HpaBuilder`] makes the same [`HpaSpec`]; `overrides/hpa-sysdig-request-count.yaml`
//! is the seed's example.
//!
//! Checks: `min_replicas` at least 1 and at most `max_replicas`, at least one metric,
//! positive targets, exactly one of `value` / `average_value`, names as the API server
//! takes them. The render's reference check requires each target to be rendered (a
//! runway workload such as `sdc-api` in `sysdigcloud`), unless `external: true` declares
//! it outside runway. The component is on by default and renders nothing without `hpas`.
//!
//! An autoscaler owns its target's replica count: a target whose manifest sets
//! `spec.replicas` is scaled back to it on every apply. Remove it from a runway workload
//! with a patch (`sdc_backend: {api: {deploy: {spec: {replicas: null}}}}`).

mod params;

use runway_core::refs::ExternalRef;
use runway_core::{Error, Object};

pub use self::params::{
    Behavior, DescribedObject, ExternalMetric, HpaBuilder, HpaSpec, HpasParams, MetricSource, MetricValue,
    ObjectMetric, PodsMetric, PolicyType, ResourceMetric, ResourceName, ResourceTarget, ScaleTarget, ScalingPolicy,
    ScalingRules, SelectPolicy,
};
use crate::component::{Component, ObjectDoc};
use crate::context::Context;

/// The autoscalers component.
pub struct Hpas;

impl Component for Hpas {
    const NAME: &'static str = "hpas";
    const SUMMARY: &'static str =
        "HorizontalPodAutoscalers (autoscaling/v2) on resource, pods, object and external metrics";
    const OBJECTS: &'static [ObjectDoc] = &[];
    type Params = HpasParams;

    fn externals(p: &HpasParams, cx: &Context) -> Vec<ExternalRef> {
        p.0.values()
            .filter(|h| h.external)
            .map(|h| (h.target.kind.clone(), h.namespace_in(cx).to_string(), h.target.name.clone()))
            .collect()
    }

    fn build(p: &HpasParams, cx: &Context) -> Result<Vec<Object>, Error> {
        p.0.iter().map(|(name, spec)| Ok(Object::new(Self::NAME, name, &spec.to_k8s(name, cx)?))).collect()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use runway_core::params::read_params;
    use runway_core::{KeyPath, SourceId};

    use super::*;
    use crate::common::testing::path_of;
    use crate::quantity::Quantity;
    use crate::stack::Stack;

    const SEED_OVERRIDE: &str = include_str!("../../../../overrides/hpa-sysdig-request-count.yaml");

    /// The `hpas` block of an override file, read as the render reads parameters.
    fn params_of(text: &str) -> Result<HpasParams, Error> {
        let layer = runway_core::layer::parse_layer(SourceId(0), text)?;
        let block = layer.get("hpas").expect("an `hpas` block").clone();
        read_params(&block, &KeyPath::root().key("hpas"), "hpas")
    }

    fn seed_from_rust() -> (String, HpaSpec) {
        HpaBuilder::new("kuard", ScaleTarget::deployment("kuard"))
            .namespace("default")
            .min(3)
            .max(10)
            .object_metric(
                "net.http.request.count",
                DescribedObject::service("kuard"),
                MetricValue::Value("100".into()),
            )
            .external()
            .spec()
    }

    fn spec(yaml_metrics: &str) -> Result<HpasParams, Error> {
        params_of(&format!(
            "hpas:\n  web:\n    target: {{kind: Deployment, name: web}}\n    max_replicas: 5\n    metrics:\n{yaml_metrics}"
        ))
    }

    #[test]
    fn seed_example_scales_kuard_between_3_and_10_on_request_count() {
        let p = params_of(SEED_OVERRIDE).unwrap_or_else(|e| panic!("{e}"));
        let cx = Context::default();
        let objects = Hpas::build(&p, &cx).expect("builds");
        assert_eq!(objects.len(), 1);
        let hpa = &objects[0];
        assert_eq!(
            (hpa.key.as_str(), hpa.kind(), hpa.namespace(), hpa.name()),
            ("kuard", "HorizontalPodAutoscaler", "default", "kuard")
        );
        assert_eq!(hpa.api_version(), "autoscaling/v2");
        let spec = &hpa.value["spec"];
        assert_eq!(
            spec["scaleTargetRef"],
            serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": "kuard"})
        );
        assert_eq!(spec["minReplicas"], 3);
        assert_eq!(spec["maxReplicas"], 10);
        assert_eq!(
            spec["metrics"],
            serde_json::json!([{"type": "Object", "object": {
                "describedObject": {"apiVersion": "v1", "kind": "Service", "name": "kuard"},
                "metric": {"name": "net.http.request.count"},
                "target": {"type": "Value", "value": "100"}
            }}])
        );
        // The Rust builder makes the same autoscaler.
        let (name, from_rust) = seed_from_rust();
        assert_eq!(p.0.get(&name), Some(&from_rust));
        // kuard is declared external, so the reference check accepts the render.
        let externals: BTreeSet<ExternalRef> = Hpas::externals(&p, &cx).into_iter().collect();
        assert!(externals.contains(&("Deployment".to_string(), "default".to_string(), "kuard".to_string())));
        let mut objects = objects;
        for o in &mut objects {
            o.check_round_trip().unwrap_or_else(|e| panic!("{e}"));
        }
        runway_core::refs::check_references(&objects, &externals).unwrap_or_else(|e| panic!("{e}"));
        assert!(runway_core::refs::check_references(&objects, &BTreeSet::new()).is_err(), "kuard must be declared");
    }

    #[test]
    fn builder_builds_every_metric_kind() {
        let hpa = HpaBuilder::new("api", ScaleTarget::deployment("sdc-api"))
            .namespace("sysdigcloud")
            .min(2)
            .max(6)
            .cpu_utilization(70)
            .resource_metric(ResourceName::Memory, ResourceTarget::AverageValue(Quantity::from("3Gi")))
            .pods_metric("jvm.heap.used.percent", Quantity::from("80"))
            .external_metric(
                "queue.length",
                BTreeMap::from([("queue".to_string(), "orders".to_string())]),
                MetricValue::AverageValue(Quantity::from("30")),
            )
            .behavior(Behavior {
                scale_down: Some(ScalingRules {
                    stabilization_window_seconds: Some(600),
                    select_policy: Some(SelectPolicy::Min),
                    policies: vec![ScalingPolicy { type_: PolicyType::Pods, value: 1, period_seconds: 120 }],
                }),
                scale_up: None,
            })
            .build(&Context::default())
            .expect("builds");
        let v = serde_json::to_value(&hpa).expect("serializes");
        let m = &v["spec"]["metrics"];
        assert_eq!(
            m[0],
            serde_json::json!({"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}})
        );
        assert_eq!(m[1]["resource"]["target"], serde_json::json!({"type": "AverageValue", "averageValue": "3Gi"}));
        assert_eq!(
            m[2],
            serde_json::json!({"type": "Pods", "pods": {"metric": {"name": "jvm.heap.used.percent"}, "target": {"type": "AverageValue", "averageValue": "80"}}})
        );
        assert_eq!(m[3]["external"]["metric"]["selector"], serde_json::json!({"matchLabels": {"queue": "orders"}}));
        assert_eq!(m[3]["external"]["target"], serde_json::json!({"type": "AverageValue", "averageValue": "30"}));
        assert_eq!(
            v["spec"]["behavior"]["scaleDown"],
            serde_json::json!({"stabilizationWindowSeconds": 600, "selectPolicy": "Min", "policies": [{"type": "Pods", "value": 1, "periodSeconds": 120}]})
        );
        assert_eq!(v["metadata"]["namespace"], "sysdigcloud");
    }

    #[test]
    fn yaml_metric_sources_read_as_typed_sources() {
        let p = spec(
            "      - resource: {name: memory, target: {average_value: 1Gi}}\n      - pods: {metric: rps, average_value: 10}\n      - external: {metric: q, selector: {queue: a}, value: 5}\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let web = &p.0["web"];
        assert_eq!(web.min_replicas, 1, "min_replicas defaults to 1");
        assert_eq!(web.target.api_version, "apps/v1");
        assert!(matches!(web.metrics[0], MetricSource::Resource(ResourceMetric { name: ResourceName::Memory, .. })));
        assert!(matches!(web.metrics[2], MetricSource::External(ExternalMetric { value: Some(_), .. })));
        let e = spec("      - resource: {name: gpu, target: {utilization: 50}}\n").expect_err("gpu");
        assert_eq!(path_of(&e), "hpas.web.metrics[0].resource.name");
        let e = spec("      - pods: {metric: rps, average: 10}\n").expect_err("unknown key");
        assert!(path_of(&e).starts_with("hpas.web.metrics[0].pods"), "{}", path_of(&e));
        let e = spec("      - pods: {metric: rps, average_value: ten}\n").expect_err("not a quantity");
        assert!(e.to_string().contains("quantity"), "{e}");
    }

    #[test]
    fn validation_names_the_parameter() {
        let cx = Context::default();
        let err = |text: &str| {
            let p = params_of(text).unwrap_or_else(|e| panic!("{e}"));
            let e = Hpas::build(&p, &cx).expect_err("rejected");
            assert!(!e.helps().is_empty(), "{e}: no help");
            path_of(&e)
        };
        let base = "hpas:\n  web:\n    target: {kind: Deployment, name: web}\n";
        let cpu = "    metrics: [{resource: {name: cpu, target: {utilization: 70}}}]\n";
        assert_eq!(err(&format!("{base}    min_replicas: 5\n    max_replicas: 3\n{cpu}")), "hpas.web.min_replicas");
        assert_eq!(err(&format!("{base}    max_replicas: 0\n{cpu}")), "hpas.web.max_replicas");
        assert_eq!(err(&format!("{base}    min_replicas: 0\n    max_replicas: 3\n{cpu}")), "hpas.web.min_replicas");
        assert_eq!(err(&format!("{base}    max_replicas: 3\n    metrics: []\n")), "hpas.web.metrics");
        assert_eq!(
            err(&format!(
                "{base}    max_replicas: 3\n    metrics: [{{resource: {{name: cpu, target: {{utilization: 0}}}}}}]\n"
            )),
            "hpas.web.metrics[0].resource.target.utilization"
        );
        assert_eq!(
            err(&format!("{base}    max_replicas: 3\n    metrics: [{{pods: {{metric: rps, average_value: 0}}}}]\n")),
            "hpas.web.metrics[0].pods.average_value"
        );
        let obj = "{metric: m, described_object: {kind: Service, name: s}";
        assert_eq!(
            err(&format!("{base}    max_replicas: 3\n    metrics: [{{object: {obj}}}}}]\n")),
            "hpas.web.metrics[0].object"
        );
        assert_eq!(
            err(&format!(
                "{base}    max_replicas: 3\n    metrics: [{{object: {obj}, value: 1, average_value: 1}}}}]\n"
            )),
            "hpas.web.metrics[0].object.average_value"
        );
        assert_eq!(
            err(&format!("{base}    max_replicas: 3\n    metrics: [{{object: {{metric: m, described_object: {{kind: Widget, name: w}}, value: 1}}}}]\n")),
            "hpas.web.metrics[0].object.described_object.api_version"
        );
        assert_eq!(
            err(&format!("{base}    max_replicas: 3\n    metrics: [{{external: {{metric: q, selector: {{\"bad key!\": x}}, value: 1}}}}]\n")),
            "hpas.web.metrics[0].external.selector"
        );
        assert_eq!(
            err(&format!("{base}    max_replicas: 3\n{cpu}    behavior: {{scale_up: {{policies: [{{type: Pods, value: 0, period_seconds: 60}}]}}}}\n")),
            "hpas.web.behavior.scale_up.policies[0].value"
        );
        assert_eq!(
            err(&format!("hpas:\n  Web:\n    target: {{kind: Deployment, name: web}}\n    max_replicas: 3\n{cpu}")),
            "hpas.Web"
        );
        assert_eq!(err(&format!("{base}    namespace: Apps\n    max_replicas: 3\n{cpu}")), "hpas.web.namespace");
    }

    #[test]
    fn empty_renders_nothing_and_targets_must_exist_unless_external() {
        assert!(Hpas::build(&HpasParams::default(), &Context::default()).expect("builds").is_empty());
        assert!(Hpas::externals(&HpasParams::default(), &Context::default()).is_empty());
        // A target in the render (sdc-api) passes the reference check with no declaration.
        let (name, spec) = HpaBuilder::new("sdc-api", ScaleTarget::deployment("sdc-api"))
            .namespace("sysdigcloud")
            .min(2)
            .max(5)
            .cpu_utilization(70)
            .spec();
        let p = HpasParams(BTreeMap::from([(name, spec)]));
        let mut objects = Hpas::build(&p, &Context::default()).expect("builds");
        let deploy = serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "sdc-api", "namespace": "sysdigcloud"},
            "spec": {"template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c"}]}}}});
        objects.push(Object::custom("sdc_backend", "api.deploy", deploy, "Deployment"));
        runway_core::refs::check_references(&objects, &BTreeSet::new()).unwrap_or_else(|e| panic!("{e}"));
        objects.pop();
        let e = runway_core::refs::check_references(&objects, &BTreeSet::new()).expect_err("no target");
        assert_eq!(path_of(&e), "hpas.sdc-api.spec.scaleTargetRef");
    }

    #[test]
    fn namespace_defaults_to_the_runtimes() {
        let p = spec("      - resource: {name: cpu, target: {utilization: 70}}\n").expect("reads");
        let objects = Hpas::build(&p, &Context::default()).expect("builds");
        assert_eq!(objects[0].namespace(), "kubeprod");
    }

    #[test]
    fn every_object_round_trips() {
        let p = params_of(SEED_OVERRIDE).expect("reads");
        for mut o in Hpas::build(&p, &Context::default()).expect("builds") {
            let before = o.value.clone();
            o.check_round_trip().unwrap_or_else(|e| panic!("{}: {e}", o.key));
            assert_eq!(before, o.value);
        }
    }

    #[test]
    fn default_render_has_no_autoscalers() {
        let mut s = Stack::new();
        s.platform("gke", "test").expect("gke exists");
        let rendered = s.render(&[&Hpas]).unwrap_or_else(|e| panic!("{}", e.render()));
        assert!(rendered.objects.iter().all(|o| o.kind() != "HorizontalPodAutoscaler"));
    }

    #[test]
    fn params_serialize_as_a_map_and_read_back() {
        let (name, spec) = seed_from_rust();
        let p = HpasParams(BTreeMap::from([(name, spec)]));
        let json = serde_json::to_value(&p).expect("serializes");
        assert_eq!(json["kuard"]["metrics"][0]["object"]["value"], "100");
        let back: HpasParams = serde_json::from_value(json).expect("reads back");
        assert_eq!(back, p);
        assert_eq!(serde_json::to_value(HpasParams::default()).expect("serializes"), serde_json::json!({}));
    }
}
