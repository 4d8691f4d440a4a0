//! Parameters of the storage class tiers and their validation.

use std::collections::BTreeMap;

use runway_core::{Error, KeyPath};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What happens to a volume when its claim is deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ReclaimPolicy {
    /// Keep the volume (and its data) for an operator to reuse or delete. The default:
    /// deleting a StatefulSet's claim by mistake must not delete a datastore's data.
    #[default]
    Retain,
    /// Delete the volume with its claim.
    Delete,
}

impl ReclaimPolicy {
    /// The API value.
    pub fn as_str(self) -> &'static str {
        match self {
            ReclaimPolicy::Retain => "Retain",
            ReclaimPolicy::Delete => "Delete",
        }
    }
}

/// The storage class tiers the Sysdig datastores claim (`sysdigcloud-fast` for Cassandra
/// and Elasticsearch, `sysdigcloud-standard` for MySQL and Redis), built for the platform's
/// CSI provisioner (`platform.provisioner`) and zones (`platform.zones`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SdcStorageParams {
    /// Reclaim policy of both tiers. Default: `Retain`.
    pub reclaim_policy: ReclaimPolicy,
    /// Lets claims grow (`kubectl edit pvc`, or a larger claim template size on a new
    /// StatefulSet). Rendered `false` for `rancher.io/local-path`, which cannot expand
    /// volumes. Default: `true`.
    pub allow_volume_expansion: bool,
    /// Amazon EBS (`ebs.csi.aws.com`) settings.
    pub aws: AwsStorage,
    /// Google Persistent Disk (`pd.csi.storage.gke.io`) settings.
    pub gcp: GcpStorage,
    /// Azure Disk (`disk.csi.azure.com`) settings.
    pub azure: AzureStorage,
    /// Longhorn (`driver.longhorn.io`) settings.
    pub longhorn: LonghornStorage,
    /// Extra provisioner parameters per tier, applied last (they replace runway's value of
    /// the same key). Also the way to use a provisioner runway has no defaults for.
    /// Default: none.
    pub parameters: TierParameters,
}

impl Default for SdcStorageParams {
    fn default() -> Self {
        SdcStorageParams {
            reclaim_policy: ReclaimPolicy::Retain,
            allow_volume_expansion: true,
            aws: AwsStorage::default(),
            gcp: GcpStorage::default(),
            azure: AzureStorage::default(),
            longhorn: LonghornStorage::default(),
            parameters: TierParameters::default(),
        }
    }
}

/// EBS gp3 volumes, encrypted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AwsStorage {
    /// Provisioned IOPS of the fast tier's gp3 volumes (3000 to 16000; gp3 includes 3000).
    /// The original's io1 "blazing" class asked 666 IOPS per GiB; gp3 gives a flat rate
    /// at a fraction of io1's price. Default: `6000`.
    pub fast_iops: u32,
    /// Provisioned throughput of the fast tier in MiB/s (125 to 1000, at most IOPS / 4).
    /// Default: `250`.
    pub fast_throughput: u32,
    /// A KMS key (id, alias or ARN) to encrypt with instead of the account's default EBS
    /// key. Default: `null` (the `aws/ebs` managed key).
    pub kms_key_id: Option<String>,
}

impl Default for AwsStorage {
    fn default() -> Self {
        AwsStorage { fast_iops: 6000, fast_throughput: 250, kms_key_id: None }
    }
}

/// Persistent Disk settings. PDs are encrypted at rest by Google by default.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct GcpStorage {
    /// A Cloud KMS key (`projects/P/locations/L/keyRings/R/cryptoKeys/K`) to encrypt with
    /// (CMEK) instead of Google's own keys. Default: `null`.
    pub kms_key: Option<String>,
}

/// Azure Disk settings. Managed disks are encrypted at rest (SSE) by default.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AzureStorage {
    /// The resource id of a disk encryption set, to encrypt with customer-managed keys
    /// instead of platform-managed ones. Default: `null`.
    pub disk_encryption_set_id: Option<String>,
}

