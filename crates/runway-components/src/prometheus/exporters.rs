//! The exporters Prometheus scrapes besides the cluster itself: node-exporter (BKPR's
//! `nodeExporter.daemonset`), kube-state-metrics (BKPR's `ksm.*`) and the blackbox exporter
//! that BKPR's scrape config probed through but never deployed (`blackboxExporter.*`).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, Container, HostPathVolumeSource, PodSpec, PodTemplateSpec, Service, ServiceAccount, Toleration, Volume,
    VolumeMount,
};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use runway_core::Error;
use serde::Serialize;

use super::config::to_yaml;
use super::params::PrometheusParams;
use super::{
    config_map_volume, http_probe, labels, metadata, port, scrape_annotations, service_port, sha256_hex,
    template_labels, NOBODY,
};
use crate::common::meta;
use crate::common::pod::read_only_mount;
use crate::common::pod::{container_security, pod_security, SECURITY_EXCEPTION_ANNOTATION};
use crate::common::rbac::{self, Grant};
use crate::common::service::{PodService, ServiceKind};
use crate::context::Context;

/// The node exporter DaemonSet's name (BKPR's).
pub const NODE_EXPORTER: &str = "node-exporter";
/// The node exporter's port (its registered default).
pub const NODE_EXPORTER_PORT: i32 = 9100;
/// kube-state-metrics' Deployment, ServiceAccount and RBAC name (BKPR's).
pub const KSM: &str = "kube-state-metrics";
/// kube-state-metrics' metrics port.
pub const KSM_PORT: i32 = 8080;
/// kube-state-metrics' own telemetry port (`/readyz`).
pub const KSM_TELEMETRY_PORT: i32 = 8081;
/// The blackbox exporter's Deployment, Service and ConfigMap name (the address BKPR's
/// scrape config sent probes to).
pub const BLACKBOX: &str = "blackbox-exporter";
/// The blackbox exporter's port.
pub const BLACKBOX_PORT: i32 = 9115;
const BLACKBOX_CONFIG_KEY: &str = "blackbox.yml";

/// What node-exporter may not do under the defaults, and why it must.
const NODE_EXPORTER_EXCEPTION: &str = "node-exporter reports on the node, not the pod: it shares the host's network \
     namespace (hostNetwork, so its interface statistics are the node's) and process namespace (hostPID), and reads \
     the host's /proc, /sys and root filesystem through read-only hostPath mounts; it still runs as nobody with all \
     capabilities dropped and a read-only root filesystem";

/// `nodeExporter.daemonset`.
pub fn node_exporter(p: &PrometheusParams, cx: &Context) -> DaemonSet {
    let ns = cx.namespace();
    let host_path = |name: &str, path: &str| Volume {
        name: name.into(),
        host_path: Some(HostPathVolumeSource { path: path.into(), type_: Some("Directory".into()) }),
        ..Default::default()
    };
    let container = Container {
        name: NODE_EXPORTER.into(),
        image: Some(p.node_exporter.image.clone()),
        args: Some(vec![
            "--path.procfs=/host/proc".into(),
            "--path.sysfs=/host/sys".into(),
            "--path.rootfs=/host/root".into(),
            format!("--web.listen-address=:{NODE_EXPORTER_PORT}"),
            // BKPR's exclusions, in node-exporter 1.x's flag names, plus container runtimes'
            // and the kubelet's mounts (one per pod volume).
            "--collector.filesystem.mount-points-exclude=^/(dev|proc|sys|run/containerd/.+|var/lib/docker/.+|var/lib/kubelet/.+)($|/)".into(),
            "--collector.filesystem.fs-types-exclude=^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|sysfs|tracefs)$".into(),
        ]),
        // BKPR's port name; with hostNetwork it is also the node's port 9100.
        ports: Some(vec![port("scrape", NODE_EXPORTER_PORT)]),
        resources: Some(p.node_exporter.resources.to_k8s()),
        security_context: Some(container_security(true)),
        volume_mounts: Some(vec![
            VolumeMount {
                name: "root".into(),
                mount_path: "/host/root".into(),
                read_only: Some(true),
                // Filesystems mounted on the host after the pod started show up too.
                mount_propagation: Some("HostToContainer".into()),
                ..Default::default()
            },
            read_only_mount("procfs", "/host/proc"),
            read_only_mount("sysfs", "/host/sys"),
        ]),
        liveness_probe: Some(http_probe("/", "scrape", 10, 3)),
        readiness_probe: Some(http_probe("/", "scrape", 10, 3)),
        ..Default::default()
    };
    let mut annotations = scrape_annotations(NODE_EXPORTER, cx);
    annotations.insert(SECURITY_EXCEPTION_ANNOTATION.into(), NODE_EXPORTER_EXCEPTION.into());
    let pod = PodSpec {
        host_network: Some(true),
        host_pid: Some(true),
        dns_policy: Some("ClusterFirstWithHostNet".into()),
        automount_service_account_token: Some(false),
        security_context: Some(pod_security(NOBODY, NOBODY, NOBODY)),
        // Every node, control plane and tainted pools included: a node without metrics
        // is a node nobody watches.
        tolerations: Some(vec![Toleration { operator: Some("Exists".into()), ..Default::default() }]),
        containers: vec![container],
        volumes: Some(vec![host_path("root", "/"), host_path("procfs", "/proc"), host_path("sysfs", "/sys")]),
        ..Default::default()
    };
    crate::common::daemon_set::rolling(
        metadata(NODE_EXPORTER, ns),
        meta::selector(meta::selector_labels(NODE_EXPORTER)),
        IntOrString::Int(1),
        crate::common::daemon_set::pod_template(template_labels(NODE_EXPORTER), annotations, pod),
    )
}

