//! The Sysdig agent (optional): a DaemonSet that watches every node's processes and
//! containers and reports to the on-prem collector (`sdc-collector:6443`), with its access
//! key from a Secret and a ServiceAccount and ClusterRole of its own that only read.
//!
//! # What it fixes
//!
//! sdc-kubernetes' `frontend/sdc-agent-daemonset.yaml` had the access key in clear text in
//! the manifest, `image: sysdig/agent` without a tag (`imagePullPolicy: Always`), a
//! privileged container, the namespace's `default` ServiceAccount bound to a ClusterRole,
//! and the collector address commented out. Here the access key lives in the Secret
//! `sysdigcloud-agent` (key `access-key`, from the secrets file's `sdc_agent.access-key`, or
//! one the cluster holds), the image is pinned, the collector is the backend's Service, and
//! the agent has its own ServiceAccount and a read-only ClusterRole.
//!
//! # Security
//!
//! An agent sees the whole node, which no restricted pod can. By default it uses the
//! universal eBPF probe (no kernel module, no privileged container) with only the
//! capabilities that needs; `driver: kmod` runs it privileged to load the kernel module on
//! kernels without BTF. What it needs, and why, is in the pod's
//! `runway.dev/security-exception` annotation: the host's PID and network namespaces (to
//! see every process and connection as the node does), the host paths it reads (`/proc`
//! for processes, the container runtime's sockets and state under `/run`, `/var/run` and
//! `/var/lib` for container metadata, `/etc`, `/usr` and `/boot` for the OS and the kernel's
//! BTF and configuration, `/dev` for the driver), root, and seccomp `Unconfined` (the
//! `bpf` and `perf_event_open` calls). It runs in its own namespace (`sysdig-agent`), the
//! only one that needs the `privileged` Pod Security level. Its ClusterRole reads
//! workloads, nodes and their metrics, never Secrets or ConfigMaps, and writes nothing.

mod params;

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMap, ConfigMapVolumeSource, Container, DownwardAPIVolumeFile, DownwardAPIVolumeSource,
    EmptyDirVolumeSource, EnvVar, EnvVarSource, HTTPGetAction, HostPathVolumeSource, ObjectFieldSelector, PodSpec,
    Probe, SeccompProfile, Secret, SecretVolumeSource, SecurityContext, ServiceAccount, Toleration, Volume,
    VolumeMount,
};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule};

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::ByteString;
use runway_core::refs::ExternalRef;
use runway_core::{Error, KeyPath, Object};
use serde::Serialize;

pub use self::params::{Driver, SdcAgentParams, DEFAULT_IMAGE};
use crate::common::checksum::sha256_hex;
use crate::common::meta;
use crate::common::pod::SECURITY_EXCEPTION_ANNOTATION;
use crate::common::rbac::{self, Grant};
use crate::common::template::render_template;
use crate::component::{Component, ObjectDoc};
use crate::context::Context;

/// The DaemonSet, ServiceAccount, ClusterRole, binding and ConfigMap (the original's
/// DaemonSet name).
pub const NAME: &str = "sysdig-agent";
/// The Secret with the access key.
pub const ACCESS_KEY_SECRET: &str = "sysdigcloud-agent";
/// Its key, and the secrets file's key under `sdc_agent:`.
pub const ACCESS_KEY: &str = "access-key";

const COMPONENT_LABEL: &str = "sdc_agent";
const CONFIG_KEY: &str = "dragent.yaml";
const CONFIG_TEMPLATE: &str = include_str!("templates/dragent.yaml.j2");
/// The agent's health endpoint (agent 12.18 and later).
const HEALTH_PORT: i32 = 24483;
/// What the universal eBPF probe needs: Sysdig's own list for non-privileged agents.
const EBPF_CAPABILITIES: &[&str] =
    &["SYS_ADMIN", "SYS_RESOURCE", "SYS_PTRACE", "SYS_CHROOT", "DAC_READ_SEARCH", "KILL", "SETUID", "SETGID"];

/// The Sysdig agent component.
pub struct SdcAgent;

