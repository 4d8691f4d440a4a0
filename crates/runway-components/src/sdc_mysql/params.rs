//! Parameters of the Sysdig backend's MySQL, the checks on them, and the checks on the
//! secret values given at render time.
//!
//! Validation runs at the start of `build`, so a bad value never renders half a stack;
//! every error names its key path (`sdc_mysql.replication_user`) and says how to fix it.
//! Messages about secrets name keys, never values.

use std::collections::BTreeMap;

use runway_core::{Error, KeyPath};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::pod::Resources;
use crate::quantity::Quantity;
use crate::sdc;

/// The MySQL image: Docker's official image of the 8.4 LTS series (Oracle Linux based,
/// `mysql` is uid 999), which ships the CLONE plugin the replicas copy their data with.
pub const DEFAULT_IMAGE: &str = "mysql:8.4.10";

/// The component whose block of the secrets file (`--secrets-file`) holds the values of
/// every Secret of the Sysdig backend (`sdc: {mysql-root-password: ...}`).
pub const SECRETS_COMPONENT: &str = "sdc";

/// The keys of the Secret [`sdc::secrets::MYSQL`], in the order they are checked.
pub const SECRET_KEYS: [&str; 3] =
    [sdc::secrets::MYSQL_ROOT_PASSWORD, sdc::secrets::MYSQL_PASSWORD, sdc::secrets::MYSQL_REPLICATION_PASSWORD];

/// MySQL for the Sysdig backend: a master (`sdc-mysql`) that takes writes and replicas
/// (`sdc-mysql-slave`) that clone it and replicate from it, for read traffic.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SdcMysqlParams {
    /// Replicas in the StatefulSet `sdc-mysql-slave` (the original's slaves); `0` runs the
    /// master alone. Default: `2`.
    pub replicas: u32,
    /// The MySQL image, for the master, the replicas and their init containers (the clone
    /// needs the same server version on both ends). Default: `mysql:8.4.10`.
    pub image: String,
    /// The database the backend uses, created at the first start. Default: `draios`.
    pub database: String,
    /// The backend's MySQL user, created at the first start with all privileges on
    /// `database` (its password is the Secret's `mysql-password`). Default: `admin`.
    pub user: String,
    /// The user replicas clone and replicate with (`REPLICATION SLAVE` and `BACKUP_ADMIN`
    /// only; its password is the Secret's `mysql-replication-password`). Not `root`.
    /// Default: `repluser` (the original's `mysql.replication.user`).
    pub replication_user: String,
    /// Size of each pod's volume (`data-sdc-mysql-0`, `data-sdc-mysql-slave-N`).
    /// Default: `2Gi` (the original's).
    pub storage: Quantity,
    /// The storage class of the volumes. Default: `sysdigcloud-standard` (rendered by
    /// `sdc_storage`).
    pub storage_class: String,
    /// `innodb_buffer_pool_size`, a whole number of mebibytes, at most half of the memory
    /// limit of the master and of the replicas. Default: `512Mi`.
    pub buffer_pool: Quantity,
    /// How long binary logs are kept, in days (`binlog_expire_logs_seconds`): a replica
    /// that was down for longer must be cloned again (delete its claim). Default: `7`.
    pub binlog_expire_days: u32,
    /// `character_set_server`, and the client's; the original's `utf8` is `utf8mb3`. The
    /// master and the replicas must agree (the clone requires it). Default: `utf8mb3`.
    pub character_set: String,
    /// `collation_server`. Default: `utf8mb3_unicode_ci` (the original's `utf8_unicode_ci`).
    pub collation: String,
    /// Turns on `mysql_native_password` and makes it the plugin of accounts created from
    /// then on, for backend versions whose MySQL driver predates `caching_sha2_password`
    /// (MySQL Connector/J before 8.0). Set it before the first start: it does not change
    /// existing accounts. Default: `false`.
    pub native_password: bool,
    /// Requests and limits of the master's MySQL (and its init container, which starts
    /// MySQL briefly). Default: requests `cpu: 500m, memory: 1Gi` (the original's),
    /// limits `memory: 1Gi`.
    pub resources: Resources,
    /// Requests and limits of each replica's MySQL (and its clone init container).
    /// Default: requests `cpu: 500m, memory: 1Gi`, limits `memory: 1Gi`.
    pub replica_resources: Resources,
}

