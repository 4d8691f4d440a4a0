//! What an Elasticsearch node needs whoever runs it (the logging `elasticsearch` and the
//! Sysdig backend's `sdc_elasticsearch`): the init containers that keep the root
//! filesystem read-only and, on request, raise vm.max_map_count, and the heap rules.

use k8s_openapi::api::core::v1::{Container, SecurityContext};
use runway_core::{Error, KeyPath};

use crate::common::pod::mount;
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
