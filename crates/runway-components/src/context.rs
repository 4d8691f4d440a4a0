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
    /// Annotations for `LoadBalancer` Services (internal/external, health checks).
    pub load_balancer_annotations: BTreeMap<String, String>,
    /// The IngressClass name ingresses use. Default: `nginx`.
    pub ingress_class: String,
    /// The DNS provider external-dns writes to (`google`, `aws`, `azure`, `rfc2136`, `pdns`,
    /// or `none`). Default: `none`.
    pub dns_provider: String,
    /// The OAuth provider oauth2-proxy authenticates against (`google`, `azure`,
    /// `github`, `oidc`). Default: `oidc`.
    pub oauth_provider: String,
}

impl Default for Platform {
    fn default() -> Self {
        Platform {
            name: "generic".into(),
            cloud: Cloud::None,
            storage_class: None,
            storage_classes: Vec::new(),
            zone_label: "topology.kubernetes.io/zone".into(),
            load_balancer_annotations: BTreeMap::new(),
            ingress_class: "nginx".into(),
            dns_provider: "none".into(),
            oauth_provider: "oidc".into(),
        }
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
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig { dns_zone: None, contact_email: None, namespace: "kubeprod".into() }
    }
}

/// Everything a component's `build` may look at besides its own parameters.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Context {
    /// Platform facts.
    pub platform: Platform,
    /// Cluster facts.
    pub config: ClusterConfig,
}

impl Context {
    /// The namespace objects go into.
    pub fn namespace(&self) -> &str {
        &self.config.namespace
    }

    /// The storage class for a claim, `None` for the cluster default.
    pub fn storage_class(&self) -> Option<&str> {
        self.platform.storage_class.as_deref()
    }
}
