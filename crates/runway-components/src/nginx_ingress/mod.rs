//! The ingress controller: ingress-nginx behind a LoadBalancer Service, BKPR's
//! `nginx_ingress` component rebuilt on the upstream image.
//!
//! # What it renders
//!
//! The Deployment `nginx-ingress-controller` (HTTP 80, HTTPS 443, and 10254 for
//! `/healthz` and `/metrics`, scraped through the `prometheus.io/*` pod annotations), the
//! LoadBalancer Service `nginx-ingress` with the platform's annotations and
//! `externalTrafficPolicy: Local` (clients' addresses reach NGINX), the IngressClass named
//! by `platform.ingress_class`, a HorizontalPodAutoscaler (autoscaling/v2, key `hpa`), a
//! PodDisruptionBudget, the default backend `default-http-backend` that answers 404 for
//! hosts and paths no Ingress routes, the ConfigMaps `nginx-ingress` (controller settings),
//! `tcp-services` and `udp-services`, and the RBAC ingress-nginx needs (a ClusterRole to
//! watch Ingresses, Services, EndpointSlices and Secrets everywhere; a Role for its own
//! namespace and its leader-election Lease).
//!
//! # Adopting a BKPR install in place
//!
//! Names, selectors and override keys are BKPR's: `controller` (the Deployment, selector
//! `{name: nginx-ingress-controller}`, container `nginx`), `svc`, `hpa`, `pdb`, `config`,
//! `tcpconf`, `udpconf`, `serviceAccount`, `ingressControllerClusterRole`,
//! `ingressControllerRole` and their bindings, and `default: {deploy, svc}` for the default
//! backend (selector `{name: default-http-backend}`). The Service keeps its name, so the
//! cloud load balancer and its address survive. What changes:
//! - The image moves from Bitnami's 0.x controller (uid 1001) to upstream's current one
//!   (uid 101). Leader election moves from a ConfigMap to a Lease; the old ConfigMap
//!   `ingress-controller-leader-nginx` is left behind and may be deleted.
//! - The Deployment no longer sets `spec.replicas`: the autoscaler owns it (from
//!   `replicas` up to `max_replicas`), and a re-apply does not reset a scaled-out
//!   controller to the manifest's count.
//! - BKPR's `enable-vts-status` setting is gone from the controller (metrics are
//!   Prometheus metrics on 10254 now), so it is not rendered.
//! - The IngressClass is new (Ingresses name it in `spec.ingressClassName`); with
//!   `default_class` (the default) Ingresses that name no class are still served.
//!
//! # Security
//!
//! The controller runs as uid 101 (`www-data` in the image) with every capability dropped
//! but NET_BIND_SERVICE and `allowPrivilegeEscalation: false`. NGINX binds 80 and 443 as
//! that non-root user: the image's binaries carry the `cap_net_bind_service` file
//! capability, and under no-new-privileges the kernel grants a file capability only if
//! the container already holds it, so the capability must be added. The root filesystem
//! stays writable: the controller writes `nginx.conf`, Lua state and certificates under
//! `/etc/nginx` and `/etc/ingress-controller` at run time, and upstream does not support
//! mounting those read-only. Both exceptions are recorded in the pod template's
//! `runway.dev/security-exception` annotation. The pods still meet the `restricted` Pod
//! Security Standard (it allows NET_BIND_SERVICE). The controller's pod talks to the API
//! server, so its ServiceAccount token is mounted; the default backend's is not.
//!
//! # The admission webhook is left out
//!
//! ingress-nginx can validate Ingresses in a webhook before the API server stores them.
//! That webhook needs a serving certificate, which upstream makes with two Jobs
//! (`kube-webhook-certgen create` and `patch`) that also rewrite the
//! ValidatingWebhookConfiguration's CA bundle: objects that change after apply, which a
//! GitOps tool then reports as drift, and a webhook whose `failurePolicy: Fail` blocks
//! every Ingress change while the controller is down. Without it, an invalid Ingress is
//! accepted by the API server and the controller logs and skips it at sync time.
//!
//! # Upstream status
//!
//! The Kubernetes project retired ingress-nginx in March 2026: v1.15.1 is its last
//! release, and no security fixes follow. It is kept because the runtime's Ingresses and
//! their oauth2-proxy annotations (`nginx.ingress.kubernetes.io/auth-*`) are written for
//! it; the `image` parameter takes a maintained fork built from the same sources.

mod params;

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment};
use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec, MetricSpec, MetricTarget,
    ResourceMetricSource,
};
use k8s_openapi::api::core::v1::{
    Affinity, Capabilities, ConfigMap, Container, ContainerPort, EnvVar, ExecAction, HTTPGetAction, Lifecycle,
    LifecycleHandler, PodSpec, PodTemplateSpec, Probe, Service, ServiceAccount, ServicePort, ServiceSpec,
    TopologySpreadConstraint,
};
use k8s_openapi::api::networking::v1::IngressClass;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use runway_core::{Error, KeyPath, Object};

pub use self::params::{
    DefaultBackendParams, NginxIngressParams, DEFAULT_BACKEND_IMAGE, DEFAULT_IMAGE, RESERVED_PORTS,
};
use crate::common::env::field_env;
use crate::common::ingress_class::ingress_class as common_ingress_class;
use crate::common::meta;
use crate::common::metrics::{MetricsEndpoint, Scrape};
use crate::common::pdb::{self, Budget};
use crate::common::pod::{container_security, pod_security, SECURITY_EXCEPTION_ANNOTATION};
use crate::common::pod::{spread_over_nodes, spread_over_zones};
use crate::common::rbac::{self, rule, rule_named, Grant, READ};
use crate::common::service::{load_balancer_metadata, tcp_port, PodService, ServiceKind};
use crate::component::{Component, ObjectDoc};
use crate::context::{Context, IngressController, IngressControllerRef, Platform, Published};

/// The controller's Deployment, ServiceAccount, RBAC, autoscaler and disruption budget.
pub const CONTROLLER_NAME: &str = "nginx-ingress-controller";
/// The LoadBalancer Service, and the controller's ConfigMap (BKPR's).
pub const SERVICE_NAME: &str = "nginx-ingress";
/// The default backend's Deployment and Service.
pub const DEFAULT_BACKEND_NAME: &str = "default-http-backend";
/// The ConfigMap of TCP services.
pub const TCP_SERVICES: &str = "tcp-services";
/// The ConfigMap of UDP services.
pub const UDP_SERVICES: &str = "udp-services";
/// The `controller` value of the IngressClass, which the controller claims.
pub const CONTROLLER_CLASS: &str = "k8s.io/ingress-nginx";
/// Health and metrics port (`/healthz`, `/metrics`).
pub const METRICS_PORT: i32 = 10254;
/// The default backend's container port.
pub const DEFAULT_BACKEND_PORT: i32 = 8080;

