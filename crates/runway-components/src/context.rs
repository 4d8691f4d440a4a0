//! The facts a component builds against: the platform (cloud, storage, zones, load
//! balancers, DNS and OAuth providers, ingress class) and the cluster configuration
//! (DNS zone, contact email, namespace). Both are layers' `platform:` and `config:` blocks,
//! merged like everything else and read into these types.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The cloud a platform runs on; picks provider-specific settings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Cloud {
    /// Amazon Web Services (EKS).
    Aws,
    /// Google Cloud (GKE).
    Gcp,
    /// Microsoft Azure (AKS).
    Azure,
    /// No cloud: bare metal, k3s, kind.
    #[default]
    None,
}

/// The ingress controller that serves the runtime's Ingresses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum IngressController {
    /// ingress-nginx (`nginx_ingress`, BKPR's): external auth through `auth-url` annotations.
    #[default]
    Nginx,
    /// Traefik (`traefik`), as k3s ships: external auth through a forwardAuth middleware.
    Traefik,
}

impl IngressController {
    /// Its name in layers and the default IngressClass name (`nginx`, `traefik`).
    pub fn name(self) -> &'static str {
        match self {
            IngressController::Nginx => "nginx",
            IngressController::Traefik => "traefik",
        }
    }
}

/// The `platform:` block: what differs between aks, eks, gke, onprem and kind.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Platform {
    /// The platform's name (`gke`). Set by the platform base.
    pub name: String,
    /// The cloud. Default: `none`.
    pub cloud: Cloud,
    /// Storage class for persistent volumes; `null` uses the cluster's default class.
    /// Default: `null`.
    pub storage_class: Option<String>,
    /// Storage classes known to exist on the platform (claims must use one of them).
    pub storage_classes: Vec<String>,
    /// Node label that holds the zone. Default: `topology.kubernetes.io/zone`.
    pub zone_label: String,
    /// The zones the cluster's nodes run in (`[europe-west1-b, europe-west1-c]`), for
    /// storage classes' allowed topologies; empty means any zone. Default: `[]`.
    pub zones: Vec<String>,
    /// The CSI provisioner of the platform's block storage (`pd.csi.storage.gke.io`,
    /// `ebs.csi.aws.com`, `disk.csi.azure.com`, `driver.longhorn.io`), for storage
    /// classes runway renders itself. Default: `null`.
    pub provisioner: Option<String>,
    /// Annotations for `LoadBalancer` Services (internal/external, health checks).
    pub load_balancer_annotations: BTreeMap<String, String>,
    /// The ingress controller: `nginx` or `traefik`. It chooses which controller component
    /// renders (the other one only when a layer or stack enables it) and how every
    /// component's Ingress asks for TLS and authentication. Default: `nginx`.
    pub ingress_controller: IngressController,
    /// The IngressClass name Ingresses use; `null` names it after the controller (`nginx`
    /// or `traefik`). Default: `null`.
    pub ingress_class: Option<String>,
    /// The DNS provider external-dns writes to (`google`, `aws`, `azure`, `rfc2136`, `pdns`,
    /// or `none`). Default: `none`.
    pub dns_provider: String,
    /// The OAuth provider oauth2-proxy authenticates against (`google`, `azure`,
    /// `github`, `oidc`). Default: `oidc`.
    pub oauth_provider: String,
    /// Components switched on or off on this platform (`{keycloak: true}`), over each
    /// component's own default; a stack's `components:` list overrides all of it.
    pub components: BTreeMap<String, bool>,
    /// How Prometheus finds the components' metrics: `annotations` (`prometheus.io/*` pod
    /// annotations, read by BKPR's Prometheus), `operator` (ServiceMonitor, PodMonitor and
    /// PrometheusRule objects for a Prometheus Operator such as kube-prometheus-stack) or
    /// `both` (while moving from one to the other). Default: `annotations`.
    pub monitoring: MonitoringMode,
    /// Labels on every ServiceMonitor, PodMonitor and PrometheusRule, which the Prometheus
    /// Operator's `serviceMonitorSelector`, `podMonitorSelector` and `ruleSelector` match.
    /// Default: `{release: kube-prometheus-stack}` (what a kube-prometheus-stack Helm
    /// release of that name selects on).
    pub monitor_labels: BTreeMap<String, String>,
}

/// How Prometheus finds the components' metrics endpoints (`platform.monitoring`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MonitoringMode {
    /// `prometheus.io/scrape|port|path` pod annotations, which BKPR's Prometheus reads.
    #[default]
    Annotations,
    /// ServiceMonitor / PodMonitor / PrometheusRule objects for the Prometheus Operator;
    /// no scrape annotations.
    Operator,
    /// Both at once.
    Both,
}

