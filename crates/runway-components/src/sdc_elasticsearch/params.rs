//! Parameters of the Sysdig backend's Elasticsearch and their validation.
//!
//! Validation runs at the start of `build`, so a bad value never renders half a stack.
//! Every error names its key path (`sdc_elasticsearch.min_master_nodes`) and says how to
//! fix it. The quorum rules are the `elasticsearch` component's.

use runway_core::{Error, KeyPath};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::es_node;
use crate::common::pod::Resources;
use crate::quantity::Quantity;
use crate::sdc;

/// The Elasticsearch image. The Sysdig backend used Elasticsearch 5.x in sdc-kubernetes'
/// days and 6.8 later (draios/sysdigcloud-kubernetes), then OpenSearch 1, which speaks the
/// Elasticsearch 7.10 API; 7.17 reached its end of life in January 2026. 8.19, the last
/// 8.x minor and maintained, serves that 7.x API to clients that ask for it (REST API
/// compatibility), and is the release the logging `elasticsearch` component runs too.
pub const DEFAULT_IMAGE: &str = "docker.elastic.co/elasticsearch/elasticsearch:8.19.19";

/// The Elasticsearch major versions whose configuration runway writes.
pub const SUPPORTED_MAJORS: std::ops::RangeInclusive<u32> = 6..=9;

/// The Sysdig backend's event and metadata store. Names follow sdc-kubernetes
/// (`sdc-elasticsearch`, claim template `data`) so an existing install keeps its data.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SdcElasticsearchParams {
    /// Number of nodes; every node is master-eligible and holds data. Default: `3`.
    pub replicas: u32,
    /// The quorum: how many master-eligible nodes must stay up. Elasticsearch 6 takes it
    /// as `discovery.zen.minimum_master_nodes` (the original's
    /// `ELASTICSEARCH_MINIMUM_MASTER_NODES: 2`); Elasticsearch 7 and later manage their
    /// voting configuration themselves, and it is the PodDisruptionBudget's
    /// `minAvailable` only. It must be a majority of `replicas` (more than `replicas / 2`,
    /// else two halves of the cluster could each elect a master: split brain) and at most
    /// `replicas`. Default: `null`, derived as `replicas / 2 + 1` (3 → 2, 4 → 3, 5 → 3).
    pub min_master_nodes: Option<u32>,
    /// Size of each node's data volume (`data-sdc-elasticsearch-N`). Default: `40Gi` (the
    /// original's on aws).
    pub storage: Quantity,
    /// The claims' storage class. Default: `null`, the fast tier `sysdigcloud-fast` that
    /// `sdc_storage` renders.
    pub storage_class: Option<String>,
    /// The Elasticsearch image (an official one, which runs as uid 1000).
    /// Default: `docker.elastic.co/elasticsearch/elasticsearch:8.19.19`.
    pub image: String,
    /// The image's major version, which decides the configuration (Zen discovery and
    /// `minimum_master_nodes` for 6; seed hosts and initial master nodes for 7 and later).
    /// Default: `null`, read from the image's tag; set it when the tag does not say (a
    /// digest, a mirror's own tag).
    pub major_version: Option<u32>,
    /// Requests and limits of the Elasticsearch container. No CPU limit by default:
    /// indexing is bursty and CFS throttling stalls the JVM.
    /// Default: requests `cpu: 2, memory: 8Gi`, limits `memory: 8Gi`.
    pub resources: Resources,
    /// The JVM heap (`-Xms` and `-Xmx`, equal, as Elasticsearch requires; the original's
    /// `elasticsearch.jvm.options`). At most 75% of `resources.limits.memory`.
    /// Default: `4Gi`.
    pub heap: Quantity,
    /// Adds a privileged init container that raises the node's `vm.max_map_count` to
    /// 262144 and lets Elasticsearch use mmap (faster on large indices), as the original
    /// did always. Off, Elasticsearch reads through NIO and needs neither the sysctl nor
    /// privileges. Default: `false`.
    pub sysctl_init_container: bool,
    /// `cluster.name`, the original's so the existing cluster keeps its name. Letters,
    /// digits, `.`, `_` and `-`. Default: `sysdigcloud`.
    pub cluster_name: String,
    /// Pull secrets for the image (a mirror that requires a login); they must exist in
    /// `sysdigcloud`. Default: `[]`.
    pub image_pull_secrets: Vec<String>,
}

impl Default for SdcElasticsearchParams {
    fn default() -> Self {
        SdcElasticsearchParams {
            replicas: 3,
            min_master_nodes: None,
            storage: "40Gi".into(),
            storage_class: None,
            image: DEFAULT_IMAGE.into(),
            major_version: None,
            resources: Resources::new("2", "8Gi", None, "8Gi"),
            heap: "4Gi".into(),
            sysctl_init_container: false,
            cluster_name: "sysdigcloud".into(),
            image_pull_secrets: Vec::new(),
        }
    }
}

/// `sdc_elasticsearch.<key>`.
fn at(key: &str) -> KeyPath {
    KeyPath::root().key("sdc_elasticsearch").key(key)
}

