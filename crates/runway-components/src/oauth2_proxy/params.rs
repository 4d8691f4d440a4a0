//! Parameters of oauth2-proxy, the checks on them, and the checks on its secret values.
//!
//! Validation runs at the start of `build`; every error names its key path
//! (`oauth2_proxy.oidc_issuer_url`) and says how to fix it.

use std::collections::BTreeMap;

use runway_core::{Error, KeyPath};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::pod::Resources;

/// The oauth2-proxy image.
pub const DEFAULT_IMAGE: &str = "quay.io/oauth2-proxy/oauth2-proxy:v7.15.5";

/// The keys of the `oauth2-proxy` Secret (BKPR's), and of `oauth2_proxy` in a secrets file.
pub const SECRET_KEYS: [&str; 3] = ["client_id", "client_secret", "cookie_secret"];

/// oauth2-proxy: login through the platform's OAuth provider for the runtime's UIs.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Oauth2ProxyParams {
    /// Pods at least (the HorizontalPodAutoscaler's minimum; BKPR's two, so one node can
    /// fail). Default: `2`.
    pub replicas: u32,
    /// The image. Default: `quay.io/oauth2-proxy/oauth2-proxy:v7.15.5`.
    pub image: String,
    /// Requests and limits of the proxy. The CPU request is what the autoscaler measures.
    /// Default: requests `cpu: 10m, memory: 32Mi`, limits `memory: 128Mi`.
    pub resources: Resources,
    /// Email domains whose users may log in (`example.com`), or `["*"]` for every account
    /// the provider authenticates. Empty lets everyone in only where the provider itself
    /// restricts who has an account: `oidc` (your own identity provider), `azure` with
    /// `config.cloud.azure_tenant_id`, `github` with `github_org`; with `google`, or
    /// `github`/`azure` without those, empty means the addresses of `config.dns_zone`
    /// (and is an error without a zone), since any Google, GitHub or Microsoft account
    /// would otherwise get in. Default: `[]`.
    pub email_domains: Vec<String>,
    /// The OpenID Connect issuer (`https://id.example.com/realms/runway`); required when
    /// `platform.oauth_provider` is `oidc`, unless a rendered identity provider (onprem's
    /// `keycloak`) publishes its issuer. Default: `null`.
    pub oidc_issuer_url: Option<String>,
    /// Groups (the `groups` claim of `oidc`, group ids on `azure`) whose members may log
    /// in; empty for no group restriction. Default: `[]`.
    pub allowed_groups: Vec<String>,
    /// With `github`: the organization whose members may log in. Default: `null`.
    pub github_org: Option<String>,
    /// With `github` and `github_org`: the teams (slugs) whose members may log in.
    /// Default: `[]`.
    pub github_teams: Vec<String>,
    /// How often a session is revalidated with the provider (Go duration; `0` never).
    /// Default: `1h`.
    pub cookie_refresh: String,
    /// How long a login lasts (Go duration). Default: `168h`.
    pub cookie_expire: String,
}

impl Default for Oauth2ProxyParams {
    fn default() -> Self {
        Oauth2ProxyParams {
            replicas: 2,
            image: DEFAULT_IMAGE.into(),
            resources: Resources::new("10m", "32Mi", None, "128Mi"),
            email_domains: Vec::new(),
            oidc_issuer_url: None,
            allowed_groups: Vec::new(),
            github_org: None,
            github_teams: Vec::new(),
            cookie_refresh: "1h".into(),
            cookie_expire: "168h".into(),
        }
    }
}

/// `oauth2_proxy.<key>`.
pub(crate) fn at(key: &str) -> KeyPath {
    KeyPath::root().key("oauth2_proxy").key(key)
}

