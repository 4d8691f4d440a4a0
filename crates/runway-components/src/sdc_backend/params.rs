//! Parameters of the Sysdig backend (api, collector, worker) and their validation.

use runway_core::{Error, KeyPath};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::pod::Resources;

/// The backend image's repository; `version` is its tag.
pub const IMAGE_REPOSITORY: &str = "quay.io/sysdig/sysdigcloud-backend";
/// The backend version: the newest single-image release (one image, the role chosen by
/// `ROLES`) in draios/sysdigcloud-kubernetes' manifests (`sdc-collector.yaml` and
/// `sdc-worker.yaml` at 1207; sdc-kubernetes ran 658 to 800). Later releases split the
/// image into `-allinone-java`, `-nginx` and `-email-renderer` containers, a different
/// pod layout.
pub const DEFAULT_VERSION: &str = "1207";

/// How the API is reached from outside the cluster.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Exposure {
    /// A cloud load balancer per Service, with the platform's annotations (the original's).
    #[default]
    LoadBalancer,
    /// A port on every node (bare metal without a load balancer).
    NodePort,
    /// The API through the cluster's ingress controller at `INGRESS_HOST.<dns_zone>`, with a
    /// cert-manager certificate. Applies to the API only: agents speak a TLS protocol of
    /// their own to the collector, which an HTTP ingress cannot carry, so the collector
    /// stays a `LoadBalancer` (or `collector_exposure: NodePort`).
    Ingress,
}

/// How the collector is reached from outside the cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum CollectorExposure {
    /// A cloud load balancer with the platform's annotations.
    LoadBalancer,
    /// A port on every node.
    NodePort,
}

/// The Sysdig backend.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SdcBackendParams {
    /// The backend release, the image tag of api, collector and worker alike
    /// (`quay.io/sysdig/sysdigcloud-backend:VERSION`): the original's "Version updates"
    /// section is this one line. Read the release's upgrade notes first. Default: `1207`.
    pub version: String,
    /// How the API is exposed. Default: `LoadBalancer`.
    pub exposure: Exposure,
    /// How the collector is exposed. Default: `null`, as `exposure` (`LoadBalancer` when
    /// `exposure` is `Ingress`).
    pub collector_exposure: Option<CollectorExposure>,
    /// Host label of the API's Ingress (`exposure: Ingress`): `LABEL.<dns_zone>`.
    /// Default: `sysdig`.
    pub ingress_host: String,
    /// Client address ranges the load balancers accept (`loadBalancerSourceRanges`),
    /// e.g. `[10.0.0.0/8]`. Default: `[]` (any).
    pub load_balancer_source_ranges: Vec<String>,
    /// The API servers (`sdc-api`).
    pub api: ServedRole,
    /// The collectors agents connect to (`sdc-collector`).
    pub collector: ServedRole,
    /// The workers (`sdc-worker`): aggregations and alerts.
    pub worker: WorkerRole,
}

/// A role with a Service.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServedRole {
    /// Pods. Two keep the role up through a node drain or a rollout.
    /// Default: api `2`, collector `2`.
    #[serde(default = "two")]
    pub replicas: u32,
    /// Requests and limits, the original's. Default: api requests `cpu: 1000m, memory: 3Gi`,
    /// limits `cpu: 2000m, memory: 5Gi`; collector requests `cpu: 1000m, memory: 3Gi`,
    /// limits `cpu: 3000m, memory: 6Gi`.
    pub resources: Resources,
    /// A fixed node port (30000-32767) with `NodePort` exposure. Default: `null` (assigned).
    #[serde(default)]
    pub node_port: Option<u16>,
}

/// The worker role.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkerRole {
    /// Pods. Default: `1`.
    #[serde(default = "one")]
    pub replicas: u32,
    /// Requests and limits (the original set none; these are the api's). Default: requests
    /// `cpu: 1000m, memory: 3Gi`, limits `cpu: 2000m, memory: 5Gi`.
    pub resources: Resources,
}

fn one() -> u32 {
    1
}

fn two() -> u32 {
    2
}

