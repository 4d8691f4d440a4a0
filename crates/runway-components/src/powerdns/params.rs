//! Parameters of PowerDNS and its MariaDB Galera cluster, the checks on them, and the
//! checks on the secret values given at render time.
//!
//! Validation runs at the start of `build`; every error names its key path
//! (`powerdns.galera.replicas`) and says how to fix it.

use std::collections::BTreeMap;

use runway_core::{Error, KeyPath};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::pod::Resources;
use crate::quantity::Quantity;

/// The PowerDNS Authoritative Server image (PowerDNS's own, 5.0 series).
pub const DEFAULT_IMAGE: &str = "powerdns/pdns-auth-50:5.0.7";
/// The MariaDB image (Docker's official image; it ships Galera 4, mariadb-backup and socat).
pub const DEFAULT_GALERA_IMAGE: &str = "mariadb:11.8.6";
/// The Prometheus exporter of MariaDB (port 9104).
pub const DEFAULT_EXPORTER_IMAGE: &str = "prom/mysqld-exporter:v0.18.0";

/// The keys of the `powerdns` Secret (BKPR's): the API key external-dns uses, and the
/// password of PowerDNS's database user.
pub const SECRET_KEYS: [&str; 2] = ["api_key", "db_password"];
/// The keys of the `mariadb-galera` Secret (BKPR's): MariaDB's `root` password and the
/// password of the `mariabackup` user that state transfers between nodes use.
pub const GALERA_SECRET_KEYS: [&str; 2] = ["mariabackup_password", "root_password"];

/// PowerDNS: the authoritative DNS server external-dns writes the runtime's records to on
/// platforms without a cloud DNS (onprem, as BKPR's generic platform).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct PowerdnsParams {
    /// PowerDNS pods; they share the database, so any of them answers for every record.
    /// Default: `2` (BKPR's).
    pub replicas: u32,
    /// The image. Default: `powerdns/pdns-auth-50:5.0.7`.
    pub image: String,
    /// Requests and limits of PowerDNS. Default: requests `cpu: 50m, memory: 64Mi`,
    /// limits `memory: 256Mi`.
    pub resources: Resources,
    /// The zone PowerDNS serves and external-dns writes to; created (SOA and NS records)
    /// at the first start when it does not exist. Default: `null`, `config.dns_zone`.
    pub zone: Option<String>,
    /// The name server of the zone's SOA and NS records; the parent zone must delegate to
    /// it (with a glue record for the address of the Service `powerdns-dns`). Default:
    /// `null`, `ns1.<zone>`.
    pub nameserver: Option<String>,
    /// PowerDNS's database, a MariaDB Galera cluster (BKPR's `galera`).
    pub galera: GaleraParams,
}

impl Default for PowerdnsParams {
    fn default() -> Self {
        PowerdnsParams {
            replicas: 2,
            image: DEFAULT_IMAGE.into(),
            resources: Resources::new("50m", "64Mi", None, "256Mi"),
            zone: None,
            nameserver: None,
            galera: GaleraParams::default(),
        }
    }
}

/// The MariaDB Galera cluster `mariadb-galera` (BKPR's): every node holds all the data
/// and takes writes; a majority of nodes must be up.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct GaleraParams {
    /// Nodes: `1`, or `3` and more (two nodes lose their quorum with either). Default: `3`.
    pub replicas: u32,
    /// The MariaDB image. Default: `mariadb:11.8.6`.
    pub image: String,
    /// The exporter sidecar's image. Default: `prom/mysqld-exporter:v0.18.0`.
    pub exporter_image: String,
    /// Size of each node's volume (`data-mariadb-galera-N`). Default: `8Gi`.
    pub storage: Quantity,
    /// Requests and limits of MariaDB. Default: requests `cpu: 100m, memory: 512Mi`,
    /// limits `memory: 1Gi`.
    pub resources: Resources,
    /// Requests and limits of the exporter. Default: requests `cpu: 10m, memory: 32Mi`,
    /// limits `memory: 64Mi`.
    pub exporter_resources: Resources,
    /// InnoDB's buffer pool; at most half of `resources.limits.memory` (MariaDB also
    /// needs memory per connection and for Galera's write-set cache). Default: `256Mi`.
    pub buffer_pool: Quantity,
    /// After a crash of every node at once, no node knows it holds the latest state and
    /// none starts a new cluster on its own (each waits for a peer). Set this to the
    /// ordinal of the node with the highest recovered position (each node logs `Recovered
    /// position` while it waits) to let it bootstrap the cluster; remove it once the
    /// cluster is back. Default: `null`.
    pub force_bootstrap: Option<u32>,
}

