//! Traefik v3 as the ingress controller, the alternative to `nginx_ingress` that k3s
//! ships: `platform: {ingress_controller: traefik}` renders it instead of nginx (onprem's
//! default), and every component's Ingress follows (see [`crate::common::ingress`]).
//!
//! # What it renders
//!
//! A Deployment `traefik` (or, with `workload: daemonset`, a DaemonSet) running the
//! Kubernetes Ingress provider and the file provider; the LoadBalancer Service `traefik`
//! (80 and 443 to the container's 8000 and 8443, the platform's load balancer annotations,
//! `externalTrafficPolicy: Local`); the IngressClass (`platform.ingress_class`, else
//! `traefik`) with controller `traefik.io/ingress-controller`; a ServiceAccount and a
//! ClusterRole with exactly what the Ingress provider of v3.5 and later reads (upstream
//! chart's rules for `providers.kubernetesIngress` without the CRD provider); the ConfigMap
//! `traefik` of dynamic configuration; and, for the Deployment, a PodDisruptionBudget.
//!
//! Metrics are Prometheus metrics on their own entry point, port 9100 named `metrics`,
//! which no Service exposes: Prometheus finds them through the pod's `prometheus.io/*`
//! annotations or a PodMonitor, as `platform.monitoring` says ([`scrape`]); `/ping` on the
//! internal entry point (8080, `traefik`) answers the probes.
//!
//! # Authentication and HTTPS
//!
//! oauth2-proxy checks requests through a forwardAuth middleware, `oauth2-proxy@file`,
//! defined in the dynamic configuration (file provider) and asking oauth2-proxy's Service
//! inside the cluster at `/`: oauth2-proxy runs with a static upstream and
//! `--skip-provider-button`, so an authenticated request gets 202 with the
//! `X-Auth-Request-*` headers Traefik copies to the backend, and any other gets the
//! redirect to the login, which Traefik returns to the browser. UI Ingresses name the
//! middleware in `traefik.ingress.kubernetes.io/router.middlewares` and listen on
//! `websecure` only (`router.tls: "true"`, the certificate from their cert-manager Secret);
//! a catch-all router of priority 1 on `web` redirects plain HTTP to HTTPS, and
//! cert-manager's HTTP-01 solver Ingress (a longer rule, so a higher priority) is served
//! before it.
//!
//! A backend that serves HTTPS only, with a self-signed certificate (the Sysdig API), is
//! reached through the serversTransport `self-signed-backend@file` of the same dynamic
//! configuration (`insecureSkipVerify`, as nginx's `backend-protocol: HTTPS` does not
//! verify either), which its Service names in `service.serverstransport` beside
//! `service.serversscheme: https` ([`crate::common::ingress::backend_service_annotations`]).
//! Defined, it is used by no Service that does not name it.
//!
//! Why not a `Middleware` custom resource: Traefik's Kubernetes CRD provider watches all
//! ten `traefik.io` kinds and does not start while any of their CRDs is missing
//! (traefik/traefik#8378, traefik/traefik-helm-chart#340), so rendering the Middleware CRD
//! alone would leave every authenticated UI without its middleware. The file provider
//! needs no CRD, no custom resource and no RBAC beyond the Ingress provider's, and its
//! middleware can be referenced from Ingresses in any namespace.
//!
//! # Dashboard
//!
//! Off by default. With `dashboard: {enabled: true}`, `--api.dashboard=true` serves the
//! dashboard and its read-only API only through a router on the internal entry point
//! (never `--api.insecure`); the Service `traefik-dashboard` points at that entry point
//! and the Ingress `traefik-dashboard` publishes it at `https://traefik.<dns_zone>/dashboard/`
//! behind oauth2-proxy, so it needs `oauth2_proxy` and a DNS zone. The internal entry
//! point itself has no login: a pod that can reach Traefik's pod addresses on 8080 can
//! read the (read-only) API; keep the dashboard off, or restrict that port with a
//! NetworkPolicy, where in-cluster clients are not trusted.
//!
//! # Security
//!
//! Traefik listens on 8000, 8443, 8080 and 9100 and the Service maps 80 and 443 onto the
//! first two, so it needs no capability at all: it runs as uid 65532 with every capability
//! dropped, no privilege escalation, a read-only root filesystem (an emptyDir at `/tmp`)
//! and RuntimeDefault seccomp, at the `restricted` Pod Security level. It reads the API
//! (Ingresses, Services, EndpointSlices, Secrets for TLS), so its token is mounted.
//!
//! Its NetworkPolicy admits anyone on the two entry points behind the load balancer (8000
//! and 8443) and lets it reach the API server, every Ingress backend of the render
//! (its own internal entry point, for the dashboard, included) and, for forwardAuth,
//! oauth2-proxy's Service inside the cluster; Prometheus's scrape of the metrics port is
//! declared by Prometheus.

mod params;

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment};
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, Container, PodSpec, PodTemplateSpec, Probe, Service, ServiceAccount, ServicePort,
    ServiceSpec, Volume,
};
use k8s_openapi::api::networking::v1::IngressClass;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use runway_core::{Error, KeyPath, Object};
use serde::Serialize;

pub use self::params::{DashboardParams, TraefikParams, Workload, DEFAULT_IMAGE};
use crate::common::checksum::sha256_hex;
use crate::common::ingress::{ingress_object, BackendNeeds, IngressSpecFor};
use crate::common::ingress_class::ingress_class as common_ingress_class;
use crate::common::meta;
use crate::common::metrics::{MetricsEndpoint, Scrape};
use crate::common::pdb::{self, Budget};
use crate::common::pod::{container_port, container_security, empty_dir, mount, pod_security};
use crate::common::pod::{spread_over_nodes, spread_over_zones};
use crate::common::rbac::{self, rule, Grant, READ};
use crate::common::service::{load_balancer_metadata, tcp_port, PodService, ServiceKind};
use crate::common::template::render_template;
use crate::component::{Component, ObjectDoc};
use crate::context::{Context, IngressController, IngressControllerRef, Platform, Published};

