//! Parameters of node-problem-detector and their validation.

use runway_core::{Error, KeyPath};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::pod::Resources;

/// The image: v0.8.22, in registry.k8s.io since September 2025 (its CVE issue,
/// kubernetes/node-problem-detector#1085, scans exactly this tag there).
pub const DEFAULT_IMAGE: &str = "registry.k8s.io/node-problem-detector/node-problem-detector:v0.8.22";

/// The nodes' container runtime, whose problems are watched.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ContainerRuntime {
    /// containerd (every current distribution, k3s included): its restarts through the
    /// systemd monitor.
    #[default]
    Containerd,
    /// Docker (cri-dockerd): adds upstream's docker monitor (corrupt images and overlay2).
    Docker,
}

/// node-problem-detector.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct NodeProblemDetectorParams {
    /// The image. Default:
    /// `registry.k8s.io/node-problem-detector/node-problem-detector:v0.8.22`.
    pub image: String,
    /// Namespace of the DaemonSet. Default: `kube-system` (upstream's; its pods need host
    /// access, which would lower the runtime namespace's Pod Security level).
    pub namespace: String,
    /// The nodes' container runtime: `containerd` or `docker`. Default: `containerd`.
    pub container_runtime: ContainerRuntime,
    /// Requests and limits. Default: requests `cpu: 10m, memory: 80Mi` (upstream's),
    /// limits `memory: 160Mi`.
    pub resources: Resources,
}

impl Default for NodeProblemDetectorParams {
    fn default() -> Self {
        NodeProblemDetectorParams {
            image: DEFAULT_IMAGE.into(),
            namespace: "kube-system".into(),
            container_runtime: ContainerRuntime::Containerd,
            resources: Resources::new("10m", "80Mi", None, "160Mi"),
        }
    }
}

/// `node_problem_detector.<key>`.
fn at(key: &str) -> KeyPath {
    KeyPath::root().key("node_problem_detector").key(key)
}

impl NodeProblemDetectorParams {
    /// Checks every parameter; the first problem is returned with its key path.
    pub fn validate(&self) -> Result<(), Error> {
        crate::images::check_image(&self.image, DEFAULT_IMAGE, at("image"))?;
        if !runway_core::names::is_dns_label(&self.namespace) {
            return Err(Error::invalid(format!("`{}` is not a namespace name", self.namespace))
                .help("use `kube-system` (upstream's) or the runtime's namespace")
                .with_path(at("namespace")));
        }
        self.resources.check().map_err(|msg| {
            Error::invalid(msg).help("raise the limit or lower the request").with_path(at("resources"))
        })?;
        Ok(())
    }
}
