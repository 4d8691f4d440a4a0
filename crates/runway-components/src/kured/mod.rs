//! kured, the Kubernetes reboot daemon: when a node's package manager says a reboot is
//! needed (`/var/run/reboot-required`, or a command such as RHEL's `needs-restarting`),
//! kured takes a cluster-wide lock, cordons and drains the node, reboots it and uncordons
//! it, one node at a time, inside a reboot window. Seed 003's "rolling restart of the
//! cluster with no service downtime" after patching.
//!
//! # What it renders
//!
//! The DaemonSet `kured` (a pod on every Linux node, control-plane nodes included, as
//! upstream), its ServiceAccount, a ClusterRole (upstream's: nodes `get`/`patch` to cordon,
//! pods `get`/`list`/`delete` and `pods/eviction` `create` to drain, DaemonSets `get`) and
//! a Role that may `update` exactly its own DaemonSet, whose `lock_annotation` is the lock.
//!
//! # Opt-in
//!
//! kured reboots nodes, so it is never on by default: list it in a stack's `components:`
//! or set `platform: {components: {kured: true}}`. Its defaults are cautious: Monday to
//! Friday, 02:00 to 06:00 UTC, one node at a time, reboots held while an alert fires in
//! the rendered Prometheus (`--prometheus-url`), and a drain that respects
//! PodDisruptionBudgets (evictions, `force_reboot: false`): a drain that cannot finish in
//! `drain_timeout` is abandoned, the node uncordoned and the reboot retried next period.
//!
//! # Namespace: kube-system
//!
//! kured runs in `kube-system` by default, as upstream's manifest and chart do, because
//! operators look for node daemons there and because its pods need host access that
//! the Pod Security Standards forbid: in the runtime's own namespace they would lower
//! that namespace's Pod Security level for every other component. The lock lives on the
//! DaemonSet itself, so removing and re-installing the runtime's namespace never drops a
//! lock held during a reboot. `namespace` moves it.
//!
//! # Security
//!
//! A reboot needs the host. With `reboot_method: signal` (the default) the container
//! shares the host's PID namespace and sends systemd (PID 1) its reboot signal: it runs as
//! root with only CAP_KILL, no privilege escalation and a read-only root filesystem. With
//! `reboot_method: command` it is privileged, to `nsenter` the host's mount namespace and
//! run `systemctl reboot` (and the sentinel command). Either way the sentinel directory
//! `/var/run` is mounted read-only. The exception is stated in the pod template's
//! `runway.dev/security-exception` annotation. kured talks to the API, so its token is
//! mounted.
//!
//! # Metrics
//!
//! `kured_reboot_required` (1 when a node waits for its reboot) on port 8080 named
//! `metrics`, which no Service exposes: Prometheus finds it through the `prometheus.io/*`
//! pod annotations or a PodMonitor, as `platform.monitoring` says ([`scrape`]). The same
//! endpoint answers the liveness and readiness probes.
//!
//! # Network
//!
//! kured is not on the host network, so its NetworkPolicy applies: it reaches the API
//! server and, when it holds reboots on alerts, the rendered Prometheus; Prometheus's
//! scrape of the metrics port is declared by Prometheus.

mod params;

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{
    Capabilities, Container, EnvVar, EnvVarSource, HTTPGetAction, HostPathVolumeSource, ObjectFieldSelector,
    PodSecurityContext, PodSpec, Probe, SecurityContext, ServiceAccount, Toleration, Volume, VolumeMount,
};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use runway_core::{Error, Object};

pub use self::params::{KuredParams, RebootMethod, DEFAULT_IMAGE, DEFAULT_LOCK_ANNOTATION};
use crate::common::meta;
use crate::common::metrics::{MetricsEndpoint, Scrape};
use crate::common::pod::runtime_default_seccomp;
use crate::common::pod::{container_port, SECURITY_EXCEPTION_ANNOTATION};
use crate::common::rbac::{self, rule, rule_named, Grant};
use crate::component::{Component, ObjectDoc};
use crate::context::{Context, Published};

