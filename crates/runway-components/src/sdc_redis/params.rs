//! Parameters of the Sysdig backend's Redis, the checks on them, and the check on the
//! password given at render time.
//!
//! Validation runs at the start of `build`; every error names its key path
//! (`sdc_redis.sentinel.quorum`) and says how to fix it. Messages about the password
//! name its key, never its value.

use std::collections::BTreeMap;

use runway_core::{Error, KeyPath};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::pod::Resources;
use crate::quantity::Quantity;
use crate::sdc;

/// The Redis image: Docker's official image, 7.4 series on Debian bookworm (`redis` is
/// uid 999). It holds `redis-server`, `redis-sentinel` and `redis-cli`.
pub const DEFAULT_IMAGE: &str = "redis:7.4.11-bookworm";

/// The component whose block of the secrets file holds the backend's secret values.
pub const SECRETS_COMPONENT: &str = "sdc";

/// How Redis is run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RedisMode {
    /// A master and replicas, as the original: the replicas follow the master, nothing
    /// fails over.
    #[default]
    Standalone,
    /// The same, watched by Redis Sentinel (`sdc-redis-sentinel`), which promotes a
    /// replica when the master fails; clients ask Sentinel for the master.
    Sentinel,
}

/// Redis for the Sysdig backend: the master `sdc-redis`, replicas `sdc-redis-slave`,
/// and with `mode: sentinel` the Sentinels `sdc-redis-sentinel`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SdcRedisParams {
    /// `standalone` (a master and replicas, the original's) or `sentinel` (the same
    /// with automatic failover by Redis Sentinel). Default: `standalone`.
    pub mode: RedisMode,
    /// Replicas in the StatefulSet `sdc-redis-slave`; `sentinel` mode needs at least one
    /// to fail over to. Default: `2` (the original's).
    pub replicas: u32,
    /// The Redis image, for Redis and Sentinel. Default: `redis:7.4.11-bookworm`.
    pub image: String,
    /// Size of each Redis pod's volume (`data-sdc-redis-0`, `data-sdc-redis-slave-N`).
    /// Default: `1Gi` (the original's).
    pub storage: Quantity,
    /// The storage class of the volumes. Default: `sysdigcloud-standard` (rendered by
    /// `sdc_storage`).
    pub storage_class: String,
    /// `maxmemory` of every Redis, with `allkeys-lru` eviction (the backend uses Redis as
    /// a cache), at most 80% of the memory limit so that a fork for persistence fits.
    /// Default: `null`: no limit, as the original.
    pub maxmemory: Option<Quantity>,
    /// Requests and limits of each Redis container. Default: requests `cpu: 100m,
    /// memory: 256Mi`, limits `memory: 1Gi`.
    pub resources: Resources,
    /// Redis Sentinel, with `mode: sentinel`.
    pub sentinel: SentinelParams,
}

impl Default for SdcRedisParams {
    fn default() -> Self {
        SdcRedisParams {
            mode: RedisMode::Standalone,
            replicas: 2,
            image: DEFAULT_IMAGE.into(),
            storage: "1Gi".into(),
            storage_class: sdc::storage::STANDARD.into(),
            maxmemory: None,
            resources: Resources::new("100m", "256Mi", None, "1Gi"),
            sentinel: SentinelParams::default(),
        }
    }
}

/// Redis Sentinel (`mode: sentinel`): the StatefulSet `sdc-redis-sentinel` and its Service.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SentinelParams {
    /// Sentinels; a failover needs a majority of them. Default: `3`.
    pub replicas: u32,
    /// How many Sentinels must agree that the master is down before a failover starts.
    /// Default: `2`.
    pub quorum: u32,
    /// The name Sentinel monitors the master under: clients ask for it (the backend's
    /// `-Ddraios.redis.master`). Default: `sdc-redis`.
    pub master_name: String,
    /// How long the master may not answer before a Sentinel thinks it down, in
    /// milliseconds. Default: `10000`.
    pub down_after_milliseconds: u32,
    /// How long a failover may take before another Sentinel tries, in milliseconds.
    /// Default: `60000`.
    pub failover_timeout_milliseconds: u32,
    /// Sentinels require clients to authenticate with the Redis password too
    /// (`requirepass`); turn it off for clients that cannot authenticate to Sentinel.
    /// Default: `true`.
    pub require_auth: bool,
    /// Requests and limits of each Sentinel. Default: requests `cpu: 20m, memory: 32Mi`,
    /// limits `memory: 64Mi`.
    pub resources: Resources,
}

impl Default for SentinelParams {
    fn default() -> Self {
        SentinelParams {
            replicas: 3,
            quorum: 2,
            master_name: sdc::services::REDIS.into(),
            down_after_milliseconds: 10_000,
            failover_timeout_milliseconds: 60_000,
            require_auth: true,
            resources: Resources::new("20m", "32Mi", None, "64Mi"),
        }
    }
}

/// `sdc_redis.<key>`.
fn at(key: &str) -> KeyPath {
    KeyPath::root().key("sdc_redis").key(key)
}

/// `sdc_redis.sentinel.<key>`.
fn sentinel_at(key: &str) -> KeyPath {
    KeyPath::root().key("sdc_redis").key("sentinel").key(key)
}

/// The share of the memory limit `maxmemory` may take at most.
const MAX_MEMORY_SHARE: f64 = 0.8;
const MIB: f64 = 1024.0 * 1024.0;

impl SdcRedisParams {
    /// True with `mode: sentinel`.
    pub fn sentinel_mode(&self) -> bool {
        self.mode == RedisMode::Sentinel
    }

