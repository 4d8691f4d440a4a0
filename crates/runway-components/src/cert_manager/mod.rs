//! cert-manager: the controller that obtains a certificate from Let's Encrypt for every
//! Ingress, its admission webhook and its CA injector, BKPR's `cert_manager` component
//! rebuilt on cert-manager v1.21.
//!
//! # What it renders
//!
//! The three Deployments of upstream's static manifest (`cert-manager`,
//! `cert-manager-webhook`, `cert-manager-cainjector`) with their ServiceAccounts, RBAC,
//! Services and the webhook's Validating/MutatingWebhookConfigurations (whose CA bundle
//! the CA injector fills in from the webhook's self-signed CA Secret), cert-manager's
//! CustomResourceDefinitions (vendored, see `crds/README.md`), and BKPR's two
//! ClusterIssuers `letsencrypt-prod` and `letsencrypt-staging`: ACME with HTTP-01 through
//! the platform's ingress class and the contact email of `config.contact_email` (optional).
//!
//! `letsencrypt_environment` (BKPR's, `prod` or `staging`) picks the issuer that every
//! Ingress uses: it is published for [`crate::common::ingress::ui_ingress`]'s
//! `cert-manager.io/cluster-issuer` annotation and is the controller's default issuer, so
//! an Ingress annotated only `kubernetes.io/tls-acme: "true"` (BKPR's way) gets it too.
//!
//! # Differences from BKPR
//!
//! - BKPR's object keys are kept (`sa`, `deploy`, `letsencryptProd`, `letsencryptStaging`,
//!   `certificatesClusterRole`, `leaderelectionRole`, ...); object names follow upstream's
//!   current manifest (`cert-manager-controller-certificates` where BKPR had
//!   `cert-manager-certificates`), so BKPR's old ClusterRoles and bindings are left behind
//!   on adoption: delete them, or apply with `--prune`.
//! - Everything runs in the runtime's namespace, leader election included (upstream uses
//!   `kube-system`, BKPR used its own namespace too).
//! - RBAC objects whose upstream name holds a `:` (`cert-manager:leaderelection`,
//!   `cert-manager-webhook:subjectaccessreviews`, ...) use `-` instead: runway's name check
//!   accepts DNS-1123 subdomains only.
//! - ClusterIssuers are `cert-manager.io/v1` (BKPR's `certmanager.k8s.io/v1alpha1` and
//!   `cert-manager.io/v1alpha2` were removed in cert-manager 1.6 and 1.7), and solve
//!   HTTP-01 with `ingressClassName` rather than the older `class`.
//!
//! # Security
//!
//! All three pods run as uid 1000 with RuntimeDefault seccomp, all capabilities dropped, no
//! privilege escalation and a read-only root filesystem, as upstream's manifest. They keep
//! their API token: each of them is a controller of the API.

mod crds;
mod params;

use std::collections::BTreeMap;

use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhook, MutatingWebhookConfiguration, RuleWithOperations, ServiceReference, ValidatingWebhook,
    ValidatingWebhookConfiguration, WebhookClientConfig,
};
use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, EnvVar, EnvVarSource, ObjectFieldSelector, PodSpec, PodTemplateSpec, Probe, Service,
    ServiceAccount, ServicePort,
};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use runway_core::{Error, KeyPath, Object};

pub use self::crds::{structural_problem, VendoredCrd, VENDORED};
pub use self::params::{
    CertManagerParams, LetsencryptEnvironment, CERT_MANAGER_VERSION, DEFAULT_ACMESOLVER_IMAGE,
    DEFAULT_CAINJECTOR_IMAGE, DEFAULT_CONTROLLER_IMAGE, DEFAULT_WEBHOOK_IMAGE,
};
use crate::common::meta;
use crate::common::metrics::{MetricsEndpoint, Scrape};
use crate::common::pod::container_port as port;
use crate::common::pod::{container_security, pod_security, Resources};
use crate::common::rbac::{self, rule, rule_named, Grant, READ};
use crate::common::service::{PodService, ServiceKind};
use crate::component::{Component, ObjectDoc};
use crate::context::{Context, Published};

/// The controller's Deployment, ServiceAccount and metrics Service (BKPR's name).
pub const NAME: &str = "cert-manager";
/// The webhook's Deployment, ServiceAccount and Service.
pub const WEBHOOK_NAME: &str = "cert-manager-webhook";
/// The CA injector's Deployment, ServiceAccount and metrics Service.
pub const CAINJECTOR_NAME: &str = "cert-manager-cainjector";
/// The Secret where the webhook keeps its self-signed CA (the CA injector reads it).
pub const WEBHOOK_CA_SECRET: &str = "cert-manager-webhook-ca";
/// The Prometheus metrics port of all three components.
pub const METRICS_PORT: i32 = 9402;
/// The controller's health port (`/livez`).
const HEALTHZ_PORT: i32 = 9403;
/// The port the webhook serves admission reviews on (upstream's: GKE's private control
/// planes may reach nodes on 10250 without a firewall rule).
const WEBHOOK_PORT: i32 = 10250;
/// The webhook's health port (`/livez`, `/healthz`).
const WEBHOOK_HEALTH_PORT: i32 = 6080;
/// uid and gid the pods run as: distroless's `nonroot` (65532). The images are static Go
/// binaries that own no files, so any uid works; one above 10000 cannot collide with a
/// host user (checkov CKV_K8S_40).
const UID: i64 = 65532;
/// The annotation that asks the CA injector to fill in `caBundle` from a Secret.
const INJECT_CA_FROM_SECRET: &str = "cert-manager.io/inject-ca-from-secret";
/// The value of `app.kubernetes.io/component` on every object.
const COMPONENT_LABEL: &str = "cert-manager";

/// The cert-manager component.
pub struct CertManager;

