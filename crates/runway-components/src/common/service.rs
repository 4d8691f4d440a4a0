//! Services in front of a component's pods: a cluster IP for clients, or headless for a
//! StatefulSet's `serviceName` (stable DNS names per pod). Load-balanced Services carry
//! platform annotations and are built where they are used.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::context::Context;

/// How a Service routes to its pods.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceKind {
    /// `type: ClusterIP`: one virtual address in front of the ready pods.
    ClusterIp,
    /// `clusterIP: None`: DNS names of the ready pods only.
    Headless,
    /// `clusterIP: None` and `publishNotReadyAddresses`: every pod's DNS name before it is
    /// ready, for stores whose nodes must find each other to become ready.
    HeadlessPublishingNotReady,
}

/// A Service of one kind selecting pods by labels, on named ports.
#[derive(Clone, Debug, PartialEq)]
pub struct PodService {
    /// Cluster IP or headless.
    pub kind: ServiceKind,
    /// The pods' selector labels.
    pub selector: BTreeMap<String, String>,
    /// The ports, in the order they are listed.
    pub ports: Vec<ServicePort>,
}

impl PodService {
    /// The Service with `metadata`.
    pub fn build(self, metadata: ObjectMeta) -> Service {
        let headless = self.kind != ServiceKind::ClusterIp;
        Service {
            metadata,
            spec: Some(ServiceSpec {
                type_: (!headless).then(|| "ClusterIP".to_string()),
                cluster_ip: headless.then(|| "None".to_string()),
                publish_not_ready_addresses: (self.kind == ServiceKind::HeadlessPublishingNotReady).then_some(true),
                selector: Some(self.selector),
                ports: Some(self.ports),
                ..Default::default()
            }),
            ..Default::default()
        }
    }
}

/// A TCP Service port `name` on `port`, to the container port named `target`.
pub fn tcp_port(name: &str, port: i32, target: &str) -> ServicePort {
    ServicePort {
        name: Some(name.into()),
        port,
        target_port: Some(IntOrString::String(target.into())),
        protocol: Some("TCP".into()),
        ..Default::default()
    }
}

/// `metadata` with the platform's load balancer annotations (none when it has none), for a
/// `LoadBalancer` Service.
pub fn load_balancer_metadata(mut metadata: ObjectMeta, cx: &Context) -> ObjectMeta {
    if !cx.platform.load_balancer_annotations.is_empty() {
        metadata.annotations = Some(cx.platform.load_balancer_annotations.clone());
    }
    metadata
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(kind: ServiceKind) -> ServiceSpec {
        let selector = BTreeMap::from([("name".to_string(), "db".to_string())]);
        let service = PodService { kind, selector, ports: vec![tcp_port("sql", 3306, "mysql")] };
        service.build(ObjectMeta::default()).spec.expect("a built Service has a spec")
    }

    #[test]
    fn cluster_ip_service_names_its_type_and_no_cluster_ip() {
        let s = spec(ServiceKind::ClusterIp);
        assert_eq!(s.type_.as_deref(), Some("ClusterIP"));
        assert_eq!(s.cluster_ip, None);
        assert_eq!(s.publish_not_ready_addresses, None);
    }

    #[test]
    fn headless_service_leaves_type_unset_and_lists_ready_pods_only() {
        let s = spec(ServiceKind::Headless);
        assert_eq!(s.type_, None);
        assert_eq!(s.cluster_ip.as_deref(), Some("None"));
        assert_eq!(s.publish_not_ready_addresses, None);
    }

    #[test]
    fn discovery_service_publishes_pods_before_they_are_ready() {
        let s = spec(ServiceKind::HeadlessPublishingNotReady);
        assert_eq!(s.cluster_ip.as_deref(), Some("None"));
        assert_eq!(s.publish_not_ready_addresses, Some(true));
        assert_eq!(s.selector.and_then(|l| l.get("name").cloned()).as_deref(), Some("db"));
    }

    #[test]
    fn load_balancer_metadata_carries_the_platform_annotations_only_when_there_are_some() {
        let mut cx = Context::default();
        cx.platform.load_balancer_annotations.clear();
        assert_eq!(load_balancer_metadata(ObjectMeta::default(), &cx).annotations, None);
        cx.platform.load_balancer_annotations.insert("lb.example/internal".into(), "true".into());
        let annotations = load_balancer_metadata(ObjectMeta::default(), &cx).annotations;
        assert_eq!(annotations, Some(cx.platform.load_balancer_annotations.clone()));
    }

    #[test]
    fn tcp_port_targets_the_named_container_port() {
        let p = tcp_port("sql", 3306, "mysql");
        assert_eq!((p.name.as_deref(), p.port, p.protocol.as_deref()), (Some("sql"), 3306, Some("TCP")));
        assert_eq!(p.target_port, Some(IntOrString::String("mysql".into())));
    }
}