impl Default for SdcBackendParams {
    fn default() -> Self {
        SdcBackendParams {
            version: DEFAULT_VERSION.into(),
            exposure: Exposure::LoadBalancer,
            collector_exposure: None,
            ingress_host: "sysdig".into(),
            load_balancer_source_ranges: Vec::new(),
            api: ServedRole {
                replicas: 2,
                resources: Resources::new("1000m", "3Gi", Some("2000m"), "5Gi"),
                node_port: None,
            },
            collector: ServedRole {
                replicas: 2,
                resources: Resources::new("1000m", "3Gi", Some("3000m"), "6Gi"),
                node_port: None,
            },
            worker: WorkerRole { replicas: 1, resources: Resources::new("1000m", "3Gi", Some("2000m"), "5Gi") },
        }
    }
}

fn at(path: &[&str]) -> KeyPath {
    path.iter().fold(KeyPath::root().key("sdc_backend"), |p, k| p.key(k))
}

impl SdcBackendParams {
    /// The full image reference.
    pub fn image(&self) -> String {
        format!("{IMAGE_REPOSITORY}:{}", self.version)
    }

    /// How the collector is exposed, after defaults.
    pub fn collector_exposure(&self) -> CollectorExposure {
        self.collector_exposure.unwrap_or(match self.exposure {
            Exposure::NodePort => CollectorExposure::NodePort,
            Exposure::LoadBalancer | Exposure::Ingress => CollectorExposure::LoadBalancer,
        })
    }

    /// Checks every parameter; the first problem is returned with its key path.
    pub fn validate(&self) -> Result<(), Error> {
        let v = &self.version;
        if v.is_empty() || !v.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')) {
            return Err(Error::invalid(format!("`{v}` is not a backend version"))
                .help(format!("give the release number, the image tag, e.g. `{DEFAULT_VERSION}`"))
                .with_path(at(&["version"])));
        }
        for (role, replicas, resources) in [
            ("api", self.api.replicas, &self.api.resources),
            ("collector", self.collector.replicas, &self.collector.resources),
            ("worker", self.worker.replicas, &self.worker.resources),
        ] {
            if replicas == 0 || i32::try_from(replicas).is_err() {
                return Err(Error::invalid(format!("{role} replicas must be from 1 to {}", i32::MAX))
                    .help("use 2 or more to keep the role up through a node drain")
                    .with_path(at(&[role, "replicas"])));
            }
            resources.check().map_err(|msg| {
                Error::invalid(msg).help("raise the limit or lower the request").with_path(at(&[role, "resources"]))
            })?;
        }
        let node_port_roles = [
            ("api", self.api.node_port, self.exposure == Exposure::NodePort),
            ("collector", self.collector.node_port, self.collector_exposure() == CollectorExposure::NodePort),
        ];
        for (role, port, is_node_port) in node_port_roles {
            let Some(port) = port else { continue };
            if !is_node_port {
                return Err(Error::invalid(format!(
                    "{role} `node_port` is set but the {role} is not a NodePort Service"
                ))
                .help("set `exposure: NodePort` (or `collector_exposure: NodePort`), or remove `node_port`")
                .with_path(at(&[role, "node_port"])));
            }
            if !(30000..=32767).contains(&port) {
                return Err(Error::invalid(format!("node port {port} is outside the cluster's range 30000-32767"))
                    .help("pick a port from 30000 to 32767, or remove `node_port` to have one assigned")
                    .with_path(at(&[role, "node_port"])));
            }
        }
        if self.api.node_port.is_some() && self.api.node_port == self.collector.node_port {
            return Err(Error::invalid("api and collector ask for the same node port")
                .help("give each its own port")
                .with_path(at(&["collector", "node_port"])));
        }
        if !runway_core::names::is_dns_label(&self.ingress_host) {
            return Err(Error::invalid(format!("`{}` is not a DNS label", self.ingress_host))
                .help("use lowercase letters, digits and `-`, e.g. `sysdig`")
                .with_path(at(&["ingress_host"])));
        }
        for range in &self.load_balancer_source_ranges {
            if !is_cidr(range) {
                return Err(Error::invalid(format!("`{range}` is not an address range"))
                    .help("write CIDR ranges, e.g. `203.0.113.0/24` or `2001:db8::/32`")
                    .with_path(at(&["load_balancer_source_ranges"])));
            }
        }
        Ok(())
    }
}

/// `ADDRESS/PREFIX` with an IPv4 or IPv6 address and a prefix that fits it.
fn is_cidr(s: &str) -> bool {
    let Some((addr, prefix)) = s.split_once('/') else { return false };
    let Ok(prefix) = prefix.parse::<u8>() else { return false };
    match addr.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => prefix <= 32,
        Ok(std::net::IpAddr::V6(_)) => prefix <= 128,
        Err(_) => false,
    }
}
