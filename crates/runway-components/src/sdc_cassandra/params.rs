//! Parameters of the Sysdig backend's Cassandra and their validation.
//!
//! Validation runs at the start of `build`, so a bad value never renders half a stack.
//! Every error names its key path (`sdc_cassandra.seeds`) and says how to fix it.

use runway_core::{Error, KeyPath};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::pod::Resources;
use crate::context::{Cloud, Context};
use crate::quantity::Quantity;
use crate::sdc;

/// The Cassandra image: the official one, 5.0 (the newest major line with patch releases;
/// 5.0.8 is one of its 2026 maintenance releases).
pub const DEFAULT_IMAGE: &str = "cassandra:5.0.8";

/// The data volume on AWS, as sdc-kubernetes' `aws/datastores/sdc-cassandra.yaml`.
pub const AWS_STORAGE: &str = "400Gi";
/// The data volume everywhere else, as sdc-kubernetes' `gke/datastores/sdc-cassandra.yaml`.
pub const OTHER_STORAGE: &str = "100Gi";

/// How a node learns its datacenter and rack (Cassandra's `endpoint_snitch`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Snitch {
    /// By the platform's cloud: `Ec2Snitch` on aws, `GoogleCloudSnitch` on gcp,
    /// `GossipingPropertyFileSnitch` elsewhere.
    #[default]
    #[serde(rename = "auto")]
    Auto,
    /// Datacenter and rack from the EC2 instance metadata (region and availability zone).
    /// The pods must reach the metadata service (IMDSv2 hop limit of 2 or more).
    Ec2Snitch,
    /// Datacenter and rack from the GCE metadata server (region and zone).
    GoogleCloudSnitch,
    /// Datacenter from `datacenter`, rack from the node's zone label, written at start by
    /// an init container that reads the node through the API.
    GossipingPropertyFileSnitch,
}

impl Snitch {
    /// The class name Cassandra is configured with.
    pub fn class_name(self) -> &'static str {
        match self {
            Snitch::Auto => "auto",
            Snitch::Ec2Snitch => "Ec2Snitch",
            Snitch::GoogleCloudSnitch => "GoogleCloudSnitch",
            Snitch::GossipingPropertyFileSnitch => "GossipingPropertyFileSnitch",
        }
    }
}

/// How `Ec2Snitch` names datacenters and racks (`ec2_naming_scheme` in
/// cassandra-rackdc.properties).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Ec2NamingScheme {
    /// Cassandra 2.x/3.x names: `us-west-1a` is datacenter `us-west`, rack `1a`. A node
    /// refuses to start when its datacenter or rack changes, so a cluster created before
    /// Cassandra 4.0 (sdc-kubernetes ran 2.2) must keep this.
    #[default]
    Legacy,
    /// Cassandra 4.0's default: datacenter `us-west-1`, rack `us-west-1a`.
    Standard,
}

/// The Sysdig backend's metric store. Names follow sdc-kubernetes (`sdc-cassandra`, claim
/// template `data`) so an existing install is adopted in place.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SdcCassandraParams {
    /// Number of nodes. Default: `3`.
    pub replicas: u32,
    /// How many of the first pods are seeds (`sdc-cassandra-0.sdc-cassandra.sysdigcloud.svc`,
    /// ...); every node gets the same list. A seed never bootstraps, so not every node is
    /// one: nodes added by scaling up stream their data in. At least 1, at most `replicas`.
    /// Default: `2`.
    pub seeds: u32,
    /// `cluster_name`; Cassandra refuses to start when it differs from the one saved in the
    /// data, so it stays the original's. Letters, digits, `.`, `_` and `-`.
    /// Default: `sysdigcloud`.
    pub cluster_name: String,
    /// The `endpoint_snitch`. Default: `auto` (Ec2Snitch on aws, GoogleCloudSnitch on gcp,
    /// GossipingPropertyFileSnitch elsewhere).
    pub snitch: Snitch,
    /// The datacenter name with `GossipingPropertyFileSnitch` (the cloud snitches take the
    /// region). Default: `dc1`.
    pub datacenter: String,
    /// The rack of a node whose Kubernetes node has no zone label, with
    /// `GossipingPropertyFileSnitch`. Default: `rack1`.
    pub default_rack: String,
    /// `Ec2Snitch`'s naming of datacenters and racks. Default: `legacy` (the names the
    /// original's Cassandra 2.2 cluster has).
    pub ec2_naming_scheme: Ec2NamingScheme,
    /// Virtual nodes per node (`num_tokens`). A node refuses to start when this differs
    /// from the tokens it owns, so it stays the original's 256; a new cluster may use 16.
    /// Default: `256`.
    pub num_tokens: u32,
    /// The JVM heap (`MAX_HEAP_SIZE`). At most half of `resources.limits.memory`: memtables,
    /// bloom filters, compression metadata and the page cache live outside the heap.
    /// Default: `8Gi`.
    pub heap: Quantity,
    /// The young generation (`HEAP_NEWSIZE`, used by the CMS collector of Cassandra 4.x;
    /// G1, Cassandra 5.0's default, sizes it itself). Default: `null`, derived as
    /// cassandra-env.sh does but from the pod's CPU request instead of the node's cores:
    /// 100Mi per requested core, at most a quarter of the heap.
    pub heap_newsize: Option<Quantity>,
    /// Extra JVM options (`JVM_EXTRA_OPTS`, the original's `cassandra.jvm.options`).
    /// Default: `""`.
    pub jvm_extra_opts: String,
    /// Requests and limits of the Cassandra container. No CPU limit by default: CFS
    /// throttling stalls compaction and gossip. Default: requests `cpu: 2, memory: 16Gi`,
    /// limits `memory: 16Gi`.
    pub resources: Resources,
    /// Size of each node's data volume (`data-sdc-cassandra-N`). Default: `null`, by cloud
    /// as the original: `400Gi` on aws, `100Gi` elsewhere.
    pub storage: Option<Quantity>,
    /// The claims' storage class. Default: `null`, the fast tier `sysdigcloud-fast` that
    /// `sdc_storage` renders. Set the original's class (`aws-blazing-mutli-az`, `gce-pd`)
    /// to keep the claim template identical to an existing StatefulSet's.
    pub storage_class: Option<String>,
    /// The Cassandra image (official, runs as uid 999). Default: `cassandra:5.0.8`.
    pub image: String,
    /// Pull secrets for the image (a mirror that requires a login); they must exist in
    /// `sysdigcloud`. Default: `[]`.
    pub image_pull_secrets: Vec<String>,
    /// Adds a privileged init container that raises the node's `vm.max_map_count` to
    /// 1048575, which Cassandra recommends because it memory-maps its SSTable indexes:
    /// with the kernel's 65530 a node holding many SSTables fails with `Map failed`. Off,
    /// set it on the nodes (sysctl.d) instead. Default: `false`.
    pub sysctl_init_container: bool,
}

