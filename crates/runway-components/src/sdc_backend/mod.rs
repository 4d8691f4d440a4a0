//! The Sysdig backend: the Deployments `sdc-api`, `sdc-collector` and `sdc-worker` of one
//! image (`quay.io/sysdig/sysdigcloud-backend:VERSION`, the role chosen by `ROLES`), the
//! Services users and agents reach (`sdc-api` on 443, `sdc-collector` on 6443), and a
//! PodDisruptionBudget per role.
//!
//! # Adopting an sdc-kubernetes install in place
//!
//! Names, labels and container names are the original's: Deployments `sdc-api`,
//! `sdc-collector`, `sdc-worker` with pod labels `app: sysdigcloud` and `role: api |
//! collector | worker`, containers `api`, `collector`, `worker` (so `kubectl set image
//! deployment/sdc-api api=...` still works), Services `sdc-api` (port `secure-api` 443)
//! and `sdc-collector` (port `secure-collector` 6443) of type `LoadBalancer`, so the cloud
//! load balancers and their addresses survive. The original's Deployments
//! (`extensions/v1beta1`, no selector) were given the selector `{app, role}` by the API
//! server, which is exactly the selector here. Each selector matches its own role only.
//!
//! What changes, and why:
//! - One `version` parameter sets the image of all three ("Version updates" was a manual
//!   edit of three files or three `kubectl set image`).
//! - The passwords and the license are no longer in the ConfigMap: the backend reads them
//!   as files from `/opt/kubernets_secrets` (its documented split of configuration and
//!   secrets), a projected volume of the Secrets `sysdigcloud-license`,
//!   `sysdigcloud-secrets` (`sdc_config`), `sdc-mysql` (`sdc_mysql`) and `sdc-redis`
//!   (`sdc_redis`) under the original key names ([`crate::sdc_config::BACKEND_SECRET_FILES`]).
//!   The settings stay files in `/opt/kubernets_config` (the ConfigMap), and `API_ENDPOINT`,
//!   `JVM_EXTRA_OPTS` and `LOG_TO_STDOUT` stay `configMapKeyRef`s, as in the original.
//! - A Secret or ConfigMap change rolls the pods: `checksum/secrets` (the secret values the
//!   pods use, from the secrets file) and `checksum/referenced-config` (the ConfigMap and
//!   Secrets other components render, see [`crate::common::checksum`]) on the pod templates, in place of
//!   the original's `kubectl patch ... date` ritual.
//! - Probes (startup, readiness as the original's, liveness), requests and limits on every
//!   container, two replicas of api and collector, spread over nodes and zones, and a
//!   PodDisruptionBudget per role (`maxUnavailable: 1`).
//! - `exposure: NodePort` or `exposure: Ingress` (the API through the ingress controller
//!   with a cert-manager certificate; Sysdig has its own login, so no oauth2-proxy). The
//!   collector cannot go through an HTTP ingress (agents speak their own protocol over
//!   TLS), so it stays a `LoadBalancer` (or `collector_exposure: NodePort`). Tell the
//!   backend its public addresses in `sdc_config.endpoints` (`api_url`, and
//!   `collector_endpoint` / `collector_port` for agents outside the cluster).
//! - The TLS certificate `sysdigcloud-ssl-secret` (`/opt/certs`) is rendered from the
//!   secrets file's `ssl-certificate` and `ssl-key` when given, else it must exist.
//!
//! # Security
//!
//! The backend image runs as root (a process supervisor starts nginx on 443 or 6443 and the
//! JVM) and writes under its own directories at start; it has no non-root mode. Its
//! container keeps only the capabilities nginx and the supervisor use (CHOWN,
//! DAC_OVERRIDE, FOWNER, FSETID, KILL, NET_BIND_SERVICE, SETGID, SETUID), with privilege
//! escalation off, RuntimeDefault seccomp and no ServiceAccount token (the backend does not
//! talk to the Kubernetes API); the pods meet the `baseline` Pod Security Standard, and
//! their `runway.dev/security-exception` annotation says why not `restricted`.

mod params;

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment};
use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMapVolumeSource, Container, ContainerPort, EmptyDirVolumeSource, EnvVar, HTTPGetAction,
    KeyToPath, LocalObjectReference, PodSecurityContext, PodSpec, PodTemplateSpec, Probe, ProjectedVolumeSource,
    Secret, SecretProjection, SecretVolumeSource, SecurityContext, Service, ServicePort, ServiceSpec, TCPSocketAction,
    Volume, VolumeProjection,
};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::ByteString;
use runway_core::refs::ExternalRef;
use runway_core::{Error, KeyPath, Object};
use sha2::{Digest, Sha256};

pub use self::params::{
    CollectorExposure, Exposure, SdcBackendParams, ServedRole, WorkerRole, DEFAULT_VERSION, IMAGE_REPOSITORY,
};
use crate::common::env::value_env;
use crate::common::ingress::{backend_service_annotations, ui_ingress, BackendNeeds, IngressSpecFor};
use crate::common::meta;
use crate::common::pdb::{self, Budget};
use crate::common::pod::container_port as port;
use crate::common::pod::runtime_default_seccomp;
use crate::common::pod::{mount, read_only_mount};
use crate::common::pod::{spread_over_nodes, spread_over_zones};
use crate::common::pod::{Resources, SECURITY_EXCEPTION_ANNOTATION};
use crate::component::{Component, ObjectDoc};
use crate::context::Context;
use crate::sdc::{self, secrets};
use crate::sdc_config::{SecretFile, BACKEND_SECRET_FILES, CONFIG_MAP};

/// The API's Deployment, Service, disruption budget and Ingress.
pub const API: &str = "sdc-api";
/// The collector's Deployment, Service and disruption budget.
pub const COLLECTOR: &str = "sdc-collector";
/// The worker's Deployment and disruption budget.
pub const WORKER: &str = "sdc-worker";
/// The API's HTTPS port (nginx in the pod).
pub const API_PORT: i32 = 443;
/// The collector's port agents connect to.
pub const COLLECTOR_PORT: i32 = 6443;
/// The API's and worker's plain HTTP port (the JVM; `/api/ping`).
const HTTP_PORT: i32 = 9000;
/// The collector's health port (the original's readiness check).
const COLLECTOR_HEALTH_PORT: i32 = 6000;
/// The TLS certificate of nginx in the pods (`/opt/certs`), the original's name.
pub const SSL_SECRET: &str = "sysdigcloud-ssl-secret";

/// Keys of the `sdc` block of the secrets file that this component renders.
pub mod ssl_keys {
    /// The PEM certificate (chain) of `sysdigcloud-ssl-secret`.
    pub const CERTIFICATE: &str = "ssl-certificate";
    /// Its PEM private key.
    pub const KEY: &str = "ssl-key";
}

