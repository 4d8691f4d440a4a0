//! MetalLB: LoadBalancer Services on bare metal (issue 7, part 5; seed 003's k3s setup:
//! "MetalLB, Traefik, and Longhorn"). Enabled by default on `onprem` only: the clouds
//! have their own load balancers.
//!
//! The objects are upstream's `metallb-native.yaml` (v0.14, layer 2 mode, no FRR) in
//! runway's terms: the `controller` Deployment assigns addresses from IPAddressPools and
//! serves the validating webhook; the `speaker` DaemonSet answers ARP/NDP for the
//! assigned addresses from the node that holds each Service, on the host network with
//! `NET_RAW` (the only capability upstream's native speaker adds).
//!
//! # Parameters to objects
//!
//! `load_balancer_addresses` (CIDRs or `START-END` ranges, checked at render time) becomes
//! one IPAddressPool named `pool_name` (`default`, what onprem's
//! `load_balancer_annotations` ask for) and one L2Advertisement of that pool. Without
//! addresses neither is rendered.
//!
//! # What the controller creates itself (as upstream)
//!
//! - the Secret `memberlist`, the key the speakers encrypt their memberlist gossip with:
//!   the controller creates it at start (`METALLB_ML_SECRET_NAME`), so runway renders
//!   none (a rendered key would be either random, breaking determinism, or a literal in
//!   the manifests); it is declared external and the speakers wait for it;
//! - the webhook's serving certificate, written into the Secret `metallb-webhook-cert`
//!   (rendered empty, as upstream, for the controller to fill) and its CA into the
//!   ValidatingWebhookConfiguration's `caBundle`.
//!
//! # CRDs
//!
//! All seven of upstream's CRDs are vendored (`crds/README.md` gives each file's source
//! commit) and rendered: the controller and the speakers list every MetalLB kind at start.
//! The pool and the advertisement are validated against them in every render.

mod crds;
mod params;

use std::collections::BTreeMap;

use k8s_openapi::api::admissionregistration::v1::{
    RuleWithOperations, ServiceReference, ValidatingWebhook, ValidatingWebhookConfiguration, WebhookClientConfig,
};
use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetSpec, Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMap, ConfigMapVolumeSource, Container, ContainerPort, EnvVar, EnvVarSource, HTTPGetAction,
    ObjectFieldSelector, PodSecurityContext, PodSpec, PodTemplateSpec, Probe, Secret, SecretVolumeSource,
    SecurityContext, Service, ServiceAccount, ServiceSpec, Toleration, Volume, VolumeMount,
};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use runway_core::refs::ExternalRef;
use runway_core::{Error, Object};

pub use self::crds::VENDORED;
pub use self::params::{check_address, MetallbParams, DEFAULT_CONTROLLER_IMAGE, DEFAULT_SPEAKER_IMAGE};
use crate::common::meta;
use crate::common::metrics::{MetricsEndpoint, Scrape};
use crate::common::pod::runtime_default_seccomp;
use crate::common::pod::{container_security, pod_security, SECURITY_EXCEPTION_ANNOTATION};
use crate::common::rbac::{self, rule, rule_named as named_rule, Grant, READ};
use crate::common::service::tcp_port;
use crate::component::{Component, ObjectDoc};
use crate::context::{Context, Platform, Published};

/// The controller's Deployment and ServiceAccount.
pub const CONTROLLER: &str = "metallb-controller";
/// The speaker's DaemonSet and ServiceAccount.
pub const SPEAKER: &str = "metallb-speaker";
/// The webhook's Service (passed to the controller as `--cert-service-name`).
pub const WEBHOOK_SERVICE: &str = "metallb-webhook-service";
/// The Secret the controller writes the webhook certificate into (upstream's name).
pub const WEBHOOK_CERT: &str = "metallb-webhook-cert";
/// The ValidatingWebhookConfiguration; the controller patches its CA by this name
/// (upstream's, fixed in the controller).
pub const WEBHOOK_CONFIGURATION: &str = "metallb-webhook-configuration";
/// The memberlist Secret, created by the controller (upstream's name).
pub const MEMBERLIST: &str = "memberlist";
/// The metrics port of both (upstream's `--port`).
pub const METRICS_PORT: i32 = 7472;
/// The controller's webhook port.
pub const WEBHOOK_PORT: i32 = 9443;
/// The speakers' memberlist port (TCP and UDP, on the host).
pub const MEMBERLIST_PORT: i32 = 7946;
/// The `app.kubernetes.io/component` label.
const COMPONENT_LABEL: &str = "metallb";
/// uid and gid of `nobody`, upstream's controller user.
const NOBODY: i64 = 65534;

/// The MetalLB component.
pub struct Metallb;

