//! Grafana for the runtime's metrics: BKPR's `grafana` component on the official image,
//! with the runtime's Prometheus provisioned as its datasource and dashboards provisioned
//! from ConfigMaps.
//!
//! # What it renders
//!
//! The StatefulSet `grafana` (one pod; its SQLite database is on the volume
//! `datadir-grafana-0`), its headless Service `grafana` (port `dashboard`, 3000), the
//! Ingress `grafana` at `grafana.<dns_zone>` behind oauth2-proxy, the provisioning
//! ConfigMaps `grafana-datasource-configuration` (the Prometheus that `prometheus`
//! publishes) and `grafana-dashboards-configuration` (a file provider reading one
//! folder), one ConfigMap per entry of the `dashboards` parameter, the admin Secret
//! `grafana` when its values are given with `--secrets-file`, and the ServiceAccount,
//! RBAC and NetworkPolicy described below.
//!
//! # Dashboards: the sidecar
//!
//! Dashboards come from ConfigMaps labelled `grafana_dashboard: "1"`, the convention of
//! Grafana's Helm chart and kube-prometheus-stack, which operators already use (seed 003).
//! A sidecar (kiwigrid's k8s-sidecar) watches such ConfigMaps through the API and copies
//! their files into the folder the dashboard provider reads, so a dashboard that any tool
//! applies later appears within seconds, and a deleted one disappears, without a restart.
//! Mounting the ConfigMaps as volumes instead would only see those known at render time
//! (the label would mean nothing) and restart Grafana for every new dashboard. The price
//! is an API token, which only the sidecar gets: the pod does not automount one, and a
//! projected token is mounted into the sidecar container alone, bound to a ServiceAccount
//! that may only read ConfigMaps (in the runtime's namespace, or in all of them with
//! `dashboards_from_all_namespaces`).
//!
//! # Login
//!
//! oauth2-proxy authenticates every request at the ingress, which passes the user on in
//! `X-Auth-Request-User` and `X-Auth-Request-Email`; Grafana's `auth.proxy` trusts those
//! headers, signs the user up on first visit and gives them `auto_role` (BKPR's setup).
//! Because Grafana believes the header from anyone who can reach it, the NetworkPolicy
//! `grafana` admits only the ingress controller's pods (and Prometheus, which scrapes
//! `/metrics` on the same port). The admin account's credentials come from the Secret
//! `grafana` (keys `admin-user`, `admin-password`, optional `secret-key`): rendered from
//! the secrets file's `grafana: {admin_user, admin_password, secret_key}` when given, else
//! expected in the cluster (`kubectl -n kubeprod create secret generic grafana
//! --from-literal=admin-password=...`).
//!
//! # Adopting a BKPR install in place
//!
//! The StatefulSet keeps BKPR's identity (name `grafana`, selector `{name: grafana}`,
//! `serviceName: grafana`, default pod management) and its claim template `datadir` with
//! BKPR's metadata, so `datadir-grafana-0` is reused; the object keys `grafana` (the
//! StatefulSet), `svc`, `ingress` and `datasources` are BKPR's, and so are the datasource
//! name `BKPR Prometheus` and the provider folder `Kubernetes`. What changes:
//! - The image moves from Bitnami's Grafana 5 (uid 1001, data in
//!   `/opt/bitnami/grafana/data`) to the official one (uid 472, data in
//!   `/var/lib/grafana`); `fsGroup: 472` hands the volume's files to the new group on the
//!   first start, and Grafana migrates the database (the startup probe allows 10 minutes).
//! - The Service `grafana` becomes headless, as a StatefulSet's `serviceName` must be: a
//!   Service's cluster IP is immutable, so delete it once before applying
//!   (`kubectl -n kubeprod delete service grafana`); nothing but the Ingress uses it.
//! - Grafana applies the admin password only when it creates the admin user, and BKPR's
//!   database has one already (with Grafana's default password, as BKPR set none): set
//!   the Secret's password on it once with `kubectl -n kubeprod exec grafana-0 -c grafana
//!   -- grafana cli admin reset-admin-password "$PASSWORD"`.
//! - BKPR's hashed ConfigMaps (`grafana-datasource-configuration-<hash>`) and its three
//!   built-in dashboards are not rendered: delete them, or apply with `--prune`.
//! - On a platform whose base sets `platform.storage_class`, adopt with
//!   `platform: {storage_class: null}` (claim templates are immutable, and BKPR's named no
//!   class).
//!
//! # Security
//!
//! Both containers run as uid 472 with every capability dropped, RuntimeDefault seccomp
//! and a read-only root filesystem (Grafana writes only to its data volume, `/tmp` and
//! `/var/log/grafana`, which are volumes). The pods meet the `restricted` Pod Security
//! Standard.

pub mod dashboards;
mod params;

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetSpec, StatefulSetUpdateStrategy};
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapProjection, ConfigMapVolumeSource, Container, ContainerPort, DownwardAPIProjection,
    DownwardAPIVolumeFile, EnvVar, EnvVarSource, HTTPGetAction, KeyToPath, ObjectFieldSelector, PersistentVolumeClaim,
    PodSpec, PodTemplateSpec, Probe, ProjectedVolumeSource, Secret, SecretKeySelector, Service, ServiceAccount,
    ServiceAccountTokenProjection, Volume, VolumeProjection,
};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::ByteString;
use runway_core::refs::ExternalRef;
use runway_core::suggest::best_match;
use runway_core::{Error, Object};
use serde::Serialize;

pub use self::dashboards::{BuiltinDashboard, Datasource, BUILTIN as BUILTIN_DASHBOARDS, MAX_DASHBOARD_BYTES};
pub use self::params::{GrafanaParams, OrgRole, DEFAULT_IMAGE, DEFAULT_SIDECAR_IMAGE, MAX_DASHBOARD_NAME};
use crate::common::checksum::sha256_hex;
use crate::common::env::value_env as env;
use crate::common::ingress::{ingress_object, BackendNeeds, IngressSpecFor};
use crate::common::meta;
use crate::common::metrics::{MetricsEndpoint, Scrape};
use crate::common::pod::empty_dir;
use crate::common::pod::{container_security, pod_security};
use crate::common::pod::{mount, read_only_mount};
use crate::common::rbac::{self, Grant};
use crate::common::service::{tcp_port, PodService, ServiceKind};
use crate::common::storage::ClaimTemplate;
use crate::common::template::render_template;
use crate::component::{Component, ObjectDoc};
use crate::context::Context;

/// The StatefulSet, its Service, ServiceAccount, RBAC, Ingress, Secret and NetworkPolicy.
pub const NAME: &str = "grafana";
/// The datasource provisioning ConfigMap (BKPR's name, without its hash suffix).
pub const DATASOURCES_CONFIG: &str = "grafana-datasource-configuration";
/// The dashboard provider ConfigMap (BKPR's name, without its hash suffix).
pub const DASHBOARDS_CONFIG: &str = "grafana-dashboards-configuration";
/// The label, and its value, that make a ConfigMap a dashboard.
pub const DASHBOARD_LABEL: (&str, &str) = ("grafana_dashboard", "1");
/// The provisioned datasource's name (BKPR's: dashboards saved against it keep working).
pub const DATASOURCE_NAME: &str = "BKPR Prometheus";
/// The provisioned datasource's uid, which fixed-up dashboards refer to.
pub const DATASOURCE_UID: &str = "prometheus";
/// Grafana's HTTP port (UI, API, `/metrics`).
pub const HTTP_PORT: i32 = 3000;
/// The folder the sidecar fills and the dashboard provider reads.
pub const DASHBOARDS_DIR: &str = "/var/lib/grafana-dashboards";