const CONFIG_DIR: &str = "/opt/kubernets_config";
const SECRETS_DIR: &str = "/opt/kubernets_secrets";
/// The capabilities the image's nginx and process supervisor use as root.
const CAPABILITIES: &[&str] =
    &["CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "NET_BIND_SERVICE", "SETGID", "SETUID"];
const SECURITY_EXCEPTION: &str = "the sysdigcloud-backend image runs as root (a process supervisor starts nginx on \
     443/6443 and the JVM) and writes under its own directories at start; it has no non-root mode. The container \
     keeps only CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, NET_BIND_SERVICE, SETGID and SETUID, with privilege \
     escalation off and RuntimeDefault seccomp (Pod Security Standard `baseline`)";

/// The three roles of the backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Api,
    Collector,
    Worker,
}

impl Role {
    /// The `role` label, the container's name and `ROLES`.
    fn label(self) -> &'static str {
        match self {
            Role::Api => "api",
            Role::Collector => "collector",
            Role::Worker => "worker",
        }
    }

    /// The Deployment's name.
    fn name(self) -> &'static str {
        match self {
            Role::Api => API,
            Role::Collector => COLLECTOR,
            Role::Worker => WORKER,
        }
    }
}

/// The Sysdig backend component.
pub struct SdcBackend;

impl Component for SdcBackend {
    const NAME: &'static str = "sdc_backend";
    const SUMMARY: &'static str = "Sysdig backend: sdc-api (443), sdc-collector (6443) and sdc-worker, one version";
    const DEFAULT_ENABLED: bool = false;
    const OBJECTS: &'static [ObjectDoc] = &[
        ObjectDoc { key: "api.deploy", kind: "Deployment", doc: "`sdc-api`: the web interface and API" },
        ObjectDoc { key: "api.svc", kind: "Service", doc: "`sdc-api`: port `secure-api` 443, as `exposure`" },
        ObjectDoc { key: "api.pdb", kind: "PodDisruptionBudget", doc: "one api pod down at a time" },
        ObjectDoc {
            key: "api.ingress",
            kind: "Ingress",
            doc: "`sdc-api` at `ingress_host.<dns_zone>` (`exposure: Ingress`)",
        },
        ObjectDoc { key: "collector.deploy", kind: "Deployment", doc: "`sdc-collector`: agents connect here" },
        ObjectDoc {
            key: "collector.svc",
            kind: "Service",
            doc: "`sdc-collector`: port `secure-collector` 6443, LoadBalancer or NodePort",
        },
        ObjectDoc { key: "collector.pdb", kind: "PodDisruptionBudget", doc: "one collector pod down at a time" },
        ObjectDoc { key: "worker.deploy", kind: "Deployment", doc: "`sdc-worker`: aggregations and alerts" },
        ObjectDoc { key: "worker.pdb", kind: "PodDisruptionBudget", doc: "one worker pod down at a time" },
        ObjectDoc {
            key: "sslSecret",
            kind: "Secret",
            doc: "`sysdigcloud-ssl-secret` (with `ssl-certificate` and `ssl-key` in the secrets file)",
        },
        ObjectDoc {
            key: "api.networkPolicy",
            kind: "NetworkPolicy",
            doc: "`sdc-api`: from anywhere on 443; to the datastores",
        },
        ObjectDoc {
            key: "collector.networkPolicy",
            kind: "NetworkPolicy",
            doc: "`sdc-collector`: from the agents on 6443; to the datastores",
        },
        ObjectDoc {
            key: "worker.networkPolicy",
            kind: "NetworkPolicy",
            doc: "`sdc-worker`: to the datastores and notification endpoints",
        },
    ];
    type Params = SdcBackendParams;

    fn externals(_: &SdcBackendParams, cx: &Context) -> Vec<ExternalRef> {
        if ssl_given(cx) {
            Vec::new()
        } else {
            vec![("Secret".to_string(), sdc::NAMESPACE.to_string(), SSL_SECRET.to_string())]
        }
    }

    fn network(_: &SdcBackendParams, _: &Context) -> Vec<crate::network::Flows> {
        use crate::network::{tcp, Flows};
        use crate::sdc::services as s;
        let datastores = |f: Flows| {
            f.to_local(s::CASSANDRA, i32::from(s::CASSANDRA_CQL_PORT))
                .to_local(s::ELASTICSEARCH, i32::from(s::ELASTICSEARCH_PORT))
                .to_local(s::MYSQL, i32::from(s::MYSQL_PORT))
                .to_local(s::MYSQL_READ, i32::from(s::MYSQL_PORT))
                .to_local(s::REDIS, i32::from(s::REDIS_PORT))
                .to_local(s::REDIS_READ, i32::from(s::REDIS_PORT))
                .to_local(s::REDIS_SENTINEL, i32::from(s::REDIS_SENTINEL_PORT))
        };
        let idp = "identity providers: OAuth/OpenID Connect (443) and LDAPS (636)";
        let notify = "notifications: email (25, 465, 587) and webhooks (443)";
        vec![
            datastores(Flows::new("api.deploy", "api.networkPolicy"))
                .from_anywhere(
                    &[tcp(443)],
                    "the API LoadBalancer's clients: browsers, agents' API calls, the metrics adapter",
                )
                .to_internet(&[tcp(443), tcp(636)], idp),
            datastores(Flows::new("collector.deploy", "collector.networkPolicy")).from_anywhere(
                &[tcp(COLLECTOR_PORT)],
                "agents, in this cluster or others, through the collector's LoadBalancer",
            ),
            datastores(Flows::new("worker.deploy", "worker.networkPolicy"))
                .to_internet(&[tcp(443), tcp(25), tcp(465), tcp(587)], notify),
        ]
    }

    fn waivers(_: &SdcBackendParams, _: &Context) -> Vec<crate::waivers::Waiver> {
        use crate::waivers::{Check, Waiver};
        vec![
            Waiver::new("api.deploy", Check::HighUid, "the sysdigcloud-backend image runs as root (see runway.dev/security-exception)"),
            Waiver::new("api.deploy", Check::RootContainer, "the sysdigcloud-backend image runs as root: a supervisor starts nginx and the JVM (see runway.dev/security-exception)"),
            Waiver::new("api.deploy", Check::ReadOnlyRootFilesystem, "the image writes its generated configuration and logs inside its own tree"),
            Waiver::new("api.deploy", Check::AddedCapability, "the capabilities its supervisor needs to drop to service users (see runway.dev/security-exception)"),
            Waiver::new("collector.deploy", Check::HighUid, "the sysdigcloud-backend image runs as root (see runway.dev/security-exception)"),
            Waiver::new("collector.deploy", Check::RootContainer, "the sysdigcloud-backend image runs as root: a supervisor starts nginx and the JVM (see runway.dev/security-exception)"),
            Waiver::new("collector.deploy", Check::ReadOnlyRootFilesystem, "the image writes its generated configuration and logs inside its own tree"),
            Waiver::new("collector.deploy", Check::AddedCapability, "the capabilities its supervisor needs to drop to service users (see runway.dev/security-exception)"),
            Waiver::new("worker.deploy", Check::HighUid, "the sysdigcloud-backend image runs as root (see runway.dev/security-exception)"),
            Waiver::new("worker.deploy", Check::RootContainer, "the sysdigcloud-backend image runs as root: a supervisor starts nginx and the JVM (see runway.dev/security-exception)"),
            Waiver::new("worker.deploy", Check::ReadOnlyRootFilesystem, "the image writes its generated configuration and logs inside its own tree"),
            Waiver::new("worker.deploy", Check::AddedCapability, "the capabilities its supervisor needs to drop to service users (see runway.dev/security-exception)"),
        ]
    }

    fn build(p: &SdcBackendParams, cx: &Context) -> Result<Vec<Object>, Error> {
        p.validate()?;
        let mut objects = Vec::new();
        if let Some(s) = ssl_secret(cx)? {
            objects.push(Object::new(Self::NAME, "sslSecret", &s));
        }
        let secrets_sum = secrets_checksum(cx);
        objects.push(Object::new(
            Self::NAME,
            "api.deploy",
            &deployment(p, cx, Role::Api, p.api.replicas, &p.api.resources, secrets_sum.as_deref()),
        ));
        let ingress = p.exposure == Exposure::Ingress && !cx.omits(Self::NAME, "api.ingress");
        let mut api_svc = api_service(p, cx);
        if ingress {
            // The controller's settings for this backend that live on the Service (Traefik's).
            let needs = backend_service_annotations(&API_BACKEND, cx);
            if !needs.is_empty() {
                api_svc.metadata.annotations.get_or_insert_with(BTreeMap::new).extend(needs);
            }
        }
        objects.push(Object::new(Self::NAME, "api.svc", &api_svc));
        objects.push(Object::new(Self::NAME, "api.pdb", &disruption_budget(Role::Api)));
        if ingress {
            let spec = IngressSpecFor {
                name: API,
                sub: &p.ingress_host,
                service: API,
                port_name: "secure-api",
                authenticated: false,
                component: Self::NAME,
                backend: API_BACKEND,
            };
            let mut ingress = ui_ingress(&spec, cx)?;
            ingress.metadata.namespace = Some(sdc::NAMESPACE.into());
            ingress.metadata.labels = Some(sdc::labels(Role::Api.label()));
            objects.push(Object::new(Self::NAME, "api.ingress", &ingress));
        }
        objects.push(Object::new(
            Self::NAME,
            "collector.deploy",
            &deployment(p, cx, Role::Collector, p.collector.replicas, &p.collector.resources, secrets_sum.as_deref()),
        ));
        objects.push(Object::new(Self::NAME, "collector.svc", &collector_service(p, cx)));
        objects.push(Object::new(Self::NAME, "collector.pdb", &disruption_budget(Role::Collector)));
        objects.push(Object::new(
            Self::NAME,
            "worker.deploy",
            &deployment(p, cx, Role::Worker, p.worker.replicas, &p.worker.resources, secrets_sum.as_deref()),
        ));
        objects.push(Object::new(Self::NAME, "worker.pdb", &disruption_budget(Role::Worker)));
        Ok(objects)
    }
}