impl Component for SdcAgent {
    const NAME: &'static str = "sdc_agent";
    const SUMMARY: &'static str =
        "Sysdig agent DaemonSet reporting to the on-prem collector, access key from a Secret, read-only RBAC";
    const DEFAULT_ENABLED: bool = false;
    const OBJECTS: &'static [ObjectDoc] = &[
        ObjectDoc { key: "serviceAccount", kind: "ServiceAccount", doc: "the agent's own identity" },
        ObjectDoc { key: "clusterRole", kind: "ClusterRole", doc: "read workloads, nodes and their metrics" },
        ObjectDoc { key: "clusterRoleBinding", kind: "ClusterRoleBinding", doc: "binds it to the ServiceAccount" },
        ObjectDoc { key: "config", kind: "ConfigMap", doc: "dragent.yaml: the collector and the agent's settings" },
        ObjectDoc {
            key: "secret",
            kind: "Secret",
            doc: "`sysdigcloud-agent` with `access-key` (with `sdc_agent.access-key` in the secrets file)",
        },
        ObjectDoc { key: "daemonset", kind: "DaemonSet", doc: "one agent per node" },
    ];
    type Params = SdcAgentParams;

    fn externals(p: &SdcAgentParams, cx: &Context) -> Vec<ExternalRef> {
        if access_key(cx).is_some() {
            Vec::new()
        } else {
            vec![("Secret".to_string(), p.namespace.clone(), ACCESS_KEY_SECRET.to_string())]
        }
    }

    fn network(p: &SdcAgentParams, _: &Context) -> Vec<crate::network::Flows> {
        use crate::network::Flows;
        // On the host network: no policy applies to its pods, so none is rendered; the
        // flow is declared so the collector's side admits it.
        vec![Flows::new("daemonset", "networkPolicy")
            .to_address(&p.collector, p.collector_port, "the collector of another cluster")
            .to_api_server()]
    }

    fn build(p: &SdcAgentParams, cx: &Context) -> Result<Vec<Object>, Error> {
        p.validate()?;
        let ns = p.namespace.as_str();
        let config = render_config(p)?;
        let mut objects = vec![
            Object::new(Self::NAME, "serviceAccount", &service_account(ns)),
            Object::new(Self::NAME, "clusterRole", &cluster_role()),
            Object::new(Self::NAME, "clusterRoleBinding", &cluster_role_binding(ns)),
            Object::new(Self::NAME, "config", &config_map(ns, config.clone())),
        ];
        let key = access_key(cx);
        if let Some(key) = &key {
            if key.is_empty() {
                return Err(Error::invalid("secret `sdc_agent.access-key` is empty")
                    .with_path(KeyPath::root().key("secrets").key("sdc_agent").key(ACCESS_KEY))
                    .help("give the agent access key from Sysdig's Settings > Agent Installation, or leave it out to use an existing `sysdigcloud-agent` Secret"));
            }
            objects.push(Object::new(Self::NAME, "secret", &secret(ns, key)));
        }
        let checksum = sha256_hex(&format!("{config}\0{}", key.as_deref().unwrap_or_default()));
        objects.push(Object::new(Self::NAME, "daemonset", &daemon_set(p, &checksum)));
        Ok(objects)
    }
}

fn access_key(cx: &Context) -> Option<String> {
    cx.secrets_of("sdc_agent").and_then(|v| v.get(ACCESS_KEY)).map(|k| k.trim().to_string())
}

fn labels() -> BTreeMap<String, String> {
    let mut l = meta::labels(NAME, COMPONENT_LABEL);
    l.insert("app".into(), NAME.into());
    l
}

/// The original's pod selector (`name: sysdig-agent`).
fn selector_labels() -> BTreeMap<String, String> {
    meta::selector_labels(NAME)
}