/// The DaemonSet (its name is kured's `--ds-name`, the object that holds the lock), the
/// ServiceAccount and the RBAC objects.
pub const NAME: &str = "kured";
/// `/metrics` port.
pub const METRICS_PORT: i32 = 8080;
/// Where the host's `/var/run` is mounted.
const SENTINEL_DIR: &str = "/sentinel";
const COMPONENT_LABEL: &str = "kured";

/// The kured component.
pub struct Kured;

impl Component for Kured {
    const NAME: &'static str = "kured";
    const SUMMARY: &'static str = "kured: drains and reboots nodes that need it, one at a time, in a reboot window";
    const DEFAULT_ENABLED: bool = false;
    const OBJECTS: &'static [ObjectDoc] = &[
        ObjectDoc { key: "serviceAccount", kind: "ServiceAccount", doc: "kured's identity; it talks to the API" },
        ObjectDoc {
            key: "clusterRole",
            kind: "ClusterRole",
            doc: "cordon nodes, evict and list pods, read DaemonSets (upstream's rules)",
        },
        ObjectDoc { key: "clusterRoleBinding", kind: "ClusterRoleBinding", doc: "binds the ClusterRole" },
        ObjectDoc { key: "role", kind: "Role", doc: "update its own DaemonSet, whose annotation is the lock" },
        ObjectDoc { key: "roleBinding", kind: "RoleBinding", doc: "binds the Role" },
        ObjectDoc { key: "daemonset", kind: "DaemonSet", doc: "`kured` on every Linux node" },
        ObjectDoc {
            key: "podMonitor",
            kind: "PodMonitor",
            doc: "scrapes its `metrics` port (`platform.monitoring: operator` or `both`)",
        },
        ObjectDoc {
            key: "networkPolicy",
            kind: "NetworkPolicy",
            doc: "`kured`: the API server and, holding reboots on alerts, Prometheus",
        },
    ];
    type Params = KuredParams;

    fn publish(_: &KuredParams, _: &Context, published: &mut Published) {
        published.dashboards.push(crate::grafana::dashboards::KURED);
    }

    fn network(p: &KuredParams, cx: &Context) -> Vec<crate::network::Flows> {
        let mut f = crate::network::Flows::new("daemonset", "networkPolicy").to_api_server();
        if let Some(prometheus) = alerts_from(p, cx) {
            f = f.to_service(prometheus);
        }
        vec![f]
    }

    fn waivers(p: &KuredParams, _: &Context) -> Vec<crate::waivers::Waiver> {
        use crate::waivers::{Check, Waiver};
        let mut out = vec![
            Waiver::new(
                "daemonset",
                Check::HostPid,
                "kured reboots the node through its PID 1, systemd (see runway.dev/security-exception)",
            ),
            Waiver::new(
                "daemonset",
                Check::RootContainer,
                "signalling or entering PID 1 needs uid 0 (see runway.dev/security-exception)",
            ),
            Waiver::new(
                "daemonset",
                Check::HighUid,
                "runs as uid 0 to reboot the node through PID 1 (see runway.dev/security-exception)",
            ),
        ];
        match p.reboot_method {
            RebootMethod::Signal => out.push(Waiver::new(
                "daemonset",
                Check::AddedCapability,
                "CAP_KILL only: kured sends systemd, PID 1, its reboot signal",
            )),
            RebootMethod::Command => out.extend([
                Waiver::new(
                    "daemonset",
                    Check::Privileged,
                    "reboot_method command: nsenter into PID 1's mount namespace runs `systemctl reboot` and the sentinel command on the host",
                ),
                Waiver::new(
                    "daemonset",
                    Check::PrivilegeEscalation,
                    "a privileged container: the API server refuses allowPrivilegeEscalation false next to privileged true",
                ),
                Waiver::new(
                    "daemonset",
                    Check::Capabilities,
                    "a privileged container holds every capability; a drop list does not apply to it",
                ),
                Waiver::new(
                    "daemonset",
                    Check::NetRaw,
                    "a privileged container holds every capability; a drop list does not apply to it",
                ),
                Waiver::new(
                    "daemonset",
                    Check::Seccomp,
                    "a privileged container always runs seccomp Unconfined; a profile does not apply to it",
                ),
            ]),
        }
        out
    }

    fn build(p: &KuredParams, cx: &Context) -> Result<Vec<Object>, Error> {
        p.validate()?;
        let ns = p.namespace.as_str();
        let scrape = scrape(ns);
        let mut objects = vec![
            Object::new(Self::NAME, "serviceAccount", &service_account(ns)),
            Object::new(Self::NAME, "clusterRole", &cluster_role()),
            Object::new(Self::NAME, "clusterRoleBinding", &cluster_role_binding(ns)),
            Object::new(Self::NAME, "role", &role(ns)),
            Object::new(Self::NAME, "roleBinding", &role_binding(ns)),
            Object::new(Self::NAME, "daemonset", &daemon_set(p, cx, scrape.annotations(cx))),
        ];
        objects.extend(scrape.monitor(Self::NAME, "podMonitor", cx));
        Ok(objects)
    }
}

