//! The Sysdig backend's configuration: the ConfigMap `sysdigcloud-config` with every
//! non-secret key of sdc-kubernetes' `etc/sdc-config.yaml` (47 of its 56 keys), generated
//! from typed parameters, and the Secrets for the license, the quay.io pull secret and the
//! backend's other passwords.
//!
//! # What it fixes
//!
//! The original kept the license and eight passwords in the ConfigMap in clear text and
//! patched the license in with `sed` at install time ("Remove clear text passwords from
//! configMap"). Here no value of the secrets file ever reaches a ConfigMap:
//!
//! | original key | now in | secrets file key (`sdc:`) | rendered by |
//! |---|---|---|---|
//! | `sysdigcloud.license` | Secret `sysdigcloud-license` | `license` | `sdc_config` |
//! | the pull secret's `.dockerconfigjson` | Secret `sysdigcloud-pull-secret` | `pull-secret` | `sdc_config` |
//! | `sysdigcloud.default.user.password` | Secret `sysdigcloud-secrets` | `default-user-password` | `sdc_config` |
//! | `cassandra.password` | Secret `sysdigcloud-secrets` | `cassandra-password` | `sdc_config` |
//! | `smtp.password` | Secret `sysdigcloud-secrets` | `smtp-password` | `sdc_config` |
//! | `sysdigcloud.google.oauth.client.secret` | Secret `sysdigcloud-secrets` | `google-oauth-client-secret` | `sdc_config` |
//! | `sysdigcloud.ldap.manager.password` | Secret `sysdigcloud-secrets` | `ldap-manager-password` | `sdc_config` |
//! | `mysql.password`, `mysql.root.password` | Secret `sdc-mysql` | `mysql-password`, `mysql-root-password` | `sdc_mysql` |
//! | `redis.password` | Secret `sdc-redis` | `redis-password` | `sdc_redis` |
//!
//! The backend reads its settings as files, one per key, from `/opt/kubernets_config` (this
//! ConfigMap) and `/opt/kubernets_secrets` (its "split configurations into configs and
//! secrets" mode); `sdc_backend` projects the Secrets there under the original key names
//! ([`BACKEND_SECRET_FILES`]), so the backend reads what it always read.
//!
//! Without a secrets file (or without a key of it), the Secret is not rendered: the
//! component declares it external and the cluster must already hold it, with the keys
//! above (`kubectl create secret generic sysdigcloud-secrets -n sysdigcloud
//! --from-literal=default-user-password=...`). `pull-secret` takes the `quay.uri` Sysdig
//! ships (base64 of a `.dockerconfigjson`) or the JSON itself.
//!
//! # Adopting an sdc-kubernetes install
//!
//! The ConfigMap keeps its name and every non-secret key; `kubectl apply` removes the nine
//! secret keys from it once the Secrets exist. The pull secret keeps its name. Endpoints
//! default to the `sdc-*` Services. Two values change on purpose: `cassandra.endpoint.snitch`
//! follows the platform (the original's `EC2Snitch` is not a Cassandra class; Cassandra's is
//! `Ec2Snitch`), and the defaults follow the newest original (`sysdigcloud.logging.stdout:
//! "true"`, `sysdigcloud.captures.cassandra.storage: "true"`).

mod params;

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::ByteString;
use runway_core::refs::ExternalRef;
use runway_core::{Error, KeyPath, Object};

pub use self::params::{
    AuthSettings, CassandraSettings, Endpoints, JvmOptions, LdapSettings, LoggingSettings, MysqlSettings,
    RedisSettings, SdcConfigParams, SmtpSettings,
};
use crate::common::checksum::named_sha256;
use crate::common::meta;
use crate::component::{Component, ObjectDoc};
use crate::context::{Cloud, Context};
use crate::sdc::{self, secrets, services};

/// The ConfigMap's name (the original's).
pub const CONFIG_MAP: &str = "sysdigcloud-config";

/// The `role` label of the configuration objects.
const ROLE: &str = "config";

/// Keys of the `sdc` block of the secrets file that this component renders.
pub mod secret_keys {
    /// The Sysdig license (Secret `sysdigcloud-license`, key `license`).
    pub const LICENSE: &str = crate::sdc::secrets::LICENSE_KEY;
    /// The quay.io pull secret: base64 of a `.dockerconfigjson` (Sysdig's `quay.uri`) or
    /// the JSON itself (Secret `sysdigcloud-pull-secret`).
    pub const PULL_SECRET: &str = "pull-secret";
    /// The default user's password (required in `sysdigcloud-secrets`).
    pub const DEFAULT_USER_PASSWORD: &str = "default-user-password";
    /// Cassandra's password (with `cassandra.secure`).
    pub const CASSANDRA_PASSWORD: &str = "cassandra-password";
    /// The SMTP password.
    pub const SMTP_PASSWORD: &str = "smtp-password";
    /// The Google OAuth client secret.
    pub const GOOGLE_OAUTH_CLIENT_SECRET: &str = "google-oauth-client-secret";
    /// The LDAP manager's password.
    pub const LDAP_MANAGER_PASSWORD: &str = "ldap-manager-password";
    /// The keys of Secret `sysdigcloud-secrets`, required one first.
    pub const BACKEND: &[&str] =
        &[DEFAULT_USER_PASSWORD, CASSANDRA_PASSWORD, SMTP_PASSWORD, GOOGLE_OAUTH_CLIENT_SECRET, LDAP_MANAGER_PASSWORD];
}