impl Component for CertManager {
    const NAME: &'static str = "cert_manager";
    const SUMMARY: &'static str =
        "cert-manager v1.21 with its webhook and CA injector, and Let's Encrypt ClusterIssuers (prod and staging)";
    const OBJECTS: &'static [ObjectDoc] = &[
        ObjectDoc {
            key: "certificatesCrd",
            kind: "CustomResourceDefinition",
            doc: "certificates.cert-manager.io (with `crds: true`)",
        },
        ObjectDoc {
            key: "certificaterequestsCrd",
            kind: "CustomResourceDefinition",
            doc: "certificaterequests.cert-manager.io (with `crds: true`)",
        },
        ObjectDoc {
            key: "issuersCrd",
            kind: "CustomResourceDefinition",
            doc: "issuers.cert-manager.io (with `crds: true`)",
        },
        ObjectDoc {
            key: "clusterissuersCrd",
            kind: "CustomResourceDefinition",
            doc: "clusterissuers.cert-manager.io (with `crds: true`)",
        },
        ObjectDoc {
            key: "ordersCrd",
            kind: "CustomResourceDefinition",
            doc: "orders.acme.cert-manager.io (with `crds: true`)",
        },
        ObjectDoc {
            key: "challengesCrd",
            kind: "CustomResourceDefinition",
            doc: "challenges.acme.cert-manager.io (with `crds: true`)",
        },
        ObjectDoc { key: "sa", kind: "ServiceAccount", doc: "the controller's identity" },
        ObjectDoc { key: "webhookSa", kind: "ServiceAccount", doc: "the webhook's identity" },
        ObjectDoc { key: "cainjectorSa", kind: "ServiceAccount", doc: "the CA injector's identity" },
        ObjectDoc {
            key: "issuersClusterRole",
            kind: "ClusterRole",
            doc: "cert-manager-controller-issuers: reconcile Issuers",
        },
        ObjectDoc {
            key: "clusterissuersClusterRole",
            kind: "ClusterRole",
            doc: "cert-manager-controller-clusterissuers: reconcile ClusterIssuers",
        },
        ObjectDoc {
            key: "certificatesClusterRole",
            kind: "ClusterRole",
            doc: "cert-manager-controller-certificates: reconcile Certificates and their Secrets",
        },
        ObjectDoc { key: "ordersClusterRole", kind: "ClusterRole", doc: "cert-manager-controller-orders: ACME orders" },
        ObjectDoc {
            key: "challengesClusterRole",
            kind: "ClusterRole",
            doc: "cert-manager-controller-challenges: ACME challenges and their solver pods",
        },
        ObjectDoc {
            key: "ingressShimClusterRole",
            kind: "ClusterRole",
            doc: "cert-manager-controller-ingress-shim: Certificates for annotated Ingresses",
        },
        ObjectDoc {
            key: "approveClusterRole",
            kind: "ClusterRole",
            doc: "cert-manager-controller-approve-cert-manager-io: approve CertificateRequests",
        },
        ObjectDoc {
            key: "csrClusterRole",
            kind: "ClusterRole",
            doc: "cert-manager-controller-certificatesigningrequests: sign Kubernetes CSRs",
        },
        ObjectDoc {
            key: "clusterViewClusterRole",
            kind: "ClusterRole",
            doc: "cert-manager-cluster-view: read ClusterIssuers (aggregated to cluster-reader)",
        },
        ObjectDoc {
            key: "viewClusterRole",
            kind: "ClusterRole",
            doc: "cert-manager-view: read cert-manager resources (aggregated to view)",
        },
        ObjectDoc {
            key: "editClusterRole",
            kind: "ClusterRole",
            doc: "cert-manager-edit: write cert-manager resources (aggregated to edit)",
        },
        ObjectDoc {
            key: "cainjectorClusterRole",
            kind: "ClusterRole",
            doc: "cert-manager-cainjector: patch CA bundles into webhooks, APIServices and CRDs",
        },
        ObjectDoc {
            key: "webhookSubjectAccessReviewsClusterRole",
            kind: "ClusterRole",
            doc: "cert-manager-webhook-subjectaccessreviews: check who may use an Issuer",
        },
        ObjectDoc { key: "issuersClusterRoleBinding", kind: "ClusterRoleBinding", doc: "binds issuersClusterRole" },
        ObjectDoc {
            key: "clusterissuersClusterRoleBinding",
            kind: "ClusterRoleBinding",
            doc: "binds clusterissuersClusterRole",
        },
        ObjectDoc {
            key: "certificatesClusterRoleBinding",
            kind: "ClusterRoleBinding",
            doc: "binds certificatesClusterRole",
        },
        ObjectDoc { key: "ordersClusterRoleBinding", kind: "ClusterRoleBinding", doc: "binds ordersClusterRole" },
        ObjectDoc {
            key: "challengesClusterRoleBinding",
            kind: "ClusterRoleBinding",
            doc: "binds challengesClusterRole",
        },
        ObjectDoc {
            key: "ingressShimClusterRoleBinding",
            kind: "ClusterRoleBinding",
            doc: "binds ingressShimClusterRole",
        },
        ObjectDoc { key: "approveClusterRoleBinding", kind: "ClusterRoleBinding", doc: "binds approveClusterRole" },
        ObjectDoc { key: "csrClusterRoleBinding", kind: "ClusterRoleBinding", doc: "binds csrClusterRole" },
        ObjectDoc {
            key: "cainjectorClusterRoleBinding",
            kind: "ClusterRoleBinding",
            doc: "binds cainjectorClusterRole",
        },
        ObjectDoc {
            key: "webhookSubjectAccessReviewsClusterRoleBinding",
            kind: "ClusterRoleBinding",
            doc: "binds webhookSubjectAccessReviewsClusterRole",
        },
        ObjectDoc {
            key: "leaderelectionRole",
            kind: "Role",
            doc: "cert-manager-leaderelection: the controller's leader election lease",
        },
        ObjectDoc {
            key: "tokenrequestRole",
            kind: "Role",
            doc: "cert-manager-tokenrequest: tokens of its own ServiceAccount (ambient credentials)",
        },
        ObjectDoc {
            key: "cainjectorLeaderelectionRole",
            kind: "Role",
            doc: "cert-manager-cainjector-leaderelection: the CA injector's leader election lease",
        },
        ObjectDoc {
            key: "webhookDynamicServingRole",
            kind: "Role",
            doc: "cert-manager-webhook-dynamic-serving: the webhook's CA Secret",
        },
        ObjectDoc { key: "leaderelectionRoleBinding", kind: "RoleBinding", doc: "binds leaderelectionRole" },
        ObjectDoc { key: "tokenrequestRoleBinding", kind: "RoleBinding", doc: "binds tokenrequestRole" },
        ObjectDoc {
            key: "cainjectorLeaderelectionRoleBinding",
            kind: "RoleBinding",
            doc: "binds cainjectorLeaderelectionRole",
        },
        ObjectDoc {
            key: "webhookDynamicServingRoleBinding",
            kind: "RoleBinding",
            doc: "binds webhookDynamicServingRole",
        },
        ObjectDoc { key: "svc", kind: "Service", doc: "cert-manager: the controller's metrics (9402)" },
        ObjectDoc { key: "webhookSvc", kind: "Service", doc: "cert-manager-webhook: admission (443) and metrics" },
        ObjectDoc { key: "cainjectorSvc", kind: "Service", doc: "cert-manager-cainjector: metrics (9402)" },
        ObjectDoc { key: "deploy", kind: "Deployment", doc: "the controller" },
        ObjectDoc { key: "webhookDeploy", kind: "Deployment", doc: "the admission webhook" },
        ObjectDoc { key: "cainjectorDeploy", kind: "Deployment", doc: "the CA injector" },
        ObjectDoc {
            key: "serviceMonitor",
            kind: "ServiceMonitor",
            doc: "scrapes the controller through `svc` (`platform.monitoring: operator` or `both`)",
        },
        ObjectDoc {
            key: "webhookServiceMonitor",
            kind: "ServiceMonitor",
            doc: "scrapes the webhook through `webhookSvc` (`platform.monitoring: operator` or `both`)",
        },
        ObjectDoc {
            key: "cainjectorServiceMonitor",
            kind: "ServiceMonitor",
            doc: "scrapes the CA injector through `cainjectorSvc` (`platform.monitoring: operator` or `both`)",
        },
        ObjectDoc {
            key: "mutatingWebhook",
            kind: "MutatingWebhookConfiguration",
            doc: "cert-manager-webhook: sets the requester of CertificateRequests",
        },
        ObjectDoc {
            key: "validatingWebhook",
            kind: "ValidatingWebhookConfiguration",
            doc: "cert-manager-webhook: validates cert-manager resources",
        },
        ObjectDoc {
            key: "letsencryptProd",
            kind: "ClusterIssuer",
            doc: "letsencrypt-prod: Let's Encrypt production, HTTP-01",
        },
        ObjectDoc {
            key: "letsencryptStaging",
            kind: "ClusterIssuer",
            doc: "letsencrypt-staging: Let's Encrypt staging, HTTP-01",
        },
        ObjectDoc {
            key: "networkPolicy",
            kind: "NetworkPolicy",
            doc: "`cert-manager`: the API server, ACME and DNS checks on the internet",
        },
        ObjectDoc {
            key: "webhookNetworkPolicy",
            kind: "NetworkPolicy",
            doc: "`cert-manager-webhook`: from the API server",
        },
        ObjectDoc {
            key: "cainjectorNetworkPolicy",
            kind: "NetworkPolicy",
            doc: "`cert-manager-cainjector`: to the API server",
        },
    ];
    type Params = CertManagerParams;

    fn publish(p: &CertManagerParams, _cx: &Context, published: &mut Published) {
        published.dashboards.push(crate::grafana::dashboards::CERT_MANAGER);
        published.tls_issuer = Some(p.letsencrypt_environment.issuer().to_string());
    }

    /// With `crds: false` the cluster holds cert-manager's CRDs (installed apart): the
    /// vendored ones still validate the ClusterIssuers runway renders.
    fn known_crds(p: &CertManagerParams, _cx: &Context) -> Vec<serde_json::Value> {
        if p.crds {
            return Vec::new();
        }
        // A vendored file that does not parse is a bug that `vendored_crds_are_upstream_and_structural` catches.
        VENDORED.iter().filter_map(|crd| crds::load_value(crd, &BTreeMap::new()).ok()).collect()
    }

    fn network(_: &CertManagerParams, _: &Context) -> Vec<crate::network::Flows> {
        use crate::network::{tcp, udp, Flows};
        vec![
            Flows::new("deploy", "networkPolicy").to_api_server().to_internet(
                &[tcp(80), tcp(443), tcp(53), udp(53)],
                "ACME: Let's Encrypt's API (443), the HTTP-01 self check (80) and DNS-01 propagation checks against authoritative servers (53)",
            ),
            Flows::new("webhookDeploy", "webhookNetworkPolicy").to_api_server().from_anywhere(
                &[tcp(10250)],
                "the API server calls the admission webhook; its address is not known at render time",
            ),
            Flows::new("cainjectorDeploy", "cainjectorNetworkPolicy").to_api_server(),
        ]
    }

    fn waivers(_: &CertManagerParams, _: &Context) -> Vec<crate::waivers::Waiver> {
        use crate::waivers::{Check, Waiver};
        vec![
            Waiver::new(
                "cainjectorDeploy",
                Check::ReadinessProbe,
                "a controller that serves no traffic: there is nothing for readiness to gate (upstream has none)",
            ),
            Waiver::new(
                "cainjectorClusterRole",
                Check::AdmissionWebhookControl,
                "the CA injector writes caBundle into webhook and API service configurations: that is its whole job",
            ),
        ]
    }

    fn build(p: &CertManagerParams, cx: &Context) -> Result<Vec<Object>, Error> {
        p.validate()?;
        let email = contact_email(cx)?;
        let ns = cx.namespace();
        let n = Self::NAME;
        let mut objects = Vec::new();
        if p.crds {
            let labels = meta::labels(NAME, COMPONENT_LABEL);
            for crd in VENDORED {
                objects.push(Object::from_value::<CustomResourceDefinition>(
                    n,
                    crd.key,
                    crds::load_shared(crd, &labels)?,
                ));
            }
        }
        objects.extend([
            Object::new(n, "sa", &service_account(NAME, ns)),
            Object::new(n, "webhookSa", &service_account(WEBHOOK_NAME, ns)),
            Object::new(n, "cainjectorSa", &service_account(CAINJECTOR_NAME, ns)),
        ]);
        for role in controller_cluster_roles() {
            let binding = cluster_role_binding(&role.name, NAME, ns);
            objects.push(Object::new(n, role.key, &cluster_role(&role.name, NAME, role.rules)));
            objects.push(Object::new(n, &format!("{}Binding", role.key), &binding));
        }
        for (key, name, labels, rules) in aggregated_cluster_roles() {
            objects.push(Object::new(n, key, &aggregated_cluster_role(name, labels, rules)));
        }
        let cainjector_role = "cert-manager-cainjector";
        objects.push(Object::new(
            n,
            "cainjectorClusterRole",
            &cluster_role(cainjector_role, CAINJECTOR_NAME, cainjector_rules()),
        ));
        objects.push(Object::new(
            n,
            "cainjectorClusterRoleBinding",
            &cluster_role_binding(cainjector_role, CAINJECTOR_NAME, ns),
        ));
        let sar = "cert-manager-webhook-subjectaccessreviews";
        objects.push(Object::new(
            n,
            "webhookSubjectAccessReviewsClusterRole",
            &cluster_role(
                sar,
                WEBHOOK_NAME,
                vec![rule(&["authorization.k8s.io"], &["subjectaccessreviews"], &["create"])],
            ),
        ));
        objects.push(Object::new(
            n,
            "webhookSubjectAccessReviewsClusterRoleBinding",
            &cluster_role_binding(sar, WEBHOOK_NAME, ns),
        ));
        for (key, name, sa, rules) in namespaced_roles() {
            objects.push(Object::new(n, key, &role(name, sa, ns, rules)));
            objects.push(Object::new(n, &format!("{key}Binding"), &role_binding(name, sa, ns)));
        }
        objects.extend([
            Object::new(n, "svc", &service(NAME, ns, vec![metrics_service_port("tcp-prometheus-servicemonitor")])),
            Object::new(
                n,
                "webhookSvc",
                &service(
                    WEBHOOK_NAME,
                    ns,
                    vec![
                        ServicePort {
                            name: Some("https".into()),
                            port: 443,
                            protocol: Some("TCP".into()),
                            target_port: Some(IntOrString::String("https".into())),
                            ..Default::default()
                        },
                        metrics_service_port("metrics"),
                    ],
                ),
            ),
            Object::new(n, "cainjectorSvc", &service(CAINJECTOR_NAME, ns, vec![metrics_service_port("http-metrics")])),
            Object::new(n, "deploy", &controller_deployment(p, cx)),
            Object::new(n, "webhookDeploy", &webhook_deployment(p, cx)),
            Object::new(n, "cainjectorDeploy", &cainjector_deployment(p, cx)),
            Object::new(n, "mutatingWebhook", &mutating_webhook(ns)),
            Object::new(n, "validatingWebhook", &validating_webhook(ns)),
            cluster_issuer("letsencryptProd", LetsencryptEnvironment::Prod, email, cx),
            cluster_issuer("letsencryptStaging", LetsencryptEnvironment::Staging, email, cx),
        ]);
        for (key, scrape) in scrapes(ns) {
            objects.extend(scrape.monitor(n, key, cx));
        }
        Ok(objects)
    }
}