/// kured's metrics: the `metrics` port (8080) of its pods, which no Service exposes (a
/// PodMonitor in operator mode).
pub fn scrape(ns: &str) -> Scrape {
    Scrape::pods(COMPONENT_LABEL, NAME, ns, meta::selector_labels(NAME), MetricsEndpoint::new("metrics", METRICS_PORT))
}

/// The Prometheus kured asks for firing alerts: the rendered one, when `block_on_alerts`.
fn alerts_from<'a>(p: &KuredParams, cx: &'a Context) -> Option<&'a crate::context::ServiceRef> {
    cx.published.prometheus.as_ref().filter(|_| p.block_on_alerts)
}

fn labels() -> BTreeMap<String, String> {
    meta::labels(NAME, COMPONENT_LABEL)
}

fn metadata(ns: &str) -> ObjectMeta {
    meta::namespaced(NAME, ns, labels())
}

fn grant(ns: &str) -> Grant<'_> {
    Grant { role: NAME, service_account: NAME, namespace: ns }
}

fn service_account(ns: &str) -> ServiceAccount {
    rbac::service_account(metadata(ns), Some(true))
}

/// Upstream's ClusterRole (kubereboot chart) without the long-gone `extensions` group:
/// read nodes' `spec.unschedulable` and cordon them, drain (list, evict, delete pods),
/// and read the DaemonSets that own pods (drain skips DaemonSet pods).
fn cluster_role() -> ClusterRole {
    rbac::cluster_role(
        meta::cluster_scoped(NAME, labels()),
        vec![
            rule(&[""], &["nodes"], &["get", "patch"]),
            rule(&[""], &["pods"], &["list", "delete", "get"]),
            rule(&["apps"], &["daemonsets"], &["get"]),
            rule(&[""], &["pods/eviction"], &["create"]),
        ],
    )
}

fn cluster_role_binding(ns: &str) -> ClusterRoleBinding {
    grant(ns).cluster_role_binding(meta::cluster_scoped(NAME, labels()))
}

/// The lock: kured writes `lock_annotation` on its own DaemonSet, and may update that one
/// object only.
fn role(ns: &str) -> Role {
    rbac::role(metadata(ns), vec![rule_named(&["apps"], &["daemonsets"], &[NAME], &["update"])])
}

fn role_binding(ns: &str) -> RoleBinding {
    grant(ns).role_binding(metadata(ns))
}