impl Component for Metallb {
    const NAME: &'static str = "metallb";
    const SUMMARY: &'static str =
        "MetalLB: LoadBalancer Services on bare metal (controller, layer-2 speaker, IPAddressPool from `load_balancer_addresses`)";
    const DEFAULT_ENABLED: bool = false;
    const OBJECTS: &'static [ObjectDoc] = &[
        ObjectDoc { key: "bfdprofilesCrd", kind: "CustomResourceDefinition", doc: "bfdprofiles.metallb.io (vendored)" },
        ObjectDoc { key: "bgpadvertisementsCrd", kind: "CustomResourceDefinition", doc: "bgpadvertisements.metallb.io (vendored)" },
        ObjectDoc { key: "bgppeersCrd", kind: "CustomResourceDefinition", doc: "bgppeers.metallb.io (vendored)" },
        ObjectDoc { key: "communitiesCrd", kind: "CustomResourceDefinition", doc: "communities.metallb.io (vendored)" },
        ObjectDoc { key: "ipaddresspoolsCrd", kind: "CustomResourceDefinition", doc: "ipaddresspools.metallb.io (vendored)" },
        ObjectDoc { key: "l2advertisementsCrd", kind: "CustomResourceDefinition", doc: "l2advertisements.metallb.io (vendored)" },
        ObjectDoc { key: "servicel2statusesCrd", kind: "CustomResourceDefinition", doc: "servicel2statuses.metallb.io (vendored)" },
        ObjectDoc { key: "controllerSa", kind: "ServiceAccount", doc: "metallb-controller" },
        ObjectDoc { key: "speakerSa", kind: "ServiceAccount", doc: "metallb-speaker" },
        ObjectDoc { key: "controllerRole", kind: "Role", doc: "metallb-controller: Secrets (memberlist, webhook cert), MetalLB resources" },
        ObjectDoc { key: "controllerRoleBinding", kind: "RoleBinding", doc: "metallb-controller" },
        ObjectDoc { key: "speakerRole", kind: "Role", doc: "metallb-speaker: pods, Secrets, ConfigMaps, MetalLB resources" },
        ObjectDoc { key: "speakerRoleBinding", kind: "RoleBinding", doc: "metallb-speaker" },
        ObjectDoc { key: "controllerClusterRole", kind: "ClusterRole", doc: "metallb-controller (upstream: metallb-system:controller): Services and their status, its webhook and CRDs" },
        ObjectDoc { key: "controllerClusterRoleBinding", kind: "ClusterRoleBinding", doc: "metallb-controller" },
        ObjectDoc { key: "speakerClusterRole", kind: "ClusterRole", doc: "metallb-speaker (upstream: metallb-system:speaker): Services, EndpointSlices, Nodes, Namespaces" },
        ObjectDoc { key: "speakerClusterRoleBinding", kind: "ClusterRoleBinding", doc: "metallb-speaker" },
        ObjectDoc { key: "excludel2", kind: "ConfigMap", doc: "metallb-excludel2: interfaces the speaker never announces on" },
        ObjectDoc { key: "webhookCert", kind: "Secret", doc: "metallb-webhook-cert, empty: the controller writes its certificate" },
        ObjectDoc { key: "webhookService", kind: "Service", doc: "metallb-webhook-service: 443 → the controller's 9443" },
        ObjectDoc { key: "webhookConfiguration", kind: "ValidatingWebhookConfiguration", doc: "metallb-webhook-configuration (CA injected by the controller)" },
        ObjectDoc { key: "controller", kind: "Deployment", doc: "metallb-controller, one pod" },
        ObjectDoc { key: "speaker", kind: "DaemonSet", doc: "metallb-speaker on every node (host network, NET_RAW)" },
        ObjectDoc { key: "podMonitor", kind: "PodMonitor", doc: "the controller's `monitoring` port (`platform.monitoring: operator` or `both`)" },
        ObjectDoc { key: "speakerPodMonitor", kind: "PodMonitor", doc: "the speakers' `monitoring` port (`platform.monitoring: operator` or `both`)" },
        ObjectDoc { key: "networkPolicy", kind: "NetworkPolicy", doc: "`metallb-controller`: the API server; the webhook from anywhere" },
        ObjectDoc { key: "ipAddressPool", kind: "IPAddressPool", doc: "`pool_name` with `load_balancer_addresses` (when given)" },
        ObjectDoc { key: "l2Advertisement", kind: "L2Advertisement", doc: "announces the pool on layer 2 (when addresses are given)" },
    ];
    type Params = MetallbParams;

    fn default_enabled_on(platform: &Platform) -> bool {
        platform.name == "onprem"
    }

    fn publish(_: &MetallbParams, _: &Context, published: &mut Published) {
        published.dashboards.push(crate::grafana::dashboards::METALLB);
    }

    fn externals(p: &MetallbParams, _: &Context) -> Vec<ExternalRef> {
        vec![("Secret".to_string(), p.namespace.clone(), MEMBERLIST.to_string())]
    }

    fn network(_: &MetallbParams, _: &Context) -> Vec<crate::network::Flows> {
        use crate::network::{tcp, Flows};
        vec![
            Flows::new("controller", "networkPolicy").to_api_server().from_anywhere(
                &[tcp(WEBHOOK_PORT)],
                "the API server calls the validating webhook from outside the pod network",
            ),
            // On the host network: no policy applies to its pods, so none is rendered; the
            // flow declares why its pods mount an API token.
            Flows::new("speaker", "speakerNetworkPolicy").to_api_server(),
        ]
    }

    fn waivers(_: &MetallbParams, _: &Context) -> Vec<crate::waivers::Waiver> {
        use crate::waivers::{Check, Waiver};
        let speaker = [
            (Check::HostNetwork, "the speaker answers ARP/NDP for Service addresses on the node's own interfaces"),
            (Check::NetRaw, "ARP and NDP replies go out on raw sockets"),
            (Check::AddedCapability, "NET_RAW only: raw sockets for ARP and NDP"),
            (Check::RootContainer, "added capabilities take effect only for root; the image has no file capabilities"),
            (Check::HighUid, "runs as root for NET_RAW (upstream's speaker)"),
        ];
        let mut out: Vec<Waiver> = speaker.iter().map(|(c, why)| Waiver::new("speaker", *c, why)).collect();
        out.push(Waiver::new(
            "controllerRole",
            Check::ReadAllSecrets,
            "the controller creates and rotates the memberlist and webhook-certificate Secrets of its own namespace (upstream's Role)",
        ));
        out.push(Waiver::new(
            "controllerClusterRole",
            Check::AdmissionWebhookControl,
            "the controller injects its CA into its own ValidatingWebhookConfiguration (resourceNames limit it to that one)",
        ));
        out
    }

    fn build(p: &MetallbParams, cx: &Context) -> Result<Vec<Object>, Error> {
        p.validate()?;
        let ns = p.namespace.as_str();
        let n = Self::NAME;
        let crd_labels = labels(CONTROLLER);
        let mut objects = Vec::new();
        for crd in VENDORED {
            objects.push(Object::from_value::<CustomResourceDefinition>(
                n,
                crd.key,
                crds::load_value(crd, &crd_labels)?,
            ));
        }
        objects.extend([
            Object::new(n, "controllerSa", &service_account(CONTROLLER, ns)),
            Object::new(n, "speakerSa", &service_account(SPEAKER, ns)),
            Object::new(n, "controllerRole", &role(CONTROLLER, ns, controller_role_rules())),
            Object::new(n, "controllerRoleBinding", &role_binding(CONTROLLER, ns)),
            Object::new(n, "speakerRole", &role(SPEAKER, ns, speaker_role_rules())),
            Object::new(n, "speakerRoleBinding", &role_binding(SPEAKER, ns)),
            Object::new(n, "controllerClusterRole", &cluster_role(CONTROLLER, CONTROLLER, controller_cluster_rules())),
            Object::new(n, "controllerClusterRoleBinding", &cluster_role_binding(CONTROLLER, CONTROLLER, ns)),
            Object::new(n, "speakerClusterRole", &cluster_role(SPEAKER, SPEAKER, speaker_cluster_rules())),
            Object::new(n, "speakerClusterRoleBinding", &cluster_role_binding(SPEAKER, SPEAKER, ns)),
            Object::new(n, "excludel2", &excludel2(ns)),
            Object::new(n, "webhookCert", &webhook_cert(ns)),
            Object::new(n, "webhookService", &webhook_service(ns)),
            Object::new(n, "webhookConfiguration", &webhook_configuration(ns)),
        ]);
        let controller_scrape = scrape(CONTROLLER, ns);
        let speaker_scrape = scrape(SPEAKER, ns);
        objects.push(Object::new(n, "controller", &controller(p, ns, controller_scrape.annotations(cx))));
        objects.push(Object::new(n, "speaker", &speaker(p, ns, speaker_scrape.annotations(cx))));
        objects.extend(controller_scrape.monitor(n, "podMonitor", cx));
        objects.extend(speaker_scrape.monitor(n, "speakerPodMonitor", cx));
        if !p.load_balancer_addresses.is_empty() {
            objects.push(Object::custom(n, "ipAddressPool", ip_address_pool(p), "IPAddressPool"));
            objects.push(Object::custom(n, "l2Advertisement", l2_advertisement(p), "L2Advertisement"));
        }
        Ok(objects)
    }
}

