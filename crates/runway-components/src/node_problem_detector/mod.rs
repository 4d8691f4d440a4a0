//! node-problem-detector: turns kernel and container runtime trouble on a node (OOM kills,
//! hung tasks, a filesystem remounted read-only, containerd restarts) into node conditions
//! and events the cluster sees (`kubectl describe node`), and into Prometheus metrics.
//! Seed 003's "makes them available at the cluster level … It also provides a Prometheus
//! endpoint".
//!
//! # What it renders
//!
//! The DaemonSet `node-problem-detector` on every Linux node (tolerating every taint, as
//! upstream), the ConfigMap `node-problem-detector-config` with upstream's monitor
//! configurations (`config/`, vendored unchanged: the kernel monitor on `/dev/kmsg`, the
//! systemd monitor for containerd and kubelet restarts, and with `container_runtime:
//! docker` the docker monitor), a ServiceAccount, and a ClusterRole with the rules of
//! Kubernetes' bootstrap role `system:node-problem-detector` (nodes `get`, `nodes/status`
//! `patch` for the conditions, events `create`/`patch`/`update`), written out rather than
//! bound by name so the render says what it grants.
//!
//! Metrics (`problem_counter`, `problem_gauge`) are served on port 20257 named `metrics`,
//! on all addresses (upstream listens on 127.0.0.1 unless told), which no Service exposes:
//! Prometheus finds them through the `prometheus.io/*` pod annotations or a PodMonitor, as
//! `platform.monitoring` says ([`scrape`]). The same endpoint answers the probes.
//!
//! # On by default, except where the nodes bring their own
//!
//! It only reads and reports, so it renders by default. Three platforms turn it off: on
//! gke and aks the node images already run node-problem-detector (GKE's and AKS's node
//! auto-repair read its conditions), and a second copy would report the same conditions
//! twice; kind's nodes are containers sharing the laptop's kernel, so each one would
//! report the host's kernel messages as its own. eks and onprem render it.
//!
//! # Namespace and security
//!
//! `kube-system`, as upstream. The container reads `/dev/kmsg`, a device the container
//! runtime admits only to privileged containers, and the journal under `/var/log`, which
//! only root may read; it therefore runs privileged as uid 0, with a read-only root
//! filesystem and every host path mounted read-only. The pod template's
//! `runway.dev/security-exception` annotation says so. It talks to the API (conditions,
//! events), so its token is mounted.
//!
//! It is not on the host network, so its NetworkPolicy applies: it reaches the API server
//! only; Prometheus's scrape of the metrics port is declared by Prometheus.

mod params;

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, Container, EnvVar, EnvVarSource, HTTPGetAction, HostPathVolumeSource,
    ObjectFieldSelector, PodSecurityContext, PodSpec, Probe, SecurityContext, ServiceAccount, Toleration, Volume,
    VolumeMount,
};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use runway_core::{Error, Object};

pub use self::params::{ContainerRuntime, NodeProblemDetectorParams, DEFAULT_IMAGE};
use crate::common::checksum::named_sha256;
use crate::common::meta;
use crate::common::metrics::{MetricsEndpoint, Scrape};
use crate::common::pod::{container_port, SECURITY_EXCEPTION_ANNOTATION};
use crate::common::rbac::{self, rule, Grant};
use crate::component::{Component, ObjectDoc};
use crate::context::{Context, Published};

/// The DaemonSet, ServiceAccount and RBAC objects.
pub const NAME: &str = "node-problem-detector";
/// The ConfigMap of monitor configurations (upstream's name).
pub const CONFIG_NAME: &str = "node-problem-detector-config";
/// The Prometheus port (`/metrics`), upstream's default.
pub const METRICS_PORT: i32 = 20257;
/// Upstream's kernel monitor (`config/kernel-monitor.json`).
pub const KERNEL_MONITOR: &str = include_str!("config/kernel-monitor.json");
/// Upstream's systemd monitor (`config/systemd-monitor.json`): containerd and kubelet restarts.
pub const SYSTEMD_MONITOR: &str = include_str!("config/systemd-monitor.json");
/// Upstream's docker monitor (`config/docker-monitor.json`).
pub const DOCKER_MONITOR: &str = include_str!("config/docker-monitor.json");

const COMPONENT_LABEL: &str = "node-problem-detector";
const CONFIG_DIR: &str = "/config";

/// The node-problem-detector component.
pub struct NodeProblemDetector;