/// A secret value the backend reads as a file in `/opt/kubernets_secrets`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SecretFile {
    /// The Secret.
    pub secret: &'static str,
    /// Its key.
    pub key: &'static str,
    /// The file name: the original ConfigMap key.
    pub file: &'static str,
    /// The backend does not start without it.
    pub required: bool,
}

/// Every secret value the backend reads, where it lives and the file it is read from.
/// `mysql.root.password` is not among them: only the MySQL pods need root.
pub const BACKEND_SECRET_FILES: &[SecretFile] = &[
    SecretFile { secret: secrets::LICENSE, key: secrets::LICENSE_KEY, file: "sysdigcloud.license", required: true },
    SecretFile { secret: secrets::MYSQL, key: secrets::MYSQL_PASSWORD, file: "mysql.password", required: true },
    SecretFile { secret: secrets::REDIS, key: secrets::REDIS_PASSWORD, file: "redis.password", required: true },
    SecretFile {
        secret: secrets::BACKEND,
        key: secret_keys::DEFAULT_USER_PASSWORD,
        file: "sysdigcloud.default.user.password",
        required: true,
    },
    SecretFile {
        secret: secrets::BACKEND,
        key: secret_keys::CASSANDRA_PASSWORD,
        file: "cassandra.password",
        required: false,
    },
    SecretFile { secret: secrets::BACKEND, key: secret_keys::SMTP_PASSWORD, file: "smtp.password", required: false },
    SecretFile {
        secret: secrets::BACKEND,
        key: secret_keys::GOOGLE_OAUTH_CLIENT_SECRET,
        file: "sysdigcloud.google.oauth.client.secret",
        required: false,
    },
    SecretFile {
        secret: secrets::BACKEND,
        key: secret_keys::LDAP_MANAGER_PASSWORD,
        file: "sysdigcloud.ldap.manager.password",
        required: false,
    },
];

/// The backend configuration component.
pub struct SdcConfig;

impl Component for SdcConfig {
    const NAME: &'static str = "sdc_config";
    const SUMMARY: &'static str =
        "Sysdig backend settings (ConfigMap sysdigcloud-config) and its license, pull secret and passwords (Secrets)";
    const DEFAULT_ENABLED: bool = false;
    const OBJECTS: &'static [ObjectDoc] = &[
        ObjectDoc { key: "config", kind: "ConfigMap", doc: "`sysdigcloud-config`: every non-secret setting" },
        ObjectDoc { key: "license", kind: "Secret", doc: "`sysdigcloud-license` (with `license` in the secrets file)" },
        ObjectDoc {
            key: "pullSecret",
            kind: "Secret",
            doc: "`sysdigcloud-pull-secret` for quay.io (with `pull-secret` in the secrets file)",
        },
        ObjectDoc {
            key: "secrets",
            kind: "Secret",
            doc: "`sysdigcloud-secrets`: default user, Cassandra, SMTP, OAuth and LDAP passwords",
        },
    ];
    type Params = SdcConfigParams;

    fn externals(_: &SdcConfigParams, cx: &Context) -> Vec<ExternalRef> {
        let given = cx.secrets_of("sdc");
        let has = |k: &str| given.is_some_and(|v| v.contains_key(k));
        let mut out = Vec::new();
        if !has(secret_keys::LICENSE) {
            out.push(secrets::LICENSE);
        }
        if !has(secret_keys::PULL_SECRET) {
            out.push(secrets::PULL_SECRET);
        }
        if !secret_keys::BACKEND.iter().any(|k| has(k)) {
            out.push(secrets::BACKEND);
        }
        out.into_iter().map(|n| ("Secret".to_string(), sdc::NAMESPACE.to_string(), n.to_string())).collect()
    }

    fn build(p: &SdcConfigParams, cx: &Context) -> Result<Vec<Object>, Error> {
        p.validate()?;
        let mut objects = vec![Object::new(Self::NAME, "config", &config_map(p, cx))];
        if let Some(values) = cx.secrets_of("sdc") {
            if let Some(license) = values.get(secret_keys::LICENSE) {
                let data =
                    BTreeMap::from([(secrets::LICENSE_KEY.to_string(), checked(license, secret_keys::LICENSE)?)]);
                objects.push(Object::new(Self::NAME, "license", &secret(secrets::LICENSE, "Opaque", data)));
            }
            if let Some(pull) = values.get(secret_keys::PULL_SECRET) {
                let json = docker_config_json(pull)?;
                let data = BTreeMap::from([(".dockerconfigjson".to_string(), json)]);
                let s = secret(secrets::PULL_SECRET, "kubernetes.io/dockerconfigjson", data);
                objects.push(Object::new(Self::NAME, "pullSecret", &s));
            }
            if secret_keys::BACKEND.iter().any(|k| values.contains_key(*k)) {
                let mut data = BTreeMap::new();
                for key in secret_keys::BACKEND {
                    match values.get(*key) {
                        Some(v) => {
                            data.insert(key.to_string(), v.trim().to_string());
                        }
                        None if *key == secret_keys::DEFAULT_USER_PASSWORD => {
                            return Err(Error::invalid(format!(
                                "the secrets file gives `sdc` passwords but not `{key}`, the default user's"
                            ))
                            .with_path(secrets_path(key))
                            .help(format!(
                                "add `{key}` under `sdc:` in the secrets file (the backend creates `{}` with it)",
                                p.auth.default_user
                            )));
                        }
                        None => {}
                    }
                }
                if data.get(secret_keys::DEFAULT_USER_PASSWORD).is_some_and(String::is_empty) {
                    return Err(Error::invalid("the default user's password is empty")
                        .with_path(secrets_path(secret_keys::DEFAULT_USER_PASSWORD))
                        .help("give it a password: it is the super admin's"));
                }
                objects.push(Object::new(Self::NAME, "secrets", &secret(secrets::BACKEND, "Opaque", data)));
            }
        }
        Ok(objects)
    }
}