/// The resources kube-state-metrics reports on, by API group, and so may list and watch.
/// BKPR's list, at current API groups, without Secrets and ConfigMaps: their metrics are
/// little more than counts, and listing them hands every value in the cluster to the pod.
const KSM_RESOURCES: &[(&str, &[&str])] = &[
    (
        "",
        &[
            "endpoints",
            "limitranges",
            "namespaces",
            "nodes",
            "persistentvolumeclaims",
            "persistentvolumes",
            "pods",
            "replicationcontrollers",
            "resourcequotas",
            "services",
        ],
    ),
    ("admissionregistration.k8s.io", &["mutatingwebhookconfigurations", "validatingwebhookconfigurations"]),
    ("apps", &["daemonsets", "deployments", "replicasets", "statefulsets"]),
    ("autoscaling", &["horizontalpodautoscalers"]),
    ("batch", &["cronjobs", "jobs"]),
    ("certificates.k8s.io", &["certificatesigningrequests"]),
    ("coordination.k8s.io", &["leases"]),
    ("networking.k8s.io", &["ingresses", "networkpolicies"]),
    ("policy", &["poddisruptionbudgets"]),
    ("storage.k8s.io", &["storageclasses", "volumeattachments"]),
];

/// The `--resources` flag: every resource above, sorted.
pub fn ksm_resources() -> Vec<&'static str> {
    let mut all: Vec<&str> = KSM_RESOURCES.iter().flat_map(|(_, r)| r.iter().copied()).collect();
    all.sort_unstable();
    all
}

/// `ksm.serviceAccount`: kube-state-metrics reads the API.
pub fn ksm_service_account(ns: &str) -> ServiceAccount {
    rbac::service_account(metadata(KSM, ns), None)
}

/// `ksm.clusterRole`: list and watch what it reports on.
pub fn ksm_cluster_role() -> ClusterRole {
    rbac::cluster_role(
        meta::cluster_scoped(KSM, labels(KSM)),
        KSM_RESOURCES.iter().map(|(group, resources)| rbac::rule(&[group], resources, &["list", "watch"])).collect(),
    )
}

/// `ksm.clusterRoleBinding`.
pub fn ksm_cluster_role_binding(ns: &str) -> ClusterRoleBinding {
    Grant { role: KSM, service_account: KSM, namespace: ns }
        .cluster_role_binding(meta::cluster_scoped(KSM, labels(KSM)))
}

/// `ksm.deploy`: one replica (kube-state-metrics keeps the whole cluster in memory; more
/// replicas would only report the same series twice). BKPR's addon-resizer sidecar, which
/// rewrote this Deployment's resources as the cluster grew, is gone: a controller editing
/// its own Deployment fights every `kubectl apply` and GitOps sync. Size `ksm.resources`
/// for the cluster instead (about 2Mi per node above the default).
pub fn ksm_deployment(p: &PrometheusParams, cx: &Context) -> Deployment {
    let ns = cx.namespace();
    let container = Container {
        // BKPR's container name.
        name: "ksm".into(),
        image: Some(p.ksm.image.clone()),
        args: Some(vec![
            format!("--port={KSM_PORT}"),
            format!("--telemetry-port={KSM_TELEMETRY_PORT}"),
            format!("--resources={}", ksm_resources().join(",")),
        ]),
        ports: Some(vec![port("metrics", KSM_PORT), port("telemetry", KSM_TELEMETRY_PORT)]),
        resources: Some(p.ksm.resources.to_k8s()),
        security_context: Some(container_security(true)),
        liveness_probe: Some(http_probe("/livez", "metrics", 10, 3)),
        readiness_probe: Some(http_probe("/readyz", "telemetry", 10, 3)),
        ..Default::default()
    };
    let pod = PodSpec {
        service_account_name: Some(KSM.into()),
        // It lists and watches the API.
        automount_service_account_token: Some(true),
        security_context: Some(pod_security(NOBODY, NOBODY, NOBODY)),
        containers: vec![container],
        ..Default::default()
    };
    deployment(KSM, ns, scrape_annotations(KSM, cx), pod)
}