fn labels(name: &str) -> BTreeMap<String, String> {
    meta::labels(name, COMPONENT_LABEL)
}

/// The metrics of `name`'s pods (`monitoring` port, 7472).
pub fn scrape(name: &str, ns: &str) -> Scrape {
    Scrape::pods(
        COMPONENT_LABEL,
        name,
        ns,
        meta::selector_labels(name),
        MetricsEndpoint::new("monitoring", METRICS_PORT),
    )
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_string()).collect()
}

const ALL_VERBS: &[&str] = &["create", "delete", "get", "list", "patch", "update", "watch"];
/// The MetalLB resources the controller and speakers read.
const METALLB_RESOURCES: &[&str] =
    &["bfdprofiles", "bgpadvertisements", "bgppeers", "communities", "ipaddresspools", "l2advertisements"];
/// The CRDs whose conversion webhook the controller patches (upstream's resourceNames).
const PATCHED_CRDS: &[&str] = &[
    "bfdprofiles.metallb.io",
    "bgpadvertisements.metallb.io",
    "bgppeers.metallb.io",
    "ipaddresspools.metallb.io",
    "l2advertisements.metallb.io",
    "communities.metallb.io",
];

/// Upstream's Role `controller`.
fn controller_role_rules() -> Vec<PolicyRule> {
    vec![
        rule(&[""], &["secrets"], ALL_VERBS),
        named_rule(&[""], &["secrets"], &[MEMBERLIST], &["list"]),
        named_rule(&["apps"], &["deployments"], &[CONTROLLER], &["get"]),
        rule(&["metallb.io"], METALLB_RESOURCES, READ),
        rule(&["metallb.io"], &["ipaddresspools/status"], &["update"]),
    ]
}

