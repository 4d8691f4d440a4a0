//! Parameters of cert-manager and their validation.
//!
//! Validation runs at the start of `build`; every error names its key path
//! (`cert_manager.replicas`) and says how to fix it.

use runway_core::{Error, KeyPath};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::pod::Resources;

/// The cert-manager release every image is pinned to.
pub const CERT_MANAGER_VERSION: &str = "v1.21.2";
/// The controller image.
pub const DEFAULT_CONTROLLER_IMAGE: &str = "quay.io/jetstack/cert-manager-controller:v1.21.2";
/// The webhook image.
pub const DEFAULT_WEBHOOK_IMAGE: &str = "quay.io/jetstack/cert-manager-webhook:v1.21.2";
/// The CA injector image.
pub const DEFAULT_CAINJECTOR_IMAGE: &str = "quay.io/jetstack/cert-manager-cainjector:v1.21.2";
/// The image of the pods that answer ACME HTTP-01 challenges (the controller starts them).
pub const DEFAULT_ACMESOLVER_IMAGE: &str = "quay.io/jetstack/cert-manager-acmesolver:v1.21.2";

/// Let's Encrypt's two environments (BKPR's `letsencrypt_environment`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LetsencryptEnvironment {
    /// Production: trusted certificates, strict rate limits.
    #[default]
    Prod,
    /// Staging: untrusted certificates, generous rate limits; for testing a new cluster.
    Staging,
}

impl LetsencryptEnvironment {
    /// The ClusterIssuer of this environment (`letsencrypt-prod`, `letsencrypt-staging`).
    pub fn issuer(self) -> &'static str {
        match self {
            LetsencryptEnvironment::Prod => "letsencrypt-prod",
            LetsencryptEnvironment::Staging => "letsencrypt-staging",
        }
    }

    /// The ACME directory URL of this environment.
    pub fn server(self) -> &'static str {
        match self {
            LetsencryptEnvironment::Prod => "https://acme-v02.api.letsencrypt.org/directory",
            LetsencryptEnvironment::Staging => "https://acme-staging-v02.api.letsencrypt.org/directory",
        }
    }
}

/// cert-manager: certificates for every Ingress from Let's Encrypt. Names follow BKPR
/// (`cert-manager`, `letsencrypt-prod`) so an existing install is adopted in place.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct CertManagerParams {
    /// Which ClusterIssuer the Ingresses use: `prod` (`letsencrypt-prod`) or `staging`
    /// (`letsencrypt-staging`). Both are always rendered. Default: `prod`.
    pub letsencrypt_environment: LetsencryptEnvironment,
    /// Renders cert-manager's CustomResourceDefinitions vendored with runway. Set `false`
    /// when the CRDs are installed another way (upstream's `cert-manager.crds.yaml`, a
    /// GitOps application of their own). Default: `true`.
    pub crds: bool,
    /// Replicas of the controller (one leads, the others wait). Default: `1`.
    pub replicas: u32,
    /// Replicas of the webhook; every API write to a cert-manager resource goes through
    /// it, so more than one keeps those writes available during a node drain. Default: `1`.
    pub webhook_replicas: u32,
    /// Log verbosity of the three components (`--v`). Default: `2`.
    pub log_level: u8,
    /// The controller image. Default: `quay.io/jetstack/cert-manager-controller:v1.21.2`.
    pub image: String,
    /// The webhook image. Default: `quay.io/jetstack/cert-manager-webhook:v1.21.2`.
    pub webhook_image: String,
    /// The CA injector image. Default: `quay.io/jetstack/cert-manager-cainjector:v1.21.2`.
    pub cainjector_image: String,
    /// The ACME HTTP-01 solver image. Default: `quay.io/jetstack/cert-manager-acmesolver:v1.21.2`.
    pub acmesolver_image: String,
    /// Requests and limits of the controller.
    /// Default: requests `cpu: 10m, memory: 64Mi`, limits `memory: 512Mi`.
    pub resources: Resources,
    /// Requests and limits of the webhook.
    /// Default: requests `cpu: 10m, memory: 32Mi`, limits `memory: 128Mi`.
    pub webhook_resources: Resources,
    /// Requests and limits of the CA injector (it caches Secrets and CRDs).
    /// Default: requests `cpu: 10m, memory: 64Mi`, limits `memory: 512Mi`.
    pub cainjector_resources: Resources,
}

impl Default for CertManagerParams {
    fn default() -> Self {
        CertManagerParams {
            letsencrypt_environment: LetsencryptEnvironment::Prod,
            crds: true,
            replicas: 1,
            webhook_replicas: 1,
            log_level: 2,
            image: DEFAULT_CONTROLLER_IMAGE.into(),
            webhook_image: DEFAULT_WEBHOOK_IMAGE.into(),
            cainjector_image: DEFAULT_CAINJECTOR_IMAGE.into(),
            acmesolver_image: DEFAULT_ACMESOLVER_IMAGE.into(),
            resources: Resources::new("10m", "64Mi", None, "512Mi"),
            webhook_resources: Resources::new("10m", "32Mi", None, "128Mi"),
            cainjector_resources: Resources::new("10m", "64Mi", None, "512Mi"),
        }
    }
}

/// `cert_manager.<key>`.
pub(crate) fn at(key: &str) -> KeyPath {
    KeyPath::root().key("cert_manager").key(key)
}

impl CertManagerParams {
    /// Checks every parameter; the first problem is returned with its key path.
    pub fn validate(&self) -> Result<(), Error> {
        for (key, n) in [("replicas", self.replicas), ("webhook_replicas", self.webhook_replicas)] {
            if n == 0 {
                return Err(Error::invalid(format!("{key} must be at least 1"))
                    .help("cert-manager issues nothing without its controller and webhook; leave `cert_manager` out of the stack to remove it")
                    .with_path(at(key)));
            }
            if i32::try_from(n).is_err() {
                return Err(Error::invalid(format!("{key} `{n}` is too large")).with_path(at(key)));
            }
        }
        if self.log_level > 10 {
            return Err(Error::invalid(format!("log level `{}` is out of range", self.log_level))
                .help("use 0 (errors only) to 6 (debug); cert-manager's default is 2")
                .with_path(at("log_level")));
        }
        for (key, image) in [
            ("image", &self.image),
            ("webhook_image", &self.webhook_image),
            ("cainjector_image", &self.cainjector_image),
            ("acmesolver_image", &self.acmesolver_image),
        ] {
            check_image(image).map_err(|e| e.with_path(at(key)))?;
        }
        for (key, r) in [
            ("resources", &self.resources),
            ("webhook_resources", &self.webhook_resources),
            ("cainjector_resources", &self.cainjector_resources),
        ] {
            r.check()
                .map_err(|msg| Error::invalid(msg).help("raise the limit or lower the request").with_path(at(key)))?;
        }
        Ok(())
    }
}

/// An image reference: non-empty, no whitespace.
pub(crate) fn check_image(image: &str) -> Result<(), Error> {
    if image.is_empty() || image.chars().any(char::is_whitespace) {
        return Err(Error::invalid(format!("`{image}` is not an image reference"))
            .help(format!("write `registry/repository:tag`, e.g. `{DEFAULT_CONTROLLER_IMAGE}`")));
    }
    Ok(())
}