fn deployment(name: &str, ns: &str, annotations: BTreeMap<String, String>, pod: PodSpec) -> Deployment {
    Deployment {
        metadata: metadata(name, ns),
        spec: Some(DeploymentSpec {
            replicas: Some(1),
            selector: meta::selector(meta::selector_labels(name)),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(template_labels(name)),
                    annotations: Some(annotations),
                    ..Default::default()
                }),
                spec: Some(pod),
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The blackbox exporter's configuration: the `http_2xx` module the probe jobs ask for,
/// and a TCP check for users' own probes.
#[derive(Serialize)]
struct BlackboxConfig {
    modules: BTreeMap<&'static str, Module>,
}

#[derive(Serialize)]
struct Module {
    prober: &'static str,
    timeout: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    http: Option<HttpProbe>,
}

#[derive(Serialize)]
struct HttpProbe {
    /// Empty: any 2xx.
    valid_status_codes: Vec<u16>,
    follow_redirects: bool,
    preferred_ip_protocol: &'static str,
    ip_protocol_fallback: bool,
}

/// `blackbox.yml`.
pub fn blackbox_config() -> Result<String, Error> {
    let http = HttpProbe {
        valid_status_codes: Vec::new(),
        follow_redirects: true,
        preferred_ip_protocol: "ip4",
        ip_protocol_fallback: true,
    };
    let config = BlackboxConfig {
        modules: BTreeMap::from([
            ("http_2xx", Module { prober: "http", timeout: "10s", http: Some(http) }),
            ("tcp_connect", Module { prober: "tcp", timeout: "10s", http: None }),
        ]),
    };
    to_yaml(&config, "the blackbox exporter's configuration")
}

/// `blackboxExporter.config`.
pub fn blackbox_config_map(ns: &str, config: String) -> ConfigMap {
    ConfigMap {
        metadata: metadata(BLACKBOX, ns),
        data: Some(BTreeMap::from([(BLACKBOX_CONFIG_KEY.to_string(), config)])),
        ..Default::default()
    }
}

/// `blackboxExporter.svc`: where Prometheus sends probe requests.
pub fn blackbox_service(ns: &str) -> Service {
    PodService {
        kind: ServiceKind::ClusterIp,
        selector: meta::selector_labels(BLACKBOX),
        ports: vec![service_port("http", BLACKBOX_PORT)],
    }
    .build(metadata(BLACKBOX, ns))
}

/// `blackboxExporter.deploy`. HTTP probes need no capability (ICMP would need NET_RAW).
/// The config checksum rolls the pod when the modules change.
pub fn blackbox_deployment(p: &PrometheusParams, cx: &Context, config: &str) -> Deployment {
    let ns = cx.namespace();
    let container = Container {
        name: BLACKBOX.into(),
        image: Some(p.blackbox_exporter.image.clone()),
        args: Some(vec![
            format!("--config.file=/etc/blackbox-exporter/{BLACKBOX_CONFIG_KEY}"),
            format!("--web.listen-address=:{BLACKBOX_PORT}"),
        ]),
        ports: Some(vec![port("http", BLACKBOX_PORT)]),
        resources: Some(p.blackbox_exporter.resources.to_k8s()),
        security_context: Some(container_security(true)),
        volume_mounts: Some(vec![read_only_mount("config", "/etc/blackbox-exporter")]),
        liveness_probe: Some(http_probe("/-/healthy", "http", 10, 3)),
        readiness_probe: Some(http_probe("/-/healthy", "http", 10, 3)),
        ..Default::default()
    };
    let pod = PodSpec {
        automount_service_account_token: Some(false),
        security_context: Some(pod_security(NOBODY, NOBODY, NOBODY)),
        containers: vec![container],
        volumes: Some(vec![config_map_volume("config", BLACKBOX)]),
        ..Default::default()
    };
    let mut annotations = scrape_annotations(BLACKBOX, cx);
    annotations.insert("checksum/config".into(), sha256_hex(config));
    deployment(BLACKBOX, ns, annotations, pod)
}
