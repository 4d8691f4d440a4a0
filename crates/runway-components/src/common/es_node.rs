//! What an Elasticsearch node needs whoever runs it (the logging `elasticsearch` and the
//! Sysdig backend's `sdc_elasticsearch`): the init containers that keep the root
//! filesystem read-only and, on request, raise vm.max_map_count, the heap rules, and the
//! Elasticsearch container itself ([`NodeContainer`]).

use k8s_openapi::api::core::v1::{Container, SecurityContext, VolumeMount};
use runway_core::{Error, KeyPath};

use crate::common::env::{field_env, value_env};
use crate::common::pod::{container_port, mount};
use crate::common::pod::{container_security, Resources};
use crate::quantity::Quantity;

/// Where the official image keeps Elasticsearch.
pub const ES_HOME: &str = "/usr/share/elasticsearch";
/// The vm.max_map_count Elasticsearch's bootstrap check wants when it mmaps.
pub const MAX_MAP_COUNT: u32 = 262_144;
/// Name of the init container that copies the image's config directory.
pub const COPY_CONFIG_CONTAINER: &str = "copy-config";
/// The smallest heap either component accepts, in MiB.
pub const MIN_HEAP_MIB: u64 = 256;
/// The largest share of the memory limit the heap may take.
pub const MAX_HEAP_SHARE: f64 = 0.75;
const MIB: f64 = 1024.0 * 1024.0;

/// The Elasticsearch container of a node: its name from `NODE_NAME` (the pod's), a fixed
/// heap, `config_key` of the ConfigMap volume `config` over the image's copied `config/`
/// (volume `config-dir`), `data`, `logs` and `tmp` volumes, and its probes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NodeContainer<'a> {
    /// The container's name.
    pub name: &'a str,
    /// The Elasticsearch image.
    pub image: &'a str,
    /// The heap (`-Xms` and `-Xmx`), in MiB.
    pub heap_mib: u64,
    /// Requests and limits.
    pub resources: &'a Resources,
    /// The HTTP port's container port name and number.
    pub http: (&'a str, i32),
    /// The transport port's container port name and number.
    pub transport: (&'a str, i32),
    /// The key of `elasticsearch.yml` in the ConfigMap mounted as volume `config`.
    pub config_key: &'a str,
}

impl NodeContainer<'_> {
    /// The container.
    pub fn build(&self) -> Container {
        let heap = self.heap_mib;
        let (http, transport) = (self.http.0, self.transport.0);
        let tcp_transport = |period, failures| super::probes::tcp(transport, period, 5, failures);
        Container {
            name: self.name.into(),
            image: Some(self.image.to_string()),
            env: Some(vec![
                field_env("NODE_NAME", "metadata.name"),
                value_env("ES_JAVA_OPTS", format!("-Xms{heap}m -Xmx{heap}m")),
            ]),
            ports: Some(vec![container_port(http, self.http.1), container_port(transport, self.transport.1)]),
            resources: Some(self.resources.to_k8s()),
            security_context: Some(container_security(true)),
            volume_mounts: Some(vec![
                mount("data", &format!("{ES_HOME}/data")),
                mount("config-dir", &format!("{ES_HOME}/config")),
                VolumeMount {
                    name: "config".into(),
                    mount_path: format!("{ES_HOME}/config/{}", self.config_key),
                    sub_path: Some(self.config_key.into()),
                    read_only: Some(true),
                    ..Default::default()
                },
                mount("logs", &format!("{ES_HOME}/logs")),
                mount("tmp", "/tmp"),
            ]),
            // Generous: liveness only starts once the transport port is open, however
            // long the JVM takes to start and the node to load its shards' metadata (10
            // minutes).
            startup_probe: Some(tcp_transport(10, 60)),
            // Ready when the node answers HTTP from its own cluster state (BKPR's probe);
            // not waiting for green, which would stall a rolling restart and the
            // cluster's bootstrap.
            readiness_probe: Some(super::probes::http("/_cluster/health?local=true", http, 10, 5, 3)),
            // A TCP check of the transport port: a busy node (long GC, heavy indexing)
            // answers HTTP slowly but is alive; restarting it would only make things worse.
            liveness_probe: Some(tcp_transport(20, 5)),
            ..Default::default()
        }
    }
}

/// Requests and limits of the small init containers.
pub fn small_resources() -> Resources {
    Resources::new("10m", "32Mi", None, "64Mi")
}

