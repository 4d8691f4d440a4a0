//! The log collector: fluentd on every node, reading container and system logs and
//! writing them to the logging Elasticsearch, BKPR's `fluentd_es` component rebuilt on the
//! Fluentd project's DaemonSet image.
//!
//! # What it collects
//!
//! - Container logs: `/var/log/containers/*.log`, the kubelet's links into `/var/log/pods`
//!   (containerd, CRI-O) or `/var/lib/docker/containers` (Docker Engine). Both formats,
//!   Docker's JSON lines and CRI's `TIME STREAM TAG MESSAGE`, are read into the same
//!   fields (`log`, `stream`); CRI lines the runtime split at 16 KiB are joined again,
//!   stack traces become one record, and every record gets its pod's metadata from the
//!   API server (namespace, pod, labels with dots replaced, container image, node).
//! - System logs (`system_logs`): the journal of the kubelet, the container runtime and
//!   node-problem-detector, kernel messages, and the files some platforms still write
//!   (`kube-proxy.log`, `startupscript.log`, ...).
//!
//! Records go to Elasticsearch's client Service (published by the `elasticsearch`
//! component; rendering `fluentd_es` without it is an error, as BKPR's `es: error
//! "elasticsearch is required"` was) as daily `logstash-YYYY.MM.DD` indices, whose
//! retention the elasticsearch component manages with ILM. Metrics are served on 24231.
//!
//! # Configuration
//!
//! As in BKPR, the configuration is split into files: `fluent.conf` in the ConfigMap
//! `fluentd-es` (key `fluentd_es_conf`), including `system.conf`, `monitoring.conf`,
//! `containers.input.conf`, `system.input.conf` and `output.conf` from the ConfigMap
//! `fluentd-es-configd` (key `fluentd_es_configd`). They are rendered from
//! `templates/*.j2`. The pod template carries their sha256 (`checksum/config`), so a
//! configuration change rolls the pods: BKPR never delivered the SIGHUP its fluentd needed.
//! An operator's own `*.filter.conf` added to `fluentd-es-configd` is included before
//! the output.
//!
//! # Adopting a BKPR install in place
//!
//! The DaemonSet keeps BKPR's name, namespace and immutable selector (`name:
//! fluentd-es`), its container name `fluentd-es` (the seed's `containers_+: {fluentd_es+:
//! ...}` override reaches it), its volume names, and its host paths: the position files
//! in `/var/log/fluentd-pos` (so no file is read twice) and the buffer in
//! `/var/log/fluentd-buffers` (so chunks that were waiting are still sent). BKPR's object
//! keys are kept for override files. The configuration directory moves from Bitnami's
//! `/opt/bitnami/fluentd/conf` to the image's `/fluentd/etc` and `/fluentd/config.d`.
//!
//! # Security
//!
//! Reading other containers' log files (root-owned, mode 0640) and the journal, and
//! keeping positions on the host, is what a log collector is for: the container runs as
//! uid 0, but with every capability dropped (so root's privileges are those of the files'
//! owner, nothing more), no privilege escalation, RuntimeDefault seccomp and a read-only
//! root filesystem. The host's log directories are mounted read-only; only the position
//! and buffer directories are writable. The pod template's `runway.dev/security-exception`
//! annotation says so, and the hostPath volumes put the namespace at the `privileged` Pod
//! Security level. The API token is mounted: the metadata filter reads pods and
//! namespaces (a ClusterRole with get, list and watch on them, nothing else).

mod params;

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMap, ConfigMapVolumeSource, Container, ContainerPort, EmptyDirVolumeSource, EnvVar,
    EnvVarSource, HTTPGetAction, HostPathVolumeSource, ObjectFieldSelector, PodSecurityContext, PodSpec, Probe,
    SecurityContext, ServiceAccount, Toleration, Volume,
};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use runway_core::{Error, KeyPath, Object};
use serde::Serialize;

pub use self::params::{FluentdEsParams, LogLevel, DEFAULT_IMAGE};
use crate::common::checksum::named_sha256;
use crate::common::meta;
use crate::common::metrics::{MetricsEndpoint, Scrape};
use crate::common::pod::runtime_default_seccomp;
use crate::common::pod::{mount, read_only_mount};
use crate::common::pod::{Resources, SECURITY_EXCEPTION_ANNOTATION};
use crate::common::rbac::{self, Grant};
use crate::common::template::render_template;
use crate::component::{Component, ObjectDoc};
use crate::context::{Context, Published, ServiceRef};

/// The name of the DaemonSet, its ConfigMap, ServiceAccount and RBAC objects (BKPR's).
pub const NAME: &str = "fluentd-es";
/// The ConfigMap of the included files (BKPR's).
pub const CONFIGD_NAME: &str = "fluentd-es-configd";
/// The container's name (BKPR's; override files address it as `fluentd_es`).
pub const CONTAINER: &str = "fluentd-es";
/// The Prometheus metrics port.
pub const METRICS_PORT: i32 = 24231;
/// The metrics path.
pub const METRICS_PATH: &str = "/metrics";
/// The index prefix: indices are `logstash-YYYY.MM.DD`, as BKPR wrote them and as the
/// elasticsearch component's retention manages them (`logstash-*`).
pub const INDEX_PREFIX: &str = "logstash";
/// Position files on the host (BKPR's), so a restarted or replaced pod resumes each file.
pub const POS_DIR: &str = "/var/log/fluentd-pos";
/// The output's file buffer on the host (BKPR's), so a restart loses no waiting chunk.
pub const BUFFER_DIR: &str = "/var/log/fluentd-buffers";