impl MonitoringMode {
    /// True when pods carry the `prometheus.io/*` annotations.
    pub fn annotations(self) -> bool {
        matches!(self, MonitoringMode::Annotations | MonitoringMode::Both)
    }

    /// True when the Prometheus Operator's objects are rendered.
    pub fn operator(self) -> bool {
        matches!(self, MonitoringMode::Operator | MonitoringMode::Both)
    }
}

impl Default for Platform {
    fn default() -> Self {
        Platform {
            name: "generic".into(),
            cloud: Cloud::None,
            storage_class: None,
            storage_classes: Vec::new(),
            zone_label: "topology.kubernetes.io/zone".into(),
            zones: Vec::new(),
            provisioner: None,
            load_balancer_annotations: BTreeMap::new(),
            ingress_controller: IngressController::Nginx,
            ingress_class: None,
            dns_provider: "none".into(),
            oauth_provider: "oidc".into(),
            components: BTreeMap::new(),
            monitoring: MonitoringMode::Annotations,
            monitor_labels: BTreeMap::from([("release".to_string(), "kube-prometheus-stack".to_string())]),
        }
    }
}

impl Platform {
    /// The IngressClass name: `ingress_class`, or the controller's name when unset.
    pub fn ingress_class_name(&self) -> &str {
        self.ingress_class.as_deref().unwrap_or(self.ingress_controller.name())
    }
}

/// The `config:` block: facts about this cluster (BKPR's `kubeprod-autogen.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterConfig {
    /// DNS zone under which UIs are published (`kibana.<dns_zone>`). Default: `null`.
    pub dns_zone: Option<String>,
    /// Contact email for Let's Encrypt and alerts. Default: `null`.
    pub contact_email: Option<String>,
    /// Namespace of the runtime. Default: `kubeprod` (BKPR's, so installs are adopted).
    pub namespace: String,
    /// Cloud account facts (project, region, resource group) for DNS and identity.
    pub cloud: CloudIds,
    /// A registry every image is pulled through (`mirror.example.com` or
    /// `mirror.example.com/cache`), for air-gapped clusters. Default: `null`.
    pub registry_mirror: Option<String>,
    /// Namespaces of single components, over `namespace` (`{grafana: monitoring,
    /// sdc_mysql: storage}`): the component's objects go there, and what it publishes
    /// (its Service) names that namespace. Default: `{}`.
    pub namespaces: BTreeMap<String, String>,
    /// Render NetworkPolicies: per namespace a `default-deny`, per workload exactly the
    /// flows the stack declares (see `runway_components::network`). Default: `true`.
    pub network_policies: bool,
}

/// Cloud account facts; each is needed only on its cloud.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct CloudIds {
    /// GCP project that holds the DNS zone (gke). Default: `null`.
    pub gcp_project: Option<String>,
    /// AWS region (eks). Default: `null`.
    pub aws_region: Option<String>,
    /// Azure resource group of the DNS zone (aks). Default: `null`.
    pub azure_resource_group: Option<String>,
    /// Azure subscription id (aks). Default: `null`.
    pub azure_subscription_id: Option<String>,
    /// Azure tenant id (aks). Default: `null`.
    pub azure_tenant_id: Option<String>,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            dns_zone: None,
            contact_email: None,
            namespace: "kubeprod".into(),
            cloud: CloudIds::default(),
            registry_mirror: None,
            namespaces: BTreeMap::new(),
            network_policies: true,
        }
    }
}

/// A Service another component talks to (`elasticsearch-logging-client.kubeprod:9200`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceRef {
    /// Service name.
    pub name: String,
    /// Its namespace.
    pub namespace: String,
    /// The port to use.
    pub port: u16,
}

impl ServiceRef {
    /// `http://NAME.NAMESPACE.svc:PORT`.
    pub fn http_url(&self) -> String {
        format!("http://{}.{}.svc:{}", self.name, self.namespace, self.port)
    }

    /// `NAME.NAMESPACE.svc`.
    pub fn host(&self) -> String {
        format!("{}.{}.svc", self.name, self.namespace)
    }
}

/// Where oauth2-proxy answers, for the `auth-url`/`auth-signin` annotations of UIs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthRef {
    /// URL nginx calls to check a request (`https://auth.ZONE/oauth2/auth`).
    pub auth_url: String,
    /// URL a browser is sent to for login (`https://auth.ZONE/oauth2/start?rd=...`).
    pub signin_url: String,
}

/// The ingress controller that renders, for components that refer to its pods (a
/// NetworkPolicy admitting it) or its class.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IngressControllerRef {
    /// Which controller it is.
    pub controller: IngressController,
    /// The namespace its pods run in.
    pub namespace: String,
    /// The labels that select its pods.
    pub selector: BTreeMap<String, String>,
    /// The IngressClass it serves.
    pub class: String,
}