impl Default for SdcMysqlParams {
    fn default() -> Self {
        SdcMysqlParams {
            replicas: 2,
            image: DEFAULT_IMAGE.into(),
            database: "draios".into(),
            user: "admin".into(),
            replication_user: "repluser".into(),
            storage: "2Gi".into(),
            storage_class: sdc::storage::STANDARD.into(),
            buffer_pool: "512Mi".into(),
            binlog_expire_days: 7,
            character_set: "utf8mb3".into(),
            collation: "utf8mb3_unicode_ci".into(),
            native_password: false,
            resources: Resources::new("500m", "1Gi", None, "1Gi"),
            replica_resources: Resources::new("500m", "1Gi", None, "1Gi"),
        }
    }
}

const MIB: f64 = 1024.0 * 1024.0;

/// `sdc_mysql.<key>`.
fn at(key: &str) -> KeyPath {
    KeyPath::root().key("sdc_mysql").key(key)
}

/// True for a MySQL identifier runway may write into SQL and option files unquoted:
/// letters, digits and `_`, not starting with a digit, at most `max` characters.
fn is_identifier(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !s.starts_with(|c: char| c.is_ascii_digit())
}

impl SdcMysqlParams {
    /// `innodb_buffer_pool_size` in mebibytes.
    pub fn buffer_pool_mib(&self) -> u64 {
        self.buffer_pool.mebibytes()
    }

    /// Checks every parameter; the first problem is returned with its key path.
    pub fn validate(&self) -> Result<(), Error> {
        if i32::try_from(self.replicas).is_err() {
            return Err(Error::invalid(format!("replicas `{}` is too large", self.replicas)).with_path(at("replicas")));
        }
        if self.image.is_empty() || self.image.chars().any(char::is_whitespace) {
            return Err(Error::invalid(format!("`{}` is not an image reference", self.image))
                .help(format!("write `repository:tag`, e.g. `{DEFAULT_IMAGE}`"))
                .with_path(at("image")));
        }
        for (key, value, max) in [
            ("database", &self.database, 64),
            ("user", &self.user, 32),
            ("replication_user", &self.replication_user, 32),
        ] {
            if !is_identifier(value, max) {
                return Err(Error::invalid(format!("`{value}` is not a MySQL name runway accepts for `{key}`"))
                    .help(format!("use letters, digits and `_`, not starting with a digit, at most {max} characters"))
                    .with_path(at(key)));
            }
        }
        for key in ["user", "replication_user"] {
            let value = if key == "user" { &self.user } else { &self.replication_user };
            if value.eq_ignore_ascii_case("root") {
                return Err(Error::invalid(format!("`{key}` must not be `root`"))
                    .help(if key == "user" {
                        "the backend gets its own user with privileges on its database only (e.g. `admin`)"
                    } else {
                        "replicas use a dedicated user with REPLICATION SLAVE and BACKUP_ADMIN only (e.g. `repluser`)"
                    })
                    .with_path(at(key)));
            }
        }
        if self.user == self.replication_user {
            return Err(Error::invalid(format!(
                "`replication_user` `{}` is the backend's `user` too",
                self.replication_user
            ))
            .help("give replication its own user (e.g. `repluser`): it must not have the backend's privileges")
            .with_path(at("replication_user")));
        }
        if self.storage.to_f64() <= 0.0 {
            return Err(Error::invalid(format!("storage `{}` must be more than zero", self.storage))
                .help("give each pod room for the database and its binary logs, e.g. `2Gi`")
                .with_path(at("storage")));
        }
        if !crate::sdc_mysql::is_dns_label(&self.storage_class, 253) {
            return Err(Error::invalid(format!("`{}` is not a storage class name", self.storage_class))
                .help(format!("use lowercase letters, digits, `-` and `.`, e.g. `{}`", sdc::storage::STANDARD))
                .with_path(at("storage_class")));
        }
        if self.binlog_expire_days == 0 {
            return Err(Error::invalid("binlog_expire_days must be at least 1")
                .help("replicas that reconnect after a restart need the binary logs written meanwhile; use e.g. `7`")
                .with_path(at("binlog_expire_days")));
        }
        for (key, value) in [("character_set", &self.character_set), ("collation", &self.collation)] {
            if !is_identifier(value, 64) {
                return Err(Error::invalid(format!("`{value}` is not a MySQL {}", key.replace('_', " ")))
                    .help("e.g. `utf8mb3` and `utf8mb3_unicode_ci`, or `utf8mb4` and `utf8mb4_0900_ai_ci`")
                    .with_path(at(key)));
            }
        }
        if !self.collation.starts_with(&format!("{}_", self.character_set)) {
            return Err(Error::invalid(format!(
                "collation `{}` does not belong to character set `{}`",
                self.collation, self.character_set
            ))
            .help(format!("use a collation named `{}_...`", self.character_set))
            .with_path(at("collation")));
        }
        for (key, r) in [("resources", &self.resources), ("replica_resources", &self.replica_resources)] {
            r.check()
                .map_err(|msg| Error::invalid(msg).help("raise the limit or lower the request").with_path(at(key)))?;
        }
        let pool = self.buffer_pool.to_f64();
        if pool < 8.0 * MIB || pool % MIB != 0.0 {
            return Err(Error::invalid(format!(
                "buffer pool `{}` is not a whole number of mebibytes of at least 8Mi",
                self.buffer_pool
            ))
            .help("write e.g. `512Mi` or `1Gi`")
            .with_path(at("buffer_pool")));
        }
        for (key, r) in [("resources", &self.resources), ("replica_resources", &self.replica_resources)] {
            let limit = r.limits.memory.to_f64();
            if pool > limit / 2.0 {
                return Err(Error::invalid(format!(
                    "buffer pool `{}` is more than half of the memory limit `{}` in `{key}`",
                    self.buffer_pool, r.limits.memory
                ))
                .help(format!(
                    "raise `{key}.limits.memory` to at least `{}Mi` or lower `buffer_pool`",
                    (pool * 2.0 / MIB).ceil() as u64
                ))
                .note("MySQL needs memory besides the buffer pool (connections, sort buffers, the binary log cache)")
                .with_path(at("buffer_pool")));
            }
        }
        Ok(())
    }
}