    /// `maxmemory` in bytes, if set.
    pub fn maxmemory_bytes(&self) -> Option<u64> {
        self.maxmemory.as_ref().map(|q| q.to_f64() as u64)
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
        if self.storage.to_f64() <= 0.0 {
            return Err(Error::invalid(format!("storage `{}` must be more than zero", self.storage))
                .help("give each pod room for its append-only file and snapshots, e.g. `1Gi`")
                .with_path(at("storage")));
        }
        if !crate::sdc_mysql::is_dns_label(&self.storage_class, 253) {
            return Err(Error::invalid(format!("`{}` is not a storage class name", self.storage_class))
                .help(format!("use lowercase letters, digits, `-` and `.`, e.g. `{}`", sdc::storage::STANDARD))
                .with_path(at("storage_class")));
        }
        self.resources.check().map_err(|msg| {
            Error::invalid(msg).help("raise the limit or lower the request").with_path(at("resources"))
        })?;
        if let Some(max) = &self.maxmemory {
            let limit = self.resources.limits.memory.to_f64();
            if max.to_f64() < MIB {
                return Err(Error::invalid(format!("maxmemory `{max}` is less than 1Mi"))
                    .help("write e.g. `512Mi`, or remove `maxmemory` for no limit")
                    .with_path(at("maxmemory")));
            }
            if max.to_f64() > limit * MAX_MEMORY_SHARE {
                return Err(Error::invalid(format!(
                    "maxmemory `{max}` is more than 80% of the memory limit `{}`",
                    self.resources.limits.memory
                ))
                .help(format!(
                    "lower `maxmemory` to at most `{}Mi` or raise `resources.limits.memory`",
                    (limit * MAX_MEMORY_SHARE / MIB).floor() as u64
                ))
                .note("Redis forks to write its append-only file and snapshots; the copy needs room too")
                .with_path(at("maxmemory")));
            }
        }
        if self.sentinel_mode() {
            if self.replicas == 0 {
                return Err(Error::invalid("`mode: sentinel` with no replicas has nothing to fail over to")
                    .help("set `replicas` to 1 or more, or `mode: standalone`")
                    .with_path(at("replicas")));
            }
            self.sentinel.validate()?;
        }
        Ok(())
    }
}

impl SentinelParams {
    /// The PodDisruptionBudget's `minAvailable`: a majority of the Sentinels (a failover
    /// needs one) and at least the quorum.
    pub fn min_available(&self) -> u32 {
        (self.replicas / 2 + 1).max(self.quorum)
    }

    /// Checks the Sentinel parameters.
    pub fn validate(&self) -> Result<(), Error> {
        if self.replicas == 0 || i32::try_from(self.replicas).is_err() {
            return Err(Error::invalid(format!("sentinel replicas `{}` is not allowed", self.replicas))
                .help("use 3 (or 5): a failover needs a majority of the Sentinels")
                .with_path(sentinel_at("replicas")));
        }
        if self.quorum == 0 || self.quorum > self.replicas {
            return Err(Error::invalid(format!(
                "quorum `{}` is not between 1 and the {} Sentinels",
                self.quorum, self.replicas
            ))
            .help(format!("use a value from 1 to {}, e.g. `{}`", self.replicas, self.replicas / 2 + 1))
            .with_path(sentinel_at("quorum")));
        }
        let name_ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
        if self.master_name.is_empty() || !self.master_name.chars().all(name_ok) {
            return Err(Error::invalid(format!("master name `{}` is not allowed", self.master_name))
                .help("use letters, digits, `-`, `_` and `.`, e.g. `sdc-redis`")
                .with_path(sentinel_at("master_name")));
        }
        if self.down_after_milliseconds < 1000 {
            return Err(Error::invalid(format!(
                "down_after_milliseconds `{}` would fail over on a hiccup",
                self.down_after_milliseconds
            ))
            .help("use at least 1000 (one second); the default is 10000")
            .with_path(sentinel_at("down_after_milliseconds")));
        }
        if self.failover_timeout_milliseconds < self.down_after_milliseconds {
            return Err(Error::invalid(format!(
                "failover_timeout_milliseconds `{}` is shorter than down_after_milliseconds `{}`",
                self.failover_timeout_milliseconds, self.down_after_milliseconds
            ))
            .help("a failover takes longer than noticing the failure; the default is 60000")
            .with_path(sentinel_at("failover_timeout_milliseconds")));
        }
        self.resources.check().map_err(|msg| {
            Error::invalid(msg).help("raise the limit or lower the request").with_path(sentinel_at("resources"))
        })?;
        Ok(())
    }
}

/// The password given at render time (`sdc: {redis-password: ...}`), or `None` when it is
/// not given (the Secret `sdc-redis` is then expected in the namespace).
pub fn given_password(values: Option<&BTreeMap<String, String>>) -> Result<Option<String>, Error> {
    let Some(v) = values.and_then(|v| v.get(sdc::secrets::REDIS_PASSWORD)) else { return Ok(None) };
    let key = format!("`{SECRETS_COMPONENT}.{}` in the secrets file (`--secrets-file`)", sdc::secrets::REDIS_PASSWORD);
    if v.is_empty() {
        return Err(Error::invalid(format!("{key} is empty"))
            .help("authentication is enforced: give a generated value, e.g. from `openssl rand -hex 24`"));
    }
    if v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::invalid(format!("{key} contains whitespace or a control character"))
            .help("use a value without spaces and line breaks, e.g. from `openssl rand -hex 24`"));
    }
    Ok(Some(v.clone()))
}
