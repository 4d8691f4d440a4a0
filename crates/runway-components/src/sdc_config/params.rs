//! Parameters of the backend configuration, grouped as sdc-kubernetes' `etc/sdc-config.yaml`
//! grouped its keys (endpoints, JVM options, Cassandra, SMTP, auth and LDAP, logging), and
//! their validation. Each field documents the ConfigMap key it renders and its default,
//! which is the original's. Passwords are not parameters: they come from the secrets file.

use runway_core::{Error, KeyPath};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::pod::Resources;
use crate::sdc::services;

/// The non-secret settings of the Sysdig backend.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SdcConfigParams {
    /// Where the backend finds its datastores and where agents and users find it.
    pub endpoints: Endpoints,
    /// JVM options of the backend, Cassandra and Elasticsearch.
    pub jvm: JvmOptions,
    /// Cassandra settings.
    pub cassandra: CassandraSettings,
    /// MySQL settings.
    pub mysql: MysqlSettings,
    /// Redis settings.
    pub redis: RedisSettings,
    /// Outgoing mail for notifications.
    pub smtp: SmtpSettings,
    /// The default user, password login, Google OAuth and LDAP.
    pub auth: AuthSettings,
    /// Application logging.
    pub logging: LoggingSettings,
}

/// Endpoints (the original's `#endpoints` block).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Endpoints {
    /// `api.url`: the API's https URL. Set it to the public address when the API is
    /// reached from outside the cluster (the load balancer's name, or the Ingress host).
    /// Default: `https://sdc-api:443`.
    pub api_url: String,
    /// `collector.endpoint`: the address agents connect to. Set it to the collector load
    /// balancer's name (or a node address with `NodePort`) for agents outside the
    /// cluster. Default: `sdc-collector`.
    pub collector_endpoint: String,
    /// `collector.port`: the collector's port (the node port with `NodePort`).
    /// Default: `6443`.
    pub collector_port: u16,
    /// `elasticsearch.url`. Default: `http://sdc-elasticsearch`.
    pub elasticsearch_url: String,
    /// `redis.endpoint`. Default: `sdc-redis`.
    pub redis_endpoint: String,
    /// `mysql.endpoint`. Default: `sdc-mysql`.
    pub mysql_endpoint: String,
    /// `cassandra.endpoint`. Default: `sdc-cassandra`.
    pub cassandra_endpoint: String,
}

impl Default for Endpoints {
    fn default() -> Self {
        Endpoints {
            api_url: "https://sdc-api:443".into(),
            collector_endpoint: "sdc-collector".into(),
            collector_port: 6443,
            elasticsearch_url: format!("http://{}", services::ELASTICSEARCH),
            redis_endpoint: services::REDIS.into(),
            mysql_endpoint: services::MYSQL.into(),
            cassandra_endpoint: services::CASSANDRA.into(),
        }
    }
}

/// JVM options (the original's `#jvm options` block).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct JvmOptions {
    /// `sysdigcloud.jvm.options`: the api, collector and worker JVMs (`JVM_EXTRA_OPTS`).
    /// Default: `-Xms2g -Xmx6g`.
    pub sysdigcloud: String,
    /// `cassandra.jvm.options`. Default: `-Xms8g -Xmx8g`.
    pub cassandra: String,
    /// `elasticsearch.jvm.options`. Default: `-Xms4g -Xmx4g`.
    pub elasticsearch: String,
}

impl Default for JvmOptions {
    fn default() -> Self {
        JvmOptions {
            sysdigcloud: "-Xms2g -Xmx6g".into(),
            cassandra: "-Xms8g -Xmx8g".into(),
            elasticsearch: "-Xms4g -Xmx4g".into(),
        }
    }
}