/// The value of `app.kubernetes.io/component` on every object.
const COMPONENT_LABEL: &str = "fluentd-es";
const TMP_INIT_CONTAINER: &str = "tmp-permissions";
const CONFIG_DIR: &str = "/fluentd/etc";
/// Not under `/fluentd/etc`: a volume mounted inside a read-only ConfigMap mount needs a
/// mount point the runtime cannot create there.
const CONFIGD_DIR: &str = "/fluentd/config.d";
const MAIN_CONFIG_KEY: &str = "fluent.conf";
const LOG_DIR: &str = "/var/log";
const CONTAINERS_DIR: &str = "/var/log/containers";
const DOCKER_CONTAINERS_DIR: &str = "/var/lib/docker/containers";
const JOURNAL_DIR: &str = "/var/log/journal";
const NODE_NAME_ENV: &str = "K8S_NODE_NAME";
/// The major version of the Elasticsearch the output talks to (the elasticsearch
/// component's image, and the plugin set of the image).
const ES_MAJOR: u32 = 8;
/// Kubernetes components that may log to `/var/log/<name>.log` in klog's format.
const KLOG_FILES: &[&str] = &[
    "kubelet",
    "kube-proxy",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "cluster-autoscaler",
    "glbc",
];
/// Journal units: `(unit, tag, position file)`; BKPR's position files where it had them.
const JOURNAL_UNITS: &[(&str, &str, &str)] = &[
    ("kubelet.service", "kubelet", "journald-kubelet.pos"),
    ("containerd.service", "containerd", "journald-containerd.pos"),
    ("crio.service", "crio", "journald-crio.pos"),
    ("docker.service", "docker", "journald-docker.pos"),
    ("node-problem-detector.service", "node-problem-detector", "journald-node-problem-detector.pos"),
];

const FLUENT_CONF: &str = include_str!("templates/fluent.conf.j2");
const SYSTEM_CONF: &str = include_str!("templates/system.conf.j2");
const MONITORING_CONF: &str = include_str!("templates/monitoring.conf.j2");
const CONTAINERS_INPUT_CONF: &str = include_str!("templates/containers.input.conf.j2");
const SYSTEM_INPUT_CONF: &str = include_str!("templates/system.input.conf.j2");
const OUTPUT_CONF: &str = include_str!("templates/output.conf.j2");

/// The log collector component.
pub struct FluentdEs;

impl Component for FluentdEs {
    const NAME: &'static str = "fluentd_es";
    const SUMMARY: &'static str =
        "fluentd on every node (BKPR's fluentd-es): container and system logs into Elasticsearch";
    const OBJECTS: &'static [ObjectDoc] = &[
        ObjectDoc {
            key: "serviceAccount",
            kind: "ServiceAccount",
            doc: "the pods' identity; its token is mounted for the metadata filter",
        },
        ObjectDoc { key: "fluentdRole", kind: "ClusterRole", doc: "get, list and watch pods and namespaces" },
        ObjectDoc {
            key: "fluentdBinding",
            kind: "ClusterRoleBinding",
            doc: "binds the ClusterRole to the ServiceAccount",
        },
        ObjectDoc {
            key: "fluentd_es_conf",
            kind: "ConfigMap",
            doc: "`fluentd-es`: fluent.conf, which includes the rest",
        },
        ObjectDoc {
            key: "fluentd_es_configd",
            kind: "ConfigMap",
            doc: "`fluentd-es-configd`: system, monitoring, inputs and output; add `*.filter.conf` files here",
        },
        ObjectDoc { key: "daemonset", kind: "DaemonSet", doc: "fluentd on every node, tolerating every taint" },
        ObjectDoc {
            key: "podMonitor",
            kind: "PodMonitor",
            doc: "scrapes fluentd's `metrics` port (`platform.monitoring: operator` or `both`)",
        },
        ObjectDoc {
            key: "networkPolicy",
            kind: "NetworkPolicy",
            doc: "`fluentd-es`: to Elasticsearch and the API server",
        },
    ];
    type Params = FluentdEsParams;

    fn publish(_: &FluentdEsParams, _: &Context, published: &mut Published) {
        published.dashboards.push(crate::grafana::dashboards::FLUENTD);
    }

    fn network(_: &FluentdEsParams, cx: &Context) -> Vec<crate::network::Flows> {
        use crate::network::Flows;
        // The kubernetes_metadata filter reads pods and namespaces from the API.
        let mut f = Flows::new("daemonset", "networkPolicy").to_api_server();
        if let Some(es) = &cx.published.elasticsearch {
            f = f.to_service(es);
        }
        vec![f]
    }

    fn waivers(_: &FluentdEsParams, _: &Context) -> Vec<crate::waivers::Waiver> {
        use crate::waivers::{Check, Waiver};
        vec![
            Waiver::new("daemonset", Check::HighUid, "runs as root to read every container's logs under /var/log (see runway.dev/security-exception)"),
            Waiver::new("daemonset", Check::RootContainer, "reads the node's container logs under /var/log, which only root may read (see runway.dev/security-exception)"),
        ]
    }

    fn build(p: &FluentdEsParams, cx: &Context) -> Result<Vec<Object>, Error> {
        p.validate()?;
        let es = elasticsearch_of(cx)?;
        let ns = cx.namespace();
        let files = render_files(p, ns, es)?;
        let checksum = config_checksum(&files);
        let (main, included): (Vec<_>, Vec<_>) = files.into_iter().partition(|(k, _)| k == MAIN_CONFIG_KEY);
        let scrape = scrape(ns);
        let mut objects = vec![
            Object::new(Self::NAME, "serviceAccount", &service_account(ns)),
            Object::new(Self::NAME, "fluentdRole", &cluster_role()),
            Object::new(Self::NAME, "fluentdBinding", &cluster_role_binding(ns)),
            Object::new(Self::NAME, "fluentd_es_conf", &config_map(NAME, ns, main)),
            Object::new(Self::NAME, "fluentd_es_configd", &config_map(CONFIGD_NAME, ns, included)),
            Object::new(Self::NAME, "daemonset", &daemon_set(p, ns, &checksum, &scrape.annotations(cx))),
        ];
        objects.extend(scrape.monitor(Self::NAME, "podMonitor", cx));
        Ok(objects)
    }
}

