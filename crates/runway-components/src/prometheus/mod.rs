//! The monitoring stack, BKPR's `prometheus` component: Prometheus, Alertmanager,
//! node-exporter, kube-state-metrics, and the blackbox exporter that probes annotated
//! Services and Ingresses.
//!
//! # Keys, names and adoption of a BKPR install
//!
//! BKPR rendered the whole stack from one component whose objects sat one level down,
//! under sub-components, and so do runway's object keys: `prometheus.deploy` (the
//! StatefulSet `prometheus`), `prometheus.svc`, `prometheus.config`,
//! `prometheus.serviceAccount`, `prometheus.prometheusRole`, `prometheus.prometheusBinding`;
//! `alertmanager.deploy` (the StatefulSet `alertmanager`), `alertmanager.svc`,
//! `alertmanager.config`; `nodeExporter.daemonset`; `ksm.serviceAccount`, `ksm.clusterRole`,
//! `ksm.clusterRoleBinding`, `ksm.deploy`; and `ingress`. So `prometheus: {alertmanager:
//! {deploy: {spec: ...}}}` patches the Alertmanager StatefulSet, next to its parameters
//! (`alertmanager: {storage: 9Gi}`). BKPR's parameters keep their names: `retention_days`,
//! `storage` (a number is mebibytes, as BKPR took it), `monitoring_rules`, `am_config` with
//! its `receivers_` map. `ingress: null` leaves both UIs unpublished (then neither
//! `config.dns_zone` nor oauth2-proxy is needed); `blackboxExporter: {deploy: null, svc:
//! null, config: null}` leaves out the exporter and the probe jobs that would use it.
//!
//! The StatefulSets keep what Kubernetes will not change in place: names, `serviceName`
//! (`prometheus`, `alertmanager`), selectors (`name: prometheus`), the default
//! `OrderedReady` pod management, and claim templates `data` and `storage` with BKPR's
//! metadata (`labels: {name: data}`), so the volumes `data-prometheus-N` and
//! `storage-alertmanager-N` are reused with their data. The pods run as uid and fsGroup
//! 1001, Bitnami's, so the files on those volumes need no new owner. What an operator does
//! on adoption:
//! - BKPR's `prometheus` and `alertmanager` Services were the StatefulSets' `serviceName`
//!   but had a cluster IP; a StatefulSet's service must be headless, and a cluster IP
//!   cannot be removed in place: delete both Services once before the first apply
//!   (`kubectl -n kubeprod delete svc prometheus alertmanager`). Clients keep their URLs.
//! - The images move from Bitnami's to the upstream ones (Prometheus 2.26 to 3.5, which
//!   reads 2.x data); the data volume was mounted at `/opt/bitnami/prometheus/data` and is
//!   now at `/prometheus`: same volume, same files.
//! - Claim templates are immutable, so a new `storage` does not resize existing volumes:
//!   grow each claim (`kubectl patch pvc data-prometheus-0 ...`, where the storage class
//!   allows expansion) and recreate the StatefulSet without its pods
//!   (`kubectl delete sts prometheus --cascade=orphan`, then apply). The same holds for the
//!   storage class: on a platform whose base sets one, adopt with
//!   `platform: {storage_class: null}`.
//! - kube-state-metrics loses BKPR's addon-resizer sidecar and its Role and RoleBinding
//!   `kube-state-metrics-resizer` (delete them, or apply with `--prune`).
//!
//! # Configuration and reloads
//!
//! `prometheus.yml`, the rule files (`basic.yaml`, `monitoring.yaml`, one per
//! `rule_groups` entry) and Alertmanager's `config.yml` are built as typed data and written
//! by runway's YAML writer. Prometheus and Alertmanager pick up a changed ConfigMap without
//! a restart: as in BKPR, a `configmap-reload` sidecar watches the mounted files and calls
//! `/-/reload`. Their pod templates therefore carry no config checksum: rolling Prometheus
//! replays its write-ahead log and leaves a gap in the data, which is what reloading avoids;
//! a configuration Prometheus refuses fires `PrometheusBadConfig` (`AlertmanagerBadConfig`).
//! The blackbox exporter has no reloader and rolls on a checksum instead.
//!
//! # Security
//!
//! Every container runs as non-root with all capabilities dropped, RuntimeDefault seccomp
//! and a read-only root filesystem. Only Prometheus (discovery) and kube-state-metrics get
//! an API token, with read-only ClusterRoles; Prometheus reads kubelet metrics through
//! `nodes/metrics`, not BKPR's `nodes/proxy`. node-exporter needs the host's network and
//! process namespaces and read-only host mounts, which its pod template's
//! `runway.dev/security-exception` annotation records. UIs are behind oauth2-proxy and TLS:
//! Prometheus at `https://prometheus.<dns_zone>/`, Alertmanager at
//! `https://prometheus.<dns_zone>/alertmanager`, one Ingress as in BKPR.

mod alertmanager;
mod config;
mod exporters;
pub mod operator_crds;
mod params;

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetSpec, StatefulSetUpdateStrategy};
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, Container, PersistentVolumeClaim, PodSpec, PodTemplateSpec, Probe, Service,
    ServiceAccount, ServicePort, TCPSocketAction, Volume,
};
use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, Ingress, IngressBackend, IngressServiceBackend, ServiceBackendPort,
};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use runway_core::refs::ExternalRef;
use runway_core::{Error, Object};

pub use self::alertmanager::{DEFAULT_SECRET_NAME, SECRETS_DIR};
pub use self::config::BUILTIN_JOBS;
pub use self::exporters::{BLACKBOX, BLACKBOX_PORT, KSM, NODE_EXPORTER};
pub use self::params::{
    AlertRule, AlertmanagerParams, AmConfig, AmGlobal, AmRoute, Authorization, EmailConfig, ExporterParams,
    InhibitRule, KubernetesSdConfig, NamespaceSelector, PagerdutyConfig, PrometheusParams, Receiver, RelabelConfig,
    ScrapeConfig, ServerParams, SlackConfig, StaticConfig, StorageSize, TlsConfig, WebhookConfig,
    DEFAULT_ALERTMANAGER_IMAGE, DEFAULT_BLACKBOX_IMAGE, DEFAULT_CONFIG_RELOADER_IMAGE, DEFAULT_KSM_IMAGE,
    DEFAULT_NODE_EXPORTER_IMAGE, DEFAULT_PROMETHEUS_IMAGE,
};
use crate::common::checksum::sha256_hex;
use crate::common::ingress::{ui_ingress, BackendNeeds, IngressSpecFor};
use crate::common::meta;
use crate::common::metrics::{prometheus_rule, MetricsEndpoint, Scrape};
use crate::common::pod::container_port as port;
use crate::common::pod::{container_security, pod_security};
use crate::common::pod::{mount, read_only_mount};
use crate::common::rbac::{self, Grant};
use crate::common::service::{tcp_port, PodService, ServiceKind};
use crate::common::storage::ClaimTemplate;
use crate::component::{Component, ObjectDoc};
use crate::context::{Context, Published, ServiceRef};
use crate::quantity::Quantity;

/// The component's key in layers.
const COMPONENT: &str = "prometheus";
/// The Prometheus StatefulSet, Service, ConfigMap, ServiceAccount, RBAC and Ingress (BKPR's).
pub const PROMETHEUS: &str = "prometheus";
/// Prometheus' port.
pub const PROMETHEUS_PORT: i32 = 9090;
/// Its port's name (BKPR's).
pub const PROMETHEUS_PORT_NAME: &str = "web";
/// The Alertmanager StatefulSet, Service and ConfigMap (BKPR's).
pub const ALERTMANAGER: &str = "alertmanager";
/// Alertmanager's port.
pub const ALERTMANAGER_PORT: i32 = 9093;
/// Its port's name (BKPR's).
pub const ALERTMANAGER_PORT_NAME: &str = "alertmanager";
/// The path Alertmanager serves under, behind the `prometheus` Ingress (BKPR's).
pub const ALERTMANAGER_PATH: &str = "/alertmanager";
/// uid, gid and fsGroup of Prometheus and Alertmanager: Bitnami's, which owns the files of
/// an adopted BKPR volume. The upstream images run as any uid.
const RUN_AS: i64 = 1001;
/// `nobody`, the upstream exporters' user.
const NOBODY: i64 = 65534;
const PROMETHEUS_CONFIG_DIR: &str = "/etc/prometheus/config";
const PROMETHEUS_CONFIG_KEY: &str = "prometheus.yml";
const PROMETHEUS_DATA_DIR: &str = "/prometheus";

/// The monitoring stack component.
pub struct Prometheus;

