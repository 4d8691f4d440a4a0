//! Parameters of the logging Elasticsearch and their validation.
//!
//! Validation runs at the start of `build`, so a bad value never renders half a stack.
//! Every error names its key path (`elasticsearch.min_master_nodes`) and says how to fix it.

use runway_core::{Error, KeyPath};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::es_node;
use crate::common::pod::Resources;
use crate::quantity::Quantity;

/// The Elasticsearch image. 8.19 is the last 8.x minor: a BKPR install (Elasticsearch
/// 7.12) reaches it through 7.17, and its 7.x-created indices stay readable, which 9.x
/// would refuse.
pub const DEFAULT_IMAGE: &str = "docker.elastic.co/elasticsearch/elasticsearch:8.19.19";
/// The Prometheus exporter image (prometheus-community's, listening on 9114).
pub const DEFAULT_EXPORTER_IMAGE: &str = "quay.io/prometheuscommunity/elasticsearch-exporter:v1.9.0";
/// The image of the retention job: curl and a POSIX shell, running as a non-root user.
pub const DEFAULT_RETENTION_IMAGE: &str = "curlimages/curl:8.16.0";

/// Elasticsearch for logs. Names follow BKPR (`elasticsearch-logging`) so an existing
/// install is adopted in place.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ElasticsearchParams {
    /// Number of nodes; every node is master-eligible and holds data. Default: `3`.
    pub replicas: u32,
    /// The quorum: how many nodes must stay up. Elasticsearch 7 and later manage their
    /// voting configuration themselves and refuse `discovery.zen.minimum_master_nodes`,
    /// so this value is not passed to Elasticsearch: it is the PodDisruptionBudget's
    /// `minAvailable`, so that a node drain never takes the cluster below quorum. It must
    /// be a majority of `replicas` (more than `replicas / 2`, else two halves of the
    /// cluster could each keep going: split brain) and at most `replicas`.
    /// Default: `null`, derived as `replicas / 2 + 1` (3 → 2, 4 → 3, 5 → 3).
    pub min_master_nodes: Option<u32>,
    /// Size of each node's data volume (`data-elasticsearch-logging-N`). Default: `100Gi`.
    pub storage: Quantity,
    /// The Elasticsearch image. Default: `docker.elastic.co/elasticsearch/elasticsearch:8.19.19`.
    pub image: String,
    /// The Prometheus exporter sidecar's image.
    /// Default: `quay.io/prometheuscommunity/elasticsearch-exporter:v1.9.0`.
    pub exporter_image: String,
    /// Requests and limits of the Elasticsearch container. No CPU limit by default:
    /// indexing is bursty and CFS throttling stalls the JVM.
    /// Default: requests `cpu: 500m, memory: 2Gi`, limits `memory: 2Gi`.
    pub resources: Resources,
    /// Requests and limits of the exporter sidecar.
    /// Default: requests `cpu: 10m, memory: 32Mi`, limits `memory: 64Mi`.
    pub exporter_resources: Resources,
    /// The JVM heap (`-Xms` and `-Xmx`, which Elasticsearch requires to be equal). At
    /// most 75% of `resources.limits.memory`: the rest holds direct buffers, thread
    /// stacks, metaspace and the file cache Lucene reads through. Default: `1Gi`.
    pub heap: Quantity,
    /// Days an index (`logstash-*`, as fluentd names them) is kept before deletion.
    /// `0` disables retention (and its CronJob). Note that a `null` in an override file
    /// deletes the key and so restores the default; write `0` to disable.
    /// Default: `30`.
    pub retention_days: Option<u32>,
    /// When the retention job runs (cron syntax, UTC). Default: `30 1 * * *`.
    pub retention_schedule: String,
    /// The retention job's image. Default: `curlimages/curl:8.16.0`.
    pub retention_image: String,
    /// Adds a privileged init container that raises the node's `vm.max_map_count` to
    /// 262144 and lets Elasticsearch use mmap (`node.store.allow_mmap: true`), which is
    /// faster on large indices. Off, Elasticsearch reads through NIO and needs neither
    /// the sysctl nor privileges. Default: `false`.
    pub sysctl_init_container: bool,
    /// `cluster.name`; BKPR's, so the existing cluster keeps its name. Letters, digits,
    /// `.`, `_` and `-`. Default: `elasticsearch-cluster`.
    pub cluster_name: String,
}

impl Default for ElasticsearchParams {
    fn default() -> Self {
        ElasticsearchParams {
            replicas: 3,
            min_master_nodes: None,
            storage: "100Gi".into(),
            image: DEFAULT_IMAGE.into(),
            exporter_image: DEFAULT_EXPORTER_IMAGE.into(),
            resources: Resources::new("500m", "2Gi", None, "2Gi"),
            exporter_resources: Resources::new("10m", "32Mi", None, "64Mi"),
            heap: "1Gi".into(),
            retention_days: Some(30),
            retention_schedule: "30 1 * * *".into(),
            retention_image: DEFAULT_RETENTION_IMAGE.into(),
            sysctl_init_container: false,
            cluster_name: "elasticsearch-cluster".into(),
        }
    }
}

