//! Parameters of the Traefik ingress controller and their validation.
//!
//! Validation runs at the start of `build`; every error names its key path
//! (`traefik.replicas`) and says how to fix it.

use runway_core::{Error, KeyPath};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::pod::Resources;

/// The Traefik image: the official image's v3.7.9 tag (Docker's official-images library
/// published it with v3.6.24 in July 2026, docker-library/official-images#21924).
pub const DEFAULT_IMAGE: &str = "docker.io/library/traefik:v3.7.9";

/// How the controller pods are run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Workload {
    /// A Deployment of `replicas` pods behind the load balancer, with a disruption budget.
    #[default]
    Deployment,
    /// A DaemonSet: one pod on every node (k3s's klipper-lb style, or a node-local
    /// `externalTrafficPolicy: Local` load balancer that should reach every node).
    Daemonset,
}

/// The Traefik ingress controller (`platform.ingress_controller: traefik`).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct TraefikParams {
    /// `deployment` (key `deploy`) or `daemonset` (key `daemonset`). Default: `deployment`.
    pub workload: Workload,
    /// Pods of the Deployment; at least 2 so that one can restart while the other serves.
    /// Ignored for a DaemonSet. Default: `2`.
    pub replicas: u32,
    /// The image. Default: `docker.io/library/traefik:v3.7.9`.
    pub image: String,
    /// Requests and limits of the controller. No CPU limit: throttling a proxy adds
    /// latency to every request. Default: requests `cpu: 100m, memory: 128Mi`, limits
    /// `memory: 512Mi`.
    pub resources: Resources,
    /// Makes the IngressClass the cluster's default, and lets Traefik serve Ingresses that
    /// name no class (as nginx's `default_class`). Default: `true`.
    pub default_class: bool,
    /// Access logs on standard output (one line per request). Default: `true`.
    pub access_log: bool,
    /// The dashboard: off by default; when on, served only through an Ingress behind
    /// oauth2-proxy, never through Traefik's insecure API. Its objects are patched under
    /// it: `dashboard: {svc: ..., ingress: ...}`.
    pub dashboard: DashboardParams,
}

/// Traefik's dashboard.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct DashboardParams {
    /// Render the dashboard's Service and Ingress. Default: `false`.
    pub enabled: bool,
    /// Host label under the DNS zone (`traefik` gives `https://traefik.<dns_zone>/dashboard/`).
    /// Default: `traefik`.
    pub host_label: String,
}

impl Default for TraefikParams {
    fn default() -> Self {
        TraefikParams {
            workload: Workload::Deployment,
            replicas: 2,
            image: DEFAULT_IMAGE.into(),
            resources: Resources::new("100m", "128Mi", None, "512Mi"),
            default_class: true,
            access_log: true,
            dashboard: DashboardParams::default(),
        }
    }
}

impl Default for DashboardParams {
    fn default() -> Self {
        DashboardParams { enabled: false, host_label: "traefik".into() }
    }
}

/// `traefik.<key>`.
fn at(key: &str) -> KeyPath {
    KeyPath::root().key("traefik").key(key)
}

impl TraefikParams {
    /// Checks every parameter; the first problem is returned with its key path.
    pub fn validate(&self) -> Result<(), Error> {
        if self.workload == Workload::Deployment && (self.replicas == 0 || i32::try_from(self.replicas).is_err()) {
            return Err(Error::invalid(format!("replicas `{}` is out of range", self.replicas))
                .help("run at least 2 controllers, so that one can restart while the other serves")
                .with_path(at("replicas")));
        }
        crate::images::check_image(&self.image, DEFAULT_IMAGE, at("image"))?;
        self.resources.check().map_err(|msg| {
            Error::invalid(msg).help("raise the limit or lower the request").with_path(at("resources"))
        })?;
        if !runway_core::names::is_dns_label(&self.dashboard.host_label) {
            return Err(Error::invalid(format!("`{}` is not a DNS label", self.dashboard.host_label))
                .help("use lowercase letters, digits and `-`, e.g. `traefik`")
                .with_path(at("dashboard").key("host_label")));
        }
        Ok(())
    }
}