/// `(major, minor)` of an image reference's tag (`...:8.19.19`, `...:6.8.23@sha256:...`),
/// when it has a numeric one; the minor is `None` when the tag has only a major.
pub fn tag_version(image: &str) -> Option<(u32, Option<u32>)> {
    let without_digest = image.split('@').next().unwrap_or(image);
    let last = without_digest.rsplit('/').next().unwrap_or(without_digest);
    let (_, tag) = last.split_once(':')?;
    let mut parts = tag.split(['.', '-']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().and_then(|m| m.parse().ok());
    Some((major, minor))
}

impl SdcElasticsearchParams {
    /// The smallest majority of `replicas`: `replicas / 2 + 1`.
    pub fn smallest_quorum(&self) -> u32 {
        self.replicas / 2 + 1
    }

    /// `min_master_nodes`, or the smallest majority when unset.
    pub fn quorum(&self) -> u32 {
        self.min_master_nodes.unwrap_or_else(|| self.smallest_quorum())
    }

    /// The heap in whole mebibytes (validated to be one).
    pub fn heap_mib(&self) -> u64 {
        self.heap.mebibytes()
    }

    /// The claims' storage class: `storage_class`, or the fast tier.
    pub fn storage_class_name(&self) -> &str {
        self.storage_class.as_deref().unwrap_or(sdc::storage::FAST)
    }

    /// The major version: `major_version`, or the image tag's (validated to be known).
    pub fn major(&self) -> u32 {
        self.major_version.or_else(|| tag_version(&self.image).map(|(m, _)| m)).unwrap_or(8)
    }

    /// Checks every parameter; the first problem is returned with its key path.
    pub fn validate(&self) -> Result<(), Error> {
        self.validate_quorum()?;
        self.validate_memory()?;
        self.validate_image()?;
        if self.storage.to_f64() <= 0.0 {
            return Err(Error::invalid(format!("storage `{}` must be more than zero", self.storage))
                .help("give each node room for its indices, e.g. `40Gi`")
                .with_path(at("storage")));
        }
        if let Some(class) = &self.storage_class {
            if !runway_core::names::is_dns_subdomain(class) {
                return Err(Error::invalid(format!("`{class}` is not a storage class name"))
                    .help("remove `storage_class` to use the fast tier `sysdigcloud-fast`")
                    .with_path(at("storage_class")));
            }
        }
        let name_ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        if self.cluster_name.is_empty() || !self.cluster_name.chars().all(name_ok) {
            return Err(Error::invalid(format!("cluster name `{}` is not allowed", self.cluster_name))
                .help("use letters, digits, `.`, `_` and `-` (the original's was `sysdigcloud`)")
                .with_path(at("cluster_name")));
        }
        for (i, s) in self.image_pull_secrets.iter().enumerate() {
            if !runway_core::names::is_dns_subdomain(s) {
                return Err(Error::invalid(format!("`{s}` is not a Secret name"))
                    .help("name a `kubernetes.io/dockerconfigjson` Secret of namespace `sysdigcloud`")
                    .with_path(at("image_pull_secrets").index(i)));
            }
        }
        Ok(())
    }

    fn validate_image(&self) -> Result<(), Error> {
        crate::images::check_image(&self.image, DEFAULT_IMAGE, at("image"))?;
        let from_tag = tag_version(&self.image);
        let (major, minor, key) = match (self.major_version, from_tag) {
            (Some(m), Some((t, minor))) if m == t => (m, minor, "major_version"),
            (Some(m), Some((t, _))) => {
                return Err(Error::invalid(format!("major_version `{m}` contradicts the image tag, which says `{t}`"))
                    .help("remove `major_version`: the tag says which configuration the image needs")
                    .with_path(at("major_version")))
            }
            (Some(m), None) => (m, None, "major_version"),
            (None, Some((t, minor))) => (t, minor, "image"),
            (None, None) => {
                return Err(Error::invalid(format!(
                    "the tag of `{}` does not say which Elasticsearch version it is",
                    self.image
                ))
                .help("set `major_version` (6, 7, 8 or 9) or use a versioned tag such as `8.19.19`")
                .with_path(at("image")))
            }
        };
        if !SUPPORTED_MAJORS.contains(&major) {
            return Err(Error::invalid(format!("Elasticsearch {major} is not supported"))
                .help("use 8.19 (the default), 7.17, 6.8 for an old backend, or 9.x")
                .with_path(at(key)));
        }
        // `node.store.allow_mmapfs`, which runway sets on 6.x, came with 6.7.
        if major == 6 && minor.is_some_and(|m| m < 7) {
            return Err(Error::invalid(format!("Elasticsearch 6.{} is too old", minor.unwrap_or(0)))
                .help("use 6.8 (`docker.elastic.co/elasticsearch/elasticsearch:6.8.23`), the last 6.x")
                .with_path(at(key)));
        }
        Ok(())
    }

    fn validate_quorum(&self) -> Result<(), Error> {
        let replicas = self.replicas;
        if replicas == 0 || i32::try_from(replicas).is_err() {
            return Err(Error::invalid(format!("replicas `{replicas}` is not a usable node count"))
                .help("use 3 or more for a cluster that survives the loss of a node")
                .with_path(at("replicas")));
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
        es_node::check_heap(&self.heap, &self.resources.limits.memory, at("heap"))
    }
}