const COMPONENT_LABEL: &str = "grafana";
const PORT_NAME: &str = "dashboard";
const GRAFANA_CONTAINER: &str = "grafana";
const SIDECAR_CONTAINER: &str = "dashboards";
const SIDECAR_HEALTH_PORT: i32 = 8080;
/// `grafana` in the official image.
const GRAFANA_UID: i64 = 472;
const DATA_DIR: &str = "/var/lib/grafana";
const PROVISIONING_DIR: &str = "/etc/grafana/provisioning";
const DATASOURCES_KEY: &str = "datasources.yaml";
const PROVIDERS_KEY: &str = "dashboard-providers.yaml";
const DASHBOARD_PROVIDER: &str = "kubernetes";
const DASHBOARD_FOLDER: &str = "Kubernetes";
const PROVIDER_INTERVAL_SECONDS: u32 = 30;
/// Where the sidecar finds its API token (the path the Kubernetes client libraries read).
const TOKEN_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

const DATASOURCES_TEMPLATE: &str = include_str!("templates/datasources.yaml.j2");
const PROVIDERS_TEMPLATE: &str = include_str!("templates/dashboard-providers.yaml.j2");

/// Keys of the `grafana` entry of the secrets file, and the Secret keys they fill.
const SECRET_KEYS: &[(&str, &str)] =
    &[("admin_user", "admin-user"), ("admin_password", "admin-password"), ("secret_key", "secret-key")];

/// The Grafana component.
pub struct Grafana;

impl Component for Grafana {
    const NAME: &'static str = "grafana";
    const SUMMARY: &'static str =
        "Grafana (BKPR's grafana) with the Prometheus datasource and dashboards from labelled ConfigMaps";
    const OBJECTS: &'static [ObjectDoc] = &[
        ObjectDoc {
            key: "serviceAccount",
            kind: "ServiceAccount",
            doc: "the pod's identity; its token goes to the dashboard sidecar only",
        },
        ObjectDoc {
            key: "sidecarRole",
            kind: "Role",
            doc: "read ConfigMaps in the namespace (without `dashboards_from_all_namespaces`)",
        },
        ObjectDoc { key: "sidecarRoleBinding", kind: "RoleBinding", doc: "binds the Role to the ServiceAccount" },
        ObjectDoc {
            key: "sidecarClusterRole",
            kind: "ClusterRole",
            doc: "read ConfigMaps everywhere (with `dashboards_from_all_namespaces`)",
        },
        ObjectDoc {
            key: "sidecarClusterRoleBinding",
            kind: "ClusterRoleBinding",
            doc: "binds the ClusterRole to the ServiceAccount",
        },
        ObjectDoc {
            key: "secret",
            kind: "Secret",
            doc: "`grafana`: admin credentials, when given with `--secrets-file` (else it must exist)",
        },
        ObjectDoc { key: "datasources", kind: "ConfigMap", doc: "provisions the Prometheus datasource" },
        ObjectDoc { key: "dashboards_provider", kind: "ConfigMap", doc: "provisions the dashboard folder provider" },
        ObjectDoc { key: "svc", kind: "Service", doc: "headless `grafana`, port `dashboard` (3000)" },
        ObjectDoc { key: "grafana", kind: "StatefulSet", doc: "Grafana and the dashboard sidecar, volume `datadir`" },
        ObjectDoc {
            key: "podMonitor",
            kind: "PodMonitor",
            doc: "scrapes Grafana's `/metrics` (`platform.monitoring: operator` or `both`)",
        },
        ObjectDoc { key: "ingress", kind: "Ingress", doc: "`grafana.<dns_zone>`, TLS, login through oauth2-proxy" },
        ObjectDoc {
            key: "networkPolicy",
            kind: "NetworkPolicy",
            doc: "only the ingress controller and Prometheus reach Grafana (`runway_components::network`)",
        },
    ];
    type Params = GrafanaParams;

    fn externals(_: &GrafanaParams, cx: &Context) -> Vec<ExternalRef> {
        if cx.secrets_of(Self::NAME).is_some() {
            Vec::new()
        } else {
            vec![("Secret".to_string(), cx.namespace().to_string(), NAME.to_string())]
        }
    }

    fn network(p: &GrafanaParams, cx: &Context) -> Vec<crate::network::Flows> {
        use crate::network::{tcp, Flows};
        // The dashboard sidecar watches ConfigMaps through the API. Ingress: only the
        // ingress controller (which checked the login: Grafana trusts its headers) and
        // Prometheus, both derived from the render.
        let mut f = Flows::new("grafana", "networkPolicy").to_api_server();
        if let Some(prom) = &cx.published.prometheus {
            f = f.to_service(prom);
        }
        if !p.plugins.is_empty() {
            f = f.to_internet(&[tcp(443)], "Grafana downloads its plugins from grafana.com at start");
        }
        vec![f]
    }

    fn waivers(_: &GrafanaParams, _: &Context) -> Vec<crate::waivers::Waiver> {
        use crate::waivers::{Check, Waiver};
        vec![
            Waiver::new(
                "grafana",
                Check::HighUid,
                "the official image's files and BKPR's data volume belong to uid 472 (grafana)",
            ),
            Waiver::new(
                "grafana",
                Check::SecretsAsEnv,
                "the admin credentials reach Grafana as GF_SECURITY_* environment variables from the Secret",
            ),
        ]
    }

    fn build(p: &GrafanaParams, cx: &Context) -> Result<Vec<Object>, Error> {
        p.validate()?;
        let ns = cx.namespace();
        let Some(prometheus) = &cx.published.prometheus else {
            return Err(Error::invalid(
                "`grafana` needs the runtime's Prometheus as its datasource, and `prometheus` is not rendered",
            )
            .help("render `prometheus` too (add it to the stack's `components:`), or leave `grafana` out"));
        };
        let host = cx.host("grafana", Self::NAME)?;
        let datasources = render_datasources(&prometheus.http_url())?;
        let providers = render_providers()?;
        let checksum = sha256_hex(&format!("{datasources}\0{providers}"));

        let mut objects = vec![Object::new(Self::NAME, "serviceAccount", &service_account(ns))];
        if p.dashboards_from_all_namespaces {
            objects.push(Object::new(Self::NAME, "sidecarClusterRole", &cluster_role()));
            objects.push(Object::new(Self::NAME, "sidecarClusterRoleBinding", &cluster_role_binding(ns)));
        } else {
            objects.push(Object::new(Self::NAME, "sidecarRole", &role(ns)));
            objects.push(Object::new(Self::NAME, "sidecarRoleBinding", &role_binding(ns)));
        }
        if let Some(secret) = admin_secret(cx)? {
            objects.push(Object::new(Self::NAME, "secret", &secret));
        }
        objects.push(Object::new(
            Self::NAME,
            "datasources",
            &config_map(DATASOURCES_CONFIG, ns, DATASOURCES_KEY, datasources),
        ));
        objects.push(Object::new(
            Self::NAME,
            "dashboards_provider",
            &config_map(DASHBOARDS_CONFIG, ns, PROVIDERS_KEY, providers),
        ));
        let ds = Datasource { name: DATASOURCE_NAME, uid: DATASOURCE_UID };
        for (name, value) in &p.dashboards {
            let file = dashboards::provisioned_file(name, value, ds)?;
            objects.push(Object::new(Self::NAME, &format!("dashboard-{name}"), &dashboard_config_map(name, ns, file)));
        }
        // The rendered components' own dashboards; a user's dashboard of the same name wins.
        let builtin =
            cx.published.dashboards.iter().filter(|d| p.builtin_dashboards && !p.dashboards.contains_key(d.name));
        for d in builtin {
            let file = dashboards::builtin_file(d, ds)?;
            objects.push(Object::new(
                Self::NAME,
                &format!("dashboard-{}", d.name),
                &dashboard_config_map(d.name, ns, file),
            ));
        }
        objects.push(Object::new(Self::NAME, "svc", &service(ns)));
        objects.push(Object::new(Self::NAME, "grafana", &stateful_set(p, cx, &host, &checksum)));
        objects.extend(ingress_object(
            "ingress",
            &IngressSpecFor {
                name: NAME,
                sub: "grafana",
                service: NAME,
                port_name: PORT_NAME,
                authenticated: true,
                component: Self::NAME,
                backend: BackendNeeds::default(),
            },
            cx,
        )?);
        objects.extend(scrape(ns).monitor(Self::NAME, "podMonitor", cx));
        Ok(objects)
    }
}