/// The values of the Secret `sdc-mysql` given at render time (the `sdc` block of the
/// secrets file): `None` when none of its keys is given (the Secret is then expected in
/// the namespace), all three when any is. Other keys of the block belong to the other
/// `sdc_*` components and are left alone.
pub fn given_secret(values: Option<&BTreeMap<String, String>>) -> Result<Option<BTreeMap<String, String>>, Error> {
    let Some(values) = values else { return Ok(None) };
    if !SECRET_KEYS.iter().any(|k| values.contains_key(*k)) {
        return Ok(None);
    }
    let from_file = "in the secrets file (`--secrets-file`)";
    let mut out = BTreeMap::new();
    for key in SECRET_KEYS {
        let Some(v) = values.get(key) else {
            let list = SECRET_KEYS.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ");
            return Err(Error::invalid(format!("`{SECRETS_COMPONENT}.{key}` is missing {from_file}")).help(format!(
                "give {list} (the Secret `{}`), or none of them and create the Secret yourself",
                sdc::secrets::MYSQL
            )));
        };
        check_secret_value(key, v)?;
        out.insert(key.to_string(), v.clone());
    }
    if out[sdc::secrets::MYSQL_REPLICATION_PASSWORD] == out[sdc::secrets::MYSQL_ROOT_PASSWORD] {
        return Err(Error::invalid(format!(
            "`{SECRETS_COMPONENT}.{}` {from_file} is the root password",
            sdc::secrets::MYSQL_REPLICATION_PASSWORD
        ))
        .help("give the replication user a password of its own: replicas store it, and it must not open root"));
    }
    Ok(Some(out))
}

/// A password MySQL's image, its option files and runway's scripts take as it is: the
/// image writes `MYSQL_ROOT_PASSWORD` and `MYSQL_PASSWORD` into SQL unescaped, and option
/// files strip surrounding whitespace.
fn check_secret_value(key: &str, v: &str) -> Result<(), Error> {
    let from_file = "in the secrets file (`--secrets-file`)";
    if v.is_empty() {
        return Err(Error::invalid(format!("`{SECRETS_COMPONENT}.{key}` {from_file} is empty"))
            .help("use a generated value, e.g. from `openssl rand -hex 24`"));
    }
    if v.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '\'' | '\\' | '`')) {
        return Err(Error::invalid(format!(
            "`{SECRETS_COMPONENT}.{key}` {from_file} contains whitespace, a quote, `\\` or a backtick"
        ))
        .help("use letters, digits and other punctuation, e.g. from `openssl rand -hex 24`")
        .note("MySQL's image writes the root and user passwords into SQL without escaping them"));
    }
    Ok(())
}