impl Component for Prometheus {
    const NAME: &'static str = COMPONENT;
    const SUMMARY: &'static str =
        "Prometheus and Alertmanager (BKPR's), with node-exporter, kube-state-metrics and the blackbox exporter";
    const OBJECTS: &'static [ObjectDoc] = &[
        ObjectDoc {
            key: "prometheus.serviceAccount",
            kind: "ServiceAccount",
            doc: "Prometheus' identity for Kubernetes discovery",
        },
        ObjectDoc {
            key: "prometheus.prometheusRole",
            kind: "ClusterRole",
            doc: "read nodes, pods, services, endpointslices, ingresses; kubelet and API server metrics",
        },
        ObjectDoc { key: "prometheus.prometheusBinding", kind: "ClusterRoleBinding", doc: "binds it to Prometheus" },
        ObjectDoc {
            key: "prometheus.config",
            kind: "ConfigMap",
            doc: "prometheus.yml and the rule files basic.yaml, monitoring.yaml and one per `rule_groups` entry",
        },
        ObjectDoc {
            key: "prometheus.svc",
            kind: "Service",
            doc: "headless `prometheus` (9090): the StatefulSet's serviceName, and the URL of Grafana's datasource",
        },
        ObjectDoc {
            key: "prometheus.deploy",
            kind: "StatefulSet",
            doc: "Prometheus with its configmap-reload sidecar; volumes `data-prometheus-N`",
        },
        ObjectDoc {
            key: "ingress",
            kind: "Ingress",
            doc: "`prometheus.<dns_zone>`: Prometheus at `/`, Alertmanager at `/alertmanager`; TLS and oauth2-proxy login",
        },
        ObjectDoc { key: "alertmanager.config", kind: "ConfigMap", doc: "config.yml, from `am_config`" },
        ObjectDoc {
            key: "alertmanager.secret",
            kind: "Secret",
            doc: "`alertmanager-secrets`, from `--secrets-file` values for `prometheus` (only when given)",
        },
        ObjectDoc {
            key: "alertmanager.svc",
            kind: "Service",
            doc: "headless `alertmanager` (9093): the StatefulSet's serviceName",
        },
        ObjectDoc {
            key: "alertmanager.deploy",
            kind: "StatefulSet",
            doc: "Alertmanager with its configmap-reload sidecar; volumes `storage-alertmanager-N`",
        },
        ObjectDoc {
            key: "nodeExporter.daemonset",
            kind: "DaemonSet",
            doc: "`node-exporter` on every node (host network, PID namespace and read-only host mounts)",
        },
        ObjectDoc { key: "ksm.serviceAccount", kind: "ServiceAccount", doc: "kube-state-metrics' identity" },
        ObjectDoc { key: "ksm.clusterRole", kind: "ClusterRole", doc: "list and watch what it reports on" },
        ObjectDoc { key: "ksm.clusterRoleBinding", kind: "ClusterRoleBinding", doc: "binds it to kube-state-metrics" },
        ObjectDoc { key: "ksm.deploy", kind: "Deployment", doc: "`kube-state-metrics`" },
        ObjectDoc { key: "blackboxExporter.config", kind: "ConfigMap", doc: "blackbox.yml (`http_2xx`, `tcp_connect`)" },
        ObjectDoc {
            key: "blackboxExporter.svc",
            kind: "Service",
            doc: "`blackbox-exporter` (9115), where probe scrapes go",
        },
        ObjectDoc {
            key: "blackboxExporter.deploy",
            kind: "Deployment",
            doc: "probes Services and Ingresses annotated `prometheus.io/probe: \"true\"`",
        },
        ObjectDoc {
            key: "prometheus.rules",
            kind: "PrometheusRule",
            doc: "every rule group (basic, monitoring, `rule_groups`) for a Prometheus Operator (`platform.monitoring: operator` or `both`)",
        },
        ObjectDoc {
            key: "prometheus.serviceMonitor",
            kind: "ServiceMonitor",
            doc: "scrapes Prometheus through `prometheus.svc` (operator or both)",
        },
        ObjectDoc {
            key: "alertmanager.serviceMonitor",
            kind: "ServiceMonitor",
            doc: "scrapes Alertmanager through `alertmanager.svc` (operator or both)",
        },
        ObjectDoc { key: "nodeExporter.podMonitor", kind: "PodMonitor", doc: "scrapes node-exporter (operator or both)" },
        ObjectDoc { key: "ksm.podMonitor", kind: "PodMonitor", doc: "scrapes kube-state-metrics (operator or both)" },
        ObjectDoc {
            key: "blackboxExporter.podMonitor",
            kind: "PodMonitor",
            doc: "scrapes the blackbox exporter's own metrics (operator or both)",
        },
        ObjectDoc { key: "prometheus.networkPolicy", kind: "NetworkPolicy", doc: "`prometheus`: to every scrape target, Alertmanager, the nodes and the API server" },
        ObjectDoc { key: "alertmanager.networkPolicy", kind: "NetworkPolicy", doc: "`alertmanager`: from Prometheus; to receivers on the internet" },
        ObjectDoc { key: "ksm.networkPolicy", kind: "NetworkPolicy", doc: "`kube-state-metrics`: to the API server" },
        ObjectDoc { key: "blackboxExporter.networkPolicy", kind: "NetworkPolicy", doc: "`blackbox-exporter`: probes Services and public Ingress hosts" },
    ];
    type Params = PrometheusParams;

    fn publish(_: &PrometheusParams, cx: &Context, published: &mut Published) {
        published
            .dashboards
            .extend([crate::grafana::dashboards::PROMETHEUS, crate::grafana::dashboards::KUBERNETES_RESOURCES]);
        let ns = cx.namespace().to_string();
        published.prometheus =
            Some(ServiceRef { name: PROMETHEUS.into(), namespace: ns.clone(), port: PROMETHEUS_PORT as u16 });
        published.alertmanager =
            Some(ServiceRef { name: ALERTMANAGER.into(), namespace: ns, port: ALERTMANAGER_PORT as u16 });
    }

    fn externals(p: &PrometheusParams, cx: &Context) -> Vec<ExternalRef> {
        match alertmanager::secret_source(p, cx) {
            Some(s) if s.values.is_none() => vec![("Secret".into(), cx.namespace().into(), s.name)],
            _ => Vec::new(),
        }
    }

    fn network(_: &PrometheusParams, cx: &Context) -> Vec<crate::network::Flows> {
        use crate::network::{tcp, Flows};
        let ns = cx.namespace();
        vec![
            Flows::new("prometheus.deploy", "prometheus.networkPolicy")
                .to_api_server()
                .to_scrape_targets()
                .to(ns, ALERTMANAGER, ALERTMANAGER_PORT)
                .to_nodes(
                    &[tcp(10250), tcp(9100)],
                    "the kubelets (metrics, cAdvisor) and node-exporter on the host network",
                ),
            Flows::new("alertmanager.deploy", "alertmanager.networkPolicy").to_internet(
                &[tcp(443), tcp(25), tcp(465), tcp(587)],
                "notifications: chat and paging webhooks (443) and email (25, 465, 587)",
            ),
            Flows::new("ksm.deploy", "ksm.networkPolicy").to_api_server(),
            Flows::new("blackboxExporter.deploy", "blackboxExporter.networkPolicy")
                .to_internet(&[tcp(80), tcp(443)], "probes the public hosts of the Ingresses, as users reach them"),
        ]
    }

    fn waivers(_: &PrometheusParams, _: &Context) -> Vec<crate::waivers::Waiver> {
        use crate::waivers::{Check, Waiver};
        vec![
            Waiver::new(
                "prometheus.deploy",
                Check::HighUid,
                "uid 1001 keeps BKPR's data volumes readable without a chown",
            ),
            Waiver::new(
                "prometheus.deploy",
                Check::ReadinessProbe,
                "the configmap-reload sidecar must not take Prometheus out of its Service",
            ),
            Waiver::new(
                "alertmanager.deploy",
                Check::HighUid,
                "uid 1001 keeps BKPR's data volumes readable without a chown",
            ),
            Waiver::new(
                "alertmanager.deploy",
                Check::ReadinessProbe,
                "the configmap-reload sidecar must not take Alertmanager out of its Service",
            ),
            Waiver::new(
                "nodeExporter.daemonset",
                Check::HostPid,
                "node-exporter reports the host's processes (see runway.dev/security-exception)",
            ),
            Waiver::new(
                "nodeExporter.daemonset",
                Check::HostNetwork,
                "node-exporter reports the host's network interfaces (see runway.dev/security-exception)",
            ),
        ]
    }

    fn build(p: &PrometheusParams, cx: &Context) -> Result<Vec<Object>, Error> {
        p.validate()?;
        let ns = cx.namespace();
        let secret = alertmanager::secret_source(p, cx);
        let am_config = alertmanager::render(p, cx, secret.as_ref())?;
        let blackbox_config = exporters::blackbox_config()?;
        let n = Self::NAME;
        // With `ingress: null` the UIs are not published: no DNS zone or oauth2-proxy is
        // needed, and the servers keep their own URLs.
        let ui = !cx.omits(n, "ingress");
        let external_host = if ui { Some(cx.host(PROMETHEUS, COMPONENT)?) } else { None };
        let mut objects = vec![
            Object::new(n, "prometheus.serviceAccount", &service_account(ns)),
            Object::new(n, "prometheus.prometheusRole", &cluster_role()),
            Object::new(n, "prometheus.prometheusBinding", &cluster_role_binding(ns)),
            Object::new(n, "prometheus.config", &config_map(p, cx)?),
            Object::new(n, "prometheus.svc", &service(ns)),
            Object::new(n, "prometheus.deploy", &stateful_set(p, cx, external_host.as_deref())),
        ];
        if ui {
            objects.push(Object::new(n, "ingress", &ingress(cx)?));
        }
        objects.push(Object::new(n, "alertmanager.config", &alertmanager::config_map(ns, am_config)));
        if let Some(alertmanager::SecretSource { name, values: Some(values) }) = &secret {
            objects.push(Object::new(n, "alertmanager.secret", &alertmanager::secret(ns, name, values)));
        }
        objects.extend([
            Object::new(n, "alertmanager.svc", &alertmanager::service(ns)),
            Object::new(
                n,
                "alertmanager.deploy",
                &alertmanager::stateful_set(p, cx, external_host.as_deref(), secret.as_ref()),
            ),
            Object::new(n, "nodeExporter.daemonset", &exporters::node_exporter(p, cx)),
            Object::new(n, "ksm.serviceAccount", &exporters::ksm_service_account(ns)),
            Object::new(n, "ksm.clusterRole", &exporters::ksm_cluster_role()),
            Object::new(n, "ksm.clusterRoleBinding", &exporters::ksm_cluster_role_binding(ns)),
            Object::new(n, "ksm.deploy", &exporters::ksm_deployment(p, cx)),
            Object::new(n, "blackboxExporter.config", &exporters::blackbox_config_map(ns, blackbox_config.clone())),
            Object::new(n, "blackboxExporter.svc", &exporters::blackbox_service(ns)),
            Object::new(n, "blackboxExporter.deploy", &exporters::blackbox_deployment(p, cx, &blackbox_config)),
        ]);
        if cx.platform.monitoring.operator() {
            objects.push(rules_object(p, cx)?);
            for (key, scrape) in scrapes(ns) {
                objects.extend(scrape.monitor(n, key, cx));
            }
        }
        Ok(objects)
    }
}

// ---------------------------------------------------------------------------------------------
// Shared building blocks of the stack's objects.

/// Labels of an object of the stack named `name`.
fn labels(name: &str) -> BTreeMap<String, String> {
    meta::labels(name, COMPONENT)
}

/// Labels of a pod template: the object's labels, which include its selector (BKPR's
/// `name: <object>`, immutable in the workloads' selectors).
fn template_labels(name: &str) -> BTreeMap<String, String> {
    labels(name)
}

fn metadata(name: &str, ns: &str) -> ObjectMeta {
    meta::namespaced(name, ns, labels(name))
}

fn service_port(name: &str, port: i32) -> ServicePort {
    tcp_port(name, port, name)
}

fn config_map_volume(name: &str, config_map: &str) -> Volume {
    Volume {
        name: name.into(),
        config_map: Some(ConfigMapVolumeSource { name: config_map.into(), ..Default::default() }),
        ..Default::default()
    }
}

fn http_probe(path: &str, port_name: &str, period: i32, failures: i32) -> Probe {
    crate::common::probes::http(path, port_name, period, 5, failures)
}

/// The stack's metrics endpoints, each with the object key of its monitor: Prometheus
/// and Alertmanager behind their Services (port names `web` and `alertmanager`), the
/// exporters on their pods.
pub fn scrapes(ns: &str) -> Vec<(&'static str, Scrape)> {
    let pods = |name: &str, e| Scrape::pods(COMPONENT, name, ns, meta::selector_labels(name), e);
    let svc = |name: &str, e| Scrape::service(COMPONENT, name, ns, meta::selector_labels(name), e);
    vec![
        ("prometheus.serviceMonitor", svc(PROMETHEUS, MetricsEndpoint::new(PROMETHEUS_PORT_NAME, PROMETHEUS_PORT))),
        (
            "alertmanager.serviceMonitor",
            svc(
                ALERTMANAGER,
                MetricsEndpoint::new(ALERTMANAGER_PORT_NAME, ALERTMANAGER_PORT).path(ALERTMANAGER_METRICS_PATH),
            ),
        ),
        ("nodeExporter.podMonitor", pods(NODE_EXPORTER, MetricsEndpoint::new("scrape", exporters::NODE_EXPORTER_PORT))),
        ("ksm.podMonitor", pods(KSM, MetricsEndpoint::new("metrics", exporters::KSM_PORT))),
        ("blackboxExporter.podMonitor", pods(BLACKBOX, MetricsEndpoint::new("http", BLACKBOX_PORT))),
    ]
}