/// kured's flags. Upstream's defaults are left out, except where runway's differ or the
/// value is the point (the window, the lock, the drain).
fn args(p: &KuredParams, cx: &Context) -> Vec<String> {
    let mut args = vec![
        "/usr/bin/kured".to_string(),
        format!("--ds-name={NAME}"),
        format!("--ds-namespace={}", p.namespace),
        format!("--lock-annotation={}", p.lock_annotation),
        format!("--period={}", p.period),
        format!("--reboot-days={}", p.reboot_days.join(",")),
        format!("--start-time={}", p.start_time),
        format!("--end-time={}", p.end_time),
        format!("--time-zone={}", p.time_zone),
        format!("--concurrency={}", p.concurrency),
        format!("--drain-timeout={}", p.drain_timeout),
        format!("--drain-grace-period={}", p.drain_grace_period),
        format!("--skip-wait-for-delete-timeout={}", p.skip_wait_for_delete_timeout),
        format!("--force-reboot={}", p.force_reboot),
        format!("--metrics-port={METRICS_PORT}"),
    ];
    match &p.reboot_sentinel_command {
        Some(command) => args.push(format!("--reboot-sentinel-command={command}")),
        None => args.push(format!("--reboot-sentinel={SENTINEL_DIR}/reboot-required")),
    }
    match p.reboot_method {
        RebootMethod::Signal => args.push("--reboot-method=signal".into()),
        RebootMethod::Command => args.push("--reboot-method=command".into()),
    }
    if let Some(ttl) = &p.lock_ttl {
        args.push(format!("--lock-ttl={ttl}"));
    }
    if let Some(prometheus) = alerts_from(p, cx) {
        args.push(format!("--prometheus-url={}", prometheus.http_url()));
        args.push(format!("--alert-filter-regexp={}", p.alert_filter_regexp));
        args.push("--alert-firing-only=true".into());
    }
    args
}

fn security(p: &KuredParams) -> SecurityContext {
    let seccomp = Some(runtime_default_seccomp());
    match p.reboot_method {
        // Signalling PID 1 needs root's uid (capabilities added to a non-root container
        // are not effective) and CAP_KILL, nothing else.
        RebootMethod::Signal => SecurityContext {
            allow_privilege_escalation: Some(false),
            privileged: Some(false),
            read_only_root_filesystem: Some(true),
            run_as_user: Some(0),
            run_as_non_root: Some(false),
            capabilities: Some(Capabilities { add: Some(vec!["KILL".into()]), drop: Some(vec!["ALL".into()]) }),
            seccomp_profile: seccomp,
            ..Default::default()
        },
        // nsenter into PID 1's mount namespace needs a privileged container (and the API
        // server refuses `allowPrivilegeEscalation: false` next to `privileged: true`).
        RebootMethod::Command => SecurityContext {
            privileged: Some(true),
            read_only_root_filesystem: Some(true),
            run_as_user: Some(0),
            run_as_non_root: Some(false),
            ..Default::default()
        },
    }
}

fn exception(p: &KuredParams) -> String {
    let how = match p.reboot_method {
        RebootMethod::Signal => {
            "runs as uid 0 with CAP_KILL in the host's PID namespace (hostPID) to send systemd, PID 1, its reboot \
             signal"
        }
        RebootMethod::Command => {
            "runs privileged in the host's PID namespace (hostPID) to nsenter PID 1's mount namespace and run \
             `systemctl reboot` and the sentinel command on the host"
        }
    };
    format!(
        "container `{NAME}` {how}; it reads the host's /var/run (hostPath, read-only) for the reboot-required \
         sentinel. Rebooting the node is its whole purpose"
    )
}

/// `/metrics` answers while kured's loop runs (upstream chart's probes).
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