const COMPONENT_LABEL: &str = "nginx-ingress";
const CONTAINER: &str = "nginx";
const DEFAULT_BACKEND_CONTAINER: &str = "default-http-backend";
/// `www-data` in the controller image; its group is Alpine's `www-data` (82).
const NGINX_UID: i64 = 101;
const NGINX_GID: i64 = 82;
/// `nobody`, as upstream's chart runs the default backend.
const NOBODY: i64 = 65534;
/// Long enough for `/wait-shutdown` to let NGINX finish its requests (its
/// `worker-shutdown-timeout` is 240s).
const GRACE_PERIOD_SECONDS: i64 = 300;

/// The NGINX ingress controller component.
pub struct NginxIngress;

impl Component for NginxIngress {
    const NAME: &'static str = "nginx_ingress";
    const SUMMARY: &'static str =
        "ingress-nginx behind a LoadBalancer (BKPR's nginx-ingress-controller), autoscaled, with a 404 default backend";
    const OBJECTS: &'static [ObjectDoc] = &[
        ObjectDoc {
            key: "serviceAccount",
            kind: "ServiceAccount",
            doc: "the controller's identity; it talks to the API",
        },
        ObjectDoc {
            key: "ingressControllerClusterRole",
            kind: "ClusterRole",
            doc: "watch Ingresses, IngressClasses, Services, EndpointSlices, Secrets; update Ingress status",
        },
        ObjectDoc {
            key: "ingressControllerClusterRoleBinding",
            kind: "ClusterRoleBinding",
            doc: "binds the ClusterRole to the ServiceAccount",
        },
        ObjectDoc {
            key: "ingressControllerRole",
            kind: "Role",
            doc: "its own namespace's ConfigMaps, Pods, Secrets and the leader-election Lease",
        },
        ObjectDoc {
            key: "ingressControllerRoleBinding",
            kind: "RoleBinding",
            doc: "binds the Role to the ServiceAccount",
        },
        ObjectDoc { key: "config", kind: "ConfigMap", doc: "`nginx-ingress`: the controller's NGINX settings" },
        ObjectDoc { key: "tcpconf", kind: "ConfigMap", doc: "`tcp-services`: ports forwarded to TCP services" },
        ObjectDoc { key: "udpconf", kind: "ConfigMap", doc: "`udp-services`: ports forwarded to UDP services" },
        ObjectDoc { key: "svc", kind: "Service", doc: "`nginx-ingress`: the LoadBalancer in front of the controllers" },
        ObjectDoc {
            key: "default.svc",
            kind: "Service",
            doc: "`default-http-backend`: port 80 of the default backend",
        },
        ObjectDoc { key: "controller", kind: "Deployment", doc: "`nginx-ingress-controller`: the controllers" },
        ObjectDoc {
            key: "podMonitor",
            kind: "PodMonitor",
            doc: "scrapes the controllers' `metrics` port (`platform.monitoring: operator` or `both`)",
        },
        ObjectDoc { key: "default.deploy", kind: "Deployment", doc: "`default-http-backend`: answers 404" },
        ObjectDoc { key: "hpa", kind: "HorizontalPodAutoscaler", doc: "scales the controllers on CPU" },
        ObjectDoc { key: "pdb", kind: "PodDisruptionBudget", doc: "keeps all but one controller up during drains" },
        ObjectDoc {
            key: "ingressClass",
            kind: "IngressClass",
            doc: "`platform.ingress_class`, claimed by the controller",
        },
        ObjectDoc {
            key: "networkPolicy",
            kind: "NetworkPolicy",
            doc: "`nginx-ingress-controller`: from anywhere on 80/443, to every Ingress backend",
        },
        ObjectDoc {
            key: "defaultBackendNetworkPolicy",
            kind: "NetworkPolicy",
            doc: "`default-http-backend`: from the controllers",
        },
    ];
    type Params = NginxIngressParams;

    fn default_enabled_on(platform: &Platform) -> bool {
        platform.ingress_controller == IngressController::Nginx
    }

    fn publish(_: &NginxIngressParams, cx: &Context, published: &mut Published) {
        if cx.platform.ingress_controller == IngressController::Nginx {
            published.ingress_controller = Some(IngressControllerRef {
                controller: IngressController::Nginx,
                namespace: cx.namespace().to_string(),
                selector: meta::selector_labels(CONTROLLER_NAME),
                class: class_of(cx),
            });
        }
        published.dashboards.push(crate::grafana::dashboards::NGINX_INGRESS);
    }

    fn network(_: &NginxIngressParams, cx: &Context) -> Vec<crate::network::Flows> {
        use crate::network::{tcp, Flows};
        let ns = cx.namespace();
        vec![
            Flows::new("controller", "networkPolicy")
                .to_api_server()
                .to_ingress_backends()
                .to(ns, DEFAULT_BACKEND_NAME, 80)
                .from_anywhere(&[tcp(80), tcp(443)], "the LoadBalancer's clients: every browser and API client")
                .to_internet(
                    &[tcp(443)],
                    "auth-url subrequests go to oauth2-proxy's public host (https://auth.ZONE), through the load balancer",
                ),
            Flows::new("default.deploy", "defaultBackendNetworkPolicy"),
        ]
    }

    fn waivers(_: &NginxIngressParams, _: &Context) -> Vec<crate::waivers::Waiver> {
        use crate::waivers::{Check, Waiver};
        vec![
            Waiver::new(
                "controller",
                Check::HighUid,
                "the image's nginx files and directories belong to www-data (uid 101)",
            ),
            Waiver::new(
                "controller",
                Check::ReadOnlyRootFilesystem,
                "the controller writes nginx.conf, Lua state and temp files under /etc/nginx and /tmp at run time",
            ),
            Waiver::new(
                "controller",
                Check::AddedCapability,
                "NET_BIND_SERVICE only: nginx binds ports 80 and 443 as a non-root user",
            ),
        ]
    }

    fn build(p: &NginxIngressParams, cx: &Context) -> Result<Vec<Object>, Error> {
        p.validate()?;
        let ns = cx.namespace();
        let class = &class_of(cx);
        if !runway_core::names::is_dns_subdomain(class) {
            return Err(Error::invalid(format!("ingress class `{class}` is not a valid IngressClass name"))
                .help("use lowercase letters, digits, `-` and `.`, e.g. `nginx`")
                .with_path(KeyPath::root().key("platform").key("ingress_class")));
        }
        let mut objects = vec![
            Object::new(Self::NAME, "serviceAccount", &service_account(ns)),
            Object::new(Self::NAME, "ingressControllerClusterRole", &cluster_role()),
            Object::new(Self::NAME, "ingressControllerClusterRoleBinding", &cluster_role_binding(ns)),
            Object::new(Self::NAME, "ingressControllerRole", &role(ns, class)),
            Object::new(Self::NAME, "ingressControllerRoleBinding", &role_binding(ns)),
            Object::new(Self::NAME, "config", &controller_config(ns)),
            Object::new(Self::NAME, "tcpconf", &services_config(TCP_SERVICES, ns, &p.tcp_services)),
            Object::new(Self::NAME, "udpconf", &services_config(UDP_SERVICES, ns, &p.udp_services)),
            Object::new(Self::NAME, "svc", &load_balancer(p, cx)),
            Object::new(Self::NAME, "default.svc", &default_backend_service(ns)),
            Object::new(Self::NAME, "controller", &controller(p, cx)),
            Object::new(Self::NAME, "default.deploy", &default_backend(p, ns)),
            Object::new(Self::NAME, "hpa", &autoscaler(p, ns)),
            Object::new(Self::NAME, "pdb", &disruption_budget(p, ns)),
            Object::new(Self::NAME, "ingressClass", &ingress_class(p, class)),
        ];
        objects.extend(scrape(ns).monitor(Self::NAME, "podMonitor", cx));
        Ok(objects)
    }
}