impl Component for NodeProblemDetector {
    const NAME: &'static str = "node_problem_detector";
    const ALIASES: &'static [&'static str] = &["npd"];
    const SUMMARY: &'static str =
        "node-problem-detector: kernel and containerd problems as node conditions, events and metrics";
    const OBJECTS: &'static [ObjectDoc] = &[
        ObjectDoc { key: "serviceAccount", kind: "ServiceAccount", doc: "its identity; it reports to the API" },
        ObjectDoc {
            key: "clusterRole",
            kind: "ClusterRole",
            doc: "read nodes, patch node status (conditions), write events",
        },
        ObjectDoc { key: "clusterRoleBinding", kind: "ClusterRoleBinding", doc: "binds the ClusterRole" },
        ObjectDoc {
            key: "config",
            kind: "ConfigMap",
            doc: "`node-problem-detector-config`: upstream's monitor configurations",
        },
        ObjectDoc { key: "daemonset", kind: "DaemonSet", doc: "`node-problem-detector` on every Linux node" },
        ObjectDoc {
            key: "podMonitor",
            kind: "PodMonitor",
            doc: "scrapes its `metrics` port (`platform.monitoring: operator` or `both`)",
        },
        ObjectDoc { key: "networkPolicy", kind: "NetworkPolicy", doc: "`node-problem-detector`: the API server" },
    ];
    type Params = NodeProblemDetectorParams;

    fn publish(_: &NodeProblemDetectorParams, _: &Context, published: &mut Published) {
        published.dashboards.push(crate::grafana::dashboards::NODE_PROBLEM_DETECTOR);
    }

    fn network(_: &NodeProblemDetectorParams, _: &Context) -> Vec<crate::network::Flows> {
        vec![crate::network::Flows::new("daemonset", "networkPolicy").to_api_server()]
    }

    fn waivers(_: &NodeProblemDetectorParams, _: &Context) -> Vec<crate::waivers::Waiver> {
        use crate::waivers::{Check, Waiver};
        let privileged = "a privileged container holds every capability; a drop list does not apply to it";
        vec![
            Waiver::new(
                "daemonset",
                Check::Privileged,
                "reads the kernel log device /dev/kmsg, which the container runtime admits only to privileged containers (see runway.dev/security-exception)",
            ),
            Waiver::new(
                "daemonset",
                Check::RootContainer,
                "reads the root-only journal under /var/log (see runway.dev/security-exception)",
            ),
            Waiver::new(
                "daemonset",
                Check::HighUid,
                "runs as uid 0 to read /dev/kmsg and the journal (see runway.dev/security-exception)",
            ),
            Waiver::new(
                "daemonset",
                Check::PrivilegeEscalation,
                "a privileged container: the API server refuses allowPrivilegeEscalation false next to privileged true",
            ),
            Waiver::new("daemonset", Check::Capabilities, privileged),
            Waiver::new("daemonset", Check::NetRaw, privileged),
            Waiver::new(
                "daemonset",
                Check::Seccomp,
                "a privileged container always runs seccomp Unconfined; a profile does not apply to it",
            ),
        ]
    }

    fn build(p: &NodeProblemDetectorParams, cx: &Context) -> Result<Vec<Object>, Error> {
        p.validate()?;
        let ns = p.namespace.as_str();
        let files = monitors(p.container_runtime);
        let scrape = scrape(ns);
        let mut objects = vec![
            Object::new(Self::NAME, "serviceAccount", &service_account(ns)),
            Object::new(Self::NAME, "clusterRole", &cluster_role()),
            Object::new(Self::NAME, "clusterRoleBinding", &cluster_role_binding(ns)),
            Object::new(Self::NAME, "config", &config_map(ns, &files)),
            Object::new(Self::NAME, "daemonset", &daemon_set(p, &files, scrape.annotations(cx))),
        ];
        objects.extend(scrape.monitor(Self::NAME, "podMonitor", cx));
        Ok(objects)
    }
}

/// node-problem-detector's metrics: the `metrics` port (20257) of its pods, which no
/// Service exposes (a PodMonitor in operator mode).
pub fn scrape(ns: &str) -> Scrape {
    Scrape::pods(COMPONENT_LABEL, NAME, ns, meta::selector_labels(NAME), MetricsEndpoint::new("metrics", METRICS_PORT))
}

/// The monitor files for `runtime`, as `(file name, text)`.
pub fn monitors(runtime: ContainerRuntime) -> Vec<(&'static str, &'static str)> {
    let mut files = vec![("kernel-monitor.json", KERNEL_MONITOR), ("systemd-monitor.json", SYSTEMD_MONITOR)];
    if runtime == ContainerRuntime::Docker {
        files.push(("docker-monitor.json", DOCKER_MONITOR));
    }
    files
}