/// `elasticsearch.<key>`.
fn at(key: &str) -> KeyPath {
    KeyPath::root().key("elasticsearch").key(key)
}

impl ElasticsearchParams {
    /// The smallest majority of `replicas`: `replicas / 2 + 1`.
    pub fn smallest_quorum(&self) -> u32 {
        self.replicas / 2 + 1
    }

    /// `min_master_nodes`, or the smallest majority when unset.
    pub fn quorum(&self) -> u32 {
        self.min_master_nodes.unwrap_or_else(|| self.smallest_quorum())
    }

    /// The retention in days, `None` when disabled (`0` or `null`).
    pub fn retention(&self) -> Option<u32> {
        self.retention_days.filter(|d| *d > 0)
    }

    /// The heap in whole mebibytes (validated to be one).
    pub fn heap_mib(&self) -> u64 {
        self.heap.mebibytes()
    }

    /// Checks every parameter; the first problem is returned with its key path.
    pub fn validate(&self) -> Result<(), Error> {
        self.validate_quorum()?;
        self.validate_memory()?;
        if self.storage.to_f64() <= 0.0 {
            return Err(Error::invalid(format!("storage `{}` must be more than zero", self.storage))
                .help("give each node room for its indices, e.g. `100Gi`")
                .with_path(at("storage")));
        }
        for (key, image) in [
            ("image", &self.image),
            ("exporter_image", &self.exporter_image),
            ("retention_image", &self.retention_image),
        ] {
            if image.is_empty() || image.chars().any(char::is_whitespace) {
                return Err(Error::invalid(format!("`{image}` is not an image reference"))
                    .help(
                        "write `registry/repository:tag`, e.g. `docker.elastic.co/elasticsearch/elasticsearch:8.19.19`",
                    )
                    .with_path(at(key)));
            }
        }
        let name_ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        if self.cluster_name.is_empty() || !self.cluster_name.chars().all(name_ok) {
            return Err(Error::invalid(format!("cluster name `{}` is not allowed", self.cluster_name))
                .help("use letters, digits, `.`, `_` and `-` (BKPR's was `elasticsearch-cluster`)")
                .with_path(at("cluster_name")));
        }
        let fields = self.retention_schedule.split_whitespace().count();
        if fields != 5 && !self.retention_schedule.starts_with('@') {
            return Err(Error::invalid(format!(
                "schedule `{}` has {fields} fields, a cron schedule has 5",
                self.retention_schedule
            ))
            .help("write `minute hour day-of-month month day-of-week`, e.g. `30 1 * * *`")
            .with_path(at("retention_schedule")));
        }
        Ok(())
    }

    fn validate_quorum(&self) -> Result<(), Error> {
        let replicas = self.replicas;
        if replicas == 0 {
            return Err(Error::invalid("replicas must be at least 1")
                .help("use 3 or more for a cluster that survives the loss of a node")
                .with_path(at("replicas")));
        }
        if i32::try_from(replicas).is_err() {
            return Err(Error::invalid(format!("replicas `{replicas}` is too large")).with_path(at("replicas")));
        }
        let Some(m) = self.min_master_nodes else {
            return Ok(());
        };
        let smallest = self.smallest_quorum();
        if m <= replicas / 2 {
            return Err(Error::invalid(format!(
                "min_master_nodes `{m}` allows split brain with {replicas} replicas: it is not a majority"
            ))
            .help(format!("use at least `{smallest}` (replicas / 2 + 1), or remove `min_master_nodes` to derive it"))
            .with_path(at("min_master_nodes")));
        }
        if m > replicas {
            return Err(Error::invalid(format!(
                "min_master_nodes `{m}` is more than the {replicas} replicas: the quorum could never be met"
            ))
            .help(format!("use a value from `{smallest}` to `{replicas}`, or remove `min_master_nodes` to derive it"))
            .with_path(at("min_master_nodes")));
        }
        Ok(())
    }

    fn validate_memory(&self) -> Result<(), Error> {
        self.resources.check().map_err(|msg| {
            Error::invalid(msg).help("raise the limit or lower the request").with_path(at("resources"))
        })?;
        self.exporter_resources.check().map_err(|msg| {
            Error::invalid(msg).help("raise the limit or lower the request").with_path(at("exporter_resources"))
        })?;
        es_node::check_heap(&self.heap, &self.resources.limits.memory, at("heap"))
    }
}