impl Default for SdcCassandraParams {
    fn default() -> Self {
        SdcCassandraParams {
            replicas: 3,
            seeds: 2,
            cluster_name: "sysdigcloud".into(),
            snitch: Snitch::Auto,
            datacenter: "dc1".into(),
            default_rack: "rack1".into(),
            ec2_naming_scheme: Ec2NamingScheme::Legacy,
            num_tokens: 256,
            heap: "8Gi".into(),
            heap_newsize: None,
            jvm_extra_opts: String::new(),
            resources: Resources::new("2", "16Gi", None, "16Gi"),
            storage: None,
            storage_class: None,
            image: DEFAULT_IMAGE.into(),
            image_pull_secrets: Vec::new(),
            sysctl_init_container: false,
        }
    }
}

/// The share of the memory limit the heap may take at most.
const MAX_HEAP_SHARE: f64 = 0.5;
/// The smallest heap Cassandra runs with.
const MIN_HEAP_MIB: u64 = 1024;
const MIB: f64 = 1024.0 * 1024.0;

/// `sdc_cassandra.<key>`.
fn at(key: &str) -> KeyPath {
    KeyPath::root().key("sdc_cassandra").key(key)
}

/// True for a name Cassandra and the container's `sed` take verbatim.
fn plain_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

impl SdcCassandraParams {
    /// The snitch for this platform: `snitch`, or the cloud's when `auto`.
    pub fn snitch_for(&self, cx: &Context) -> Snitch {
        match (self.snitch, cx.platform.cloud) {
            (Snitch::Auto, Cloud::Aws) => Snitch::Ec2Snitch,
            (Snitch::Auto, Cloud::Gcp) => Snitch::GoogleCloudSnitch,
            (Snitch::Auto, _) => Snitch::GossipingPropertyFileSnitch,
            (s, _) => s,
        }
    }

    /// The data volume size: `storage`, or the original's for the cloud.
    pub fn storage_for(&self, cx: &Context) -> Quantity {
        match (&self.storage, cx.platform.cloud) {
            (Some(q), _) => q.clone(),
            (None, Cloud::Aws) => AWS_STORAGE.into(),
            (None, _) => OTHER_STORAGE.into(),
        }
    }

    /// The claims' storage class: `storage_class`, or the fast tier.
    pub fn storage_class_name(&self) -> &str {
        self.storage_class.as_deref().unwrap_or(sdc::storage::FAST)
    }

    /// The heap in whole mebibytes (validated to be one).
    pub fn heap_mib(&self) -> u64 {
        self.heap.mebibytes()
    }

    /// The young generation in mebibytes: `heap_newsize`, or 100Mi per requested core
    /// (at least one) capped at a quarter of the heap.
    pub fn heap_newsize_mib(&self) -> u64 {
        if let Some(q) = &self.heap_newsize {
            return q.mebibytes();
        }
        let cores = self.resources.requests.cpu.as_ref().map_or(1.0, Quantity::to_f64).ceil().max(1.0) as u64;
        (100 * cores).min(self.heap_mib() / 4)
    }