/// Copies the image's `config/` into the emptyDir `config-dir`, so that the root
/// filesystem can be read-only while Elasticsearch writes its keystore.
pub fn copy_config_container(image: &str) -> Container {
    Container {
        name: COPY_CONFIG_CONTAINER.into(),
        image: Some(image.to_string()),
        command: Some(vec!["sh".into(), "-c".into(), format!("cp -R {ES_HOME}/config/. /mnt/config/")]),
        resources: Some(small_resources().to_k8s()),
        security_context: Some(container_security(true)),
        volume_mounts: Some(vec![mount("config-dir", "/mnt/config")]),
        ..Default::default()
    }
}

/// Raises the node's vm.max_map_count (never lowers it). vm.max_map_count is not a
/// namespaced sysctl, so a pod's `securityContext.sysctls` cannot set it: the container
/// runs privileged, which the pod's security-exception annotation must say.
pub fn sysctl_container(name: &str, image: &str) -> Container {
    let script = format!(
        "if [ \"$(cat /proc/sys/vm/max_map_count)\" -lt {MAX_MAP_COUNT} ]; then \
         echo {MAX_MAP_COUNT} > /proc/sys/vm/max_map_count; fi"
    );
    Container {
        name: name.into(),
        image: Some(image.to_string()),
        command: Some(vec!["sh".into(), "-c".into(), script]),
        resources: Some(small_resources().to_k8s()),
        security_context: Some(SecurityContext {
            privileged: Some(true),
            run_as_user: Some(0),
            run_as_non_root: Some(false),
            read_only_root_filesystem: Some(true),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The heap is whole MiB, at least [`MIN_HEAP_MIB`], and at most [`MAX_HEAP_SHARE`] of
/// the memory limit; `path` is the heap parameter's, for the error.
pub fn check_heap(heap: &Quantity, limit: &Quantity, path: KeyPath) -> Result<(), Error> {
    let bytes = heap.to_f64();
    if bytes <= 0.0 || bytes % MIB != 0.0 {
        return Err(Error::invalid(format!("heap `{heap}` is not a whole number of mebibytes"))
            .help("the JVM takes `-Xmx` in whole units; write e.g. `1Gi` or `1536Mi`")
            .with_path(path));
    }
    if heap.mebibytes() < MIN_HEAP_MIB {
        return Err(Error::invalid(format!("heap `{heap}` is too small for Elasticsearch"))
            .help(format!("use at least `{MIN_HEAP_MIB}Mi`"))
            .with_path(path));
    }
    let limit_bytes = limit.to_f64();
    if bytes > limit_bytes * MAX_HEAP_SHARE {
        let need_limit = (bytes / MAX_HEAP_SHARE / MIB).ceil() as u64;
        let max_heap = (limit_bytes * MAX_HEAP_SHARE / MIB).floor() as u64;
        return Err(Error::invalid(format!("heap `{heap}` is more than 75% of the memory limit `{limit}`"))
            .help(format!(
                "raise `resources.limits.memory` to at least `{need_limit}Mi` or lower `heap` to at most `{max_heap}Mi`"
            ))
            .note(
                "Elasticsearch also uses memory outside the heap (direct buffers, thread stacks, metaspace, \
                 the file cache); with too little of it the container is OOM-killed",
            )
            .with_path(path));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

    #[test]
    fn node_container_probes_its_named_ports_and_sets_the_heap() {
        let resources = Resources::new("100m", "1Gi", None, "1Gi");
        let c = NodeContainer {
            name: "elasticsearch",
            image: "elasticsearch:8",
            heap_mib: 512,
            resources: &resources,
            http: ("api", 9200),
            transport: ("transport", 9300),
            config_key: "elasticsearch.yml",
        }
        .build();
        let env = c.env.clone().unwrap_or_default();
        assert_eq!(env[1].value.as_deref(), Some("-Xms512m -Xmx512m"));
        let http_port = c.readiness_probe.and_then(|p| p.http_get).map(|h| h.port);
        assert_eq!(http_port, Some(IntOrString::String("api".into())));
        let liveness = c.liveness_probe.expect("a liveness probe");
        assert_eq!(liveness.tcp_socket.map(|t| t.port), Some(IntOrString::String("transport".into())));
        assert_eq!((liveness.period_seconds, liveness.failure_threshold), (Some(20), Some(5)));
        let config = &c.volume_mounts.unwrap_or_default()[2];
        assert_eq!(config.mount_path, format!("{ES_HOME}/config/elasticsearch.yml"));
    }
}