/// Cassandra (the original's `#Cassandra` block, plus `cassandra.user`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct CassandraSettings {
    /// `cassandra.user` (with `cassandra.secure`); its password is the secrets file's
    /// `cassandra-password`. Default: `""`.
    pub user: String,
    /// `cassandra.cluster.name`. Default: `sysdigcloud`.
    pub cluster_name: String,
    /// `cassandra.resource.request.cpu|memory` and `cassandra.resource.limits.cpu|memory`.
    /// Default: requests `cpu: 500m, memory: 2Gi`, limits `cpu: 2000m, memory: 4Gi`.
    pub resources: Resources,
    /// `cassandra.service`: the headless Service of the ring. Default: `sdc-cassandra`.
    pub service: String,
    /// `cassandra.seed.provider`. Default: `io.k8s.cassandra.KubernetesSeedProvider`.
    pub seed_provider: String,
    /// `cassandra.endpoint.snitch`. Default: `null`, the platform's: `Ec2Snitch` on aws
    /// (the original wrote `EC2Snitch`, a class name Cassandra does not have),
    /// `GoogleCloudSnitch` on gcp, `GossipingPropertyFileSnitch` elsewhere.
    pub endpoint_snitch: Option<String>,
    /// `cassandra.start.rpc`: start the Thrift server. Default: `true`.
    pub start_rpc: bool,
    /// `cassandra.secure`: authentication and authorization. Default: `false`.
    pub secure: bool,
    /// `cassandra.ssl.enabled`: internode and client encryption. Default: `false`.
    pub ssl_enabled: bool,
    /// `cassandra.ssl.ciphers` (comma-joined). Default: `[]`.
    pub ssl_ciphers: Vec<String>,
    /// `cassandra.port`: the CQL port. Default: `9042`.
    pub port: u16,
    /// `cassandra.replication.factor`, applied when the keyspace is created. Default: `3`.
    pub replication_factor: u32,
    /// `sysdigcloud.captures.cassandra.storage`: keep captures in Cassandra instead of S3.
    /// Default: `true`.
    pub captures_storage: bool,
}

impl Default for CassandraSettings {
    fn default() -> Self {
        CassandraSettings {
            user: String::new(),
            cluster_name: "sysdigcloud".into(),
            resources: Resources::new("500m", "2Gi", Some("2000m"), "4Gi"),
            service: services::CASSANDRA.into(),
            seed_provider: "io.k8s.cassandra.KubernetesSeedProvider".into(),
            endpoint_snitch: None,
            start_rpc: true,
            secure: false,
            ssl_enabled: false,
            ssl_ciphers: Vec::new(),
            port: services::CASSANDRA_CQL_PORT,
            replication_factor: 3,
            captures_storage: true,
        }
    }
}

/// MySQL.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct MysqlSettings {
    /// `mysql.user`: the backend's user; its password is the secrets file's
    /// `mysql-password`. Default: `admin`.
    pub user: String,
}

impl Default for MysqlSettings {
    fn default() -> Self {
        MysqlSettings { user: "admin".into() }
    }
}

/// Redis.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RedisSettings {
    /// Connect through Redis Sentinel (with `sdc_redis.mode: sentinel`): adds
    /// `-Ddraios.redis.useSentinel=true -Ddraios.redis.master=MASTER
    /// -Ddraios.redis.sentinels.0=sdc-redis-sentinel:26379` to `sysdigcloud.jvm.options`,
    /// as Sysdig documents for HA Redis. Default: `false`.
    pub sentinel: bool,
    /// The master name Sentinel monitors (must be `sdc_redis`'s). Default: `sdc-redis`.
    pub sentinel_master: String,
}

impl Default for RedisSettings {
    fn default() -> Self {
        RedisSettings { sentinel: false, sentinel_master: services::REDIS.into() }
    }
}

/// SMTP (the original's `#smtp` block); the password is the secrets file's `smtp-password`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpSettings {
    /// `smtp.server`; empty disables email notifications. Default: `""`.
    pub server: String,
    /// `smtp.server.port`. Default: `25`.
    pub port: u16,
    /// `smtp.user`; empty when the server needs no authentication. Default: `""`.
    pub user: String,
    /// `smtp.tls` (STARTTLS). Default: `false`.
    pub tls: bool,
    /// `smtp.ssl` (implicit TLS). Default: `false`.
    pub ssl: bool,
    /// `smtp.from.address`. Default: `""`.
    pub from_address: String,
}

impl Default for SmtpSettings {
    fn default() -> Self {
        SmtpSettings {
            server: String::new(),
            port: 25,
            user: String::new(),
            tls: false,
            ssl: false,
            from_address: String::new(),
        }
    }
}