/// fluentd's metrics (the `prometheus` source of monitoring.conf), on every pod.
pub fn scrape(ns: &str) -> Scrape {
    Scrape::pods(
        COMPONENT_LABEL,
        NAME,
        ns,
        meta::selector_labels(NAME),
        MetricsEndpoint::new("metrics", METRICS_PORT).path(METRICS_PATH),
    )
}

/// The Elasticsearch Service to write to, or BKPR's "elasticsearch is required" as an
/// error that says what to do.
fn elasticsearch_of(cx: &Context) -> Result<&ServiceRef, Error> {
    cx.published.elasticsearch.as_ref().ok_or_else(|| {
        Error::invalid("`fluentd_es` ships logs to Elasticsearch, but `elasticsearch` is not rendered")
            .help("render `elasticsearch` too (add it to the stack's `components:`), or leave `fluentd_es` out")
            .note("BKPR's fluentd_es had the same requirement (`es: error \"elasticsearch is required\"`)")
            .with_path(KeyPath::root().key(FluentdEs::NAME))
    })
}

fn labels() -> BTreeMap<String, String> {
    meta::labels(NAME, COMPONENT_LABEL)
}

fn metadata(name: &str, ns: &str) -> ObjectMeta {
    meta::namespaced(name, ns, labels())
}

#[derive(Serialize)]
struct JournalUnit {
    unit: &'static str,
    tag: &'static str,
    pos_file: &'static str,
}

/// Everything the templates may refer to.
#[derive(Serialize)]
struct ConfigContext<'a> {
    name: &'a str,
    namespace: &'a str,
    configd_name: &'a str,
    configd_dir: &'a str,
    system_logs: bool,
    log_level: &'a str,
    metrics_port: i32,
    metrics_path: &'a str,
    node_name_env: &'a str,
    log_dir: &'a str,
    containers_dir: &'a str,
    journal_dir: &'a str,
    pos_dir: &'a str,
    buffer_dir: &'a str,
    buffer_bytes: u64,
    self_pods: String,
    klog_files: &'a [&'a str],
    journal_units: Vec<JournalUnit>,
    es_host: String,
    es_port: u16,
    es_major: u32,
    index_prefix: &'a str,
}

/// The configuration files, `(file name, text)`, in the order fluent.conf includes them
/// (fluent.conf first).
fn render_files(p: &FluentdEsParams, ns: &str, es: &ServiceRef) -> Result<Vec<(String, String)>, Error> {
    let cx = ConfigContext {
        name: NAME,
        namespace: ns,
        configd_name: CONFIGD_NAME,
        configd_dir: CONFIGD_DIR,
        system_logs: p.system_logs,
        log_level: p.log_level.as_str(),
        metrics_port: METRICS_PORT,
        metrics_path: METRICS_PATH,
        node_name_env: NODE_NAME_ENV,
        log_dir: LOG_DIR,
        containers_dir: CONTAINERS_DIR,
        journal_dir: JOURNAL_DIR,
        pos_dir: POS_DIR,
        buffer_dir: BUFFER_DIR,
        buffer_bytes: p.buffer_bytes(),
        self_pods: format!("{NAME}-*"),
        klog_files: KLOG_FILES,
        journal_units: JOURNAL_UNITS.iter().map(|&(unit, tag, pos_file)| JournalUnit { unit, tag, pos_file }).collect(),
        es_host: es.host(),
        es_port: es.port,
        es_major: ES_MAJOR,
        index_prefix: INDEX_PREFIX,
    };
    let mut templates = vec![
        (MAIN_CONFIG_KEY, FLUENT_CONF),
        ("system.conf", SYSTEM_CONF),
        ("monitoring.conf", MONITORING_CONF),
        ("containers.input.conf", CONTAINERS_INPUT_CONF),
    ];
    if p.system_logs {
        templates.push(("system.input.conf", SYSTEM_INPUT_CONF));
    }
    templates.push(("output.conf", OUTPUT_CONF));
    templates
        .into_iter()
        .map(|(file, source)| Ok((file.to_string(), render_template(&format!("{file}.j2"), source, &cx)?)))
        .collect()
}

/// The sha256 of every file with its name, in include order.
fn config_checksum(files: &[(String, String)]) -> String {
    named_sha256(files.iter().map(|(name, text)| (name.as_str(), text.as_str())))
}

fn config_map(name: &str, ns: &str, files: Vec<(String, String)>) -> ConfigMap {
    ConfigMap { metadata: metadata(name, ns), data: Some(files.into_iter().collect()), ..Default::default() }
}

/// Its token is mounted (the default, said explicitly): the metadata filter calls the API.
fn service_account(ns: &str) -> ServiceAccount {
    rbac::service_account(metadata(NAME, ns), Some(true))
}

/// What the kubernetes_metadata filter reads (BKPR's rules).
fn cluster_role() -> ClusterRole {
    rbac::cluster_role(
        meta::cluster_scoped(NAME, labels()),
        vec![rbac::rule(&[""], &["namespaces", "pods"], rbac::READ)],
    )
}

