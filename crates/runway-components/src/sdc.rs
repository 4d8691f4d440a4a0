//! Conventions shared by the Sysdig on-prem backend components (`sdc_*`), so that an
//! operator of sdc-kubernetes can switch in place: the `sysdigcloud` namespace, the
//! `app: sysdigcloud` + `role: ...` labels (each selector matching its own role only),
//! the `sdc-*` Service names the backend connects to, the Secrets every password, the
//! license and the pull secret live in, and the storage class tiers.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, PersistentVolumeClaim, PodAffinityTerm, PodAntiAffinity, TopologySpreadConstraint,
    WeightedPodAffinityTerm,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use crate::common::pod::spread_over_zones;
use crate::common::storage::ClaimTemplate;
use crate::context::Context;
use crate::quantity::Quantity;

/// The namespace of the whole backend (sdc-kubernetes' `kubectl create namespace sysdigcloud`).
pub const NAMESPACE: &str = "sysdigcloud";

/// `app` label value of every object.
pub const APP: &str = "sysdigcloud";

/// Labels of a role's objects and pod templates: `app: sysdigcloud`, `role: ROLE` (as the
/// original) plus the recommended `app.kubernetes.io/*` labels.
pub fn labels(role: &str) -> BTreeMap<String, String> {
    let mut l = selector_labels(role);
    l.insert("app.kubernetes.io/name".into(), format!("sdc-{role}"));
    l.insert("app.kubernetes.io/part-of".into(), APP.into());
    l.insert("app.kubernetes.io/managed-by".into(), crate::common::meta::MANAGED_BY.into());
    l
}

/// The labels a role's selector matches: exactly `app` and `role` (never a version), so
/// `sdc-mysql` does not select `sdc-mysql-slave` pods.
pub fn selector_labels(role: &str) -> BTreeMap<String, String> {
    BTreeMap::from([("app".to_string(), APP.to_string()), ("role".to_string(), role.to_string())])
}

/// A LabelSelector for a role.
pub fn selector(role: &str) -> LabelSelector {
    LabelSelector { match_labels: Some(selector_labels(role)), ..Default::default() }
}

/// The `data` claim template of a datastore: its metadata is the original's (a name, no
/// labels), because claim templates are immutable and an install is adopted in place.
pub fn data_claim_template(storage_class: &str, storage: &Quantity) -> PersistentVolumeClaim {
    ClaimTemplate { name: "data", size: storage, storage_class: Some(storage_class), name_label: false }.build()
}

/// Prefer nodes without pods of the `avoid` roles (weighted), and spread `role`'s pods
/// over the platform's zones.
pub fn placement(role: &str, avoid: &[(&str, i32)], cx: &Context) -> (Affinity, Vec<TopologySpreadConstraint>) {
    let terms = avoid
        .iter()
        .map(|(r, weight)| WeightedPodAffinityTerm {
            weight: *weight,
            pod_affinity_term: PodAffinityTerm {
                label_selector: Some(selector(r)),
                topology_key: "kubernetes.io/hostname".into(),
                ..Default::default()
            },
        })
        .collect();
    let affinity = Affinity {
        pod_anti_affinity: Some(PodAntiAffinity {
            preferred_during_scheduling_ignored_during_execution: Some(terms),
            ..Default::default()
        }),
        ..Default::default()
    };
    let spread = vec![spread_over_zones(&selector(role), &cx.platform.zone_label)];
    (affinity, spread)
}

/// Service names and ports the components connect to each other by.
pub mod services {
    /// Cassandra, headless (cql 9042).
    pub const CASSANDRA: &str = "sdc-cassandra";
    /// Cassandra's CQL port.
    pub const CASSANDRA_CQL_PORT: u16 = 9042;
    /// Elasticsearch, headless (http 9200).
    pub const ELASTICSEARCH: &str = "sdc-elasticsearch";
    /// Elasticsearch's HTTP port.
    pub const ELASTICSEARCH_PORT: u16 = 9200;
    /// MySQL master (read-write).
    pub const MYSQL: &str = "sdc-mysql";
    /// MySQL replicas (read-only traffic).
    pub const MYSQL_READ: &str = "sdc-mysql-slave";
    /// MySQL's port.
    pub const MYSQL_PORT: u16 = 3306;
    /// Redis master.
    pub const REDIS: &str = "sdc-redis";
    /// Redis replicas (read-only traffic).
    pub const REDIS_READ: &str = "sdc-redis-slave";
    /// Redis's port.
    pub const REDIS_PORT: u16 = 6379;
    /// Redis Sentinel (with `sdc_redis.mode: sentinel`).
    pub const REDIS_SENTINEL: &str = "sdc-redis-sentinel";
    /// Sentinel's port.
    pub const REDIS_SENTINEL_PORT: u16 = 26379;
}

/// The Secrets and their keys. Values come from `--secrets-file` (component `sdc`,
/// keys as below) and are rendered into these Secrets; without them the Secrets are
/// referenced but not rendered, and the components declare them external.
pub mod secrets {
    /// MySQL credentials: keys [`MYSQL_ROOT_PASSWORD`], [`MYSQL_PASSWORD`] (the backend's
    /// user), [`MYSQL_REPLICATION_PASSWORD`] (the replication user, not root).
    pub const MYSQL: &str = "sdc-mysql";
    /// Key of the root password.
    pub const MYSQL_ROOT_PASSWORD: &str = "mysql-root-password";
    /// Key of the backend user's password.
    pub const MYSQL_PASSWORD: &str = "mysql-password";
    /// Key of the replication user's password.
    pub const MYSQL_REPLICATION_PASSWORD: &str = "mysql-replication-password";
    /// Redis credentials: key [`REDIS_PASSWORD`] (requirepass and masterauth).
    pub const REDIS: &str = "sdc-redis";
    /// Key of the Redis password.
    pub const REDIS_PASSWORD: &str = "redis-password";
    /// The Sysdig license: key [`LICENSE`].
    pub const LICENSE: &str = "sysdigcloud-license";
    /// Key of the license.
    pub const LICENSE_KEY: &str = "license";
    /// The quay.io pull secret (type `kubernetes.io/dockerconfigjson`).
    pub const PULL_SECRET: &str = "sysdigcloud-pull-secret";
    /// Other backend secrets (SMTP password, OAuth client secrets, the default user's
    /// password, the Cassandra password): keys as `sdc_config` documents.
    pub const BACKEND: &str = "sysdigcloud-secrets";
}

/// Storage class tiers rendered by `sdc_storage` (from the platform's provisioner and
/// zones): datastores claim [`FAST`] (Cassandra, Elasticsearch) or [`STANDARD`] (MySQL,
/// Redis).
pub mod storage {
    /// SSD-backed tier.
    pub const FAST: &str = "sysdigcloud-fast";
    /// Balanced tier.
    pub const STANDARD: &str = "sysdigcloud-standard";
}
