//! The logging Elasticsearch: the store fluentd writes to and Kibana reads, BKPR's
//! `elasticsearch` component rebuilt on the official image.
//!
//! # Adopting a BKPR install in place
//!
//! The StatefulSet's identity is immutable, so it is kept exactly as BKPR (kube.libsonnet)
//! rendered it: name `elasticsearch-logging`, `serviceName: elasticsearch-logging` (BKPR's
//! `svc`, a headless Service, which it still is), `podManagementPolicy: Parallel`, selector
//! `{name, k8s-app}: elasticsearch-logging`, and one volume claim template `data` whose
//! metadata is BKPR's (`labels: {name: data}`), so the PVCs `data-elasticsearch-logging-N`
//! are reused with their data. BKPR's object keys are kept for override files (`sts`,
//! `svc`, `serviceAccount`, `elasticsearchRole`, `elasticsearchBinding`,
//! `disruptionBudget`); so are its container names (`elasticsearch-logging`,
//! `prom-exporter`, the init container `elasticsearch-logging-init`).
//!
//! What changes on adoption, and what an operator does about it:
//! - Because BKPR's `elasticsearch-logging` Service is the headless one the StatefulSet
//!   names, that name stays headless (with `publishNotReadyAddresses`, as in BKPR), and
//!   the load-balanced client Service is new: `elasticsearch-logging-client`
//!   ([`CLIENT_SERVICE`]), which fluentd, Kibana and the retention job should use.
//! - The image moves from Bitnami's Elasticsearch 7.12 to the official 8.19. Elasticsearch
//!   only upgrades to 8.x from 7.17: set `image` to
//!   `docker.elastic.co/elasticsearch/elasticsearch:7.17.x` for one rollout first. The data
//!   volume was mounted at `/bitnami/elasticsearch/data` and owned by uid 1001; it is now
//!   mounted at `/usr/share/elasticsearch/data`, and `fsGroup: 1000` makes the kubelet hand
//!   the files to the new group on the first start.
//! - BKPR's ClusterRole and ClusterRoleBinding `elasticsearch-logging` become a namespaced
//!   Role and RoleBinding; its ConfigMap `java-elasticsearch-logging` (Bitnami's JVM
//!   security file) and its curator CronJob and ConfigMap `elasticsearch-curator` are not
//!   rendered (curator does not speak to Elasticsearch 8). Delete those four objects, or
//!   apply with `--prune`.
//! - Claim templates are immutable too, and BKPR's named no storage class. On a platform
//!   whose base sets `platform.storage_class`, adopt with `platform: {storage_class: null}`
//!   in an override (the existing claims keep the class they were created with).
//! - The PodDisruptionBudget moves from `maxUnavailable: 1` to `minAvailable`.
//! - BKPR applied with kubecfg, so `kubectl apply` has no last-applied state to diff
//!   against and would merge BKPR's leftovers into the new objects: its privileged init
//!   container, the container-level `runAsUser: 1001`, the `java-security` volume, and the
//!   PDB's `maxUnavailable` next to `minAvailable` (which the API server rejects). The first
//!   time, `kubectl replace` the StatefulSet and the PodDisruptionBudget (their immutable
//!   fields are unchanged, so replace is accepted); apply as usual afterwards.
//!
//! # Security
//!
//! Every container runs as non-root with all capabilities dropped, RuntimeDefault seccomp
//! and a read-only root filesystem; the pods pass the `restricted` Pod Security Standard
//! unless `sysctl_init_container` is on. Elasticsearch writes to its config directory (the
//! keystore), `logs/` (GC logs) and `/tmp` (native libraries), so those are emptyDirs: an
//! init container copies the image's `config/` into one (as Elastic's own operator does),
//! and `elasticsearch.yml` is mounted over it from the ConfigMap. X-Pack security is
//! disabled (the in-cluster logging store BKPR ran had no authentication either); the
//! NetworkPolicy of the namespace is what restricts who may connect.
//!
//! vm.max_map_count: by default Lucene does not mmap (`node.store.allow_mmap: false`), so
//! nothing privileged runs; `sysctl_init_container: true` adds a privileged init container
//! that raises it and turns mmap on, with a `runway.dev/security-exception` annotation.
//!
//! ulimits cannot be set from a pod spec. None needs to be: containerd gives containers a
//! hard `nofile` limit of at least 524288 and the JVM raises its soft limit to the hard
//! one, above Elasticsearch's bootstrap check of 65535; memory locking is not used.

mod params;

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetSpec, StatefulSetUpdateStrategy};
use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, JobSpec, JobTemplateSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, Container, PersistentVolumeClaim, PodSpec, PodTemplateSpec, Probe, Service,
    ServiceAccount, ServicePort, TCPSocketAction, Volume, VolumeMount,
};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use runway_core::{Error, Object};
use serde::Serialize;

pub use self::params::{ElasticsearchParams, DEFAULT_EXPORTER_IMAGE, DEFAULT_IMAGE, DEFAULT_RETENTION_IMAGE};
use crate::common::checksum::sha256_hex;
use crate::common::es_node::{self, ES_HOME, MAX_MAP_COUNT};
use crate::common::meta;
use crate::common::metrics::{MetricsEndpoint, Scrape};
use crate::common::pdb::{self, Budget};
use crate::common::pod::{container_port as port, empty_dir};
use crate::common::pod::{container_security, pod_security, SECURITY_EXCEPTION_ANNOTATION};
use crate::common::pod::{spread_over_nodes, spread_over_zones};
use crate::common::rbac::{self, Grant};
use crate::common::service::{tcp_port, PodService, ServiceKind};
use crate::common::storage::ClaimTemplate;
use crate::common::template::render_template;
use crate::component::{Component, ObjectDoc};
use crate::context::{Context, Published, ServiceRef};