impl Oauth2ProxyParams {
    /// Checks every parameter that does not depend on the platform.
    pub fn validate(&self) -> Result<(), Error> {
        if self.replicas == 0 || self.replicas > 100 {
            return Err(Error::invalid(format!("replicas `{}` is out of range", self.replicas))
                .help("use 2 or more, so that logins survive the loss of a node (at most 100)")
                .with_path(at("replicas")));
        }
        crate::images::check_image(&self.image, DEFAULT_IMAGE, at("image"))?;
        self.resources.check().map_err(|msg| {
            Error::invalid(msg).help("raise the limit or lower the request").with_path(at("resources"))
        })?;
        if self.resources.requests.cpu.is_none() {
            return Err(Error::invalid("the CPU request is missing")
                .help("the autoscaler scales on CPU use relative to the request: set `resources.requests.cpu`, e.g. `10m`")
                .with_path(at("resources")));
        }
        for d in &self.email_domains {
            if d.is_empty() || d.contains('@') || d.chars().any(char::is_whitespace) {
                return Err(Error::invalid(format!("`{d}` is not an email domain"))
                    .help("write the part after `@`, e.g. `example.com`, or `*` for any")
                    .with_path(at("email_domains")));
            }
        }
        if let Some(url) = &self.oidc_issuer_url {
            if !url.starts_with("https://") || url.len() <= "https://".len() || url.chars().any(char::is_whitespace) {
                return Err(Error::invalid(format!("`{url}` is not an https URL"))
                    .help("give the issuer as its discovery document names it, e.g. `https://id.example.com/realms/runway`")
                    .with_path(at("oidc_issuer_url")));
            }
        }
        if !self.github_teams.is_empty() && self.github_org.is_none() {
            return Err(Error::invalid("`github_teams` needs `github_org`")
                .help("teams belong to an organization: set `github_org` too")
                .with_path(at("github_teams")));
        }
        let refresh = go_duration_secs(&self.cookie_refresh).ok_or_else(|| {
            Error::invalid(format!("`{}` is not a duration", self.cookie_refresh))
                .help("write a Go duration such as `1h`, `30m` or `1h30m`, or `0` to never refresh")
                .with_path(at("cookie_refresh"))
        })?;
        let expire = go_duration_secs(&self.cookie_expire).ok_or_else(|| {
            Error::invalid(format!("`{}` is not a duration", self.cookie_expire))
                .help("write a Go duration such as `168h` or `12h`")
                .with_path(at("cookie_expire"))
        })?;
        if expire == 0.0 {
            return Err(Error::invalid("`cookie_expire` must be more than zero")
                .help("a login must last a while, e.g. `168h`")
                .with_path(at("cookie_expire")));
        }
        if refresh >= expire {
            return Err(Error::invalid(format!(
                "cookie_refresh `{}` is not shorter than cookie_expire `{}`",
                self.cookie_refresh, self.cookie_expire
            ))
            .help("oauth2-proxy refuses to start: refresh sessions more often than they expire, e.g. `1h` and `168h`")
            .with_path(at("cookie_refresh")));
        }
        Ok(())
    }
}

/// A Go `time.ParseDuration` string in seconds (`1h30m`, `90s`, `0`), or `None`.
pub(crate) fn go_duration_secs(s: &str) -> Option<f64> {
    if s == "0" {
        return Some(0.0);
    }
    let mut rest = s;
    let mut total = 0.0;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        if num_len == 0 {
            return None;
        }
        let value: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        total += value * scale;
        rest = &rest[unit_len..];
    }
    Some(total)
}

/// The secret values of `oauth2_proxy` from a secrets file, checked: the three keys of
/// [`SECRET_KEYS`], none empty, nothing else, and a cookie secret oauth2-proxy accepts.
/// Messages name the key, never the value.
pub fn check_secrets(values: &BTreeMap<String, String>) -> Result<(), Error> {
    let from_file = "in the secrets file (`--secrets-file`)";
    for key in values.keys() {
        if !SECRET_KEYS.contains(&key.as_str()) {
            let mut e = Error::invalid(format!("`oauth2_proxy.{key}` {from_file} is not a secret of oauth2-proxy"))
                .note("its secrets are `client_id`, `client_secret` and `cookie_secret`");
            if let Some(m) = runway_core::suggest::best_match(key, SECRET_KEYS) {
                e = e.help(format!("did you mean `{m}`?"));
            }
            return Err(e);
        }
    }
    for key in SECRET_KEYS {
        match values.get(key) {
            Some(v) if !v.trim().is_empty() => {}
            _ => {
                return Err(Error::invalid(format!("`oauth2_proxy.{key}` is missing {from_file}"))
                    .help("give all of `client_id`, `client_secret` and `cookie_secret`, or none of them and create the Secret `oauth2-proxy` yourself"));
            }
        }
    }
    let cookie = values.get("cookie_secret").map(String::as_str).unwrap_or_default();
    let len = cookie_secret_len(cookie);
    if !matches!(len, 16 | 24 | 32) {
        return Err(Error::invalid(format!(
            "`oauth2_proxy.cookie_secret` {from_file} is {len} bytes; oauth2-proxy needs 16, 24 or 32"
        ))
        .help("generate one with `openssl rand -base64 32 | tr -- '+/' '-_'` (32 bytes, base64url)")
        .note("oauth2-proxy takes the value base64url-decoded when that gives 16, 24 or 32 bytes, else as it is"));
    }
    Ok(())
}

/// The length of the key oauth2-proxy derives from a cookie secret: the base64url-decoded
/// bytes when they are 16, 24 or 32 long, else the text's own bytes (its `SecretBytes`).
pub(crate) fn cookie_secret_len(secret: &str) -> usize {
    match base64url_decoded_len(secret.trim_end_matches('=')) {
        Some(n @ (16 | 24 | 32)) => n,
        _ => secret.len(),
    }
}

/// The decoded length of unpadded base64url text, or `None` if it is not base64url.
fn base64url_decoded_len(s: &str) -> Option<usize> {
    let valid = s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !valid || s.len() % 4 == 1 {
        return None;
    }
    Some(
        s.len() / 4 * 3
            + match s.len() % 4 {
                2 => 1,
                3 => 2,
                _ => 0,
            },
    )
}