    /// Checks every parameter; the first problem is returned with its key path.
    pub fn validate(&self) -> Result<(), Error> {
        if self.replicas == 0 || i32::try_from(self.replicas).is_err() {
            return Err(Error::invalid(format!("replicas `{}` is not a usable node count", self.replicas))
                .help("use 3 or more, so that a replication factor of 3 survives the loss of a node")
                .with_path(at("replicas")));
        }
        if self.seeds == 0 || self.seeds > self.replicas {
            return Err(Error::invalid(format!(
                "seeds `{}` must be from 1 to the {} replicas",
                self.seeds, self.replicas
            ))
            .help("use `2`: two seeds keep new nodes able to join while one of them is down")
            .with_path(at("seeds")));
        }
        for (key, value, what) in [
            ("cluster_name", &self.cluster_name, "the original's was `sysdigcloud`"),
            ("datacenter", &self.datacenter, "e.g. `dc1`"),
            ("default_rack", &self.default_rack, "e.g. `rack1`"),
        ] {
            if !plain_name(value) {
                return Err(Error::invalid(format!("`{value}` is not a usable {}", key.replace('_', " ")))
                    .help(format!("use letters, digits, `.`, `_` and `-`, at most 64 characters ({what})"))
                    .with_path(at(key)));
            }
        }
        if self.num_tokens == 0 || self.num_tokens > 1536 {
            return Err(Error::invalid(format!("num_tokens `{}` is out of range", self.num_tokens))
                .help("keep `256` for a cluster created by sdc-kubernetes; `16` for a new one")
                .with_path(at("num_tokens")));
        }
        if self.jvm_extra_opts.contains(['\n', '\r']) {
            return Err(Error::invalid("jvm_extra_opts spans several lines")
                .help("write the options on one line, separated by spaces")
                .with_path(at("jvm_extra_opts")));
        }
        self.validate_memory()?;
        let storage = self.storage.as_ref();
        if storage.is_some_and(|q| q.to_f64() <= 0.0) {
            return Err(Error::invalid("storage must be more than zero")
                .help("give each node room for its SSTables and compaction, e.g. `400Gi`")
                .with_path(at("storage")));
        }
        if let Some(class) = &self.storage_class {
            if !runway_core::names::is_dns_subdomain(class) {
                return Err(Error::invalid(format!("`{class}` is not a storage class name"))
                    .help("remove `storage_class` to use the fast tier `sysdigcloud-fast`")
                    .with_path(at("storage_class")));
            }
        }
        crate::images::check_image(&self.image, DEFAULT_IMAGE, at("image"))?;
        for (i, s) in self.image_pull_secrets.iter().enumerate() {
            if !runway_core::names::is_dns_subdomain(s) {
                return Err(Error::invalid(format!("`{s}` is not a Secret name"))
                    .help("name a `kubernetes.io/dockerconfigjson` Secret of namespace `sysdigcloud`")
                    .with_path(at("image_pull_secrets").index(i)));
            }
        }
        Ok(())
    }

    fn validate_memory(&self) -> Result<(), Error> {
        self.resources.check().map_err(|msg| {
            Error::invalid(msg).help("raise the limit or lower the request").with_path(at("resources"))
        })?;
        for (key, q) in [("heap", Some(&self.heap)), ("heap_newsize", self.heap_newsize.as_ref())] {
            let Some(q) = q else { continue };
            if q.to_f64() <= 0.0 || q.to_f64() % MIB != 0.0 {
                return Err(Error::invalid(format!("{key} `{q}` is not a whole number of mebibytes"))
                    .help("the JVM takes its sizes in whole units; write e.g. `8Gi` or `800Mi`")
                    .with_path(at(key)));
            }
        }
        if self.heap_mib() < MIN_HEAP_MIB {
            return Err(Error::invalid(format!("heap `{}` is too small for Cassandra", self.heap))
                .help(format!("use at least `{MIN_HEAP_MIB}Mi`"))
                .with_path(at("heap")));
        }
        if self.heap_newsize.is_some() && self.heap_newsize_mib() * 2 > self.heap_mib() {
            return Err(Error::invalid(format!("heap_newsize is more than half of the heap `{}`", self.heap))
                .help("use at most a quarter of the heap, or remove `heap_newsize` to derive it")
                .with_path(at("heap_newsize")));
        }
        let heap = self.heap.to_f64();
        let limit = self.resources.limits.memory.to_f64();
        if heap > limit * MAX_HEAP_SHARE {
            let need_limit = (heap / MAX_HEAP_SHARE / MIB).ceil() as u64;
            let max_heap = (limit * MAX_HEAP_SHARE / MIB).floor() as u64;
            return Err(Error::invalid(format!(
                "heap `{}` is more than half of the memory limit `{}`",
                self.heap, self.resources.limits.memory
            ))
            .help(format!(
                "raise `resources.limits.memory` to at least `{need_limit}Mi` or lower `heap` to at most `{max_heap}Mi`"
            ))
            .note(
                "Cassandra keeps memtables, bloom filters, compression metadata and its reads' page cache \
                 outside the heap; with too little of it the container is OOM-killed",
            )
            .with_path(at("heap")));
        }
        Ok(())
    }
}