/// The name of the StatefulSet, its headless Service, ServiceAccount, RBAC, ConfigMap and
/// PodDisruptionBudget (BKPR's).
pub const NAME: &str = "elasticsearch-logging";
/// The load-balanced Service clients use (`http://elasticsearch-logging-client:9200`).
pub const CLIENT_SERVICE: &str = "elasticsearch-logging-client";
/// The retention CronJob and its ConfigMap.
pub const RETENTION_NAME: &str = "elasticsearch-logging-retention";
/// The HTTP (REST) port.
pub const HTTP_PORT: i32 = 9200;
/// The transport port nodes talk to each other on.
pub const TRANSPORT_PORT: i32 = 9300;
/// The exporter's metrics port (its registered default).
pub const METRICS_PORT: i32 = 9114;
/// The index pattern fluentd writes (`logstash_format`, as in BKPR).
pub const INDEX_PATTERN: &str = "logstash-*";

/// The value of `app.kubernetes.io/component` on every object.
const COMPONENT_LABEL: &str = "elasticsearch";
/// BKPR's extra label; it is part of the StatefulSet's immutable selector.
const BKPR_APP_LABEL: &str = "k8s-app";
const ES_CONTAINER: &str = "elasticsearch-logging";
const EXPORTER_CONTAINER: &str = "prom-exporter";
const SYSCTL_CONTAINER: &str = "elasticsearch-logging-init";
const CONFIG_KEY: &str = "elasticsearch.yml";
const SCRIPT_KEY: &str = "retention.sh";
const RETENTION_POLICY: &str = "logstash-retention";
/// uid and gid of the official image (gid 0, as OpenShift expects).
const ES_UID: i64 = 1000;
const ES_GID: i64 = 0;
/// `curl_user` and its group in curlimages/curl.
const CURL_UID: i64 = 100;
const CURL_GID: i64 = 101;

const ES_CONFIG_TEMPLATE: &str = include_str!("templates/elasticsearch.yml.j2");
const RETENTION_TEMPLATE: &str = include_str!("templates/retention.sh.j2");

/// The logging Elasticsearch component.
pub struct Elasticsearch;

impl Component for Elasticsearch {
    const NAME: &'static str = "elasticsearch";
    const SUMMARY: &'static str =
        "Elasticsearch for logs (BKPR's elasticsearch-logging), with exporter and index retention";
    const OBJECTS: &'static [ObjectDoc] = &[
        ObjectDoc { key: "serviceAccount", kind: "ServiceAccount", doc: "the pods' identity; no API token mounted" },
        ObjectDoc {
            key: "elasticsearchRole",
            kind: "Role",
            doc: "read endpoints and endpointslices (discovery plugins; BKPR's key)",
        },
        ObjectDoc { key: "elasticsearchBinding", kind: "RoleBinding", doc: "binds the Role to the ServiceAccount" },
        ObjectDoc { key: "config", kind: "ConfigMap", doc: "elasticsearch.yml" },
        ObjectDoc { key: "retentionConfig", kind: "ConfigMap", doc: "the retention script" },
        ObjectDoc {
            key: "svc",
            kind: "Service",
            doc: "headless `elasticsearch-logging`: discovery, and the StatefulSet's serviceName",
        },
        ObjectDoc { key: "clientSvc", kind: "Service", doc: "`elasticsearch-logging-client`: ready nodes only" },
        ObjectDoc { key: "sts", kind: "StatefulSet", doc: "the nodes, with the exporter sidecar" },
        ObjectDoc {
            key: "podMonitor",
            kind: "PodMonitor",
            doc: "scrapes the exporter sidecar's `metrics` port (`platform.monitoring: operator` or `both`)",
        },
        ObjectDoc {
            key: "retentionCronJob",
            kind: "CronJob",
            doc: "daily ILM policy and index template for `logstash-*` retention",
        },
        ObjectDoc { key: "disruptionBudget", kind: "PodDisruptionBudget", doc: "keeps `min_master_nodes` nodes up" },
        ObjectDoc {
            key: "networkPolicy",
            kind: "NetworkPolicy",
            doc: "`elasticsearch-logging`: transport between nodes, HTTP from its clients",
        },
        ObjectDoc {
            key: "retentionNetworkPolicy",
            kind: "NetworkPolicy",
            doc: "`elasticsearch-logging-retention`: to Elasticsearch's HTTP port",
        },
    ];
    type Params = ElasticsearchParams;

    fn publish(_: &ElasticsearchParams, cx: &Context, published: &mut Published) {
        published.dashboards.push(crate::grafana::dashboards::ELASTICSEARCH);
        published.elasticsearch = Some(ServiceRef {
            name: CLIENT_SERVICE.to_string(),
            namespace: cx.namespace().to_string(),
            port: HTTP_PORT as u16,
        });
    }

    fn network(_: &ElasticsearchParams, _: &Context) -> Vec<crate::network::Flows> {
        use crate::network::Flows;
        vec![
            // Discovery lists pods through the API (the Role); nodes form a cluster on 9300.
            Flows::new("sts", "networkPolicy").to_local(NAME, TRANSPORT_PORT).to_api_server(),
            Flows::new("retentionCronJob", "retentionNetworkPolicy").to_local(CLIENT_SERVICE, HTTP_PORT),
        ]
    }

    fn waivers(_: &ElasticsearchParams, _: &Context) -> Vec<crate::waivers::Waiver> {
        use crate::waivers::{Check, Waiver};
        vec![
            Waiver::new(
                "sts",
                Check::HighUid,
                "the image's files and BKPR's data volumes belong to uid 1000 (elasticsearch)",
            ),
            Waiver::new(
                "sts",
                Check::ReadinessProbe,
                "the exporter sidecar has no readiness probe on purpose: it must never take a node out of its Services",
            ),
            Waiver::new(
                "retentionCronJob",
                Check::HighUid,
                "curlimages/curl runs as its curl_user (uid 100), whose home the image owns",
            ),
        ]
    }

    fn build(p: &ElasticsearchParams, cx: &Context) -> Result<Vec<Object>, Error> {
        p.validate()?;
        let ns = cx.namespace();
        let config = render_config(p, ns, true)?;
        let checksum = config_checksum(p, ns)?;
        let mut objects = vec![
            Object::new(Self::NAME, "serviceAccount", &service_account(ns)),
            Object::new(Self::NAME, "elasticsearchRole", &role(ns)),
            Object::new(Self::NAME, "elasticsearchBinding", &role_binding(ns)),
            Object::new(Self::NAME, "config", &config_map(NAME, ns, labels(), CONFIG_KEY, config)),
            Object::new(Self::NAME, "svc", &headless_service(ns)),
            Object::new(Self::NAME, "clientSvc", &client_service(ns)),
            Object::new(Self::NAME, "sts", &stateful_set(p, cx, &checksum)?),
            Object::new(Self::NAME, "disruptionBudget", &disruption_budget(p, ns)),
        ];
        if let Some(days) = p.retention() {
            let script = render_retention_script(days, ns)?;
            let cm = config_map(RETENTION_NAME, ns, retention_labels(), SCRIPT_KEY, script);
            objects.push(Object::new(Self::NAME, "retentionConfig", &cm));
            objects.push(Object::new(Self::NAME, "retentionCronJob", &retention_cron_job(p, ns)));
        }
        objects.extend(scrape(ns).monitor(Self::NAME, "podMonitor", cx));
        Ok(objects)
    }
}

