//! Parameters of the Sysdig custom metrics adapter and their validation.

use runway_core::{Error, KeyPath};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::pod::Resources;
use crate::sdc;

/// The adapter image: the tag draios/kubernetes-sysdig-metrics-apiserver's own manifest
/// (`deploy/02-sysdig-metrics-server.yml`) deploys, Sysdig Labs' build of k8s-sysdig-adapter.
pub const DEFAULT_IMAGE: &str = "sysdiglabs/kubernetes-sysdig-metrics-apiserver:0.1.0";

/// The custom metrics API adapter for Sysdig.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SysdigMetricsAdapterParams {
    /// The adapter image. Default: `sysdiglabs/kubernetes-sysdig-metrics-apiserver:0.1.0`.
    pub image: String,
    /// The Sysdig API the adapter reads metrics from (`SDC_ENDPOINT`), ending in `/api/`.
    /// Default: `https://sdc-api.sysdigcloud.svc/api/` (the on-prem backend's Service);
    /// `https://app.sysdigcloud.com/api/` for Sysdig's SaaS.
    pub sysdig_api_endpoint: String,
    /// The PEM CA certificate that signed the Sysdig API's certificate, when the system
    /// roots do not (the on-prem backend's own certificate, `sysdigcloud-ssl-secret`, whose
    /// names must include the endpoint's host). Rendered into the ConfigMap
    /// `sysdig-api-ca` and given to the adapter as `SSL_CERT_FILE`. Default: `null`.
    pub sysdig_api_ca: Option<String>,
    /// The cluster's name in Sysdig (`CLUSTER_NAME`, read by adapter v0.2 and later).
    /// Default: `null`.
    pub cluster_name: Option<String>,
    /// The PEM CA bundle the API server verifies the adapter's serving certificate with
    /// (the APIService's `caBundle`). The certificate and key come from the secrets file
    /// (`sysdig_metrics_adapter.tls-crt`, `tls-key`) or the Secret `tls_secret`, and must
    /// name `api.custom-metrics.svc`. One of this and `insecure_skip_tls_verify` is
    /// required. Default: `null`.
    pub ca_bundle: Option<String>,
    /// Let the API server skip verifying the adapter's certificate (the seed's setting):
    /// the adapter then makes itself a self-signed one. Anyone who can answer for the
    /// Service `api.custom-metrics` could feed autoscalers; prefer `ca_bundle`.
    /// Default: `false`.
    pub insecure_skip_tls_verify: bool,
    /// The `kubernetes.io/tls` Secret with the serving certificate (`ca_bundle` mode).
    /// Default: `custom-metrics-apiserver-tls`.
    pub tls_secret: String,
    /// Adapter pods. Default: `1`.
    pub replicas: u32,
    /// Requests and limits. Default: requests `cpu: 50m, memory: 64Mi`, limits `memory: 256Mi`.
    pub resources: Resources,
    /// klog verbosity (`--v`); the seed's 10 logs every request. Default: `2`.
    pub log_level: u8,
}

impl Default for SysdigMetricsAdapterParams {
    fn default() -> Self {
        SysdigMetricsAdapterParams {
            image: DEFAULT_IMAGE.into(),
            sysdig_api_endpoint: format!("https://{}.{}.svc/api/", crate::sdc_backend::API, sdc::NAMESPACE),
            sysdig_api_ca: None,
            cluster_name: None,
            ca_bundle: None,
            insecure_skip_tls_verify: false,
            tls_secret: "custom-metrics-apiserver-tls".into(),
            replicas: 1,
            resources: Resources::new("50m", "64Mi", None, "256Mi"),
            log_level: 2,
        }
    }
}

fn at(key: &str) -> KeyPath {
    KeyPath::root().key("sysdig_metrics_adapter").key(key)
}

/// True for PEM text holding at least one certificate.
pub(crate) fn is_pem_certificate(s: &str) -> bool {
    let s = s.trim();
    s.starts_with("-----BEGIN CERTIFICATE-----") && s.contains("-----END CERTIFICATE-----")
}

impl SysdigMetricsAdapterParams {
    /// Checks every parameter; the first problem is returned with its key path.
    pub fn validate(&self) -> Result<(), Error> {
        if self.image.is_empty() || self.image.chars().any(char::is_whitespace) || !self.image.contains(':') {
            return Err(Error::invalid(format!("`{}` is not a tagged image reference", self.image))
                .help(format!("write `repository:tag`, e.g. `{DEFAULT_IMAGE}`"))
                .with_path(at("image")));
        }
        let e = &self.sysdig_api_endpoint;
        if !(e.starts_with("https://") || e.starts_with("http://")) || !e.ends_with('/') || e.contains(' ') {
            return Err(Error::invalid(format!("`{e}` is not the Sysdig API's base URL"))
                .help("write the URL with its trailing slash, e.g. `https://app.sysdigcloud.com/api/`")
                .with_path(at("sysdig_api_endpoint")));
        }
        match (&self.ca_bundle, self.insecure_skip_tls_verify) {
            (None, false) => {
                return Err(Error::invalid(
                    "the API server must verify the adapter's certificate or be told not to",
                )
                .help("set `ca_bundle` to the PEM CA that signed the adapter's certificate (its Secret `tls_secret` must exist or be in the secrets file)")
                .help("or set `insecure_skip_tls_verify: true` to accept the adapter's self-signed certificate, as the seed did")
                .with_path(at("ca_bundle")))
            }
            (Some(_), true) => {
                return Err(Error::invalid("`ca_bundle` and `insecure_skip_tls_verify` exclude each other")
                    .help("remove `insecure_skip_tls_verify` to verify with the CA bundle")
                    .with_path(at("insecure_skip_tls_verify")))
            }
            (Some(pem), false) if !is_pem_certificate(pem) => {
                return Err(Error::invalid("`ca_bundle` is not a PEM certificate")
                    .help("paste the CA's PEM text, from `-----BEGIN CERTIFICATE-----` to `-----END CERTIFICATE-----`")
                    .with_path(at("ca_bundle")))
            }
            _ => {}
        }
        if self.sysdig_api_ca.as_deref().is_some_and(|pem| !is_pem_certificate(pem)) {
            return Err(Error::invalid("`sysdig_api_ca` is not a PEM certificate")
                .help("paste the CA's PEM text, from `-----BEGIN CERTIFICATE-----` to `-----END CERTIFICATE-----`")
                .with_path(at("sysdig_api_ca")));
        }
        if self.cluster_name.as_deref().is_some_and(|n| n.trim().is_empty()) {
            return Err(Error::invalid("`cluster_name` is empty")
                .help("give the cluster's name as Sysdig shows it, or remove the key")
                .with_path(at("cluster_name")));
        }
        if !runway_core::names::is_dns_subdomain(&self.tls_secret) {
            return Err(Error::invalid(format!("`{}` is not a Secret name", self.tls_secret))
                .help("use lowercase letters, digits, `-` and `.`")
                .with_path(at("tls_secret")));
        }
        if self.replicas == 0 || i32::try_from(self.replicas).is_err() {
            return Err(Error::invalid("replicas must be at least 1")
                .help("the custom metrics API is down without an adapter: HPAs on its metrics stop scaling")
                .with_path(at("replicas")));
        }
        if self.log_level > 10 {
            return Err(Error::invalid(format!("log level {} is above klog's 10", self.log_level))
                .help("use 2 for normal operation, up to 10 to log every request")
                .with_path(at("log_level")));
        }
        self.resources
            .check()
            .map_err(|msg| Error::invalid(msg).help("raise the limit or lower the request").with_path(at("resources")))
    }
}