/// Upstream's Role `pod-lister`.
fn speaker_role_rules() -> Vec<PolicyRule> {
    vec![
        rule(&[""], &["pods"], &["list", "get"]),
        rule(&[""], &["secrets"], READ),
        rule(&[""], &["configmaps"], READ),
        rule(&["metallb.io"], METALLB_RESOURCES, READ),
        rule(&["metallb.io"], &["servicel2statuses", "servicel2statuses/status"], &["*"]),
    ]
}

/// Upstream's ClusterRole `metallb-system:controller`.
fn controller_cluster_rules() -> Vec<PolicyRule> {
    vec![
        rule(&[""], &["services", "namespaces"], READ),
        rule(&[""], &["nodes"], &["list"]),
        rule(&[""], &["services/status"], &["update"]),
        rule(&[""], &["events"], &["create", "patch"]),
        named_rule(
            &["admissionregistration.k8s.io"],
            &["validatingwebhookconfigurations", "mutatingwebhookconfigurations"],
            &[WEBHOOK_CONFIGURATION],
            ALL_VERBS,
        ),
        rule(
            &["admissionregistration.k8s.io"],
            &["validatingwebhookconfigurations", "mutatingwebhookconfigurations"],
            &["list", "watch"],
        ),
        named_rule(&["apiextensions.k8s.io"], &["customresourcedefinitions"], PATCHED_CRDS, ALL_VERBS),
        rule(&["apiextensions.k8s.io"], &["customresourcedefinitions"], &["list", "watch"]),
    ]
}

/// Upstream's ClusterRole `metallb-system:speaker`.
fn speaker_cluster_rules() -> Vec<PolicyRule> {
    vec![
        rule(&[""], &["services", "endpoints", "nodes", "namespaces"], READ),
        rule(&["discovery.k8s.io"], &["endpointslices"], READ),
        rule(&[""], &["events"], &["create", "patch"]),
    ]
}

fn service_account(name: &str, ns: &str) -> ServiceAccount {
    // Both watch the API: the token is mounted.
    rbac::service_account(meta::namespaced(name, ns, labels(name)), Some(true))
}

fn role(name: &str, ns: &str, rules: Vec<PolicyRule>) -> Role {
    rbac::role(meta::namespaced(name, ns, labels(name)), rules)
}

fn role_binding(name: &str, ns: &str) -> RoleBinding {
    Grant { role: name, service_account: name, namespace: ns }.role_binding(meta::namespaced(name, ns, labels(name)))
}

fn cluster_role(name: &str, owner: &str, rules: Vec<PolicyRule>) -> ClusterRole {
    rbac::cluster_role(meta::cluster_scoped(name, labels(owner)), rules)
}

fn cluster_role_binding(name: &str, sa: &str, ns: &str) -> ClusterRoleBinding {
    Grant { role: name, service_account: sa, namespace: ns }
        .cluster_role_binding(meta::cluster_scoped(name, labels(sa)))
}