/// Labels of every Elasticsearch object: runway's set plus BKPR's `k8s-app`.
fn labels() -> BTreeMap<String, String> {
    let mut l = meta::labels(NAME, COMPONENT_LABEL);
    l.insert(BKPR_APP_LABEL.into(), NAME.into());
    l
}

/// The pods' selector, BKPR's exactly (`name` and `k8s-app`): a StatefulSet's selector is
/// immutable, so anything else would refuse to adopt the existing one.
fn selector_labels() -> BTreeMap<String, String> {
    let mut l = meta::selector_labels(NAME);
    l.insert(BKPR_APP_LABEL.into(), NAME.into());
    l
}

/// Labels of the retention objects. Their pods must not carry the Elasticsearch
/// selector, or the Services would send traffic to them.
fn retention_labels() -> BTreeMap<String, String> {
    meta::labels(RETENTION_NAME, COMPONENT_LABEL)
}

fn metadata(name: &str, ns: &str) -> ObjectMeta {
    meta::namespaced(name, ns, labels())
}

/// `elasticsearch-logging-0` .. `elasticsearch-logging-{replicas-1}`.
fn pod_names(replicas: u32) -> Vec<String> {
    (0..replicas).map(|i| format!("{NAME}-{i}")).collect()
}

#[derive(Serialize)]
struct ConfigContext<'a> {
    cluster_name: &'a str,
    http_port: i32,
    transport_port: i32,
    data_path: String,
    seed_host: String,
    initial_master_nodes: Vec<String>,
    allow_mmap: bool,
}

/// Renders `elasticsearch.yml`; without `bootstrap`, the `cluster.initial_master_nodes`
/// list is left empty (see [`config_checksum`]).
fn render_config(p: &ElasticsearchParams, ns: &str, bootstrap: bool) -> Result<String, Error> {
    let cx = ConfigContext {
        cluster_name: &p.cluster_name,
        http_port: HTTP_PORT,
        transport_port: TRANSPORT_PORT,
        data_path: format!("{ES_HOME}/data"),
        seed_host: format!("{NAME}.{ns}.svc"),
        initial_master_nodes: if bootstrap { pod_names(p.replicas) } else { Vec::new() },
        allow_mmap: p.sysctl_init_container,
    };
    render_template("elasticsearch.yml.j2", ES_CONFIG_TEMPLATE, cx)
}

/// The `checksum/config` annotation: the sha256 of `elasticsearch.yml`, so that a config
/// change rolls the pods. The bootstrap list (`cluster.initial_master_nodes`, every pod's
/// name) is left out: a formed cluster ignores it, and new pods read the new ConfigMap
/// anyway, so scaling up or down does not restart every running node.
fn config_checksum(p: &ElasticsearchParams, ns: &str) -> Result<String, Error> {
    Ok(sha256_hex(&render_config(p, ns, false)?))
}

#[derive(Serialize)]
struct RetentionContext<'a> {
    es_url: String,
    days: u32,
    index_pattern: &'a str,
    policy: &'a str,
    template_priority: u32,
}

fn render_retention_script(days: u32, ns: &str) -> Result<String, Error> {
    let cx = RetentionContext {
        es_url: format!("http://{CLIENT_SERVICE}.{ns}.svc:{HTTP_PORT}"),
        days,
        index_pattern: INDEX_PATTERN,
        policy: RETENTION_POLICY,
        template_priority: 100,
    };
    render_template("retention.sh.j2", RETENTION_TEMPLATE, cx)
}

/// No API token is mounted: Elasticsearch discovers its peers through DNS.
fn service_account(ns: &str) -> ServiceAccount {
    rbac::service_account(metadata(NAME, ns), Some(false))
}

/// Read access to endpoints and endpointslices in the namespace. Elasticsearch itself
/// does not use it (discovery is DNS and the token is not mounted); it exists because
/// BKPR had it under this key, so override files that extend it keep working, and because
/// Kubernetes discovery plugins need exactly this once a user mounts the token.
fn role(ns: &str) -> Role {
    rbac::role(
        metadata(NAME, ns),
        vec![
            rbac::rule(&[""], &["endpoints"], rbac::READ),
            rbac::rule(&["discovery.k8s.io"], &["endpointslices"], rbac::READ),
        ],
    )
}

fn role_binding(ns: &str) -> RoleBinding {
    Grant { role: NAME, service_account: NAME, namespace: ns }.role_binding(metadata(NAME, ns))
}

fn config_map(name: &str, ns: &str, labels: BTreeMap<String, String>, key: &str, text: String) -> ConfigMap {
    ConfigMap {
        metadata: meta::namespaced(name, ns, labels),
        data: Some(BTreeMap::from([(key.to_string(), text)])),
        ..Default::default()
    }
}

