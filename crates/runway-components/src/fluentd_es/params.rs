//! Parameters of the log collector and their validation.
//!
//! Validation runs at the start of `build`, so a bad value never renders half a stack.
//! Every error names its key path (`fluentd_es.buffer_size`) and says how to fix it.

use runway_core::names::is_dns_subdomain;
use runway_core::{Error, KeyPath};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::pod::Resources;
use crate::quantity::Quantity;

/// The fluentd image: the Fluentd project's Kubernetes DaemonSet image (Debian) with the
/// Elasticsearch 8 plugins: fluent-plugin-elasticsearch 5.4, kubernetes_metadata_filter
/// 3.8, prometheus 2.2, parser-cri, concat, detect-exceptions, dedot_filter and systemd.
pub const DEFAULT_IMAGE: &str = "fluent/fluentd-kubernetes-daemonset:v1.19.3-debian-elasticsearch8-1.1";

/// The smallest on-disk buffer: room for a few 8 MiB chunks per flush thread.
const MIN_BUFFER_MIB: u64 = 64;

/// fluentd's own log level.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Everything, including each event's routing.
    Trace,
    /// Plugin internals.
    Debug,
    /// Startup, configuration and lifecycle messages.
    #[default]
    Info,
    /// Retries and recoverable problems (Elasticsearch unreachable, a line that does not parse).
    Warn,
    /// Failures only.
    Error,
    /// Only what stops fluentd.
    Fatal,
}

impl LogLevel {
    /// The word fluentd's `log_level` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Trace => "trace",
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
            LogLevel::Fatal => "fatal",
        }
    }
}

/// Fluentd on every node, shipping container and system logs to the logging Elasticsearch.
/// Names follow BKPR (`fluentd-es`) so an existing install is adopted in place, with its
/// position files, so no log is read twice.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct FluentdEsParams {
    /// The fluentd image; it must carry the elasticsearch, kubernetes_metadata, prometheus,
    /// concat, detect_exceptions, dedot and systemd plugins, as the Fluentd project's
    /// DaemonSet images do. Default: `fluent/fluentd-kubernetes-daemonset:v1.19.3-debian-elasticsearch8-1.1`.
    pub image: String,
    /// Requests and limits of the `fluentd-es` container (BKPR's values). No CPU limit:
    /// a throttled collector falls behind and its buffer fills.
    /// Default: requests `cpu: 100m, memory: 200Mi`, limits `memory: 500Mi`.
    pub resources: Resources,
    /// The most each node's on-disk buffer (`/var/log/fluentd-buffers`) holds while
    /// Elasticsearch is slow or unreachable. When it is full, fluentd stops reading log
    /// files (their positions do not advance) until it drains, so nothing is lost unless
    /// the kubelet rotates a file away first. At least `64Mi`. Default: `512Mi`.
    pub buffer_size: Quantity,
    /// Also mount Docker's container log directory, `/var/lib/docker/containers`, where the
    /// `/var/log/containers` links end on nodes whose runtime is Docker Engine
    /// (cri-dockerd). On containerd and CRI-O nodes the logs are under `/var/log/pods`,
    /// which the `/var/log` mount covers, and the directory is created empty.
    /// Default: `true`.
    pub docker_logs: bool,
    /// Collect the node's system logs too: the systemd journal of the kubelet, the container
    /// runtime, node-problem-detector and the kernel, and the log files Kubernetes
    /// components write under `/var/log` on some platforms (`kube-proxy.log`, ...).
    /// Default: `true`.
    pub system_logs: bool,
    /// PriorityClass of the pods. A log collector should not be evicted before the
    /// workloads it watches, but `system-node-critical` is restricted to `kube-system` on
    /// some platforms (GKE), so none is set by default. Default: `null`.
    pub priority_class_name: Option<String>,
    /// fluentd's own log level (`trace`, `debug`, `info`, `warn`, `error`, `fatal`).
    /// Default: `info`.
    pub log_level: LogLevel,
}

impl Default for FluentdEsParams {
    fn default() -> Self {
        FluentdEsParams {
            image: DEFAULT_IMAGE.into(),
            resources: Resources::new("100m", "200Mi", None, "500Mi"),
            buffer_size: "512Mi".into(),
            docker_logs: true,
            system_logs: true,
            priority_class_name: None,
            log_level: LogLevel::Info,
        }
    }
}

/// `fluentd_es.<key>`.
fn at(key: &str) -> KeyPath {
    KeyPath::root().key("fluentd_es").key(key)
}

impl FluentdEsParams {
    /// `buffer_size` in whole bytes, as fluentd's `total_limit_size` takes it.
    pub fn buffer_bytes(&self) -> u64 {
        self.buffer_size.to_f64() as u64
    }

    /// Checks every parameter; the first problem is returned with its key path.
    pub fn validate(&self) -> Result<(), Error> {
        crate::images::check_image(&self.image, DEFAULT_IMAGE, at("image"))?;
        self.resources.check().map_err(|msg| {
            Error::invalid(msg).help("raise the limit or lower the request").with_path(at("resources"))
        })?;
        if self.buffer_size.mebibytes() < MIN_BUFFER_MIB {
            return Err(Error::invalid(format!("buffer_size `{}` is too small", self.buffer_size))
                .help(format!(
                    "use at least `{MIN_BUFFER_MIB}Mi`: the buffer holds 8 MiB chunks while Elasticsearch catches up"
                ))
                .with_path(at("buffer_size")));
        }
        if let Some(pc) = &self.priority_class_name {
            if !is_dns_subdomain(pc) {
                return Err(Error::invalid(format!("`{pc}` is not a PriorityClass name"))
                    .help("use a lowercase DNS name, e.g. `system-node-critical`, or `null` for none")
                    .with_path(at("priority_class_name")));
            }
        }
        Ok(())
    }
}