fn labels(name: &str) -> BTreeMap<String, String> {
    meta::labels(name, COMPONENT_LABEL)
}

/// The IngressClass it claims: `platform.ingress_class` when nginx is the platform's
/// controller, else `nginx` (enabled next to Traefik, it must not take Traefik's class).
fn class_of(cx: &Context) -> String {
    if cx.platform.ingress_controller == IngressController::Nginx {
        cx.platform.ingress_class_name().to_string()
    } else {
        IngressController::Nginx.name().to_string()
    }
}

fn metadata(name: &str, ns: &str) -> ObjectMeta {
    meta::namespaced(name, ns, labels(name))
}

/// Pod template labels: runway's labels plus the selector (BKPR's `{name: ...}`).
fn template_labels(name: &str) -> BTreeMap<String, String> {
    let mut l = labels(name);
    l.extend(meta::selector_labels(name));
    l
}

/// The Lease the controllers elect their leader with (the one that writes Ingress
/// status). One per ingress class, as BKPR's ConfigMap lock was.
fn election_id(class: &str) -> String {
    format!("ingress-controller-leader-{class}")
}

fn fq(ns: &str, name: &str) -> String {
    format!("{ns}/{name}")
}

fn service_account(ns: &str) -> ServiceAccount {
    rbac::service_account(metadata(CONTROLLER_NAME, ns), Some(true))
}

/// Upstream's ClusterRole (ingress-nginx v1.15 chart) with the `extensions` group of
/// BKPR's gone: the controller watches every namespace's Ingresses and their backends.
fn cluster_role() -> ClusterRole {
    rbac::cluster_role(
        meta::cluster_scoped(CONTROLLER_NAME, labels(CONTROLLER_NAME)),
        vec![
            rule(&[""], &["configmaps", "endpoints", "nodes", "pods", "secrets", "namespaces"], &["list", "watch"]),
            rule(&["coordination.k8s.io"], &["leases"], &["list", "watch"]),
            rule(&[""], &["nodes"], &["get"]),
            rule(&[""], &["services"], READ),
            rule(&["networking.k8s.io"], &["ingresses"], READ),
            rule(&[""], &["events"], &["create", "patch"]),
            rule(&["networking.k8s.io"], &["ingresses/status"], &["update"]),
            rule(&["networking.k8s.io"], &["ingressclasses"], READ),
            rule(&["discovery.k8s.io"], &["endpointslices"], READ),
        ],
    )
}

fn grant(ns: &str) -> Grant<'_> {
    Grant { role: CONTROLLER_NAME, service_account: CONTROLLER_NAME, namespace: ns }
}

fn cluster_role_binding(ns: &str) -> ClusterRoleBinding {
    grant(ns).cluster_role_binding(meta::cluster_scoped(CONTROLLER_NAME, labels(CONTROLLER_NAME)))
}

/// Upstream's Role: its namespace's objects, and the leader-election Lease by name (it
/// may create Leases, but update only its own).
fn role(ns: &str, class: &str) -> Role {
    let lease = rule_named(&["coordination.k8s.io"], &["leases"], &[election_id(class).as_str()], &["get", "update"]);
    rbac::role(
        metadata(CONTROLLER_NAME, ns),
        vec![
            rule(&[""], &["namespaces"], &["get"]),
            rule(&[""], &["configmaps", "pods", "secrets", "endpoints"], READ),
            rule(&[""], &["services"], READ),
            rule(&["networking.k8s.io"], &["ingresses"], READ),
            rule(&["networking.k8s.io"], &["ingresses/status"], &["update"]),
            rule(&["networking.k8s.io"], &["ingressclasses"], READ),
            lease,
            rule(&["coordination.k8s.io"], &["leases"], &["create"]),
            rule(&[""], &["events"], &["create", "patch"]),
            rule(&["discovery.k8s.io"], &["endpointslices"], READ),
        ],
    )
}

fn role_binding(ns: &str) -> RoleBinding {
    grant(ns).role_binding(metadata(CONTROLLER_NAME, ns))
}

/// BKPR's settings: a 15s connect timeout, IPv6 on, HSTS, and no external auth for the
/// ACME challenge and oauth2-proxy's own paths (else logging in would need a login).
/// `server-tokens` is off so error pages do not print the NGINX version.
fn controller_config(ns: &str) -> ConfigMap {
    let data = BTreeMap::from([
        ("proxy-connect-timeout".to_string(), "15".to_string()),
        ("disable-ipv6".to_string(), "false".to_string()),
        ("hsts".to_string(), "true".to_string()),
        ("no-auth-locations".to_string(), "/.well-known/acme-challenge,/oauth2".to_string()),
        ("server-tokens".to_string(), "false".to_string()),
    ]);
    ConfigMap { metadata: metadata(SERVICE_NAME, ns), data: Some(data), ..Default::default() }
}