/// Upstream's `metallb-excludel2`: interfaces of container networking and virtual bridges,
/// which must never answer ARP for a Service address.
fn excludel2(ns: &str) -> ConfigMap {
    let prefixes = [
        "docker.*",
        "cbr.*",
        "dummy.*",
        "virbr.*",
        "lxcbr.*",
        "veth.*",
        "lo",
        "^cali.*",
        "^tunl.*",
        "^flannel.*",
        "^kube-ipvs.*",
        "^cni.*",
        "^nodelocaldns.*",
        "^lxc.*",
    ];
    let mut text = String::from("announcedInterfacesToExclude:\n");
    for p in prefixes {
        text.push_str(&format!("- {p}\n"));
    }
    ConfigMap {
        metadata: meta::namespaced("metallb-excludel2", ns, labels(SPEAKER)),
        data: Some(BTreeMap::from([("excludel2.yaml".to_string(), text)])),
        ..Default::default()
    }
}

fn webhook_cert(ns: &str) -> Secret {
    Secret { metadata: meta::namespaced(WEBHOOK_CERT, ns, labels(CONTROLLER)), ..Default::default() }
}

fn webhook_service(ns: &str) -> Service {
    Service {
        metadata: meta::namespaced(WEBHOOK_SERVICE, ns, labels(CONTROLLER)),
        spec: Some(ServiceSpec {
            selector: Some(meta::selector_labels(CONTROLLER)),
            ports: Some(vec![tcp_port("webhook", 443, "webhook-server")]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Upstream's validating webhooks, one per MetalLB kind: `(resource, version, kind path,
/// operations)`.
const WEBHOOKS: &[(&str, &str, &str, &[&str])] = &[
    ("bgppeers", "v1beta2", "bgppeer", &["CREATE", "UPDATE"]),
    ("bfdprofiles", "v1beta1", "bfdprofile", &["CREATE", "DELETE"]),
    ("bgpadvertisements", "v1beta1", "bgpadvertisement", &["CREATE", "UPDATE"]),
    ("communities", "v1beta1", "community", &["CREATE", "UPDATE"]),
    ("ipaddresspools", "v1beta1", "ipaddresspool", &["CREATE", "UPDATE"]),
    ("l2advertisements", "v1beta1", "l2advertisement", &["CREATE", "UPDATE"]),
];

fn webhook_configuration(ns: &str) -> ValidatingWebhookConfiguration {
    let webhooks = WEBHOOKS
        .iter()
        .map(|(resource, version, kind, ops)| ValidatingWebhook {
            name: format!("{kind}validationwebhook.metallb.io"),
            admission_review_versions: strings(&["v1"]),
            client_config: WebhookClientConfig {
                service: Some(ServiceReference {
                    name: WEBHOOK_SERVICE.into(),
                    namespace: ns.into(),
                    path: Some(format!("/validate-metallb-io-{version}-{kind}")),
                    port: Some(443),
                }),
                ..Default::default()
            },
            failure_policy: Some("Fail".into()),
            side_effects: "None".into(),
            rules: Some(vec![RuleWithOperations {
                api_groups: Some(strings(&["metallb.io"])),
                api_versions: Some(strings(&[version])),
                operations: Some(strings(ops)),
                resources: Some(strings(&[resource])),
                ..Default::default()
            }]),
            ..Default::default()
        })
        .collect();
    ValidatingWebhookConfiguration {
        metadata: meta::cluster_scoped(WEBHOOK_CONFIGURATION, labels(CONTROLLER)),
        webhooks: Some(webhooks),
    }
}

fn env_value(name: &str, value: &str) -> EnvVar {
    EnvVar { name: name.into(), value: Some(value.into()), ..Default::default() }
}

fn env_field(name: &str, path: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector { field_path: path.into(), ..Default::default() }),
            ..Default::default()
        }),
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

/// Upstream's probes: `/metrics` on the `monitoring` port.
fn probe() -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some("/metrics".into()),
            port: IntOrString::String("monitoring".into()),
            ..Default::default()
        }),
        initial_delay_seconds: Some(10),
        period_seconds: Some(10),
        timeout_seconds: Some(1),
        success_threshold: Some(1),
        failure_threshold: Some(3),
        ..Default::default()
    }
}

fn mount(name: &str, path: &str) -> VolumeMount {
    VolumeMount { name: name.into(), mount_path: path.into(), read_only: Some(true), ..Default::default() }
}

fn linux() -> Option<BTreeMap<String, String>> {
    Some(BTreeMap::from([("kubernetes.io/os".to_string(), "linux".to_string())]))
}

fn template_labels(name: &str) -> BTreeMap<String, String> {
    let mut l = labels(name);
    l.extend(meta::selector_labels(name));
    l
}