fn labels() -> BTreeMap<String, String> {
    meta::labels(NAME, COMPONENT_LABEL)
}

fn metadata(name: &str, ns: &str) -> ObjectMeta {
    meta::namespaced(name, ns, labels())
}

/// A string as a JSON string literal, which is also a YAML double-quoted scalar.
fn quoted(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

#[derive(Serialize)]
struct DatasourcesContext {
    name: String,
    uid: String,
    url: String,
}

fn render_datasources(url: &str) -> Result<String, Error> {
    let cx = DatasourcesContext { name: quoted(DATASOURCE_NAME), uid: quoted(DATASOURCE_UID), url: quoted(url) };
    render_template("datasources.yaml.j2", DATASOURCES_TEMPLATE, cx)
}

#[derive(Serialize)]
struct ProvidersContext {
    provider: String,
    folder: String,
    path: String,
    interval: u32,
}

fn render_providers() -> Result<String, Error> {
    let cx = ProvidersContext {
        provider: quoted(DASHBOARD_PROVIDER),
        folder: quoted(DASHBOARD_FOLDER),
        path: quoted(DASHBOARDS_DIR),
        interval: PROVIDER_INTERVAL_SECONDS,
    };
    render_template("dashboard-providers.yaml.j2", PROVIDERS_TEMPLATE, cx)
}

fn service_account(ns: &str) -> ServiceAccount {
    rbac::service_account(metadata(NAME, ns), Some(false))
}

/// What the sidecar does with the API: list and watch ConfigMaps (it filters by label).
fn read_config_maps() -> Vec<PolicyRule> {
    vec![rbac::rule(&[""], &["configmaps"], rbac::READ)]
}

fn grant(ns: &str) -> Grant<'_> {
    Grant { role: NAME, service_account: NAME, namespace: ns }
}

fn role(ns: &str) -> Role {
    rbac::role(metadata(NAME, ns), read_config_maps())
}

fn role_binding(ns: &str) -> RoleBinding {
    grant(ns).role_binding(metadata(NAME, ns))
}

fn cluster_role() -> ClusterRole {
    rbac::cluster_role(meta::cluster_scoped(NAME, labels()), read_config_maps())
}

fn cluster_role_binding(ns: &str) -> ClusterRoleBinding {
    grant(ns).cluster_role_binding(meta::cluster_scoped(NAME, labels()))
}

/// The Secret `grafana` from the secrets file's `grafana` entry, or `None` when it has
/// none (the Secret is then expected in the cluster).
fn admin_secret(cx: &Context) -> Result<Option<Secret>, Error> {
    let Some(given) = cx.secrets_of(Grafana::NAME) else { return Ok(None) };
    for key in given.keys() {
        if !SECRET_KEYS.iter().any(|(k, _)| k == key) {
            let mut e = Error::invalid(format!("the secrets file gives `grafana.{key}`, which Grafana does not take"))
                .note("the secrets of `grafana` are `admin_user`, `admin_password` and `secret_key`");
            if let Some(m) = best_match(key, SECRET_KEYS.iter().map(|(k, _)| *k)) {
                e = e.help(format!("did you mean `{m}`?"));
            }
            return Err(e);
        }
    }
    if given.get("admin_password").is_none_or(|p| p.is_empty()) {
        return Err(Error::invalid("the secrets file gives `grafana` values but no `admin_password`").help(
            "add `admin_password` under `grafana:` in the secrets file, or remove `grafana:` from it \
                 and create the Secret `grafana` in the cluster",
        ));
    }
    let mut data = BTreeMap::new();
    data.insert(
        "admin-user".to_string(),
        ByteString(given.get("admin_user").map_or("admin", String::as_str).as_bytes().to_vec()),
    );
    for (from, to) in SECRET_KEYS.iter().skip(1) {
        if let Some(v) = given.get(*from).filter(|v| !v.is_empty()) {
            data.insert(to.to_string(), ByteString(v.as_bytes().to_vec()));
        }
    }
    Ok(Some(Secret {
        metadata: metadata(NAME, cx.namespace()),
        type_: Some("Opaque".into()),
        data: Some(data),
        ..Default::default()
    }))
}

fn config_map(name: &str, ns: &str, key: &str, text: String) -> ConfigMap {
    ConfigMap {
        metadata: metadata(name, ns),
        data: Some(BTreeMap::from([(key.to_string(), text)])),
        ..Default::default()
    }
}

/// A dashboard ConfigMap, labelled so that the sidecar picks it up.
fn dashboard_config_map(name: &str, ns: &str, file: String) -> ConfigMap {
    let cm_name = format!("grafana-dashboard-{name}");
    let mut l = meta::labels(&cm_name, COMPONENT_LABEL);
    l.insert(DASHBOARD_LABEL.0.into(), DASHBOARD_LABEL.1.into());
    ConfigMap {
        metadata: meta::namespaced(&cm_name, ns, l),
        data: Some(BTreeMap::from([(format!("{name}.json"), file)])),
        ..Default::default()
    }
}

/// Headless, because it is the StatefulSet's `serviceName`; the ingress controller sends
/// traffic to the pod's address either way.
fn service(ns: &str) -> Service {
    PodService {
        kind: ServiceKind::Headless,
        selector: meta::selector_labels(NAME),
        ports: vec![tcp_port(PORT_NAME, HTTP_PORT, PORT_NAME)],
    }
    .build(metadata(NAME, ns))
}

fn secret_env(name: &str, key: &str, optional: bool) -> EnvVar {
    EnvVar {
        name: name.into(),
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: NAME.into(),
                key: key.into(),
                optional: if optional { Some(true) } else { None },
            }),
            ..Default::default()
        }),
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

/// The sidecar's API credentials, as the kubelet would mount them for the whole pod:
/// a bound, expiring token, the cluster CA and the namespace.
fn api_token_volume() -> Volume {
    Volume {
        name: "api-token".into(),
        projected: Some(ProjectedVolumeSource {
            default_mode: Some(0o444),
            sources: Some(vec![
                VolumeProjection {
                    service_account_token: Some(ServiceAccountTokenProjection {
                        path: "token".into(),
                        expiration_seconds: Some(3607),
                        audience: None,
                    }),
                    ..Default::default()
                },
                VolumeProjection {
                    config_map: Some(ConfigMapProjection {
                        name: "kube-root-ca.crt".into(),
                        items: Some(vec![KeyToPath { key: "ca.crt".into(), path: "ca.crt".into(), mode: None }]),
                        optional: None,
                    }),
                    ..Default::default()
                },
                VolumeProjection {
                    downward_api: Some(DownwardAPIProjection {
                        items: Some(vec![DownwardAPIVolumeFile {
                            path: "namespace".into(),
                            field_ref: Some(ObjectFieldSelector {
                                api_version: Some("v1".into()),
                                field_path: "metadata.namespace".into(),
                            }),
                            ..Default::default()
                        }]),
                    }),
                    ..Default::default()
                },
            ]),
        }),
        ..Default::default()
    }
}

fn health_probe(period: i32, failure_threshold: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some("/api/health".into()),
            port: IntOrString::String(PORT_NAME.into()),
            scheme: Some("HTTP".into()),
            ..Default::default()
        }),
        period_seconds: Some(period),
        timeout_seconds: Some(5),
        failure_threshold: Some(failure_threshold),
        ..Default::default()
    }
}