/// `secrets.sdc.KEY`: where a secret value comes from, for messages (secret values live in
/// the secrets file, not in a layer).
fn secrets_path(key: &str) -> KeyPath {
    KeyPath::root().key("secrets").key("sdc").key(key)
}

fn checked(value: &str, key: &str) -> Result<String, Error> {
    let v = value.trim();
    if v.is_empty() {
        return Err(Error::invalid(format!("secret `sdc.{key}` is empty"))
            .with_path(secrets_path(key))
            .help("give the value, or leave the key out to use a Secret that already exists in the cluster"));
    }
    Ok(v.to_string())
}

/// The cloud's Cassandra snitch, for `cassandra.endpoint.snitch`.
pub fn default_snitch(cloud: Cloud) -> &'static str {
    match cloud {
        Cloud::Aws => "Ec2Snitch",
        Cloud::Gcp => "GoogleCloudSnitch",
        Cloud::Azure | Cloud::None => "GossipingPropertyFileSnitch",
    }
}

fn flag(b: bool) -> String {
    if b { "true" } else { "false" }.to_string()
}

/// The ConfigMap's data: every non-secret key of the original, from the parameters.
pub fn config_data(p: &SdcConfigParams, cx: &Context) -> BTreeMap<String, String> {
    let e = &p.endpoints;
    let c = &p.cassandra;
    let s = &p.smtp;
    let a = &p.auth;
    let l = &a.ldap;
    let mut jvm = p.jvm.sysdigcloud.trim().to_string();
    if p.redis.sentinel {
        let sentinel = format!(
            "-Ddraios.redis.useSentinel=true -Ddraios.redis.master={} -Ddraios.redis.sentinels.0={}:{}",
            p.redis.sentinel_master,
            services::REDIS_SENTINEL,
            services::REDIS_SENTINEL_PORT
        );
        jvm = if jvm.is_empty() { sentinel } else { format!("{jvm} {sentinel}") };
    }
    let cpu = |q: &Option<crate::quantity::Quantity>| q.as_ref().map(ToString::to_string).unwrap_or_default();
    let entries: Vec<(&str, String)> = vec![
        // Endpoints.
        ("api.url", e.api_url.clone()),
        ("collector.endpoint", e.collector_endpoint.clone()),
        ("collector.port", e.collector_port.to_string()),
        ("elasticsearch.url", e.elasticsearch_url.clone()),
        ("redis.endpoint", e.redis_endpoint.clone()),
        ("mysql.endpoint", e.mysql_endpoint.clone()),
        ("cassandra.endpoint", e.cassandra_endpoint.clone()),
        // Users (their passwords are Secrets).
        ("sysdigcloud.default.user", a.default_user.clone()),
        ("mysql.user", p.mysql.user.clone()),
        ("cassandra.user", c.user.clone()),
        // JVM options.
        ("sysdigcloud.jvm.options", jvm),
        ("cassandra.jvm.options", p.jvm.cassandra.clone()),
        ("elasticsearch.jvm.options", p.jvm.elasticsearch.clone()),
        // Cassandra.
        ("cassandra.cluster.name", c.cluster_name.clone()),
        ("cassandra.resource.request.cpu", cpu(&c.resources.requests.cpu)),
        ("cassandra.resource.request.memory", c.resources.requests.memory.to_string()),
        ("cassandra.resource.limits.cpu", cpu(&c.resources.limits.cpu)),
        ("cassandra.resource.limits.memory", c.resources.limits.memory.to_string()),
        ("cassandra.service", c.service.clone()),
        ("cassandra.seed.provider", c.seed_provider.clone()),
        (
            "cassandra.endpoint.snitch",
            c.endpoint_snitch.clone().unwrap_or_else(|| default_snitch(cx.platform.cloud).to_string()),
        ),
        ("cassandra.start.rpc", flag(c.start_rpc)),
        ("cassandra.secure", flag(c.secure)),
        ("cassandra.ssl.enabled", flag(c.ssl_enabled)),
        ("cassandra.ssl.ciphers", c.ssl_ciphers.join(",")),
        ("cassandra.port", c.port.to_string()),
        ("cassandra.replication.factor", c.replication_factor.to_string()),
        ("sysdigcloud.captures.cassandra.storage", flag(c.captures_storage)),
        // SMTP.
        ("smtp.server", s.server.clone()),
        ("smtp.server.port", s.port.to_string()),
        ("smtp.user", s.user.clone()),
        ("smtp.tls", flag(s.tls)),
        ("smtp.ssl", flag(s.ssl)),
        ("smtp.from.address", s.from_address.clone()),
        // Logging.
        ("sysdigcloud.logging.stdout", flag(p.logging.stdout)),
        // Auth and LDAP.
        ("sysdigcloud.restrict.password.login", flag(a.restrict_password_login)),
        ("sysdigcloud.oauth.allowed.domains.list", a.oauth_allowed_domains.join(",")),
        ("sysdigcloud.google.oauth.client.id", a.google_oauth_client_id.clone()),
        ("sysdigcloud.ldap.enabled", flag(l.enabled)),
        ("sysdigcloud.ldap.endpoint", l.endpoint.clone()),
        ("sysdigcloud.ldap.manager.dn", l.manager_dn.clone()),
        ("sysdigcloud.ldap.root.dn", l.root_dn.clone()),
        ("sysdigcloud.ldap.user.search.base", l.user_search_base.clone()),
        ("sysdigcloud.ldap.user.search.filter", l.user_search_filter.clone()),
        ("sysdigcloud.ldap.group.search.base", l.group_search_base.clone()),
        ("sysdigcloud.ldap.group.search.filter", l.group_search_filter.clone()),
        ("sysdigcloud.ldap.group.membership.filter", l.group_membership_filter.clone()),
    ];
    entries.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// The sha256 of the ConfigMap's data (keys sorted), for a pod template's checksum
/// annotation: the same parameters give the same value.
pub fn config_checksum(p: &SdcConfigParams, cx: &Context) -> String {
    named_sha256(config_data(p, cx).iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

fn config_map(p: &SdcConfigParams, cx: &Context) -> ConfigMap {
    ConfigMap {
        metadata: meta::namespaced(CONFIG_MAP, sdc::NAMESPACE, sdc::labels(ROLE)),
        data: Some(config_data(p, cx)),
        ..Default::default()
    }
}

fn secret(name: &str, type_: &str, data: BTreeMap<String, String>) -> Secret {
    Secret {
        metadata: meta::namespaced(name, sdc::NAMESPACE, sdc::labels(ROLE)),
        type_: Some(type_.into()),
        data: Some(data.into_iter().map(|(k, v)| (k, ByteString(v.into_bytes()))).collect()),
        ..Default::default()
    }
}

/// The pull secret's `.dockerconfigjson`: the JSON as given, or decoded from base64 (the
/// form of Sysdig's `quay.uri`); either way a JSON object with `auths`.
fn docker_config_json(value: &str) -> Result<String, Error> {
    let v = value.trim();
    let path = secrets_path(secret_keys::PULL_SECRET);
    let help = "give the `quay.uri` Sysdig sent (base64 of a .dockerconfigjson) or the JSON `{\"auths\": {\"quay.io\": {\"auth\": ...}}}`";
    let json = if v.starts_with('{') {
        v.to_string()
    } else {
        let bytes = base64_decode(v).ok_or_else(|| {
            Error::invalid("`sdc.pull-secret` is neither JSON nor base64").with_path(path.clone()).help(help)
        })?;
        String::from_utf8(bytes).map_err(|_| {
            Error::invalid("`sdc.pull-secret` decodes to bytes that are not text").with_path(path.clone()).help(help)
        })?
    };
    let parsed: serde_json::Value = serde_json::from_str(json.trim()).map_err(|e| {
        Error::invalid(format!("`sdc.pull-secret` is not a .dockerconfigjson: {e}")).with_path(path.clone()).help(help)
    })?;
    if !parsed.get("auths").is_some_and(serde_json::Value::is_object) {
        return Err(Error::invalid("`sdc.pull-secret` has no `auths` mapping").with_path(path).help(help));
    }
    Ok(json.trim().to_string())
}

/// Standard base64 (with or without padding; whitespace ignored), `None` if it is not.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    let mut padding = 0;
    for c in text.bytes().filter(|c| !c.is_ascii_whitespace()) {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => {
                padding += 1;
                continue;
            }
            _ => return None,
        };
        if padding > 0 {
            return None;
        }
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    (padding <= 2 && !out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::testing;
    use crate::common::testing::path_of;
    use crate::quantity::Quantity;
    use crate::stack::Stack;

    /// Every key of sdc-kubernetes' `aws/etc/sdc-config.yaml` (`sysdigcloud-config`).
    const ORIGINAL_KEYS: &[&str] = &[
        "sysdigcloud.license",
        "elasticsearch.url",
        "redis.endpoint",
        "cassandra.endpoint",
        "mysql.endpoint",
        "collector.endpoint",
        "collector.port",
        "api.url",
        "sysdigcloud.default.user",
        "sysdigcloud.default.user.password",
        "cassandra.user",
        "cassandra.password",
        "redis.password",
        "mysql.user",
        "mysql.password",
        "mysql.root.password",
        "cassandra.jvm.options",
        "elasticsearch.jvm.options",
        "sysdigcloud.jvm.options",
        "cassandra.cluster.name",
        "cassandra.resource.request.cpu",
        "cassandra.resource.request.memory",
        "cassandra.resource.limits.cpu",
        "cassandra.resource.limits.memory",
        "cassandra.service",
        "cassandra.seed.provider",
        "cassandra.endpoint.snitch",
        "cassandra.start.rpc",
        "cassandra.secure",
        "cassandra.ssl.enabled",
        "cassandra.ssl.ciphers",
        "cassandra.port",
        "cassandra.replication.factor",
        "sysdigcloud.captures.cassandra.storage",
        "smtp.server",
        "smtp.server.port",
        "smtp.user",
        "smtp.password",
        "smtp.tls",
        "smtp.ssl",
        "smtp.from.address",
        "sysdigcloud.logging.stdout",
        "sysdigcloud.restrict.password.login",
        "sysdigcloud.oauth.allowed.domains.list",
        "sysdigcloud.google.oauth.client.id",
        "sysdigcloud.google.oauth.client.secret",
        "sysdigcloud.ldap.enabled",
        "sysdigcloud.ldap.endpoint",
        "sysdigcloud.ldap.manager.dn",
        "sysdigcloud.ldap.manager.password",
        "sysdigcloud.ldap.root.dn",
        "sysdigcloud.ldap.user.search.base",
        "sysdigcloud.ldap.user.search.filter",
        "sysdigcloud.ldap.group.search.base",
        "sysdigcloud.ldap.group.search.filter",
        "sysdigcloud.ldap.group.membership.filter",
    ];

    /// A `.dockerconfigjson` and its base64, as Sysdig's `quay.uri` holds it.
    const DOCKER_JSON: &str = r#"{"auths":{"quay.io":{"auth":"c3lzZGlnK3VzZXI6dG9rZW4="}}}"#;
    const DOCKER_B64: &str = "eyJhdXRocyI6eyJxdWF5LmlvIjp7ImF1dGgiOiJjM2x6WkdsbkszVnpaWEk2ZEc5clpXND0ifX19";

    fn secrets() -> BTreeMap<String, String> {
        BTreeMap::from([
            ("license".to_string(), "LICENSE-abc123".to_string()),
            ("pull-secret".to_string(), DOCKER_B64.to_string()),
            ("default-user-password".to_string(), "s3cr3t-admin".to_string()),
            ("smtp-password".to_string(), "s3cr3t-smtp".to_string()),
            ("mysql-password".to_string(), "s3cr3t-mysql".to_string()),
            ("redis-password".to_string(), "s3cr3t-redis".to_string()),
        ])
    }

    fn cx_with_secrets() -> Context {
        let mut cx = Context::default();
        cx.secrets.insert("sdc".into(), secrets());
        cx
    }

    fn build(p: &SdcConfigParams, cx: &Context) -> Vec<Object> {
        SdcConfig::build(p, cx).unwrap_or_else(|e| panic!("builds: {e}"))
    }

    fn find<'a>(objects: &'a [Object], key: &str) -> &'a serde_json::Value {
        &objects.iter().find(|o| o.key == key).unwrap_or_else(|| panic!("no object `{key}`")).value
    }

    fn data(objects: &[Object]) -> BTreeMap<String, String> {
        serde_json::from_value(find(objects, "config")["data"].clone()).expect("string data")
    }

    fn with(f: impl FnOnce(&mut SdcConfigParams)) -> SdcConfigParams {
        testing::with(f)
    }

    #[test]
    fn default_build_renders_the_config_map_and_declares_secrets_external() {
        let objects = build(&SdcConfigParams::default(), &Context::default());
        let got: Vec<(&str, &str, &str, &str)> =
            objects.iter().map(|o| (o.key.as_str(), o.kind(), o.namespace(), o.name())).collect();
        assert_eq!(got, [("config", "ConfigMap", "sysdigcloud", "sysdigcloud-config")]);
        let labels = &find(&objects, "config")["metadata"]["labels"];
        assert_eq!(labels["app"], "sysdigcloud");
        assert_eq!(labels["role"], "config");
        let ext = SdcConfig::externals(&SdcConfigParams::default(), &Context::default());
        let names: Vec<&str> = ext
            .iter()
            .map(|(k, ns, n)| {
                assert_eq!((k.as_str(), ns.as_str()), ("Secret", "sysdigcloud"));
                n.as_str()
            })
            .collect();
        assert_eq!(names, ["sysdigcloud-license", "sysdigcloud-pull-secret", "sysdigcloud-secrets"]);
    }

    #[test]
    fn every_original_key_is_in_the_config_map_or_a_secret() {
        let d = data(&build(&SdcConfigParams::default(), &Context::default()));
        assert_eq!(d.len(), 47);
        let mut all: Vec<&str> = d.keys().map(String::as_str).collect();
        all.extend(BACKEND_SECRET_FILES.iter().map(|f| f.file));
        all.push("mysql.root.password"); // in Secret `sdc-mysql`, for the MySQL pods only
        all.sort_unstable();
        let mut original = ORIGINAL_KEYS.to_vec();
        original.sort_unstable();
        assert_eq!(original.len(), 56);
        assert_eq!(all, original);
    }

    #[test]
    fn defaults_are_the_originals_with_endpoints_on_the_sdc_services() {
        let d = data(&build(&SdcConfigParams::default(), &Context::default()));
        for (k, v) in [
            ("api.url", "https://sdc-api:443"),
            ("collector.endpoint", "sdc-collector"),
            ("collector.port", "6443"),
            ("elasticsearch.url", "http://sdc-elasticsearch"),
            ("redis.endpoint", "sdc-redis"),
            ("mysql.endpoint", "sdc-mysql"),
            ("cassandra.endpoint", "sdc-cassandra"),
            ("cassandra.service", "sdc-cassandra"),
            ("sysdigcloud.default.user", "test@sysdig.com"),
            ("mysql.user", "admin"),
            ("cassandra.user", ""),
            ("cassandra.jvm.options", "-Xms8g -Xmx8g"),
            ("elasticsearch.jvm.options", "-Xms4g -Xmx4g"),
            ("sysdigcloud.jvm.options", "-Xms2g -Xmx6g"),
            ("cassandra.cluster.name", "sysdigcloud"),
            ("cassandra.resource.request.cpu", "500m"),
            ("cassandra.resource.request.memory", "2Gi"),
            ("cassandra.resource.limits.cpu", "2000m"),
            ("cassandra.resource.limits.memory", "4Gi"),
            ("cassandra.seed.provider", "io.k8s.cassandra.KubernetesSeedProvider"),
            ("cassandra.endpoint.snitch", "GossipingPropertyFileSnitch"),
            ("cassandra.start.rpc", "true"),
            ("cassandra.secure", "false"),
            ("cassandra.ssl.enabled", "false"),
            ("cassandra.ssl.ciphers", ""),
            ("cassandra.port", "9042"),
            ("cassandra.replication.factor", "3"),
            ("sysdigcloud.captures.cassandra.storage", "true"),
            ("smtp.server", ""),
            ("smtp.server.port", "25"),
            ("smtp.tls", "false"),
            ("smtp.ssl", "false"),
            ("sysdigcloud.logging.stdout", "true"),
            ("sysdigcloud.restrict.password.login", "false"),
            ("sysdigcloud.ldap.enabled", "false"),
            ("sysdigcloud.ldap.group.membership.filter", ""),
        ] {
            assert_eq!(d.get(k).map(String::as_str), Some(v), "{k}");
        }
    }

    #[test]
    fn snitch_follows_the_cloud() {
        for (cloud, snitch) in [
            (Cloud::Aws, "Ec2Snitch"),
            (Cloud::Gcp, "GoogleCloudSnitch"),
            (Cloud::Azure, "GossipingPropertyFileSnitch"),
        ] {
            let mut cx = Context::default();
            cx.platform.cloud = cloud;
            assert_eq!(data(&build(&SdcConfigParams::default(), &cx))["cassandra.endpoint.snitch"], snitch);
        }
        let p = with(|p| p.cassandra.endpoint_snitch = Some("GossipingPropertyFileSnitch".into()));
        let mut cx = Context::default();
        cx.platform.cloud = Cloud::Aws;
        assert_eq!(data(&build(&p, &cx))["cassandra.endpoint.snitch"], "GossipingPropertyFileSnitch");
    }

    #[test]
    fn parameters_reach_their_keys() {
        let p = with(|p| {
            p.endpoints.api_url = "https://sysdig.example.com".into();
            p.endpoints.collector_endpoint = "collector.example.com".into();
            p.endpoints.collector_port = 31063;
            p.smtp.server = "smtp.example.com".into();
            p.smtp.port = 587;
            p.smtp.tls = true;
            p.smtp.from_address = "sysdig@example.com".into();
            p.auth.oauth_allowed_domains = vec!["example.com".into(), "example.org".into()];
            p.cassandra.ssl_ciphers = vec!["A".into(), "B".into()];
            p.cassandra.resources.limits.memory = Quantity::from("8Gi");
            p.auth.ldap.enabled = true;
            p.auth.ldap.endpoint = "ldaps://ldap.example.com:636".into();
            p.auth.ldap.root_dn = "dc=example,dc=com".into();
        });
        let d = data(&build(&p, &Context::default()));
        assert_eq!(d["api.url"], "https://sysdig.example.com");
        assert_eq!(d["collector.endpoint"], "collector.example.com");
        assert_eq!(d["collector.port"], "31063");
        assert_eq!(d["smtp.server.port"], "587");
        assert_eq!(d["smtp.tls"], "true");
        assert_eq!(d["sysdigcloud.oauth.allowed.domains.list"], "example.com,example.org");
        assert_eq!(d["cassandra.ssl.ciphers"], "A,B");
        assert_eq!(d["cassandra.resource.limits.memory"], "8Gi");
        assert_eq!(d["sysdigcloud.ldap.enabled"], "true");
        assert_eq!(d["sysdigcloud.ldap.root.dn"], "dc=example,dc=com");
    }

    #[test]
    fn sentinel_mode_adds_the_jvm_flags() {
        let p = with(|p| p.redis.sentinel = true);
        let d = data(&build(&p, &Context::default()));
        assert_eq!(
            d["sysdigcloud.jvm.options"],
            "-Xms2g -Xmx6g -Ddraios.redis.useSentinel=true -Ddraios.redis.master=sdc-redis \
             -Ddraios.redis.sentinels.0=sdc-redis-sentinel:26379"
        );
    }

    #[test]
    fn secrets_file_renders_the_secrets_and_no_config_map_holds_them() {
        let cx = cx_with_secrets();
        assert!(SdcConfig::externals(&SdcConfigParams::default(), &cx).is_empty());
        let objects = build(&SdcConfigParams::default(), &cx);
        let keys: Vec<&str> = objects.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(keys, ["config", "license", "pullSecret", "secrets"]);
        let b64 = |s: &str| {
            serde_json::to_value(ByteString(s.as_bytes().to_vec()))
                .expect("serializes")
                .as_str()
                .unwrap_or("")
                .to_string()
        };
        let license = find(&objects, "license");
        assert_eq!(license["metadata"]["name"], "sysdigcloud-license");
        assert_eq!(license["type"], "Opaque");
        assert_eq!(license["data"]["license"], b64("LICENSE-abc123"));
        let pull = find(&objects, "pullSecret");
        assert_eq!(pull["type"], "kubernetes.io/dockerconfigjson");
        assert_eq!(pull["data"][".dockerconfigjson"], b64(DOCKER_JSON));
        let backend = find(&objects, "secrets");
        assert_eq!(backend["metadata"]["name"], "sysdigcloud-secrets");
        let keys: Vec<&String> = backend["data"].as_object().expect("data").keys().collect();
        assert_eq!(keys, ["default-user-password", "smtp-password"]);
        assert_eq!(backend["data"]["default-user-password"], b64("s3cr3t-admin"));
        // The MySQL and Redis Secrets belong to sdc_mysql and sdc_redis.
        assert!(objects.iter().all(|o| o.name() != "sdc-mysql" && o.name() != "sdc-redis"));

        // No ConfigMap holds a password, token, key or license: no key names one (by its
        // last word: `sysdigcloud.restrict.password.login` is a switch, not a password) and
        // no value is a secret value.
        for o in objects.iter().filter(|o| o.kind() == "ConfigMap") {
            for (k, v) in o.value["data"].as_object().expect("data") {
                let last = k.rsplit(['.', '-', '_']).next().unwrap_or_default();
                assert!(
                    !["password", "secret", "license", "token", "key"].contains(&last),
                    "ConfigMap key `{k}` holds a {last}"
                );
                for secret in secrets().values() {
                    assert!(!v.as_str().unwrap_or_default().contains(secret.as_str()), "`{k}` holds a secret value");
                }
            }
        }
    }

    #[test]
    fn pull_secret_is_accepted_as_json_too() {
        let mut cx = Context::default();
        cx.secrets.insert("sdc".into(), BTreeMap::from([("pull-secret".to_string(), DOCKER_JSON.to_string())]));
        let objects = build(&SdcConfigParams::default(), &cx);
        let b64 = serde_json::to_value(ByteString(DOCKER_JSON.as_bytes().to_vec())).expect("serializes");
        assert_eq!(find(&objects, "pullSecret")["data"][".dockerconfigjson"], b64);
        // Only what was given is rendered; the rest stays external.
        let ext: Vec<String> =
            SdcConfig::externals(&SdcConfigParams::default(), &cx).into_iter().map(|(_, _, n)| n).collect();
        assert_eq!(ext, ["sysdigcloud-license", "sysdigcloud-secrets"]);
    }

    #[test]
    fn bad_pull_secret_and_missing_default_password_are_errors() {
        let err = |k: &str, v: &str| {
            let mut cx = Context::default();
            cx.secrets.insert("sdc".into(), BTreeMap::from([(k.to_string(), v.to_string())]));
            SdcConfig::build(&SdcConfigParams::default(), &cx).expect_err("rejected")
        };
        let e = err("pull-secret", "not base64 at all!");
        assert_eq!(path_of(&e), "secrets.sdc.pull-secret");
        assert!(!e.helps().is_empty());
        let e = err("pull-secret", "eyJmb28iOiAxfQ=="); // {"foo": 1}
        assert!(e.to_string().contains("auths"), "{e}");
        let e = err("smtp-password", "x");
        assert_eq!(path_of(&e), "secrets.sdc.default-user-password");
        let e = err("license", "  ");
        assert_eq!(path_of(&e), "secrets.sdc.license");
    }

    #[test]
    fn base64_decodes_with_and_without_padding() {
        assert_eq!(base64_decode("aGVsbG8=").as_deref(), Some(&b"hello"[..]));
        assert_eq!(base64_decode("aGVsbG8").as_deref(), Some(&b"hello"[..]));
        assert_eq!(base64_decode("aGVs\nbG8=").as_deref(), Some(&b"hello"[..]));
        assert!(base64_decode("a=b").is_none());
        assert!(base64_decode("!!").is_none());
    }

    #[test]
    fn bad_parameters_are_errors() {
        let err = |p: SdcConfigParams| SdcConfig::build(&p, &Context::default()).expect_err("rejected");
        for (p, path) in [
            (with(|p| p.endpoints.api_url = "sdc-api:443".into()), "sdc_config.endpoints.api_url"),
            (with(|p| p.endpoints.collector_port = 0), "sdc_config.endpoints.collector_port"),
            (with(|p| p.endpoints.redis_endpoint = String::new()), "sdc_config.endpoints.redis_endpoint"),
            (with(|p| p.cassandra.replication_factor = 0), "sdc_config.cassandra.replication_factor"),
            (with(|p| p.cassandra.ssl_ciphers = vec!["A,B".into()]), "sdc_config.cassandra.ssl_ciphers"),
            (with(|p| p.cassandra.resources.limits.cpu = None), "sdc_config.cassandra.resources"),
            (
                with(|p| {
                    p.smtp.tls = true;
                    p.smtp.ssl = true;
                }),
                "sdc_config.smtp.ssl",
            ),
            (with(|p| p.smtp.server = "smtp.example.com".into()), "sdc_config.smtp.from_address"),
            (with(|p| p.auth.default_user = "admin".into()), "sdc_config.auth.default_user"),
            (with(|p| p.auth.ldap.enabled = true), "sdc_config.auth.ldap.endpoint"),
            (
                with(|p| p.auth.oauth_allowed_domains = vec!["a.com,b.com".into()]),
                "sdc_config.auth.oauth_allowed_domains",
            ),
        ] {
            let e = err(p);
            assert_eq!(path_of(&e), path);
            assert!(!e.helps().is_empty(), "{path}: no help");
        }
    }

    #[test]
    fn checksum_follows_the_data() {
        let cx = Context::default();
        let base = config_checksum(&SdcConfigParams::default(), &cx);
        assert_eq!(base.len(), 64);
        assert_eq!(base, config_checksum(&SdcConfigParams::default(), &cx));
        assert_ne!(base, config_checksum(&with(|p| p.smtp.port = 587), &cx));
    }

    #[test]
    fn every_object_round_trips() {
        for mut o in build(&SdcConfigParams::default(), &cx_with_secrets()) {
            let before = o.value.clone();
            o.check_round_trip().unwrap_or_else(|e| panic!("{}: {e}", o.key));
            assert_eq!(before, o.value, "{} changed in the round trip", o.key);
        }
    }

    #[test]
    fn full_render_with_a_secrets_file() {
        let mut s = Stack::new();
        s.platform("eks", "test").expect("eks exists");
        s.set("platform.components.sdc_config=true", false).expect("a valid --set");
        s.set("sdc_config.smtp.server=smtp.example.com", false).expect("a valid --set");
        s.set("sdc_config.smtp.from_address=sysdig@example.com", false).expect("a valid --set");
        let text = "sdc:\n  license: LICENSE-abc123\n  default-user-password: s3cr3t\n";
        s.secrets("sdc-secrets.yaml", text).expect("a valid secrets file");
        let rendered = s.render(&[&SdcConfig]).unwrap_or_else(|e| panic!("{}", e.render()));
        let cm = rendered.objects.iter().find(|o| o.name() == CONFIG_MAP).expect("the ConfigMap");
        assert_eq!(cm.value["data"]["smtp.server"], "smtp.example.com");
        assert_eq!(cm.value["data"]["cassandra.endpoint.snitch"], "Ec2Snitch");
        assert!(rendered.objects.iter().any(|o| o.kind() == "Secret" && o.name() == "sysdigcloud-license"));
        assert!(!rendered.to_yaml().contains("s3cr3t"), "secret values are base64 in Secrets only");
        let ns = rendered.objects.iter().find(|o| o.kind() == "Namespace" && o.name() == "sysdigcloud");
        assert!(ns.is_some(), "the namespace is rendered");
    }

    #[test]
    fn defaults_serialize_and_read_back() {
        let json = serde_json::to_value(SdcConfigParams::default()).expect("serializes");
        assert_eq!(json["endpoints"]["collector_port"], 6443);
        let back: SdcConfigParams = serde_json::from_value(json).expect("reads back");
        assert_eq!(back, SdcConfigParams::default());
        let e = serde_json::from_value::<SdcConfigParams>(serde_json::json!({"smtp": {"password": "x"}}));
        assert!(e.is_err(), "a password is not a parameter");
    }
}