fn controller(p: &MetallbParams, ns: &str, annotations: BTreeMap<String, String>) -> Deployment {
    let container = Container {
        name: "controller".into(),
        image: Some(p.controller_image.clone()),
        args: Some(vec![
            format!("--port={METRICS_PORT}"),
            format!("--log-level={}", p.log_level),
            format!("--cert-service-name={WEBHOOK_SERVICE}"),
        ]),
        env: Some(vec![env_value("METALLB_ML_SECRET_NAME", MEMBERLIST), env_value("METALLB_DEPLOYMENT", CONTROLLER)]),
        ports: Some(vec![port("monitoring", METRICS_PORT, "TCP"), port("webhook-server", WEBHOOK_PORT, "TCP")]),
        liveness_probe: Some(probe()),
        readiness_probe: Some(probe()),
        resources: Some(p.controller_resources.to_k8s()),
        security_context: Some(container_security(true)),
        volume_mounts: Some(vec![mount("cert", "/tmp/k8s-webhook-server/serving-certs")]),
        ..Default::default()
    };
    Deployment {
        metadata: meta::namespaced(CONTROLLER, ns, labels(CONTROLLER)),
        spec: Some(DeploymentSpec {
            replicas: Some(1),
            revision_history_limit: Some(3),
            selector: meta::selector(meta::selector_labels(CONTROLLER)),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(template_labels(CONTROLLER)),
                    annotations: (!annotations.is_empty()).then_some(annotations),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    service_account_name: Some(CONTROLLER.into()),
                    automount_service_account_token: Some(true),
                    security_context: Some(pod_security(NOBODY, NOBODY, NOBODY)),
                    node_selector: linux(),
                    termination_grace_period_seconds: Some(0),
                    containers: vec![container],
                    volumes: Some(vec![Volume {
                        name: "cert".into(),
                        secret: Some(SecretVolumeSource {
                            secret_name: Some(WEBHOOK_CERT.into()),
                            default_mode: Some(420),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }]),
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn speaker(p: &MetallbParams, ns: &str, mut annotations: BTreeMap<String, String>) -> DaemonSet {
    annotations.insert(
        SECURITY_EXCEPTION_ANNOTATION.into(),
        "hostNetwork: answers ARP/NDP for Service addresses on the node's interfaces and gossips on port 7946 of the node; \
         capability NET_RAW: ARP and NDP replies are sent on raw sockets; \
         runAsUser 0: added capabilities take effect only for root (upstream's speaker runs as root)"
            .into(),
    );
    let ml_labels =
        meta::selector_labels(SPEAKER).iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",");
    let container = Container {
        name: "speaker".into(),
        image: Some(p.speaker_image.clone()),
        args: Some(vec![format!("--port={METRICS_PORT}"), format!("--log-level={}", p.log_level)]),
        env: Some(vec![
            env_field("METALLB_NODE_NAME", "spec.nodeName"),
            env_field("METALLB_POD_NAME", "metadata.name"),
            env_field("METALLB_HOST", "status.hostIP"),
            env_field("METALLB_ML_BIND_ADDR", "status.podIP"),
            env_value("METALLB_ML_LABELS", &ml_labels),
            env_value("METALLB_ML_BIND_PORT", &MEMBERLIST_PORT.to_string()),
            env_value("METALLB_ML_SECRET_KEY_PATH", "/etc/ml_secret_key"),
        ]),
        ports: Some(vec![
            port("monitoring", METRICS_PORT, "TCP"),
            port("memberlist-tcp", MEMBERLIST_PORT, "TCP"),
            port("memberlist-udp", MEMBERLIST_PORT, "UDP"),
        ]),
        liveness_probe: Some(probe()),
        readiness_probe: Some(probe()),
        resources: Some(p.speaker_resources.to_k8s()),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            privileged: Some(false),
            read_only_root_filesystem: Some(true),
            run_as_user: Some(0),
            run_as_non_root: Some(false),
            capabilities: Some(Capabilities { add: Some(strings(&["NET_RAW"])), drop: Some(strings(&["ALL"])) }),
            seccomp_profile: Some(runtime_default_seccomp()),
            ..Default::default()
        }),
        volume_mounts: Some(vec![
            mount("memberlist", "/etc/ml_secret_key"),
            mount("metallb-excludel2", "/etc/metallb"),
        ]),
        ..Default::default()
    };
    let control_plane = |key: &str| Toleration {
        key: Some(key.into()),
        operator: Some("Exists".into()),
        effect: Some("NoSchedule".into()),
        ..Default::default()
    };
    DaemonSet {
        metadata: meta::namespaced(SPEAKER, ns, labels(SPEAKER)),
        spec: Some(DaemonSetSpec {
            revision_history_limit: Some(3),
            selector: meta::selector(meta::selector_labels(SPEAKER)),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(template_labels(SPEAKER)),
                    annotations: Some(annotations),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    service_account_name: Some(SPEAKER.into()),
                    automount_service_account_token: Some(true),
                    host_network: Some(true),
                    security_context: Some(PodSecurityContext {
                        seccomp_profile: Some(runtime_default_seccomp()),
                        ..Default::default()
                    }),
                    node_selector: linux(),
                    termination_grace_period_seconds: Some(2),
                    tolerations: Some(vec![
                        control_plane("node-role.kubernetes.io/control-plane"),
                        control_plane("node-role.kubernetes.io/master"),
                    ]),
                    containers: vec![container],
                    volumes: Some(vec![
                        Volume {
                            name: "memberlist".into(),
                            secret: Some(SecretVolumeSource {
                                secret_name: Some(MEMBERLIST.into()),
                                default_mode: Some(420),
                                ..Default::default()
                            }),
                            ..Default::default()
                        },
                        Volume {
                            name: "metallb-excludel2".into(),
                            config_map: Some(ConfigMapVolumeSource {
                                name: "metallb-excludel2".into(),
                                default_mode: Some(256),
                                ..Default::default()
                            }),
                            ..Default::default()
                        },
                    ]),
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn ip_address_pool(p: &MetallbParams) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "metallb.io/v1beta1",
        "kind": "IPAddressPool",
        "metadata": {"name": p.pool_name, "namespace": p.namespace, "labels": labels(CONTROLLER)},
        "spec": {"addresses": p.load_balancer_addresses, "autoAssign": p.auto_assign},
    })
}

fn l2_advertisement(p: &MetallbParams) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "metallb.io/v1beta1",
        "kind": "L2Advertisement",
        "metadata": {"name": p.pool_name, "namespace": p.namespace, "labels": labels(SPEAKER)},
        "spec": {"ipAddressPools": [p.pool_name]},
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::testing::{find, path_of};

    fn with_addresses(addresses: &[&str]) -> MetallbParams {
        MetallbParams { load_balancer_addresses: strings(addresses), ..MetallbParams::default() }
    }

    fn onprem(sets: &[&str]) -> Result<Vec<Object>, String> {
        let mut stack = crate::Stack::new();
        stack.platform("onprem", "test").map_err(|e| format!("{e:?}"))?;
        for set in ["config.dns_zone=example.com"].iter().chain(sets) {
            stack.set(set, false).map_err(|e| format!("{e:?}"))?;
        }
        stack.render(crate::ALL).map(|r| r.objects).map_err(|e| e.render())
    }

    #[test]
    fn default_objects_are_upstreams_in_metallb_system_without_a_pool() {
        let objects = Metallb::build(&MetallbParams::default(), &Context::default()).expect("builds");
        let keys: Vec<&str> = objects.iter().map(|o| o.key.as_str()).collect();
        for key in [
            "ipaddresspoolsCrd",
            "l2advertisementsCrd",
            "controller",
            "speaker",
            "webhookService",
            "webhookConfiguration",
            "webhookCert",
        ] {
            assert!(keys.contains(&key), "{key} missing from {keys:?}");
        }
        assert!(!keys.contains(&"ipAddressPool") && !keys.contains(&"l2Advertisement"));
        assert!(!objects.iter().any(|o| o.kind() == "Secret" && o.name() == MEMBERLIST), "the controller creates it");
        let speaker = &find(&objects, "speaker").value["spec"]["template"];
        assert_eq!(speaker["spec"]["hostNetwork"], true);
        assert_eq!(
            speaker["spec"]["containers"][0]["securityContext"]["capabilities"]["add"],
            serde_json::json!(["NET_RAW"])
        );
        let why = speaker["metadata"]["annotations"][SECURITY_EXCEPTION_ANNOTATION].as_str().expect("an exception");
        for word in ["hostNetwork", "NET_RAW", "runAsUser 0"] {
            assert!(why.contains(word), "{why}");
        }
        let controller = &find(&objects, "controller").value;
        assert_eq!(controller["metadata"]["namespace"], "metallb-system");
        let env = &controller["spec"]["template"]["spec"]["containers"][0]["env"];
        assert!(env
            .as_array()
            .expect("env")
            .iter()
            .any(|e| e["name"] == "METALLB_DEPLOYMENT" && e["value"] == CONTROLLER));
        let hooks = find(&objects, "webhookConfiguration").value["webhooks"].as_array().expect("webhooks").clone();
        assert_eq!(hooks.len(), 6);
        assert!(hooks.iter().all(|h| h["clientConfig"]["service"]["name"] == WEBHOOK_SERVICE));
    }

    #[test]
    fn pools_come_from_load_balancer_addresses() {
        let p = with_addresses(&["192.168.10.0/24", "192.168.20.240-192.168.20.250"]);
        let objects = Metallb::build(&p, &Context::default()).expect("builds");
        let pool = &find(&objects, "ipAddressPool").value;
        assert_eq!(pool["kind"], "IPAddressPool");
        assert_eq!(pool["metadata"]["name"], "default");
        assert_eq!(pool["spec"]["addresses"], serde_json::json!(["192.168.10.0/24", "192.168.20.240-192.168.20.250"]));
        let l2 = &find(&objects, "l2Advertisement").value;
        assert_eq!(l2["spec"]["ipAddressPools"], serde_json::json!(["default"]));
        assert_eq!(l2["metadata"]["namespace"], "metallb-system");
    }

    #[test]
    fn a_bad_range_names_the_parameter_and_the_entry() {
        let p = with_addresses(&["192.168.10.0/24", "192.168.20.250-192.168.20.240"]);
        let e = Metallb::build(&p, &Context::default()).expect_err("rejected");
        assert_eq!(path_of(&e), "metallb.load_balancer_addresses[1]");
        assert!(e.to_string().contains("192.168.20.250-192.168.20.240"), "{e}");
        let e = onprem(&["metallb.load_balancer_addresses=[10.0.0.0/40]"]).expect_err("rejected");
        assert!(e.contains("metallb.load_balancer_addresses[0]") && e.contains("10.0.0.0/40"), "{e}");
    }

    #[test]
    fn every_object_round_trips() {
        let p = with_addresses(&["192.168.10.0/24"]);
        for o in Metallb::build(&p, &Context::default()).expect("builds") {
            let mut o = o;
            let before = o.value.clone();
            o.check_round_trip().unwrap_or_else(|e| panic!("{}: {e:?}", o.key));
            assert_eq!(o.value, before, "{} changes on a round trip", o.key);
        }
    }

    #[test]
    fn onprem_renders_metallb_and_its_pool_validates_against_the_crd() {
        let objects = onprem(&["metallb.load_balancer_addresses=[192.168.10.0/24, 192.168.20.1-192.168.20.9]"])
            .expect("onprem renders");
        for kind in ["IPAddressPool", "L2Advertisement", "DaemonSet"] {
            assert!(objects.iter().any(|o| o.component == "metallb" && o.kind() == kind), "{kind}");
        }
        let ns = objects.iter().find(|o| o.kind() == "Namespace" && o.name() == "metallb-system").expect("a namespace");
        assert_eq!(ns.value["metadata"]["labels"]["pod-security.kubernetes.io/enforce"], "privileged");
        for (key, kind) in [("ipaddresspoolsCrd", "IPAddressPool"), ("l2advertisementsCrd", "L2Advertisement")] {
            let crd = VENDORED.iter().find(|c| c.key == key).expect("vendored");
            let v = crate::common::testing::crd_validator(crd.json, "v1beta1");
            let o = objects.iter().find(|o| o.kind() == kind).expect("rendered");
            assert_eq!(crate::common::testing::schema_errors(&v, &o.value), Vec::<String>::new());
        }
    }

    #[test]
    fn a_pool_field_the_crd_lacks_fails_the_render() {
        let e =
            onprem(&["metallb.load_balancer_addresses=[192.168.10.0/24]", "metallb.ipAddressPool.spec.addressez=[x]"]);
        let e = e.expect_err("the CRD schema check did not reject `addressez`");
        assert!(e.contains("addressez"), "{e}");
    }

    #[test]
    fn vendored_crds_are_structural_and_name_their_files() {
        for crd in VENDORED {
            let value = crds::load_value(crd, &BTreeMap::new()).expect("readable");
            let typed: CustomResourceDefinition = serde_json::from_value(value).expect("a CRD");
            let plural = crd.file.trim_start_matches("metallb.io_").trim_end_matches(".yaml");
            assert_eq!(typed.metadata.name.as_deref(), Some(format!("{plural}.metallb.io").as_str()));
            assert_eq!(format!("{plural}Crd"), crd.key);
            for v in &typed.spec.versions {
                let schema = v.schema.as_ref().and_then(|s| s.open_api_v3_schema.as_ref()).expect("a schema");
                assert_eq!(crate::cert_manager::structural_problem(schema, crd.file), None);
            }
        }
    }

    #[test]
    fn metallb_is_on_by_default_on_onprem_only() {
        for (name, on) in [("onprem", true), ("gke", false), ("eks", false)] {
            let mut stack = crate::Stack::new();
            stack.platform(name, "test").expect("a platform");
            stack.set("config.dns_zone=example.com", false).expect("a set");
            let rendered = stack.render(crate::ALL).map(|r| r.objects).unwrap_or_default();
            if on {
                assert!(rendered.iter().any(|o| o.component == "metallb"), "{name}");
            } else {
                assert!(!rendered.iter().any(|o| o.component == "metallb"), "{name}");
            }
        }
    }
}