/// A YAML scalar that reads back as the same string (a JSON string is a YAML one).
fn quoted(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

#[derive(Serialize)]
struct ConfigContext {
    cluster_name: Option<String>,
    collector: String,
    collector_port: u16,
    /// `true`/`false` (minijinja prints booleans as Python's `True`).
    ssl: &'static str,
    ssl_verify_certificate: &'static str,
    tags: Option<String>,
}

fn render_config(p: &SdcAgentParams) -> Result<String, Error> {
    let tags: Vec<String> = p.tags.iter().map(|(k, v)| format!("{k}:{v}")).collect();
    let cx = ConfigContext {
        cluster_name: p.cluster_name.as_deref().map(quoted),
        collector: quoted(&p.collector),
        collector_port: p.collector_port,
        ssl: if p.ssl { "true" } else { "false" },
        ssl_verify_certificate: if p.ssl_verify_certificate { "true" } else { "false" },
        tags: (!tags.is_empty()).then(|| quoted(&tags.join(","))),
    };
    render_template("dragent.yaml.j2", CONFIG_TEMPLATE, cx)
}

fn service_account(ns: &str) -> ServiceAccount {
    rbac::service_account(meta::namespaced(NAME, ns, labels()), None)
}

fn read(groups: &[&str], resources: &[&str]) -> PolicyRule {
    rbac::rule(groups, resources, rbac::READ)
}

/// Read-only: what the agent reports on (workloads, nodes, their metrics and events),
/// never Secrets or ConfigMaps, and no write at all (Sysdig's chart also lets it create
/// events and read `nodes/proxy`, which reaches the kubelet's whole API; both left out).
fn cluster_role() -> ClusterRole {
    rbac::cluster_role(
        meta::cluster_scoped(NAME, labels()),
        vec![
            read(
                &[""],
                &[
                    "endpoints",
                    "events",
                    "limitranges",
                    "namespaces",
                    "nodes",
                    "nodes/metrics",
                    "nodes/stats",
                    "persistentvolumeclaims",
                    "persistentvolumes",
                    "pods",
                    "replicationcontrollers",
                    "resourcequotas",
                    "services",
                ],
            ),
            read(&["apps"], &["daemonsets", "deployments", "replicasets", "statefulsets"]),
            read(&["autoscaling"], &["horizontalpodautoscalers"]),
            read(&["batch"], &["cronjobs", "jobs"]),
            read(&["discovery.k8s.io"], &["endpointslices"]),
            read(&["networking.k8s.io"], &["ingresses", "networkpolicies"]),
            read(&["policy"], &["poddisruptionbudgets"]),
            read(&["storage.k8s.io"], &["storageclasses"]),
            PolicyRule {
                non_resource_urls: Some(vec!["/healthz".into(), "/healthz/*".into(), "/metrics".into()]),
                verbs: vec!["get".into()],
                ..Default::default()
            },
        ],
    )
}

fn cluster_role_binding(ns: &str) -> ClusterRoleBinding {
    Grant { role: NAME, service_account: NAME, namespace: ns }
        .cluster_role_binding(meta::cluster_scoped(NAME, labels()))
}

fn config_map(ns: &str, config: String) -> ConfigMap {
    ConfigMap {
        metadata: meta::namespaced(NAME, ns, labels()),
        data: Some(BTreeMap::from([(CONFIG_KEY.to_string(), config)])),
        ..Default::default()
    }
}

fn secret(ns: &str, key: &str) -> Secret {
    Secret {
        metadata: meta::namespaced(ACCESS_KEY_SECRET, ns, labels()),
        type_: Some("Opaque".into()),
        data: Some(BTreeMap::from([(ACCESS_KEY.to_string(), ByteString(key.as_bytes().to_vec()))])),
        ..Default::default()
    }
}

/// Host paths: (volume, host path, mount path, read-only, kmod only).
const HOST_PATHS: &[(&str, &str, &str, bool, bool)] = &[
    ("dev-vol", "/dev", "/host/dev", false, false),
    ("proc-vol", "/proc", "/host/proc", true, false),
    ("usr-vol", "/usr", "/host/usr", true, false),
    ("run-vol", "/run", "/host/run", false, false),
    ("varrun-vol", "/var/run", "/host/var/run", false, false),
    ("varlib-vol", "/var/lib", "/host/var/lib", false, false),
    ("vardata-vol", "/var/data", "/host/var/data", false, false),
    ("etc-vol", "/etc", "/host/etc", true, false),
    ("boot-vol", "/boot", "/host/boot", true, false),
    ("modules-vol", "/lib/modules", "/host/lib/modules", true, true),
    ("modprobe-d", "/etc/modprobe.d", "/etc/modprobe.d", true, true),
];

fn security_exception(p: &SdcAgentParams) -> String {
    let privileges = match p.driver {
        Driver::UniversalEbpf => format!(
            "runs as root with {} (the eBPF probe's needs) and seccomp Unconfined (bpf and perf_event_open)",
            EBPF_CAPABILITIES.join(", ")
        ),
        Driver::Kmod => "runs privileged as root to build and load the sysdig kernel module (`driver: kmod`)".into(),
    };
    format!(
        "the agent sees the whole node: hostPID and hostNetwork to see every process and connection as the node \
         does; host paths /proc (processes), /run, /var/run and /var/lib (the container runtime's sockets and \
         state, for container metadata), /var/data, /etc, /usr and /boot (the OS, kernel BTF and configuration, \
         read-only but /var/*), /dev (the driver's devices){}; it {privileges}",
        if p.driver == Driver::Kmod { ", /lib/modules and /etc/modprobe.d (the kernel module)" } else { "" }
    )
}

fn daemon_set(p: &SdcAgentParams, checksum: &str) -> DaemonSet {
    let kmod = p.driver == Driver::Kmod;
    let host_paths: Vec<_> = HOST_PATHS.iter().filter(|h| kmod || !h.4).collect();
    let mut volumes: Vec<Volume> = host_paths
        .iter()
        .map(|(name, path, ..)| Volume {
            name: (*name).into(),
            host_path: Some(HostPathVolumeSource { path: (*path).into(), type_: None }),
            ..Default::default()
        })
        .collect();
    let mut mounts: Vec<VolumeMount> = host_paths
        .iter()
        .map(|(name, _, mount, ro, _)| VolumeMount {
            name: (*name).into(),
            mount_path: (*mount).into(),
            read_only: ro.then_some(true),
            ..Default::default()
        })
        .collect();
    volumes.extend([
        Volume {
            name: "dshm".into(),
            empty_dir: Some(EmptyDirVolumeSource { medium: Some("Memory".into()), ..Default::default() }),
            ..Default::default()
        },
        Volume {
            name: "config".into(),
            config_map: Some(ConfigMapVolumeSource { name: NAME.into(), ..Default::default() }),
            ..Default::default()
        },
        Volume {
            name: "secrets".into(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(ACCESS_KEY_SECRET.into()),
                default_mode: Some(0o400),
                ..Default::default()
            }),
            ..Default::default()
        },
        Volume {
            name: "podinfo".into(),
            downward_api: Some(DownwardAPIVolumeSource {
                items: Some(
                    [("namespace", "metadata.namespace"), ("name", "metadata.name")]
                        .iter()
                        .map(|(path, field)| DownwardAPIVolumeFile {
                            path: (*path).into(),
                            field_ref: Some(ObjectFieldSelector {
                                api_version: Some("v1".into()),
                                field_path: (*field).into(),
                            }),
                            ..Default::default()
                        })
                        .collect(),
                ),
                ..Default::default()
            }),
            ..Default::default()
        },
    ]);
    let ro = |name: &str, path: &str| VolumeMount {
        name: name.into(),
        mount_path: path.into(),
        read_only: Some(true),
        ..Default::default()
    };
    mounts.extend([
        VolumeMount { name: "dshm".into(), mount_path: "/dev/shm".into(), ..Default::default() },
        ro("config", "/opt/draios/etc/kubernetes/config"),
        ro("secrets", "/opt/draios/etc/kubernetes/secrets"),
        ro("podinfo", "/etc/podinfo"),
    ]);

    let mut env = vec![EnvVar {
        name: "K8S_NODE".into(),
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector { api_version: Some("v1".into()), field_path: "spec.nodeName".into() }),
            ..Default::default()
        }),
        ..Default::default()
    }];
    if !kmod {
        env.push(EnvVar {
            name: "SYSDIG_AGENT_DRIVER".into(),
            value: Some("universal_ebpf".into()),
            ..Default::default()
        });
    }

    let security_context = if kmod {
        SecurityContext {
            privileged: Some(true),
            run_as_user: Some(0),
            run_as_non_root: Some(false),
            read_only_root_filesystem: Some(false),
            allow_privilege_escalation: Some(true),
            ..Default::default()
        }
    } else {
        SecurityContext {
            privileged: Some(false),
            run_as_user: Some(0),
            run_as_non_root: Some(false),
            read_only_root_filesystem: Some(false),
            allow_privilege_escalation: Some(false),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".into()]),
                add: Some(EBPF_CAPABILITIES.iter().map(|c| c.to_string()).collect()),
            }),
            seccomp_profile: Some(SeccompProfile { type_: "Unconfined".into(), ..Default::default() }),
            ..Default::default()
        }
    };

    let container = Container {
        name: "sysdig".into(),
        image: Some(p.image.clone()),
        image_pull_policy: Some("IfNotPresent".into()),
        env: Some(env),
        resources: Some(p.resources.to_k8s()),
        security_context: Some(security_context),
        // Ready once the agent runs and has its configuration (Sysdig's probe and timings).
        readiness_probe: Some(Probe {
            http_get: Some(HTTPGetAction {
                host: Some("127.0.0.1".into()),
                path: Some("/healthz".into()),
                port: IntOrString::Int(HEALTH_PORT),
                ..Default::default()
            }),
            initial_delay_seconds: Some(90),
            period_seconds: Some(10),
            failure_threshold: Some(9),
            ..Default::default()
        }),
        volume_mounts: Some(mounts),
        ..Default::default()
    };

    let annotations = BTreeMap::from([
        ("checksum/config".to_string(), checksum.to_string()),
        (SECURITY_EXCEPTION_ANNOTATION.to_string(), security_exception(p)),
    ]);
    let mut template_labels = labels();
    template_labels.extend(selector_labels());
    let control_plane = |key: &str| Toleration {
        key: Some(key.into()),
        operator: Some("Exists".into()),
        effect: Some("NoSchedule".into()),
        ..Default::default()
    };
    let pod = PodSpec {
        service_account_name: Some(NAME.into()),
        host_network: Some(true),
        host_pid: Some(true),
        dns_policy: Some("ClusterFirstWithHostNet".into()),
        priority_class_name: p.priority_class_name.clone(),
        termination_grace_period_seconds: Some(5),
        tolerations: Some(vec![
            control_plane("node-role.kubernetes.io/control-plane"),
            control_plane("node-role.kubernetes.io/master"),
        ]),
        containers: vec![container],
        volumes: Some(volumes),
        ..Default::default()
    };
    crate::common::daemon_set::rolling(
        meta::namespaced(NAME, &p.namespace, labels()),
        meta::selector(selector_labels()),
        IntOrString::Int(1),
        crate::common::daemon_set::pod_template(template_labels, annotations, pod),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::testing;
    use crate::quantity::Quantity;
    use crate::stack::Stack;

    fn build(p: &SdcAgentParams, cx: &Context) -> Vec<Object> {
        SdcAgent::build(p, cx).unwrap_or_else(|e| panic!("builds: {e}"))
    }

    fn find<'a>(objects: &'a [Object], key: &str) -> &'a serde_json::Value {
        &objects.iter().find(|o| o.key == key).unwrap_or_else(|| panic!("no object `{key}`")).value
    }

    fn with(f: impl FnOnce(&mut SdcAgentParams)) -> SdcAgentParams {
        testing::with(f)
    }

    fn cx_with_key(key: &str) -> Context {
        let mut cx = Context::default();
        cx.secrets.insert("sdc_agent".into(), BTreeMap::from([("access-key".to_string(), key.to_string())]));
        cx
    }

    fn config(objects: &[Object]) -> String {
        find(objects, "config")["data"]["dragent.yaml"].as_str().unwrap_or_default().to_string()
    }

    #[test]
    fn default_build_has_its_own_identity_and_reads_the_key_from_a_secret() {
        let objects = build(&SdcAgentParams::default(), &Context::default());
        let got: Vec<(&str, &str, &str, &str)> =
            objects.iter().map(|o| (o.key.as_str(), o.kind(), o.namespace(), o.name())).collect();
        assert_eq!(
            got,
            [
                ("serviceAccount", "ServiceAccount", "sysdig-agent", "sysdig-agent"),
                ("clusterRole", "ClusterRole", "", "sysdig-agent"),
                ("clusterRoleBinding", "ClusterRoleBinding", "", "sysdig-agent"),
                ("config", "ConfigMap", "sysdig-agent", "sysdig-agent"),
                ("daemonset", "DaemonSet", "sysdig-agent", "sysdig-agent"),
            ]
        );
        assert_eq!(
            SdcAgent::externals(&SdcAgentParams::default(), &Context::default()),
            [("Secret".to_string(), "sysdig-agent".to_string(), "sysdigcloud-agent".to_string())]
        );
        let spec = &find(&objects, "daemonset")["spec"]["template"]["spec"];
        assert_eq!(spec["serviceAccountName"], "sysdig-agent");
        let c = &spec["containers"][0];
        assert_eq!(c["image"], DEFAULT_IMAGE);
        let secret_vol = spec["volumes"].as_array().into_iter().flatten().find(|v| v["name"] == "secrets");
        assert_eq!(secret_vol.expect("secrets volume")["secret"]["secretName"], "sysdigcloud-agent");
        assert!(!find(&objects, "config").to_string().contains("access"), "no key in the ConfigMap");
    }

    #[test]
    fn collector_is_the_backends_service() {
        let text = config(&build(&SdcAgentParams::default(), &Context::default()));
        assert!(text.contains("collector: \"sdc-collector.sysdigcloud.svc\"\n"), "{text}");
        assert!(text.contains("collector_port: 6443\n"), "{text}");
        assert!(text.contains("ssl: true\n"), "{text}");
        assert!(text.contains("ssl_verify_certificate: false\n"), "{text}");
        assert!(!text.contains("k8s_cluster_name") && !text.contains("tags"), "{text}");
        let p = with(|p| {
            p.cluster_name = Some("prod".into());
            p.tags = BTreeMap::from([("env".to_string(), "prod".to_string()), ("team".to_string(), "ops".to_string())]);
        });
        let text = config(&build(&p, &Context::default()));
        assert!(text.contains("k8s_cluster_name: \"prod\"\n"), "{text}");
        assert!(text.contains("tags: \"env:prod,team:ops\"\n"), "{text}");
    }

    #[test]
    fn secrets_file_renders_the_access_key_and_rolls_the_agents() {
        let cx = cx_with_key("f65322d7-da0c-44ea-b365-2506bb0db382");
        assert!(SdcAgent::externals(&SdcAgentParams::default(), &cx).is_empty());
        let objects = build(&SdcAgentParams::default(), &cx);
        let s = find(&objects, "secret");
        assert_eq!(s["metadata"]["name"], "sysdigcloud-agent");
        assert!(s["data"]["access-key"].is_string());
        for o in objects.iter().filter(|o| o.kind() != "Secret") {
            assert!(!o.value.to_string().contains("f65322d7"), "{}", o.key);
        }
        let sum = |objects: &[Object]| {
            find(objects, "daemonset")["spec"]["template"]["metadata"]["annotations"]["checksum/config"].clone()
        };
        assert_ne!(sum(&objects), sum(&build(&SdcAgentParams::default(), &cx_with_key("other"))));
        assert_ne!(sum(&objects), sum(&build(&with(|p| p.collector_port = 443), &cx)));
        assert!(SdcAgent::build(&SdcAgentParams::default(), &cx_with_key(" ")).is_err());
    }

    #[test]
    fn rbac_only_reads() {
        let objects = build(&SdcAgentParams::default(), &Context::default());
        let rules = find(&objects, "clusterRole")["rules"].as_array().expect("rules").clone();
        for r in &rules {
            for v in r["verbs"].as_array().expect("verbs") {
                assert!(["get", "list", "watch"].contains(&v.as_str().unwrap_or_default()), "{r}");
            }
            for res in r["resources"].as_array().into_iter().flatten() {
                let res = res.as_str().unwrap_or_default();
                assert!(!["secrets", "configmaps", "nodes/proxy"].contains(&res), "{res}");
            }
        }
        let binding = find(&objects, "clusterRoleBinding");
        assert_eq!(binding["roleRef"]["name"], "sysdig-agent");
        assert_eq!(
            binding["subjects"][0],
            serde_json::json!({"kind": "ServiceAccount", "name": "sysdig-agent", "namespace": "sysdig-agent"})
        );
    }

    #[test]
    fn ebpf_agent_is_not_privileged_and_says_why_it_needs_the_host() {
        let objects = build(&SdcAgentParams::default(), &Context::default());
        let tpl = &find(&objects, "daemonset")["spec"]["template"];
        let spec = &tpl["spec"];
        assert_eq!(spec["hostPID"], true);
        assert_eq!(spec["hostNetwork"], true);
        assert_eq!(spec["dnsPolicy"], "ClusterFirstWithHostNet");
        let sc = &spec["containers"][0]["securityContext"];
        assert_eq!(sc["privileged"], false);
        assert_eq!(sc["allowPrivilegeEscalation"], false);
        assert_eq!(sc["capabilities"]["drop"], serde_json::json!(["ALL"]));
        assert!(sc["capabilities"]["add"].as_array().expect("caps").iter().any(|c| c == "SYS_ADMIN"));
        let why = tpl["metadata"]["annotations"][SECURITY_EXCEPTION_ANNOTATION].as_str().unwrap_or_default();
        for word in ["hostPID", "hostNetwork", "/proc", "/var/run", "/dev", "Unconfined", "SYS_ADMIN"] {
            assert!(why.contains(word), "{word}: {why}");
        }
        let vols: Vec<&str> =
            spec["volumes"].as_array().expect("volumes").iter().filter_map(|v| v["name"].as_str()).collect();
        assert!(!vols.contains(&"modules-vol"), "no kernel module without kmod");
        let env = spec["containers"][0]["env"].as_array().expect("env");
        assert!(env.iter().any(|e| e["name"] == "SYSDIG_AGENT_DRIVER" && e["value"] == "universal_ebpf"));
        let c = &spec["containers"][0];
        assert_eq!(c["readinessProbe"]["httpGet"]["port"], 24483);
        assert!(c["resources"]["limits"]["memory"].is_string());
    }

    #[test]
    fn kmod_driver_runs_privileged_with_the_module_paths() {
        let objects = build(&with(|p| p.driver = Driver::Kmod), &Context::default());
        let tpl = &find(&objects, "daemonset")["spec"]["template"];
        assert_eq!(tpl["spec"]["containers"][0]["securityContext"]["privileged"], true);
        let vols: Vec<&str> =
            tpl["spec"]["volumes"].as_array().expect("volumes").iter().filter_map(|v| v["name"].as_str()).collect();
        assert!(vols.contains(&"modules-vol") && vols.contains(&"modprobe-d"));
        let why = tpl["metadata"]["annotations"][SECURITY_EXCEPTION_ANNOTATION].as_str().unwrap_or_default();
        assert!(why.contains("kernel module"), "{why}");
    }

    #[test]
    fn bad_parameters_are_errors() {
        let err = |p: SdcAgentParams| SdcAgent::build(&p, &Context::default()).expect_err("rejected");
        for (p, path) in [
            (with(|p| p.image = "sysdig/agent".into()), "sdc_agent.image"),
            (with(|p| p.namespace = "sysdigcloud".into()), "sdc_agent.namespace"),
            (with(|p| p.namespace = "Agents".into()), "sdc_agent.namespace"),
            (with(|p| p.collector = "https://collector:6443".into()), "sdc_agent.collector"),
            (with(|p| p.collector_port = 0), "sdc_agent.collector_port"),
            (with(|p| p.tags = BTreeMap::from([("a,b".to_string(), "c".to_string())])), "sdc_agent.tags"),
            (with(|p| p.resources.requests.memory = Quantity::from("4Gi")), "sdc_agent.resources"),
        ] {
            let e = err(p);
            assert_eq!(e.path().map(ToString::to_string).unwrap_or_default(), path);
            assert!(!e.helps().is_empty(), "{path}: no help");
        }
    }

    #[test]
    fn every_object_round_trips() {
        for driver in [Driver::UniversalEbpf, Driver::Kmod] {
            for mut o in build(&with(|p| p.driver = driver), &cx_with_key("k")) {
                let before = o.value.clone();
                o.check_round_trip().unwrap_or_else(|e| panic!("{}: {e}", o.key));
                assert_eq!(before, o.value, "{} changed in the round trip", o.key);
            }
        }
    }

    #[test]
    fn full_render_puts_the_agent_in_a_privileged_namespace_of_its_own() {
        let mut s = Stack::new();
        s.platform("gke", "test").expect("gke exists");
        s.set("platform.components.sdc_agent=true", false).expect("a valid --set");
        let rendered = s.render(&[&SdcAgent]).unwrap_or_else(|e| panic!("{}", e.render()));
        let ns = rendered.objects.iter().find(|o| o.kind() == "Namespace" && o.name() == "sysdig-agent");
        assert_eq!(
            ns.expect("namespace").value["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
            "privileged"
        );
        assert!(rendered.objects.iter().all(|o| o.namespace() != "sysdigcloud" || o.kind() == "ConfigMap"));
    }

    #[test]
    fn defaults_serialize_and_read_back() {
        let json = serde_json::to_value(SdcAgentParams::default()).expect("serializes");
        assert_eq!(json["driver"], "universal_ebpf");
        let back: SdcAgentParams = serde_json::from_value(json).expect("reads back");
        assert_eq!(back, SdcAgentParams::default());
        assert!(serde_json::from_value::<SdcAgentParams>(serde_json::json!({"access_key": "x"})).is_err());
    }
}
