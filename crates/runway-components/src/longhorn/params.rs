//! Parameters of the Longhorn storage class and their validation.

use runway_core::{Error, KeyPath};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::sdc_storage::ReclaimPolicy;

/// Where Longhorn keeps a replica relative to the pod using the volume.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DataLocality {
    /// Anywhere (Longhorn's default).
    #[default]
    Disabled,
    /// Try to keep one replica on the pod's node.
    BestEffort,
    /// Keep the only replica on the pod's node (with `replicas: 1`).
    StrictLocal,
}

impl DataLocality {
    /// The parameter's value.
    pub fn as_str(self) -> &'static str {
        match self {
            DataLocality::Disabled => "disabled",
            DataLocality::BestEffort => "best-effort",
            DataLocality::StrictLocal => "strict-local",
        }
    }
}

/// The Longhorn StorageClass the runtime's claims use.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct LonghornParams {
    /// The StorageClass's name, which every claim of the render then names. Not
    /// `longhorn`: Longhorn's own install owns that one. Default: `longhorn-runway`.
    pub class_name: String,
    /// Copies of each volume, on different nodes (`numberOfReplicas`). Default: `3`.
    pub replicas: u32,
    /// What happens to a volume when its claim is deleted. Default: `Retain`.
    pub reclaim_policy: ReclaimPolicy,
    /// Lets claims grow. Default: `true`.
    pub allow_volume_expansion: bool,
    /// Where replicas are kept relative to the pod. Default: `disabled`.
    pub data_locality: DataLocality,
    /// Minutes before Longhorn gives up on an unreachable replica and rebuilds it
    /// (`staleReplicaTimeout`). Default: `30`.
    pub stale_replica_timeout_minutes: u32,
    /// Marks the class as the cluster's default (for claims runway does not render).
    /// Default: `false`.
    pub default_class: bool,
}

impl Default for LonghornParams {
    fn default() -> Self {
        LonghornParams {
            class_name: "longhorn-runway".into(),
            replicas: 3,
            reclaim_policy: ReclaimPolicy::Retain,
            allow_volume_expansion: true,
            data_locality: DataLocality::Disabled,
            stale_replica_timeout_minutes: 30,
            default_class: false,
        }
    }
}

fn at(key: &str) -> KeyPath {
    KeyPath::root().key("longhorn").key(key)
}

impl LonghornParams {
    /// Checks every parameter; the first problem is returned with its key path.
    pub fn validate(&self) -> Result<(), Error> {
        if !runway_core::names::is_dns_label(&self.class_name) {
            return Err(Error::invalid(format!("`{}` is not a StorageClass name", self.class_name))
                .help("use lowercase letters, digits and `-` (`longhorn-runway`)")
                .with_path(at("class_name")));
        }
        if self.class_name == "longhorn" {
            return Err(Error::invalid("the class `longhorn` belongs to Longhorn's own install")
                .help("Longhorn's manager rewrites it from its `longhorn-storageclass` ConfigMap; pick another name")
                .with_path(at("class_name")));
        }
        if !(1..=20).contains(&self.replicas) {
            return Err(Error::invalid(format!("replicas `{}` must be between 1 and 20", self.replicas))
                .help("three copies on different nodes survive one node's loss during another's rebuild")
                .with_path(at("replicas")));
        }
        if self.data_locality == DataLocality::StrictLocal && self.replicas != 1 {
            return Err(Error::invalid("`strict-local` keeps one replica on the pod's node: set `replicas: 1`")
                .with_path(at("data_locality")));
        }
        if self.stale_replica_timeout_minutes == 0 {
            return Err(Error::invalid("stale_replica_timeout_minutes must be at least 1")
                .with_path(at("stale_replica_timeout_minutes")));
        }
        Ok(())
    }
}
