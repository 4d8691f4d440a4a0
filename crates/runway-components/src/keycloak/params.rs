//! Parameters of Keycloak and its PostgreSQL, the checks on them, and the checks on the
//! secret values given at render time.
//!
//! Validation runs at the start of `build`; every error names its key path
//! (`keycloak.realm`) and says how to fix it.

use std::collections::BTreeMap;

use runway_core::{Error, KeyPath};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::pod::Resources;
use crate::quantity::Quantity;

/// The Keycloak image (the project's own, Quarkus distribution).
pub const DEFAULT_IMAGE: &str = "quay.io/keycloak/keycloak:26.7.4";
/// The PostgreSQL image of Keycloak's database (Docker's official image, Debian based,
/// `postgres` is uid 999).
pub const DEFAULT_POSTGRESQL_IMAGE: &str = "postgres:17.11";

/// The keys of the `keycloak` Secret, and of `keycloak` in a secrets file. `client_secret`
/// may instead come from `oauth2_proxy.client_secret` of the secrets file (the same
/// value: Keycloak's client is oauth2-proxy), as BKPR wired it.
pub const SECRET_KEYS: [&str; 3] = ["admin_password", "client_secret", "db_password"];

/// Keycloak: the OpenID Connect provider oauth2-proxy logs users in with on platforms
/// without a cloud identity provider (onprem, as BKPR's generic platform).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct KeycloakParams {
    /// Keycloak pods. They share sessions through the database and their embedded
    /// Infinispan caches (JGroups discovery through the database). Default: `1` (BKPR's).
    pub replicas: u32,
    /// The image. Default: `quay.io/keycloak/keycloak:26.7.4`.
    pub image: String,
    /// Start with `--optimized`, for an image you built with `kc.sh build --db=postgres
    /// --health-enabled=true --metrics-enabled=true`. The root filesystem is then
    /// read-only. With the stock image (`false`), Keycloak rebuilds its Quarkus
    /// application at start, under `/opt/keycloak/lib`, so its root filesystem must stay
    /// writable (said in the pod's `runway.dev/security-exception`). Default: `false`.
    pub optimized: bool,
    /// Requests and limits of Keycloak. The JVM sizes its heap from the memory limit.
    /// Default: requests `cpu: 250m, memory: 1536Mi`, limits `memory: 2Gi`.
    pub resources: Resources,
    /// The host label under the DNS zone: Keycloak answers at `https://<host_label>.<dns_zone>`
    /// and its issuer is `https://<host_label>.<dns_zone>/realms/<realm>`. BKPR's generic
    /// platform used `id`. Default: `keycloak`.
    pub host_label: String,
    /// The realm created at the first start (BKPR's `BKPR`). Letters, digits, `-` and `_`.
    /// Default: `BKPR`.
    pub realm: String,
    /// The OpenID Connect client of oauth2-proxy in the realm. Default: `null`:
    /// `oauth2_proxy.client_id` of the secrets file when it is given there, else
    /// `oauth2-proxy`. It must equal the client id oauth2-proxy is given.
    pub client_id: Option<String>,
    /// The user name of the administrator created in the `master` realm at the first
    /// start (its password is the Secret's `admin_password`). Default: `admin` (BKPR's).
    pub admin_user: String,
    /// Keycloak's database.
    pub postgresql: PostgresqlParams,
}

impl Default for KeycloakParams {
    fn default() -> Self {
        KeycloakParams {
            replicas: 1,
            image: DEFAULT_IMAGE.into(),
            optimized: false,
            resources: Resources::new("250m", "1536Mi", None, "2Gi"),
            host_label: "keycloak".into(),
            realm: "BKPR".into(),
            client_id: None,
            admin_user: "admin".into(),
            postgresql: PostgresqlParams::default(),
        }
    }
}

/// Keycloak's PostgreSQL: one pod with its volume (`data-keycloak-postgresql-0`).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct PostgresqlParams {
    /// The image. Default: `postgres:17.11`.
    pub image: String,
    /// Size of the data volume. Default: `8Gi`.
    pub storage: Quantity,
    /// Requests and limits. Default: requests `cpu: 100m, memory: 256Mi`, limits `memory: 1Gi`.
    pub resources: Resources,
}

impl Default for PostgresqlParams {
    fn default() -> Self {
        PostgresqlParams {
            image: DEFAULT_POSTGRESQL_IMAGE.into(),
            storage: "8Gi".into(),
            resources: Resources::new("100m", "256Mi", None, "1Gi"),
        }
    }
}

/// `keycloak.<key>`.
pub(crate) fn at(key: &str) -> KeyPath {
    KeyPath::root().key("keycloak").key(key)
}