/// Users and login (the original's `#Auth and LDAP` block and the default user).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    /// `sysdigcloud.default.user`: the super admin created on first start; its password
    /// is the secrets file's `default-user-password`. Default: `test@sysdig.com`.
    pub default_user: String,
    /// `sysdigcloud.restrict.password.login`: only the super admin logs in with a password,
    /// everyone else through the identity provider. Default: `false`.
    pub restrict_password_login: bool,
    /// `sysdigcloud.oauth.allowed.domains.list` (comma-joined). Default: `[]`.
    pub oauth_allowed_domains: Vec<String>,
    /// `sysdigcloud.google.oauth.client.id`; the client secret is the secrets file's
    /// `google-oauth-client-secret`. Default: `""`.
    pub google_oauth_client_id: String,
    /// LDAP (`sysdigcloud.ldap.*`).
    pub ldap: LdapSettings,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            default_user: "test@sysdig.com".into(),
            restrict_password_login: false,
            oauth_allowed_domains: Vec::new(),
            google_oauth_client_id: String::new(),
            ldap: LdapSettings::default(),
        }
    }
}

/// LDAP; the manager's password is the secrets file's `ldap-manager-password`. Every field
/// defaults to the original's (`false` or `""`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct LdapSettings {
    /// `sysdigcloud.ldap.enabled`. Default: `false`.
    pub enabled: bool,
    /// `sysdigcloud.ldap.endpoint` (e.g. `ldaps://1.2.3.4:636`). Default: `""`.
    pub endpoint: String,
    /// `sysdigcloud.ldap.manager.dn`. Default: `""`.
    pub manager_dn: String,
    /// `sysdigcloud.ldap.root.dn`. Default: `""`.
    pub root_dn: String,
    /// `sysdigcloud.ldap.user.search.base`. Default: `""`.
    pub user_search_base: String,
    /// `sysdigcloud.ldap.user.search.filter`. Default: `""`.
    pub user_search_filter: String,
    /// `sysdigcloud.ldap.group.search.base`. Default: `""`.
    pub group_search_base: String,
    /// `sysdigcloud.ldap.group.search.filter`. Default: `""`.
    pub group_search_filter: String,
    /// `sysdigcloud.ldap.group.membership.filter`. Default: `""`.
    pub group_membership_filter: String,
}

/// Logging (the original's `#logging` block).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct LoggingSettings {
    /// `sysdigcloud.logging.stdout`: application logs to stdout (where the cluster's log
    /// collector reads them). Default: `true`.
    pub stdout: bool,
}

impl Default for LoggingSettings {
    fn default() -> Self {
        LoggingSettings { stdout: true }
    }
}

fn at(path: &[&str]) -> KeyPath {
    path.iter().fold(KeyPath::root().key("sdc_config"), |p, k| p.key(k))
}

fn not_empty(value: &str, path: &[&str], example: &str) -> Result<(), Error> {
    if value.trim().is_empty() {
        return Err(Error::invalid(format!("`{}` is empty", path.last().copied().unwrap_or_default()))
            .help(format!("give a value, e.g. `{example}`"))
            .with_path(at(path)));
    }
    Ok(())
}

fn url(value: &str, path: &[&str], schemes: &[&str], example: &str) -> Result<(), Error> {
    let ok = schemes
        .iter()
        .any(|s| value.strip_prefix(s).and_then(|r| r.strip_prefix("://")).is_some_and(|h| !h.is_empty()));
    if !ok || value.chars().any(char::is_whitespace) {
        return Err(Error::invalid(format!("`{value}` is not a {} URL", schemes.join(" or ")))
            .help(format!("write e.g. `{example}`"))
            .with_path(at(path)));
    }
    Ok(())
}

fn port(value: u16, path: &[&str]) -> Result<(), Error> {
    if value == 0 {
        return Err(Error::invalid("port 0 is not a port")
            .help("give the port number, 1 to 65535")
            .with_path(at(path)));
    }
    Ok(())
}