fn sdc_secret(cx: &Context, key: &str) -> Option<String> {
    cx.secrets_of("sdc").and_then(|v| v.get(key)).map(|v| v.trim().to_string())
}

fn ssl_given(cx: &Context) -> bool {
    sdc_secret(cx, ssl_keys::CERTIFICATE).is_some() || sdc_secret(cx, ssl_keys::KEY).is_some()
}

fn secrets_path(key: &str) -> KeyPath {
    KeyPath::root().key("secrets").key("sdc").key(key)
}

/// `sysdigcloud-ssl-secret` from the secrets file, when its certificate and key are given.
fn ssl_secret(cx: &Context) -> Result<Option<Secret>, Error> {
    let cert = sdc_secret(cx, ssl_keys::CERTIFICATE);
    let key = sdc_secret(cx, ssl_keys::KEY);
    let (cert, key) = match (cert, key) {
        (None, None) => return Ok(None),
        (Some(c), Some(k)) => (c, k),
        (c, _) => {
            let missing = if c.is_none() { ssl_keys::CERTIFICATE } else { ssl_keys::KEY };
            return Err(Error::invalid(format!(
                "the secrets file gives half of the TLS certificate: `{missing}` is missing"
            ))
            .with_path(secrets_path(missing))
            .help(format!(
                "give both `{}` and `{}` (PEM), or neither to use an existing `{SSL_SECRET}`",
                ssl_keys::CERTIFICATE,
                ssl_keys::KEY
            )));
        }
    };
    for (k, v, what) in [(ssl_keys::CERTIFICATE, &cert, "CERTIFICATE"), (ssl_keys::KEY, &key, "PRIVATE KEY")] {
        if !v.starts_with("-----BEGIN ") || !v.contains(what) {
            return Err(Error::invalid(format!("`sdc.{k}` is not a PEM {}", what.to_lowercase()))
                .with_path(secrets_path(k))
                .help(format!(
                    "paste the PEM text, starting with `-----BEGIN {what}-----` (or `-----BEGIN RSA PRIVATE KEY-----`)"
                )));
        }
    }
    Ok(Some(Secret {
        metadata: meta::namespaced(SSL_SECRET, sdc::NAMESPACE, sdc::labels("api")),
        type_: Some("kubernetes.io/tls".into()),
        data: Some(BTreeMap::from([
            ("tls.crt".to_string(), ByteString(format!("{cert}\n").into_bytes())),
            ("tls.key".to_string(), ByteString(format!("{key}\n").into_bytes())),
        ])),
        ..Default::default()
    }))
}

