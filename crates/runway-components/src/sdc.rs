//! Conventions shared by the Sysdig on-prem backend components (`sdc_*`), so that an
//! operator of sdc-kubernetes can switch in place: the `sysdigcloud` namespace, the
//! `app: sysdigcloud` + `role: ...` labels (each selector matching its own role only),
//! the `sdc-*` Service names the backend connects to, the Secrets every password, the
//! license and the pull secret live in, and the storage class tiers.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    StatefulSet, StatefulSetPersistentVolumeClaimRetentionPolicy, StatefulSetSpec, StatefulSetUpdateStrategy,
};
use k8s_openapi::api::core::v1::{
    Affinity, LocalObjectReference, PersistentVolumeClaim, PodAffinityTerm, PodAntiAffinity, PodSpec, PodTemplateSpec,
    TopologySpreadConstraint, WeightedPodAffinityTerm,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use crate::common::checksum::named_sha256;
use crate::common::meta;
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

/// The image pull secrets of a pod, or `None` when there are none (the field is left out).
pub fn pull_secrets(names: &[String]) -> Option<Vec<LocalObjectReference>> {
    (!names.is_empty()).then(|| names.iter().map(|s| LocalObjectReference { name: s.clone() }).collect())
}

/// sha256 of a ConfigMap's or Secret's data, keys and values, in key order.
pub fn data_checksum(data: &BTreeMap<String, String>) -> String {
    named_sha256(data.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

/// The checksums a datastore's pod template is annotated with, so that a change to its
/// configuration or password rolls the pods.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checksums {
    /// [`data_checksum`] of the pods' own ConfigMap.
    pub config: String,
    /// [`data_checksum`] of the Secret, when runway renders it (`None` when it is external).
    pub secret: Option<String>,
}

impl Checksums {
    /// `checksum/config`, `checksum/secret` when there is one, and `container` as the
    /// pod's default container (what `kubectl logs` and `exec` pick).
    pub fn pod_annotations(&self, container: &str) -> BTreeMap<String, String> {
        let mut a = BTreeMap::from([
            ("checksum/config".to_string(), self.config.clone()),
            ("kubectl.kubernetes.io/default-container".to_string(), container.to_string()),
        ]);
        if let Some(s) = &self.secret {
            a.insert("checksum/secret".into(), s.clone());
        }
        a
    }
}

/// The StatefulSet every datastore of the backend shares in shape: metadata and pod
/// labels of its role, a selector of the role, its own Service as `serviceName`, rolling
/// updates.
#[derive(Clone, Debug)]
pub struct DatastoreSet<'a> {
    /// The StatefulSet's name, which is also its headless Service's.
    pub name: &'a str,
    /// Its namespace.
    pub namespace: &'a str,
    /// The `role` label of its objects and pods.
    pub role: &'a str,
    /// Number of pods.
    pub replicas: i32,
    /// `OrderedReady` or `Parallel`.
    pub pod_management_policy: &'a str,
    /// Whether the claims are kept explicitly (`Retain`) when the set is deleted or scaled
    /// down; otherwise the policy is left to the API server's default.
    pub retain_claims: bool,
    /// The pod template's annotations.
    pub annotations: BTreeMap<String, String>,
    /// The pod template's spec.
    pub pod: PodSpec,
    /// The claim templates, if the pods keep data.
    pub claims: Option<Vec<PersistentVolumeClaim>>,
}

impl DatastoreSet<'_> {
    /// The StatefulSet.
    pub fn build(self) -> StatefulSet {
        StatefulSet {
            metadata: meta::namespaced(self.name, self.namespace, labels(self.role)),
            spec: Some(StatefulSetSpec {
                replicas: Some(self.replicas),
                service_name: Some(self.name.into()),
                selector: selector(self.role),
                pod_management_policy: Some(self.pod_management_policy.into()),
                update_strategy: Some(StatefulSetUpdateStrategy {
                    type_: Some("RollingUpdate".into()),
                    ..Default::default()
                }),
                persistent_volume_claim_retention_policy: self.retain_claims.then(|| {
                    StatefulSetPersistentVolumeClaimRetentionPolicy {
                        when_deleted: Some("Retain".into()),
                        when_scaled: Some("Retain".into()),
                    }
                }),
                template: PodTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: Some(labels(self.role)),
                        annotations: Some(self.annotations),
                        ..Default::default()
                    }),
                    spec: Some(self.pod),
                },
                volume_claim_templates: self.claims,
                ..Default::default()
            }),
            ..Default::default()
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn set(retain_claims: bool) -> StatefulSet {
        DatastoreSet {
            name: "sdc-redis",
            namespace: NAMESPACE,
            role: "redis",
            replicas: 1,
            pod_management_policy: "OrderedReady",
            retain_claims,
            annotations: BTreeMap::new(),
            pod: PodSpec::default(),
            claims: None,
        }
        .build()
    }

    #[test]
    fn datastore_set_selects_its_role_and_names_its_service() {
        let sts = set(false);
        let spec = sts.spec.expect("a StatefulSet has a spec");
        assert_eq!(spec.service_name.as_deref(), Some("sdc-redis"));
        assert_eq!(spec.selector, selector("redis"));
        let pod_labels = spec.template.metadata.and_then(|m| m.labels).expect("pod labels");
        assert!(selector_labels("redis").iter().all(|(k, v)| pod_labels.get(k) == Some(v)));
        assert_eq!(sts.metadata.namespace.as_deref(), Some(NAMESPACE));
        assert_eq!(spec.persistent_volume_claim_retention_policy, None);
    }

    #[test]
    fn retained_claims_survive_deletion_and_scale_down() {
        let policy = set(true).spec.and_then(|s| s.persistent_volume_claim_retention_policy).expect("a policy");
        assert_eq!((policy.when_deleted.as_deref(), policy.when_scaled.as_deref()), (Some("Retain"), Some("Retain")));
    }

    #[test]
    fn secret_checksum_is_annotated_only_when_there_is_a_secret() {
        let config = data_checksum(&BTreeMap::from([("a".to_string(), "1".to_string())]));
        let without = Checksums { config: config.clone(), secret: None }.pod_annotations("redis");
        assert!(!without.contains_key("checksum/secret"));
        assert_eq!(without.get("kubectl.kubernetes.io/default-container").map(String::as_str), Some("redis"));
        let with = Checksums { config, secret: Some("s".into()) }.pod_annotations("redis");
        assert_eq!(with.get("checksum/secret").map(String::as_str), Some("s"));
    }

    #[test]
    fn no_pull_secrets_leave_the_field_out() {
        assert_eq!(pull_secrets(&[]), None);
        assert_eq!(pull_secrets(&["quay".to_string()]).map(|s| s.len()), Some(1));
    }
}