/// Facts that components publish for each other before any of them builds (BKPR wired
/// components together in the platform file: `fluentd_es { es:: $.elasticsearch }`).
/// Each field is `None` when the component that publishes it is not rendered.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Published {
    /// The Elasticsearch client Service (fluentd writes to it, Kibana reads it).
    pub elasticsearch: Option<ServiceRef>,
    /// The Prometheus Service (Grafana's datasource).
    pub prometheus: Option<ServiceRef>,
    /// The Alertmanager Service (Prometheus sends alerts to it).
    pub alertmanager: Option<ServiceRef>,
    /// The ClusterIssuer that Ingresses request certificates from (cert-manager).
    pub tls_issuer: Option<String>,
    /// oauth2-proxy's endpoints, for UIs without their own login.
    pub auth: Option<AuthRef>,
    /// oauth2-proxy's Service inside the cluster, which Traefik's forwardAuth middleware
    /// asks (published by oauth2_proxy).
    pub auth_service: Option<ServiceRef>,
    /// The ingress controller that serves `platform.ingress_controller` (published by
    /// nginx_ingress or traefik, whichever matches it).
    pub ingress_controller: Option<IngressControllerRef>,
    /// The OpenID Connect issuer a rendered identity provider serves (keycloak), which
    /// oauth2-proxy uses when its own `oidc_issuer_url` is unset.
    pub oidc_issuer: Option<String>,
    /// The Grafana dashboards of the rendered components with metrics, which the grafana
    /// component provisions (`grafana.builtin_dashboards`).
    pub dashboards: Vec<crate::grafana::BuiltinDashboard>,
    /// The storage class every claim uses instead of `platform.storage_class`, published
    /// by a storage component (`longhorn`).
    pub storage_class: Option<String>,
}

/// Secret values given at render time (`--secrets-file`), never in a layer: component
/// name to key to value (`oauth2_proxy: {client_secret: ...}`). A component renders a
/// Secret from them when they are given, and references an existing Secret when not.
pub type Secrets = BTreeMap<String, BTreeMap<String, String>>;

/// Everything a component's `build` may look at besides its own parameters.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Context {
    /// Secret values from `--secrets-file`, by component.
    pub secrets: Secrets,
    /// Platform facts.
    pub platform: Platform,
    /// Cluster facts.
    pub config: ClusterConfig,
    /// What the other rendered components published.
    pub published: Published,
    /// Object keys that a layer removes (`kibana: {ingress: null}`), by component: a
    /// component skips building them, so what they need (a DNS zone, oauth2-proxy) is not
    /// required either.
    pub omitted: BTreeMap<String, std::collections::BTreeSet<String>>,
}

impl Context {
    /// The namespace objects go into.
    pub fn namespace(&self) -> &str {
        &self.config.namespace
    }

    /// The DNS name `SUB.<dns_zone>`, or an error naming `config.dns_zone` when it is unset.
    pub fn host(&self, sub: &str, component: &str) -> Result<String, runway_core::Error> {
        match &self.config.dns_zone {
            Some(zone) => Ok(format!("{sub}.{zone}")),
            None => Err(runway_core::Error::invalid(format!(
                "`{component}` publishes `{sub}.<dns_zone>` but `config.dns_zone` is not set"
            ))
            .with_path(runway_core::KeyPath::root().key("config").key("dns_zone"))
            .help("set it in a layer (`config: {dns_zone: example.com}`) or with `--set config.dns_zone=example.com`")),
        }
    }

    /// True when a layer removes object `key` of `component` (`key: null`).
    pub fn omits(&self, component: &str, key: &str) -> bool {
        self.omitted.get(component).is_some_and(|k| k.contains(key))
    }

    /// The secret values given for `component`, if any.
    pub fn secrets_of(&self, component: &str) -> Option<&BTreeMap<String, String>> {
        self.secrets.get(component)
    }

    /// The context of `component`: the same, with `config.namespace` replaced by the
    /// component's entry in `config.namespaces` when it has one.
    pub fn for_component(&self, component: &str) -> std::borrow::Cow<'_, Context> {
        match self.config.namespaces.get(component) {
            Some(ns) if *ns != self.config.namespace => {
                let mut cx = self.clone();
                cx.config.namespace = ns.clone();
                std::borrow::Cow::Owned(cx)
            }
            _ => std::borrow::Cow::Borrowed(self),
        }
    }

    /// The storage class for a claim: the one a storage component publishes (`longhorn`),
    /// else `platform.storage_class`; `None` for the cluster default.
    pub fn storage_class(&self) -> Option<&str> {
        self.published.storage_class.as_deref().or(self.platform.storage_class.as_deref())
    }
}