/// The Deployment or DaemonSet, the LoadBalancer Service, ServiceAccount and RBAC.
pub const NAME: &str = "traefik";
/// The dashboard's Service and Ingress.
pub const DASHBOARD_NAME: &str = "traefik-dashboard";
/// The `controller` of Traefik's IngressClass.
pub const CONTROLLER_CLASS: &str = "traefik.io/ingress-controller";
/// The entry point of plain HTTP (Service port 80).
pub const HTTP_ENTRYPOINT: &str = "web";
/// The entry point of HTTPS (Service port 443), the one UI Ingresses use.
pub const HTTPS_ENTRYPOINT: &str = "websecure";
/// The internal entry point: `/ping`, and the dashboard when it is on.
pub const INTERNAL_ENTRYPOINT: &str = "traefik";
/// The entry point of Prometheus metrics.
pub const METRICS_ENTRYPOINT: &str = "metrics";
/// The forwardAuth middleware's name in the dynamic configuration.
pub const AUTH_MIDDLEWARE: &str = "oauth2-proxy";
/// How Ingresses refer to it (`router.middlewares`).
pub const AUTH_MIDDLEWARE_REF: &str = "oauth2-proxy@file";
/// The serversTransport for backends that serve HTTPS with a self-signed certificate
/// (`insecureSkipVerify`), in the dynamic configuration.
pub const SELF_SIGNED_TRANSPORT: &str = "self-signed-backend";
/// How a backend's Service refers to it (`service.serverstransport`, see
/// [`crate::common::ingress::BackendNeeds::https_self_signed`]).
pub const SELF_SIGNED_TRANSPORT_REF: &str = "self-signed-backend@file";
/// Container port of `web`.
pub const HTTP_PORT: i32 = 8000;
/// Container port of `websecure`.
pub const HTTPS_PORT: i32 = 8443;
/// Container port of the internal entry point.
pub const INTERNAL_PORT: i32 = 8080;
/// Container port of the metrics entry point (`/metrics`).
pub const METRICS_PORT: i32 = 9100;

const CONTAINER: &str = "traefik";
const COMPONENT_LABEL: &str = "traefik";
/// `nonroot` in distroless terms; the official image runs as whatever uid it is given.
const UID: i64 = 65532;
const DYNAMIC_DIR: &str = "/etc/traefik/dynamic";
const DYNAMIC_FILE: &str = "dynamic.yaml";
const DYNAMIC_TEMPLATE: &str = include_str!("templates/dynamic.yaml.j2");
/// Long enough for open requests to finish after the pod leaves the Service.
const GRACE_PERIOD_SECONDS: i64 = 60;

/// The Traefik component.
pub struct Traefik;

impl Component for Traefik {
    const NAME: &'static str = "traefik";
    const SUMMARY: &'static str =
        "Traefik v3 as the ingress controller (platform.ingress_controller: traefik), oauth2-proxy through forwardAuth";
    const DEFAULT_ENABLED: bool = false;
    const OBJECTS: &'static [ObjectDoc] = &[
        ObjectDoc { key: "serviceAccount", kind: "ServiceAccount", doc: "the controller's identity; it reads the API" },
        ObjectDoc {
            key: "clusterRole",
            kind: "ClusterRole",
            doc: "read Ingresses, IngressClasses, Services, EndpointSlices, Secrets, Nodes; update Ingress status",
        },
        ObjectDoc { key: "clusterRoleBinding", kind: "ClusterRoleBinding", doc: "binds the ClusterRole" },
        ObjectDoc {
            key: "config",
            kind: "ConfigMap",
            doc: "`traefik`: dynamic configuration (HTTPS redirect, oauth2-proxy forwardAuth, serversTransport for self-signed HTTPS backends, dashboard router)",
        },
        ObjectDoc { key: "svc", kind: "Service", doc: "`traefik`: the LoadBalancer, 80 and 443" },
        ObjectDoc {
            key: "dashboard.svc",
            kind: "Service",
            doc: "`traefik-dashboard`: the internal entry point (with `dashboard.enabled`)",
        },
        ObjectDoc { key: "deploy", kind: "Deployment", doc: "`traefik` (with `workload: deployment`)" },
        ObjectDoc { key: "daemonset", kind: "DaemonSet", doc: "`traefik` (with `workload: daemonset`)" },
        ObjectDoc {
            key: "pdb",
            kind: "PodDisruptionBudget",
            doc: "one controller down at a time (with `workload: deployment`)",
        },
        ObjectDoc {
            key: "dashboard.ingress",
            kind: "Ingress",
            doc: "`traefik-dashboard`: https://traefik.<dns_zone>/dashboard/ behind oauth2-proxy",
        },
        ObjectDoc { key: "ingressClass", kind: "IngressClass", doc: "the class Traefik serves" },
        ObjectDoc {
            key: "podMonitor",
            kind: "PodMonitor",
            doc: "scrapes its `metrics` entry point (`platform.monitoring: operator` or `both`)",
        },
        ObjectDoc {
            key: "networkPolicy",
            kind: "NetworkPolicy",
            doc: "`traefik`: clients on 8000 and 8443, the API server, the Ingress backends, oauth2-proxy",
        },
    ];
    type Params = TraefikParams;

    fn default_enabled_on(platform: &Platform) -> bool {
        platform.ingress_controller == IngressController::Traefik
    }

    fn publish(_: &TraefikParams, cx: &Context, published: &mut Published) {
        if cx.platform.ingress_controller == IngressController::Traefik {
            published.ingress_controller = Some(IngressControllerRef {
                controller: IngressController::Traefik,
                namespace: cx.namespace().to_string(),
                selector: meta::selector_labels(NAME),
                class: class_of(cx),
            });
        }
        published.dashboards.push(crate::grafana::dashboards::TRAEFIK);
    }

    fn network(p: &TraefikParams, cx: &Context) -> Vec<crate::network::Flows> {
        use crate::network::{tcp, Flows};
        let mut f = Flows::new(workload_key(p), "networkPolicy").to_api_server().to_ingress_backends().from_anywhere(
            &[tcp(HTTP_PORT), tcp(HTTPS_PORT)],
            "the LoadBalancer's clients: every browser and API client",
        );
        // forwardAuth asks oauth2-proxy's Service inside the cluster (the dynamic
        // configuration's middleware address).
        if let Some(auth) = &cx.published.auth_service {
            f = f.to_service(auth);
        }
        vec![f]
    }

    fn build(p: &TraefikParams, cx: &Context) -> Result<Vec<Object>, Error> {
        p.validate()?;
        let ns = cx.namespace();
        let class = class_of(cx);
        if !runway_core::names::is_dns_subdomain(&class) {
            return Err(Error::invalid(format!("ingress class `{class}` is not a valid IngressClass name"))
                .help("use lowercase letters, digits, `-` and `.`, e.g. `traefik`")
                .with_path(KeyPath::root().key("platform").key("ingress_class")));
        }
        let dynamic = dynamic_config(p, cx)?;
        let checksum = sha256_hex(&dynamic);
        let mut objects = vec![
            Object::new(Self::NAME, "serviceAccount", &service_account(ns)),
            Object::new(Self::NAME, "clusterRole", &cluster_role()),
            Object::new(Self::NAME, "clusterRoleBinding", &cluster_role_binding(ns)),
            Object::new(Self::NAME, "config", &config_map(ns, dynamic)),
            Object::new(Self::NAME, "svc", &load_balancer(cx)),
        ];
        if p.dashboard.enabled {
            objects.push(Object::new(Self::NAME, "dashboard.svc", &dashboard_service(ns)));
        }
        let scrape = scrape(ns);
        let template = pod_template(p, cx, &class, &checksum, scrape.annotations(cx));
        match p.workload {
            Workload::Deployment => {
                objects.push(Object::new(Self::NAME, workload_key(p), &deployment(p, ns, template)));
                objects.push(Object::new(Self::NAME, "pdb", &disruption_budget(ns)));
            }
            Workload::Daemonset => objects.push(Object::new(Self::NAME, workload_key(p), &daemon_set(ns, template))),
        }
        objects.extend(scrape.monitor(Self::NAME, "podMonitor", cx));
        if p.dashboard.enabled {
            objects.extend(ingress_object(
                "dashboard.ingress",
                &IngressSpecFor {
                    name: DASHBOARD_NAME,
                    sub: &p.dashboard.host_label,
                    service: DASHBOARD_NAME,
                    port_name: INTERNAL_ENTRYPOINT,
                    authenticated: true,
                    component: Self::NAME,
                    backend: BackendNeeds::default(),
                },
                cx,
            )?);
        }
        objects.push(Object::new(Self::NAME, "ingressClass", &ingress_class(p, &class)));
        Ok(objects)
    }
}