/// `config.contact_email`, the ACME account's contact: optional (Let's Encrypt issues
/// without one, and no longer mails expiry notices), but when given it must be an address.
fn contact_email(cx: &Context) -> Result<Option<&str>, Error> {
    let path = KeyPath::root().key("config").key("contact_email");
    match cx.config.contact_email.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(e) if !is_email(e) => Err(Error::invalid(format!("`{e}` is not an email address"))
            .with_path(path)
            .help("write one address, e.g. `ops@example.com`")),
        Some(e) => Ok(Some(e)),
    }
}

/// One `@` between a non-empty local part and a domain with a dot, no spaces.
fn is_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && !s.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

fn labels(name: &str) -> BTreeMap<String, String> {
    meta::labels(name, COMPONENT_LABEL)
}

fn service_account(name: &str, ns: &str) -> ServiceAccount {
    // The token is mounted: every cert-manager component is a controller of the API.
    rbac::service_account(meta::namespaced(name, ns, labels(name)), Some(true))
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_string()).collect()
}

const CM: &str = "cert-manager.io";
const ACME: &str = "acme.cert-manager.io";
const CORE: &str = "";
const NETWORKING: &str = "networking.k8s.io";
const GATEWAY: &str = "gateway.networking.k8s.io";
const EVENTS: &[&str] = &["create", "patch"];

/// A ClusterRole of the controller, bound to its ServiceAccount.
struct ControllerRole {
    key: &'static str,
    name: String,
    rules: Vec<PolicyRule>,
}

/// The controller's ClusterRoles, rule for rule as upstream's `rbac.yaml`.
fn controller_cluster_roles() -> Vec<ControllerRole> {
    let role = |key: &'static str, suffix: &str, rules: Vec<PolicyRule>| ControllerRole {
        key,
        name: format!("cert-manager-controller-{suffix}"),
        rules,
    };
    vec![
        role(
            "issuersClusterRole",
            "issuers",
            vec![
                rule(&[CM], &["issuers", "issuers/status"], &["update", "patch"]),
                rule(&[CM], &["issuers"], READ),
                rule(&[CORE], &["secrets"], &["get", "list", "watch", "create", "update", "delete"]),
                rule(&[CORE], &["events"], EVENTS),
            ],
        ),
        role(
            "clusterissuersClusterRole",
            "clusterissuers",
            vec![
                rule(&[CM], &["clusterissuers", "clusterissuers/status"], &["update", "patch"]),
                rule(&[CM], &["clusterissuers"], READ),
                rule(&[CORE], &["secrets"], &["get", "list", "watch", "create", "update", "delete"]),
                rule(&[CORE], &["events"], EVENTS),
            ],
        ),
        role(
            "certificatesClusterRole",
            "certificates",
            vec![
                rule(
                    &[CM],
                    &["certificates", "certificates/status", "certificaterequests", "certificaterequests/status"],
                    &["update", "patch"],
                ),
                rule(&[CM], &["certificates", "certificaterequests", "clusterissuers", "issuers"], READ),
                // For clusters with the OwnerReferencesPermissionEnforcement admission plugin.
                rule(&[CM], &["certificates/finalizers", "certificaterequests/finalizers"], &["update"]),
                rule(&[ACME], &["orders"], &["create", "delete", "get", "list", "watch"]),
                rule(&[CORE], &["secrets"], &["get", "list", "watch", "create", "update", "delete", "patch"]),
                rule(&[CORE], &["events"], EVENTS),
            ],
        ),
        role(
            "ordersClusterRole",
            "orders",
            vec![
                rule(&[ACME], &["orders", "orders/status"], &["update", "patch"]),
                rule(&[ACME], &["orders", "challenges"], READ),
                rule(&[CM], &["clusterissuers", "issuers"], READ),
                rule(&[ACME], &["challenges"], &["create", "delete"]),
                rule(&[ACME], &["orders/finalizers"], &["update"]),
                rule(&[CM], &["clusterissuers/finalizers", "issuers/finalizers"], &["update"]),
                rule(&[CORE], &["secrets"], READ),
                rule(&[CORE], &["events"], EVENTS),
            ],
        ),
        role(
            "challengesClusterRole",
            "challenges",
            vec![
                rule(&[ACME], &["challenges", "challenges/status"], &["update", "patch"]),
                rule(&[ACME], &["challenges"], READ),
                rule(&[CM], &["issuers", "clusterissuers"], READ),
                rule(&[CORE], &["secrets"], READ),
                rule(&[CORE], &["events"], EVENTS),
                // HTTP-01: the solver's pods, Services and Ingresses (or HTTPRoutes).
                rule(&[CORE], &["pods", "services"], &["get", "list", "watch", "create", "delete"]),
                rule(&[NETWORKING], &["ingresses"], &["get", "list", "watch", "create", "delete", "update"]),
                rule(&[GATEWAY], &["httproutes"], &["get", "list", "watch", "create", "delete", "update"]),
                rule(&["route.openshift.io"], &["routes/custom-host"], &["create"]),
                rule(&[ACME], &["challenges/finalizers"], &["update"]),
            ],
        ),
        role(
            "ingressShimClusterRole",
            "ingress-shim",
            vec![
                rule(&[CM], &["certificates", "certificaterequests"], &["create", "update", "delete"]),
                rule(&[CM], &["certificates", "certificaterequests", "issuers", "clusterissuers"], READ),
                rule(&[NETWORKING], &["ingresses"], READ),
                rule(&[NETWORKING], &["ingresses/finalizers"], &["update"]),
                rule(&[GATEWAY], &["gateways", "httproutes", "listenersets"], READ),
                rule(
                    &[GATEWAY],
                    &["gateways/finalizers", "httproutes/finalizers", "listenersets/finalizers"],
                    &["update"],
                ),
                rule(&[CORE], &["events"], EVENTS),
            ],
        ),
        role("approveClusterRole", "approve-cert-manager-io", vec![rule(&[CM], &["signers"], &["approve"])]),
        role(
            "csrClusterRole",
            "certificatesigningrequests",
            vec![
                rule(&["certificates.k8s.io"], &["certificatesigningrequests"], &["get", "list", "watch", "update"]),
                rule(&["certificates.k8s.io"], &["certificatesigningrequests/status"], &["update", "patch"]),
                rule_named(
                    &["certificates.k8s.io"],
                    &["signers"],
                    &["issuers.cert-manager.io/*", "clusterissuers.cert-manager.io/*"],
                    &["sign"],
                ),
                rule(&["authorization.k8s.io"], &["subjectaccessreviews"], &["create"]),
            ],
        ),
    ]
}

