//! Parameters of the Sysdig agent and their validation.

use std::collections::BTreeMap;

use runway_core::{Error, KeyPath};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::pod::Resources;
use crate::sdc;

/// The agent image: Sysdig's agent chart (sysdiglabs/charts `charts/agent`) ships
/// `appVersion: 14.2.1`, and `quay.io/sysdig/agent` carries every release's tag.
pub const DEFAULT_IMAGE: &str = "quay.io/sysdig/agent:14.2.1";

/// How the agent sees system calls.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Driver {
    /// The universal eBPF probe (agent 13.3 and later, kernels with BTF, 5.8 and later):
    /// no kernel module, no privileged container, only the capabilities it needs.
    #[default]
    UniversalEbpf,
    /// The kernel module, built and loaded at start: a privileged container (older
    /// kernels without BTF).
    Kmod,
}

/// The Sysdig agent DaemonSet, connected to the on-prem collector.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SdcAgentParams {
    /// The agent image. Default: `quay.io/sysdig/agent:14.2.1`.
    pub image: String,
    /// The agent's namespace: its own, because its pods need the `privileged` Pod Security
    /// level, which the backend's namespace must not get. Default: `sysdig-agent`.
    pub namespace: String,
    /// The collector's address. Default: `sdc-collector.sysdigcloud.svc` (the in-cluster
    /// Service); agents of other clusters use the collector's load balancer.
    pub collector: String,
    /// The collector's port. Default: `6443`.
    pub collector_port: u16,
    /// TLS to the collector. Default: `true`.
    pub ssl: bool,
    /// Verify the collector's certificate. The backend's certificate is self-signed unless
    /// you gave it one (`sysdigcloud-ssl-secret`), so this is off by default; turn it on
    /// with a certificate the agent trusts. Default: `false`.
    pub ssl_verify_certificate: bool,
    /// `k8s_cluster_name`, the cluster's name in Sysdig. Default: `null`.
    pub cluster_name: Option<String>,
    /// Agent tags (`tags: key:value,...`). Default: `{}`.
    pub tags: BTreeMap<String, String>,
    /// The system call driver. Default: `universal_ebpf`.
    pub driver: Driver,
    /// Requests and limits. Default: requests `cpu: 500m, memory: 512Mi`, limits
    /// `cpu: 1000m, memory: 1Gi` (Sysdig's `small` profile as the limit).
    pub resources: Resources,
    /// A PriorityClass for the pods, so agents are not evicted first. Default: `null`.
    pub priority_class_name: Option<String>,
}

impl Default for SdcAgentParams {
    fn default() -> Self {
        SdcAgentParams {
            image: DEFAULT_IMAGE.into(),
            namespace: "sysdig-agent".into(),
            collector: format!("{}.{}.svc", crate::sdc_backend::COLLECTOR, sdc::NAMESPACE),
            collector_port: crate::sdc_backend::COLLECTOR_PORT as u16,
            ssl: true,
            ssl_verify_certificate: false,
            cluster_name: None,
            tags: BTreeMap::new(),
            driver: Driver::UniversalEbpf,
            resources: Resources::new("500m", "512Mi", Some("1000m"), "1Gi"),
            priority_class_name: None,
        }
    }
}

fn at(key: &str) -> KeyPath {
    KeyPath::root().key("sdc_agent").key(key)
}

impl SdcAgentParams {
    /// Checks every parameter; the first problem is returned with its key path.
    pub fn validate(&self) -> Result<(), Error> {
        if self.image.is_empty() || self.image.chars().any(char::is_whitespace) || !self.image.contains(':') {
            return Err(Error::invalid(format!("`{}` is not a tagged image reference", self.image))
                .help(format!("write `registry/repository:tag`, e.g. `{DEFAULT_IMAGE}`"))
                .with_path(at("image")));
        }
        if !runway_core::names::is_dns_label(&self.namespace) {
            return Err(Error::invalid(format!("`{}` is not a namespace name", self.namespace))
                .help("use lowercase letters, digits and `-`, e.g. `sysdig-agent`")
                .with_path(at("namespace")));
        }
        if self.namespace == sdc::NAMESPACE {
            return Err(Error::invalid("the agent needs a namespace of its own")
                .help(format!(
                    "its pods need the `privileged` Pod Security level; keep them out of `{}` (e.g. `sysdig-agent`)",
                    sdc::NAMESPACE
                ))
                .with_path(at("namespace")));
        }
        let c = &self.collector;
        if c.is_empty() || c.contains("://") || c.contains([':', '/', ' ']) {
            return Err(Error::invalid(format!("`{c}` is not a host name"))
                .help("give the collector's host alone, e.g. `collector.sysdig.example.com`; the port is `collector_port`")
                .with_path(at("collector")));
        }
        if self.collector_port == 0 {
            return Err(Error::invalid("port 0 is not a port").help("use `6443`").with_path(at("collector_port")));
        }
        if self.cluster_name.as_deref().is_some_and(|n| n.trim().is_empty()) {
            return Err(Error::invalid("`cluster_name` is empty")
                .help("give the cluster's name, or remove the key")
                .with_path(at("cluster_name")));
        }
        if let Some((k, v)) =
            self.tags.iter().find(|(k, v)| k.is_empty() || k.contains([',', ':', ' ']) || v.contains([',', ' ']))
        {
            return Err(Error::invalid(format!("tag `{k}: {v}` cannot be written as `key:value`"))
                .help("use keys without `,`, `:` or spaces, and values without `,` or spaces")
                .with_path(at("tags")));
        }
        self.resources.check().map_err(|msg| {
            Error::invalid(msg).help("raise the limit or lower the request").with_path(at("resources"))
        })?;
        Ok(())
    }
}