impl SdcConfigParams {
    /// Checks every parameter; the first problem is returned with its key path.
    pub fn validate(&self) -> Result<(), Error> {
        let e = &self.endpoints;
        url(&e.api_url, &["endpoints", "api_url"], &["https"], "https://sysdig.example.com")?;
        url(&e.elasticsearch_url, &["endpoints", "elasticsearch_url"], &["http", "https"], "http://sdc-elasticsearch")?;
        not_empty(&e.collector_endpoint, &["endpoints", "collector_endpoint"], "collector.sysdig.example.com")?;
        not_empty(&e.redis_endpoint, &["endpoints", "redis_endpoint"], services::REDIS)?;
        not_empty(&e.mysql_endpoint, &["endpoints", "mysql_endpoint"], services::MYSQL)?;
        not_empty(&e.cassandra_endpoint, &["endpoints", "cassandra_endpoint"], services::CASSANDRA)?;
        port(e.collector_port, &["endpoints", "collector_port"])?;

        let c = &self.cassandra;
        not_empty(&c.cluster_name, &["cassandra", "cluster_name"], "sysdigcloud")?;
        not_empty(&c.service, &["cassandra", "service"], services::CASSANDRA)?;
        not_empty(&c.seed_provider, &["cassandra", "seed_provider"], "io.k8s.cassandra.KubernetesSeedProvider")?;
        port(c.port, &["cassandra", "port"])?;
        if c.replication_factor == 0 {
            return Err(Error::invalid("a keyspace needs a replication factor of at least 1")
                .help("use `3` (one copy per zone of a three-node ring)")
                .with_path(at(&["cassandra", "replication_factor"])));
        }
        if c.resources.limits.cpu.is_none() || c.resources.requests.cpu.is_none() {
            return Err(Error::invalid("the original's Cassandra keys hold a CPU request and limit")
                .help("give both, e.g. `requests: {cpu: 500m}` and `limits: {cpu: 2000m}`")
                .with_path(at(&["cassandra", "resources"])));
        }
        c.resources.check().map_err(|msg| {
            Error::invalid(msg).help("raise the limit or lower the request").with_path(at(&["cassandra", "resources"]))
        })?;
        if c.endpoint_snitch.as_deref().is_some_and(|s| s.trim().is_empty()) {
            return Err(Error::invalid("`endpoint_snitch` is empty")
                .help("name a snitch (`GossipingPropertyFileSnitch`) or remove the key for the platform's")
                .with_path(at(&["cassandra", "endpoint_snitch"])));
        }
        if let Some(bad) = c.ssl_ciphers.iter().find(|s| s.trim().is_empty() || s.contains(',')) {
            return Err(Error::invalid(format!("`{bad}` is not one cipher suite"))
                .help("list one suite per item, e.g. `[TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384]`")
                .with_path(at(&["cassandra", "ssl_ciphers"])));
        }

        not_empty(&self.mysql.user, &["mysql", "user"], "admin")?;
        if self.redis.sentinel {
            not_empty(&self.redis.sentinel_master, &["redis", "sentinel_master"], services::REDIS)?;
        }

        let s = &self.smtp;
        port(s.port, &["smtp", "port"])?;
        if s.tls && s.ssl {
            return Err(Error::invalid("`tls` (STARTTLS) and `ssl` (implicit TLS) exclude each other")
                .help("use `ssl: true` with port 465, or `tls: true` with port 587")
                .with_path(at(&["smtp", "ssl"])));
        }
        if !s.server.is_empty() && s.from_address.trim().is_empty() {
            return Err(Error::invalid("mail needs a sender address once `smtp.server` is set")
                .help("set `from_address`, e.g. `sysdig@example.com`")
                .with_path(at(&["smtp", "from_address"])));
        }

        let a = &self.auth;
        not_empty(&a.default_user, &["auth", "default_user"], "admin@example.com")?;
        if !a.default_user.contains('@') {
            return Err(Error::invalid(format!("the default user `{}` is not an email address", a.default_user))
                .help("Sysdig logs users in by email, e.g. `admin@example.com`")
                .with_path(at(&["auth", "default_user"])));
        }
        if let Some(bad) = a.oauth_allowed_domains.iter().find(|d| d.trim().is_empty() || d.contains([',', ' '])) {
            return Err(Error::invalid(format!("`{bad}` is not one domain"))
                .help("list one domain per item, e.g. `[example.com, example.org]`")
                .with_path(at(&["auth", "oauth_allowed_domains"])));
        }
        if a.ldap.enabled {
            url(&a.ldap.endpoint, &["auth", "ldap", "endpoint"], &["ldap", "ldaps"], "ldaps://ldap.example.com:636")?;
            not_empty(&a.ldap.root_dn, &["auth", "ldap", "root_dn"], "dc=example,dc=com")?;
        }
        Ok(())
    }
}