fn cluster_role_binding(ns: &str) -> ClusterRoleBinding {
    Grant { role: NAME, service_account: NAME, namespace: ns }
        .cluster_role_binding(meta::cluster_scoped(NAME, labels()))
}

fn host_path(name: &str, path: &str, type_: &str) -> Volume {
    Volume {
        name: name.into(),
        host_path: Some(HostPathVolumeSource { path: path.into(), type_: Some(type_.into()) }),
        ..Default::default()
    }
}

fn config_map_volume(name: &str, config_map: &str) -> Volume {
    Volume {
        name: name.into(),
        config_map: Some(ConfigMapVolumeSource { name: config_map.into(), ..Default::default() }),
        ..Default::default()
    }
}

/// Root without privileges: uid 0 owns the files it reads and writes on the host, and
/// with every capability dropped it can do nothing else (no DAC override, no chown, no
/// raw sockets).
fn root_without_capabilities() -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        privileged: Some(false),
        read_only_root_filesystem: Some(true),
        run_as_user: Some(0),
        run_as_group: Some(0),
        run_as_non_root: Some(false),
        capabilities: Some(Capabilities { drop: Some(vec!["ALL".into()]), ..Default::default() }),
        seccomp_profile: Some(runtime_default_seccomp()),
        ..Default::default()
    }
}

fn metrics_probe(period: i32, failures: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(METRICS_PATH.into()),
            port: IntOrString::String("metrics".into()),
            scheme: Some("HTTP".into()),
            ..Default::default()
        }),
        period_seconds: Some(period),
        timeout_seconds: Some(5),
        failure_threshold: Some(failures),
        ..Default::default()
    }
}