/// The object key of the controller's workload: `deploy` or `daemonset`.
fn workload_key(p: &TraefikParams) -> &'static str {
    match p.workload {
        Workload::Deployment => "deploy",
        Workload::Daemonset => "daemonset",
    }
}

/// Traefik's metrics: the `metrics` entry point (9100) of its pods, which no Service
/// exposes (a PodMonitor in operator mode).
pub fn scrape(ns: &str) -> Scrape {
    Scrape::pods(
        COMPONENT_LABEL,
        NAME,
        ns,
        meta::selector_labels(NAME),
        MetricsEndpoint::new(METRICS_ENTRYPOINT, METRICS_PORT),
    )
}

/// The IngressClass Traefik claims: `platform.ingress_class` when Traefik is the
/// platform's controller, else `traefik` (enabled next to nginx, it must not take nginx's).
fn class_of(cx: &Context) -> String {
    if cx.platform.ingress_controller == IngressController::Traefik {
        cx.platform.ingress_class_name().to_string()
    } else {
        IngressController::Traefik.name().to_string()
    }
}

fn labels(name: &str) -> BTreeMap<String, String> {
    meta::labels(name, COMPONENT_LABEL)
}

fn metadata(name: &str, ns: &str) -> ObjectMeta {
    meta::namespaced(name, ns, labels(name))
}

/// What the dynamic configuration template reads.
#[derive(Serialize)]
struct DynamicContext<'a> {
    auth_address: Option<String>,
    auth_middleware: &'a str,
    dashboard: bool,
    http_entrypoint: &'a str,
    internal_entrypoint: &'a str,
    self_signed_transport: &'a str,
}

/// The dynamic configuration: the HTTPS redirect, the forwardAuth middleware when
/// oauth2-proxy renders, the serversTransport for self-signed HTTPS backends, and the
/// dashboard's router when it is on.
fn dynamic_config(p: &TraefikParams, cx: &Context) -> Result<String, Error> {
    let auth_address = cx.published.auth_service.as_ref().map(|s| format!("{}/", s.http_url()));
    render_template(
        "dynamic.yaml",
        DYNAMIC_TEMPLATE,
        DynamicContext {
            auth_address,
            auth_middleware: AUTH_MIDDLEWARE,
            dashboard: p.dashboard.enabled,
            http_entrypoint: HTTP_ENTRYPOINT,
            internal_entrypoint: INTERNAL_ENTRYPOINT,
            self_signed_transport: SELF_SIGNED_TRANSPORT,
        },
    )
}

fn config_map(ns: &str, dynamic: String) -> ConfigMap {
    ConfigMap {
        metadata: metadata(NAME, ns),
        data: Some(BTreeMap::from([(DYNAMIC_FILE.to_string(), dynamic)])),
        ..Default::default()
    }
}

fn service_account(ns: &str) -> ServiceAccount {
    rbac::service_account(metadata(NAME, ns), Some(true))
}

/// The upstream chart's ClusterRole for Traefik v3.5 and later with only the Kubernetes
/// Ingress provider on (no CRD, Gateway or Hub rules; `extensions` is long gone): Services
/// and Nodes, EndpointSlices (the backends), Pods `get` (v3.5), Secrets (TLS), Ingresses
/// and IngressClasses, and Ingress status (the load balancer's address for external-dns).
fn cluster_role() -> ClusterRole {
    rbac::cluster_role(
        meta::cluster_scoped(NAME, labels(NAME)),
        vec![
            rule(&[""], &["nodes", "services"], READ),
            rule(&["discovery.k8s.io"], &["endpointslices"], &["list", "watch"]),
            rule(&[""], &["pods"], &["get"]),
            rule(&[""], &["secrets"], READ),
            rule(&["networking.k8s.io"], &["ingressclasses", "ingresses"], READ),
            rule(&["networking.k8s.io"], &["ingresses/status"], &["update"]),
        ],
    )
}

