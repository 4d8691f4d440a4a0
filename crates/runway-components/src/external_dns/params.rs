//! Parameters of external-dns and their validation.
//!
//! Validation runs at the start of `build`; every error names its key path
//! (`external_dns.rfc2136.host`) and says how to fix it.

use runway_core::{Error, KeyPath};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::pod::Resources;

/// The external-dns image.
pub const DEFAULT_IMAGE: &str = "registry.k8s.io/external-dns/external-dns:v0.22.0";

/// Where external-dns gets its DNS provider credentials.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Credentials {
    /// From a Secret (BKPR's way): rendered from `--secrets-file` values when given, else
    /// expected in the namespace.
    #[default]
    Secret,
    /// From the pod's identity: GKE Workload Identity, EKS IRSA or Pod Identity, AKS
    /// Workload Identity. Annotate the ServiceAccount (`external_dns: {sa: {metadata:
    /// {annotations: ...}}}`) as the cloud requires. Not for `rfc2136` or `pdns`.
    Ambient,
}

/// How external-dns treats records it owns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Policy {
    /// Creates, updates and deletes its records (external-dns' default, and BKPR's).
    #[default]
    Sync,
    /// Creates and updates, never deletes.
    UpsertOnly,
}

impl Policy {
    /// The `--policy` value.
    pub fn flag(self) -> &'static str {
        match self {
            Policy::Sync => "sync",
            Policy::UpsertOnly => "upsert-only",
        }
    }
}

/// RFC 2136 dynamic updates (BIND, Knot, Windows DNS) on onprem.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Rfc2136Params {
    /// The DNS server that accepts updates for the zone. Required with `rfc2136`.
    /// Default: `null`.
    pub host: Option<String>,
    /// Its port. Default: `53`.
    pub port: u16,
    /// The name of the TSIG key. Required with `rfc2136`. Default: `null`.
    pub tsig_keyname: Option<String>,
    /// The TSIG algorithm. Default: `hmac-sha256`.
    pub tsig_secret_alg: String,
}

impl Default for Rfc2136Params {
    fn default() -> Self {
        Rfc2136Params { host: None, port: 53, tsig_keyname: None, tsig_secret_alg: "hmac-sha256".into() }
    }
}

/// PowerDNS (BKPR's onprem DNS).
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct PdnsParams {
    /// The PowerDNS API. Default: `null`, BKPR's `powerdns` Service in the runtime's
    /// namespace (`http://powerdns.<namespace>.svc:8081`).
    pub server: Option<String>,
}

/// external-dns: DNS records for the runtime's Ingresses and Services. Names follow BKPR
/// (`external-dns`) so an existing install is adopted in place.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ExternalDnsParams {
    /// The image. Default: `registry.k8s.io/external-dns/external-dns:v0.22.0`.
    pub image: String,
    /// Requests and limits. Default: requests `cpu: 10m, memory: 64Mi`, limits `memory: 256Mi`.
    pub resources: Resources,
    /// Where the provider credentials come from: `secret` or `ambient`. Default: `secret`.
    pub credentials: Credentials,
    /// `sync` (delete records it no longer needs) or `upsert-only`. Default: `sync`.
    pub policy: Policy,
    /// How often the records are reconciled (Go duration). Default: `1m`.
    pub interval: String,
    /// The owner recorded in the TXT registry: two clusters writing one zone need
    /// different owners. Default: `null`, the DNS zone (BKPR's).
    pub txt_owner_id: Option<String>,
    /// The prefix of the TXT ownership records; kept from BKPR so an existing zone's
    /// records stay owned. Default: `_externaldns.`.
    pub txt_prefix: String,
    /// RFC 2136 settings (`platform.dns_provider: rfc2136`).
    pub rfc2136: Rfc2136Params,
    /// PowerDNS settings (`platform.dns_provider: pdns`).
    pub pdns: PdnsParams,
}

impl Default for ExternalDnsParams {
    fn default() -> Self {
        ExternalDnsParams {
            image: DEFAULT_IMAGE.into(),
            resources: Resources::new("10m", "64Mi", None, "256Mi"),
            credentials: Credentials::Secret,
            policy: Policy::Sync,
            interval: "1m".into(),
            txt_owner_id: None,
            txt_prefix: "_externaldns.".into(),
            rfc2136: Rfc2136Params::default(),
            pdns: PdnsParams::default(),
        }
    }
}

/// `external_dns.<key>`.
pub(crate) fn at(key: &str) -> KeyPath {
    KeyPath::root().key("external_dns").key(key)
}

impl ExternalDnsParams {
    /// Checks the parameters that do not depend on the provider.
    pub fn validate(&self) -> Result<(), Error> {
        crate::images::check_image(&self.image, DEFAULT_IMAGE, at("image"))?;
        self.resources.check().map_err(|msg| {
            Error::invalid(msg).help("raise the limit or lower the request").with_path(at("resources"))
        })?;
        if !is_go_duration(&self.interval) {
            return Err(Error::invalid(format!("`{}` is not a duration", self.interval))
                .help("write a Go duration such as `1m` or `30s`")
                .with_path(at("interval")));
        }
        if let Some(owner) = &self.txt_owner_id {
            if owner.is_empty() || owner.chars().any(|c| c.is_whitespace() || c == '"') {
                return Err(Error::invalid(format!("`{owner}` is not a usable owner id"))
                    .help("use letters, digits, `.` and `-`, e.g. the cluster's name")
                    .with_path(at("txt_owner_id")));
            }
        }
        if self.txt_prefix.chars().any(char::is_whitespace) {
            return Err(Error::invalid(format!("TXT prefix `{}` contains whitespace", self.txt_prefix))
                .help("keep BKPR's `_externaldns.` to keep owning an existing zone's records")
                .with_path(at("txt_prefix")));
        }
        Ok(())
    }
}

/// True for a positive Go duration made of `h`, `m`, `s` parts (`1m`, `1m30s`).
fn is_go_duration(s: &str) -> bool {
    let mut rest = s;
    let mut any = false;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if digits == 0 {
            return false;
        }
        rest = &rest[digits..];
        let unit = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        if !matches!(&rest[..unit], "h" | "m" | "s") {
            return false;
        }
        rest = &rest[unit..];
        any = true;
    }
    any && s.bytes().any(|b| b.is_ascii_digit() && b != b'0')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        for ok in ["1m", "30s", "1h30m", "90s"] {
            assert!(is_go_duration(ok), "{ok}");
        }
        for bad in ["", "1", "m", "0s", "1d", "1.5m", "-1m"] {
            assert!(!is_go_duration(bad), "{bad}");
        }
    }
}