fn fluentd_container(p: &FluentdEsParams) -> Container {
    let mut mounts =
        vec![read_only_mount("varlog", LOG_DIR), mount("varlogpos", POS_DIR), mount("varlogbuffers", BUFFER_DIR)];
    if p.docker_logs {
        mounts.push(read_only_mount("varlibdockercontainers", DOCKER_CONTAINERS_DIR));
    }
    mounts.extend([
        read_only_mount("config", CONFIG_DIR),
        read_only_mount("configd", CONFIGD_DIR),
        mount("tmp", "/tmp"),
    ]);
    Container {
        name: CONTAINER.into(),
        image: Some(p.image.clone()),
        env: Some(vec![
            EnvVar { name: "FLUENTD_CONF".into(), value: Some(MAIN_CONFIG_KEY.into()), ..Default::default() },
            // Older images of this family rewrite their config file with sed at startup;
            // it is a read-only ConfigMap here.
            EnvVar {
                name: "FLUENT_ELASTICSEARCH_SED_DISABLE".into(),
                value: Some("true".into()),
                ..Default::default()
            },
            EnvVar {
                name: NODE_NAME_ENV.into(),
                value_from: Some(EnvVarSource {
                    field_ref: Some(ObjectFieldSelector {
                        api_version: Some("v1".into()),
                        field_path: "spec.nodeName".into(),
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            },
        ]),
        ports: Some(vec![ContainerPort {
            name: Some("metrics".into()),
            container_port: METRICS_PORT,
            protocol: Some("TCP".into()),
            ..Default::default()
        }]),
        resources: Some(p.resources.to_k8s()),
        security_context: Some(root_without_capabilities()),
        volume_mounts: Some(mounts),
        // The metrics endpoint answers as soon as the plugins have started, whatever
        // Elasticsearch's state: fluentd buffers meanwhile, and a restart would not help.
        readiness_probe: Some(metrics_probe(10, 3)),
        liveness_probe: Some(Probe { initial_delay_seconds: Some(30), ..metrics_probe(30, 4) }),
        ..Default::default()
    }
}

/// Makes `/tmp` (an emptyDir, mode 0777) sticky: Ruby refuses a world-writable temporary
/// directory without the sticky bit, and the root filesystem is read-only.
fn tmp_permissions_container(p: &FluentdEsParams) -> Container {
    Container {
        name: TMP_INIT_CONTAINER.into(),
        image: Some(p.image.clone()),
        command: Some(vec!["chmod".into(), "1777".into(), "/tmp".into()]),
        resources: Some(Resources::new("10m", "16Mi", None, "32Mi").to_k8s()),
        security_context: Some(root_without_capabilities()),
        volume_mounts: Some(vec![mount("tmp", "/tmp")]),
        ..Default::default()
    }
}

fn pod_annotations(p: &FluentdEsParams, checksum: &str, scrape: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let host_logs = if p.docker_logs { format!("{LOG_DIR} and {DOCKER_CONTAINERS_DIR}") } else { LOG_DIR.to_string() };
    let mut a = scrape.clone();
    a.extend([
        ("checksum/config".to_string(), checksum.to_string()),
        ("kubectl.kubernetes.io/default-container".to_string(), CONTAINER.to_string()),
        (
            SECURITY_EXCEPTION_ANNOTATION.to_string(),
            format!(
                "runs as uid 0, with every capability dropped, to read the node's container and journal logs \
                 (root-owned, mode 0640) through read-only hostPath mounts of {host_logs}, and to keep its read positions and output buffer on the node \
                 (hostPath {POS_DIR} and {BUFFER_DIR}), so that a restarted pod neither loses nor repeats logs"
            ),
        ),
    ]);
    a
}

fn daemon_set(p: &FluentdEsParams, ns: &str, checksum: &str, scrape: &BTreeMap<String, String>) -> DaemonSet {
    let mut volumes = vec![
        host_path("varlog", LOG_DIR, "Directory"),
        host_path("varlogpos", POS_DIR, "DirectoryOrCreate"),
        host_path("varlogbuffers", BUFFER_DIR, "DirectoryOrCreate"),
    ];
    if p.docker_logs {
        // Created empty on nodes without Docker, so that one pod template fits every node.
        volumes.push(host_path("varlibdockercontainers", DOCKER_CONTAINERS_DIR, "DirectoryOrCreate"));
    }
    volumes.extend([
        config_map_volume("config", NAME),
        config_map_volume("configd", CONFIGD_NAME),
        Volume { name: "tmp".into(), empty_dir: Some(EmptyDirVolumeSource::default()), ..Default::default() },
    ]);
    let pod = PodSpec {
        service_account_name: Some(NAME.into()),
        automount_service_account_token: Some(true),
        priority_class_name: p.priority_class_name.clone(),
        security_context: Some(PodSecurityContext {
            run_as_user: Some(0),
            run_as_group: Some(0),
            run_as_non_root: Some(false),
            seccomp_profile: Some(runtime_default_seccomp()),
            ..Default::default()
        }),
        // Every node, tainted or not (control planes, GPU and spot pools): their logs too.
        tolerations: Some(vec![Toleration { operator: Some("Exists".into()), ..Default::default() }]),
        // Time to flush in-memory state; the file buffer survives anyway.
        termination_grace_period_seconds: Some(30),
        init_containers: Some(vec![tmp_permissions_container(p)]),
        containers: vec![fluentd_container(p)],
        volumes: Some(volumes),
        ..Default::default()
    };
    let selector = meta::selector(meta::selector_labels(NAME));
    crate::common::daemon_set::rolling(
        metadata(NAME, ns),
        selector,
        IntOrString::Int(1),
        crate::common::daemon_set::pod_template(labels(), pod_annotations(p, checksum, scrape), pod),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::testing::{self as testing, data_file as file};
    use crate::common::testing::{find, path_of};
    use crate::elasticsearch::{Elasticsearch, CLIENT_SERVICE, INDEX_PATTERN};
    use crate::quantity::Quantity;
    use crate::stack::Stack;
    use runway_core::SourceKind;

    fn cx() -> Context {
        let mut cx = Context::default();
        cx.published.elasticsearch =
            Some(ServiceRef { name: CLIENT_SERVICE.into(), namespace: "kubeprod".into(), port: 9200 });
        cx
    }

    fn build(p: &FluentdEsParams) -> Vec<Object> {
        FluentdEs::build(p, &cx()).expect("parameters build")
    }

    fn with(f: impl FnOnce(&mut FluentdEsParams)) -> FluentdEsParams {
        testing::with(f)
    }

    fn error_of(p: &FluentdEsParams) -> Error {
        FluentdEs::build(p, &cx()).expect_err("parameters are rejected")
    }

    fn pod(objects: &[Object]) -> &serde_json::Value {
        &find(objects, "daemonset").value["spec"]["template"]["spec"]
    }

    fn mounts(objects: &[Object]) -> Vec<(String, String, bool)> {
        pod(objects)["containers"][0]["volumeMounts"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| {
                (
                    m["name"].as_str().unwrap_or("").to_string(),
                    m["mountPath"].as_str().unwrap_or("").to_string(),
                    m["readOnly"].as_bool().unwrap_or(false),
                )
            })
            .collect()
    }

    /// Every `<section ...>` has its `</section>`, properly nested (fluentd refuses the
    /// file otherwise); comment lines are skipped.
    fn assert_sections_balanced(name: &str, text: &str) {
        let mut open: Vec<String> = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.starts_with('#') || !line.starts_with('<') || !line.ends_with('>') {
                continue;
            }
            if let Some(closing) = line.strip_prefix("</") {
                let tag = closing.trim_end_matches('>');
                assert_eq!(open.pop().as_deref(), Some(tag), "{name}:{}: unexpected `{line}`", n + 1);
            } else {
                let tag = line[1..].split([' ', '>']).next().unwrap_or("").to_string();
                open.push(tag);
            }
        }
        assert!(open.is_empty(), "{name}: unclosed {open:?}");
    }

    #[test]
    fn default_build_has_bkpr_names_and_keys() {
        let objects = build(&FluentdEsParams::default());
        let got: Vec<(&str, &str, &str)> = objects.iter().map(|o| (o.key.as_str(), o.kind(), o.name())).collect();
        assert_eq!(
            got,
            [
                ("serviceAccount", "ServiceAccount", "fluentd-es"),
                ("fluentdRole", "ClusterRole", "fluentd-es"),
                ("fluentdBinding", "ClusterRoleBinding", "fluentd-es"),
                ("fluentd_es_conf", "ConfigMap", "fluentd-es"),
                ("fluentd_es_configd", "ConfigMap", "fluentd-es-configd"),
                ("daemonset", "DaemonSet", "fluentd-es"),
            ]
        );
        for o in &objects {
            let cluster_scoped = o.kind().starts_with("ClusterRole");
            assert_eq!(o.namespace(), if cluster_scoped { "" } else { "kubeprod" }, "{}", o.key);
            assert!(["v1", "apps/v1", "rbac.authorization.k8s.io/v1"].contains(&o.api_version()), "{}", o.key);
            assert_eq!(o.value["metadata"]["labels"]["app.kubernetes.io/managed-by"], "runway", "{}", o.key);
            assert!(FluentdEs::OBJECTS.iter().any(|d| d.key == o.key && d.kind == o.kind()), "{} undocumented", o.key);
        }
        let ds = &find(&objects, "daemonset").value["spec"];
        // BKPR's selector, immutable: anything else would refuse to adopt the DaemonSet.
        assert_eq!(ds["selector"]["matchLabels"], serde_json::json!({"name": "fluentd-es"}));
        assert_eq!(ds["template"]["metadata"]["labels"]["name"], "fluentd-es");
        assert_eq!(ds["updateStrategy"]["type"], "RollingUpdate");
        let c = &pod(&objects)["containers"][0];
        assert_eq!(c["name"], "fluentd-es");
        assert_eq!(c["image"], DEFAULT_IMAGE);
    }

    #[test]
    fn missing_elasticsearch_is_an_error_with_help() {
        let e = FluentdEs::build(&FluentdEsParams::default(), &Context::default()).expect_err("needs elasticsearch");
        assert!(e.to_string().contains("`elasticsearch` is not rendered"), "{e}");
        assert_eq!(path_of(&e), "fluentd_es");
        assert!(e.helps().iter().any(|h| h.contains("render `elasticsearch` too")), "{:?}", e.helps());
    }

    #[test]
    fn output_writes_logstash_indices_to_the_published_service() {
        let mut cx = cx();
        cx.published.elasticsearch =
            Some(ServiceRef { name: "es-client".into(), namespace: "logs".into(), port: 9201 });
        let objects = FluentdEs::build(&FluentdEsParams::default(), &cx).expect("builds");
        let out = file(&objects, "fluentd_es_configd", "output.conf");
        assert!(out.contains("    host es-client.logs.svc\n"), "{out}");
        assert!(out.contains("    port 9201\n"), "{out}");
        assert!(out.contains("    logstash_format true\n    logstash_prefix logstash\n"), "{out}");
        assert!(out.contains("    default_elasticsearch_version 8\n"), "{out}");
        assert!(out.contains("    verify_es_version_at_startup false\n"), "{out}");
        // The retention job of the elasticsearch component owns logstash-*'s template.
        assert!(!out.contains("template_name") && !out.contains("template_file"), "{out}");
        assert_eq!(format!("{INDEX_PREFIX}-*"), INDEX_PATTERN);
        assert!(out.contains("      path /var/log/fluentd-buffers/kubernetes.system.buffer\n"), "{out}");
        assert!(out.contains("      total_limit_size 536870912\n"), "{out}");
        assert!(out.contains("      overflow_action block\n"), "{out}");
    }

    #[test]
    fn main_config_includes_the_split_files_in_routing_order() {
        let objects = build(&FluentdEsParams::default());
        let main = file(&objects, "fluentd_es_conf", "fluent.conf");
        let includes: Vec<&str> = main.lines().filter_map(|l| l.strip_prefix("@include ")).collect();
        assert_eq!(
            includes,
            [
                "/fluentd/config.d/system.conf",
                "/fluentd/config.d/monitoring.conf",
                "/fluentd/config.d/containers.input.conf",
                "/fluentd/config.d/system.input.conf",
                "/fluentd/config.d/output.conf",
            ]
        );
        let configd = find(&objects, "fluentd_es_configd").value["data"].as_object().expect("data").clone();
        let keys: Vec<&str> = configd.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["containers.input.conf", "monitoring.conf", "output.conf", "system.conf", "system.input.conf"]
        );
        for (name, text) in
            configd.iter().chain(find(&objects, "fluentd_es_conf").value["data"].as_object().into_iter().flatten())
        {
            let text = text.as_str().unwrap_or("");
            assert!(!text.contains("{{") && !text.contains("{%"), "{name} has template syntax left");
            assert_sections_balanced(name, text);
        }
    }

    #[test]
    fn container_input_reads_docker_and_cri_formats_and_skips_its_own_logs() {
        let objects = build(&FluentdEsParams::default());
        let input = file(&objects, "fluentd_es_configd", "containers.input.conf");
        assert!(input.contains("  path /var/log/containers/*.log\n"), "{input}");
        assert!(input.contains("  exclude_path [\"/var/log/containers/fluentd-es-*_kubeprod_*.log\"]\n"), "{input}");
        assert!(input.contains("  pos_file /var/log/fluentd-pos/es-containers.log.pos\n"), "{input}");
        assert!(input.contains("    @type multi_format\n"), "{input}");
        assert!(input.contains("      format json\n"), "{input}");
        assert!(input.contains("(?<stream>stdout|stderr) (?<logtag>[^ ]*) (?<log>.*)$/"), "{input}");
        assert!(input.contains("  partial_key logtag\n  partial_value P\n"), "{input}");
        assert!(input.contains("  @type detect_exceptions\n"), "{input}");
        assert!(input.contains("    @type kubernetes_metadata\n"), "{input}");
        assert!(input.contains("    @type dedot\n"), "{input}");
        let monitoring = file(&objects, "fluentd_es_configd", "monitoring.conf");
        assert!(monitoring.contains("  port 24231\n  metrics_path /metrics\n"), "{monitoring}");
        assert!(monitoring.contains("node \"#{ENV['K8S_NODE_NAME']}\""), "{monitoring}");
    }

    #[test]
    fn system_logs_off_leaves_out_the_system_inputs() {
        let objects = build(&with(|p| p.system_logs = false));
        let main = file(&objects, "fluentd_es_conf", "fluent.conf");
        assert!(!main.contains("system.input.conf"), "{main}");
        assert!(find(&objects, "fluentd_es_configd").value["data"].get("system.input.conf").is_none());

        let objects = build(&FluentdEsParams::default());
        let system = file(&objects, "fluentd_es_configd", "system.input.conf");
        for unit in ["kubelet.service", "containerd.service", "crio.service", "docker.service"] {
            assert!(system.contains(&format!("matches [{{ \"_SYSTEMD_UNIT\": \"{unit}\" }}]")), "{unit}: {system}");
        }
        assert!(system.contains("  path /var/log/kube-proxy.log\n"), "{system}");
        assert!(system.contains("    path /var/log/fluentd-pos/journald-kubelet.pos\n"), "{system}");
    }

    #[test]
    fn pod_reads_host_logs_read_only_and_keeps_positions_on_the_host() {
        let objects = build(&FluentdEsParams::default());
        assert_eq!(
            mounts(&objects),
            [
                ("varlog".to_string(), "/var/log".to_string(), true),
                ("varlogpos".into(), "/var/log/fluentd-pos".into(), false),
                ("varlogbuffers".into(), "/var/log/fluentd-buffers".into(), false),
                ("varlibdockercontainers".into(), "/var/lib/docker/containers".into(), true),
                ("config".into(), "/fluentd/etc".into(), true),
                ("configd".into(), "/fluentd/config.d".into(), true),
                ("tmp".into(), "/tmp".into(), false),
            ]
        );
        let volumes = &pod(&objects)["volumes"];
        let host: Vec<(&str, &str)> = volumes
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| Some((v["hostPath"]["path"].as_str()?, v["hostPath"]["type"].as_str()?)))
            .collect();
        assert_eq!(
            host,
            [
                ("/var/log", "Directory"),
                ("/var/log/fluentd-pos", "DirectoryOrCreate"),
                ("/var/log/fluentd-buffers", "DirectoryOrCreate"),
                ("/var/lib/docker/containers", "DirectoryOrCreate"),
            ]
        );
        let without_docker = build(&with(|p| p.docker_logs = false));
        assert!(mounts(&without_docker).iter().all(|(n, _, _)| n != "varlibdockercontainers"));
        assert!(pod(&without_docker)["volumes"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|v| v["name"] != "varlibdockercontainers"));
    }

    #[test]
    fn pod_is_root_without_capabilities_and_says_why() {
        let objects = build(&FluentdEsParams::default());
        let spec = pod(&objects);
        assert_eq!(spec["serviceAccountName"], "fluentd-es");
        assert_eq!(spec["automountServiceAccountToken"], true);
        assert_eq!(spec["securityContext"]["seccompProfile"]["type"], "RuntimeDefault");
        assert_eq!(spec["tolerations"], serde_json::json!([{"operator": "Exists"}]));
        assert!(spec.get("priorityClassName").is_none());
        let containers = spec["containers"].as_array().into_iter().flatten();
        let inits = spec["initContainers"].as_array().into_iter().flatten();
        for c in containers.chain(inits) {
            let sc = &c["securityContext"];
            assert_eq!(sc["runAsUser"], 0, "{}", c["name"]);
            assert_eq!(sc["allowPrivilegeEscalation"], false, "{}", c["name"]);
            assert_eq!(sc["privileged"], false, "{}", c["name"]);
            assert_eq!(sc["readOnlyRootFilesystem"], true, "{}", c["name"]);
            assert_eq!(sc["capabilities"], serde_json::json!({"drop": ["ALL"]}), "{}", c["name"]);
            assert!(c["resources"]["requests"]["memory"].is_string(), "{}", c["name"]);
            assert!(c["resources"]["limits"]["memory"].is_string(), "{}", c["name"]);
        }
        assert_eq!(spec["initContainers"][0]["command"], serde_json::json!(["chmod", "1777", "/tmp"]));
        let annotations = &find(&objects, "daemonset").value["spec"]["template"]["metadata"]["annotations"];
        let why = annotations[SECURITY_EXCEPTION_ANNOTATION].as_str().unwrap_or("");
        assert!(why.contains("uid 0") && why.contains("hostPath"), "{why}");
        assert_eq!(annotations["prometheus.io/scrape"], "true");
        assert_eq!(annotations["prometheus.io/port"], "24231");
        assert_eq!(annotations["prometheus.io/path"], "/metrics");
        let c = &spec["containers"][0];
        assert_eq!(c["ports"][0], serde_json::json!({"name": "metrics", "containerPort": 24231, "protocol": "TCP"}));
        assert_eq!(c["livenessProbe"]["httpGet"]["port"], "metrics");
        assert_eq!(c["resources"]["requests"], serde_json::json!({"cpu": "100m", "memory": "200Mi"}));
        assert_eq!(c["resources"]["limits"], serde_json::json!({"cpu": "400m", "memory": "500Mi"}));

        let objects = build(&with(|p| p.priority_class_name = Some("system-node-critical".into())));
        assert_eq!(pod(&objects)["priorityClassName"], "system-node-critical");
    }

    #[test]
    fn rbac_reads_pods_and_namespaces_only() {
        let objects = build(&FluentdEsParams::default());
        let rules = &find(&objects, "fluentdRole").value["rules"];
        assert_eq!(
            rules,
            &serde_json::json!([{"apiGroups": [""], "resources": ["namespaces", "pods"], "verbs": ["get", "list", "watch"]}])
        );
        let binding = &find(&objects, "fluentdBinding").value;
        assert_eq!(binding["roleRef"]["name"], "fluentd-es");
        assert_eq!(
            binding["subjects"][0],
            serde_json::json!({"kind": "ServiceAccount", "name": "fluentd-es", "namespace": "kubeprod"})
        );
    }

    #[test]
    fn config_checksum_follows_the_config_files_only() {
        let checksum = |p: &FluentdEsParams| {
            let objects = build(p);
            let sum = find(&objects, "daemonset").value["spec"]["template"]["metadata"]["annotations"]
                ["checksum/config"]
                .as_str()
                .unwrap_or("")
                .to_string();
            assert_eq!(sum.len(), 64);
            sum
        };
        let base = checksum(&FluentdEsParams::default());
        assert_eq!(base, checksum(&FluentdEsParams::default()), "deterministic");
        assert_ne!(base, checksum(&with(|p| p.log_level = LogLevel::Debug)));
        assert_ne!(base, checksum(&with(|p| p.system_logs = false)));
        assert_ne!(base, checksum(&with(|p| p.buffer_size = Quantity::from("1Gi"))));
        assert_eq!(base, checksum(&with(|p| p.resources = Resources::new("200m", "300Mi", None, "600Mi"))));
    }

    #[test]
    fn bad_parameters_are_errors_naming_their_key() {
        let e = error_of(&with(|p| p.image = "fluent/fluentd latest".into()));
        assert_eq!(path_of(&e), "fluentd_es.image");
        let e = error_of(&with(|p| p.buffer_size = Quantity::from("10Mi")));
        assert_eq!(path_of(&e), "fluentd_es.buffer_size");
        assert!(e.helps().iter().any(|h| h.contains("64Mi")), "{:?}", e.helps());
        let e = error_of(&with(|p| p.priority_class_name = Some("Node Critical".into())));
        assert_eq!(path_of(&e), "fluentd_es.priority_class_name");
        let e = error_of(&with(|p| p.resources = Resources::new("100m", "1Gi", None, "500Mi")));
        assert_eq!(path_of(&e), "fluentd_es.resources");
    }

    #[test]
    fn every_object_round_trips() {
        for (docker, system) in [(true, true), (false, false)] {
            let p = with(|p| {
                p.docker_logs = docker;
                p.system_logs = system;
            });
            for mut o in FluentdEs::build(&p, &cx()).expect("builds") {
                let before = o.value.clone();
                o.check_round_trip().unwrap_or_else(|e| panic!("{}: {e}", o.key));
                assert_eq!(before, o.value, "{} changed in the round trip", o.key);
            }
        }
    }

    #[test]
    fn defaults_serialize_and_read_back() {
        let json = serde_json::to_value(FluentdEsParams::default()).expect("serializes");
        assert_eq!(json["log_level"], "info");
        assert_eq!(json["buffer_size"], "512Mi");
        let back: FluentdEsParams = serde_json::from_value(json).expect("reads back");
        assert_eq!(back, FluentdEsParams::default());
        assert!(serde_json::from_value::<FluentdEsParams>(serde_json::json!({"log_level": "verbose"})).is_err());
        assert!(serde_json::from_value::<FluentdEsParams>(serde_json::json!({"buffersize": "1Gi"})).is_err());
    }

    fn gke_stack() -> Stack {
        let mut s = Stack::new();
        s.platform("gke", "test").expect("gke exists");
        s.set("config.dns_zone=example.com", false).expect("a valid --set");
        s
    }

    #[test]
    fn renders_with_elasticsearch_on_gke() {
        let rendered = gke_stack().render(&[&Elasticsearch, &FluentdEs]).unwrap_or_else(|e| panic!("{}", e.render()));
        let ds = rendered
            .objects
            .iter()
            .find(|o| o.component == "fluentd_es" && o.key == "daemonset")
            .expect("the DaemonSet is rendered");
        assert_eq!(ds.namespace(), "kubeprod");
        // fluentd writes to the elasticsearch Service that exists, on a port it has.
        let out = rendered
            .objects
            .iter()
            .find(|o| o.key == "fluentd_es_configd")
            .and_then(|o| o.value["data"]["output.conf"].as_str())
            .expect("output.conf")
            .to_string();
        let svc = rendered
            .objects
            .iter()
            .find(|o| o.kind() == "Service" && out.contains(&format!("host {}.{}.svc\n", o.name(), o.namespace())))
            .expect("the output's host is a rendered Service");
        assert!(svc.value["spec"]["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|p| out.contains(&format!("port {}\n", p["port"]))));
        // hostPath volumes put the namespace at the privileged level.
        let ns =
            rendered.objects.iter().find(|o| o.kind() == "Namespace" && o.name() == "kubeprod").expect("namespace");
        assert_eq!(ns.value["metadata"]["labels"]["pod-security.kubernetes.io/enforce"], "privileged");
    }

    #[test]
    fn without_elasticsearch_the_render_fails_with_help() {
        let e = gke_stack().render(&[&FluentdEs]).expect_err("elasticsearch is required");
        let text = e.render();
        assert!(text.contains("`elasticsearch` is not rendered"), "{text}");
        assert!(text.contains("help: render `elasticsearch` too"), "{text}");
    }

    #[test]
    fn seed_resources_override_reaches_the_fluentd_container() {
        let mut s = gke_stack();
        let text = include_str!("../../../../overrides/fluentd_es-resources.yaml");
        s.layer("overrides/fluentd_es-resources.yaml", SourceKind::File, text).expect("the override parses");
        let rendered = s.render(&[&Elasticsearch, &FluentdEs]).unwrap_or_else(|e| panic!("{}", e.render()));
        let ds = rendered
            .objects
            .iter()
            .find(|o| o.component == "fluentd_es" && o.key == "daemonset")
            .expect("the DaemonSet is rendered");
        let containers = ds.value["spec"]["template"]["spec"]["containers"].as_array().cloned().unwrap_or_default();
        assert_eq!(containers.len(), 1, "the override merges into the container, it adds none");
        assert_eq!(containers[0]["name"], "fluentd-es");
        assert_eq!(
            containers[0]["resources"],
            // The default CPU limit stays: the override's `limits` merge into the defaults.
            serde_json::json!({"limits": {"cpu": "400m", "memory": "600Mi"}, "requests": {"cpu": "200m", "memory": "300Mi"}})
        );
        // Nothing else of the container moved.
        assert_eq!(containers[0]["image"], DEFAULT_IMAGE);
        assert_eq!(containers[0]["volumeMounts"].as_array().map(Vec::len), Some(7));
    }
}