fn services_config(name: &str, ns: &str, services: &BTreeMap<u16, String>) -> ConfigMap {
    let data: BTreeMap<String, String> =
        services.iter().map(|(port, target)| (port.to_string(), target.clone())).collect();
    ConfigMap {
        metadata: metadata(name, ns),
        data: if data.is_empty() { None } else { Some(data) },
        ..Default::default()
    }
}

fn port(name: &str, number: i32, protocol: &str) -> ContainerPort {
    ContainerPort {
        name: Some(name.into()),
        container_port: number,
        protocol: Some(protocol.into()),
        ..Default::default()
    }
}

/// The TCP and UDP service ports, as `(name, port, protocol)`.
fn stream_ports(p: &NginxIngressParams) -> Vec<(String, i32, &'static str)> {
    let tcp = p.tcp_services.keys().map(|port| (format!("tcp-{port}"), i32::from(*port), "TCP"));
    let udp = p.udp_services.keys().map(|port| (format!("udp-{port}"), i32::from(*port), "UDP"));
    tcp.chain(udp).collect()
}

fn load_balancer(p: &NginxIngressParams, cx: &Context) -> Service {
    let metadata = load_balancer_metadata(metadata(SERVICE_NAME, cx.namespace()), cx);
    let mut ports = vec![
        ServicePort { app_protocol: Some("http".into()), ..tcp_port("http", 80, "http") },
        ServicePort { app_protocol: Some("https".into()), ..tcp_port("https", 443, "https") },
    ];
    for (name, number, protocol) in stream_ports(p) {
        ports.push(ServicePort {
            name: Some(name.clone()),
            port: number,
            target_port: Some(IntOrString::String(name)),
            protocol: Some(protocol.into()),
            ..Default::default()
        });
    }
    Service {
        metadata,
        spec: Some(ServiceSpec {
            type_: Some("LoadBalancer".into()),
            // Clients' addresses reach NGINX (and its logs, rate limits and allow-lists).
            external_traffic_policy: Some("Local".into()),
            selector: Some(meta::selector_labels(CONTROLLER_NAME)),
            ports: Some(ports),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn default_backend_service(ns: &str) -> Service {
    PodService {
        kind: ServiceKind::ClusterIp,
        selector: meta::selector_labels(DEFAULT_BACKEND_NAME),
        ports: vec![tcp_port("http", 80, "http")],
    }
    .build(metadata(DEFAULT_BACKEND_NAME, ns))
}

fn healthz_probe(port: IntOrString, failure_threshold: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some("/healthz".into()),
            port,
            scheme: Some("HTTP".into()),
            ..Default::default()
        }),
        initial_delay_seconds: Some(10),
        period_seconds: Some(10),
        timeout_seconds: Some(1),
        success_threshold: Some(1),
        failure_threshold: Some(failure_threshold),
        ..Default::default()
    }
}

fn controller_args(p: &NginxIngressParams, cx: &Context) -> Vec<String> {
    let ns = cx.namespace();
    let class = &class_of(cx);
    vec![
        "/nginx-ingress-controller".into(),
        format!("--configmap={}", fq(ns, SERVICE_NAME)),
        // Ingress status gets the load balancer's address (external-dns reads it).
        format!("--publish-service={}", fq(ns, SERVICE_NAME)),
        format!("--tcp-services-configmap={}", fq(ns, TCP_SERVICES)),
        format!("--udp-services-configmap={}", fq(ns, UDP_SERVICES)),
        format!("--default-backend-service={}", fq(ns, DEFAULT_BACKEND_NAME)),
        format!("--election-id={}", election_id(class)),
        format!("--controller-class={CONTROLLER_CLASS}"),
        format!("--ingress-class={class}"),
        format!("--watch-ingress-without-class={}", p.default_class),
        format!("--healthz-port={METRICS_PORT}"),
    ]
}

fn controller_container(p: &NginxIngressParams, cx: &Context) -> Container {
    let mut security = container_security(false);
    security.capabilities =
        Some(Capabilities { add: Some(vec!["NET_BIND_SERVICE".into()]), drop: Some(vec!["ALL".into()]) });
    security.run_as_user = Some(NGINX_UID);
    security.run_as_group = Some(NGINX_GID);
    let mut ports = vec![port("http", 80, "TCP"), port("https", 443, "TCP"), port("metrics", METRICS_PORT, "TCP")];
    for (name, number, protocol) in stream_ports(p) {
        ports.push(port(&name, number, protocol));
    }
    Container {
        name: CONTAINER.into(),
        image: Some(p.image.clone()),
        args: Some(controller_args(p, cx)),
        env: Some(vec![
            field_env("POD_NAME", "metadata.name"),
            field_env("POD_NAMESPACE", "metadata.namespace"),
            // The image ships mimalloc; upstream preloads it for NGINX's workers.
            EnvVar {
                name: "LD_PRELOAD".into(),
                value: Some("/usr/local/lib/libmimalloc.so".into()),
                ..Default::default()
            },
        ]),
        ports: Some(ports),
        resources: Some(p.resources.to_k8s()),
        security_context: Some(security),
        readiness_probe: Some(healthz_probe(IntOrString::String("metrics".into()), 3)),
        liveness_probe: Some(healthz_probe(IntOrString::String("metrics".into()), 5)),
        // Stops taking new connections and lets NGINX finish the open ones.
        lifecycle: Some(Lifecycle {
            pre_stop: Some(LifecycleHandler {
                exec: Some(ExecAction { command: Some(vec!["/wait-shutdown".into()]) }),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The controller's metrics (`metrics` port, 10254).
pub fn scrape(ns: &str) -> Scrape {
    Scrape::pods(
        COMPONENT_LABEL,
        CONTROLLER_NAME,
        ns,
        meta::selector_labels(CONTROLLER_NAME),
        MetricsEndpoint::new("metrics", METRICS_PORT),
    )
}

fn pod_annotations(cx: &Context) -> BTreeMap<String, String> {
    let mut a = scrape(cx.namespace()).annotations(cx);
    a.extend([
        ("kubectl.kubernetes.io/default-container".to_string(), CONTAINER.to_string()),
        (
            SECURITY_EXCEPTION_ANNOTATION.to_string(),
            format!(
                "container `{CONTAINER}` adds NET_BIND_SERVICE: NGINX binds ports 80 and 443 as uid {NGINX_UID}, and \
                 with allowPrivilegeEscalation false the kernel keeps the image's cap_net_bind_service file \
                 capability only if the container holds it; its root filesystem is writable because the controller \
                 writes nginx.conf, Lua state and certificates under /etc/nginx and /etc/ingress-controller at run \
                 time"
            ),
        ),
    ]);
    a
}

/// Prefer spreading over nodes (BKPR's `weakNodeDiversity`) and zones: a node or zone
/// going down takes only part of the ingress capacity with it.
fn spread(selector: &LabelSelector, cx: &Context) -> (Affinity, Vec<TopologySpreadConstraint>) {
    let affinity = spread_over_nodes(selector, 100);
    let zones = vec![spread_over_zones(selector, &cx.platform.zone_label)];
    (affinity, zones)
}

fn controller(p: &NginxIngressParams, cx: &Context) -> Deployment {
    let selector = meta::selector(meta::selector_labels(CONTROLLER_NAME));
    let (affinity, zones) = spread(&selector, cx);
    let pod = PodSpec {
        service_account_name: Some(CONTROLLER_NAME.into()),
        automount_service_account_token: Some(true),
        security_context: Some(pod_security(NGINX_UID, NGINX_GID, NGINX_GID)),
        termination_grace_period_seconds: Some(GRACE_PERIOD_SECONDS),
        node_selector: Some(BTreeMap::from([("kubernetes.io/os".to_string(), "linux".to_string())])),
        affinity: Some(affinity),
        topology_spread_constraints: Some(zones),
        containers: vec![controller_container(p, cx)],
        ..Default::default()
    };
    Deployment {
        metadata: metadata(CONTROLLER_NAME, cx.namespace()),
        spec: Some(DeploymentSpec {
            // No `replicas`: the HorizontalPodAutoscaler owns the count.
            selector,
            // Never below the current count while rolling: a new pod is ready first.
            strategy: Some(DeploymentStrategy {
                type_: Some("RollingUpdate".into()),
                rolling_update: Some(RollingUpdateDeployment {
                    max_surge: Some(IntOrString::Int(1)),
                    max_unavailable: Some(IntOrString::Int(0)),
                }),
            }),
            min_ready_seconds: Some(10),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(template_labels(CONTROLLER_NAME)),
                    annotations: Some(pod_annotations(cx)),
                    ..Default::default()
                }),
                spec: Some(pod),
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn default_backend(p: &NginxIngressParams, ns: &str) -> Deployment {
    let d = &p.default_backend;
    let selector = meta::selector(meta::selector_labels(DEFAULT_BACKEND_NAME));
    let mut security = container_security(true);
    security.run_as_user = Some(NOBODY);
    let container = Container {
        name: DEFAULT_BACKEND_CONTAINER.into(),
        image: Some(d.image.clone()),
        ports: Some(vec![port("http", DEFAULT_BACKEND_PORT, "TCP")]),
        resources: Some(d.resources.to_k8s()),
        security_context: Some(security),
        readiness_probe: Some(Probe {
            http_get: Some(HTTPGetAction {
                path: Some("/healthz".into()),
                port: IntOrString::String("http".into()),
                scheme: Some("HTTP".into()),
                ..Default::default()
            }),
            timeout_seconds: Some(5),
            ..Default::default()
        }),
        liveness_probe: Some(Probe {
            http_get: Some(HTTPGetAction {
                path: Some("/healthz".into()),
                port: IntOrString::String("http".into()),
                scheme: Some("HTTP".into()),
                ..Default::default()
            }),
            initial_delay_seconds: Some(30),
            timeout_seconds: Some(5),
            ..Default::default()
        }),
        ..Default::default()
    };
    let pod = PodSpec {
        automount_service_account_token: Some(false),
        security_context: Some(pod_security(NOBODY, NOBODY, NOBODY)),
        termination_grace_period_seconds: Some(30),
        node_selector: if d.node_selector.is_empty() { None } else { Some(d.node_selector.clone()) },
        containers: vec![container],
        ..Default::default()
    };
    Deployment {
        metadata: metadata(DEFAULT_BACKEND_NAME, ns),
        spec: Some(DeploymentSpec {
            replicas: Some(d.replicas as i32),
            selector,
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(template_labels(DEFAULT_BACKEND_NAME)),
                    ..Default::default()
                }),
                spec: Some(pod),
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn autoscaler(p: &NginxIngressParams, ns: &str) -> HorizontalPodAutoscaler {
    HorizontalPodAutoscaler {
        metadata: metadata(CONTROLLER_NAME, ns),
        spec: Some(HorizontalPodAutoscalerSpec {
            scale_target_ref: CrossVersionObjectReference {
                api_version: Some("apps/v1".into()),
                kind: "Deployment".into(),
                name: CONTROLLER_NAME.into(),
            },
            min_replicas: Some(p.replicas as i32),
            max_replicas: p.max_replicas as i32,
            metrics: Some(vec![MetricSpec {
                type_: "Resource".into(),
                resource: Some(ResourceMetricSource {
                    name: "cpu".into(),
                    target: MetricTarget {
                        type_: "Utilization".into(),
                        average_utilization: Some(p.target_cpu_utilization as i32),
                        ..Default::default()
                    },
                }),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// BKPR's budget: all controllers but one stay up during voluntary disruptions.
fn disruption_budget(p: &NginxIngressParams, ns: &str) -> PodDisruptionBudget {
    pdb::disruption_budget(
        metadata(CONTROLLER_NAME, ns),
        Budget::MinAvailable(p.replicas as i32 - 1),
        meta::selector(meta::selector_labels(CONTROLLER_NAME)),
    )
}

fn ingress_class(p: &NginxIngressParams, class: &str) -> IngressClass {
    common_ingress_class(meta::cluster_scoped(class, labels(CONTROLLER_NAME)), CONTROLLER_CLASS, p.default_class)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::testing;
    use crate::common::testing::find;
    use crate::render::RenderOptions;
    use crate::stack::Stack;
    use runway_core::SourceKind;

    const HPA_OVERRIDE: &str = include_str!("../../../../overrides/nginx_ingress-hpa.yaml");

    fn cx() -> Context {
        let mut cx = Context::default();
        cx.platform.load_balancer_annotations =
            BTreeMap::from([("cloud.google.com/l4-rbs".to_string(), "enabled".to_string())]);
        cx
    }

    fn build(p: &NginxIngressParams) -> Vec<Object> {
        NginxIngress::build(p, &cx()).expect("parameters build")
    }

    fn with(f: impl FnOnce(&mut NginxIngressParams)) -> NginxIngressParams {
        testing::with(f)
    }

    fn path_of(p: &NginxIngressParams) -> String {
        let e = NginxIngress::build(p, &cx()).expect_err("parameters are rejected");
        assert!(!e.helps().is_empty(), "{e} has no help");
        e.path().map(ToString::to_string).unwrap_or_default()
    }

    fn pod(o: &Object) -> &serde_json::Value {
        &o.value["spec"]["template"]["spec"]
    }

    #[test]
    fn default_build_has_bkpr_names_and_keys() {
        let objects = build(&NginxIngressParams::default());
        let got: Vec<(&str, &str, &str)> = objects.iter().map(|o| (o.key.as_str(), o.kind(), o.name())).collect();
        assert_eq!(
            got,
            [
                ("serviceAccount", "ServiceAccount", "nginx-ingress-controller"),
                ("ingressControllerClusterRole", "ClusterRole", "nginx-ingress-controller"),
                ("ingressControllerClusterRoleBinding", "ClusterRoleBinding", "nginx-ingress-controller"),
                ("ingressControllerRole", "Role", "nginx-ingress-controller"),
                ("ingressControllerRoleBinding", "RoleBinding", "nginx-ingress-controller"),
                ("config", "ConfigMap", "nginx-ingress"),
                ("tcpconf", "ConfigMap", "tcp-services"),
                ("udpconf", "ConfigMap", "udp-services"),
                ("svc", "Service", "nginx-ingress"),
                ("default.svc", "Service", "default-http-backend"),
                ("controller", "Deployment", "nginx-ingress-controller"),
                ("default.deploy", "Deployment", "default-http-backend"),
                ("hpa", "HorizontalPodAutoscaler", "nginx-ingress-controller"),
                ("pdb", "PodDisruptionBudget", "nginx-ingress-controller"),
                ("ingressClass", "IngressClass", "nginx"),
            ]
        );
        for o in &objects {
            let cluster_scoped = matches!(o.kind(), "ClusterRole" | "ClusterRoleBinding" | "IngressClass");
            assert_eq!(o.namespace(), if cluster_scoped { "" } else { "kubeprod" }, "{}", o.key);
            assert!(
                [
                    "v1",
                    "apps/v1",
                    "policy/v1",
                    "autoscaling/v2",
                    "networking.k8s.io/v1",
                    "rbac.authorization.k8s.io/v1"
                ]
                .contains(&o.api_version()),
                "{} uses {}",
                o.key,
                o.api_version()
            );
            assert_eq!(o.value["metadata"]["labels"]["app.kubernetes.io/managed-by"], "runway", "{}", o.key);
        }
        // Selectors are BKPR's exactly (immutable on Deployments).
        let controller = &find(&objects, "controller").value;
        assert_eq!(
            controller["spec"]["selector"]["matchLabels"],
            serde_json::json!({"name": "nginx-ingress-controller"})
        );
        assert!(controller["spec"].get("replicas").is_none(), "the autoscaler owns replicas");
        let backend = &find(&objects, "default.deploy").value;
        assert_eq!(backend["spec"]["selector"]["matchLabels"], serde_json::json!({"name": "default-http-backend"}));
        assert_eq!(backend["spec"]["replicas"], 1);
        assert_eq!(pod(find(&objects, "controller"))["containers"][0]["name"], "nginx");
    }

    #[test]
    fn controller_listens_on_80_443_and_10254_and_is_scraped() {
        let objects = build(&NginxIngressParams::default());
        let c = find(&objects, "controller");
        let container = &pod(c)["containers"][0];
        let ports: Vec<(&str, i64)> = container["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| (p["name"].as_str().unwrap_or(""), p["containerPort"].as_i64().unwrap_or(0)))
            .collect();
        assert_eq!(ports, [("http", 80), ("https", 443), ("metrics", 10254)]);
        assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/healthz");
        assert_eq!(container["livenessProbe"]["httpGet"]["port"], "metrics");
        let annotations = &c.value["spec"]["template"]["metadata"]["annotations"];
        assert_eq!(annotations["prometheus.io/scrape"], "true");
        assert_eq!(annotations["prometheus.io/port"], "10254");
        assert_eq!(annotations["prometheus.io/path"], "/metrics");
        assert_eq!(container["lifecycle"]["preStop"]["exec"]["command"][0], "/wait-shutdown");
        assert_eq!(pod(c)["terminationGracePeriodSeconds"], 300);
    }

    #[test]
    fn controller_args_name_its_objects() {
        let objects = build(&NginxIngressParams::default());
        let args: Vec<&str> = pod(find(&objects, "controller"))["containers"][0]["args"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a.as_str())
            .collect();
        for want in [
            "--configmap=kubeprod/nginx-ingress",
            "--publish-service=kubeprod/nginx-ingress",
            "--tcp-services-configmap=kubeprod/tcp-services",
            "--udp-services-configmap=kubeprod/udp-services",
            "--default-backend-service=kubeprod/default-http-backend",
            "--election-id=ingress-controller-leader-nginx",
            "--controller-class=k8s.io/ingress-nginx",
            "--ingress-class=nginx",
            "--watch-ingress-without-class=true",
        ] {
            assert!(args.contains(&want), "{want} not in {args:?}");
        }
        assert!(!args.iter().any(|a| a.contains("validating-webhook")), "no admission webhook");
        // The Role may update exactly the Lease the controller elects with.
        let role = &find(&objects, "ingressControllerRole").value;
        let lease = role["rules"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["resources"][0] == "leases" && r.get("resourceNames").is_some())
            .expect("a lease rule");
        assert_eq!(lease["resourceNames"], serde_json::json!(["ingress-controller-leader-nginx"]));
        assert_eq!(lease["verbs"], serde_json::json!(["get", "update"]));
    }

    #[test]
    fn controller_runs_as_101_with_only_net_bind_service_and_says_why() {
        let objects = build(&NginxIngressParams::default());
        let c = find(&objects, "controller");
        let sc = &pod(c)["containers"][0]["securityContext"];
        assert_eq!(sc["runAsUser"], 101);
        assert_eq!(sc["runAsNonRoot"], true);
        assert_eq!(sc["allowPrivilegeEscalation"], false);
        assert_eq!(sc["capabilities"]["drop"], serde_json::json!(["ALL"]));
        assert_eq!(sc["capabilities"]["add"], serde_json::json!(["NET_BIND_SERVICE"]));
        assert_eq!(sc["seccompProfile"]["type"], "RuntimeDefault");
        let why = c.value["spec"]["template"]["metadata"]["annotations"][SECURITY_EXCEPTION_ANNOTATION]
            .as_str()
            .unwrap_or("");
        assert!(why.contains("NET_BIND_SERVICE") && why.contains("root filesystem"), "{why}");
        assert_eq!(pod(c)["automountServiceAccountToken"], true);
        assert_eq!(crate::namespaces::pod_security_level(&c.value), "restricted");

        let backend = find(&objects, "default.deploy");
        assert_eq!(pod(backend)["automountServiceAccountToken"], false);
        let sc = &pod(backend)["containers"][0]["securityContext"];
        assert_eq!(sc["readOnlyRootFilesystem"], true);
        assert_eq!(sc["capabilities"]["drop"], serde_json::json!(["ALL"]));
        assert_eq!(crate::namespaces::pod_security_level(&backend.value), "restricted");
        for key in ["controller", "default.deploy"] {
            let res = &pod(find(&objects, key))["containers"][0]["resources"];
            assert!(res["requests"]["memory"].is_string() && res["limits"]["memory"].is_string(), "{key}");
        }
    }

    #[test]
    fn load_balancer_carries_the_platform_annotations() {
        let objects = build(&NginxIngressParams::default());
        let svc = &find(&objects, "svc").value;
        assert_eq!(svc["spec"]["type"], "LoadBalancer");
        assert_eq!(svc["spec"]["externalTrafficPolicy"], "Local");
        assert_eq!(svc["metadata"]["annotations"]["cloud.google.com/l4-rbs"], "enabled");
        let ports: Vec<i64> =
            svc["spec"]["ports"].as_array().into_iter().flatten().filter_map(|p| p["port"].as_i64()).collect();
        assert_eq!(ports, [80, 443], "metrics are not published on the load balancer");
        let no_annotations = NginxIngress::build(&NginxIngressParams::default(), &Context::default()).expect("builds");
        assert!(find(&no_annotations, "svc").value["metadata"].get("annotations").is_none());
    }

    #[test]
    fn ingress_class_follows_the_platform_and_default_class() {
        let mut c = cx();
        c.platform.ingress_class = Some("public".into());
        let objects = NginxIngress::build(&NginxIngressParams::default(), &c).expect("builds");
        let class = &find(&objects, "ingressClass").value;
        assert_eq!(class["metadata"]["name"], "public");
        assert_eq!(class["spec"]["controller"], "k8s.io/ingress-nginx");
        assert_eq!(class["metadata"]["annotations"]["ingressclass.kubernetes.io/is-default-class"], "true");

        let objects = NginxIngress::build(&with(|p| p.default_class = false), &c).expect("builds");
        assert!(find(&objects, "ingressClass").value["metadata"].get("annotations").is_none());
        let args = pod(find(&objects, "controller"))["containers"][0]["args"].to_string();
        assert!(args.contains("--watch-ingress-without-class=false") && args.contains("--ingress-class=public"));

        c.platform.ingress_class = Some("Not Valid".into());
        let e = NginxIngress::build(&NginxIngressParams::default(), &c).expect_err("rejected");
        assert_eq!(e.path().map(ToString::to_string).unwrap_or_default(), "platform.ingress_class");
    }

    #[test]
    fn autoscaler_and_budget_follow_replicas() {
        let objects = build(&with(|p| {
            p.replicas = 3;
            p.max_replicas = 7;
            p.target_cpu_utilization = 60;
        }));
        let hpa = &find(&objects, "hpa").value["spec"];
        assert_eq!(hpa["minReplicas"], 3);
        assert_eq!(hpa["maxReplicas"], 7);
        assert_eq!(
            hpa["scaleTargetRef"],
            serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": "nginx-ingress-controller"})
        );
        assert_eq!(hpa["metrics"][0]["resource"]["target"]["averageUtilization"], 60);
        assert_eq!(find(&objects, "pdb").value["spec"]["minAvailable"], 2);
    }

    #[test]
    fn tcp_and_udp_services_open_ports_end_to_end() {
        let objects = build(&with(|p| {
            p.tcp_services.insert(1883, "iot/mqtt:1883".into());
            p.udp_services.insert(53, "dns/coredns:53".into());
        }));
        assert_eq!(find(&objects, "tcpconf").value["data"], serde_json::json!({"1883": "iot/mqtt:1883"}));
        assert_eq!(find(&objects, "udpconf").value["data"], serde_json::json!({"53": "dns/coredns:53"}));
        let svc_ports = &find(&objects, "svc").value["spec"]["ports"];
        assert_eq!(
            svc_ports[2],
            serde_json::json!({"name": "tcp-1883", "port": 1883, "protocol": "TCP", "targetPort": "tcp-1883"})
        );
        assert_eq!(
            svc_ports[3],
            serde_json::json!({"name": "udp-53", "port": 53, "protocol": "UDP", "targetPort": "udp-53"})
        );
        let container_ports = &pod(find(&objects, "controller"))["containers"][0]["ports"];
        assert_eq!(
            container_ports[3],
            serde_json::json!({"name": "tcp-1883", "containerPort": 1883, "protocol": "TCP"})
        );
        assert_eq!(container_ports[4], serde_json::json!({"name": "udp-53", "containerPort": 53, "protocol": "UDP"}));
    }

    #[test]
    fn bad_parameters_are_errors_naming_their_path() {
        assert_eq!(path_of(&with(|p| p.replicas = 0)), "nginx_ingress.replicas");
        assert_eq!(
            path_of(&with(|p| {
                p.replicas = 4;
                p.max_replicas = 3
            })),
            "nginx_ingress.max_replicas"
        );
        assert_eq!(path_of(&with(|p| p.target_cpu_utilization = 0)), "nginx_ingress.target_cpu_utilization");
        assert_eq!(path_of(&with(|p| p.image = "a b".into())), "nginx_ingress.image");
        assert_eq!(
            path_of(&with(|p| p.resources = crate::common::pod::Resources::new("1", "1Gi", None, "512Mi"))),
            "nginx_ingress.resources"
        );
        assert_eq!(
            path_of(&with(|p| {
                p.tcp_services.insert(443, "a/b:443".into());
            })),
            "nginx_ingress.tcp_services.443"
        );
        assert_eq!(
            path_of(&with(|p| {
                p.udp_services.insert(53, "coredns:53".into());
            })),
            "nginx_ingress.udp_services.53"
        );
        assert_eq!(path_of(&with(|p| p.default_backend.replicas = 0)), "nginx_ingress.default.replicas");
        assert_eq!(path_of(&with(|p| p.default_backend.image = String::new())), "nginx_ingress.default.image");
    }

    #[test]
    fn every_object_round_trips() {
        let p = with(|p| {
            p.tcp_services.insert(1883, "iot/mqtt:1883".into());
        });
        for mut o in build(&p) {
            let before = o.value.clone();
            o.check_round_trip().unwrap_or_else(|e| panic!("{}: {e}", o.key));
            assert_eq!(before, o.value, "{} changed in the round trip", o.key);
        }
    }

    #[test]
    fn service_selectors_match_the_pod_templates() {
        let objects = build(&NginxIngressParams::default());
        let labels_of = |key: &str| {
            find(&objects, key).value["spec"]["template"]["metadata"]["labels"].as_object().cloned().expect("labels")
        };
        let matches = |selector: &serde_json::Value, labels: &serde_json::Map<String, serde_json::Value>| {
            let sel = selector.as_object().expect("a selector");
            !sel.is_empty() && sel.iter().all(|(k, v)| labels.get(k) == Some(v))
        };
        let controller = labels_of("controller");
        let backend = labels_of("default.deploy");
        assert!(matches(&find(&objects, "svc").value["spec"]["selector"], &controller));
        assert!(!matches(&find(&objects, "svc").value["spec"]["selector"], &backend));
        assert!(matches(&find(&objects, "default.svc").value["spec"]["selector"], &backend));
        assert!(!matches(&find(&objects, "default.svc").value["spec"]["selector"], &controller));
        assert!(matches(&find(&objects, "pdb").value["spec"]["selector"]["matchLabels"], &controller));
        for key in ["controller", "default.deploy"] {
            let d = &find(&objects, key).value;
            assert!(matches(&d["spec"]["selector"]["matchLabels"], &labels_of(key)), "{key}");
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
        for platform in ["gke", "eks", "aks", "onprem", "kind"] {
            let mut s = Stack::new();
            s.platform(platform, "test").expect("platform exists");
            // onprem's base chooses Traefik; nginx is one line away.
            s.set("platform.ingress_controller=nginx", false).expect("a valid --set");
            // kind's base sets `elasticsearch` parameters, so that component must be known.
            let components: [&dyn crate::ErasedComponent; 2] = [&NginxIngress, &crate::elasticsearch::Elasticsearch];
            let rendered = s.render(&components).unwrap_or_else(|e| panic!("{platform}: {}", e.render()));
            let svc = rendered.objects.iter().find(|o| o.kind() == "Service" && o.name() == "nginx-ingress");
            let svc = svc.expect("the load balancer");
            let ns = rendered.objects.iter().find(|o| o.kind() == "Namespace").expect("a namespace");
            assert_eq!(ns.value["metadata"]["labels"]["pod-security.kubernetes.io/enforce"], "restricted");
            if platform == "eks" {
                assert_eq!(
                    svc.value["metadata"]["annotations"]["service.beta.kubernetes.io/aws-load-balancer-type"],
                    "external"
                );
            }
        }
        let rendered = stack().render(&[&NginxIngress]).unwrap_or_else(|e| panic!("{}", e.render()));
        assert_eq!(rendered.to_yaml(), stack().render(&[&NginxIngress]).expect("renders").to_yaml(), "deterministic");
    }

    #[test]
    fn seed_hpa_override_sets_max_replicas() {
        // BKPR's "Override maximum number of replicas" example, from overrides/.
        let mut s = stack();
        s.set("nginx_ingress.max_replicas=4", false).expect("a valid --set");
        let before = s.render(&[&NginxIngress]).expect("renders");
        let hpa = before.objects.iter().find(|o| o.kind() == "HorizontalPodAutoscaler").expect("the hpa");
        assert_eq!(hpa.value["spec"]["maxReplicas"], 4);

        s.layer("overrides/nginx_ingress-hpa.yaml", SourceKind::File, HPA_OVERRIDE).expect("override parses");
        let rendered = s
            .render_with(&[&NginxIngress], RenderOptions { keep_trails: true, ..Default::default() })
            .expect("renders");
        let hpa = rendered.objects.iter().find(|o| o.kind() == "HorizontalPodAutoscaler").expect("the hpa");
        assert_eq!(hpa.value["spec"]["maxReplicas"], 10);
        assert_eq!(hpa.value["spec"]["minReplicas"], 2, "the rest of the object is kept");
        assert_eq!(hpa.value["metadata"]["name"], "nginx-ingress-controller");
        let why = rendered
            .explain(&KeyPath::root().key("nginx_ingress").key("hpa").key("spec").key("maxReplicas"))
            .expect("explains");
        let (_, last) = why.trail.last().expect("a trail");
        assert!(last.starts_with("overrides/nginx_ingress-hpa.yaml:"), "{why}");
    }

    #[test]
    fn default_backend_patches_nest_under_default() {
        let mut s = stack();
        s.layer(
            "test.yaml",
            SourceKind::File,
            "nginx_ingress:\n  default:\n    replicas: 2\n    deploy:\n      spec:\n        template:\n          \
             spec:\n            nodeSelector: {kubernetes.io/os: linux}\n",
        )
        .expect("parses");
        let rendered = s.render(&[&NginxIngress]).unwrap_or_else(|e| panic!("{}", e.render()));
        let backend = rendered
            .objects
            .iter()
            .find(|o| o.kind() == "Deployment" && o.name() == "default-http-backend")
            .expect("the default backend");
        assert_eq!(backend.value["spec"]["replicas"], 2);
        assert_eq!(backend.value["spec"]["template"]["spec"]["nodeSelector"]["kubernetes.io/os"], "linux");
    }

    #[test]
    fn defaults_serialize_and_read_back() {
        let json = serde_json::to_value(NginxIngressParams::default()).expect("serializes");
        assert_eq!(json["default"]["replicas"], 1);
        let back: NginxIngressParams = serde_json::from_value(json).expect("reads back");
        assert_eq!(back, NginxIngressParams::default());
        let tcp: NginxIngressParams =
            serde_json::from_value(serde_json::json!({"tcp_services": {"1883": "iot/mqtt:1883"}})).expect("tcp");
        assert_eq!(tcp.tcp_services.get(&1883).map(String::as_str), Some("iot/mqtt:1883"));
        assert!(serde_json::from_value::<NginxIngressParams>(serde_json::json!({"replica": 3})).is_err());
    }
}