fn grafana_env(p: &GrafanaParams, host: &str) -> Vec<EnvVar> {
    let mut e = vec![
        secret_env("GF_SECURITY_ADMIN_USER", "admin-user", true),
        secret_env("GF_SECURITY_ADMIN_PASSWORD", "admin-password", false),
        // Encrypts datasource secrets in the database; Grafana's built-in key when absent.
        secret_env("GF_SECURITY_SECRET_KEY", "secret-key", true),
        // oauth2-proxy's user, passed on by the ingress (BKPR's settings).
        env("GF_AUTH_PROXY_ENABLED", "true"),
        env("GF_AUTH_PROXY_HEADER_NAME", "X-Auth-Request-User"),
        env("GF_AUTH_PROXY_HEADER_PROPERTY", "username"),
        env("GF_AUTH_PROXY_HEADERS", "Email:X-Auth-Request-Email"),
        env("GF_AUTH_PROXY_AUTO_SIGN_UP", "true"),
        env("GF_USERS_AUTO_ASSIGN_ORG", "true"),
        env("GF_USERS_AUTO_ASSIGN_ORG_ROLE", p.auto_role.as_str()),
        env("GF_USERS_ALLOW_SIGN_UP", "false"),
        env("GF_SERVER_PROTOCOL", "http"),
        env("GF_SERVER_HTTP_PORT", HTTP_PORT.to_string()),
        env("GF_SERVER_DOMAIN", host),
        env("GF_SERVER_ROOT_URL", format!("https://{host}/")),
        env("GF_PATHS_DATA", DATA_DIR),
        env("GF_PATHS_PROVISIONING", PROVISIONING_DIR),
        env("GF_EXPLORE_ENABLED", "true"),
        env("GF_LOG_MODE", "console"),
        env("GF_LOG_LEVEL", "warn"),
        env("GF_METRICS_ENABLED", "true"),
        // No calls home from the cluster (and none that fail on air-gapped ones).
        env("GF_ANALYTICS_REPORTING_ENABLED", "false"),
        env("GF_ANALYTICS_CHECK_FOR_UPDATES", "false"),
    ];
    if !p.plugins.is_empty() {
        e.push(env("GF_PLUGINS_PREINSTALL_SYNC", p.plugins.join(",")));
    }
    e
}

fn grafana_container(p: &GrafanaParams, host: &str) -> Container {
    Container {
        name: GRAFANA_CONTAINER.into(),
        image: Some(p.image.clone()),
        env: Some(grafana_env(p, host)),
        ports: Some(vec![ContainerPort {
            name: Some(PORT_NAME.into()),
            container_port: HTTP_PORT,
            protocol: Some("TCP".into()),
            ..Default::default()
        }]),
        resources: Some(p.resources.to_k8s()),
        security_context: Some(container_security(true)),
        volume_mounts: Some(vec![
            mount("datadir", DATA_DIR),
            read_only_mount("datasources", &format!("{PROVISIONING_DIR}/datasources")),
            read_only_mount("dashboards-provider", &format!("{PROVISIONING_DIR}/dashboards")),
            read_only_mount("dashboards", DASHBOARDS_DIR),
            mount("tmp", "/tmp"),
            mount("logs", "/var/log/grafana"),
        ]),
        // Database migrations (a BKPR install starts from Grafana 5) may take minutes.
        startup_probe: Some(health_probe(10, 60)),
        readiness_probe: Some(health_probe(10, 3)),
        liveness_probe: Some(health_probe(30, 5)),
        ..Default::default()
    }
}

fn sidecar_container(p: &GrafanaParams, ns: &str) -> Container {
    let namespaces = if p.dashboards_from_all_namespaces { "ALL" } else { ns };
    let health = || Probe {
        http_get: Some(HTTPGetAction {
            path: Some("/healthz".into()),
            port: IntOrString::Int(SIDECAR_HEALTH_PORT),
            scheme: Some("HTTP".into()),
            ..Default::default()
        }),
        period_seconds: Some(10),
        timeout_seconds: Some(5),
        ..Default::default()
    };
    Container {
        name: SIDECAR_CONTAINER.into(),
        image: Some(p.sidecar_image.clone()),
        env: Some(vec![
            env("LABEL", DASHBOARD_LABEL.0),
            env("LABEL_VALUE", DASHBOARD_LABEL.1),
            env("FOLDER", DASHBOARDS_DIR),
            env("RESOURCE", "configmap"),
            env("NAMESPACE", namespaces),
            env("METHOD", "WATCH"),
            env("HEALTH_PORT", SIDECAR_HEALTH_PORT.to_string()),
            env("LOG_LEVEL", "INFO"),
        ]),
        // Declared so the probes below point at a port of the container.
        ports: Some(vec![crate::common::pod::container_port("health", SIDECAR_HEALTH_PORT)]),
        resources: Some(p.sidecar_resources.to_k8s()),
        security_context: Some(container_security(true)),
        volume_mounts: Some(vec![
            mount("dashboards", DASHBOARDS_DIR),
            mount("sidecar-tmp", "/tmp"),
            read_only_mount("api-token", TOKEN_DIR),
        ]),
        // Ready once the first listing is written, so Grafana starts with its dashboards.
        readiness_probe: Some(health()),
        liveness_probe: Some(Probe { initial_delay_seconds: Some(30), ..health() }),
        ..Default::default()
    }
}

/// Grafana's own metrics, on its HTTP port.
pub fn scrape(ns: &str) -> Scrape {
    Scrape::pods(COMPONENT_LABEL, NAME, ns, meta::selector_labels(NAME), MetricsEndpoint::new(PORT_NAME, HTTP_PORT))
}

fn pod_annotations(checksum: &str, cx: &Context) -> BTreeMap<String, String> {
    let mut a = scrape(cx.namespace()).annotations(cx);
    a.extend([
        ("checksum/config".to_string(), checksum.to_string()),
        ("kubectl.kubernetes.io/default-container".to_string(), GRAFANA_CONTAINER.to_string()),
    ]);
    a
}