/// Longhorn settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct LonghornStorage {
    /// Copies Longhorn keeps of each volume on different nodes. Default: `3`.
    pub number_of_replicas: u32,
    /// A Secret in `longhorn-system` holding `CRYPTO_KEY_VALUE` (and optionally the cipher
    /// settings) to encrypt volumes with; Longhorn does not encrypt without one.
    /// Default: `null` (volumes unencrypted: say so in your threat model, or set it).
    pub encryption_secret: Option<String>,
    /// Longhorn disk tags the fast tier's replicas must land on (e.g. `[ssd]`). Default: `[]`.
    pub fast_disk_selector: Vec<String>,
}

impl Default for LonghornStorage {
    fn default() -> Self {
        LonghornStorage { number_of_replicas: 3, encryption_secret: None, fast_disk_selector: Vec::new() }
    }
}

/// Extra parameters of each tier.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct TierParameters {
    /// Of `sysdigcloud-fast`. Default: `{}`.
    pub fast: BTreeMap<String, String>,
    /// Of `sysdigcloud-standard`. Default: `{}`.
    pub standard: BTreeMap<String, String>,
}

fn at(path: &[&str]) -> KeyPath {
    path.iter().fold(KeyPath::root().key("sdc_storage"), |p, k| p.key(k))
}

impl SdcStorageParams {
    /// Checks every parameter; the first problem is returned with its key path.
    pub fn validate(&self) -> Result<(), Error> {
        let a = &self.aws;
        if !(3000..=16000).contains(&a.fast_iops) {
            return Err(Error::invalid(format!("gp3 volumes take 3000 to 16000 IOPS, not {}", a.fast_iops))
                .help("use e.g. `6000`; 3000 is included in gp3's base price")
                .with_path(at(&["aws", "fast_iops"])));
        }
        if !(125..=1000).contains(&a.fast_throughput) {
            return Err(Error::invalid(format!("gp3 volumes take 125 to 1000 MiB/s, not {}", a.fast_throughput))
                .help("use e.g. `250`")
                .with_path(at(&["aws", "fast_throughput"])));
        }
        if a.fast_throughput * 4 > a.fast_iops {
            return Err(Error::invalid(format!(
                "gp3 allows at most 0.25 MiB/s per provisioned IOPS: {} MiB/s needs {} IOPS",
                a.fast_throughput,
                a.fast_throughput * 4
            ))
            .help(format!("raise `fast_iops` to {} or lower `fast_throughput`", a.fast_throughput * 4))
            .with_path(at(&["aws", "fast_throughput"])));
        }
        if self.longhorn.number_of_replicas == 0 {
            return Err(Error::invalid("a Longhorn volume needs at least one replica")
                .help("use `3` to survive the loss of a node, `1` only on a single-node cluster")
                .with_path(at(&["longhorn", "number_of_replicas"])));
        }
        for (key, value) in [
            ("kms_key_id", &self.aws.kms_key_id),
            ("kms_key", &self.gcp.kms_key),
            ("disk_encryption_set_id", &self.azure.disk_encryption_set_id),
            ("encryption_secret", &self.longhorn.encryption_secret),
        ] {
            if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                let group = match key {
                    "kms_key_id" => "aws",
                    "kms_key" => "gcp",
                    "disk_encryption_set_id" => "azure",
                    _ => "longhorn",
                };
                return Err(Error::invalid(format!("`{key}` is empty"))
                    .help("give a value, or `null` for the provider's default")
                    .with_path(at(&[group, key])));
            }
        }
        for (tier, map) in [("fast", &self.parameters.fast), ("standard", &self.parameters.standard)] {
            if let Some(k) = map.keys().find(|k| k.trim().is_empty()) {
                return Err(Error::invalid(format!("parameter name `{k}` is empty"))
                    .help("name each provisioner parameter, e.g. `fsType: xfs`")
                    .with_path(at(&["parameters", tier])));
            }
        }
        Ok(())
    }
}