fn check_image(image: &str, path: KeyPath) -> Result<(), Error> {
    crate::images::check_image(image, DEFAULT_IMAGE, path)
}

/// A DNS label: lowercase letters, digits and `-`, not at either end, at most 63 characters.
pub(crate) fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

impl KeycloakParams {
    /// Checks every parameter; the first problem is returned with its key path.
    pub fn validate(&self) -> Result<(), Error> {
        if self.replicas == 0 || i32::try_from(self.replicas).is_err() {
            return Err(Error::invalid(format!("replicas `{}` is out of range", self.replicas))
                .help("use 1, or 2 and more for a login that survives the loss of a node")
                .with_path(at("replicas")));
        }
        check_image(&self.image, at("image"))?;
        check_image(&self.postgresql.image, at("postgresql").key("image"))?;
        for (key, r) in [("resources", &self.resources), ("postgresql", &self.postgresql.resources)] {
            r.check().map_err(|msg| {
                let path = if key == "postgresql" { at(key).key("resources") } else { at(key) };
                Error::invalid(msg).help("raise the limit or lower the request").with_path(path)
            })?;
        }
        if self.postgresql.storage.to_f64() <= 0.0 {
            return Err(Error::invalid(format!("storage `{}` must be more than zero", self.postgresql.storage))
                .help("give the database room, e.g. `8Gi`")
                .with_path(at("postgresql").key("storage")));
        }
        if !is_dns_label(&self.host_label) {
            return Err(Error::invalid(format!("host label `{}` is not a DNS label", self.host_label))
                .help("use lowercase letters, digits and `-`, e.g. `keycloak` or BKPR's `id`")
                .with_path(at("host_label")));
        }
        let realm_ok = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        if self.realm.is_empty() || !self.realm.chars().all(realm_ok) || self.realm == "master" {
            return Err(Error::invalid(format!("realm `{}` is not allowed", self.realm))
                .help("use letters, digits, `-` and `_`, and not `master` (Keycloak's administration realm)")
                .with_path(at("realm")));
        }
        if let Some(id) = &self.client_id {
            if id.trim().is_empty() || id.chars().any(|c| c.is_whitespace() || c == '"' || c == '\\') {
                return Err(Error::invalid(format!("client id `{id}` is not allowed"))
                    .help("use a plain identifier such as `oauth2-proxy`")
                    .with_path(at("client_id")));
            }
        }
        let user_ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@');
        if self.admin_user.is_empty() || !self.admin_user.chars().all(user_ok) {
            return Err(Error::invalid(format!("admin user `{}` is not allowed", self.admin_user))
                .help("use letters, digits, `-`, `_`, `.` and `@`, e.g. `admin`")
                .with_path(at("admin_user")));
        }
        Ok(())
    }
}

/// The secret values of the `keycloak` Secret when they are given at render time:
/// `keycloak.admin_password` and `keycloak.db_password`, and `keycloak.client_secret` or
/// else `oauth2_proxy.client_secret`. `None` when no `keycloak` block is given (the Secret
/// is then expected in the namespace). Messages name keys, never values.
pub fn given_secrets(
    own: Option<&BTreeMap<String, String>>,
    oauth2_proxy: Option<&BTreeMap<String, String>>,
) -> Result<Option<BTreeMap<String, String>>, Error> {
    let Some(own) = own else { return Ok(None) };
    let from_file = "in the secrets file (`--secrets-file`)";
    for key in own.keys() {
        if !SECRET_KEYS.contains(&key.as_str()) {
            let mut e = Error::invalid(format!("`keycloak.{key}` {from_file} is not a secret of Keycloak"))
                .note("its secrets are `admin_password`, `client_secret` and `db_password`");
            if let Some(m) = runway_core::suggest::best_match(key, SECRET_KEYS) {
                e = e.help(format!("did you mean `{m}`?"));
            }
            return Err(e);
        }
    }
    let value = |map: Option<&BTreeMap<String, String>>, key: &str| {
        map.and_then(|m| m.get(key)).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
    };
    let mut out = BTreeMap::new();
    for key in SECRET_KEYS {
        let v = value(Some(own), key).or_else(|| if key == "client_secret" { value(oauth2_proxy, key) } else { None });
        let Some(v) = v else {
            let help = if key == "client_secret" {
                "give `keycloak.client_secret`, or `oauth2_proxy.client_secret` (the same value)".to_string()
            } else {
                format!("give `keycloak.{key}`, or no `keycloak` block and create the Secret `keycloak` yourself")
            };
            return Err(Error::invalid(format!("`keycloak.{key}` is missing {from_file}")).help(help));
        };
        out.insert(key.to_string(), v);
    }
    Ok(Some(out))
}