fn labels(name: &str) -> BTreeMap<String, String> {
    meta::labels(name, COMPONENT_LABEL)
}

fn metadata(name: &str, ns: &str) -> ObjectMeta {
    meta::namespaced(name, ns, labels(name))
}

fn service_account(ns: &str) -> ServiceAccount {
    rbac::service_account(metadata(NAME, ns), Some(true))
}

/// The rules of Kubernetes' bootstrap ClusterRole `system:node-problem-detector`.
fn cluster_role() -> ClusterRole {
    rbac::cluster_role(
        meta::cluster_scoped(NAME, labels(NAME)),
        vec![
            rule(&[""], &["nodes"], &["get"]),
            rule(&[""], &["nodes/status"], &["patch"]),
            rule(&["", "events.k8s.io"], &["events"], &["create", "patch", "update"]),
        ],
    )
}

fn cluster_role_binding(ns: &str) -> ClusterRoleBinding {
    Grant { role: NAME, service_account: NAME, namespace: ns }
        .cluster_role_binding(meta::cluster_scoped(NAME, labels(NAME)))
}

fn config_map(ns: &str, files: &[(&str, &str)]) -> ConfigMap {
    ConfigMap {
        metadata: metadata(CONFIG_NAME, ns),
        data: Some(files.iter().map(|(n, t)| (n.to_string(), t.to_string())).collect()),
        ..Default::default()
    }
}

fn checksum(files: &[(&str, &str)]) -> String {
    named_sha256(files.iter().copied())
}

fn host_path(name: &str, path: &str, type_: &str) -> Volume {
    Volume {
        name: name.into(),
        host_path: Some(HostPathVolumeSource { path: path.into(), type_: Some(type_.into()) }),
        ..Default::default()
    }
}

fn read_only(name: &str, path: &str) -> VolumeMount {
    VolumeMount { name: name.into(), mount_path: path.into(), read_only: Some(true), ..Default::default() }
}

fn command(files: &[(&str, &str)]) -> Vec<String> {
    let monitors: Vec<String> = files.iter().map(|(n, _)| format!("{CONFIG_DIR}/{n}")).collect();
    vec![
        "/node-problem-detector".into(),
        "--logtostderr".into(),
        format!("--config.system-log-monitor={}", monitors.join(",")),
        // Scraped from outside the pod: upstream binds 127.0.0.1 by default.
        "--prometheus-address=0.0.0.0".into(),
        format!("--prometheus-port={METRICS_PORT}"),
    ]
}

const EXCEPTION: &str = "container `node-problem-detector` runs privileged as uid 0: it reads the kernel log \
     device /dev/kmsg (hostPath, admitted by the container runtime only to privileged containers) and the \
     root-only journal under /var/log (hostPath, read-only); it writes nothing on the node";

/// `/metrics` on the metrics port: the HTTP server answers while the monitors run.
fn metrics_probe(failure_threshold: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some("/metrics".into()),
            port: IntOrString::String("metrics".into()),
            scheme: Some("HTTP".into()),
            ..Default::default()
        }),
        initial_delay_seconds: Some(10),
        period_seconds: Some(30),
        timeout_seconds: Some(5),
        failure_threshold: Some(failure_threshold),
        ..Default::default()
    }
}