/// Alertmanager's metrics path, under its route prefix.
const ALERTMANAGER_METRICS_PATH: &str = "/alertmanager/metrics";

/// The `prometheus.io/*` annotations of workload `name` (none in operator mode).
fn scrape_annotations(name: &str, cx: &Context) -> BTreeMap<String, String> {
    scrapes(cx.namespace())
        .into_iter()
        .find(|(_, s)| s.name == name)
        .map(|(_, s)| s.annotations(cx))
        .unwrap_or_default()
}

/// `prometheus.rules`: every rule group as one PrometheusRule, for a Prometheus Operator.
fn rules_object(p: &PrometheusParams, cx: &Context) -> Result<Object, Error> {
    let mut groups = Vec::new();
    for (file, group, rules) in p.rule_files() {
        let one = serde_json::to_value(config::rule_file(&group, rules))
            .map_err(|e| Error::invalid(format!("{file} cannot be written: {e}")))?;
        if let Some(g) = one.get("groups").and_then(|g| g.as_array()) {
            groups.extend(g.iter().cloned());
        }
    }
    Ok(prometheus_rule(COMPONENT, "prometheus.rules", PROMETHEUS, cx.namespace(), serde_json::Value::Array(groups), cx))
}

/// A claim template with BKPR's metadata to the letter (`name` and `labels: {name}`):
/// claim templates are immutable, so anything else would stop an adopted StatefulSet from
/// updating.
fn claim_template(name: &str, size: &Quantity, cx: &Context) -> PersistentVolumeClaim {
    ClaimTemplate { name, size, storage_class: cx.storage_class(), name_label: true }.build()
}