/// The user-facing ClusterRoles, aggregated into the built-in ones as upstream does.
fn aggregated_cluster_roles() -> Vec<(&'static str, &'static str, &'static [&'static str], Vec<PolicyRule>)> {
    const TO_VIEW: &[&str] = &["view", "edit", "admin", "cluster-reader"];
    const TO_EDIT: &[&str] = &["edit", "admin"];
    vec![
        (
            "clusterViewClusterRole",
            "cert-manager-cluster-view",
            &["cluster-reader"],
            vec![rule(&[CM], &["clusterissuers"], READ)],
        ),
        (
            "viewClusterRole",
            "cert-manager-view",
            TO_VIEW,
            vec![
                rule(&[CM], &["certificates", "certificaterequests", "issuers"], READ),
                rule(&[ACME], &["challenges", "orders"], READ),
            ],
        ),
        (
            "editClusterRole",
            "cert-manager-edit",
            TO_EDIT,
            vec![
                rule(
                    &[CM],
                    &["certificates", "certificaterequests", "issuers"],
                    &["create", "delete", "deletecollection", "patch", "update"],
                ),
                rule(&[CM], &["certificates/status"], &["update"]),
                rule(&[ACME], &["challenges", "orders"], &["create", "delete", "deletecollection", "patch", "update"]),
            ],
        ),
    ]
}

fn cainjector_rules() -> Vec<PolicyRule> {
    let patch = &["get", "list", "watch", "update"];
    vec![
        rule(&[CM], &["certificates"], READ),
        rule(&[CORE], &["secrets"], READ),
        rule(&[CORE], &["events"], &["get", "create", "update", "patch"]),
        rule(
            &["admissionregistration.k8s.io"],
            &["validatingwebhookconfigurations", "mutatingwebhookconfigurations"],
            patch,
        ),
        rule(&["apiregistration.k8s.io"], &["apiservices"], patch),
        rule(&["apiextensions.k8s.io"], &["customresourcedefinitions"], patch),
    ]
}

/// Roles in the runtime's namespace: `(key, name, service account, rules)`.
fn namespaced_roles() -> Vec<(&'static str, &'static str, &'static str, Vec<PolicyRule>)> {
    let leases = "coordination.k8s.io";
    let cainjector_leases = ["cert-manager-cainjector-leader-election", "cert-manager-cainjector-leader-election-core"];
    vec![
        (
            "leaderelectionRole",
            "cert-manager-leaderelection",
            NAME,
            vec![
                rule_named(&[leases], &["leases"], &["cert-manager-controller"], &["get", "update", "patch"]),
                rule(&[leases], &["leases"], &["create"]),
            ],
        ),
        (
            "tokenrequestRole",
            "cert-manager-tokenrequest",
            NAME,
            vec![rule_named(&[CORE], &["serviceaccounts/token"], &[NAME], &["create"])],
        ),
        (
            "cainjectorLeaderelectionRole",
            "cert-manager-cainjector-leaderelection",
            CAINJECTOR_NAME,
            vec![
                rule_named(&[leases], &["leases"], &cainjector_leases, &["get", "update", "patch"]),
                rule(&[leases], &["leases"], &["create"]),
            ],
        ),
        (
            "webhookDynamicServingRole",
            "cert-manager-webhook-dynamic-serving",
            WEBHOOK_NAME,
            vec![
                rule_named(&[CORE], &["secrets"], &[WEBHOOK_CA_SECRET], &["get", "list", "watch", "update"]),
                // CREATE cannot be limited to one resourceName.
                rule(&[CORE], &["secrets"], &["create"]),
            ],
        ),
    ]
}

fn cluster_role(name: &str, owner: &str, rules: Vec<PolicyRule>) -> ClusterRole {
    rbac::cluster_role(meta::cluster_scoped(name, labels(owner)), rules)
}

fn aggregated_cluster_role(name: &str, to: &[&str], rules: Vec<PolicyRule>) -> ClusterRole {
    let mut l = labels(NAME);
    for target in to {
        l.insert(format!("rbac.authorization.k8s.io/aggregate-to-{target}"), "true".into());
    }
    rbac::cluster_role(meta::cluster_scoped(name, l), rules)
}

fn cluster_role_binding(role: &str, sa: &str, ns: &str) -> ClusterRoleBinding {
    Grant { role, service_account: sa, namespace: ns }.cluster_role_binding(meta::cluster_scoped(role, labels(sa)))
}

fn role(name: &str, sa: &str, ns: &str, rules: Vec<PolicyRule>) -> Role {
    rbac::role(meta::namespaced(name, ns, labels(sa)), rules)
}

fn role_binding(name: &str, sa: &str, ns: &str) -> RoleBinding {
    Grant { role: name, service_account: sa, namespace: ns }.role_binding(meta::namespaced(name, ns, labels(sa)))
}

fn metrics_service_port(name: &str) -> ServicePort {
    ServicePort {
        name: Some(name.into()),
        port: METRICS_PORT,
        protocol: Some("TCP".into()),
        target_port: Some(IntOrString::String("http-metrics".into())),
        ..Default::default()
    }
}

fn service(name: &str, ns: &str, ports: Vec<ServicePort>) -> Service {
    PodService { kind: ServiceKind::ClusterIp, selector: meta::selector_labels(name), ports }.build(meta::namespaced(
        name,
        ns,
        labels(name),
    ))
}