impl Default for GaleraParams {
    fn default() -> Self {
        GaleraParams {
            replicas: 3,
            image: DEFAULT_GALERA_IMAGE.into(),
            exporter_image: DEFAULT_EXPORTER_IMAGE.into(),
            storage: "8Gi".into(),
            resources: Resources::new("100m", "512Mi", None, "1Gi"),
            exporter_resources: Resources::new("10m", "32Mi", None, "64Mi"),
            buffer_pool: "256Mi".into(),
            force_bootstrap: None,
        }
    }
}

/// `powerdns.<key>`.
pub(crate) fn at(key: &str) -> KeyPath {
    KeyPath::root().key("powerdns").key(key)
}

/// `powerdns.galera.<key>`.
pub(crate) fn galera_at(key: &str) -> KeyPath {
    at("galera").key(key)
}

/// A DNS name as PowerDNS stores it: lowercase labels of letters, digits and `-` (and
/// `_` for service labels), joined by `.`, no trailing dot.
pub(crate) fn is_dns_name(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').count() >= 2
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

fn check_image(image: &str, path: KeyPath) -> Result<(), Error> {
    crate::images::check_image(image, DEFAULT_IMAGE, path)
}

fn check_resources(r: &Resources, path: KeyPath) -> Result<(), Error> {
    r.check().map_err(|msg| Error::invalid(msg).help("raise the limit or lower the request").with_path(path))
}

impl PowerdnsParams {
    /// Checks every parameter; the first problem is returned with its key path.
    pub fn validate(&self) -> Result<(), Error> {
        if self.replicas == 0 || i32::try_from(self.replicas).is_err() {
            return Err(Error::invalid(format!("replicas `{}` is out of range", self.replicas))
                .help("use 2 or more, so DNS answers while a pod restarts")
                .with_path(at("replicas")));
        }
        check_image(&self.image, at("image"))?;
        check_resources(&self.resources, at("resources"))?;
        for (key, name) in [("zone", &self.zone), ("nameserver", &self.nameserver)] {
            if let Some(n) = name {
                if !is_dns_name(n) {
                    return Err(Error::invalid(format!("`{n}` is not a DNS name"))
                        .help("write lowercase labels joined by `.`, without a trailing dot, e.g. `ns1.example.com`")
                        .with_path(at(key)));
                }
            }
        }
        self.galera.validate()
    }
}

impl GaleraParams {
    /// Checks the Galera parameters.
    pub fn validate(&self) -> Result<(), Error> {
        let n = self.replicas;
        if n == 0 || n == 2 || i32::try_from(n).is_err() {
            return Err(Error::invalid(format!("replicas `{n}` cannot keep a Galera quorum"))
                .help("use 3 (or more) nodes, or 1 for a single node without failover")
                .note("a Galera cluster keeps going while a majority of its nodes is up; two nodes lose it with either")
                .with_path(galera_at("replicas")));
        }
        check_image(&self.image, galera_at("image"))?;
        check_image(&self.exporter_image, galera_at("exporter_image"))?;
        check_resources(&self.resources, galera_at("resources"))?;
        check_resources(&self.exporter_resources, galera_at("exporter_resources"))?;
        if self.storage.to_f64() <= 0.0 {
            return Err(Error::invalid(format!("storage `{}` must be more than zero", self.storage))
                .help("give each node room for the database, e.g. `8Gi`")
                .with_path(galera_at("storage")));
        }
        let mib = 1024.0 * 1024.0;
        let pool = self.buffer_pool.to_f64();
        if pool < 8.0 * mib || pool % mib != 0.0 {
            return Err(Error::invalid(format!(
                "buffer pool `{}` is not a whole number of mebibytes of at least 8Mi",
                self.buffer_pool
            ))
            .help("write e.g. `256Mi` or `1Gi`")
            .with_path(galera_at("buffer_pool")));
        }
        let limit = self.resources.limits.memory.to_f64();
        if pool > limit / 2.0 {
            return Err(Error::invalid(format!(
                "buffer pool `{}` is more than half of the memory limit `{}`",
                self.buffer_pool, self.resources.limits.memory
            ))
            .help(format!(
                "raise `resources.limits.memory` to at least `{}Mi` or lower `buffer_pool`",
                (pool * 2.0 / mib).ceil() as u64
            ))
            .with_path(galera_at("buffer_pool")));
        }
        if let Some(i) = self.force_bootstrap {
            if i >= n {
                return Err(Error::invalid(format!(
                    "force_bootstrap `{i}` is not a node: the nodes are 0 to {}",
                    n - 1
                ))
                .help("give the ordinal of the node with the highest recovered position, or remove it")
                .with_path(galera_at("force_bootstrap")));
            }
        }
        Ok(())
    }
}

/// The values of one Secret from a secrets file, `None` when none of its keys is given.
pub type GivenSecret = Option<BTreeMap<String, String>>;

/// The secret values given for `powerdns` at render time, split into the two Secrets:
/// `(powerdns, mariadb-galera)`, each `None` when none of its keys is given (the Secret is
/// then expected in the namespace). Messages name keys, never values.
pub fn given_secrets(values: Option<&BTreeMap<String, String>>) -> Result<(GivenSecret, GivenSecret), Error> {
    let Some(values) = values else { return Ok((None, None)) };
    let from_file = "in the secrets file (`--secrets-file`)";
    let all: Vec<&str> = SECRET_KEYS.iter().chain(GALERA_SECRET_KEYS.iter()).copied().collect();
    for key in values.keys() {
        if !all.contains(&key.as_str()) {
            let mut e = Error::invalid(format!("`powerdns.{key}` {from_file} is not a secret of PowerDNS"))
                .note("its secrets are `api_key` and `db_password` (Secret `powerdns`), `root_password` and `mariabackup_password` (Secret `mariadb-galera`)");
            if let Some(m) = runway_core::suggest::best_match(key, all.iter().copied()) {
                e = e.help(format!("did you mean `{m}`?"));
            }
            return Err(e);
        }
    }
    let group = |keys: &[&str], secret: &str| -> Result<GivenSecret, Error> {
        if !keys.iter().any(|k| values.contains_key(*k)) {
            return Ok(None);
        }
        let mut out = BTreeMap::new();
        for key in keys {
            let v = values.get(*key).map(|v| v.trim()).unwrap_or("");
            if v.is_empty() {
                let list = keys.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(" and ");
                return Err(Error::invalid(format!("`powerdns.{key}` is missing {from_file}"))
                    .help(format!("give {list} (the Secret `{secret}`), or neither and create the Secret yourself")));
            }
            // The values go into configuration files (pdns.conf, an option file of
            // MariaDB) and SQL; these characters would need quoting in one of them.
            if v.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '\'' | '\\' | '#' | '`')) {
                return Err(Error::invalid(format!(
                    "`powerdns.{key}` {from_file} contains whitespace, a quote, `\\`, `#` or a backtick"
                ))
                .help("use a value of letters, digits and other punctuation, e.g. from `openssl rand -hex 24`"));
            }
            out.insert((*key).to_string(), v.to_string());
        }
        Ok(Some(out))
    };
    Ok((group(&SECRET_KEYS, "powerdns")?, group(&GALERA_SECRET_KEYS, "mariadb-galera")?))
}