/// BKPR's `configmap-reload` sidecar: watches `dir` (the mounted ConfigMap) and POSTs to
/// `reload_url` when a file changes.
fn config_reload_container(p: &PrometheusParams, reload_url: &str, dir: &str) -> Container {
    Container {
        name: "configmap-reload".into(),
        image: Some(p.config_reloader_image.clone()),
        args: Some(vec![
            format!("--watched-dir={dir}"),
            format!("--reload-url={reload_url}"),
            // Its own metrics, on a port nothing else in the pod uses.
            "--listen-address=:8080".into(),
        ]),
        // Declared so that its probe points at a port of its own (and a reader sees it).
        ports: Some(vec![crate::common::pod::container_port("reload-metrics", 8080)]),
        resources: Some(p.config_reloader_resources.to_k8s()),
        security_context: Some(container_security(true)),
        volume_mounts: Some(vec![read_only_mount("config", dir)]),
        // Restarted when it stops listening; no readiness probe, which would take the
        // server out of its Service when only the reloader is down.
        liveness_probe: Some(Probe {
            tcp_socket: Some(TCPSocketAction {
                port: IntOrString::String("reload-metrics".into()),
                ..Default::default()
            }),
            period_seconds: Some(30),
            ..Default::default()
        }),
        ..Default::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Prometheus.

/// Prometheus discovers targets through the API, so its token is mounted.
fn service_account(ns: &str) -> ServiceAccount {
    rbac::service_account(metadata(PROMETHEUS, ns), None)
}

fn read(group: &str, resources: &[&str]) -> PolicyRule {
    rbac::rule(&[group], resources, rbac::READ)
}

/// BKPR's `prometheusRole`, at current API groups: discovery of nodes, pods, services,
/// endpointslices and ingresses; the kubelets' metrics (`nodes/metrics`, which the kubelet
/// checks for `/metrics` and `/metrics/cadvisor`); the API servers' `/metrics`.
fn cluster_role() -> ClusterRole {
    rbac::cluster_role(
        meta::cluster_scoped(PROMETHEUS, labels(PROMETHEUS)),
        vec![
            read("", &["nodes", "nodes/metrics", "pods", "services"]),
            read("discovery.k8s.io", &["endpointslices"]),
            read("networking.k8s.io", &["ingresses"]),
            PolicyRule {
                non_resource_urls: Some(vec!["/metrics".into()]),
                verbs: vec!["get".into()],
                ..Default::default()
            },
        ],
    )
}

fn cluster_role_binding(ns: &str) -> ClusterRoleBinding {
    Grant { role: PROMETHEUS, service_account: PROMETHEUS, namespace: ns }
        .cluster_role_binding(meta::cluster_scoped(PROMETHEUS, labels(PROMETHEUS)))
}

/// `prometheus.config`: `prometheus.yml` and the rule files. The probe jobs are left out
/// when a layer removes the blackbox exporter (`blackboxExporter: {deploy: null}`).
fn config_map(p: &PrometheusParams, cx: &Context) -> Result<ConfigMap, Error> {
    let ns = cx.namespace();
    let blackbox = !["blackboxExporter.deploy", "blackboxExporter.svc"].iter().any(|k| cx.omits(COMPONENT, k));
    let wiring = config::Wiring {
        namespace: ns,
        alertmanager_service: ALERTMANAGER,
        alertmanager_port_name: ALERTMANAGER_PORT_NAME,
        alertmanager_path: ALERTMANAGER_PATH,
        blackbox_address: blackbox.then(|| format!("{BLACKBOX}.{ns}.svc:{BLACKBOX_PORT}")),
    };
    let mut data = BTreeMap::new();
    data.insert(
        PROMETHEUS_CONFIG_KEY.to_string(),
        config::to_yaml(&config::prometheus_config(p, &wiring), "prometheus.yml")?,
    );
    for (file, group, rules) in p.rule_files() {
        let text = config::to_yaml(&config::rule_file(&group, rules), &file)?;
        data.insert(file, text);
    }
    Ok(ConfigMap { metadata: metadata(PROMETHEUS, ns), data: Some(data), ..Default::default() })
}

/// `prometheus.svc`: headless, because it is the StatefulSet's `serviceName`.
fn service(ns: &str) -> Service {
    PodService {
        kind: ServiceKind::Headless,
        selector: meta::selector_labels(PROMETHEUS),
        ports: vec![service_port(PROMETHEUS_PORT_NAME, PROMETHEUS_PORT)],
    }
    .build(metadata(PROMETHEUS, ns))
}

fn prometheus_container(p: &PrometheusParams, external_host: Option<&str>) -> Container {
    let mut args = vec![
        format!("--config.file={PROMETHEUS_CONFIG_DIR}/{PROMETHEUS_CONFIG_KEY}"),
        format!("--storage.tsdb.path={PROMETHEUS_DATA_DIR}"),
        format!("--storage.tsdb.retention.time={}d", p.retention_days),
        format!("--storage.tsdb.retention.size={}MB", p.retention_size_mb()),
        format!("--web.listen-address=:{PROMETHEUS_PORT}"),
    ];
    if let Some(host) = external_host {
        // The URL alert notifications and the UI link to.
        args.push(format!("--web.external-url=https://{host}/"));
    }
    // The /-/reload hook the sidecar calls.
    args.push("--web.enable-lifecycle".into());
    Container {
        name: PROMETHEUS.into(),
        image: Some(p.prometheus.image.clone()),
        args: Some(args),
        ports: Some(vec![port(PROMETHEUS_PORT_NAME, PROMETHEUS_PORT)]),
        resources: Some(p.prometheus.resources.to_k8s()),
        security_context: Some(container_security(true)),
        volume_mounts: Some(vec![read_only_mount("config", PROMETHEUS_CONFIG_DIR), mount("data", PROMETHEUS_DATA_DIR)]),
        // `/-/healthy` answers as soon as the web server runs, also while the write-ahead
        // log is replayed after a crash (BKPR saw that take over ten minutes, and waited 20
        // before its first liveness check); `/-/ready` only once queries can be served.
        startup_probe: Some(http_probe("/-/healthy", PROMETHEUS_PORT_NAME, 10, 30)),
        liveness_probe: Some(Probe {
            timeout_seconds: Some(10),
            ..http_probe("/-/healthy", PROMETHEUS_PORT_NAME, 15, 4)
        }),
        readiness_probe: Some(http_probe("/-/ready", PROMETHEUS_PORT_NAME, 5, 3)),
        ..Default::default()
    }
}

/// `prometheus.deploy`: BKPR's StatefulSet (key `deploy`), one replica.
fn stateful_set(p: &PrometheusParams, cx: &Context, external_host: Option<&str>) -> StatefulSet {
    let ns = cx.namespace();
    let reload_url = format!("http://127.0.0.1:{PROMETHEUS_PORT}/-/reload");
    let pod = PodSpec {
        service_account_name: Some(PROMETHEUS.into()),
        automount_service_account_token: Some(true),
        security_context: Some(pod_security(RUN_AS, RUN_AS, RUN_AS)),
        // BKPR's: room to flush the head block on shutdown, so the next start replays less.
        termination_grace_period_seconds: Some(300),
        containers: vec![
            prometheus_container(p, external_host),
            config_reload_container(p, &reload_url, PROMETHEUS_CONFIG_DIR),
        ],
        volumes: Some(vec![config_map_volume("config", PROMETHEUS)]),
        ..Default::default()
    };
    let mut annotations = scrape_annotations(PROMETHEUS, cx);
    annotations.insert("kubectl.kubernetes.io/default-container".into(), PROMETHEUS.into());
    StatefulSet {
        metadata: metadata(PROMETHEUS, ns),
        spec: Some(StatefulSetSpec {
            replicas: Some(1),
            service_name: Some(PROMETHEUS.into()),
            selector: meta::selector(meta::selector_labels(PROMETHEUS)),
            update_strategy: Some(StatefulSetUpdateStrategy {
                type_: Some("RollingUpdate".into()),
                ..Default::default()
            }),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(template_labels(PROMETHEUS)),
                    annotations: Some(annotations),
                    ..Default::default()
                }),
                spec: Some(pod),
            },
            volume_claim_templates: Some(vec![claim_template("data", p.storage_size().quantity(), cx)]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// `ingress`: BKPR's one Ingress `prometheus` for both UIs, neither of which has a login of
/// its own: Prometheus at `/`, Alertmanager at `/alertmanager` (the path it serves under).
fn ingress(cx: &Context) -> Result<Ingress, Error> {
    let mut ing = ui_ingress(
        &IngressSpecFor {
            name: PROMETHEUS,
            sub: PROMETHEUS,
            service: PROMETHEUS,
            port_name: PROMETHEUS_PORT_NAME,
            authenticated: true,
            component: COMPONENT,
            backend: BackendNeeds::default(),
        },
        cx,
    )?;
    let alertmanager_path = HTTPIngressPath {
        path: Some(ALERTMANAGER_PATH.into()),
        path_type: "Prefix".into(),
        backend: IngressBackend {
            service: Some(IngressServiceBackend {
                name: ALERTMANAGER.into(),
                port: Some(ServiceBackendPort { name: Some(ALERTMANAGER_PORT_NAME.into()), number: None }),
            }),
            resource: None,
        },
    };
    let http =
        ing.spec.as_mut().and_then(|s| s.rules.as_mut()).and_then(|r| r.first_mut()).and_then(|r| r.http.as_mut());
    match http {
        Some(http) => http.paths.push(alertmanager_path),
        // ui_ingress always builds one rule with an `http` block.
        None => return Err(Error::invalid("the prometheus Ingress has no HTTP rule to route Alertmanager through")),
    }
    Ok(ing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::testing;
    use crate::common::testing::{find, path_of};
    use crate::context::AuthRef;
    use crate::Stack;
    use runway_core::JsonPointer as _;
    use runway_core::SourceKind;
    use schemars::JsonSchema;
    use serde::{Deserialize, Serialize};
    use serde_json::{json, Value as J};

    /// Stands in for oauth2-proxy and cert-manager: publishes their endpoints and issuer,
    /// renders nothing.
    struct FakeAuth;

    #[derive(Default, Serialize, Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    struct NoParams {}

    impl Component for FakeAuth {
        const NAME: &'static str = "test_auth";
        const SUMMARY: &'static str = "publishes auth endpoints for tests";
        const OBJECTS: &'static [ObjectDoc] = &[];
        type Params = NoParams;
        fn publish(_: &NoParams, _: &Context, published: &mut Published) {
            published.auth = Some(AuthRef {
                auth_url: "https://auth.example.com/oauth2/auth".into(),
                signin_url: "https://auth.example.com/oauth2/start?rd=$scheme://$host$request_uri".into(),
            });
            published.tls_issuer = Some("letsencrypt-prod".into());
        }
        fn build(_: &NoParams, _: &Context) -> Result<Vec<Object>, Error> {
            Ok(Vec::new())
        }
    }

    fn cx() -> Context {
        let mut cx = Context::default();
        cx.config.dns_zone = Some("example.com".into());
        FakeAuth::publish(&NoParams {}, &cx.clone(), &mut cx.published);
        cx
    }

    fn build(p: &PrometheusParams) -> Vec<Object> {
        Prometheus::build(p, &cx()).unwrap_or_else(|e| panic!("builds: {e}"))
    }

    fn with(f: impl FnOnce(&mut PrometheusParams)) -> PrometheusParams {
        testing::with(f)
    }

    fn error_of(p: &PrometheusParams) -> Error {
        Prometheus::build(p, &cx()).expect_err("parameters are rejected")
    }

    fn data<'a>(objects: &'a [Object], key: &str, file: &str) -> &'a str {
        find(objects, key).value["data"][file].as_str().unwrap_or_else(|| panic!("no `{file}` in `{key}`"))
    }

    fn pod_spec(o: &Object) -> &J {
        &o.value["spec"]["template"]["spec"]
    }

    fn container<'a>(o: &'a Object, name: &str) -> &'a J {
        pod_spec(o)["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no container `{name}` in `{}`", o.key))
    }

    fn args(c: &J) -> Vec<&str> {
        c["args"].as_array().into_iter().flatten().filter_map(J::as_str).collect()
    }

    fn typed_config(p: &PrometheusParams) -> J {
        let wiring = config::Wiring {
            namespace: "kubeprod",
            alertmanager_service: ALERTMANAGER,
            alertmanager_port_name: ALERTMANAGER_PORT_NAME,
            alertmanager_path: ALERTMANAGER_PATH,
            blackbox_address: Some("blackbox-exporter.kubeprod.svc:9115".into()),
        };
        serde_json::to_value(config::prometheus_config(p, &wiring)).expect("serializes")
    }

    fn job<'a>(config: &'a J, name: &str) -> &'a J {
        config["scrape_configs"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|j| j["job_name"] == name)
            .unwrap_or_else(|| panic!("no job `{name}`"))
    }

    fn stack(files: &[(&str, &str)]) -> Stack {
        let mut s = Stack::new();
        s.platform("gke", "test").expect("gke exists");
        s.set("config.dns_zone=example.com", false).expect("a set flag");
        for (name, text) in files {
            s.layer(name, SourceKind::File, text).expect("parses");
        }
        s
    }

    fn render(s: &Stack) -> Vec<Object> {
        s.render(&[&Prometheus, &FakeAuth]).unwrap_or_else(|e| panic!("{}", e.render())).objects
    }

    const STORAGE_OVERRIDE: &str = include_str!("../../../../overrides/prometheus-storage.yaml");
    const RULES_OVERRIDE: &str = include_str!("../../../../overrides/prometheus-rules.yaml");
    const RECEIVERS_OVERRIDE: &str = include_str!("../../../../overrides/alertmanager-receivers.yaml");
    const AM_STORAGE_OVERRIDE: &str = include_str!("../../../../overrides/alertmanager-storage.yaml");

    #[test]
    fn default_build_has_bkpr_names_and_keys() {
        let objects = build(&PrometheusParams::default());
        let got: Vec<(&str, &str, &str)> = objects.iter().map(|o| (o.key.as_str(), o.kind(), o.name())).collect();
        assert_eq!(
            got,
            [
                ("prometheus.serviceAccount", "ServiceAccount", "prometheus"),
                ("prometheus.prometheusRole", "ClusterRole", "prometheus"),
                ("prometheus.prometheusBinding", "ClusterRoleBinding", "prometheus"),
                ("prometheus.config", "ConfigMap", "prometheus"),
                ("prometheus.svc", "Service", "prometheus"),
                ("prometheus.deploy", "StatefulSet", "prometheus"),
                ("ingress", "Ingress", "prometheus"),
                ("alertmanager.config", "ConfigMap", "alertmanager"),
                ("alertmanager.svc", "Service", "alertmanager"),
                ("alertmanager.deploy", "StatefulSet", "alertmanager"),
                ("nodeExporter.daemonset", "DaemonSet", "node-exporter"),
                ("ksm.serviceAccount", "ServiceAccount", "kube-state-metrics"),
                ("ksm.clusterRole", "ClusterRole", "kube-state-metrics"),
                ("ksm.clusterRoleBinding", "ClusterRoleBinding", "kube-state-metrics"),
                ("ksm.deploy", "Deployment", "kube-state-metrics"),
                ("blackboxExporter.config", "ConfigMap", "blackbox-exporter"),
                ("blackboxExporter.svc", "Service", "blackbox-exporter"),
                ("blackboxExporter.deploy", "Deployment", "blackbox-exporter"),
            ]
        );
        let documented: Vec<&str> = Prometheus::OBJECTS.iter().map(|d| d.key).collect();
        for o in &objects {
            assert!(documented.contains(&o.key.as_str()), "{} is not in OBJECTS", o.key);
            assert_eq!(o.component, "prometheus");
            let cluster_scoped = matches!(o.kind(), "ClusterRole" | "ClusterRoleBinding");
            assert_eq!(o.namespace(), if cluster_scoped { "" } else { "kubeprod" }, "{}", o.key);
            assert!(
                ["v1", "apps/v1", "networking.k8s.io/v1", "rbac.authorization.k8s.io/v1"].contains(&o.api_version()),
                "{}: {}",
                o.key,
                o.api_version()
            );
        }
    }

    #[test]
    fn every_object_round_trips() {
        let mut context = cx();
        context.platform.storage_class = Some("standard-rwo".into());
        context.secrets.insert("prometheus".into(), BTreeMap::from([("smtp_password".into(), "s3cret".into())]));
        let p = with(|p| {
            p.am_config.global.smtp_auth_password_file = Some(format!("{SECRETS_DIR}/smtp_password"));
        });
        let objects = Prometheus::build(&p, &context).expect("builds");
        assert!(objects.iter().any(|o| o.key == "alertmanager.secret"));
        for mut o in objects {
            let before = o.value.clone();
            o.check_round_trip().unwrap_or_else(|e| panic!("{}: {e}", o.key));
            assert_eq!(before, o.value, "{} changed in the round trip", o.key);
        }
    }

    #[test]
    fn service_selectors_match_the_pod_template_labels() {
        let objects = build(&PrometheusParams::default());
        for (svc, workload) in [
            ("prometheus.svc", "prometheus.deploy"),
            ("alertmanager.svc", "alertmanager.deploy"),
            ("blackboxExporter.svc", "blackboxExporter.deploy"),
        ] {
            let labels = find(&objects, workload).value["spec"]["template"]["metadata"]["labels"].clone();
            let selector = find(&objects, svc).value["spec"]["selector"].as_object().cloned().expect("a selector");
            assert!(!selector.is_empty());
            assert!(selector.iter().all(|(k, v)| labels[k] == *v), "{svc} does not select {workload}");
            // Each Service port's target is a named port of the pod.
            let ports: Vec<&J> = pod_spec(find(&objects, workload))["containers"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|c| c["ports"].as_array().into_iter().flatten())
                .collect();
            for sp in find(&objects, svc).value["spec"]["ports"].as_array().into_iter().flatten() {
                assert!(ports.iter().any(|p| p["name"] == sp["targetPort"]), "{svc}: {sp}");
            }
        }
        for workload in [
            "prometheus.deploy",
            "alertmanager.deploy",
            "nodeExporter.daemonset",
            "ksm.deploy",
            "blackboxExporter.deploy",
        ] {
            let v = &find(&objects, workload).value;
            let labels = &v["spec"]["template"]["metadata"]["labels"];
            for (k, val) in v["spec"]["selector"]["matchLabels"].as_object().expect("matchLabels") {
                assert_eq!(&labels[k], val, "{workload}");
            }
        }
    }

    #[test]
    fn stateful_sets_keep_bkprs_identity_and_claims() {
        let objects = build(&PrometheusParams::default());
        for (key, name, claim, size) in [
            ("prometheus.deploy", "prometheus", "data", "7905Mi"),
            ("alertmanager.deploy", "alertmanager", "storage", "5Gi"),
        ] {
            let spec = &find(&objects, key).value["spec"];
            assert_eq!(spec["serviceName"], name);
            assert_eq!(spec["selector"]["matchLabels"], json!({"name": name}));
            assert_eq!(spec["replicas"], 1);
            assert!(spec.get("podManagementPolicy").is_none(), "BKPR's default OrderedReady is immutable");
            let t = &spec["volumeClaimTemplates"][0];
            assert_eq!(t["metadata"], json!({"name": claim, "labels": {"name": claim}}));
            assert_eq!(t["spec"]["resources"]["requests"]["storage"], size);
            assert_eq!(t["spec"]["accessModes"], json!(["ReadWriteOnce"]));
            let svc = find(&objects, &key.replace("deploy", "svc")).value.clone();
            assert_eq!(svc["metadata"]["name"], name);
            assert_eq!(svc["spec"]["clusterIP"], "None", "a StatefulSet's serviceName is headless");
        }
    }

    #[test]
    fn storage_follows_retention_unless_given() {
        let sts = |p: &PrometheusParams| find(&build(p), "prometheus.deploy").value.clone();
        let size = |v: &J| v["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"].clone();
        assert_eq!(size(&sts(&with(|p| p.retention_days = 366))), "15811Mi");
        assert_eq!(size(&sts(&with(|p| p.storage = Some(StorageSize::mebibytes(16384))))), "16384Mi");
        let v = sts(&with(|p| p.storage = Some(StorageSize(Quantity::from("20Gi")))));
        assert_eq!(size(&v), "20Gi");
        let a = args(&v["spec"]["template"]["spec"]["containers"][0]).join(" ");
        assert!(a.contains("--storage.tsdb.retention.size=17408MB"), "{a}");
    }

    #[test]
    fn prometheus_runs_with_reload_sidecar_on_9090() {
        let objects = build(&PrometheusParams::default());
        let sts = find(&objects, "prometheus.deploy");
        let prom = container(sts, "prometheus");
        assert_eq!(prom["image"], DEFAULT_PROMETHEUS_IMAGE);
        assert_eq!(prom["ports"], json!([{"name": "web", "containerPort": 9090, "protocol": "TCP"}]));
        let a = args(prom);
        for want in [
            "--config.file=/etc/prometheus/config/prometheus.yml",
            "--storage.tsdb.path=/prometheus",
            "--storage.tsdb.retention.time=183d",
            "--web.external-url=https://prometheus.example.com/",
            "--web.enable-lifecycle",
        ] {
            assert!(a.contains(&want), "{want} not in {a:?}");
        }
        assert_eq!(prom["readinessProbe"]["httpGet"]["path"], "/-/ready");
        assert_eq!(prom["livenessProbe"]["httpGet"]["path"], "/-/healthy");
        let reload = container(sts, "configmap-reload");
        let ra = args(reload);
        assert!(ra.contains(&"--reload-url=http://127.0.0.1:9090/-/reload"), "{ra:?}");
        assert!(ra.contains(&"--watched-dir=/etc/prometheus/config"), "{ra:?}");
        assert_eq!(reload["volumeMounts"][0]["mountPath"], "/etc/prometheus/config");
        let spec = pod_spec(sts);
        assert_eq!(spec["serviceAccountName"], "prometheus");
        assert_eq!(spec["automountServiceAccountToken"], true);
        assert_eq!(spec["terminationGracePeriodSeconds"], 300);
        assert_eq!(spec["securityContext"]["fsGroup"], 1001);
        let ann = &sts.value["spec"]["template"]["metadata"]["annotations"];
        assert_eq!(ann["prometheus.io/scrape"], "true");
        assert_eq!(ann["prometheus.io/port"], "9090");
        assert!(ann.get("checksum/config").is_none(), "the sidecar reloads; a restart would replay the WAL");
    }

    #[test]
    fn scrape_config_covers_bkprs_jobs_with_synthetic_labels() {
        let c = typed_config(&PrometheusParams::default());
        let names: Vec<&str> =
            c["scrape_configs"].as_array().into_iter().flatten().filter_map(|j| j["job_name"].as_str()).collect();
        assert_eq!(names, BUILTIN_JOBS);
        assert_eq!(
            c["global"],
            json!({"scrape_interval": "60s", "scrape_timeout": "30s", "evaluation_interval": "60s"})
        );
        assert_eq!(c["rule_files"], json!(["basic.yaml", "monitoring.yaml"]));

        let api = job(&c, "kubernetes-apiservers");
        assert_eq!(api["scheme"], "https");
        assert_eq!(api["authorization"]["credentials_file"], "/var/run/secrets/kubernetes.io/serviceaccount/token");
        assert_eq!(api["relabel_configs"][0]["regex"], "default;kubernetes;https");
        assert_eq!(job(&c, "kubernetes-nodes")["metrics_path"], "/metrics");
        assert_eq!(job(&c, "kubernetes-cadvisor")["metrics_path"], "/metrics/cadvisor");
        assert_eq!(job(&c, "kubernetes-cadvisor")["kubernetes_sd_configs"], json!([{"role": "node"}]));

        let relabels = |j: &str| job(&c, j)["relabel_configs"].as_array().cloned().unwrap_or_default();
        let writes = |j: &str, target: &str, source: &str| {
            relabels(j).iter().any(|r| r["target_label"] == target && r["source_labels"] == json!([source]))
        };
        for j in ["kubernetes-pods", "kubernetes-service-endpoints"] {
            assert!(writes(j, "kubernetes_namespace", "__meta_kubernetes_namespace"), "{j}");
            assert!(writes(j, "kubernetes_pod_name", "__meta_kubernetes_pod_name"), "{j}");
        }
        // The annotations choose what is scraped.
        let pods = relabels("kubernetes-pods");
        assert_eq!(
            pods[0],
            json!({"source_labels": ["__meta_kubernetes_pod_annotation_prometheus_io_scrape"], "action": "keep", "regex": "true"})
        );
        assert!(pods
            .iter()
            .any(|r| r["source_labels"] == json!(["__meta_kubernetes_pod_annotation_prometheus_io_path"])
                && r["target_label"] == "__metrics_path__"));
        assert!(pods.iter().any(|r| r["source_labels"][0] == "__meta_kubernetes_pod_annotation_prometheus_io_port"
            && r["replacement"] == "$2:$1"));
        assert!(pods.iter().any(|r| r["source_labels"][0] == "__meta_kubernetes_pod_annotation_prometheus_io_port"
            && r["replacement"] == "[$2]:$1"));
        let svc = relabels("kubernetes-service-endpoints");
        assert_eq!(svc[0]["source_labels"], json!(["__meta_kubernetes_service_annotation_prometheus_io_scrape"]));

        // Services and Ingresses are probed through the blackbox exporter.
        for (j, role) in [("kubernetes-services", "service"), ("kubernetes-ingresses", "ingress")] {
            let probe = job(&c, j);
            assert_eq!(probe["metrics_path"], "/probe");
            assert_eq!(probe["params"], json!({"module": ["http_2xx"]}));
            assert_eq!(probe["kubernetes_sd_configs"], json!([{"role": role}]));
            let r = relabels(j);
            assert_eq!(
                r[0]["source_labels"],
                json!([format!("__meta_kubernetes_{role}_annotation_prometheus_io_probe")])
            );
            assert!(r.iter().any(
                |x| x["target_label"] == "__address__" && x["replacement"] == "blackbox-exporter.kubeprod.svc:9115"
            ));
            assert!(r.iter().any(|x| x["target_label"] == "__param_target"));
            assert!(writes(j, "kubernetes_namespace", "__meta_kubernetes_namespace"), "{j}");
        }

        // Alerts go to the Alertmanager Service, under its path.
        let am = &c["alerting"]["alertmanagers"][0];
        assert_eq!(am["path_prefix"], "/alertmanager");
        assert_eq!(
            am["kubernetes_sd_configs"],
            json!([{"role": "endpointslice", "namespaces": {"names": ["kubeprod"]}}])
        );
        assert_eq!(am["relabel_configs"][0]["regex"], "alertmanager;alertmanager");
    }

    #[test]
    fn prometheus_yml_is_written_as_yaml() {
        let objects = build(&with(|p| {
            p.external_labels.insert("cluster".into(), "prod".into());
        }));
        let yml = data(&objects, "prometheus.config", "prometheus.yml");
        assert!(yml.starts_with("alerting:\n"), "{yml}");
        assert!(yml.contains("- job_name: kubernetes-pods\n"), "{yml}");
        assert!(yml.contains("  external_labels:\n    cluster: prod\n"), "{yml}");
        // `true` must stay a string for Prometheus' regex field.
        assert!(yml.contains("regex: 'true'\n"), "{yml}");
        assert!(yml.contains("- basic.yaml\n- monitoring.yaml\n"), "{yml}");
    }

    #[test]
    fn rule_files_hold_bkprs_groups_and_user_groups() {
        let objects = build(&with(|p| {
            p.rule_groups.insert(
                "elasticsearch.rules".into(),
                BTreeMap::from([(
                    "ElasticsearchRed".to_string(),
                    AlertRule {
                        expr: "elasticsearch_cluster_health_status{color=\"red\"} == 1".into(),
                        for_: Some("5m".into()),
                        keep_firing_for: None,
                        labels: BTreeMap::new(),
                        annotations: BTreeMap::new(),
                    },
                )]),
            );
        }));
        let basic = data(&objects, "prometheus.config", "basic.yaml");
        assert!(basic.starts_with("groups:\n- name: basic.rules\n  rules:\n"), "{basic}");
        assert!(basic.contains("  - alert: CrashLooping\n"), "{basic}");
        assert!(basic.contains("  - alert: K8sApiUnavailable\n"), "{basic}");
        assert!(basic.contains("    for: 15m\n"), "{basic}");
        let monitoring = data(&objects, "prometheus.config", "monitoring.yaml");
        assert!(monitoring.contains("- name: monitoring.rules\n"), "{monitoring}");
        assert!(monitoring.contains("  - alert: PrometheusBadConfig\n"), "{monitoring}");
        assert!(monitoring.contains("  - alert: AlertmanagerBadConfig\n"), "{monitoring}");
        let es = data(&objects, "prometheus.config", "elasticsearch.rules.yaml");
        assert!(es.contains("- name: elasticsearch.rules\n"), "{es}");
        let yml = data(&objects, "prometheus.config", "prometheus.yml");
        assert!(yml.contains("- basic.yaml\n- elasticsearch.rules.yaml\n- monitoring.yaml\n"), "{yml}");
    }

    #[test]
    fn rule_and_label_errors_name_their_parameter() {
        let rule = |expr: &str, for_: &str| AlertRule {
            expr: expr.into(),
            for_: Some(for_.into()),
            keep_firing_for: None,
            labels: BTreeMap::new(),
            annotations: BTreeMap::new(),
        };
        let e = error_of(&with(|p| {
            p.monitoring_rules.insert("Bad".into(), rule("up == 0", "10 minutes"));
        }));
        assert_eq!(path_of(&e), "prometheus.monitoring_rules.Bad.for");
        let e = error_of(&with(|p| {
            p.monitoring_rules.insert("Bad Name".into(), rule("up == 0", "10m"));
        }));
        assert_eq!(path_of(&e), "prometheus.monitoring_rules.Bad Name");
        let e = error_of(&with(|p| {
            p.basic_rules.insert("Empty".into(), rule(" ", "10m"));
        }));
        assert_eq!(path_of(&e), "prometheus.basic_rules.Empty.expr");
        let e = error_of(&with(|p| {
            p.rule_groups.insert("basic.rules".into(), BTreeMap::new());
        }));
        assert_eq!(path_of(&e), r"prometheus.rule_groups.basic\.rules");
        let e = error_of(&with(|p| {
            p.external_labels.insert("my-cluster".into(), "x".into());
        }));
        assert_eq!(path_of(&e), "prometheus.external_labels.my-cluster");
    }

    #[test]
    fn parameter_errors_name_their_parameter() {
        assert_eq!(path_of(&error_of(&with(|p| p.retention_days = 0))), "prometheus.retention_days");
        assert_eq!(path_of(&error_of(&with(|p| p.scrape_interval_secs = 0))), "prometheus.scrape_interval_secs");
        assert_eq!(path_of(&error_of(&with(|p| p.storage = Some(StorageSize::mebibytes(10))))), "prometheus.storage");
        assert_eq!(
            path_of(&error_of(&with(|p| p.alertmanager.storage = StorageSize(Quantity::from("1Ki"))))),
            "prometheus.alertmanager.storage"
        );
        assert_eq!(path_of(&error_of(&with(|p| p.ksm.image = String::new()))), "prometheus.ksm.image");
        assert_eq!(
            path_of(&error_of(&with(
                |p| p.node_exporter.resources = crate::common::pod::Resources::new("1", "1Gi", None, "64Mi")
            ))),
            "prometheus.nodeExporter.resources"
        );
        let e = error_of(&with(|p| {
            p.extra_scrape_configs.insert("kubernetes-pods".into(), ScrapeConfig::default());
        }));
        assert_eq!(path_of(&e), "prometheus.extra_scrape_configs.kubernetes-pods");
        let e = error_of(&with(|p| {
            p.extra_scrape_configs.insert(
                "mine".into(),
                ScrapeConfig {
                    kubernetes_sd_configs: vec![KubernetesSdConfig { role: "pods".into(), namespaces: None }],
                    ..Default::default()
                },
            );
        }));
        assert_eq!(path_of(&e), "prometheus.extra_scrape_configs.mine.kubernetes_sd_configs[0].role");
    }

    #[test]
    fn extra_scrape_configs_are_appended_by_job_name() {
        let p = with(|p| {
            p.extra_scrape_configs.insert(
                "my-app".into(),
                ScrapeConfig {
                    static_configs: vec![StaticConfig {
                        targets: vec!["my-app.default.svc:8080".into()],
                        labels: BTreeMap::new(),
                    }],
                    scrape_interval: Some("15s".into()),
                    ..Default::default()
                },
            );
        });
        let c = typed_config(&p);
        let mine = job(&c, "my-app");
        assert_eq!(
            mine,
            &json!({"job_name": "my-app", "scrape_interval": "15s", "static_configs": [{"targets": ["my-app.default.svc:8080"]}]})
        );
        build(&p);
    }

    #[test]
    fn alertmanager_config_lists_receivers_from_the_map() {
        let objects = build(&PrometheusParams::default());
        let cfg = data(&objects, "alertmanager.config", "config.yml");
        assert!(cfg.contains("receivers:\n- name: email\n"), "{cfg}");
        assert!(cfg.contains("route:\n  group_by:\n  - alertname\n  - cluster\n  - service\n"), "{cfg}");
        assert!(cfg.contains("  receiver: email\n"), "{cfg}");
        assert!(cfg.contains("  repeat_interval: 7d\n"), "{cfg}");
        assert!(cfg.contains("global:\n  resolve_timeout: 5m\n"), "{cfg}");
        assert!(cfg.contains("inhibit_rules:\n- equal:\n"), "{cfg}");
        assert!(!cfg.contains("receivers_"), "{cfg}");
        // No email address: no sender needed, none invented.
        assert!(!cfg.contains("smtp_from"), "{cfg}");
    }

    #[test]
    fn alertmanager_runs_under_its_path_with_reload_sidecar() {
        let objects = build(&PrometheusParams::default());
        let sts = find(&objects, "alertmanager.deploy");
        let am = container(sts, "alertmanager");
        assert_eq!(am["image"], DEFAULT_ALERTMANAGER_IMAGE);
        assert_eq!(am["ports"], json!([{"name": "alertmanager", "containerPort": 9093, "protocol": "TCP"}]));
        let a = args(am);
        for want in [
            "--config.file=/etc/alertmanager/config/config.yml",
            "--storage.path=/alertmanager",
            "--web.external-url=https://prometheus.example.com/alertmanager",
            "--web.route-prefix=/alertmanager",
            "--cluster.listen-address=",
        ] {
            assert!(a.contains(&want), "{want} not in {a:?}");
        }
        assert_eq!(am["readinessProbe"]["httpGet"]["path"], "/alertmanager/-/ready");
        assert_eq!(am["livenessProbe"]["httpGet"]["path"], "/alertmanager/-/healthy");
        let reload = args(container(sts, "configmap-reload"));
        assert!(reload.contains(&"--reload-url=http://127.0.0.1:9093/alertmanager/-/reload"), "{reload:?}");
        assert_eq!(pod_spec(sts)["automountServiceAccountToken"], false);
        let ann = &sts.value["spec"]["template"]["metadata"]["annotations"];
        assert_eq!(ann["prometheus.io/path"], "/alertmanager/metrics");
        assert_eq!(ann["prometheus.io/port"], "9093");
    }

    #[test]
    fn email_receivers_need_an_smtp_server_and_get_a_sender() {
        let email = |p: &mut PrometheusParams| {
            p.am_config.receivers_.insert(
                "email".into(),
                Receiver {
                    email_configs: vec![EmailConfig { to: "ops@example.com".into(), ..Default::default() }],
                    ..Default::default()
                },
            );
        };
        let e = error_of(&with(email));
        assert_eq!(path_of(&e), "prometheus.am_config.receivers_.email.email_configs[0]");
        assert!(e.helps().iter().any(|h| h.contains("smtp_smarthost")), "{:?}", e.helps());

        let p = with(|p| {
            email(p);
            p.am_config.global.smtp_smarthost = Some("smtp.example.com:587".into());
        });
        let cfg = data(&build(&p), "alertmanager.config", "config.yml").to_string();
        assert!(cfg.contains("  smtp_from: alertmanager@example.com\n"), "{cfg}");
        assert!(cfg.contains("  smtp_smarthost: smtp.example.com:587\n"), "{cfg}");

        // Without a DNS zone, the sender must be given.
        let mut no_zone = cx();
        no_zone.config.dns_zone = None;
        let e = alertmanager::render(&p, &no_zone, None).expect_err("no sender");
        assert_eq!(path_of(&e), "prometheus.am_config.global.smtp_from");

        let bad = with(|p| {
            email(p);
            p.am_config.global.smtp_smarthost = Some("smtp.example.com".into());
        });
        assert_eq!(path_of(&error_of(&bad)), "prometheus.am_config.global.smtp_smarthost");
    }

    #[test]
    fn routes_must_name_existing_receivers() {
        let e = error_of(&with(|p| p.am_config.route.receiver = Some("pager".into())));
        assert_eq!(path_of(&e), "prometheus.am_config.route.receiver");
        assert!(e.helps().iter().any(|h| h.contains("email")), "{:?}", e.helps());
        let e = error_of(&with(|p| {
            p.am_config.route.routes.push(AmRoute {
                receiver: Some("nope".into()),
                matchers: vec!["severity=\"critical\"".into()],
                ..Default::default()
            });
        }));
        assert_eq!(path_of(&e), "prometheus.am_config.route.routes[0].receiver");
        let e = error_of(&with(|p| {
            p.am_config.route.routes.push(AmRoute { matchers: vec!["critical".into()], ..Default::default() });
        }));
        assert_eq!(path_of(&e), "prometheus.am_config.route.routes[0].matchers[0]");
        let e = error_of(&with(|p| p.am_config.route.group_wait = Some("30 s".into())));
        assert_eq!(path_of(&e), "prometheus.am_config.route.group_wait");
    }

    #[test]
    fn secret_files_read_a_mounted_secret_never_the_config_map() {
        let slack = |p: &mut PrometheusParams| {
            p.am_config.receivers_.insert(
                "slack".into(),
                Receiver {
                    slack_configs: vec![SlackConfig {
                        api_url_file: Some(format!("{SECRETS_DIR}/slack_url")),
                        channel: Some("#alerts".into()),
                        ..Default::default()
                    }],
                    ..Default::default()
                },
            );
        };
        // No Secret at all: an error that says how to give one.
        let e = error_of(&with(slack));
        assert_eq!(path_of(&e), "prometheus.am_config.receivers_.slack.slack_configs[0].api_url_file");
        assert!(e.helps().iter().any(|h| h.contains("--secrets-file")), "{:?}", e.helps());

        // A Secret the user provides: declared external and mounted.
        let p = with(|p| {
            slack(p);
            p.alertmanager.secret_name = Some("my-am-secrets".into());
        });
        let objects = build(&p);
        assert!(objects.iter().all(|o| o.kind() != "Secret"));
        assert_eq!(
            Prometheus::externals(&p, &cx()),
            vec![("Secret".to_string(), "kubeprod".to_string(), "my-am-secrets".to_string())]
        );
        let spec = pod_spec(find(&objects, "alertmanager.deploy"));
        let vols = spec["volumes"].as_array().cloned().unwrap_or_default();
        assert!(vols.iter().any(|v| v["secret"]["secretName"] == "my-am-secrets"), "{vols:?}");
        let cfg = data(&objects, "alertmanager.config", "config.yml");
        assert!(cfg.contains("api_url_file: /etc/alertmanager/secrets/slack_url\n"), "{cfg}");

        // Values from --secrets-file: runway renders the Secret, and checks the keys.
        let mut context = cx();
        context
            .secrets
            .insert("prometheus".into(), BTreeMap::from([("slack_url".into(), "https://hooks.slack.com/x".into())]));
        let p = with(slack);
        let objects = Prometheus::build(&p, &context).expect("builds");
        let secret = find(&objects, "alertmanager.secret");
        assert_eq!(secret.name(), "alertmanager-secrets");
        assert!(secret.value["data"]["slack_url"].is_string());
        assert!(Prometheus::externals(&p, &context).is_empty());
        for o in &objects {
            if o.kind() == "ConfigMap" {
                assert!(!o.value.to_string().contains("hooks.slack.com"), "{}", o.key);
            }
        }
        context.secrets.insert("prometheus".into(), BTreeMap::from([("other".into(), "x".into())]));
        let e = Prometheus::build(&p, &context).expect_err("missing key");
        assert!(e.to_string().contains("has no key `slack_url`"), "{e}");

        // A file outside the Secret's folder.
        let e = error_of(&with(|p| {
            slack(p);
            p.alertmanager.secret_name = Some("s".into());
            p.am_config.receivers_.get_mut("slack").expect("slack").slack_configs[0].api_url_file =
                Some("/tmp/url".into());
        }));
        assert!(e.to_string().contains("not in the Alertmanager Secret's folder"), "{e}");
    }

    #[test]
    fn secrets_file_values_become_the_alertmanager_secret() {
        let mut s = stack(&[(
            "smtp.yaml",
            "prometheus:\n  am_config:\n    global:\n      smtp_smarthost: smtp.example.com:587\n      smtp_auth_username: alerts\n      smtp_auth_password_file: /etc/alertmanager/secrets/smtp_password\n",
        )]);
        s.secrets("secrets.yaml", "prometheus:\n  smtp_password: hunter2\n").expect("secrets parse");
        let objects = render(&s);
        let secret = objects.iter().find(|o| o.kind() == "Secret").expect("the Secret");
        assert_eq!(secret.name(), "alertmanager-secrets");
        assert_eq!(secret.key, "alertmanager.secret");
        let yaml =
            runway_core::emit::to_yaml_stream(objects.iter().filter(|o| o.kind() != "Secret").map(|o| &*o.value));
        assert!(!yaml.contains("hunter2"), "the password leaked outside its Secret");
        let am =
            objects.iter().find(|o| o.kind() == "StatefulSet" && o.name() == "alertmanager").expect("alertmanager");
        let mounts = pod_spec(am)["containers"][0]["volumeMounts"].to_string();
        assert!(mounts.contains("/etc/alertmanager/secrets"), "{mounts}");
    }

    #[test]
    fn ingress_publishes_both_uis_behind_login_and_tls() {
        let objects = build(&PrometheusParams::default());
        let ing = &find(&objects, "ingress").value;
        assert_eq!(ing["metadata"]["name"], "prometheus");
        assert_eq!(ing["spec"]["tls"], json!([{"hosts": ["prometheus.example.com"], "secretName": "prometheus-tls"}]));
        let ann = &ing["metadata"]["annotations"];
        assert_eq!(ann["nginx.ingress.kubernetes.io/auth-url"], "https://auth.example.com/oauth2/auth");
        assert_eq!(ann["cert-manager.io/cluster-issuer"], "letsencrypt-prod");
        let rule = &ing["spec"]["rules"][0];
        assert_eq!(rule["host"], "prometheus.example.com");
        let backends: Vec<(String, String, String)> = rule["http"]["paths"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| {
                let b = &p["backend"]["service"];
                (p["path"].to_string(), b["name"].to_string(), b["port"]["name"].to_string())
            })
            .collect();
        assert_eq!(
            backends,
            [
                ("\"/\"".into(), "\"prometheus\"".into(), "\"web\"".into()),
                ("\"/alertmanager\"".into(), "\"alertmanager\"".into(), "\"alertmanager\"".into()),
            ]
        );
        // Without oauth2-proxy the UIs are not published.
        let mut bare = cx();
        bare.published.auth = None;
        assert!(Prometheus::build(&PrometheusParams::default(), &bare).is_err());
    }

    #[test]
    fn publishes_prometheus_and_alertmanager_services() {
        let mut published = Published::default();
        Prometheus::publish(&PrometheusParams::default(), &cx(), &mut published);
        let prom = published.prometheus.expect("prometheus");
        assert_eq!(prom.http_url(), "http://prometheus.kubeprod.svc:9090");
        let am = published.alertmanager.expect("alertmanager");
        assert_eq!(am.http_url(), "http://alertmanager.kubeprod.svc:9093");
    }

    #[test]
    fn node_exporter_sees_the_host_and_says_why() {
        let objects = build(&PrometheusParams::default());
        let ds = find(&objects, "nodeExporter.daemonset");
        let spec = pod_spec(ds);
        assert_eq!(spec["hostNetwork"], true);
        assert_eq!(spec["hostPID"], true);
        assert_eq!(spec["tolerations"], json!([{"operator": "Exists"}]));
        let paths: Vec<&str> =
            spec["volumes"].as_array().into_iter().flatten().filter_map(|v| v["hostPath"]["path"].as_str()).collect();
        assert_eq!(paths, ["/", "/proc", "/sys"]);
        let c = container(ds, "node-exporter");
        assert!(c["volumeMounts"].as_array().into_iter().flatten().all(|m| m["readOnly"] == true));
        assert_eq!(c["ports"][0]["containerPort"], 9100);
        let ann = &ds.value["spec"]["template"]["metadata"]["annotations"];
        let why = ann[crate::common::pod::SECURITY_EXCEPTION_ANNOTATION].as_str().unwrap_or("");
        assert!(why.contains("hostNetwork") && why.contains("hostPID") && why.contains("hostPath"), "{why}");
        assert_eq!(ann["prometheus.io/port"], "9100");
    }

    #[test]
    fn every_container_has_requests_limits_and_runs_locked_down() {
        let objects = build(&PrometheusParams::default());
        for o in objects.iter().filter(|o| o.value["spec"]["template"].is_object()) {
            let spec = pod_spec(o);
            assert_eq!(spec["securityContext"]["runAsNonRoot"], true, "{}", o.key);
            assert_eq!(spec["securityContext"]["seccompProfile"]["type"], "RuntimeDefault", "{}", o.key);
            for c in spec["containers"].as_array().into_iter().flatten() {
                let at = format!("{}/{}", o.key, c["name"]);
                assert!(c["resources"]["requests"]["memory"].is_string(), "{at}");
                assert!(c["resources"]["requests"]["cpu"].is_string(), "{at}");
                assert!(c["resources"]["limits"]["memory"].is_string(), "{at}");
                assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true, "{at}");
                assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false, "{at}");
                assert_eq!(c["securityContext"]["capabilities"]["drop"], json!(["ALL"]), "{at}");
            }
            // The API token only where the pod talks to the API.
            let wants_token = ["prometheus.deploy", "ksm.deploy"].contains(&o.key.as_str());
            assert_eq!(spec["automountServiceAccountToken"], wants_token, "{}", o.key);
        }
    }

    #[test]
    fn scrape_annotations_name_ports_that_exist() {
        let objects = build(&PrometheusParams::default());
        let mut scraped = 0;
        for o in objects.iter().filter(|o| o.value["spec"]["template"].is_object()) {
            let ann = &o.value["spec"]["template"]["metadata"]["annotations"];
            if ann["prometheus.io/scrape"] != "true" {
                continue;
            }
            scraped += 1;
            let port: i64 = ann["prometheus.io/port"].as_str().and_then(|p| p.parse().ok()).expect("a port annotation");
            let declared = pod_spec(o)["containers"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|c| c["ports"].as_array().into_iter().flatten())
                .any(|p| p["containerPort"] == port);
            assert!(declared, "{} scrapes port {port} that no container declares", o.key);
            assert!(ann["prometheus.io/path"].as_str().is_some_and(|p| p.starts_with('/')), "{}", o.key);
        }
        assert_eq!(scraped, 5);
    }

    #[test]
    fn kube_state_metrics_may_list_everything_it_reports_on() {
        let objects = build(&PrometheusParams::default());
        let role = &find(&objects, "ksm.clusterRole").value;
        let allowed: Vec<String> = role["rules"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|r| r["resources"].as_array().cloned().unwrap_or_default())
            .filter_map(|r| r.as_str().map(str::to_string))
            .collect();
        let c = container(find(&objects, "ksm.deploy"), "ksm");
        let flag = args(c).into_iter().find_map(|a| a.strip_prefix("--resources=")).expect("--resources");
        for r in flag.split(',') {
            assert!(allowed.iter().any(|a| a == r), "no RBAC for `{r}`");
        }
        assert!(!allowed.iter().any(|a| a == "secrets"), "kube-state-metrics must not read Secrets");
        for rule in role["rules"].as_array().into_iter().flatten() {
            assert_eq!(rule["verbs"], json!(["list", "watch"]));
        }
        assert_eq!(pod_spec(find(&objects, "ksm.deploy"))["serviceAccountName"], "kube-state-metrics");
        let binding = &find(&objects, "ksm.clusterRoleBinding").value;
        assert_eq!(
            binding["subjects"][0],
            json!({"kind": "ServiceAccount", "name": "kube-state-metrics", "namespace": "kubeprod"})
        );
    }

    #[test]
    fn prometheus_rbac_is_read_only_discovery_and_metrics() {
        let objects = build(&PrometheusParams::default());
        let role = &find(&objects, "prometheus.prometheusRole").value;
        let text = role["rules"].to_string();
        assert!(
            text.contains("\"nodes/metrics\"") && text.contains("\"endpointslices\"") && text.contains("\"ingresses\""),
            "{text}"
        );
        assert!(!text.contains("nodes/proxy"), "nodes/proxy also reaches the kubelet's exec endpoints");
        for rule in role["rules"].as_array().into_iter().flatten() {
            for verb in rule["verbs"].as_array().into_iter().flatten() {
                assert!(["get", "list", "watch"].contains(&verb.as_str().unwrap_or("")), "{rule}");
            }
        }
    }

    #[test]
    fn blackbox_exporter_rolls_on_config_change_and_answers_probes() {
        let objects = build(&PrometheusParams::default());
        let cfg = data(&objects, "blackboxExporter.config", "blackbox.yml");
        assert!(cfg.contains("modules:\n  http_2xx:\n    http:\n"), "{cfg}");
        assert!(cfg.contains("    prober: http\n"), "{cfg}");
        let d = find(&objects, "blackboxExporter.deploy");
        let sum = d.value["spec"]["template"]["metadata"]["annotations"]["checksum/config"].as_str().unwrap_or("");
        assert_eq!(sum, sha256_hex(cfg));
        let svc = &find(&objects, "blackboxExporter.svc").value;
        assert_eq!(svc["spec"]["ports"][0]["port"], 9115);
        let yml = data(&objects, "prometheus.config", "prometheus.yml");
        assert!(yml.contains("replacement: blackbox-exporter.kubeprod.svc:9115\n"), "{yml}");
    }

    #[test]
    fn defaults_serialize_and_read_back() {
        let json = serde_json::to_value(PrometheusParams::default()).expect("serializes");
        assert_eq!(json["retention_days"], 183);
        assert_eq!(json["storage"], J::Null);
        assert_eq!(json["alertmanager"]["storage"], "5Gi");
        assert!(json.get("nodeExporter").is_some() && json.get("blackboxExporter").is_some());
        assert_eq!(json["am_config"]["receivers_"], json!({"email": {}}));
        let back: PrometheusParams = serde_json::from_value(json).expect("reads back");
        assert_eq!(back, PrometheusParams::default());
        assert!(serde_json::from_value::<PrometheusParams>(json!({"retension_days": 5})).is_err());
    }

    #[test]
    fn full_render_on_gke_passes_reference_checks_and_is_deterministic() {
        let s = stack(&[]);
        let a = s.render(&[&Prometheus, &FakeAuth]).unwrap_or_else(|e| panic!("{}", e.render()));
        let b = s.render(&[&Prometheus, &FakeAuth]).unwrap_or_else(|e| panic!("{}", e.render()));
        assert_eq!(a.to_yaml(), b.to_yaml());
        let objects = &a.objects;
        let ns = objects.iter().find(|o| o.kind() == "Namespace").expect("the namespace");
        assert_eq!(ns.name(), "kubeprod");
        // node-exporter needs the host: the namespace admits it.
        assert_eq!(ns.value["metadata"]["labels"]["pod-security.kubernetes.io/enforce"], "privileged");
        let sts = objects.iter().find(|o| o.kind() == "StatefulSet" && o.name() == "prometheus").expect("prometheus");
        assert_eq!(sts.value["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"], "standard-rwo");
    }

    #[test]
    fn full_render_with_oauth2_proxy_cert_manager_and_grafana_wires_together() {
        let s = stack(&[(
            "neighbours.yaml",
            "config:\n  contact_email: ops@example.com\noauth2_proxy:\n  email_domains: [example.com]\n",
        )]);
        let components: [&dyn crate::ErasedComponent; 4] = [
            &Prometheus,
            &crate::oauth2_proxy::Oauth2Proxy,
            &crate::cert_manager::CertManager,
            &crate::grafana::Grafana,
        ];
        let objects = s.render(&components).unwrap_or_else(|e| panic!("{}", e.render())).objects;
        let ing = objects.iter().find(|o| o.kind() == "Ingress" && o.name() == "prometheus").expect("the Ingress");
        let ann = &ing.value["metadata"]["annotations"];
        assert!(ann["cert-manager.io/cluster-issuer"].as_str().is_some_and(|i| i.starts_with("letsencrypt")), "{ann}");
        assert!(
            ann["nginx.ingress.kubernetes.io/auth-url"].as_str().is_some_and(|u| u.contains("example.com")),
            "{ann}"
        );
        // Grafana's datasource is the Service this component renders.
        let text =
            runway_core::emit::to_yaml_stream(objects.iter().filter(|o| o.component == "grafana").map(|o| &*o.value));
        assert!(text.contains("http://prometheus.kubeprod.svc:9090"), "grafana does not point at prometheus");
    }

    #[test]
    fn nested_object_keys_patch_sub_component_objects() {
        let s = stack(&[(
            "patch.yaml",
            "prometheus:\n  nodeExporter:\n    daemonset:\n      spec:\n        template:\n          spec:\n            priorityClassName: system-node-critical\n  alertmanager:\n    storage: 6Gi\n    deploy:\n      metadata:\n        annotations:\n          team: sre\n",
        )]);
        let objects = render(&s);
        let ds = objects.iter().find(|o| o.kind() == "DaemonSet").expect("node-exporter");
        assert_eq!(pod_spec(ds)["priorityClassName"], "system-node-critical");
        let am =
            objects.iter().find(|o| o.kind() == "StatefulSet" && o.name() == "alertmanager").expect("alertmanager");
        assert_eq!(am.value["metadata"]["annotations"]["team"], "sre");
        assert_eq!(am.value["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"], "6Gi");
    }

    #[test]
    fn without_the_ingress_no_dns_zone_or_login_is_needed() {
        let mut s = Stack::new();
        s.platform("onprem", "test").expect("onprem exists");
        s.layer("no-ui.yaml", SourceKind::File, "prometheus:\n  ingress: null\n").expect("parses");
        let objects = s.render(&[&Prometheus]).unwrap_or_else(|e| panic!("{}", e.render())).objects;
        assert!(objects.iter().all(|o| o.kind() != "Ingress"));
        let prom = objects.iter().find(|o| o.kind() == "StatefulSet" && o.name() == "prometheus").expect("prometheus");
        assert!(!args(&pod_spec(prom)["containers"][0]).iter().any(|a| a.starts_with("--web.external-url")));
        let am =
            objects.iter().find(|o| o.kind() == "StatefulSet" && o.name() == "alertmanager").expect("alertmanager");
        let a = args(&pod_spec(am)["containers"][0]);
        assert!(a.contains(&"--web.route-prefix=/alertmanager"), "{a:?}");
        assert!(!a.iter().any(|x| x.starts_with("--web.external-url")), "{a:?}");
    }

    #[test]
    fn without_the_blackbox_exporter_nothing_is_probed() {
        let s = stack(&[(
            "no-probes.yaml",
            "prometheus:\n  blackboxExporter:\n    deploy: null\n    svc: null\n    config: null\n",
        )]);
        let objects = render(&s);
        assert!(objects.iter().all(|o| !o.name().starts_with("blackbox")));
        let cm = objects.iter().find(|o| o.kind() == "ConfigMap" && o.name() == "prometheus").expect("config");
        let yml = cm.value["data"]["prometheus.yml"].as_str().unwrap_or("");
        assert!(!yml.contains("/probe") && !yml.contains("blackbox"), "{yml}");
        assert!(yml.contains("- job_name: kubernetes-pods\n"), "{yml}");
    }

    #[test]
    fn misspelled_parameter_gets_a_suggestion() {
        let s = stack(&[("typo.yaml", "prometheus:\n  retension_days: 30\n")]);
        let e = s.render(&[&Prometheus, &FakeAuth]).expect_err("unknown key");
        assert!(e.render().contains("retention_days"), "{}", e.render());
    }

    #[test]
    fn seed_override_storage_sizes_the_volume_and_retention() {
        let objects = render(&stack(&[("overrides/prometheus-storage.yaml", STORAGE_OVERRIDE)]));
        let sts = objects.iter().find(|o| o.kind() == "StatefulSet" && o.name() == "prometheus").expect("prometheus");
        let t = &sts.value["spec"]["volumeClaimTemplates"][0];
        assert_eq!(t["metadata"]["name"], "data");
        assert_eq!(t["spec"]["resources"]["requests"]["storage"], "16384Mi");
        let a = args(&sts.value["spec"]["template"]["spec"]["containers"][0]).join(" ");
        assert!(a.contains("--storage.tsdb.retention.time=366d"), "{a}");
        assert!(a.contains("--storage.tsdb.retention.size=13926MB"), "{a}");
    }

    #[test]
    fn seed_override_rules_add_an_alert_to_monitoring_rules() {
        let objects = render(&stack(&[("overrides/prometheus-rules.yaml", RULES_OVERRIDE)]));
        let cm = objects.iter().find(|o| o.kind() == "ConfigMap" && o.name() == "prometheus").expect("config");
        let monitoring = cm.value["data"]["monitoring.yaml"].as_str().unwrap_or("");
        assert!(monitoring.contains("- name: monitoring.rules\n"), "{monitoring}");
        let es = "  - alert: ElasticsearchDown\n    annotations:\n      description: Elasticsearch cluster quorum is not healthy\n      summary: Elasticsearch is unhealthy\n    expr: sum(elasticsearch_cluster_health_up) < 2\n    for: 10m\n    labels:\n      severity: critical\n";
        assert!(monitoring.contains(es), "{monitoring}");
        // BKPR's own alerts stay.
        assert!(monitoring.contains("  - alert: PrometheusBadConfig\n"), "{monitoring}");
        assert!(monitoring.contains("  - alert: AlertmanagerBadConfig\n"), "{monitoring}");
        assert!(cm.value["data"]["basic.yaml"].as_str().unwrap_or("").contains("K8sApiUnavailable"));
    }

    #[test]
    fn seed_override_receivers_email_both_addresses() {
        let objects = render(&stack(&[("overrides/alertmanager-receivers.yaml", RECEIVERS_OVERRIDE)]));
        let cm = objects.iter().find(|o| o.kind() == "ConfigMap" && o.name() == "alertmanager").expect("config");
        let cfg = cm.value["data"]["config.yml"].as_str().unwrap_or("");
        assert!(
            cfg.contains("receivers:\n- email_configs:\n  - to: my_email@my-domain.com\n  - to: your_email@my-domain.com\n  name: email\n"),
            "{cfg}"
        );
        assert!(cfg.contains("  receiver: email\n"), "{cfg}");
        assert!(cfg.contains("  smtp_from: alertmanager@example.com\n"), "{cfg}");

        // The seed's lines alone leave Alertmanager without an SMTP server: runway says so.
        let seed_only: String = RECEIVERS_OVERRIDE
            .lines()
            .take_while(|l| !l.contains("Not in BKPR's example"))
            .map(|l| format!("{l}\n"))
            .collect();
        let e = stack(&[("seed.yaml", &seed_only)]).render(&[&Prometheus, &FakeAuth]).expect_err("no smarthost");
        assert!(e.render().contains("smtp_smarthost"), "{}", e.render());
    }

    #[test]
    fn seed_override_alertmanager_storage_sizes_its_claims() {
        let objects = render(&stack(&[("overrides/alertmanager-storage.yaml", AM_STORAGE_OVERRIDE)]));
        let sts =
            objects.iter().find(|o| o.kind() == "StatefulSet" && o.name() == "alertmanager").expect("alertmanager");
        let t = &sts.value["spec"]["volumeClaimTemplates"][0];
        assert_eq!(t["metadata"]["name"], "storage", "PVCs storage-alertmanager-N");
        assert_eq!(t["spec"]["resources"]["requests"]["storage"], "9Gi");
        // Prometheus' own volume is untouched.
        let prom = objects.iter().find(|o| o.kind() == "StatefulSet" && o.name() == "prometheus").expect("prometheus");
        assert_eq!(prom.value["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"], "7905Mi");
    }

    const PROMETHEUS_RULE_CRD: &str =
        include_str!(concat!(env!("OUT_DIR"), "/crds/monitoring.coreos.com_prometheusrules.json"));

    fn operator_cx(mode: crate::context::MonitoringMode) -> Context {
        let mut cx = cx();
        cx.platform.monitoring = mode;
        cx
    }

    #[test]
    fn operator_mode_renders_rule_groups_as_a_prometheus_rule_that_its_crd_accepts() {
        let cx = operator_cx(crate::context::MonitoringMode::Operator);
        let p = with(|p| {
            p.rule_groups.insert(
                "elasticsearch.rules".into(),
                BTreeMap::from([(
                    "EsDown".into(),
                    AlertRule {
                        expr: "up == 0".into(),
                        for_: Some("5m".into()),
                        keep_firing_for: None,
                        labels: BTreeMap::new(),
                        annotations: BTreeMap::new(),
                    },
                )]),
            );
        });
        let objects = Prometheus::build(&p, &cx).expect("builds");
        let rules = find(&objects, "prometheus.rules");
        assert_eq!(rules.api_version(), "monitoring.coreos.com/v1");
        assert_eq!(rules.value["metadata"]["labels"]["release"], "kube-prometheus-stack");
        let names: Vec<&str> = rules.value["spec"]["groups"]
            .as_array()
            .expect("groups")
            .iter()
            .filter_map(|g| g["name"].as_str())
            .collect();
        assert_eq!(names, ["basic.rules", "elasticsearch.rules", "monitoring.rules"]);
        let validator = crate::common::testing::crd_validator(PROMETHEUS_RULE_CRD, "v1");
        let errors = crate::common::testing::schema_errors(&validator, &rules.value);
        assert!(errors.is_empty(), "{errors:#?}");
        // The validator is strict: a field the CRD lacks is an error.
        let mut bad = rules.value.clone();
        bad["spec"]["groups"][0]["rules"][0]["severity"] = json!("page");
        assert!(!crate::common::testing::schema_errors(&validator, &bad).is_empty());
    }

    #[test]
    fn operator_mode_monitors_every_endpoint_and_drops_the_annotations() {
        let cx = operator_cx(crate::context::MonitoringMode::Operator);
        let objects = Prometheus::build(&PrometheusParams::default(), &cx).expect("builds");
        for (key, kind) in [
            ("prometheus.serviceMonitor", "ServiceMonitor"),
            ("alertmanager.serviceMonitor", "ServiceMonitor"),
            ("nodeExporter.podMonitor", "PodMonitor"),
            ("ksm.podMonitor", "PodMonitor"),
            ("blackboxExporter.podMonitor", "PodMonitor"),
        ] {
            assert_eq!(find(&objects, key).kind(), kind, "{key}");
        }
        let am = find(&objects, "alertmanager.serviceMonitor");
        assert_eq!(am.value["spec"]["endpoints"][0]["path"], "/alertmanager/metrics");
        for o in objects.iter().filter(|o| o.value.ptr("/spec/template").is_some()) {
            let ann = &o.value["spec"]["template"]["metadata"]["annotations"];
            assert!(ann.get("prometheus.io/scrape").is_none(), "{} keeps its scrape annotation", o.key);
        }
    }

    #[test]
    fn annotations_mode_renders_no_operator_objects_and_both_mode_renders_both() {
        let objects = Prometheus::build(&PrometheusParams::default(), &cx()).expect("builds");
        assert!(objects.iter().all(|o| o.api_version() != "monitoring.coreos.com/v1"));
        let cx = operator_cx(crate::context::MonitoringMode::Both);
        let objects = Prometheus::build(&PrometheusParams::default(), &cx).expect("builds");
        assert_eq!(objects.iter().filter(|o| o.api_version() == "monitoring.coreos.com/v1").count(), 6);
        let sts = find(&objects, "prometheus.deploy");
        assert_eq!(sts.value["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"], "9090");
    }
}