fn pod_namespace_env() -> EnvVar {
    EnvVar {
        name: "POD_NAMESPACE".into(),
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                api_version: Some("v1".into()),
                field_path: "metadata.namespace".into(),
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn http_probe(path: &str, port: &str) -> Probe {
    Probe { http_get: Some(crate::common::probes::http_get(path, port)), ..Default::default() }
}

fn container(
    name: &str,
    image: &str,
    args: Vec<String>,
    ports: Vec<ContainerPort>,
    resources: &Resources,
) -> Container {
    Container {
        name: name.into(),
        image: Some(image.into()),
        image_pull_policy: Some("IfNotPresent".into()),
        args: Some(args),
        ports: Some(ports),
        env: Some(vec![pod_namespace_env()]),
        resources: Some(resources.to_k8s()),
        security_context: Some(container_security(true)),
        ..Default::default()
    }
}

/// The metrics of the controller, webhook and CA injector: each Service's metrics port
/// (named as upstream's chart names it) in front of the pods' `http-metrics` (9402), with
/// the object key of its ServiceMonitor.
pub fn scrapes(ns: &str) -> [(&'static str, Scrape); 3] {
    let s = |name: &str, port_name: &'static str| {
        Scrape::service(
            COMPONENT_LABEL,
            name,
            ns,
            meta::selector_labels(name),
            MetricsEndpoint::new(port_name, METRICS_PORT),
        )
    };
    [
        ("serviceMonitor", s(NAME, "tcp-prometheus-servicemonitor")),
        ("webhookServiceMonitor", s(WEBHOOK_NAME, "metrics")),
        ("cainjectorServiceMonitor", s(CAINJECTOR_NAME, "http-metrics")),
    ]
}

fn deployment(name: &str, cx: &Context, replicas: u32, container: Container) -> Deployment {
    let ns = cx.namespace();
    let scrape = scrapes(ns).into_iter().map(|(_, s)| s).find(|s| s.name == name);
    let annotations = scrape.map(|s| s.annotations(cx)).unwrap_or_default();
    let mut template_labels = labels(name);
    template_labels.extend(meta::selector_labels(name));
    Deployment {
        metadata: meta::namespaced(name, ns, labels(name)),
        spec: Some(DeploymentSpec {
            // Invariant: validated to fit an i32.
            replicas: Some(i32::try_from(replicas).unwrap_or(i32::MAX)),
            selector: meta::selector(meta::selector_labels(name)),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(template_labels),
                    annotations: (!annotations.is_empty()).then_some(annotations),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    service_account_name: Some(name.into()),
                    enable_service_links: Some(false),
                    security_context: Some(pod_security(UID, UID, UID)),
                    node_selector: Some(BTreeMap::from([("kubernetes.io/os".to_string(), "linux".to_string())])),
                    containers: vec![container],
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn controller_deployment(p: &CertManagerParams, cx: &Context) -> Deployment {
    let issuer = p.letsencrypt_environment.issuer();
    let args = vec![
        format!("--v={}", p.log_level),
        "--cluster-resource-namespace=$(POD_NAMESPACE)".into(),
        "--leader-election-namespace=$(POD_NAMESPACE)".into(),
        format!("--acme-http01-solver-image={}", p.acmesolver_image),
        "--max-concurrent-challenges=60".into(),
        // BKPR's ingress-shim defaults: `kubernetes.io/tls-acme: "true"` gets this issuer.
        format!("--default-issuer-name={issuer}"),
        "--default-issuer-kind=ClusterIssuer".into(),
        "--default-issuer-group=cert-manager.io".into(),
    ];
    let mut c = container(
        "cert-manager-controller",
        &p.image,
        args,
        vec![port("http-metrics", METRICS_PORT), port("http-healthz", HEALTHZ_PORT)],
        &p.resources,
    );
    // Upstream's settings, after the Kubernetes controller-manager's.
    c.liveness_probe = Some(Probe {
        initial_delay_seconds: Some(10),
        period_seconds: Some(10),
        timeout_seconds: Some(15),
        success_threshold: Some(1),
        failure_threshold: Some(8),
        ..http_probe("/livez", "http-healthz")
    });
    // Upstream has no readiness probe; the same health endpoint gates a rollout on a
    // controller that came up.
    c.readiness_probe = Some(Probe { period_seconds: Some(10), ..http_probe("/livez", "http-healthz") });
    deployment(NAME, cx, p.replicas, c)
}

fn webhook_deployment(p: &CertManagerParams, cx: &Context) -> Deployment {
    let args = vec![
        format!("--v={}", p.log_level),
        format!("--secure-port={WEBHOOK_PORT}"),
        "--dynamic-serving-ca-secret-namespace=$(POD_NAMESPACE)".into(),
        format!("--dynamic-serving-ca-secret-name={WEBHOOK_CA_SECRET}"),
        format!(
            "--dynamic-serving-dns-names={WEBHOOK_NAME},{WEBHOOK_NAME}.$(POD_NAMESPACE),{WEBHOOK_NAME}.$(POD_NAMESPACE).svc"
        ),
    ];
    let mut c = container(
        "cert-manager-webhook",
        &p.webhook_image,
        args,
        vec![port("https", WEBHOOK_PORT), port("healthcheck", WEBHOOK_HEALTH_PORT), port("http-metrics", METRICS_PORT)],
        &p.webhook_resources,
    );
    c.liveness_probe = Some(Probe {
        initial_delay_seconds: Some(60),
        period_seconds: Some(10),
        timeout_seconds: Some(1),
        success_threshold: Some(1),
        failure_threshold: Some(3),
        ..http_probe("/livez", "healthcheck")
    });
    c.readiness_probe = Some(Probe {
        initial_delay_seconds: Some(5),
        period_seconds: Some(5),
        timeout_seconds: Some(1),
        success_threshold: Some(1),
        failure_threshold: Some(3),
        ..http_probe("/healthz", "healthcheck")
    });
    deployment(WEBHOOK_NAME, cx, p.webhook_replicas, c)
}

fn cainjector_deployment(p: &CertManagerParams, cx: &Context) -> Deployment {
    let args = vec![format!("--v={}", p.log_level), "--leader-election-namespace=$(POD_NAMESPACE)".into()];
    let mut c = container(
        "cert-manager-cainjector",
        &p.cainjector_image,
        args,
        vec![port("http-metrics", METRICS_PORT)],
        &p.cainjector_resources,
    );
    // Upstream has none: restarted when its metrics listener stops answering.
    c.liveness_probe = Some(Probe {
        tcp_socket: Some(k8s_openapi::api::core::v1::TCPSocketAction {
            port: k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String("http-metrics".into()),
            ..Default::default()
        }),
        period_seconds: Some(30),
        ..Default::default()
    });
    deployment(CAINJECTOR_NAME, cx, 1, c)
}

fn webhook_metadata(ns: &str) -> ObjectMeta {
    let mut m = meta::cluster_scoped(WEBHOOK_NAME, labels(WEBHOOK_NAME));
    m.annotations = Some(BTreeMap::from([(INJECT_CA_FROM_SECRET.to_string(), format!("{ns}/{WEBHOOK_CA_SECRET}"))]));
    m
}

fn client_config(ns: &str, path: &str) -> WebhookClientConfig {
    WebhookClientConfig {
        service: Some(ServiceReference {
            name: WEBHOOK_NAME.into(),
            namespace: ns.into(),
            path: Some(path.into()),
            port: Some(443),
        }),
        ..Default::default()
    }
}

fn webhook_rule(groups: &[&str], resources: &[&str], operations: &[&str]) -> RuleWithOperations {
    RuleWithOperations {
        api_groups: Some(strings(groups)),
        api_versions: Some(strings(&["v1"])),
        operations: Some(strings(operations)),
        resources: Some(strings(resources)),
        ..Default::default()
    }
}

/// Sets the requester (user, groups, extra) of new CertificateRequests.
fn mutating_webhook(ns: &str) -> MutatingWebhookConfiguration {
    MutatingWebhookConfiguration {
        metadata: webhook_metadata(ns),
        webhooks: Some(vec![MutatingWebhook {
            name: "webhook.cert-manager.io".into(),
            rules: Some(vec![webhook_rule(&[CM], &["certificaterequests"], &["CREATE"])]),
            admission_review_versions: strings(&["v1"]),
            // Non-v1 requests are converted to v1 and sent here too.
            match_policy: Some("Equivalent".into()),
            timeout_seconds: Some(30),
            failure_policy: Some("Fail".into()),
            side_effects: "None".into(),
            client_config: client_config(ns, "/mutate"),
            ..Default::default()
        }]),
    }
}

/// Validates every cert-manager resource, except in namespaces labelled
/// `cert-manager.io/disable-validation: "true"`.
fn validating_webhook(ns: &str) -> ValidatingWebhookConfiguration {
    ValidatingWebhookConfiguration {
        metadata: webhook_metadata(ns),
        webhooks: Some(vec![ValidatingWebhook {
            name: "webhook.cert-manager.io".into(),
            namespace_selector: Some(LabelSelector {
                match_expressions: Some(vec![LabelSelectorRequirement {
                    key: "cert-manager.io/disable-validation".into(),
                    operator: "NotIn".into(),
                    values: Some(strings(&["true"])),
                }]),
                ..Default::default()
            }),
            rules: Some(vec![webhook_rule(&[CM, ACME], &["*/*"], &["CREATE", "UPDATE"])]),
            admission_review_versions: strings(&["v1"]),
            match_policy: Some("Equivalent".into()),
            timeout_seconds: Some(30),
            failure_policy: Some("Fail".into()),
            side_effects: "None".into(),
            client_config: client_config(ns, "/validate"),
            ..Default::default()
        }]),
    }
}

/// A Let's Encrypt ClusterIssuer (BKPR's `letsencryptProd`/`letsencryptStaging`): ACME
/// with HTTP-01 through the platform's ingress class; the account key is kept in a
/// Secret of the same name in the runtime's namespace (`--cluster-resource-namespace`).
fn cluster_issuer(key: &str, env: LetsencryptEnvironment, email: Option<&str>, cx: &Context) -> Object {
    let name = env.issuer();
    let mut value = serde_json::json!({
        "apiVersion": "cert-manager.io/v1",
        "kind": "ClusterIssuer",
        "metadata": {"name": name, "labels": labels(name)},
        "spec": {"acme": {
            "server": env.server(),
            "privateKeySecretRef": {"name": name},
            "solvers": [{"http01": {"ingress": {"ingressClassName": cx.platform.ingress_class_name()}}}],
        }},
    });
    if let Some(email) = email {
        value["spec"]["acme"]["email"] = serde_json::Value::String(email.to_string());
    }
    Object::custom(CertManager::NAME, key, value, "ClusterIssuer")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::ingress::CLUSTER_ISSUER_ANNOTATION;
    use crate::common::testing;
    use crate::common::testing::{find, path_of};
    use crate::stack::Stack;
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSONSchemaProps;
    use runway_core::SourceKind;

    fn cx() -> Context {
        let mut cx = Context::default();
        cx.config.contact_email = Some("ops@example.com".into());
        cx.config.dns_zone = Some("example.com".into());
        cx
    }

    fn build(p: &CertManagerParams) -> Vec<Object> {
        CertManager::build(p, &cx()).expect("default parameters build")
    }

    fn with(f: impl FnOnce(&mut CertManagerParams)) -> CertManagerParams {
        testing::with(f)
    }

    fn args_of(o: &Object) -> Vec<String> {
        let args = &o.value["spec"]["template"]["spec"]["containers"][0]["args"];
        args.as_array().into_iter().flatten().filter_map(|a| a.as_str().map(str::to_string)).collect()
    }

    #[test]
    fn default_build_has_bkpr_keys_and_upstream_names() {
        let objects = build(&CertManagerParams::default());
        let got: Vec<(&str, &str, &str)> = objects.iter().map(|o| (o.key.as_str(), o.kind(), o.name())).collect();
        for want in [
            ("certificatesCrd", "CustomResourceDefinition", "certificates.cert-manager.io"),
            ("certificaterequestsCrd", "CustomResourceDefinition", "certificaterequests.cert-manager.io"),
            ("issuersCrd", "CustomResourceDefinition", "issuers.cert-manager.io"),
            ("clusterissuersCrd", "CustomResourceDefinition", "clusterissuers.cert-manager.io"),
            ("ordersCrd", "CustomResourceDefinition", "orders.acme.cert-manager.io"),
            ("challengesCrd", "CustomResourceDefinition", "challenges.acme.cert-manager.io"),
            ("sa", "ServiceAccount", "cert-manager"),
            ("webhookSa", "ServiceAccount", "cert-manager-webhook"),
            ("cainjectorSa", "ServiceAccount", "cert-manager-cainjector"),
            ("certificatesClusterRole", "ClusterRole", "cert-manager-controller-certificates"),
            ("certificatesClusterRoleBinding", "ClusterRoleBinding", "cert-manager-controller-certificates"),
            ("ingressShimClusterRole", "ClusterRole", "cert-manager-controller-ingress-shim"),
            ("challengesClusterRole", "ClusterRole", "cert-manager-controller-challenges"),
            ("issuersClusterRole", "ClusterRole", "cert-manager-controller-issuers"),
            ("clusterissuersClusterRole", "ClusterRole", "cert-manager-controller-clusterissuers"),
            ("ordersClusterRole", "ClusterRole", "cert-manager-controller-orders"),
            ("editClusterRole", "ClusterRole", "cert-manager-edit"),
            ("viewClusterRole", "ClusterRole", "cert-manager-view"),
            ("leaderelectionRole", "Role", "cert-manager-leaderelection"),
            ("leaderelectionRoleBinding", "RoleBinding", "cert-manager-leaderelection"),
            ("cainjectorClusterRole", "ClusterRole", "cert-manager-cainjector"),
            ("webhookDynamicServingRole", "Role", "cert-manager-webhook-dynamic-serving"),
            ("svc", "Service", "cert-manager"),
            ("webhookSvc", "Service", "cert-manager-webhook"),
            ("cainjectorSvc", "Service", "cert-manager-cainjector"),
            ("deploy", "Deployment", "cert-manager"),
            ("webhookDeploy", "Deployment", "cert-manager-webhook"),
            ("cainjectorDeploy", "Deployment", "cert-manager-cainjector"),
            ("mutatingWebhook", "MutatingWebhookConfiguration", "cert-manager-webhook"),
            ("validatingWebhook", "ValidatingWebhookConfiguration", "cert-manager-webhook"),
            ("letsencryptProd", "ClusterIssuer", "letsencrypt-prod"),
            ("letsencryptStaging", "ClusterIssuer", "letsencrypt-staging"),
        ] {
            assert!(got.contains(&want), "missing {want:?}");
        }
        // Every object has a documented key, and no key is used twice.
        // NetworkPolicies are written by the render from the declared flows, not by build.
        let documented: Vec<&str> =
            CertManager::OBJECTS.iter().filter(|d| d.kind != "NetworkPolicy").map(|d| d.key).collect();
        let mut keys: Vec<&str> = objects.iter().map(|o| o.key.as_str()).collect();
        for k in &keys {
            assert!(documented.contains(k), "`{k}` is not in OBJECTS");
        }
        // The ServiceMonitors are rendered only with `platform.monitoring: operator|both`.
        let monitors = CertManager::OBJECTS.iter().filter(|d| d.kind == "ServiceMonitor").count();
        assert_eq!(monitors, 3);
        assert_eq!(keys.len(), documented.len() - monitors, "every other documented object is rendered by default");
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), objects.len());
        for o in &objects {
            let cluster_scoped = matches!(
                o.kind(),
                "CustomResourceDefinition"
                    | "ClusterRole"
                    | "ClusterRoleBinding"
                    | "MutatingWebhookConfiguration"
                    | "ValidatingWebhookConfiguration"
                    | "ClusterIssuer"
            );
            assert_eq!(o.namespace(), if cluster_scoped { "" } else { "kubeprod" }, "{}", o.key);
            assert_eq!(o.value["metadata"]["labels"]["app.kubernetes.io/managed-by"], "runway", "{}", o.key);
        }
    }

    #[test]
    fn every_object_round_trips() {
        for mut o in build(&CertManagerParams::default()) {
            let before = o.value.clone();
            o.check_round_trip().unwrap_or_else(|e| panic!("{}: {e}", o.key));
            assert_eq!(before, o.value, "{} changed in the round trip", o.key);
        }
    }

    #[test]
    fn all_six_crds_are_rendered_and_round_trip() {
        let objects = build(&CertManagerParams::default());
        let want = [
            ("certificatesCrd", "certificates.cert-manager.io", "Certificate", "Namespaced"),
            ("certificaterequestsCrd", "certificaterequests.cert-manager.io", "CertificateRequest", "Namespaced"),
            ("issuersCrd", "issuers.cert-manager.io", "Issuer", "Namespaced"),
            ("clusterissuersCrd", "clusterissuers.cert-manager.io", "ClusterIssuer", "Cluster"),
            ("ordersCrd", "orders.acme.cert-manager.io", "Order", "Namespaced"),
            ("challengesCrd", "challenges.acme.cert-manager.io", "Challenge", "Namespaced"),
        ];
        assert_eq!(VENDORED.len(), want.len());
        let rendered = objects.iter().filter(|o| o.kind() == "CustomResourceDefinition").count();
        assert_eq!(rendered, want.len());
        for (key, name, kind, scope) in want {
            let mut o = find(&objects, key).clone();
            assert_eq!(o.name(), name, "{key}");
            assert_eq!(o.value["spec"]["names"]["kind"], kind, "{key}");
            assert_eq!(o.value["spec"]["scope"], scope, "{key}");
            let before = o.value.clone();
            o.check_round_trip().unwrap_or_else(|e| panic!("{key}: {e}"));
            assert_eq!(before, o.value, "{key} changed in the round trip");
        }
    }

    #[test]
    fn build_time_json_is_the_vendored_yaml() {
        // build.rs converts with serde_yaml; runway's own YAML reader must agree.
        for v in VENDORED {
            // (build.rs writes schema bounds as floats, as the typed struct holds them.)
            let yaml = runway_core::layer::parse_layer(runway_core::SourceId(0), v.yaml).expect("upstream YAML parses");
            let json: serde_json::Value = serde_json::from_str(v.json).expect("build.rs wrote JSON");
            let typed =
                |x: serde_json::Value| -> CustomResourceDefinition { serde_json::from_value(x).expect("a CRD") };
            assert_eq!(typed(yaml.to_json()), typed(json), "{}", v.file);
        }
    }

    #[test]
    fn vendored_crds_are_upstream_and_structural() {
        let labels = meta::labels(NAME, COMPONENT_LABEL);
        for v in VENDORED {
            let crd = crds::load(v, &labels).unwrap_or_else(|e| panic!("{}: {e}", v.file));
            assert!(v.file.starts_with(&format!("{}_", crd.spec.group)), "{}", v.file);
            assert_eq!(v.key, format!("{}Crd", crd.spec.names.plural));
            assert!(crd.spec.versions.iter().any(|ver| ver.name == "v1" && ver.served && ver.storage), "{}", v.file);
            for ver in &crd.spec.versions {
                let schema = ver.schema.as_ref().and_then(|s| s.open_api_v3_schema.as_ref()).expect("a schema");
                assert_eq!(structural_problem(schema, "openAPIV3Schema"), None, "{}", v.file);
                assert!(schema.properties.as_ref().is_some_and(|p| p.contains_key("spec")), "{}", v.file);
            }
            let ann = crd.metadata.annotations.as_ref().expect("controller-gen annotation");
            assert!(ann.contains_key("controller-gen.kubebuilder.io/version"), "{}", v.file);
            assert_eq!(
                crd.metadata.labels.as_ref().and_then(|l| l.get("app.kubernetes.io/part-of")).map(String::as_str),
                Some("runway")
            );
        }
        // Quoted scalars stay strings (`"True"` is a condition status, not a boolean).
        let objects = build(&CertManagerParams::default());
        let crd = &find(&objects, "certificatesCrd").value;
        let status = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"]
            ["conditions"]["items"]["properties"]["status"]["enum"];
        assert_eq!(status, &serde_json::json!(["True", "False", "Unknown"]));
    }

    #[test]
    fn structural_check_finds_an_untyped_node() {
        let mut schema = JSONSchemaProps { type_: Some("object".into()), ..Default::default() };
        schema.properties = Some(BTreeMap::from([("spec".to_string(), JSONSchemaProps::default())]));
        assert_eq!(structural_problem(&schema, "s").as_deref(), Some("s.spec has no type"));
    }

    #[test]
    fn crds_false_leaves_them_out() {
        let objects = build(&with(|p| p.crds = false));
        assert!(objects.iter().all(|o| o.kind() != "CustomResourceDefinition"));
        assert!(objects.iter().any(|o| o.key == "deploy"));
    }

    #[test]
    fn cluster_issuers_use_the_contact_email_and_the_ingress_class() {
        let mut cx = cx();
        cx.platform.ingress_class = Some("nginx-public".into());
        let objects = CertManager::build(&CertManagerParams::default(), &cx).expect("builds");
        for (key, name, server) in [
            ("letsencryptProd", "letsencrypt-prod", "https://acme-v02.api.letsencrypt.org/directory"),
            ("letsencryptStaging", "letsencrypt-staging", "https://acme-staging-v02.api.letsencrypt.org/directory"),
        ] {
            let o = &find(&objects, key).value;
            assert_eq!(o["apiVersion"], "cert-manager.io/v1");
            let acme = &o["spec"]["acme"];
            assert_eq!(acme["server"], server);
            assert_eq!(acme["email"], "ops@example.com");
            assert_eq!(acme["privateKeySecretRef"]["name"], name);
            assert_eq!(
                acme["solvers"],
                serde_json::json!([{"http01": {"ingress": {"ingressClassName": "nginx-public"}}}])
            );
        }
    }

    #[test]
    fn contact_email_is_optional_but_must_be_an_address() {
        let mut cx = cx();
        cx.config.contact_email = None;
        let objs = CertManager::build(&CertManagerParams::default(), &cx).expect("no email is fine");
        let issuer = objs.iter().find(|o| o.key == "letsencryptProd").expect("issuer");
        assert!(issuer.value["spec"]["acme"].get("email").is_none());
        cx.config.contact_email = Some("ops at example".into());
        let e = CertManager::build(&CertManagerParams::default(), &cx).expect_err("not an address");
        assert_eq!(path_of(&e), "config.contact_email");
        assert!(is_email("a.b+c@mail.example.org"));
        assert!(!is_email("a@localhost") && !is_email("@example.com") && !is_email("a@b@c.com"));
    }

    #[test]
    fn letsencrypt_environment_chooses_the_published_and_default_issuer() {
        for (env, issuer) in [
            (LetsencryptEnvironment::Prod, "letsencrypt-prod"),
            (LetsencryptEnvironment::Staging, "letsencrypt-staging"),
        ] {
            let p = with(|p| p.letsencrypt_environment = env);
            let mut published = Published::default();
            CertManager::publish(&p, &cx(), &mut published);
            assert_eq!(published.tls_issuer.as_deref(), Some(issuer));
            let objects = build(&p);
            let args = args_of(find(&objects, "deploy"));
            assert!(args.contains(&format!("--default-issuer-name={issuer}")), "{args:?}");
            assert!(args.contains(&"--default-issuer-kind=ClusterIssuer".to_string()), "{args:?}");
            // Both issuers exist whichever is chosen.
            assert!(objects.iter().filter(|o| o.kind() == "ClusterIssuer").count() == 2);
        }
        let bad: Result<CertManagerParams, _> =
            serde_json::from_value(serde_json::json!({"letsencrypt_environment": "production"}));
        assert!(bad.is_err());
    }

    #[test]
    fn controller_runs_with_upstream_flags_in_the_runtime_namespace() {
        let objects = build(&CertManagerParams::default());
        let args = args_of(find(&objects, "deploy"));
        for want in [
            "--v=2",
            "--cluster-resource-namespace=$(POD_NAMESPACE)",
            "--leader-election-namespace=$(POD_NAMESPACE)",
            "--acme-http01-solver-image=quay.io/jetstack/cert-manager-acmesolver:v1.21.2",
        ] {
            assert!(args.iter().any(|a| a == want), "{want} not in {args:?}");
        }
        let webhook = args_of(find(&objects, "webhookDeploy"));
        assert!(webhook.contains(&"--dynamic-serving-ca-secret-name=cert-manager-webhook-ca".to_string()));
        assert!(webhook.contains(&"--secure-port=10250".to_string()));
        let cainjector = args_of(find(&objects, "cainjectorDeploy"));
        assert!(cainjector.contains(&"--leader-election-namespace=$(POD_NAMESPACE)".to_string()));
        for (key, image) in [
            ("deploy", DEFAULT_CONTROLLER_IMAGE),
            ("webhookDeploy", DEFAULT_WEBHOOK_IMAGE),
            ("cainjectorDeploy", DEFAULT_CAINJECTOR_IMAGE),
        ] {
            let c = &find(&objects, key).value["spec"]["template"]["spec"]["containers"][0];
            assert_eq!(c["image"], image);
            assert!(image.ends_with(CERT_MANAGER_VERSION));
        }
    }

    #[test]
    fn metrics_are_scraped_on_9402() {
        let objects = build(&CertManagerParams::default());
        for key in ["deploy", "webhookDeploy", "cainjectorDeploy"] {
            let tpl = &find(&objects, key).value["spec"]["template"];
            let a = &tpl["metadata"]["annotations"];
            assert_eq!(a["prometheus.io/scrape"], "true", "{key}");
            assert_eq!(a["prometheus.io/port"], "9402", "{key}");
            assert_eq!(a["prometheus.io/path"], "/metrics", "{key}");
            let ports = &tpl["spec"]["containers"][0]["ports"];
            assert!(
                ports
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|p| p["containerPort"] == 9402 && p["name"] == "http-metrics"),
                "{key}"
            );
        }
    }

    #[test]
    fn webhooks_point_at_the_webhook_service_and_get_the_ca_injected() {
        let objects = build(&CertManagerParams::default());
        for (key, path) in [("mutatingWebhook", "/mutate"), ("validatingWebhook", "/validate")] {
            let o = &find(&objects, key).value;
            assert_eq!(o["apiVersion"], "admissionregistration.k8s.io/v1");
            assert_eq!(o["metadata"]["annotations"][INJECT_CA_FROM_SECRET], "kubeprod/cert-manager-webhook-ca");
            let svc = &o["webhooks"][0]["clientConfig"]["service"];
            assert_eq!(svc["name"], "cert-manager-webhook");
            assert_eq!(svc["namespace"], "kubeprod");
            assert_eq!(svc["path"], path);
            assert_eq!(o["webhooks"][0]["sideEffects"], "None");
        }
        let svc = &find(&objects, "webhookSvc").value["spec"]["ports"][0];
        assert_eq!(svc["port"], 443);
        assert_eq!(svc["targetPort"], "https");
        // The webhook may read and update only its own CA Secret.
        let role = &find(&objects, "webhookDynamicServingRole").value["rules"][0];
        assert_eq!(role["resourceNames"], serde_json::json!(["cert-manager-webhook-ca"]));
    }

    #[test]
    fn service_selectors_match_pod_templates() {
        let objects = build(&CertManagerParams::default());
        for (svc, deploy) in [("svc", "deploy"), ("webhookSvc", "webhookDeploy"), ("cainjectorSvc", "cainjectorDeploy")]
        {
            let selector = find(&objects, svc).value["spec"]["selector"].as_object().cloned().unwrap_or_default();
            let d = &find(&objects, deploy).value;
            let labels = &d["spec"]["template"]["metadata"]["labels"];
            assert!(!selector.is_empty() && selector.iter().all(|(k, v)| &labels[k] == v), "{svc}");
            assert_eq!(d["spec"]["selector"]["matchLabels"], serde_json::Value::Object(selector), "{deploy}");
            // Every Service port targets a named container port.
            let ports = &d["spec"]["template"]["spec"]["containers"][0]["ports"];
            for p in find(&objects, svc).value["spec"]["ports"].as_array().into_iter().flatten() {
                assert!(ports.as_array().into_iter().flatten().any(|cp| cp["name"] == p["targetPort"]), "{svc}");
            }
        }
    }

    #[test]
    fn bindings_name_rendered_roles_and_service_accounts() {
        let objects = build(&CertManagerParams::default());
        for o in objects.iter().filter(|o| o.kind().ends_with("Binding")) {
            let role_kind = o.value["roleRef"]["kind"].as_str().unwrap_or("");
            let role_name = &o.value["roleRef"]["name"];
            assert!(
                objects.iter().any(|r| r.kind() == role_kind && &r.value["metadata"]["name"] == role_name),
                "{}",
                o.key
            );
            let sa = &o.value["subjects"][0]["name"];
            assert!(
                objects.iter().any(|s| s.kind() == "ServiceAccount" && &s.value["metadata"]["name"] == sa),
                "{}",
                o.key
            );
        }
        // The user-facing roles aggregate into the built-in ones, as upstream's.
        let view = &find(&objects, "viewClusterRole").value["metadata"]["labels"];
        assert_eq!(view["rbac.authorization.k8s.io/aggregate-to-view"], "true");
        assert!(find(&objects, "editClusterRole").value["metadata"]["labels"]
            .get("rbac.authorization.k8s.io/aggregate-to-view")
            .is_none());
    }

    #[test]
    fn every_container_is_locked_down_with_requests_and_limits() {
        let objects = build(&CertManagerParams::default());
        for o in objects.iter().filter(|o| o.kind() == "Deployment") {
            let pod = &o.value["spec"]["template"]["spec"];
            assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{}", o.key);
            assert_eq!(pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault", "{}", o.key);
            assert_eq!(pod["serviceAccountName"], o.name(), "{}", o.key);
            let c = &pod["containers"][0];
            assert!(c["resources"]["requests"]["memory"].is_string(), "{}", o.key);
            assert!(c["resources"]["limits"]["memory"].is_string(), "{}", o.key);
            assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true, "{}", o.key);
            assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false, "{}", o.key);
            assert_eq!(c["securityContext"]["capabilities"]["drop"], serde_json::json!(["ALL"]), "{}", o.key);
        }
    }

    #[test]
    fn bad_parameters_are_errors_with_their_path() {
        let cases: Vec<(CertManagerParams, &str)> = vec![
            (with(|p| p.replicas = 0), "cert_manager.replicas"),
            (with(|p| p.webhook_replicas = 0), "cert_manager.webhook_replicas"),
            (with(|p| p.log_level = 42), "cert_manager.log_level"),
            (with(|p| p.webhook_image = "quay.io/jetstack/x y".into()), "cert_manager.webhook_image"),
            (with(|p| p.resources = Resources::new("10m", "1Gi", None, "512Mi")), "cert_manager.resources"),
        ];
        for (p, want) in cases {
            let e = CertManager::build(&p, &cx()).expect_err(want);
            assert_eq!(path_of(&e), want);
            assert!(!e.helps().is_empty() || want.ends_with("log_level") || want.ends_with("image"), "{want}: {e}");
        }
    }

    fn stack() -> Stack {
        let mut s = Stack::new();
        s.platform("gke", "test").expect("gke platform");
        s.set("config.dns_zone=example.com", false).expect("set");
        s.set("config.contact_email=ops@example.com", false).expect("set");
        s
    }

    #[test]
    fn cluster_issuers_pass_their_crd_schema() {
        for crds in ["true", "false"] {
            let mut s = stack();
            s.set(&format!("cert_manager.crds={crds}"), false).expect("set");
            let r = s.render(&[&CertManager]).unwrap_or_else(|e| panic!("crds={crds}: {}", e.render()));
            assert_eq!(r.objects.iter().filter(|o| o.kind() == "ClusterIssuer").count(), 2);
        }
    }

    #[test]
    fn a_broken_cluster_issuer_patch_fails_at_its_line_and_column() {
        // With the CRDs rendered, and with them supplied as known CRDs (`crds: false`).
        for crds in ["true", "false"] {
            let mut s = stack();
            s.set(&format!("cert_manager.crds={crds}"), false).expect("set");
            let text = "cert_manager:\n  letsencryptProd:\n    spec:\n      acme:\n        skipTLSVerify: \"yes\"\n";
            s.layer("broken.yaml", SourceKind::File, text).expect("layer");
            let e = s.render(&[&CertManager]).expect_err("a string where the CRD wants a boolean");
            let msg = e.render();
            assert!(
                msg.starts_with("error: broken.yaml:5:24: cert_manager.letsencryptProd.spec.acme.skipTLSVerify: does not match the schema of CRD `clusterissuers.cert-manager.io` (v1)"),
                "crds={crds}: {msg}"
            );
            assert!(msg.contains("note: in ClusterIssuer letsencrypt-prod"), "{msg}");
        }
    }

    #[test]
    fn full_render_passes_reference_checks() {
        let s = stack();
        let r = s.render(&[&CertManager]).unwrap_or_else(|e| panic!("{}", e.error()));
        assert!(r.objects.iter().any(|o| o.kind() == "ClusterIssuer" && o.name() == "letsencrypt-prod"));
        // CRDs sort before the objects that use them.
        let first_crd = r.objects.iter().position(|o| o.kind() == "CustomResourceDefinition").expect("crds");
        let first_issuer = r.objects.iter().position(|o| o.kind() == "ClusterIssuer").expect("issuers");
        assert!(first_crd < first_issuer);
        // Deterministic.
        let again = s.render(&[&CertManager]).unwrap_or_else(|e| panic!("{}", e.error()));
        assert_eq!(r.to_yaml(), again.to_yaml());
    }

    #[test]
    fn seed_override_staging_makes_ingresses_use_letsencrypt_staging() {
        // BKPR's "Override Let's Encrypt Environment" example, from overrides/.
        let text = include_str!("../../../../overrides/cert_manager-staging.yaml");
        let users = "oauth2_proxy:\n  email_domains: [example.com]\n";
        let mut s = stack();
        s.layer("users.yaml", SourceKind::File, users).expect("parses");
        s.layer("overrides/cert_manager-staging.yaml", SourceKind::File, text).expect("parses");
        let r =
            s.render(&[&CertManager, &crate::oauth2_proxy::Oauth2Proxy]).unwrap_or_else(|e| panic!("{}", e.error()));
        let deploy = r.objects.iter().find(|o| o.kind() == "Deployment" && o.name() == "cert-manager").expect("deploy");
        assert!(args_of(deploy).contains(&"--default-issuer-name=letsencrypt-staging".to_string()));
        // The Ingresses of the other components ask the staging issuer for certificates.
        let ingress = r.objects.iter().find(|o| o.kind() == "Ingress").expect("oauth2-proxy's Ingress");
        assert_eq!(ingress.value["metadata"]["annotations"][CLUSTER_ISSUER_ANNOTATION], "letsencrypt-staging");
        // Without the override, production.
        let mut s = stack();
        s.layer("users.yaml", SourceKind::File, users).expect("parses");
        let r =
            s.render(&[&CertManager, &crate::oauth2_proxy::Oauth2Proxy]).unwrap_or_else(|e| panic!("{}", e.error()));
        let ingress = r.objects.iter().find(|o| o.kind() == "Ingress").expect("oauth2-proxy's Ingress");
        assert_eq!(ingress.value["metadata"]["annotations"][CLUSTER_ISSUER_ANNOTATION], "letsencrypt-prod");
    }

    #[test]
    fn tls_auth_and_dns_render_together_on_every_platform() {
        let cluster = "config:\n  cloud:\n    gcp_project: p\n    aws_region: eu-west-1\n    azure_tenant_id: t\n\
                       oauth2_proxy:\n  email_domains: [example.com]\n  oidc_issuer_url: https://id.example.com/realms/runway\n";
        for platform in ["gke", "eks", "aks", "onprem"] {
            let mut s = Stack::new();
            s.platform(platform, "test").expect("platform");
            s.set("config.dns_zone=example.com", false).expect("set");
            s.set("config.contact_email=ops@example.com", false).expect("set");
            s.layer("cluster.yaml", SourceKind::File, cluster).expect("layer");
            let components: [&dyn crate::ErasedComponent; 3] =
                [&CertManager, &crate::oauth2_proxy::Oauth2Proxy, &crate::external_dns::ExternalDns];
            let r = s.render(&components).unwrap_or_else(|e| panic!("{platform}: {}", e.error()));
            let ingress = r.objects.iter().find(|o| o.kind() == "Ingress").expect("ingress");
            assert_eq!(ingress.value["metadata"]["annotations"][CLUSTER_ISSUER_ANNOTATION], "letsencrypt-prod");
            assert!(r.objects.iter().any(|o| o.name() == "external-dns"), "{platform}");
        }
    }
}