fn stateful_set(p: &GrafanaParams, cx: &Context, host: &str, checksum: &str) -> StatefulSet {
    let ns = cx.namespace();
    let pod = PodSpec {
        service_account_name: Some(NAME.into()),
        automount_service_account_token: Some(false),
        security_context: Some(pod_security(GRAFANA_UID, GRAFANA_UID, GRAFANA_UID)),
        containers: vec![grafana_container(p, host), sidecar_container(p, ns)],
        volumes: Some(vec![
            config_map_volume("datasources", DATASOURCES_CONFIG),
            config_map_volume("dashboards-provider", DASHBOARDS_CONFIG),
            empty_dir("dashboards"),
            empty_dir("tmp"),
            empty_dir("logs"),
            empty_dir("sidecar-tmp"),
            api_token_volume(),
        ]),
        ..Default::default()
    };
    let mut template_labels = labels();
    template_labels.extend(meta::selector_labels(NAME));
    StatefulSet {
        metadata: metadata(NAME, ns),
        spec: Some(StatefulSetSpec {
            replicas: Some(1),
            service_name: Some(NAME.into()),
            selector: meta::selector(meta::selector_labels(NAME)),
            update_strategy: Some(StatefulSetUpdateStrategy {
                type_: Some("RollingUpdate".into()),
                ..Default::default()
            }),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(template_labels),
                    annotations: Some(pod_annotations(checksum, cx)),
                    ..Default::default()
                }),
                spec: Some(pod),
            },
            volume_claim_templates: Some(vec![data_claim_template(p, cx)]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The `datadir` claim template, with BKPR's metadata (`labels: {name: datadir}`): claim
/// templates are immutable, so anything else would refuse to adopt the StatefulSet.
fn data_claim_template(p: &GrafanaParams, cx: &Context) -> PersistentVolumeClaim {
    ClaimTemplate { name: "datadir", size: &p.storage, storage_class: cx.storage_class(), name_label: true }.build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::testing;
    use crate::common::testing::{find, path_of};
    use crate::context::{AuthRef, Published, ServiceRef};
    use crate::nginx_ingress::NginxIngress;
    use crate::stack::Stack;
    use runway_core::{KeyPath, SourceKind, SourceMap};
    use schemars::JsonSchema;
    use serde::Deserialize;
    use serde_json::json;

    /// The beginning of grafana.com dashboard 13032 (Longhorn), as seed 003 shows it.
    const LONGHORN: &str = r#"{
  "__inputs": [
    {"name": "DS_PROMETHEUS", "label": "prometheus", "description": "", "type": "datasource",
     "pluginId": "prometheus", "pluginName": "Prometheus"}
  ],
  "__requires": [{"type": "grafana", "id": "grafana", "name": "Grafana", "version": "7.1.0"}],
  "id": null,
  "title": "Longhorn",
  "panels": [{"datasource": "${DS_PROMETHEUS}", "title": "Number Of Healthy Volumes", "type": "stat"}]
}"#;

    fn prometheus() -> ServiceRef {
        ServiceRef { name: "prometheus".into(), namespace: "kubeprod".into(), port: 9090 }
    }

    fn auth() -> AuthRef {
        AuthRef {
            auth_url: "https://auth.example.com/oauth2/auth".into(),
            signin_url: "https://auth.example.com/oauth2/start?rd=https://$host$escaped_request_uri".into(),
        }
    }

    /// A context with what `prometheus`, `oauth2_proxy` and `cert_manager` publish.
    fn cx() -> Context {
        let mut cx = Context::default();
        cx.config.dns_zone = Some("example.com".into());
        cx.published = Published {
            prometheus: Some(prometheus()),
            auth: Some(auth()),
            tls_issuer: Some("letsencrypt-prod".into()),
            ..Default::default()
        };
        cx
    }

    fn build_in(p: &GrafanaParams, cx: &Context) -> Vec<Object> {
        Grafana::build(p, cx).unwrap_or_else(|e| panic!("builds: {e}"))
    }

    fn build(p: &GrafanaParams) -> Vec<Object> {
        build_in(p, &cx())
    }

    fn with(f: impl FnOnce(&mut GrafanaParams)) -> GrafanaParams {
        testing::with(f)
    }

    fn error_of(p: &GrafanaParams, cx: &Context) -> Error {
        Grafana::build(p, cx).expect_err("rejected")
    }

    fn pod(objects: &[Object]) -> &serde_json::Value {
        &find(objects, "grafana").value["spec"]["template"]["spec"]
    }

    fn container<'a>(objects: &'a [Object], name: &str) -> &'a serde_json::Value {
        pod(objects)["containers"].as_array().into_iter().flatten().find(|c| c["name"] == name).expect("container")
    }

    fn env_of<'a>(c: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
        c["env"].as_array().into_iter().flatten().find(|e| e["name"] == name).unwrap_or(&serde_json::Value::Null)
    }

    /// A config file read back as YAML (runway's own layer reader).
    fn yaml(text: &str) -> serde_json::Value {
        let mut sources = SourceMap::default();
        let id = sources.add("file", SourceKind::File, text);
        runway_core::layer::parse_layer(id, text).expect("valid YAML").to_json()
    }

    #[test]
    fn default_build_has_bkpr_names_and_keys() {
        let objects = build(&GrafanaParams::default());
        let got: Vec<(&str, &str, &str)> = objects.iter().map(|o| (o.key.as_str(), o.kind(), o.name())).collect();
        assert_eq!(
            got,
            [
                ("serviceAccount", "ServiceAccount", "grafana"),
                ("sidecarRole", "Role", "grafana"),
                ("sidecarRoleBinding", "RoleBinding", "grafana"),
                ("datasources", "ConfigMap", "grafana-datasource-configuration"),
                ("dashboards_provider", "ConfigMap", "grafana-dashboards-configuration"),
                ("svc", "Service", "grafana"),
                ("grafana", "StatefulSet", "grafana"),
                ("ingress", "Ingress", "grafana"),
            ]
        );
        for o in &objects {
            assert_eq!(o.namespace(), "kubeprod", "{}", o.key);
            assert!(
                ["v1", "apps/v1", "networking.k8s.io/v1", "rbac.authorization.k8s.io/v1"].contains(&o.api_version()),
                "{} uses {}",
                o.key,
                o.api_version()
            );
            assert_eq!(o.value["metadata"]["labels"]["app.kubernetes.io/component"], "grafana", "{}", o.key);
        }
        let sts = &find(&objects, "grafana").value["spec"];
        assert_eq!(sts["serviceName"], "grafana");
        assert_eq!(sts["selector"]["matchLabels"], serde_json::json!({"name": "grafana"}));
        assert!(sts.get("podManagementPolicy").is_none(), "BKPR's default, which is immutable");
        let claim = &sts["volumeClaimTemplates"][0];
        assert_eq!(claim["metadata"], serde_json::json!({"name": "datadir", "labels": {"name": "datadir"}}));
        assert_eq!(claim["spec"]["resources"]["requests"]["storage"], "1Gi");
        assert_eq!(find(&objects, "svc").value["spec"]["clusterIP"], "None");
        assert_eq!(find(&objects, "svc").value["spec"]["ports"][0]["name"], "dashboard");
    }

    #[test]
    fn prometheus_datasource_is_provisioned_from_what_prometheus_publishes() {
        let mut c = cx();
        c.published.prometheus =
            Some(ServiceRef { name: "prometheus".into(), namespace: "monitoring".into(), port: 9090 });
        let objects = build_in(&GrafanaParams::default(), &c);
        let file = find(&objects, "datasources").value["data"]["datasources.yaml"].as_str().unwrap_or("").to_string();
        let ds = yaml(&file);
        assert_eq!(ds["apiVersion"], 1);
        assert_eq!(
            ds["datasources"][0],
            serde_json::json!({
                "name": "BKPR Prometheus", "uid": "prometheus", "type": "prometheus", "access": "proxy",
                "url": "http://prometheus.monitoring.svc:9090", "isDefault": true, "editable": false
            })
        );
        let provider = find(&objects, "dashboards_provider").value["data"]["dashboard-providers.yaml"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let provider = yaml(&provider);
        assert_eq!(provider["providers"][0]["type"], "file");
        assert_eq!(provider["providers"][0]["folder"], "Kubernetes");
        assert_eq!(provider["providers"][0]["options"]["path"], DASHBOARDS_DIR);
        // Grafana reads both files where they are mounted.
        let mounts = &container(&objects, "grafana")["volumeMounts"];
        let at = |name: &str| {
            mounts.as_array().into_iter().flatten().find(|m| m["name"] == name).expect("mount")["mountPath"].clone()
        };
        assert_eq!(at("datasources"), "/etc/grafana/provisioning/datasources");
        assert_eq!(at("dashboards-provider"), "/etc/grafana/provisioning/dashboards");
        assert_eq!(at("dashboards"), DASHBOARDS_DIR);
    }

    #[test]
    fn without_prometheus_dns_zone_or_oauth2_proxy_it_says_what_is_missing() {
        let mut c = cx();
        c.published.prometheus = None;
        let e = error_of(&GrafanaParams::default(), &c);
        assert!(e.to_string().contains("`prometheus` is not rendered"), "{e}");
        assert!(e.helps().iter().any(|h| h.contains("render `prometheus`")), "{:?}", e.helps());

        let mut c = cx();
        c.config.dns_zone = None;
        assert_eq!(path_of(&error_of(&GrafanaParams::default(), &c)), "config.dns_zone");

        let mut c = cx();
        c.published.auth = None;
        let e = error_of(&GrafanaParams::default(), &c);
        assert!(e.to_string().contains("oauth2_proxy"), "{e}");
    }

    #[test]
    fn login_comes_from_oauth2_proxy_headers() {
        let objects = build(&with(|p| p.auto_role = OrgRole::Viewer));
        let g = container(&objects, "grafana");
        assert_eq!(env_of(g, "GF_AUTH_PROXY_ENABLED")["value"], "true");
        assert_eq!(env_of(g, "GF_AUTH_PROXY_HEADER_NAME")["value"], "X-Auth-Request-User");
        assert_eq!(env_of(g, "GF_AUTH_PROXY_HEADERS")["value"], "Email:X-Auth-Request-Email");
        assert_eq!(env_of(g, "GF_AUTH_PROXY_AUTO_SIGN_UP")["value"], "true");
        assert_eq!(env_of(g, "GF_USERS_AUTO_ASSIGN_ORG_ROLE")["value"], "Viewer");
        assert_eq!(env_of(g, "GF_SERVER_ROOT_URL")["value"], "https://grafana.example.com/");
        let ingress = &find(&objects, "ingress").value;
        let annotations = &ingress["metadata"]["annotations"];
        assert_eq!(annotations["nginx.ingress.kubernetes.io/auth-url"], "https://auth.example.com/oauth2/auth");
        // The headers Grafana trusts are the ones the ingress passes on from oauth2-proxy.
        let passed = annotations["nginx.ingress.kubernetes.io/auth-response-headers"].as_str().unwrap_or("");
        assert!(passed.contains("X-Auth-Request-User") && passed.contains("X-Auth-Request-Email"), "{passed}");
        assert_eq!(annotations["cert-manager.io/cluster-issuer"], "letsencrypt-prod");
        assert_eq!(ingress["spec"]["rules"][0]["host"], "grafana.example.com");
        let backend = &ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"];
        assert_eq!(backend, &serde_json::json!({"name": "grafana", "port": {"name": "dashboard"}}));
    }

    #[test]
    fn admin_secret_is_rendered_from_the_secrets_file_or_expected_in_the_cluster() {
        // Not given: nothing rendered, the Secret is declared external.
        let objects = build(&GrafanaParams::default());
        assert!(objects.iter().all(|o| o.kind() != "Secret"));
        assert_eq!(
            Grafana::externals(&GrafanaParams::default(), &cx()),
            [("Secret".into(), "kubeprod".into(), "grafana".into())]
        );
        let g = container(&objects, "grafana");
        assert_eq!(
            env_of(g, "GF_SECURITY_ADMIN_PASSWORD")["valueFrom"]["secretKeyRef"],
            serde_json::json!({"name": "grafana", "key": "admin-password"})
        );
        assert_eq!(env_of(g, "GF_SECURITY_ADMIN_USER")["valueFrom"]["secretKeyRef"]["optional"], true);
        assert_eq!(env_of(g, "GF_SECURITY_SECRET_KEY")["valueFrom"]["secretKeyRef"]["optional"], true);

        // Given: rendered, base64-encoded, nothing external.
        let mut c = cx();
        c.secrets.insert("grafana".into(), BTreeMap::from([("admin_password".to_string(), "s3cret".to_string())]));
        let objects = build_in(&GrafanaParams::default(), &c);
        let secret = &find(&objects, "secret").value;
        assert_eq!(secret["data"], serde_json::json!({"admin-user": "YWRtaW4=", "admin-password": "czNjcmV0"}));
        assert!(Grafana::externals(&GrafanaParams::default(), &c).is_empty());

        c.secrets.insert("grafana".into(), BTreeMap::from([("admin_pasword".to_string(), "x".to_string())]));
        let e = error_of(&GrafanaParams::default(), &c);
        assert!(e.helps().iter().any(|h| h.contains("`admin_password`")), "{:?}", e.helps());
        c.secrets.insert("grafana".into(), BTreeMap::from([("admin_user".to_string(), "root".to_string())]));
        assert!(error_of(&GrafanaParams::default(), &c).to_string().contains("no `admin_password`"));
    }

    #[test]
    fn dashboards_become_labelled_config_maps() {
        let p = with(|p| {
            p.dashboards.insert("longhorn".into(), serde_json::Value::String(LONGHORN.into()));
            p.dashboards.insert(
                "nodes".into(),
                serde_json::json!({"title": "Nodes", "panels": [{"datasource": {"uid": "${DS_PROMETHEUS}"}}]}),
            );
        });
        let objects = build(&p);
        let cm = &find(&objects, "dashboard-longhorn").value;
        assert_eq!(cm["metadata"]["name"], "grafana-dashboard-longhorn");
        assert_eq!(cm["metadata"]["labels"]["grafana_dashboard"], "1");
        let file = cm["data"]["longhorn.json"].as_str().expect("the file");
        let dashboard: serde_json::Value = serde_json::from_str(file).expect("valid JSON");
        assert!(dashboard.get("__inputs").is_none() && dashboard.get("__requires").is_none());
        assert_eq!(dashboard["id"], serde_json::Value::Null);
        assert_eq!(dashboard["panels"][0]["datasource"], "BKPR Prometheus");
        let nodes: serde_json::Value =
            serde_json::from_str(find(&objects, "dashboard-nodes").value["data"]["nodes.json"].as_str().expect("file"))
                .expect("valid JSON");
        assert_eq!(nodes["panels"][0]["datasource"]["uid"], "prometheus");
        // The sidecar watches exactly that label and fills the provider's folder.
        let sc = container(&objects, "dashboards");
        assert_eq!(env_of(sc, "LABEL")["value"], "grafana_dashboard");
        assert_eq!(env_of(sc, "LABEL_VALUE")["value"], "1");
        assert_eq!(env_of(sc, "FOLDER")["value"], DASHBOARDS_DIR);
        assert_eq!(env_of(sc, "NAMESPACE")["value"], "kubeprod");
    }

    #[test]
    fn bad_dashboards_are_errors_naming_them() {
        let e = error_of(
            &with(|p| {
                p.dashboards.insert("broken".into(), serde_json::Value::String("{\"title\": ".into()));
            }),
            &cx(),
        );
        assert_eq!(path_of(&e), "grafana.dashboards.broken");
        assert!(e.to_string().contains("not valid JSON"), "{e}");
        let e = error_of(
            &with(|p| {
                p.dashboards.insert("Not_OK".into(), serde_json::json!({"title": "x"}));
            }),
            &cx(),
        );
        assert_eq!(path_of(&e), "grafana.dashboards.Not_OK");
    }

    #[test]
    fn other_bad_parameters_are_errors_naming_their_path() {
        for (p, want) in [
            (with(|p| p.storage = "0".into()), "grafana.storage"),
            (with(|p| p.image = " ".into()), "grafana.image"),
            (with(|p| p.sidecar_image = String::new()), "grafana.sidecar_image"),
            (with(|p| p.plugins = vec!["ok-plugin".into(), "bad plugin".into()]), "grafana.plugins[1]"),
            (with(|p| p.resources = crate::common::pod::Resources::new("1", "2Gi", None, "1Gi")), "grafana.resources"),
        ] {
            let e = error_of(&p, &cx());
            assert_eq!(path_of(&e), want, "{e}");
            assert!(!e.helps().is_empty(), "{e}");
        }
        let objects =
            build(&with(|p| p.plugins = vec!["grafana-piechart-panel@1.6.4".into(), "grafana-clock-panel".into()]));
        assert_eq!(
            env_of(container(&objects, "grafana"), "GF_PLUGINS_PREINSTALL_SYNC")["value"],
            "grafana-piechart-panel@1.6.4,grafana-clock-panel"
        );
    }

    #[test]
    fn only_the_sidecar_gets_an_api_token_and_may_only_read_config_maps() {
        let objects = build(&GrafanaParams::default());
        assert_eq!(pod(&objects)["automountServiceAccountToken"], false);
        assert_eq!(find(&objects, "serviceAccount").value["automountServiceAccountToken"], false);
        let has_token = |c: &serde_json::Value| {
            c["volumeMounts"].as_array().into_iter().flatten().any(|m| m["mountPath"] == TOKEN_DIR)
        };
        assert!(has_token(container(&objects, "dashboards")));
        assert!(!has_token(container(&objects, "grafana")));
        let rules = &find(&objects, "sidecarRole").value["rules"];
        assert_eq!(
            rules,
            &serde_json::json!([{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}])
        );

        let objects = build(&with(|p| p.dashboards_from_all_namespaces = true));
        assert!(objects.iter().all(|o| o.kind() != "Role" && o.kind() != "RoleBinding"));
        assert_eq!(find(&objects, "sidecarClusterRole").value["rules"], *rules);
        assert_eq!(find(&objects, "sidecarClusterRoleBinding").value["subjects"][0]["namespace"], "kubeprod");
        assert_eq!(env_of(container(&objects, "dashboards"), "NAMESPACE")["value"], "ALL");
    }

    #[test]
    fn every_container_is_locked_down_with_requests_and_limits() {
        let objects = build(&GrafanaParams::default());
        let spec = pod(&objects);
        assert_eq!(spec["securityContext"]["runAsUser"], 472);
        assert_eq!(spec["securityContext"]["fsGroup"], 472);
        for c in spec["containers"].as_array().into_iter().flatten() {
            let name = &c["name"];
            assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true, "{name}");
            assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false, "{name}");
            assert_eq!(c["securityContext"]["capabilities"]["drop"], serde_json::json!(["ALL"]), "{name}");
            assert!(
                c["resources"]["requests"]["memory"].is_string() && c["resources"]["limits"]["memory"].is_string(),
                "{name}"
            );
            assert!(c["readinessProbe"].is_object() && c["livenessProbe"].is_object(), "{name}");
        }
        assert_eq!(crate::namespaces::pod_security_level(&find(&objects, "grafana").value), "restricted");
        let annotations = &find(&objects, "grafana").value["spec"]["template"]["metadata"]["annotations"];
        assert_eq!(annotations["prometheus.io/scrape"], "true");
        assert_eq!(annotations["prometheus.io/port"], "3000");
        assert_eq!(annotations["prometheus.io/path"], "/metrics");
    }

    #[test]
    fn config_checksum_follows_the_provisioning_files() {
        let sum = |c: &Context| {
            let objects = build_in(&GrafanaParams::default(), c);
            find(&objects, "grafana").value["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
                .as_str()
                .unwrap_or("")
                .to_string()
        };
        let base = sum(&cx());
        assert_eq!(base.len(), 64);
        assert_eq!(base, sum(&cx()));
        let mut c = cx();
        c.published.prometheus = Some(ServiceRef { port: 9091, ..prometheus() });
        assert_ne!(base, sum(&c));
        // Dashboards do not restart Grafana: the sidecar delivers them live.
        let with_dashboard = build(&with(|p| {
            p.dashboards.insert("x".into(), serde_json::json!({"title": "X"}));
        }));
        let annotations = &find(&with_dashboard, "grafana").value["spec"]["template"]["metadata"]["annotations"];
        assert_eq!(annotations["checksum/config"], base.as_str());
    }

    #[test]
    fn every_object_round_trips() {
        let mut c = cx();
        c.platform.storage_class = Some("standard".into());
        c.secrets.insert("grafana".into(), BTreeMap::from([("admin_password".to_string(), "pw".to_string())]));
        for all in [false, true] {
            let p = with(|p| {
                p.dashboards_from_all_namespaces = all;
                p.dashboards.insert("longhorn".into(), serde_json::Value::String(LONGHORN.into()));
            });
            for mut o in build_in(&p, &c) {
                let before = o.value.clone();
                o.check_round_trip().unwrap_or_else(|e| panic!("{}: {e}", o.key));
                assert_eq!(before, o.value, "{} changed in the round trip", o.key);
            }
        }
    }

    #[test]
    fn service_selector_matches_the_pod_template() {
        let objects = build(&GrafanaParams::default());
        let labels = find(&objects, "grafana").value["spec"]["template"]["metadata"]["labels"]
            .as_object()
            .cloned()
            .expect("labels");
        for sel in [
            &find(&objects, "svc").value["spec"]["selector"],
            &find(&objects, "grafana").value["spec"]["selector"]["matchLabels"],
        ] {
            let sel = sel.as_object().expect("a selector");
            assert!(!sel.is_empty() && sel.iter().all(|(k, v)| labels.get(k) == Some(v)));
        }
    }

    /// Stands in for `prometheus`, `oauth2_proxy` and `cert_manager`: publishes what they
    /// publish and renders nothing.
    struct Upstream;

    #[derive(Default, Serialize, Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields, default)]
    struct NoParams {}

    impl Component for Upstream {
        const NAME: &'static str = "upstream";
        const SUMMARY: &'static str = "test stand-in";
        const OBJECTS: &'static [ObjectDoc] = &[];
        type Params = NoParams;
        fn publish(_: &NoParams, cx: &Context, published: &mut Published) {
            published.prometheus = Some(ServiceRef { namespace: cx.namespace().into(), ..prometheus() });
            published.auth = Some(auth());
            published.tls_issuer = Some("letsencrypt-prod".into());
        }
        fn build(_: &NoParams, _: &Context) -> Result<Vec<Object>, Error> {
            Ok(Vec::new())
        }
    }

    fn stack() -> Stack {
        let mut s = Stack::new();
        s.platform("gke", "test").expect("gke exists");
        s.set("config.dns_zone=example.com", false).expect("a valid --set");
        s
    }

    #[test]
    fn full_render_passes_the_reference_checks() {
        let rendered =
            stack().render(&[&Grafana, &NginxIngress, &Upstream]).unwrap_or_else(|e| panic!("{}", e.render()));
        let sts = rendered.objects.iter().find(|o| o.kind() == "StatefulSet").expect("the StatefulSet");
        assert_eq!(sts.value["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"], "standard-rwo");
        let ns = rendered.objects.iter().find(|o| o.kind() == "Namespace").expect("a namespace");
        assert_eq!(ns.value["metadata"]["labels"]["pod-security.kubernetes.io/enforce"], "restricted");

        // With the admin password given, the Secret is rendered and the render still holds.
        let mut s = stack();
        s.secrets("secrets.yaml", "grafana:\n  admin_password: s3cret\n").expect("secrets parse");
        let rendered = s.render(&[&Grafana, &NginxIngress, &Upstream]).unwrap_or_else(|e| panic!("{}", e.render()));
        assert!(rendered.objects.iter().any(|o| o.kind() == "Secret" && o.name() == "grafana"));
    }

    #[test]
    fn seed_003_longhorn_dashboard_through_a_layer() {
        // Seed 003's chore, done by runway: the exported JSON goes in as it was downloaded.
        let indented: String = LONGHORN.lines().map(|l| format!("      {l}\n")).collect();
        let layer = format!("grafana:\n  dashboards:\n    longhorn: |\n{indented}");
        let mut s = stack();
        s.layer("dashboards.yaml", SourceKind::File, &layer).expect("parses");
        let rendered = s.render(&[&Grafana, &NginxIngress, &Upstream]).unwrap_or_else(|e| panic!("{}", e.render()));
        let cm = rendered.objects.iter().find(|o| o.name() == "grafana-dashboard-longhorn").expect("the ConfigMap");
        let file = cm.value["data"]["longhorn.json"].as_str().expect("the file");
        assert!(!file.contains("__inputs") && !file.contains("${DS_PROMETHEUS}"), "{file}");
        assert!(file.contains("\"datasource\": \"BKPR Prometheus\""), "{file}");

        // Broken JSON is an error at the layer's line, naming the dashboard.
        let mut s = stack();
        s.layer("bad.yaml", SourceKind::File, "grafana:\n  dashboards:\n    longhorn: '{\"title\": '\n")
            .expect("parses");
        let e = s.render(&[&Grafana, &NginxIngress, &Upstream]).expect_err("rejected");
        assert_eq!(path_of(e.error()), "grafana.dashboards.longhorn");
        assert!(e.render().contains("bad.yaml:3"), "{}", e.render());
    }

    #[test]
    fn statefulset_patches_go_under_bkprs_key() {
        let mut s = stack();
        s.layer(
            "patch.yaml",
            SourceKind::File,
            "grafana:\n  storage: 5Gi\n  grafana:\n    spec:\n      template:\n        metadata:\n          \
             annotations:\n            team: observability\n",
        )
        .expect("parses");
        let rendered = s.render(&[&Grafana, &NginxIngress, &Upstream]).unwrap_or_else(|e| panic!("{}", e.render()));
        let sts = rendered.objects.iter().find(|o| o.kind() == "StatefulSet").expect("the StatefulSet");
        assert_eq!(sts.value["spec"]["template"]["metadata"]["annotations"]["team"], "observability");
        assert_eq!(sts.value["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"], "5Gi");
        let _ = KeyPath::root();
    }

    #[test]
    fn defaults_serialize_and_read_back() {
        let json = serde_json::to_value(GrafanaParams::default()).expect("serializes");
        assert_eq!(json["auto_role"], "Admin");
        assert_eq!(json["storage"], "1Gi");
        let back: GrafanaParams = serde_json::from_value(json).expect("reads back");
        assert_eq!(back, GrafanaParams::default());
        assert!(serde_json::from_value::<GrafanaParams>(serde_json::json!({"auto_role": "admin"})).is_err());
        assert!(serde_json::from_value::<GrafanaParams>(serde_json::json!({"plugin": []})).is_err());
    }

    /// Every `datasource` of a dashboard, wherever it sits.
    fn datasources(v: &serde_json::Value, out: &mut Vec<serde_json::Value>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m {
                    if k == "datasource" {
                        out.push(x.clone());
                    } else {
                        datasources(x, out);
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|x| datasources(x, out)),
            _ => {}
        }
    }

    #[test]
    fn builtin_dashboards_point_every_panel_at_the_provisioned_datasource() {
        for d in BUILTIN_DASHBOARDS {
            let ds = Datasource { name: DATASOURCE_NAME, uid: DATASOURCE_UID };
            let file = dashboards::provisioned_file(d.name, &serde_json::Value::String(d.json.into()), ds)
                .unwrap_or_else(|e| panic!("{}: {e}", d.name));
            assert!(!file.contains("${"), "{} keeps an input", d.name);
            let v: serde_json::Value = serde_json::from_str(&file).expect("JSON");
            assert_eq!(v["uid"], format!("runway-{}", d.name));
            let panels = v["panels"].as_array().expect("panels");
            assert!(panels.len() >= 5, "{} has {} panels", d.name, panels.len());
            assert!(panels.iter().all(|p| p["targets"].as_array().is_some_and(|t| !t.is_empty())), "{}", d.name);
            let exprs: Vec<&str> = panels
                .iter()
                .flat_map(|p| p["targets"].as_array().into_iter().flatten())
                .map(|t| t["expr"].as_str().unwrap_or(""))
                .collect();
            assert!(exprs.iter().all(|e| !e.trim().is_empty()), "{} has a target without a query", d.name);
            let mut found = Vec::new();
            datasources(&v, &mut found);
            assert!(!found.is_empty());
            for ds in found {
                assert_eq!(ds, json!({"type": "prometheus", "uid": DATASOURCE_UID}), "{}", d.name);
            }
        }
    }

    #[test]
    fn exporter_dashboards_query_each_exporters_metrics() {
        // The metric names the exporters expose (Traefik v3, kured, node-problem-detector,
        // MetalLB v0.14): every one appears in some panel's query.
        let expected: [(BuiltinDashboard, &[&str]); 4] = [
            (
                dashboards::TRAEFIK,
                &[
                    "traefik_entrypoint_requests_total",
                    "traefik_entrypoint_request_duration_seconds_bucket",
                    "traefik_service_requests_total",
                    "traefik_open_connections",
                    "traefik_config_reloads_total",
                ],
            ),
            (dashboards::KURED, &["kured_reboot_required"]),
            (dashboards::NODE_PROBLEM_DETECTOR, &["problem_counter", "problem_gauge"]),
            (
                dashboards::METALLB,
                &[
                    "metallb_allocator_addresses_in_use_total",
                    "metallb_allocator_addresses_total",
                    "metallb_k8s_client_config_loaded_bool",
                    "metallb_speaker_announced",
                ],
            ),
        ];
        for (d, metrics) in expected {
            assert!(BUILTIN_DASHBOARDS.contains(&d), "{} is not registered", d.name);
            let v: serde_json::Value = serde_json::from_str(d.json).expect("JSON");
            let exprs: Vec<&str> = v["panels"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|p| p["targets"].as_array().into_iter().flatten())
                .filter_map(|t| t["expr"].as_str())
                .collect();
            for m in metrics {
                assert!(exprs.iter().any(|e| e.contains(m)), "{} never queries {m}", d.name);
            }
        }
    }

    #[test]
    fn exporter_components_publish_their_dashboards() {
        use crate::kured::{Kured, KuredParams};
        use crate::metallb::{Metallb, MetallbParams};
        use crate::node_problem_detector::{NodeProblemDetector, NodeProblemDetectorParams};
        use crate::traefik::{Traefik, TraefikParams};
        let mut c = cx();
        let mut published = std::mem::take(&mut c.published);
        Traefik::publish(&TraefikParams::default(), &c, &mut published);
        Kured::publish(&KuredParams::default(), &c, &mut published);
        NodeProblemDetector::publish(&NodeProblemDetectorParams::default(), &c, &mut published);
        Metallb::publish(&MetallbParams::default(), &c, &mut published);
        assert_eq!(
            published.dashboards,
            vec![dashboards::TRAEFIK, dashboards::KURED, dashboards::NODE_PROBLEM_DETECTOR, dashboards::METALLB]
        );
        c.published = published;
        let objects = build_in(&GrafanaParams::default(), &c);
        for name in ["traefik", "kured", "node-problem-detector", "metallb"] {
            let cm = find(&objects, &format!("dashboard-{name}"));
            assert_eq!(cm.name(), format!("grafana-dashboard-{name}"));
            assert!(cm.value["data"][format!("{name}.json")].as_str().is_some_and(|f| f.contains("\"targets\"")));
        }
    }

    #[test]
    fn published_dashboards_are_provisioned_unless_replaced_or_switched_off() {
        let mut c = cx();
        c.published.dashboards = vec![dashboards::ELASTICSEARCH, dashboards::FLUENTD];
        let objects = build_in(&GrafanaParams::default(), &c);
        let cm = find(&objects, "dashboard-elasticsearch");
        assert_eq!(cm.name(), "grafana-dashboard-elasticsearch");
        assert_eq!(cm.value["metadata"]["labels"]["grafana_dashboard"], "1");
        assert!(cm.value["data"]["elasticsearch.json"]
            .as_str()
            .is_some_and(|f| f.contains("\"Elasticsearch (logging)\"")));
        assert!(objects.iter().any(|o| o.key == "dashboard-fluentd"));
        // A user's dashboard of the same name replaces the built-in one.
        let mine = with(|p| {
            p.dashboards.insert("fluentd".into(), json!({"title": "Mine", "panels": []}));
        });
        let objects = build_in(&mine, &c);
        let file = find(&objects, "dashboard-fluentd").value["data"]["fluentd.json"].as_str().unwrap_or("").to_string();
        assert!(file.contains("\"Mine\""), "{file}");
        let off = with(|p| p.builtin_dashboards = false);
        assert!(!build_in(&off, &c).iter().any(|o| o.key.starts_with("dashboard-")));
    }
}