fn cluster_role_binding(ns: &str) -> ClusterRoleBinding {
    Grant { role: NAME, service_account: NAME, namespace: ns }
        .cluster_role_binding(meta::cluster_scoped(NAME, labels(NAME)))
}

fn service_port(name: &str, port: i32, target: &str, app_protocol: Option<&str>) -> ServicePort {
    ServicePort { app_protocol: app_protocol.map(Into::into), ..tcp_port(name, port, target) }
}

fn load_balancer(cx: &Context) -> Service {
    Service {
        metadata: load_balancer_metadata(metadata(NAME, cx.namespace()), cx),
        spec: Some(ServiceSpec {
            type_: Some("LoadBalancer".into()),
            // Clients' addresses reach Traefik (access logs, allow-lists).
            external_traffic_policy: Some("Local".into()),
            selector: Some(meta::selector_labels(NAME)),
            ports: Some(vec![
                service_port("http", 80, HTTP_ENTRYPOINT, Some("http")),
                service_port("https", 443, HTTPS_ENTRYPOINT, Some("https")),
            ]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn dashboard_service(ns: &str) -> Service {
    PodService {
        kind: ServiceKind::ClusterIp,
        selector: meta::selector_labels(NAME),
        ports: vec![service_port(INTERNAL_ENTRYPOINT, INTERNAL_PORT, INTERNAL_ENTRYPOINT, Some("http"))],
    }
    .build(metadata(DASHBOARD_NAME, ns))
}

fn args(p: &TraefikParams, cx: &Context, class: &str) -> Vec<String> {
    let ns = cx.namespace();
    let mut args = vec![
        format!("--entryPoints.{HTTP_ENTRYPOINT}.address=:{HTTP_PORT}/tcp"),
        format!("--entryPoints.{HTTPS_ENTRYPOINT}.address=:{HTTPS_PORT}/tcp"),
        format!("--entryPoints.{HTTPS_ENTRYPOINT}.http.tls=true"),
        format!("--entryPoints.{INTERNAL_ENTRYPOINT}.address=:{INTERNAL_PORT}/tcp"),
        format!("--entryPoints.{METRICS_ENTRYPOINT}.address=:{METRICS_PORT}/tcp"),
        format!("--ping.entryPoint={INTERNAL_ENTRYPOINT}"),
        "--metrics.prometheus=true".into(),
        format!("--metrics.prometheus.entryPoint={METRICS_ENTRYPOINT}"),
        "--providers.kubernetesingress=true".into(),
        // Ingress status gets the load balancer's address (external-dns reads it).
        format!("--providers.kubernetesingress.ingressendpoint.publishedservice={ns}/{NAME}"),
        format!("--providers.file.directory={DYNAMIC_DIR}"),
        "--providers.file.watch=true".into(),
        "--global.checknewversion=false".into(),
        "--global.sendanonymoususage=false".into(),
        "--log.level=INFO".into(),
    ];
    if !p.default_class {
        // Only Ingresses of this class; without it Traefik also serves those naming none.
        args.push(format!("--providers.kubernetesingress.ingressclass={class}"));
    }
    if p.access_log {
        args.push("--accesslog=true".into());
    }
    if p.dashboard.enabled {
        // The dashboard only through the router of the dynamic configuration; never
        // `--api.insecure`.
        args.push("--api.dashboard=true".into());
    }
    args
}

fn ping_probe(failure_threshold: i32) -> Probe {
    Probe {
        initial_delay_seconds: Some(2),
        success_threshold: Some(1),
        ..crate::common::probes::http("/ping", INTERNAL_ENTRYPOINT, 10, 2, failure_threshold)
    }
}

fn container(p: &TraefikParams, cx: &Context, class: &str) -> Container {
    let mut security = container_security(true);
    security.run_as_user = Some(UID);
    security.run_as_group = Some(UID);
    Container {
        name: CONTAINER.into(),
        image: Some(p.image.clone()),
        args: Some(args(p, cx, class)),
        ports: Some(vec![
            container_port(HTTP_ENTRYPOINT, HTTP_PORT),
            container_port(HTTPS_ENTRYPOINT, HTTPS_PORT),
            container_port(INTERNAL_ENTRYPOINT, INTERNAL_PORT),
            container_port(METRICS_ENTRYPOINT, METRICS_PORT),
        ]),
        resources: Some(p.resources.to_k8s()),
        security_context: Some(security),
        readiness_probe: Some(ping_probe(1)),
        liveness_probe: Some(ping_probe(3)),
        volume_mounts: Some(vec![
            {
                let mut m = mount("dynamic", DYNAMIC_DIR);
                m.read_only = Some(true);
                m
            },
            mount("tmp", "/tmp"),
        ]),
        ..Default::default()
    }
}

fn pod_template(
    p: &TraefikParams,
    cx: &Context,
    class: &str,
    checksum: &str,
    mut annotations: BTreeMap<String, String>,
) -> PodTemplateSpec {
    let mut labels = labels(NAME);
    labels.extend(meta::selector_labels(NAME));
    annotations.extend([
        ("checksum/config".to_string(), checksum.to_string()),
        ("kubectl.kubernetes.io/default-container".to_string(), CONTAINER.to_string()),
    ]);
    let selector = meta::selector(meta::selector_labels(NAME));
    let spread = p.workload == Workload::Deployment;
    let pod = PodSpec {
        service_account_name: Some(NAME.into()),
        automount_service_account_token: Some(true),
        security_context: Some(pod_security(UID, UID, UID)),
        termination_grace_period_seconds: Some(GRACE_PERIOD_SECONDS),
        node_selector: Some(BTreeMap::from([("kubernetes.io/os".to_string(), "linux".to_string())])),
        // Prefer spreading over nodes and zones: one going down takes only part of the
        // ingress capacity with it (a DaemonSet is on every node anyway).
        affinity: spread.then(|| spread_over_nodes(&selector, 100)),
        topology_spread_constraints: spread.then(|| vec![spread_over_zones(&selector, &cx.platform.zone_label)]),
        containers: vec![container(p, cx, class)],
        volumes: Some(vec![
            Volume {
                name: "dynamic".into(),
                config_map: Some(ConfigMapVolumeSource { name: NAME.into(), ..Default::default() }),
                ..Default::default()
            },
            empty_dir("tmp"),
        ]),
        ..Default::default()
    };
    PodTemplateSpec {
        metadata: Some(ObjectMeta { labels: Some(labels), annotations: Some(annotations), ..Default::default() }),
        spec: Some(pod),
    }
}

fn deployment(p: &TraefikParams, ns: &str, template: PodTemplateSpec) -> Deployment {
    Deployment {
        metadata: metadata(NAME, ns),
        spec: Some(DeploymentSpec {
            replicas: Some(p.replicas as i32),
            selector: meta::selector(meta::selector_labels(NAME)),
            // Never below the current count while rolling: a new pod is ready first.
            strategy: Some(DeploymentStrategy {
                type_: Some("RollingUpdate".into()),
                rolling_update: Some(RollingUpdateDeployment {
                    max_surge: Some(IntOrString::Int(1)),
                    max_unavailable: Some(IntOrString::Int(0)),
                }),
            }),
            min_ready_seconds: Some(5),
            template,
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn daemon_set(ns: &str, template: PodTemplateSpec) -> DaemonSet {
    let mut ds = crate::common::daemon_set::rolling(
        metadata(NAME, ns),
        meta::selector(meta::selector_labels(NAME)),
        IntOrString::Int(1),
        template,
    );
    if let Some(spec) = ds.spec.as_mut() {
        spec.min_ready_seconds = Some(5);
    }
    ds
}

/// One controller down at a time during drains.
fn disruption_budget(ns: &str) -> PodDisruptionBudget {
    pdb::disruption_budget(metadata(NAME, ns), Budget::MaxUnavailable(1), meta::selector(meta::selector_labels(NAME)))
}

fn ingress_class(p: &TraefikParams, class: &str) -> IngressClass {
    common_ingress_class(meta::cluster_scoped(class, labels(NAME)), CONTROLLER_CLASS, p.default_class)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::ingress_class::IS_DEFAULT_CLASS_ANNOTATION;
    use crate::common::pod::Resources;
    use crate::common::testing;
    use crate::common::testing::{find, path_of};
    use crate::context::{AuthRef, ServiceRef};
    use crate::nginx_ingress::NginxIngress;
    use crate::stack::Stack;
    use runway_core::{SourceId, SourceKind};

    /// The onprem platform's facts with oauth2-proxy and cert-manager published.
    fn cx() -> Context {
        let mut cx = Context::default();
        cx.platform.ingress_controller = IngressController::Traefik;
        cx.platform.load_balancer_annotations =
            BTreeMap::from([("metallb.universe.tf/address-pool".to_string(), "default".to_string())]);
        cx.config.dns_zone = Some("example.com".into());
        cx.published.tls_issuer = Some("letsencrypt-prod".into());
        cx.published.auth = Some(AuthRef {
            auth_url: "https://auth.example.com/oauth2/auth".into(),
            signin_url: "https://auth.example.com/oauth2/start?rd=$scheme://$host$escaped_request_uri".into(),
        });
        cx.published.auth_service =
            Some(ServiceRef { name: "oauth2-proxy".into(), namespace: "kubeprod".into(), port: 4180 });
        cx
    }

    fn build(p: &TraefikParams) -> Vec<Object> {
        Traefik::build(p, &cx()).unwrap_or_else(|e| panic!("builds: {e}"))
    }

    fn with(f: impl FnOnce(&mut TraefikParams)) -> TraefikParams {
        testing::with(f)
    }

    fn pod(o: &Object) -> &serde_json::Value {
        &o.value["spec"]["template"]["spec"]
    }

    fn args_of(objects: &[Object]) -> Vec<String> {
        let workload = objects.iter().find(|o| o.key == "deploy" || o.key == "daemonset").expect("a workload");
        pod(workload)["containers"][0]["args"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a.as_str().map(String::from))
            .collect()
    }

    /// The dynamic configuration, read back as YAML.
    fn dynamic(objects: &[Object]) -> serde_json::Value {
        let text = find(objects, "config").value["data"][DYNAMIC_FILE].as_str().expect("a config file").to_string();
        runway_core::layer::parse_layer(SourceId(0), &text).expect("the dynamic configuration is YAML").to_json()
    }

    #[test]
    fn default_build_has_its_objects_keys_and_names() {
        let objects = build(&TraefikParams::default());
        let got: Vec<(&str, &str, &str)> = objects.iter().map(|o| (o.key.as_str(), o.kind(), o.name())).collect();
        assert_eq!(
            got,
            [
                ("serviceAccount", "ServiceAccount", "traefik"),
                ("clusterRole", "ClusterRole", "traefik"),
                ("clusterRoleBinding", "ClusterRoleBinding", "traefik"),
                ("config", "ConfigMap", "traefik"),
                ("svc", "Service", "traefik"),
                ("deploy", "Deployment", "traefik"),
                ("pdb", "PodDisruptionBudget", "traefik"),
                ("ingressClass", "IngressClass", "traefik"),
            ]
        );
        for o in &objects {
            let cluster_scoped = matches!(o.kind(), "ClusterRole" | "ClusterRoleBinding" | "IngressClass");
            assert_eq!(o.namespace(), if cluster_scoped { "" } else { "kubeprod" }, "{}", o.key);
            assert!(Traefik::OBJECTS.iter().any(|d| d.key == o.key && d.kind == o.kind()), "{} is documented", o.key);
        }
        let class = &find(&objects, "ingressClass").value;
        assert_eq!(class["spec"]["controller"], "traefik.io/ingress-controller");
        assert_eq!(class["metadata"]["annotations"][IS_DEFAULT_CLASS_ANNOTATION], "true");
        assert_eq!(find(&objects, "deploy").value["spec"]["template"]["spec"]["containers"][0]["image"], DEFAULT_IMAGE);
    }

    #[test]
    fn the_platform_choice_renders_one_controller_and_publishes_it() {
        let mut platform = Platform::default();
        assert!(!Traefik::default_enabled_on(&platform) && NginxIngress::default_enabled_on(&platform));
        platform.ingress_controller = IngressController::Traefik;
        assert!(Traefik::default_enabled_on(&platform) && !NginxIngress::default_enabled_on(&platform));

        let mut published = Published::default();
        Traefik::publish(&TraefikParams::default(), &cx(), &mut published);
        let ic = published.ingress_controller.expect("traefik publishes itself");
        assert_eq!(
            (ic.controller, ic.namespace.as_str(), ic.class.as_str()),
            (IngressController::Traefik, "kubeprod", "traefik")
        );
        assert_eq!(ic.selector, meta::selector_labels(NAME));
        // Enabled next to nginx (the platform's choice), it neither publishes nor takes
        // nginx's class.
        let mut nginx_cx = cx();
        nginx_cx.platform.ingress_controller = IngressController::Nginx;
        let mut published = Published::default();
        Traefik::publish(&TraefikParams::default(), &nginx_cx, &mut published);
        assert!(published.ingress_controller.is_none());
        let objects = Traefik::build(&TraefikParams::default(), &nginx_cx).expect("builds");
        assert_eq!(find(&objects, "ingressClass").name(), "traefik");
    }

    #[test]
    fn switching_is_one_line_on_onprem() {
        let components: [&dyn crate::ErasedComponent; 2] = [&Traefik, &NginxIngress];
        let render = |extra: Option<&str>| {
            let mut s = Stack::new();
            s.platform("onprem", "test").expect("onprem exists");
            if let Some(set) = extra {
                s.set(set, false).expect("a valid --set");
            }
            s.render(&components).unwrap_or_else(|e| panic!("{}", e.render()))
        };
        let controllers = |r: &crate::Rendered| -> Vec<String> {
            r.objects.iter().filter(|o| o.kind() == "IngressClass").map(|o| o.name().to_string()).collect()
        };
        assert_eq!(controllers(&render(None)), ["traefik"], "onprem defaults to traefik, as k3s");
        assert_eq!(controllers(&render(Some("platform.ingress_controller=nginx"))), ["nginx"]);
        let both = render(Some("platform.components.nginx_ingress=true"));
        assert_eq!(controllers(&both), ["nginx", "traefik"], "an explicitly enabled controller renders beside");
    }

    #[test]
    fn unprivileged_ports_need_no_capability() {
        let objects = build(&TraefikParams::default());
        let deploy = find(&objects, "deploy");
        let c = &pod(deploy)["containers"][0];
        let sc = &c["securityContext"];
        assert_eq!(sc["capabilities"], serde_json::json!({"drop": ["ALL"]}), "no NET_BIND_SERVICE");
        assert_eq!(sc["readOnlyRootFilesystem"], true);
        assert_eq!(sc["allowPrivilegeEscalation"], false);
        assert_eq!(sc["runAsNonRoot"], true);
        assert_eq!(sc["runAsUser"], 65532);
        let ports: Vec<i64> =
            c["ports"].as_array().into_iter().flatten().filter_map(|p| p["containerPort"].as_i64()).collect();
        assert!(ports.iter().all(|p| *p >= 1024), "{ports:?}");
        assert_eq!(crate::namespaces::pod_security_level(&deploy.value), "restricted");
        assert!(deploy.value["spec"]["template"]["metadata"]["annotations"]
            .get(crate::common::pod::SECURITY_EXCEPTION_ANNOTATION)
            .is_none());
        let svc = &find(&objects, "svc").value;
        assert_eq!(svc["spec"]["type"], "LoadBalancer");
        assert_eq!(svc["spec"]["externalTrafficPolicy"], "Local");
        assert_eq!(svc["metadata"]["annotations"]["metallb.universe.tf/address-pool"], "default");
        let mapped: Vec<(i64, &str)> = svc["spec"]["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| (p["port"].as_i64().unwrap_or(0), p["targetPort"].as_str().unwrap_or("")))
            .collect();
        assert_eq!(mapped, [(80, "web"), (443, "websecure")], "metrics stay off the load balancer");
    }

    #[test]
    fn metrics_are_scraped_from_their_own_port() {
        let objects = build(&TraefikParams::default());
        let template = &find(&objects, "deploy").value["spec"]["template"];
        let ann = &template["metadata"]["annotations"];
        assert_eq!(ann["prometheus.io/scrape"], "true");
        assert_eq!(ann["prometheus.io/port"], "9100");
        assert_eq!(ann["prometheus.io/path"], "/metrics");
        let ports = &template["spec"]["containers"][0]["ports"];
        assert!(ports.as_array().into_iter().flatten().any(|p| p["name"] == "metrics" && p["containerPort"] == 9100));
        let args = args_of(&objects);
        assert!(args.contains(&"--metrics.prometheus.entryPoint=metrics".to_string()));
        assert!(args.contains(&"--entryPoints.metrics.address=:9100/tcp".to_string()));
        assert!(objects.iter().all(|o| o.kind() != "PodMonitor"), "annotations mode renders no monitor");

        // Operator mode: a PodMonitor on the named port, and no annotations.
        let mut operator = cx();
        operator.platform.monitoring = crate::context::MonitoringMode::Operator;
        let objects = Traefik::build(&TraefikParams::default(), &operator).expect("builds");
        let ann = &find(&objects, "deploy").value["spec"]["template"]["metadata"]["annotations"];
        assert!(ann.get("prometheus.io/scrape").is_none(), "{ann}");
        assert!(ann.get("checksum/config").is_some(), "the other annotations stay");
        let monitor = &find(&objects, "podMonitor").value;
        assert_eq!(monitor["kind"], "PodMonitor");
        assert_eq!(monitor["spec"]["podMetricsEndpoints"][0]["port"], METRICS_ENTRYPOINT);
        assert_eq!(monitor["spec"]["selector"]["matchLabels"], serde_json::json!(meta::selector_labels(NAME)));
    }

    #[test]
    fn network_flows_open_the_entry_points_and_reach_backends_api_and_oauth2_proxy() {
        use crate::network::{tcp, Egress, Ingress};
        let flows = Traefik::network(&TraefikParams::default(), &cx());
        assert_eq!(flows.len(), 1);
        let f = &flows[0];
        assert_eq!((f.workload, f.key), ("deploy", "networkPolicy"));
        assert!(f.talks_to_api());
        assert!(f.egress.contains(&Egress::IngressBackends));
        assert!(f.egress.contains(&Egress::Service {
            namespace: Some("kubeprod".into()),
            name: "oauth2-proxy".into(),
            port: 4180
        }));
        let Ingress::Anywhere { ports, .. } = &f.ingress[0];
        assert_eq!(ports, &[tcp(HTTP_PORT), tcp(HTTPS_PORT)], "the entry points behind the load balancer only");
        // No oauth2-proxy, no flow to it; a DaemonSet is the workload when asked.
        let mut no_auth = cx();
        no_auth.published.auth_service = None;
        let flows = Traefik::network(&with(|p| p.workload = Workload::Daemonset), &no_auth);
        assert_eq!(flows[0].workload, "daemonset");
        assert!(!flows[0].egress.iter().any(|e| matches!(e, Egress::Service { .. })));
        for key in ["networkPolicy", "podMonitor"] {
            assert!(Traefik::OBJECTS.iter().any(|d| d.key == key), "{key} is documented");
        }
    }

    #[test]
    fn self_signed_backends_have_a_transport_that_skips_verification() {
        let config = dynamic(&build(&TraefikParams::default()));
        let transport = &config["http"]["serversTransports"][SELF_SIGNED_TRANSPORT];
        assert_eq!(transport, &serde_json::json!({"insecureSkipVerify": true}));
        assert_eq!(SELF_SIGNED_TRANSPORT_REF, format!("{SELF_SIGNED_TRANSPORT}@file"));
    }

    #[test]
    fn forward_auth_asks_oauth2_proxy_inside_the_cluster() {
        let objects = build(&TraefikParams::default());
        let config = dynamic(&objects);
        let auth = &config["http"]["middlewares"][AUTH_MIDDLEWARE]["forwardAuth"];
        assert_eq!(auth["address"], "http://oauth2-proxy.kubeprod.svc:4180/");
        assert_eq!(auth["trustForwardHeader"], false);
        assert_eq!(auth["authResponseHeaders"], serde_json::json!(["X-Auth-Request-User", "X-Auth-Request-Email"]));
        assert_eq!(AUTH_MIDDLEWARE_REF, format!("{AUTH_MIDDLEWARE}@file"));
        // Plain HTTP goes to HTTPS, at the lowest priority (ACME's HTTP-01 solver wins).
        let redirect = &config["http"]["routers"]["http-to-https"];
        assert_eq!(redirect["priority"], 1);
        assert_eq!(redirect["entryPoints"], serde_json::json!(["web"]));
        assert_eq!(config["http"]["middlewares"]["redirect-to-https"]["redirectScheme"]["scheme"], "https");
        let args = args_of(&objects);
        assert!(args.contains(&format!("--providers.file.directory={DYNAMIC_DIR}")));
        assert!(args
            .contains(&"--providers.kubernetesingress.ingressendpoint.publishedservice=kubeprod/traefik".to_string()));
        // A config change rolls the pods.
        let sum = &find(&objects, "deploy").value["spec"]["template"]["metadata"]["annotations"]["checksum/config"];
        let mut no_auth = cx();
        no_auth.published.auth_service = None;
        let other = Traefik::build(&TraefikParams::default(), &no_auth).expect("builds");
        assert!(
            dynamic(&other)["http"]["middlewares"].get(AUTH_MIDDLEWARE).is_none(),
            "no oauth2-proxy, no middleware"
        );
        assert_ne!(
            sum,
            &find(&other, "deploy").value["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
        );
    }

    #[test]
    fn rbac_is_exactly_what_the_ingress_provider_reads() {
        let objects = build(&TraefikParams::default());
        let rules = &find(&objects, "clusterRole").value["rules"];
        assert_eq!(
            rules,
            &serde_json::json!([
                {"apiGroups": [""], "resources": ["nodes", "services"], "verbs": ["get", "list", "watch"]},
                {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["list", "watch"]},
                {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]},
                {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "watch"]},
                {"apiGroups": ["networking.k8s.io"], "resources": ["ingressclasses", "ingresses"], "verbs": ["get", "list", "watch"]},
                {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses/status"], "verbs": ["update"]},
            ])
        );
        let binding = &find(&objects, "clusterRoleBinding").value;
        assert_eq!(
            binding["subjects"][0],
            serde_json::json!({"kind": "ServiceAccount", "name": "traefik", "namespace": "kubeprod"})
        );
        assert_eq!(pod(find(&objects, "deploy"))["serviceAccountName"], "traefik");
    }

    #[test]
    fn dashboard_is_off_by_default_and_only_behind_oauth2_proxy() {
        let objects = build(&TraefikParams::default());
        assert!(objects.iter().all(|o| !o.key.starts_with("dashboard.")));
        assert!(!args_of(&objects).iter().any(|a| a.starts_with("--api")));
        assert!(dynamic(&objects)["http"]["routers"].get("dashboard").is_none());

        let on = with(|p| p.dashboard.enabled = true);
        let objects = build(&on);
        let args = args_of(&objects);
        assert!(args.contains(&"--api.dashboard=true".to_string()));
        assert!(!args.iter().any(|a| a.starts_with("--api.insecure")), "never the insecure API");
        let router = &dynamic(&objects)["http"]["routers"]["dashboard"];
        assert_eq!(router["service"], "api@internal");
        assert_eq!(router["entryPoints"], serde_json::json!([INTERNAL_ENTRYPOINT]));
        let svc = &find(&objects, "dashboard.svc").value;
        assert_eq!(svc["spec"]["type"], "ClusterIP");
        assert_eq!(svc["spec"]["ports"][0]["targetPort"], INTERNAL_ENTRYPOINT);
        let ingress = &find(&objects, "dashboard.ingress").value;
        assert_eq!(ingress["metadata"]["name"], DASHBOARD_NAME);
        assert_eq!(ingress["spec"]["rules"][0]["host"], "traefik.example.com");
        let ann = &ingress["metadata"]["annotations"];
        assert_eq!(ann[crate::common::ingress::TRAEFIK_MIDDLEWARES_ANNOTATION], AUTH_MIDDLEWARE_REF);
        assert_eq!(ann[crate::common::ingress::TRAEFIK_TLS_ANNOTATION], "true");
        assert_eq!(ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"], DASHBOARD_NAME);

        let mut no_login = cx();
        no_login.published.auth = None;
        let e = Traefik::build(&on, &no_login).expect_err("a dashboard without login is refused");
        assert!(e.to_string().contains("oauth2_proxy"), "{e}");
    }

    #[test]
    fn daemonset_workload_replaces_the_deployment_and_its_budget() {
        let objects = build(&with(|p| p.workload = Workload::Daemonset));
        assert!(objects.iter().all(|o| o.key != "deploy" && o.key != "pdb"));
        let ds = &find(&objects, "daemonset").value;
        assert_eq!(ds["kind"], "DaemonSet");
        assert_eq!(ds["spec"]["updateStrategy"]["rollingUpdate"]["maxUnavailable"], 1);
        assert!(ds["spec"]["template"]["spec"].get("topologySpreadConstraints").is_none());
        assert_eq!(ds["spec"]["template"]["spec"]["containers"][0]["name"], "traefik");
    }

    #[test]
    fn default_class_off_watches_only_its_class() {
        let objects = build(&with(|p| p.default_class = false));
        assert!(find(&objects, "ingressClass").value["metadata"].get("annotations").is_none());
        assert!(args_of(&objects).contains(&"--providers.kubernetesingress.ingressclass=traefik".to_string()));
        assert!(!args_of(&build(&TraefikParams::default())).iter().any(|a| a.contains("ingressclass=")));
        let mut c = cx();
        c.platform.ingress_class = Some("public".into());
        assert_eq!(
            find(&Traefik::build(&TraefikParams::default(), &c).expect("builds"), "ingressClass").name(),
            "public"
        );
        c.platform.ingress_class = Some("Not Valid".into());
        let e = Traefik::build(&TraefikParams::default(), &c).expect_err("rejected");
        assert_eq!(path_of(&e), "platform.ingress_class");
    }

    #[test]
    fn bad_parameters_are_errors_naming_their_path() {
        let path = |p: TraefikParams| {
            let e = Traefik::build(&p, &cx()).expect_err("rejected");
            assert!(!e.helps().is_empty(), "{e} has no help");
            path_of(&e)
        };
        assert_eq!(path(with(|p| p.replicas = 0)), "traefik.replicas");
        assert_eq!(path(with(|p| p.image = "a b".into())), "traefik.image");
        assert_eq!(path(with(|p| p.resources = Resources::new("1", "1Gi", None, "512Mi"))), "traefik.resources");
        assert_eq!(path(with(|p| p.dashboard.host_label = "Dash Board".into())), "traefik.dashboard.host_label");
        // A DaemonSet has no replica count to get wrong.
        assert!(Traefik::build(
            &with(|p| {
                p.workload = Workload::Daemonset;
                p.replicas = 0;
            }),
            &cx()
        )
        .is_ok());
    }

    #[test]
    fn every_object_round_trips() {
        for p in [with(|p| p.dashboard.enabled = true), with(|p| p.workload = Workload::Daemonset)] {
            for mut o in build(&p) {
                let before = o.value.clone();
                o.check_round_trip().unwrap_or_else(|e| panic!("{}: {e}", o.key));
                assert_eq!(before, o.value, "{} changed in the round trip", o.key);
            }
        }
    }

    #[test]
    fn selectors_match_the_pod_template() {
        let objects = build(&with(|p| p.dashboard.enabled = true));
        let labels = find(&objects, "deploy").value["spec"]["template"]["metadata"]["labels"].clone();
        let matches = |sel: &serde_json::Value| {
            let sel = sel.as_object().expect("a selector");
            !sel.is_empty() && sel.iter().all(|(k, v)| labels.get(k) == Some(v))
        };
        assert!(matches(&find(&objects, "svc").value["spec"]["selector"]));
        assert!(matches(&find(&objects, "dashboard.svc").value["spec"]["selector"]));
        assert!(matches(&find(&objects, "pdb").value["spec"]["selector"]["matchLabels"]));
        assert!(matches(&find(&objects, "deploy").value["spec"]["selector"]["matchLabels"]));
    }

    #[test]
    fn dashboard_patches_nest_under_dashboard() {
        let mut s = Stack::new();
        s.platform("onprem", "test").expect("onprem exists");
        s.layer(
            "test.yaml",
            SourceKind::File,
            "config: {dns_zone: example.com}\ntraefik:\n  dashboard:\n    enabled: true\n    svc:\n      metadata:\n        \
             annotations: {team: edge}\n",
        )
        .expect("parses");
        let e = s.render(&[&Traefik]).expect_err("no oauth2-proxy in this render");
        assert!(e.to_string().contains("oauth2_proxy"), "{e}");
        s.set("traefik.dashboard.ingress=null", false).expect("a valid --set");
        let rendered = s.render(&[&Traefik]).unwrap_or_else(|e| panic!("{}", e.render()));
        let svc = rendered.objects.iter().find(|o| o.name() == DASHBOARD_NAME).expect("the dashboard Service");
        assert_eq!(svc.value["metadata"]["annotations"]["team"], "edge");
        assert!(rendered.objects.iter().all(|o| o.kind() != "Ingress"));
    }
}