fn daemon_set(
    p: &NodeProblemDetectorParams,
    files: &[(&str, &str)],
    mut annotations: BTreeMap<String, String>,
) -> DaemonSet {
    let selector = meta::selector(meta::selector_labels(NAME));
    let mut template_labels = labels(NAME);
    template_labels.extend(meta::selector_labels(NAME));
    annotations.extend([
        ("checksum/config".to_string(), checksum(files)),
        (SECURITY_EXCEPTION_ANNOTATION.to_string(), EXCEPTION.to_string()),
    ]);
    let container = Container {
        name: NAME.into(),
        image: Some(p.image.clone()),
        command: Some(command(files)),
        env: Some(vec![EnvVar {
            // The node whose conditions it reports.
            name: "NODE_NAME".into(),
            value_from: Some(EnvVarSource {
                field_ref: Some(ObjectFieldSelector {
                    api_version: Some("v1".into()),
                    field_path: "spec.nodeName".into(),
                }),
                ..Default::default()
            }),
            ..Default::default()
        }]),
        ports: Some(vec![container_port("metrics", METRICS_PORT)]),
        resources: Some(p.resources.to_k8s()),
        security_context: Some(SecurityContext {
            privileged: Some(true),
            read_only_root_filesystem: Some(true),
            run_as_user: Some(0),
            run_as_non_root: Some(false),
            ..Default::default()
        }),
        liveness_probe: Some(metrics_probe(3)),
        readiness_probe: Some(metrics_probe(1)),
        volume_mounts: Some(vec![
            read_only("log", "/var/log"),
            read_only("kmsg", "/dev/kmsg"),
            read_only("config", CONFIG_DIR),
        ]),
        ..Default::default()
    };
    let pod = PodSpec {
        service_account_name: Some(NAME.into()),
        automount_service_account_token: Some(true),
        // The pod's identity stated at pod level too: root, as the container says why.
        security_context: Some(PodSecurityContext {
            run_as_user: Some(0),
            run_as_group: Some(0),
            run_as_non_root: Some(false),
            ..Default::default()
        }),
        node_selector: Some(BTreeMap::from([("kubernetes.io/os".to_string(), "linux".to_string())])),
        // Every node, whatever its taints (upstream's tolerations): a node in trouble is
        // the one to watch.
        tolerations: Some(vec![
            Toleration { effect: Some("NoSchedule".into()), operator: Some("Exists".into()), ..Default::default() },
            Toleration { effect: Some("NoExecute".into()), operator: Some("Exists".into()), ..Default::default() },
        ]),
        containers: vec![container],
        volumes: Some(vec![
            host_path("log", "/var/log", "Directory"),
            host_path("kmsg", "/dev/kmsg", "CharDevice"),
            Volume {
                name: "config".into(),
                config_map: Some(ConfigMapVolumeSource { name: CONFIG_NAME.into(), ..Default::default() }),
                ..Default::default()
            },
        ]),
        ..Default::default()
    };
    crate::common::daemon_set::rolling(
        metadata(NAME, &p.namespace),
        selector,
        IntOrString::String("10%".into()),
        crate::common::daemon_set::pod_template(template_labels, annotations, pod),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::testing;
    use crate::common::testing::{find, path_of};
    use crate::stack::Stack;

    fn build(p: &NodeProblemDetectorParams) -> Vec<Object> {
        NodeProblemDetector::build(p, &Context::default()).unwrap_or_else(|e| panic!("builds: {e}"))
    }

    fn with(f: impl FnOnce(&mut NodeProblemDetectorParams)) -> NodeProblemDetectorParams {
        testing::with(f)
    }

    fn container(objects: &[Object]) -> serde_json::Value {
        crate::common::testing::first_container(objects, "daemonset")
    }

    fn command(objects: &[Object]) -> Vec<String> {
        crate::common::testing::strings(&container(objects)["command"])
    }

    #[test]
    fn default_build_has_upstreams_names_in_kube_system() {
        let objects = build(&NodeProblemDetectorParams::default());
        let got: Vec<(&str, &str, &str, &str)> =
            objects.iter().map(|o| (o.key.as_str(), o.kind(), o.namespace(), o.name())).collect();
        assert_eq!(
            got,
            [
                ("serviceAccount", "ServiceAccount", "kube-system", NAME),
                ("clusterRole", "ClusterRole", "", NAME),
                ("clusterRoleBinding", "ClusterRoleBinding", "", NAME),
                ("config", "ConfigMap", "kube-system", CONFIG_NAME),
                ("daemonset", "DaemonSet", "kube-system", NAME),
            ]
        );
        assert_eq!(container(&objects)["image"], DEFAULT_IMAGE);
    }

    #[test]
    fn kernel_and_containerd_monitors_come_from_the_config_map() {
        let objects = build(&NodeProblemDetectorParams::default());
        let data = find(&objects, "config").value["data"].as_object().cloned().expect("data");
        let keys: Vec<&str> = data.keys().map(String::as_str).collect();
        assert_eq!(keys, ["kernel-monitor.json", "systemd-monitor.json"]);
        assert_eq!(data["kernel-monitor.json"], KERNEL_MONITOR, "upstream's text, unchanged");
        let cmd = command(&objects);
        assert!(cmd.contains(
            &"--config.system-log-monitor=/config/kernel-monitor.json,/config/systemd-monitor.json".to_string()
        ));
        // Every file the command names is in the ConfigMap the pod mounts at /config.
        let ds = &find(&objects, "daemonset").value["spec"]["template"]["spec"];
        let config_volume =
            ds["volumes"].as_array().into_iter().flatten().find(|v| v["name"] == "config").expect("config");
        assert_eq!(config_volume["configMap"]["name"], CONFIG_NAME);
        let mount =
            ds["containers"][0]["volumeMounts"].as_array().into_iter().flatten().find(|m| m["name"] == "config");
        assert_eq!(mount.expect("mounted")["mountPath"], CONFIG_DIR);

        let docker = build(&with(|p| p.container_runtime = ContainerRuntime::Docker));
        assert!(find(&docker, "config").value["data"].get("docker-monitor.json").is_some());
        assert!(command(&docker).iter().any(|a| a.ends_with(",/config/docker-monitor.json")));
        let sum = |o: &[Object]| {
            find(o, "daemonset").value["spec"]["template"]["metadata"]["annotations"]["checksum/config"].clone()
        };
        assert_ne!(sum(&objects), sum(&docker), "a config change rolls the pods");
    }

    #[test]
    fn vendored_monitors_are_json_whose_permanent_rules_name_their_conditions() {
        for (file, text) in monitors(ContainerRuntime::Docker) {
            let v: serde_json::Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{file}: {e}"));
            let conditions: Vec<&str> =
                v["conditions"].as_array().into_iter().flatten().filter_map(|c| c["type"].as_str()).collect();
            let rules = v["rules"].as_array().expect("rules");
            assert!(!rules.is_empty(), "{file}");
            for r in rules {
                if r["type"] == "permanent" {
                    let c = r["condition"].as_str().unwrap_or("");
                    assert!(conditions.contains(&c), "{file}: `{c}` is not a condition of the file");
                }
            }
        }
        assert!(SYSTEMD_MONITOR.contains("ContainerdStart"), "containerd restarts are watched");
    }

    #[test]
    fn host_paths_are_read_only_and_the_exception_says_why() {
        let objects = build(&NodeProblemDetectorParams::default());
        let ds = &find(&objects, "daemonset").value;
        let spec = &ds["spec"]["template"]["spec"];
        let host_paths: Vec<&str> =
            spec["volumes"].as_array().into_iter().flatten().filter_map(|v| v["hostPath"]["path"].as_str()).collect();
        assert_eq!(host_paths, ["/var/log", "/dev/kmsg"]);
        for m in spec["containers"][0]["volumeMounts"].as_array().into_iter().flatten() {
            assert_eq!(m["readOnly"], true, "{m}");
        }
        let sc = &spec["containers"][0]["securityContext"];
        assert_eq!(sc["privileged"], true);
        assert_eq!(sc["readOnlyRootFilesystem"], true);
        assert_eq!(spec["securityContext"]["runAsUser"], 0, "the pod says it runs as root too");
        let why =
            ds["spec"]["template"]["metadata"]["annotations"][SECURITY_EXCEPTION_ANNOTATION].as_str().unwrap_or("");
        assert!(why.contains("/dev/kmsg") && why.contains("/var/log") && why.contains("privileged"), "{why}");
        let res = &spec["containers"][0]["resources"];
        assert!(res["requests"]["memory"].is_string() && res["limits"]["memory"].is_string());
    }

    #[test]
    fn node_conditions_and_events_reach_the_api() {
        let objects = build(&NodeProblemDetectorParams::default());
        assert_eq!(
            find(&objects, "clusterRole").value["rules"],
            serde_json::json!([
                {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get"]},
                {"apiGroups": [""], "resources": ["nodes/status"], "verbs": ["patch"]},
                {"apiGroups": ["", "events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch", "update"]},
            ])
        );
        let c = container(&objects);
        assert_eq!(c["env"][0]["name"], "NODE_NAME");
        assert_eq!(c["env"][0]["valueFrom"]["fieldRef"]["fieldPath"], "spec.nodeName");
        let spec = &find(&objects, "daemonset").value["spec"]["template"]["spec"];
        assert_eq!(spec["serviceAccountName"], NAME);
        assert_eq!(spec["automountServiceAccountToken"], true);
        assert_eq!(find(&objects, "clusterRoleBinding").value["subjects"][0]["namespace"], "kube-system");
    }

    #[test]
    fn prometheus_endpoint_listens_on_all_addresses_and_is_scraped() {
        let objects = build(&NodeProblemDetectorParams::default());
        let cmd = command(&objects);
        assert!(cmd.contains(&"--prometheus-address=0.0.0.0".to_string()));
        assert!(cmd.contains(&"--prometheus-port=20257".to_string()));
        let ann = &find(&objects, "daemonset").value["spec"]["template"]["metadata"]["annotations"];
        assert_eq!(ann["prometheus.io/scrape"], "true");
        assert_eq!(ann["prometheus.io/port"], "20257");
        let c = container(&objects);
        assert_eq!(c["ports"][0]["name"], "metrics");
        assert_eq!(c["readinessProbe"]["httpGet"]["port"], "metrics");
        assert!(objects.iter().all(|o| o.kind() != "PodMonitor"), "annotations mode renders no monitor");

        // Operator mode: a PodMonitor on the named port, no scrape annotations.
        let mut operator = Context::default();
        operator.platform.monitoring = crate::context::MonitoringMode::Operator;
        let objects = NodeProblemDetector::build(&NodeProblemDetectorParams::default(), &operator).expect("builds");
        let ann = &find(&objects, "daemonset").value["spec"]["template"]["metadata"]["annotations"];
        assert!(ann.get("prometheus.io/scrape").is_none(), "{ann}");
        assert!(ann.get("checksum/config").is_some() && ann.get(SECURITY_EXCEPTION_ANNOTATION).is_some());
        let monitor = find(&objects, "podMonitor");
        assert_eq!(monitor.namespace(), "kube-system");
        assert_eq!(monitor.value["spec"]["podMetricsEndpoints"][0]["port"], "metrics");
        assert_eq!(monitor.value["spec"]["selector"]["matchLabels"], serde_json::json!(meta::selector_labels(NAME)));
    }

    #[test]
    fn it_talks_to_the_api_server_only_and_waives_only_documented_objects() {
        let flows = NodeProblemDetector::network(&NodeProblemDetectorParams::default(), &Context::default());
        assert_eq!(flows.len(), 1);
        assert_eq!((flows[0].workload, flows[0].key), ("daemonset", "networkPolicy"));
        assert_eq!(flows[0].egress, [crate::network::Egress::ApiServer]);
        assert!(flows[0].ingress.is_empty(), "Prometheus declares its scrape");
        for w in NodeProblemDetector::waivers(&NodeProblemDetectorParams::default(), &Context::default()) {
            assert!(NodeProblemDetector::OBJECTS.iter().any(|d| d.key == w.key), "{} is documented", w.key);
        }
    }

    #[test]
    fn on_by_default_except_where_nodes_bring_their_own() {
        let components: [&dyn crate::ErasedComponent; 2] = [&NodeProblemDetector, &crate::elasticsearch::Elasticsearch];
        for (platform, expected) in [("eks", true), ("onprem", true), ("gke", false), ("aks", false), ("kind", false)] {
            let mut s = Stack::new();
            s.platform(platform, "test").expect("platform exists");
            let r = s.render(&components).unwrap_or_else(|e| panic!("{}", e.render()));
            assert_eq!(r.objects.iter().any(|o| o.kind() == "DaemonSet" && o.name() == NAME), expected, "{platform}");
        }
    }

    #[test]
    fn bad_parameters_are_errors_naming_their_path() {
        let path = |p: NodeProblemDetectorParams| {
            let e = NodeProblemDetector::build(&p, &Context::default()).expect_err("rejected");
            assert!(!e.helps().is_empty(), "{e} has no help");
            path_of(&e)
        };
        assert_eq!(path(with(|p| p.image = "a b".into())), "node_problem_detector.image");
        assert_eq!(path(with(|p| p.namespace = "Kube_System".into())), "node_problem_detector.namespace");
        assert_eq!(
            path(with(|p| p.resources = crate::common::pod::Resources::new("1", "1Gi", None, "512Mi"))),
            "node_problem_detector.resources"
        );
    }

    #[test]
    fn every_object_round_trips_and_selects_its_pods() {
        let objects = build(&with(|p| p.container_runtime = ContainerRuntime::Docker));
        let ds = find(&objects, "daemonset").value.clone();
        let labels = ds["spec"]["template"]["metadata"]["labels"].as_object().cloned().expect("labels");
        let sel = ds["spec"]["selector"]["matchLabels"].as_object().cloned().expect("a selector");
        assert!(!sel.is_empty() && sel.iter().all(|(k, v)| labels.get(k) == Some(v)));
        for mut o in objects {
            let before = o.value.clone();
            o.check_round_trip().unwrap_or_else(|e| panic!("{}: {e}", o.key));
            assert_eq!(before, o.value, "{} changed in the round trip", o.key);
        }
    }
}
