//! Parameters of Kibana and their validation.
//!
//! Validation runs at the start of `build`, so a bad value never renders half a stack.
//! Every error names its key path (`kibana.replicas`) and says how to fix it.

use runway_core::{Error, KeyPath};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::pod::Resources;

/// The Kibana image: Elastic's official one, at the version of the elasticsearch
/// component's image (`elasticsearch::DEFAULT_IMAGE`). Kibana requires an Elasticsearch
/// of its own major version and at least its minor; the two are upgraded together.
pub const DEFAULT_IMAGE: &str = "docker.elastic.co/kibana/kibana:8.19.19";

/// Kibana, the UI of the logging Elasticsearch. Names follow BKPR (Deployment `kibana`,
/// Service and Ingress `kibana-logging`) so an existing install is adopted in place.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct KibanaParams {
    /// Number of Kibana pods (BKPR ran one). Kibana keeps its state in Elasticsearch, so
    /// more replicas only add availability. Default: `1`.
    pub replicas: u32,
    /// The Kibana image; keep its version equal to the elasticsearch component's.
    /// Default: `docker.elastic.co/kibana/kibana:8.19.19`.
    pub image: String,
    /// Requests and limits of the `kibana` container. Kibana's Node.js process needs about
    /// 1 GiB; no CPU limit, because startup (plugin initialisation, saved-object
    /// migrations) is CPU-bound, as BKPR's own comment on its 1-core limit said.
    /// Default: requests `cpu: 100m, memory: 1Gi`, limits `memory: 1Gi`.
    pub resources: Resources,
}

impl Default for KibanaParams {
    fn default() -> Self {
        KibanaParams { replicas: 1, image: DEFAULT_IMAGE.into(), resources: Resources::new("100m", "1Gi", None, "1Gi") }
    }
}

/// The least memory Kibana 8 starts with.
const MIN_MEMORY_MIB: u64 = 512;

/// `kibana.<key>`.
fn at(key: &str) -> KeyPath {
    KeyPath::root().key("kibana").key(key)
}

impl KibanaParams {
    /// Checks every parameter; the first problem is returned with its key path.
    pub fn validate(&self) -> Result<(), Error> {
        if self.replicas == 0 {
            return Err(Error::invalid("replicas must be at least 1")
                .help("to leave Kibana out, remove `kibana` from the stack's `components:`")
                .with_path(at("replicas")));
        }
        if i32::try_from(self.replicas).is_err() {
            return Err(Error::invalid(format!("replicas `{}` is too large", self.replicas)).with_path(at("replicas")));
        }
        crate::images::check_image(&self.image, DEFAULT_IMAGE, at("image"))?;
        self.resources.check().map_err(|msg| {
            Error::invalid(msg).help("raise the limit or lower the request").with_path(at("resources"))
        })?;
        if self.resources.limits.memory.mebibytes() < MIN_MEMORY_MIB {
            return Err(Error::invalid(format!(
                "memory limit `{}` is too small for Kibana",
                self.resources.limits.memory
            ))
            .help(format!("give it at least `{MIN_MEMORY_MIB}Mi`; `1Gi` is Elastic's default"))
            .with_path(at("resources")));
        }
        Ok(())
    }
}