/// sha256 of the secret values the backend's pods use (given in the secrets file), so a
/// changed password or license rolls them; `None` when none is given (the Secrets are the
/// cluster's, and runway cannot see them).
fn secrets_checksum(cx: &Context) -> Option<String> {
    let values = cx.secrets_of("sdc")?;
    let mut keys: Vec<&str> = BACKEND_SECRET_FILES.iter().map(|f| f.key).collect();
    keys.extend([ssl_keys::CERTIFICATE, ssl_keys::KEY]);
    keys.sort_unstable();
    keys.dedup();
    let mut h = Sha256::new();
    let mut any = false;
    for k in keys {
        if let Some(v) = values.get(k) {
            any = true;
            h.update(k.as_bytes());
            h.update([0]);
            h.update(v.trim().as_bytes());
            h.update([0]);
        }
    }
    any.then(|| h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

fn config_env(name: &str, key: &str) -> EnvVar {
    crate::common::env::config_map_env(name, CONFIG_MAP, key)
}

/// The projected volume of every secret value the backend reads, under the original key
/// names. Optional values (Cassandra, SMTP, OAuth, LDAP passwords) are an `optional`
/// projection of the same Secret: absent keys are skipped.
fn secrets_volume() -> Volume {
    let mut groups: Vec<(&str, bool, Vec<&SecretFile>)> = Vec::new();
    for f in BACKEND_SECRET_FILES {
        match groups.iter_mut().find(|(s, r, _)| *s == f.secret && *r == f.required) {
            Some((_, _, files)) => files.push(f),
            None => groups.push((f.secret, f.required, vec![f])),
        }
    }
    let sources = groups
        .into_iter()
        .map(|(secret, required, files)| VolumeProjection {
            secret: Some(SecretProjection {
                name: secret.to_string(),
                optional: (!required).then_some(true),
                items: Some(
                    files.iter().map(|f| KeyToPath { key: f.key.into(), path: f.file.into(), mode: None }).collect(),
                ),
            }),
            ..Default::default()
        })
        .collect();
    Volume {
        name: "secrets".into(),
        projected: Some(ProjectedVolumeSource { default_mode: Some(0o400), sources: Some(sources) }),
        ..Default::default()
    }
}

fn ports_and_probes(role: Role) -> (Vec<ContainerPort>, Probe, Probe, Probe) {
    let tcp = |port: &str| TCPSocketAction { port: IntOrString::String(port.into()), ..Default::default() };
    let ping = || HTTPGetAction {
        path: Some("/api/ping".into()),
        port: IntOrString::String("http".into()),
        scheme: Some("HTTP".into()),
        ..Default::default()
    };
    let (ports, check) = match role {
        Role::Api => (vec![port("https", API_PORT), port("http", HTTP_PORT)], "http"),
        Role::Collector => (vec![port("collector", COLLECTOR_PORT), port("health", COLLECTOR_HEALTH_PORT)], "health"),
        Role::Worker => (vec![port("http", HTTP_PORT)], "http"),
    };
    // The JVM starts, migrates schemas on the first start of a release and warms its
    // caches: up to 10 minutes before liveness checks begin.
    let startup = Probe {
        tcp_socket: Some(tcp(check)),
        period_seconds: Some(10),
        timeout_seconds: Some(5),
        failure_threshold: Some(60),
        ..Default::default()
    };
    let readiness = match role {
        Role::Api | Role::Worker => Probe {
            http_get: Some(ping()),
            period_seconds: Some(10),
            timeout_seconds: Some(5),
            failure_threshold: Some(3),
            ..Default::default()
        },
        Role::Collector => Probe {
            tcp_socket: Some(tcp(check)),
            period_seconds: Some(10),
            timeout_seconds: Some(5),
            failure_threshold: Some(3),
            ..Default::default()
        },
    };
    // A port check: a JVM in a long GC answers HTTP slowly but is alive.
    let liveness = Probe {
        tcp_socket: Some(tcp(check)),
        period_seconds: Some(20),
        timeout_seconds: Some(5),
        failure_threshold: Some(6),
        ..Default::default()
    };
    (ports, startup, readiness, liveness)
}

fn container(p: &SdcBackendParams, role: Role, resources: &Resources) -> Container {
    let (ports, startup, readiness, liveness) = ports_and_probes(role);
    Container {
        name: role.label().into(),
        image: Some(p.image()),
        image_pull_policy: Some("IfNotPresent".into()),
        env: Some(vec![
            value_env("ROLES", role.label()),
            value_env("LOG_ROLE", role.label()),
            config_env("API_ENDPOINT", "api.url"),
            config_env("JVM_EXTRA_OPTS", "sysdigcloud.jvm.options"),
            config_env("LOG_TO_STDOUT", "sysdigcloud.logging.stdout"),
        ]),
        ports: Some(ports),
        resources: Some(resources.to_k8s()),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            privileged: Some(false),
            read_only_root_filesystem: Some(false),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".into()]),
                add: Some(CAPABILITIES.iter().map(|c| c.to_string()).collect()),
            }),
            seccomp_profile: Some(runtime_default_seccomp()),
            ..Default::default()
        }),
        volume_mounts: Some(vec![
            mount("logs", "/var/log/sysdigcloud"),
            read_only_mount("config", CONFIG_DIR),
            read_only_mount("secrets", SECRETS_DIR),
            read_only_mount("ssl", "/opt/certs/"),
        ]),
        startup_probe: Some(startup),
        readiness_probe: Some(readiness),
        liveness_probe: Some(liveness),
        ..Default::default()
    }
}

fn pod_annotations(role: Role, secrets_sum: Option<&str>) -> BTreeMap<String, String> {
    let mut a = BTreeMap::from([
        (SECURITY_EXCEPTION_ANNOTATION.to_string(), SECURITY_EXCEPTION.to_string()),
        ("kubectl.kubernetes.io/default-container".to_string(), role.label().to_string()),
    ]);
    if let Some(sum) = secrets_sum {
        a.insert("checksum/secrets".into(), sum.into());
    }
    a
}