fn service_ports() -> Vec<ServicePort> {
    vec![tcp_port("http", HTTP_PORT, "http"), tcp_port("transport", TRANSPORT_PORT, "transport")]
}

/// BKPR's `svc`: headless, and listing pods before they are ready, because nodes must
/// find each other (`discovery.seed_hosts`) before any of them can be ready. It is the
/// StatefulSet's `serviceName`, which gives the pods their stable DNS names.
fn headless_service(ns: &str) -> Service {
    PodService { kind: ServiceKind::HeadlessPublishingNotReady, selector: selector_labels(), ports: service_ports() }
        .build(metadata(NAME, ns))
}

/// The Service clients use: a cluster IP in front of ready nodes only.
fn client_service(ns: &str) -> Service {
    PodService { kind: ServiceKind::ClusterIp, selector: selector_labels(), ports: service_ports() }
        .build(metadata(CLIENT_SERVICE, ns))
}

/// `minAvailable` is the quorum, so evictions (node drains, cluster upgrades) stop before
/// the cluster would lose its elected master. With one replica this blocks every drain
/// until the pod is deleted by hand, which is the honest answer for a single-node store.
fn disruption_budget(p: &ElasticsearchParams, ns: &str) -> PodDisruptionBudget {
    pdb::disruption_budget(
        metadata(NAME, ns),
        Budget::MinAvailable(p.quorum() as i32),
        meta::selector(selector_labels()),
    )
}

fn config_map_volume(name: &str, config_map: &str, mode: Option<i32>) -> Volume {
    Volume {
        name: name.into(),
        config_map: Some(ConfigMapVolumeSource { name: config_map.into(), default_mode: mode, ..Default::default() }),
        ..Default::default()
    }
}

fn elasticsearch_container(p: &ElasticsearchParams) -> Container {
    es_node::NodeContainer {
        name: ES_CONTAINER,
        image: &p.image,
        heap_mib: p.heap_mib(),
        resources: &p.resources,
        http: ("http", HTTP_PORT),
        transport: ("transport", TRANSPORT_PORT),
        config_key: CONFIG_KEY,
    }
    .build()
}