fn daemon_set(p: &KuredParams, cx: &Context, mut annotations: BTreeMap<String, String>) -> DaemonSet {
    let selector = meta::selector(meta::selector_labels(NAME));
    let mut template_labels = labels();
    template_labels.extend(meta::selector_labels(NAME));
    annotations.insert(SECURITY_EXCEPTION_ANNOTATION.to_string(), exception(p));
    let container = Container {
        name: NAME.into(),
        image: Some(p.image.clone()),
        command: Some(args(p, cx)),
        env: Some(vec![EnvVar {
            // The node to drain, reboot and lock for.
            name: "KURED_NODE_ID".into(),
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
        security_context: Some(security(p)),
        liveness_probe: Some(metrics_probe(3)),
        readiness_probe: Some(metrics_probe(1)),
        volume_mounts: Some(vec![VolumeMount {
            name: "sentinel".into(),
            mount_path: SENTINEL_DIR.into(),
            read_only: Some(true),
            ..Default::default()
        }]),
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
        host_pid: Some(true),
        node_selector: Some(BTreeMap::from([("kubernetes.io/os".to_string(), "linux".to_string())])),
        // Control-plane nodes need patching too (upstream's tolerations).
        tolerations: Some(vec![Toleration {
            key: Some("node-role.kubernetes.io/control-plane".into()),
            operator: Some("Exists".into()),
            effect: Some("NoSchedule".into()),
            ..Default::default()
        }]),
        containers: vec![container],
        volumes: Some(vec![Volume {
            name: "sentinel".into(),
            host_path: Some(HostPathVolumeSource { path: "/var/run".into(), type_: Some("Directory".into()) }),
            ..Default::default()
        }]),
        ..Default::default()
    };
    crate::common::daemon_set::rolling(
        metadata(&p.namespace),
        selector,
        IntOrString::Int(1),
        crate::common::daemon_set::pod_template(template_labels, annotations, pod),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::testing;
    use crate::common::testing::{find, path_of};
    use crate::context::ServiceRef;
    use crate::stack::Stack;

    fn cx() -> Context {
        let mut cx = Context::default();
        cx.published.prometheus =
            Some(ServiceRef { name: "prometheus".into(), namespace: "kubeprod".into(), port: 9090 });
        cx
    }

    fn build(p: &KuredParams) -> Vec<Object> {
        Kured::build(p, &cx()).unwrap_or_else(|e| panic!("builds: {e}"))
    }

    fn with(f: impl FnOnce(&mut KuredParams)) -> KuredParams {
        testing::with(f)
    }

    fn container(objects: &[Object]) -> serde_json::Value {
        crate::common::testing::first_container(objects, "daemonset")
    }

    fn command(objects: &[Object]) -> Vec<String> {
        crate::common::testing::strings(&container(objects)["command"])
    }

    #[test]
    fn default_build_has_upstreams_objects_in_kube_system() {
        let objects = build(&KuredParams::default());
        let got: Vec<(&str, &str, &str, &str)> =
            objects.iter().map(|o| (o.key.as_str(), o.kind(), o.namespace(), o.name())).collect();
        assert_eq!(
            got,
            [
                ("serviceAccount", "ServiceAccount", "kube-system", "kured"),
                ("clusterRole", "ClusterRole", "", "kured"),
                ("clusterRoleBinding", "ClusterRoleBinding", "", "kured"),
                ("role", "Role", "kube-system", "kured"),
                ("roleBinding", "RoleBinding", "kube-system", "kured"),
                ("daemonset", "DaemonSet", "kube-system", "kured"),
            ]
        );
        assert_eq!(container(&objects)["image"], DEFAULT_IMAGE);
        // The DaemonSet kured locks on is the one rendered.
        let cmd = command(&objects);
        assert!(
            cmd.contains(&"--ds-name=kured".to_string()) && cmd.contains(&"--ds-namespace=kube-system".to_string())
        );
        assert!(cmd.contains(&format!("--lock-annotation={DEFAULT_LOCK_ANNOTATION}")));
        let moved = build(&with(|p| p.namespace = "kubeprod".into()));
        assert!(moved.iter().all(|o| o.namespace() == "kubeprod" || o.namespace().is_empty()));
        assert!(command(&moved).contains(&"--ds-namespace=kubeprod".to_string()));
        assert_eq!(find(&moved, "clusterRoleBinding").value["subjects"][0]["namespace"], "kubeprod");
    }

    #[test]
    fn rbac_cordons_drains_and_locks_only_its_own_daemonset() {
        let objects = build(&KuredParams::default());
        assert_eq!(
            find(&objects, "clusterRole").value["rules"],
            serde_json::json!([
                {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "patch"]},
                {"apiGroups": [""], "resources": ["pods"], "verbs": ["list", "delete", "get"]},
                {"apiGroups": ["apps"], "resources": ["daemonsets"], "verbs": ["get"]},
                {"apiGroups": [""], "resources": ["pods/eviction"], "verbs": ["create"]},
            ])
        );
        assert_eq!(
            find(&objects, "role").value["rules"],
            serde_json::json!([{"apiGroups": ["apps"], "resources": ["daemonsets"], "resourceNames": ["kured"], "verbs": ["update"]}])
        );
        assert_eq!(find(&objects, "roleBinding").value["roleRef"]["name"], "kured");
    }

    #[test]
    fn reboot_window_and_drain_settings_reach_the_flags() {
        let objects = build(&with(|p| {
            p.reboot_days = vec!["sat".into(), "sun".into()];
            p.start_time = "22:00".into();
            p.end_time = "4:00".into();
            p.time_zone = "Europe/Berlin".into();
            p.drain_timeout = "1h".into();
            p.skip_wait_for_delete_timeout = 0;
            p.lock_ttl = Some("3h".into());
            p.concurrency = 2;
        }));
        let cmd = command(&objects);
        for want in [
            "--reboot-days=sat,sun",
            "--start-time=22:00",
            "--end-time=4:00",
            "--time-zone=Europe/Berlin",
            "--drain-timeout=1h",
            "--skip-wait-for-delete-timeout=0",
            "--lock-ttl=3h",
            "--concurrency=2",
            "--force-reboot=false",
            "--drain-grace-period=-1",
            "--reboot-sentinel=/sentinel/reboot-required",
        ] {
            assert!(cmd.contains(&want.to_string()), "{want} not in {cmd:?}");
        }
        let defaults = command(&build(&KuredParams::default()));
        assert!(defaults.contains(&"--reboot-days=mon,tue,wed,thu,fri".to_string()));
        assert!(!defaults.iter().any(|a| a.starts_with("--lock-ttl")), "no TTL unless asked");
    }

    #[test]
    fn signal_method_needs_only_cap_kill_and_says_why() {
        let objects = build(&KuredParams::default());
        let c = container(&objects);
        let sc = &c["securityContext"];
        assert_eq!(sc["privileged"], false);
        assert_eq!(sc["allowPrivilegeEscalation"], false);
        assert_eq!(sc["readOnlyRootFilesystem"], true);
        assert_eq!(sc["capabilities"], serde_json::json!({"add": ["KILL"], "drop": ["ALL"]}));
        let ds = &find(&objects, "daemonset").value;
        assert_eq!(ds["spec"]["template"]["spec"]["hostPID"], true);
        assert_eq!(ds["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"], false);
        let vol = &ds["spec"]["template"]["spec"]["volumes"][0];
        assert_eq!(vol["hostPath"]["path"], "/var/run");
        assert_eq!(c["volumeMounts"][0]["readOnly"], true);
        assert!(command(&objects).contains(&"--reboot-method=signal".to_string()));
        let why =
            ds["spec"]["template"]["metadata"]["annotations"][SECURITY_EXCEPTION_ANNOTATION].as_str().unwrap_or("");
        assert!(why.contains("hostPID") && why.contains("CAP_KILL") && why.contains("/var/run"), "{why}");

        let objects = build(&with(|p| {
            p.reboot_method = RebootMethod::Command;
            p.reboot_sentinel_command = Some("sh -c \"! needs-restarting --reboothint\"".into());
        }));
        let sc = &container(&objects)["securityContext"];
        assert_eq!(sc["privileged"], true);
        assert!(sc.get("allowPrivilegeEscalation").is_none(), "the API server refuses false with privileged");
        let cmd = command(&objects);
        assert!(cmd.contains(&"--reboot-method=command".to_string()));
        assert!(cmd.contains(&"--reboot-sentinel-command=sh -c \"! needs-restarting --reboothint\"".to_string()));
        assert!(!cmd.iter().any(|a| a.starts_with("--reboot-sentinel=")));
        let why = find(&objects, "daemonset").value["spec"]["template"]["metadata"]["annotations"]
            [SECURITY_EXCEPTION_ANNOTATION]
            .as_str()
            .unwrap_or("")
            .to_string();
        assert!(why.contains("privileged") && why.contains("nsenter"), "{why}");
    }

    #[test]
    fn firing_alerts_hold_reboots_when_prometheus_renders() {
        let cmd = command(&build(&KuredParams::default()));
        assert!(cmd.contains(&"--prometheus-url=http://prometheus.kubeprod.svc:9090".to_string()));
        assert!(cmd.contains(&"--alert-filter-regexp=^RebootRequired$".to_string()));
        assert!(cmd.contains(&"--alert-firing-only=true".to_string()));
        let off = command(&build(&with(|p| p.block_on_alerts = false)));
        assert!(!off.iter().any(|a| a.starts_with("--prometheus-url")));
        let without = Kured::build(&KuredParams::default(), &Context::default()).expect("builds");
        assert!(!command(&without).iter().any(|a| a.starts_with("--prometheus-url")), "no Prometheus rendered");
    }

    #[test]
    fn metrics_are_scraped_from_the_metrics_port() {
        let objects = build(&KuredParams::default());
        let ann = &find(&objects, "daemonset").value["spec"]["template"]["metadata"]["annotations"];
        assert_eq!(ann["prometheus.io/scrape"], "true");
        assert_eq!(ann["prometheus.io/port"], "8080");
        let c = container(&objects);
        assert_eq!(c["ports"][0], serde_json::json!({"name": "metrics", "containerPort": 8080, "protocol": "TCP"}));
        assert!(command(&objects).contains(&"--metrics-port=8080".to_string()));
        assert_eq!(c["readinessProbe"]["httpGet"]["port"], "metrics");
        assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/metrics");
        assert!(objects.iter().all(|o| o.kind() != "PodMonitor"), "annotations mode renders no monitor");

        // Operator mode: a PodMonitor beside the DaemonSet, on the named port, and no
        // annotations (the security exception stays).
        let mut operator = cx();
        operator.platform.monitoring = crate::context::MonitoringMode::Operator;
        let objects = Kured::build(&KuredParams::default(), &operator).expect("builds");
        let ann = &find(&objects, "daemonset").value["spec"]["template"]["metadata"]["annotations"];
        assert!(ann.get("prometheus.io/scrape").is_none(), "{ann}");
        assert!(ann.get(SECURITY_EXCEPTION_ANNOTATION).is_some());
        let monitor = find(&objects, "podMonitor");
        assert_eq!(monitor.namespace(), "kube-system");
        assert_eq!(monitor.value["spec"]["podMetricsEndpoints"][0]["port"], "metrics");
        assert_eq!(monitor.value["spec"]["selector"]["matchLabels"], serde_json::json!(meta::selector_labels(NAME)));
    }

    #[test]
    fn network_flows_reach_the_api_and_prometheus_only_when_alerts_hold_reboots() {
        use crate::network::Egress;
        let prometheus = Egress::Service { namespace: Some("kubeprod".into()), name: "prometheus".into(), port: 9090 };
        let flows = Kured::network(&KuredParams::default(), &cx());
        assert_eq!((flows[0].workload, flows[0].key), ("daemonset", "networkPolicy"));
        assert!(flows[0].talks_to_api());
        assert!(flows[0].egress.contains(&prometheus));
        let off = Kured::network(&with(|p| p.block_on_alerts = false), &cx());
        assert_eq!(off[0].egress, [Egress::ApiServer]);
        assert_eq!(Kured::network(&KuredParams::default(), &Context::default())[0].egress, [Egress::ApiServer]);
    }

    #[test]
    fn waivers_follow_the_reboot_method() {
        use crate::waivers::Check;
        let checks = |p: &KuredParams| -> Vec<Check> { Kured::waivers(p, &cx()).iter().map(|w| w.check).collect() };
        let signal = checks(&KuredParams::default());
        assert!(signal.contains(&Check::HostPid) && signal.contains(&Check::AddedCapability));
        assert!(!signal.contains(&Check::Privileged), "the signal method is not privileged");
        let command = checks(&with(|p| p.reboot_method = RebootMethod::Command));
        assert!(command.contains(&Check::Privileged) && !command.contains(&Check::AddedCapability));
        for w in Kured::waivers(&KuredParams::default(), &cx()) {
            assert!(Kured::OBJECTS.iter().any(|d| d.key == w.key), "{} is documented", w.key);
        }
    }

    #[test]
    fn kured_is_opt_in() {
        let components: [&dyn crate::ErasedComponent; 1] = [&Kured];
        for platform in ["gke", "eks", "aks", "onprem"] {
            let mut s = Stack::new();
            s.platform(platform, "test").expect("platform exists");
            let off = s.render(&components).unwrap_or_else(|e| panic!("{}", e.render()));
            assert!(off.objects.iter().all(|o| o.name() != "kured"), "{platform}: kured reboots nodes only when asked");
            s.set("platform.components.kured=true", false).expect("a valid --set");
            let on = s.render(&components).unwrap_or_else(|e| panic!("{}", e.render()));
            assert!(on.objects.iter().any(|o| o.kind() == "DaemonSet" && o.name() == "kured"), "{platform}");
            assert!(
                on.objects.iter().all(|o| o.kind() != "Namespace" || o.name() != "kube-system"),
                "never owns kube-system"
            );
        }
    }

    #[test]
    fn bad_parameters_are_errors_naming_their_path() {
        let path = |p: KuredParams| {
            let e = Kured::build(&p, &cx()).expect_err("rejected");
            assert!(!e.helps().is_empty(), "{e} has no help");
            path_of(&e)
        };
        assert_eq!(path(with(|p| p.start_time = "25:00".into())), "kured.start_time");
        assert_eq!(path(with(|p| p.end_time = "6pm".into())), "kured.end_time");
        assert_eq!(path(with(|p| p.end_time = p.start_time.clone())), "kured.end_time");
        assert_eq!(path(with(|p| p.reboot_days = vec!["mon".into(), "funday".into()])), "kured.reboot_days[1]");
        assert_eq!(path(with(|p| p.reboot_days.clear())), "kured.reboot_days");
        assert_eq!(path(with(|p| p.period = "1d".into())), "kured.period");
        assert_eq!(path(with(|p| p.period = "0".into())), "kured.period");
        assert_eq!(path(with(|p| p.drain_timeout = "soon".into())), "kured.drain_timeout");
        assert_eq!(path(with(|p| p.lock_ttl = Some("2 hours".into()))), "kured.lock_ttl");
        assert_eq!(path(with(|p| p.time_zone = "Europe Berlin".into())), "kured.time_zone");
        assert_eq!(path(with(|p| p.concurrency = 0)), "kured.concurrency");
        assert_eq!(path(with(|p| p.lock_annotation = "not a key".into())), "kured.lock_annotation");
        assert_eq!(path(with(|p| p.drain_grace_period = -2)), "kured.drain_grace_period");
        assert_eq!(path(with(|p| p.namespace = "Kube System".into())), "kured.namespace");
        assert_eq!(path(with(|p| p.image = String::new())), "kured.image");
        assert_eq!(
            path(with(|p| p.reboot_sentinel_command = Some("needs-restarting -r".into()))),
            "kured.reboot_sentinel_command",
            "a host command needs the command reboot method"
        );
    }

    #[test]
    fn every_object_round_trips_and_selects_its_pods() {
        for p in [KuredParams::default(), with(|p| p.reboot_method = RebootMethod::Command)] {
            let objects = build(&p);
            let ds = find(&objects, "daemonset").value.clone();
            let labels = ds["spec"]["template"]["metadata"]["labels"].as_object().cloned().expect("labels");
            let sel = ds["spec"]["selector"]["matchLabels"].as_object().cloned().expect("a selector");
            assert!(sel.iter().all(|(k, v)| labels.get(k) == Some(v)));
            for mut o in objects {
                let before = o.value.clone();
                o.check_round_trip().unwrap_or_else(|e| panic!("{}: {e}", o.key));
                assert_eq!(before, o.value, "{} changed in the round trip", o.key);
            }
        }
    }
}
