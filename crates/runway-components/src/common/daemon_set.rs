//! DaemonSets: every node agent runway renders (fluentd, node-exporter, the Sysdig agent,
//! kured, node-problem-detector, Traefik as a DaemonSet) rolls its pods node by node.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetSpec, DaemonSetUpdateStrategy, RollingUpdateDaemonSet};
use k8s_openapi::api::core::v1::{PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// A pod template with these labels and annotations.
pub fn pod_template(
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    spec: PodSpec,
) -> PodTemplateSpec {
    PodTemplateSpec {
        metadata: Some(ObjectMeta { labels: Some(labels), annotations: Some(annotations), ..Default::default() }),
        spec: Some(spec),
    }
}

/// A DaemonSet that replaces its pods with a `RollingUpdate`, at most `max_unavailable`
/// nodes without one at a time.
pub fn rolling(
    metadata: ObjectMeta,
    selector: LabelSelector,
    max_unavailable: IntOrString,
    template: PodTemplateSpec,
) -> DaemonSet {
    DaemonSet {
        metadata,
        spec: Some(DaemonSetSpec {
            selector,
            update_strategy: Some(DaemonSetUpdateStrategy {
                type_: Some("RollingUpdate".into()),
                rolling_update: Some(RollingUpdateDaemonSet {
                    max_unavailable: Some(max_unavailable),
                    ..Default::default()
                }),
            }),
            template,
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rolling_daemon_set_replaces_at_most_max_unavailable_pods() {
        let labels = BTreeMap::from([("app".to_string(), "agent".to_string())]);
        let ds = rolling(
            ObjectMeta::default(),
            LabelSelector { match_labels: Some(labels.clone()), ..Default::default() },
            IntOrString::String("10%".into()),
            pod_template(labels.clone(), BTreeMap::new(), PodSpec::default()),
        );
        let spec = ds.spec.expect("a spec");
        let strategy = spec.update_strategy.expect("a strategy");
        assert_eq!(strategy.type_.as_deref(), Some("RollingUpdate"));
        assert_eq!(strategy.rolling_update.and_then(|r| r.max_unavailable), Some(IntOrString::String("10%".into())));
        assert_eq!(spec.template.metadata.and_then(|m| m.labels), Some(labels));
    }
}