fn deployment(
    p: &SdcBackendParams,
    cx: &Context,
    role: Role,
    replicas: u32,
    resources: &Resources,
    secrets_sum: Option<&str>,
) -> Deployment {
    let selector = sdc::selector(role.label());
    let pod = PodSpec {
        automount_service_account_token: Some(false),
        image_pull_secrets: Some(vec![LocalObjectReference { name: secrets::PULL_SECRET.into() }]),
        security_context: Some(PodSecurityContext {
            seccomp_profile: Some(runtime_default_seccomp()),
            ..Default::default()
        }),
        termination_grace_period_seconds: Some(60),
        affinity: Some(spread_over_nodes(&selector, 100)),
        topology_spread_constraints: Some(vec![spread_over_zones(&selector, &cx.platform.zone_label)]),
        containers: vec![container(p, role, resources)],
        volumes: Some(vec![
            Volume { name: "logs".into(), empty_dir: Some(EmptyDirVolumeSource::default()), ..Default::default() },
            Volume {
                name: "config".into(),
                config_map: Some(ConfigMapVolumeSource { name: CONFIG_MAP.into(), ..Default::default() }),
                ..Default::default()
            },
            secrets_volume(),
            Volume {
                name: "ssl".into(),
                secret: Some(SecretVolumeSource {
                    secret_name: Some(SSL_SECRET.into()),
                    default_mode: Some(0o400),
                    ..Default::default()
                }),
                ..Default::default()
            },
        ]),
        ..Default::default()
    };
    Deployment {
        metadata: meta::namespaced(role.name(), sdc::NAMESPACE, sdc::labels(role.label())),
        spec: Some(DeploymentSpec {
            replicas: Some(replicas as i32),
            revision_history_limit: Some(5),
            selector,
            strategy: Some(DeploymentStrategy {
                type_: Some("RollingUpdate".into()),
                rolling_update: Some(RollingUpdateDeployment {
                    max_surge: Some(IntOrString::String("25%".into())),
                    max_unavailable: Some(IntOrString::Int(0)),
                }),
            }),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(sdc::labels(role.label())),
                    annotations: Some(pod_annotations(role, secrets_sum)),
                    ..Default::default()
                }),
                spec: Some(pod),
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A Service of `type_` with the platform's load balancer annotations and source ranges
/// when it is a `LoadBalancer`: the api's `secure-api` 443 or the collector's
/// `secure-collector` 6443.
fn service(p: &SdcBackendParams, cx: &Context, role: Role, type_: &str, node_port: Option<u16>) -> Service {
    let (port_name, port, target) = match role {
        Role::Collector => ("secure-collector", COLLECTOR_PORT, "collector"),
        Role::Api | Role::Worker => ("secure-api", API_PORT, "https"),
    };
    let mut metadata = meta::namespaced(role.name(), sdc::NAMESPACE, sdc::labels(role.label()));
    let lb = type_ == "LoadBalancer";
    if lb && !cx.platform.load_balancer_annotations.is_empty() {
        metadata.annotations = Some(cx.platform.load_balancer_annotations.clone());
    }
    Service {
        metadata,
        spec: Some(ServiceSpec {
            type_: Some(type_.into()),
            selector: Some(sdc::selector_labels(role.label())),
            load_balancer_source_ranges: (lb && !p.load_balancer_source_ranges.is_empty())
                .then(|| p.load_balancer_source_ranges.clone()),
            ports: Some(vec![ServicePort {
                name: Some(port_name.into()),
                port,
                target_port: Some(IntOrString::String(target.into())),
                protocol: Some("TCP".into()),
                node_port: if type_ == "NodePort" { node_port.map(i32::from) } else { None },
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// What the API needs from the ingress controller: nginx in the pod serves HTTPS only, with
/// the certificate of `sysdigcloud-ssl-secret`, usually self-signed (the controller has no
/// CA for it), and takes request bodies of up to 100 MiB, where nginx's default of 1 MiB
/// would refuse large API requests.
const API_BACKEND: BackendNeeds =
    BackendNeeds { https_self_signed: true, max_request_body_mib: Some(100), response_headers_kib: None };

fn api_service(p: &SdcBackendParams, cx: &Context) -> Service {
    let type_ = match p.exposure {
        Exposure::LoadBalancer => "LoadBalancer",
        Exposure::NodePort => "NodePort",
        Exposure::Ingress => "ClusterIP",
    };
    service(p, cx, Role::Api, type_, p.api.node_port)
}

fn collector_service(p: &SdcBackendParams, cx: &Context) -> Service {
    let type_ = match p.collector_exposure() {
        CollectorExposure::LoadBalancer => "LoadBalancer",
        CollectorExposure::NodePort => "NodePort",
    };
    service(p, cx, Role::Collector, type_, p.collector.node_port)
}

/// One pod of the role down at a time (drains and upgrades proceed even with one replica).
fn disruption_budget(role: Role) -> PodDisruptionBudget {
    pdb::disruption_budget(
        meta::namespaced(role.name(), sdc::NAMESPACE, sdc::labels(role.label())),
        Budget::MaxUnavailable(1),
        sdc::selector(role.label()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::testing;
    use crate::common::testing::path_of;
    use crate::sdc_config::{config_data, SdcConfig, SdcConfigParams};
    use crate::stack::Stack;
    use runway_core::JsonPointer as _;

    const CERT: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----";
    const KEY: &str = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----";

    fn build(p: &SdcBackendParams, cx: &Context) -> Vec<Object> {
        SdcBackend::build(p, cx).unwrap_or_else(|e| panic!("builds: {e}"))
    }

    fn find<'a>(objects: &'a [Object], key: &str) -> &'a serde_json::Value {
        &objects.iter().find(|o| o.key == key).unwrap_or_else(|| panic!("no object `{key}`")).value
    }

    fn with(f: impl FnOnce(&mut SdcBackendParams)) -> SdcBackendParams {
        testing::with(f)
    }

    fn ingress_cx() -> Context {
        let mut cx = Context::default();
        cx.config.dns_zone = Some("example.com".into());
        cx.published.tls_issuer = Some("letsencrypt-prod".into());
        cx
    }

    #[test]
    fn default_build_has_the_originals_names_and_keys() {
        let objects = build(&SdcBackendParams::default(), &Context::default());
        let got: Vec<(&str, &str, &str, &str)> =
            objects.iter().map(|o| (o.key.as_str(), o.kind(), o.namespace(), o.name())).collect();
        assert_eq!(
            got,
            [
                ("api.deploy", "Deployment", "sysdigcloud", "sdc-api"),
                ("api.svc", "Service", "sysdigcloud", "sdc-api"),
                ("api.pdb", "PodDisruptionBudget", "sysdigcloud", "sdc-api"),
                ("collector.deploy", "Deployment", "sysdigcloud", "sdc-collector"),
                ("collector.svc", "Service", "sysdigcloud", "sdc-collector"),
                ("collector.pdb", "PodDisruptionBudget", "sysdigcloud", "sdc-collector"),
                ("worker.deploy", "Deployment", "sysdigcloud", "sdc-worker"),
                ("worker.pdb", "PodDisruptionBudget", "sysdigcloud", "sdc-worker"),
            ]
        );
        let api = find(&objects, "api.svc");
        assert_eq!(api["spec"]["type"], "LoadBalancer");
        assert_eq!(
            api["spec"]["ports"][0],
            serde_json::json!({"name": "secure-api", "port": 443, "protocol": "TCP", "targetPort": "https"})
        );
        let collector = find(&objects, "collector.svc");
        assert_eq!(collector["spec"]["type"], "LoadBalancer");
        assert_eq!(collector["spec"]["ports"][0]["name"], "secure-collector");
        assert_eq!(collector["spec"]["ports"][0]["port"], 6443);
        // Without a TLS certificate in the secrets file, the cluster must hold it.
        assert_eq!(
            SdcBackend::externals(&SdcBackendParams::default(), &Context::default()),
            [("Secret".to_string(), "sysdigcloud".to_string(), "sysdigcloud-ssl-secret".to_string())]
        );
    }

    #[test]
    fn one_version_sets_the_image_of_all_three() {
        let check = |objects: &[Object], tag: &str| {
            for (key, container) in
                [("api.deploy", "api"), ("collector.deploy", "collector"), ("worker.deploy", "worker")]
            {
                let c = &find(objects, key)["spec"]["template"]["spec"]["containers"][0];
                assert_eq!(c["name"], container);
                assert_eq!(c["image"], format!("quay.io/sysdig/sysdigcloud-backend:{tag}"), "{key}");
            }
        };
        check(&build(&SdcBackendParams::default(), &Context::default()), "1207");
        check(&build(&with(|p| p.version = "1245".into()), &Context::default()), "1245");
    }

    #[test]
    fn selectors_match_their_own_role_only() {
        let objects = build(&SdcBackendParams::default(), &Context::default());
        for role in ["api", "collector", "worker"] {
            let d = find(&objects, &format!("{role}.deploy"));
            let labels = d["spec"]["template"]["metadata"]["labels"].as_object().expect("labels");
            assert_eq!(labels["app"], "sysdigcloud");
            assert_eq!(labels["role"], role);
            let selector = &d["spec"]["selector"]["matchLabels"];
            assert_eq!(selector, &serde_json::json!({"app": "sysdigcloud", "role": role}));
            assert_eq!(&find(&objects, &format!("{role}.pdb"))["spec"]["selector"]["matchLabels"], selector);
            assert_eq!(find(&objects, &format!("{role}.pdb"))["spec"]["maxUnavailable"], 1);
            let env = d["spec"]["template"]["spec"]["containers"][0]["env"].as_array().expect("env");
            assert!(env.iter().any(|e| e["name"] == "ROLES" && e["value"] == role));
        }
        for role in ["api", "collector"] {
            assert_eq!(
                find(&objects, &format!("{role}.svc"))["spec"]["selector"],
                serde_json::json!({"app": "sysdigcloud", "role": role})
            );
        }
    }

    #[test]
    fn settings_come_from_the_config_map_and_passwords_from_secrets() {
        let objects = build(&SdcBackendParams::default(), &Context::default());
        let config = config_data(&SdcConfigParams::default(), &Context::default());
        for role in ["api", "collector", "worker"] {
            let spec = &find(&objects, &format!("{role}.deploy"))["spec"]["template"]["spec"];
            let c = &spec["containers"][0];
            for e in c["env"].as_array().expect("env") {
                assert!(e.get("value").is_some() || e.ptr("/valueFrom/configMapKeyRef").is_some(), "{e}");
                if let Some(r) = e.ptr("/valueFrom/configMapKeyRef") {
                    assert_eq!(r["name"], "sysdigcloud-config");
                    let key = r["key"].as_str().unwrap_or_default();
                    assert!(config.contains_key(key), "`{key}` is a key of sysdigcloud-config");
                }
            }
            assert_eq!(spec["imagePullSecrets"], serde_json::json!([{"name": "sysdigcloud-pull-secret"}]));
            assert_eq!(spec["automountServiceAccountToken"], false);
            let vols = spec["volumes"].as_array().expect("volumes");
            let config_vol = vols.iter().find(|v| v["name"] == "config").expect("config volume");
            assert_eq!(config_vol["configMap"]["name"], "sysdigcloud-config");
            let secrets = vols.iter().find(|v| v["name"] == "secrets").expect("secrets volume");
            let sources = secrets["projected"]["sources"].as_array().expect("sources");
            let mut files = Vec::new();
            for s in sources {
                for item in s["secret"]["items"].as_array().expect("items") {
                    files.push(item["path"].as_str().unwrap_or_default().to_string());
                }
            }
            files.sort();
            let mut want: Vec<String> = BACKEND_SECRET_FILES.iter().map(|f| f.file.to_string()).collect();
            want.sort();
            assert_eq!(files, want);
            assert!(!files.contains(&"mysql.root.password".to_string()), "root stays with MySQL");
            // Required values are required; optional ones are an optional projection.
            let optional: Vec<&str> = sources
                .iter()
                .filter(|s| s["secret"]["optional"] == true)
                .map(|s| s["secret"]["name"].as_str().unwrap_or_default())
                .collect();
            assert_eq!(optional, ["sysdigcloud-secrets"]);
            let mounts = c["volumeMounts"].as_array().expect("mounts");
            let path = |n: &str| mounts.iter().find(|m| m["name"] == n).map(|m| m["mountPath"].clone());
            assert_eq!(path("config"), Some("/opt/kubernets_config".into()));
            assert_eq!(path("secrets"), Some("/opt/kubernets_secrets".into()));
            assert_eq!(path("ssl"), Some("/opt/certs/".into()));
        }
    }

    #[test]
    fn probes_resources_and_replicas_per_role() {
        let objects = build(&SdcBackendParams::default(), &Context::default());
        let c =
            |role: &str| find(&objects, &format!("{role}.deploy"))["spec"]["template"]["spec"]["containers"][0].clone();
        assert_eq!(c("api")["readinessProbe"]["httpGet"]["path"], "/api/ping");
        assert_eq!(c("api")["readinessProbe"]["httpGet"]["port"], "http");
        assert_eq!(c("worker")["readinessProbe"]["httpGet"]["path"], "/api/ping");
        assert_eq!(c("collector")["readinessProbe"]["tcpSocket"]["port"], "health");
        for role in ["api", "collector", "worker"] {
            let c = c(role);
            assert!(c["startupProbe"].is_object() && c["livenessProbe"].is_object(), "{role}");
            assert!(c["resources"]["requests"]["memory"].is_string(), "{role}");
            assert!(c["resources"]["limits"]["memory"].is_string(), "{role}");
        }
        assert_eq!(c("collector")["resources"]["limits"]["memory"], "6Gi");
        assert_eq!(c("api")["resources"]["limits"]["cpu"], "2000m");
        let replicas = |role: &str| find(&objects, &format!("{role}.deploy"))["spec"]["replicas"].clone();
        assert_eq!((replicas("api"), replicas("collector"), replicas("worker")), (2.into(), 2.into(), 1.into()));
        let objects = build(&with(|p| p.worker.replicas = 3), &Context::default());
        assert_eq!(find(&objects, "worker.deploy")["spec"]["replicas"], 3);
    }

    #[test]
    fn root_image_is_locked_down_as_far_as_it_goes_and_says_why() {
        let objects = build(&SdcBackendParams::default(), &Context::default());
        for role in ["api", "collector", "worker"] {
            let tpl = &find(&objects, &format!("{role}.deploy"))["spec"]["template"];
            let why = tpl["metadata"]["annotations"][SECURITY_EXCEPTION_ANNOTATION].as_str().unwrap_or_default();
            assert!(why.contains("root"), "{role}: {why}");
            let sc = &tpl["spec"]["containers"][0]["securityContext"];
            assert_eq!(sc["allowPrivilegeEscalation"], false);
            assert_eq!(sc["capabilities"]["drop"], serde_json::json!(["ALL"]));
            assert_eq!(sc["seccompProfile"]["type"], "RuntimeDefault");
            let level = crate::namespaces::pod_security_level(find(&objects, &format!("{role}.deploy")));
            assert_eq!(level, "baseline", "{role}");
        }
    }

    #[test]
    fn node_port_exposure() {
        let p = with(|p| {
            p.exposure = Exposure::NodePort;
            p.api.node_port = Some(30443);
            p.collector.node_port = Some(30644);
        });
        let objects = build(&p, &Context::default());
        assert_eq!(find(&objects, "api.svc")["spec"]["type"], "NodePort");
        assert_eq!(find(&objects, "api.svc")["spec"]["ports"][0]["nodePort"], 30443);
        assert_eq!(find(&objects, "collector.svc")["spec"]["type"], "NodePort");
        assert_eq!(find(&objects, "collector.svc")["spec"]["ports"][0]["nodePort"], 30644);
    }

    #[test]
    fn behind_traefik_the_api_service_asks_for_https_through_the_self_signed_transport() {
        use crate::common::ingress::{TRAEFIK_SERVERS_SCHEME_ANNOTATION, TRAEFIK_SERVERS_TRANSPORT_ANNOTATION};
        let mut cx = ingress_cx();
        cx.platform.ingress_controller = crate::context::IngressController::Traefik;
        let objects = build(&with(|p| p.exposure = Exposure::Ingress), &cx);
        let svc = &find(&objects, "api.svc")["metadata"]["annotations"];
        assert_eq!(svc[TRAEFIK_SERVERS_SCHEME_ANNOTATION], "https");
        assert_eq!(svc[TRAEFIK_SERVERS_TRANSPORT_ANNOTATION], crate::traefik::SELF_SIGNED_TRANSPORT_REF);
        let ing = find(&objects, "api.ingress");
        assert_eq!(ing["spec"]["ingressClassName"], "traefik");
        let annotations = ing["metadata"]["annotations"].as_object().expect("annotations");
        assert!(annotations.keys().all(|k| !k.starts_with("nginx.")), "{annotations:?}");
        assert_eq!(annotations["traefik.ingress.kubernetes.io/router.tls"], "true");
        // No Ingress, no Traefik settings on the Service.
        let mut omitted = cx.clone();
        omitted.omitted.entry("sdc_backend".into()).or_default().insert("api.ingress".into());
        let objects = build(&with(|p| p.exposure = Exposure::Ingress), &omitted);
        assert!(find(&objects, "api.svc")["metadata"].get("annotations").is_none());
    }

    #[test]
    fn ingress_exposure_keeps_the_collector_a_load_balancer() {
        let mut cx = ingress_cx();
        cx.platform.load_balancer_annotations.insert("lb".into(), "yes".into());
        let objects = build(&with(|p| p.exposure = Exposure::Ingress), &cx);
        assert_eq!(find(&objects, "api.svc")["spec"]["type"], "ClusterIP");
        assert!(find(&objects, "api.svc")["metadata"].get("annotations").is_none());
        assert_eq!(find(&objects, "collector.svc")["spec"]["type"], "LoadBalancer");
        assert_eq!(find(&objects, "collector.svc")["metadata"]["annotations"]["lb"], "yes");
        let ing = find(&objects, "api.ingress");
        assert_eq!(ing["metadata"]["namespace"], "sysdigcloud");
        assert_eq!(ing["spec"]["rules"][0]["host"], "sysdig.example.com");
        assert_eq!(ing["spec"]["tls"][0]["secretName"], "sdc-api-tls");
        let backend = &ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"];
        assert_eq!(backend, &serde_json::json!({"name": "sdc-api", "port": {"name": "secure-api"}}));
        let annotations = &ing["metadata"]["annotations"];
        assert_eq!(annotations["nginx.ingress.kubernetes.io/backend-protocol"], "HTTPS");
        assert_eq!(annotations["cert-manager.io/cluster-issuer"], "letsencrypt-prod");
        assert!(annotations.get("nginx.ingress.kubernetes.io/auth-url").is_none(), "Sysdig has its own login");
        // NodePort for the collector when asked.
        let objects = build(
            &with(|p| {
                p.exposure = Exposure::Ingress;
                p.collector_exposure = Some(CollectorExposure::NodePort);
            }),
            &cx,
        );
        assert_eq!(find(&objects, "collector.svc")["spec"]["type"], "NodePort");
        // Without a DNS zone, the Ingress cannot be built.
        let e = SdcBackend::build(&with(|p| p.exposure = Exposure::Ingress), &Context::default()).expect_err("no zone");
        assert_eq!(path_of(&e), "config.dns_zone");
    }

    #[test]
    fn load_balancers_take_the_platform_annotations_and_source_ranges() {
        let mut cx = Context::default();
        cx.platform
            .load_balancer_annotations
            .insert("service.beta.kubernetes.io/aws-load-balancer-type".into(), "external".into());
        let objects = build(&with(|p| p.load_balancer_source_ranges = vec!["10.0.0.0/8".into()]), &cx);
        for key in ["api.svc", "collector.svc"] {
            let svc = find(&objects, key);
            assert_eq!(svc["metadata"]["annotations"]["service.beta.kubernetes.io/aws-load-balancer-type"], "external");
            assert_eq!(svc["spec"]["loadBalancerSourceRanges"], serde_json::json!(["10.0.0.0/8"]));
        }
    }

    #[test]
    fn secrets_file_renders_the_certificate_and_rolls_pods_on_change() {
        let cx_with = |license: &str| {
            let mut cx = Context::default();
            cx.secrets.insert(
                "sdc".into(),
                BTreeMap::from([
                    ("license".to_string(), license.to_string()),
                    ("ssl-certificate".to_string(), CERT.to_string()),
                    ("ssl-key".to_string(), KEY.to_string()),
                ]),
            );
            cx
        };
        let cx = cx_with("L1");
        assert!(SdcBackend::externals(&SdcBackendParams::default(), &cx).is_empty());
        let objects = build(&SdcBackendParams::default(), &cx);
        let ssl = find(&objects, "sslSecret");
        assert_eq!(ssl["metadata"]["name"], "sysdigcloud-ssl-secret");
        assert_eq!(ssl["type"], "kubernetes.io/tls");
        let sum = |objects: &[Object]| {
            find(objects, "api.deploy")["spec"]["template"]["metadata"]["annotations"]["checksum/secrets"]
                .as_str()
                .map(str::to_string)
        };
        let first = sum(&objects).expect("a checksum");
        assert_eq!(first.len(), 64);
        assert_eq!(sum(&build(&SdcBackendParams::default(), &cx_with("L1"))), Some(first.clone()));
        assert_ne!(sum(&build(&SdcBackendParams::default(), &cx_with("L2"))), Some(first));
        // No secret value in any backend object but the TLS Secret.
        for o in objects.iter().filter(|o| o.kind() != "Secret") {
            assert!(!o.value.to_string().contains("L1"), "{}", o.key);
        }
        assert!(sum(&build(&SdcBackendParams::default(), &Context::default())).is_none());
    }

    #[test]
    fn half_a_certificate_is_an_error() {
        let mut cx = Context::default();
        cx.secrets.insert("sdc".into(), BTreeMap::from([("ssl-certificate".to_string(), CERT.to_string())]));
        let e = SdcBackend::build(&SdcBackendParams::default(), &cx).expect_err("half");
        assert_eq!(path_of(&e), "secrets.sdc.ssl-key");
        cx.secrets.insert(
            "sdc".into(),
            BTreeMap::from([
                ("ssl-certificate".to_string(), "nope".to_string()),
                ("ssl-key".to_string(), KEY.to_string()),
            ]),
        );
        let e = SdcBackend::build(&SdcBackendParams::default(), &cx).expect_err("not PEM");
        assert_eq!(path_of(&e), "secrets.sdc.ssl-certificate");
    }

    #[test]
    fn bad_parameters_are_errors() {
        let err = |p: SdcBackendParams| SdcBackend::build(&p, &Context::default()).expect_err("rejected");
        for (p, path) in [
            (with(|p| p.version = "1207 ".into()), "sdc_backend.version"),
            (with(|p| p.version = String::new()), "sdc_backend.version"),
            (with(|p| p.api.replicas = 0), "sdc_backend.api.replicas"),
            (with(|p| p.worker.resources = Resources::new("1", "8Gi", None, "4Gi")), "sdc_backend.worker.resources"),
            (with(|p| p.api.node_port = Some(30443)), "sdc_backend.api.node_port"),
            (
                with(|p| {
                    p.exposure = Exposure::NodePort;
                    p.collector.node_port = Some(80);
                }),
                "sdc_backend.collector.node_port",
            ),
            (
                with(|p| {
                    p.exposure = Exposure::NodePort;
                    p.api.node_port = Some(30000);
                    p.collector.node_port = Some(30000);
                }),
                "sdc_backend.collector.node_port",
            ),
            (with(|p| p.ingress_host = "Sysdig".into()), "sdc_backend.ingress_host"),
            (
                with(|p| p.load_balancer_source_ranges = vec!["10.0.0.0".into()]),
                "sdc_backend.load_balancer_source_ranges",
            ),
        ] {
            let e = err(p);
            assert_eq!(path_of(&e), path);
            assert!(!e.helps().is_empty(), "{path}: no help");
        }
    }

    #[test]
    fn every_object_round_trips() {
        let mut cx = ingress_cx();
        cx.secrets.insert(
            "sdc".into(),
            BTreeMap::from([
                ("ssl-certificate".to_string(), CERT.to_string()),
                ("ssl-key".to_string(), KEY.to_string()),
            ]),
        );
        for p in [
            SdcBackendParams::default(),
            with(|p| p.exposure = Exposure::Ingress),
            with(|p| p.exposure = Exposure::NodePort),
        ] {
            for mut o in build(&p, &cx) {
                let before = o.value.clone();
                o.check_round_trip().unwrap_or_else(|e| panic!("{}: {e}", o.key));
                assert_eq!(before, o.value, "{} changed in the round trip", o.key);
            }
        }
    }

    fn sdc_stack(platform: &str) -> Stack {
        let mut s = Stack::new();
        s.platform(platform, "test").expect("platform exists");
        // The backend reads the Secrets sdc_mysql and sdc_redis render, whose claims use
        // sdc_storage's classes.
        for c in ["sdc_config", "sdc_storage", "sdc_mysql", "sdc_redis", "sdc_backend"] {
            s.set(&format!("platform.components.{c}=true"), false).expect("a valid --set");
        }
        s
    }

    /// The Sysdig stack's components: the backend and what it reads.
    const SDC_STACK: &[&dyn crate::component::ErasedComponent] = &[
        &SdcConfig,
        &crate::sdc_storage::SdcStorage,
        &crate::sdc_mysql::SdcMysql,
        &crate::sdc_redis::SdcRedis,
        &SdcBackend,
    ];

    #[test]
    fn full_render_passes_the_reference_checks() {
        for platform in ["eks", "gke", "onprem"] {
            let s = sdc_stack(platform);
            let rendered = s.render(SDC_STACK).unwrap_or_else(|e| panic!("{platform}: {}", e.render()));
            let deploys = rendered.objects.iter().filter(|o| o.kind() == "Deployment").count();
            assert_eq!(deploys, 3, "{platform}");
            let ns = rendered.objects.iter().find(|o| o.kind() == "Namespace" && o.name() == "sysdigcloud");
            let ns = ns.expect("the namespace");
            assert_eq!(ns.value["metadata"]["labels"]["pod-security.kubernetes.io/enforce"], "baseline");
        }
        // Without sdc_config, what it renders or declares (the pull Secret first, in the
        // pod spec's order) is missing.
        let mut s = Stack::new();
        s.platform("eks", "test").expect("eks exists");
        s.set("platform.components.sdc_backend=true", false).expect("a valid --set");
        let e = s.render(&[&SdcBackend]).expect_err("no config");
        assert!(e.to_string().contains("sysdigcloud-pull-secret"), "{e}");
    }

    #[test]
    fn nested_object_keys_take_patches() {
        let mut s = sdc_stack("gke");
        s.set("sdc_backend.api.deploy.spec.template.spec.priorityClassName=system-cluster-critical", false)
            .expect("a valid --set");
        s.set("sdc_backend.api.replicas=4", false).expect("a valid --set");
        let rendered = s.render(SDC_STACK).unwrap_or_else(|e| panic!("{}", e.render()));
        let api = rendered.objects.iter().find(|o| o.kind() == "Deployment" && o.name() == "sdc-api").expect("api");
        assert_eq!(api.value["spec"]["replicas"], 4);
        assert_eq!(api.value["spec"]["template"]["spec"]["priorityClassName"], "system-cluster-critical");
    }

    #[test]
    fn config_changes_roll_the_backend_through_the_referenced_checksum() {
        let sum = |extra: Option<&str>| {
            let mut s = sdc_stack("eks");
            if let Some(set) = extra {
                s.set(set, false).expect("a valid --set");
            }
            let mut rendered = s.render(SDC_STACK).unwrap_or_else(|e| panic!("{}", e.render()));
            crate::common::checksum::annotate_referenced_checksums(&mut rendered.objects);
            let worker = rendered.objects.iter().find(|o| o.name() == "sdc-worker" && o.kind() == "Deployment");
            let annotations = &worker.expect("worker").value["spec"]["template"]["metadata"]["annotations"];
            annotations[crate::common::checksum::REFERENCED_CHECKSUM_ANNOTATION]
                .as_str()
                .map(str::to_string)
                .expect("annotated")
        };
        let base = sum(None);
        assert_eq!(base, sum(None));
        assert_ne!(base, sum(Some("sdc_config.jvm.sysdigcloud=-Xms4g -Xmx8g")));
    }

    #[test]
    fn defaults_serialize_and_read_back() {
        let json = serde_json::to_value(SdcBackendParams::default()).expect("serializes");
        assert_eq!(json["version"], "1207");
        assert_eq!(json["exposure"], "LoadBalancer");
        let back: SdcBackendParams = serde_json::from_value(json).expect("reads back");
        assert_eq!(back, SdcBackendParams::default());
        let partial: SdcBackendParams =
            serde_json::from_value(serde_json::json!({"api": {"replicas": 3, "resources": {"requests": {"memory": "1Gi"}, "limits": {"memory": "2Gi"}}}}))
                .expect("partial");
        assert_eq!(partial.api.replicas, 3);
        assert!(serde_json::from_value::<SdcBackendParams>(serde_json::json!({"exposure": "Ingres"})).is_err());
    }
}