fn exporter_container(p: &ElasticsearchParams) -> Container {
    Container {
        name: EXPORTER_CONTAINER.into(),
        image: Some(p.exporter_image.clone()),
        args: Some(vec![
            format!("--es.uri=http://localhost:{HTTP_PORT}"),
            "--es.timeout=20s".into(),
            format!("--web.listen-address=:{METRICS_PORT}"),
            "--web.telemetry-path=/metrics".into(),
        ]),
        ports: Some(vec![port("metrics", METRICS_PORT)]),
        resources: Some(p.exporter_resources.to_k8s()),
        security_context: Some(container_security(true)),
        // No readiness probe: the sidecar must never take the node out of its Services.
        // A TCP check, not `/metrics`: that waits on Elasticsearch, which may be slow.
        liveness_probe: Some(Probe {
            tcp_socket: Some(TCPSocketAction { port: IntOrString::String("metrics".into()), ..Default::default() }),
            period_seconds: Some(30),
            timeout_seconds: Some(5),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The exporter sidecar's metrics (`metrics` port).
pub fn scrape(ns: &str) -> Scrape {
    Scrape::pods(COMPONENT_LABEL, NAME, ns, selector_labels(), MetricsEndpoint::new("metrics", METRICS_PORT))
}

fn pod_annotations(p: &ElasticsearchParams, checksum: &str, cx: &Context) -> BTreeMap<String, String> {
    let mut a = scrape(cx.namespace()).annotations(cx);
    a.extend([
        ("checksum/config".to_string(), checksum.to_string()),
        ("kubectl.kubernetes.io/default-container".to_string(), ES_CONTAINER.to_string()),
    ]);
    if p.sysctl_init_container {
        a.insert(
            SECURITY_EXCEPTION_ANNOTATION.into(),
            format!(
                "init container `{SYSCTL_CONTAINER}` runs privileged as root to raise the node's vm.max_map_count \
                 to {MAX_MAP_COUNT} (not a namespaced sysctl), so that Elasticsearch may mmap its indices \
                 (`sysctl_init_container: true`)"
            ),
        );
    }
    a
}

fn stateful_set(p: &ElasticsearchParams, cx: &Context, checksum: &str) -> Result<StatefulSet, Error> {
    let ns = cx.namespace();
    let selector = meta::selector(selector_labels());
    let mut init_containers = Vec::new();
    if p.sysctl_init_container {
        init_containers.push(es_node::sysctl_container(SYSCTL_CONTAINER, &p.image));
    }
    init_containers.push(es_node::copy_config_container(&p.image));
    let replicas = i32::try_from(p.replicas).map_err(|_| Error::invalid("replicas is too large"))?;

    let pod = PodSpec {
        service_account_name: Some(NAME.into()),
        security_context: Some(pod_security(ES_UID, ES_GID, ES_UID)),
        // Room to finish in-flight requests and hand shards over cleanly.
        termination_grace_period_seconds: Some(120),
        affinity: Some(spread_over_nodes(&selector, 100)),
        topology_spread_constraints: Some(vec![spread_over_zones(&selector, &cx.platform.zone_label)]),
        init_containers: Some(init_containers),
        containers: vec![elasticsearch_container(p), exporter_container(p)],
        volumes: Some(vec![
            config_map_volume("config", NAME, None),
            empty_dir("config-dir"),
            empty_dir("logs"),
            empty_dir("tmp"),
        ]),
        ..Default::default()
    };

    let mut template_labels = labels();
    template_labels.extend(selector_labels());
    Ok(StatefulSet {
        metadata: metadata(NAME, ns),
        spec: Some(StatefulSetSpec {
            replicas: Some(replicas),
            service_name: Some(NAME.into()),
            selector,
            pod_management_policy: Some("Parallel".into()),
            update_strategy: Some(StatefulSetUpdateStrategy {
                type_: Some("RollingUpdate".into()),
                ..Default::default()
            }),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(template_labels),
                    annotations: Some(pod_annotations(p, checksum, cx)),
                    ..Default::default()
                }),
                spec: Some(pod),
            },
            volume_claim_templates: Some(vec![data_claim_template(p, cx)]),
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// The `data` claim template. Its metadata is BKPR's to the letter (`labels: {name:
/// data}`): claim templates are immutable, so adding runway's labels here would make the
/// API server refuse to update an adopted StatefulSet. The claims still get the pods'
/// selector labels from the StatefulSet controller.
fn data_claim_template(p: &ElasticsearchParams, cx: &Context) -> PersistentVolumeClaim {
    ClaimTemplate { name: "data", size: &p.storage, storage_class: cx.storage_class(), name_label: true }.build()
}

/// Runs the retention script daily. It only talks to Elasticsearch, so it gets no API
/// token, and a failed run stays visible as a failed Job (no restarts in place).
fn retention_cron_job(p: &ElasticsearchParams, ns: &str) -> CronJob {
    let pod = PodSpec {
        restart_policy: Some("Never".into()),
        automount_service_account_token: Some(false),
        security_context: Some(pod_security(CURL_UID, CURL_GID, CURL_GID)),
        containers: vec![Container {
            name: "retention".into(),
            image: Some(p.retention_image.clone()),
            command: Some(vec!["/bin/sh".into(), format!("/scripts/{SCRIPT_KEY}")]),
            resources: Some(es_node::small_resources().to_k8s()),
            security_context: Some(container_security(true)),
            volume_mounts: Some(vec![VolumeMount {
                name: "scripts".into(),
                mount_path: "/scripts".into(),
                read_only: Some(true),
                ..Default::default()
            }]),
            ..Default::default()
        }],
        volumes: Some(vec![config_map_volume("scripts", RETENTION_NAME, Some(0o555))]),
        ..Default::default()
    };
    CronJob {
        metadata: meta::namespaced(RETENTION_NAME, ns, retention_labels()),
        spec: Some(CronJobSpec {
            schedule: p.retention_schedule.clone(),
            time_zone: Some("Etc/UTC".into()),
            concurrency_policy: Some("Forbid".into()),
            starting_deadline_seconds: Some(3600),
            successful_jobs_history_limit: Some(3),
            failed_jobs_history_limit: Some(3),
            job_template: JobTemplateSpec {
                metadata: Some(ObjectMeta { labels: Some(retention_labels()), ..Default::default() }),
                spec: Some(JobSpec {
                    backoff_limit: Some(3),
                    active_deadline_seconds: Some(1800),
                    template: PodTemplateSpec {
                        metadata: Some(ObjectMeta { labels: Some(retention_labels()), ..Default::default() }),
                        spec: Some(pod),
                    },
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::testing;
    use crate::common::testing::{find, path_of};
    use crate::quantity::Quantity;

    fn build(p: &ElasticsearchParams) -> Vec<Object> {
        Elasticsearch::build(p, &Context::default()).expect("default parameters build")
    }

    fn with(f: impl FnOnce(&mut ElasticsearchParams)) -> ElasticsearchParams {
        testing::with(f)
    }

    fn error_of(p: &ElasticsearchParams) -> Error {
        Elasticsearch::build(p, &Context::default()).expect_err("parameters are rejected")
    }

    #[test]
    fn default_build_has_bkpr_names_and_keys() {
        let objects = build(&ElasticsearchParams::default());
        let got: Vec<(&str, &str, &str)> = objects.iter().map(|o| (o.key.as_str(), o.kind(), o.name())).collect();
        assert_eq!(
            got,
            [
                ("serviceAccount", "ServiceAccount", "elasticsearch-logging"),
                ("elasticsearchRole", "Role", "elasticsearch-logging"),
                ("elasticsearchBinding", "RoleBinding", "elasticsearch-logging"),
                ("config", "ConfigMap", "elasticsearch-logging"),
                ("svc", "Service", "elasticsearch-logging"),
                ("clientSvc", "Service", "elasticsearch-logging-client"),
                ("sts", "StatefulSet", "elasticsearch-logging"),
                ("disruptionBudget", "PodDisruptionBudget", "elasticsearch-logging"),
                ("retentionConfig", "ConfigMap", "elasticsearch-logging-retention"),
                ("retentionCronJob", "CronJob", "elasticsearch-logging-retention"),
            ]
        );
        for o in &objects {
            assert_eq!(o.namespace(), "kubeprod", "{}", o.key);
            assert_eq!(o.component, "elasticsearch");
            assert!(
                ["v1", "apps/v1", "policy/v1", "batch/v1", "rbac.authorization.k8s.io/v1"].contains(&o.api_version()),
                "{} uses {}",
                o.key,
                o.api_version()
            );
            let labels = &o.value["metadata"]["labels"];
            assert_eq!(labels["app.kubernetes.io/component"], "elasticsearch", "{}", o.key);
            assert_eq!(labels["app.kubernetes.io/managed-by"], "runway", "{}", o.key);
        }
        let sts = &find(&objects, "sts").value;
        assert_eq!(sts["spec"]["replicas"], 3);
        assert_eq!(sts["spec"]["podManagementPolicy"], "Parallel");
        assert_eq!(sts["spec"]["serviceName"], "elasticsearch-logging");
        assert_eq!(
            sts["spec"]["selector"]["matchLabels"],
            serde_json::json!({"name": "elasticsearch-logging", "k8s-app": "elasticsearch-logging"})
        );
    }

    #[test]
    fn sts_service_name_is_the_headless_service() {
        let objects = build(&ElasticsearchParams::default());
        let sts = &find(&objects, "sts").value;
        let svc = objects
            .iter()
            .find(|o| o.kind() == "Service" && o.name() == sts["spec"]["serviceName"])
            .expect("serviceName names a rendered Service");
        assert_eq!(svc.key, "svc");
        assert_eq!(svc.value["spec"]["clusterIP"], "None");
        assert_eq!(svc.value["spec"]["publishNotReadyAddresses"], true);
        let client = &find(&objects, "clientSvc").value;
        assert!(client["spec"].get("clusterIP").is_none());
        for s in [&svc.value, client] {
            let ports: Vec<(&str, i64)> = s["spec"]["ports"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| (p["name"].as_str().unwrap_or(""), p["port"].as_i64().unwrap_or(0)))
                .collect();
            assert_eq!(ports, [("http", 9200), ("transport", 9300)]);
        }
    }

    #[test]
    fn pvc_template_is_bkprs_data_claim() {
        let objects = build(&ElasticsearchParams::default());
        let vct = &find(&objects, "sts").value["spec"]["volumeClaimTemplates"];
        assert_eq!(vct.as_array().map(Vec::len), Some(1));
        assert_eq!(vct[0]["metadata"]["name"], "data");
        assert_eq!(vct[0]["metadata"]["labels"], serde_json::json!({"name": "data"}));
        assert_eq!(vct[0]["spec"]["accessModes"], serde_json::json!(["ReadWriteOnce"]));
        assert_eq!(vct[0]["spec"]["resources"]["requests"]["storage"], "100Gi");
        let mounts = &find(&objects, "sts").value["spec"]["template"]["spec"]["containers"][0]["volumeMounts"];
        assert!(mounts.as_array().into_iter().flatten().any(|m| m["name"] == "data"));
    }

    #[test]
    fn storage_class_omitted_when_platform_has_none() {
        let objects = build(&ElasticsearchParams::default());
        let spec = &find(&objects, "sts").value["spec"]["volumeClaimTemplates"][0]["spec"];
        assert!(spec.get("storageClassName").is_none());

        let mut cx = Context::default();
        cx.platform.storage_class = Some("premium-rwo".into());
        let objects = Elasticsearch::build(&ElasticsearchParams::default(), &cx).expect("builds");
        let spec = &find(&objects, "sts").value["spec"]["volumeClaimTemplates"][0]["spec"];
        assert_eq!(spec["storageClassName"], "premium-rwo");
    }

    #[test]
    fn quorum_is_derived_as_a_majority() {
        for (replicas, quorum) in [(1, 1), (3, 2), (4, 3), (5, 3), (7, 4)] {
            let p = with(|p| p.replicas = replicas);
            assert_eq!(p.quorum(), quorum, "replicas {replicas}");
            let objects = build(&p);
            assert_eq!(find(&objects, "disruptionBudget").value["spec"]["minAvailable"], quorum);
        }
    }

    #[test]
    fn explicit_min_master_nodes_sets_the_disruption_budget() {
        let objects = build(&with(|p| {
            p.replicas = 5;
            p.min_master_nodes = Some(4);
        }));
        let pdb = &find(&objects, "disruptionBudget").value["spec"];
        assert_eq!(pdb["minAvailable"], 4);
        assert!(pdb.get("maxUnavailable").is_none());
    }

    #[test]
    fn split_brain_min_master_nodes_is_an_error() {
        let e = error_of(&with(|p| {
            p.replicas = 5;
            p.min_master_nodes = Some(2);
        }));
        assert_eq!(path_of(&e), "elasticsearch.min_master_nodes");
        assert!(e.to_string().contains("allows split brain"), "{e}");
        assert!(e.helps().iter().any(|h| h.contains("`3`")), "{:?}", e.helps());

        // Half of an even cluster is not a majority either.
        let e = error_of(&with(|p| {
            p.replicas = 4;
            p.min_master_nodes = Some(2);
        }));
        assert!(e.to_string().contains("allows split brain"), "{e}");
    }

    #[test]
    fn min_master_nodes_above_replicas_is_an_error() {
        let e = error_of(&with(|p| p.min_master_nodes = Some(4)));
        assert_eq!(path_of(&e), "elasticsearch.min_master_nodes");
        assert!(e.to_string().contains("could never be met"), "{e}");
    }

    #[test]
    fn zero_replicas_is_an_error() {
        assert_eq!(path_of(&error_of(&with(|p| p.replicas = 0))), "elasticsearch.replicas");
    }

    #[test]
    fn heap_over_limit_is_an_error() {
        let e = error_of(&with(|p| p.heap = Quantity::from("1600Mi")));
        assert_eq!(path_of(&e), "elasticsearch.heap");
        assert!(e.to_string().contains("75%"), "{e}");
        assert!(e.helps().iter().any(|h| h.contains("2134Mi") && h.contains("1536Mi")), "{:?}", e.helps());
        // Exactly 75% is allowed.
        build(&with(|p| p.heap = Quantity::from("1536Mi")));
    }

    #[test]
    fn heap_sets_equal_xms_and_xmx() {
        let objects = build(&with(|p| p.heap = Quantity::from("1.5Gi")));
        let env = &find(&objects, "sts").value["spec"]["template"]["spec"]["containers"][0]["env"];
        let opts = env.as_array().into_iter().flatten().find(|e| e["name"] == "ES_JAVA_OPTS").expect("ES_JAVA_OPTS");
        assert_eq!(opts["value"], "-Xms1536m -Xmx1536m");
        assert_eq!(path_of(&error_of(&with(|p| p.heap = Quantity::from("1G")))), "elasticsearch.heap");
    }

    #[test]
    fn request_over_limit_is_an_error() {
        let e = error_of(&with(|p| p.resources = crate::common::pod::Resources::new("500m", "4Gi", None, "2Gi")));
        assert_eq!(path_of(&e), "elasticsearch.resources");
    }

    #[test]
    fn every_container_has_requests_and_limits_and_runs_locked_down() {
        let objects = build(&with(|p| p.sysctl_init_container = false));
        for key in ["sts", "retentionCronJob"] {
            let v = &find(&objects, key).value;
            let pod = if key == "sts" {
                &v["spec"]["template"]["spec"]
            } else {
                &v["spec"]["jobTemplate"]["spec"]["template"]["spec"]
            };
            assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{key}");
            let containers = pod["containers"].as_array().into_iter().flatten();
            let inits = pod["initContainers"].as_array().into_iter().flatten();
            for c in containers.chain(inits) {
                let name = &c["name"];
                assert!(c["resources"]["requests"]["memory"].is_string(), "{key}/{name}");
                assert!(c["resources"]["limits"]["memory"].is_string(), "{key}/{name}");
                assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true, "{key}/{name}");
                assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false, "{key}/{name}");
                assert_eq!(c["securityContext"]["capabilities"]["drop"], serde_json::json!(["ALL"]), "{key}/{name}");
            }
        }
    }

    #[test]
    fn sysctl_init_container_is_privileged_and_says_why() {
        let default = build(&ElasticsearchParams::default());
        let tpl = &find(&default, "sts").value["spec"]["template"];
        assert!(tpl["metadata"]["annotations"].get(SECURITY_EXCEPTION_ANNOTATION).is_none());
        let inits: Vec<&str> =
            tpl["spec"]["initContainers"].as_array().into_iter().flatten().filter_map(|c| c["name"].as_str()).collect();
        assert_eq!(inits, ["copy-config"]);
        let config = find(&default, "config").value["data"]["elasticsearch.yml"].as_str().unwrap_or("").to_string();
        assert!(config.contains("node.store.allow_mmap: false"), "{config}");

        let objects = build(&with(|p| p.sysctl_init_container = true));
        let tpl = &find(&objects, "sts").value["spec"]["template"];
        let why = tpl["metadata"]["annotations"][SECURITY_EXCEPTION_ANNOTATION].as_str().unwrap_or("");
        assert!(why.contains("vm.max_map_count"), "{why}");
        let init = &tpl["spec"]["initContainers"][0];
        assert_eq!(init["name"], "elasticsearch-logging-init");
        assert_eq!(init["securityContext"]["privileged"], true);
        let config = find(&objects, "config").value["data"]["elasticsearch.yml"].as_str().unwrap_or("").to_string();
        assert!(config.contains("node.store.allow_mmap: true"), "{config}");
    }

    #[test]
    fn config_lists_every_pod_as_initial_master_and_seeds_from_headless_dns() {
        let objects = build(&with(|p| p.replicas = 5));
        let config = find(&objects, "config").value["data"]["elasticsearch.yml"].as_str().unwrap_or("").to_string();
        for i in 0..5 {
            assert!(config.contains(&format!("  - \"elasticsearch-logging-{i}\"\n")), "{config}");
        }
        assert!(!config.contains("elasticsearch-logging-5"), "{config}");
        assert!(config.contains("  - \"elasticsearch-logging.kubeprod.svc\"\n"), "{config}");
        assert!(config.contains("cluster.name: \"elasticsearch-cluster\"\n"), "{config}");
        assert!(config.contains("xpack.security.enabled: false\n"), "{config}");
        assert!(!config.contains("minimum_master_nodes"), "{config}");
        assert!(!config.contains("{{") && !config.contains("{%"), "{config}");
    }

    #[test]
    fn config_checksum_changes_when_config_changes() {
        let checksum = |p: &ElasticsearchParams| {
            let objects = build(p);
            let sts = &find(&objects, "sts").value;
            let sum = sts["spec"]["template"]["metadata"]["annotations"]["checksum/config"].as_str().unwrap_or("");
            assert_eq!(sum.len(), 64);
            sum.to_string()
        };
        let base = checksum(&ElasticsearchParams::default());
        assert_eq!(base, checksum(&ElasticsearchParams::default()), "deterministic");
        assert_ne!(base, checksum(&with(|p| p.cluster_name = "logs".into())));
        assert_ne!(base, checksum(&with(|p| p.sysctl_init_container = true)));
        // The bootstrap list changes with `replicas`, but a formed cluster ignores it:
        // scaling must not restart every node.
        assert_eq!(base, checksum(&with(|p| p.replicas = 5)));
        // Not a config change: the heap is an environment variable.
        assert_eq!(base, checksum(&with(|p| p.heap = Quantity::from("768Mi"))));
    }

    #[test]
    fn retention_disabled_drops_the_cron_job() {
        for days in [Some(0), None] {
            let objects = build(&with(|p| p.retention_days = days));
            assert!(objects.iter().all(|o| o.kind() != "CronJob"), "{days:?}");
            assert!(objects.iter().all(|o| o.key != "retentionConfig"), "{days:?}");
        }
    }

    #[test]
    fn retention_job_puts_policy_template_and_settings() {
        let objects = build(&with(|p| p.retention_days = Some(14)));
        let script = find(&objects, "retentionConfig").value["data"]["retention.sh"].as_str().unwrap_or("").to_string();
        assert!(script.starts_with("#!/bin/sh\n"), "{script}");
        assert!(script.contains("set -eu\n"), "{script}");
        assert!(script.contains("--fail-with-body"), "{script}");
        assert!(script.contains("ES_URL=\"http://elasticsearch-logging-client.kubeprod.svc:9200\""), "{script}");
        assert!(script.contains("put \"/_ilm/policy/logstash-retention\""), "{script}");
        assert!(script.contains("\"min_age\":\"14d\",\"actions\":{\"delete\":{}}"), "{script}");
        assert!(script.contains("put \"/_index_template/logstash-retention\""), "{script}");
        assert!(script.contains("\"index_patterns\":[\"logstash-*\"]"), "{script}");
        assert!(script.contains("put \"/logstash-*/_settings?allow_no_indices=true\""), "{script}");
        // Every JSON body is valid JSON.
        for line in script.lines().filter(|l| l.starts_with("put ")) {
            let body = line.split('\'').nth(1).expect("a quoted body");
            serde_json::from_str::<serde_json::Value>(body).unwrap_or_else(|e| panic!("{e}: {body}"));
        }

        let cj = &find(&objects, "retentionCronJob").value["spec"];
        assert_eq!(cj["concurrencyPolicy"], "Forbid");
        assert_eq!(cj["schedule"], "30 1 * * *");
        let pod = &cj["jobTemplate"]["spec"]["template"]["spec"];
        assert_eq!(pod["automountServiceAccountToken"], false);
        assert_eq!(pod["containers"][0]["image"], DEFAULT_RETENTION_IMAGE);
        assert_eq!(pod["volumes"][0]["configMap"]["name"], "elasticsearch-logging-retention");
    }

    #[test]
    fn bad_schedule_cluster_name_and_image_are_errors() {
        let e = error_of(&with(|p| p.retention_schedule = "daily".into()));
        assert_eq!(path_of(&e), "elasticsearch.retention_schedule");
        let e = error_of(&with(|p| p.cluster_name = "my cluster".into()));
        assert_eq!(path_of(&e), "elasticsearch.cluster_name");
        let e = error_of(&with(|p| p.exporter_image = String::new()));
        assert_eq!(path_of(&e), "elasticsearch.exporter_image");
    }

    #[test]
    fn every_object_round_trips() {
        for sysctl in [false, true] {
            let mut cx = Context::default();
            cx.platform.storage_class = Some("standard".into());
            for mut o in Elasticsearch::build(&with(|p| p.sysctl_init_container = sysctl), &cx).expect("builds") {
                let before = o.value.clone();
                o.check_round_trip().unwrap_or_else(|e| panic!("{}: {e}", o.key));
                assert_eq!(before, o.value, "{} changed in the round trip", o.key);
            }
        }
    }

    #[test]
    fn service_selectors_match_the_pod_template_labels() {
        let objects = build(&ElasticsearchParams::default());
        let sts = &find(&objects, "sts").value;
        let pod_labels = sts["spec"]["template"]["metadata"]["labels"].as_object().expect("pod labels");
        let matches = |selector: &serde_json::Value| {
            let sel = selector.as_object().expect("a selector");
            !sel.is_empty() && sel.iter().all(|(k, v)| pod_labels.get(k) == Some(v))
        };
        for key in ["svc", "clientSvc"] {
            assert!(matches(&find(&objects, key).value["spec"]["selector"]), "{key}");
        }
        assert!(matches(&sts["spec"]["selector"]["matchLabels"]));
        assert!(matches(&find(&objects, "disruptionBudget").value["spec"]["selector"]["matchLabels"]));
        let anti = &sts["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"];
        let term = &anti["preferredDuringSchedulingIgnoredDuringExecution"][0]["podAffinityTerm"];
        assert!(matches(&term["labelSelector"]["matchLabels"]));
        assert_eq!(term["topologyKey"], "kubernetes.io/hostname");
        let spread = &sts["spec"]["template"]["spec"]["topologySpreadConstraints"][0];
        assert!(matches(&spread["labelSelector"]["matchLabels"]));
        assert_eq!(spread["topologyKey"], "topology.kubernetes.io/zone");
        assert_eq!(spread["whenUnsatisfiable"], "ScheduleAnyway");

        // The retention pods are not selected by the Elasticsearch Services.
        let cj = &find(&objects, "retentionCronJob").value;
        let job_labels = &cj["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"];
        let svc_selector = find(&objects, "svc").value["spec"]["selector"].as_object().cloned().unwrap_or_default();
        assert!(!svc_selector.iter().all(|(k, v)| job_labels.get(k) == Some(v)));
    }

    #[test]
    fn exporter_sidecar_is_scraped_on_9114() {
        let objects = build(&ElasticsearchParams::default());
        let tpl = &find(&objects, "sts").value["spec"]["template"];
        assert_eq!(tpl["metadata"]["annotations"]["prometheus.io/scrape"], "true");
        assert_eq!(tpl["metadata"]["annotations"]["prometheus.io/port"], "9114");
        let exporter = &tpl["spec"]["containers"][1];
        assert_eq!(exporter["name"], "prom-exporter");
        assert_eq!(exporter["image"], DEFAULT_EXPORTER_IMAGE);
        assert_eq!(
            exporter["ports"][0],
            serde_json::json!({"name": "metrics", "containerPort": 9114, "protocol": "TCP"})
        );
        assert!(exporter.get("readinessProbe").is_none());
    }

    #[test]
    fn probes_and_grace_period() {
        let objects = build(&ElasticsearchParams::default());
        let spec = &find(&objects, "sts").value["spec"]["template"]["spec"];
        assert_eq!(spec["terminationGracePeriodSeconds"], 120);
        let es = &spec["containers"][0];
        assert_eq!(es["readinessProbe"]["httpGet"]["path"], "/_cluster/health?local=true");
        assert_eq!(es["readinessProbe"]["httpGet"]["port"], "http");
        assert_eq!(es["livenessProbe"]["tcpSocket"]["port"], "transport");
        assert!(
            es["startupProbe"]["failureThreshold"].as_i64().unwrap_or(0)
                * es["startupProbe"]["periodSeconds"].as_i64().unwrap_or(0)
                >= 300
        );
        assert_eq!(spec["securityContext"]["runAsUser"], 1000);
        assert_eq!(spec["securityContext"]["runAsGroup"], 0);
        assert_eq!(spec["securityContext"]["fsGroup"], 1000);
    }

    #[test]
    fn defaults_serialize_and_read_back() {
        let json = serde_json::to_value(ElasticsearchParams::default()).expect("serializes");
        assert_eq!(json["retention_days"], 30);
        assert_eq!(json["min_master_nodes"], serde_json::Value::Null);
        let back: ElasticsearchParams = serde_json::from_value(json).expect("reads back");
        assert_eq!(back, ElasticsearchParams::default());
        let partial: ElasticsearchParams = serde_json::from_value(serde_json::json!({"replicas": 5})).expect("partial");
        assert_eq!(partial.replicas, 5);
        assert!(serde_json::from_value::<ElasticsearchParams>(serde_json::json!({"replica": 5})).is_err());
    }
}
