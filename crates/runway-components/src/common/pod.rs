//! Pod and container defaults that satisfy DESIGN.md's security rules: non-root,
//! RuntimeDefault seccomp, all capabilities dropped, no privilege escalation, and
//! requests and limits on every container.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, Capabilities, PodAffinityTerm, PodAntiAffinity, PodSecurityContext, ResourceRequirements, SeccompProfile,
    SecurityContext, TopologySpreadConstraint, WeightedPodAffinityTerm,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::quantity::Quantity;

/// Annotation that records why a pod or container needs more than the defaults allow.
pub const SECURITY_EXCEPTION_ANNOTATION: &str = "runway.dev/security-exception";

/// The container runtime's default seccomp profile, which the `restricted` Pod Security
/// level asks for. Pods and containers that run as root for a stated reason keep it too.
pub fn runtime_default_seccomp() -> SeccompProfile {
    SeccompProfile { type_: "RuntimeDefault".into(), ..Default::default() }
}

/// Pod-level security: run as `uid`/`gid`, files owned by `fs_group`, RuntimeDefault seccomp.
pub fn pod_security(uid: i64, gid: i64, fs_group: i64) -> PodSecurityContext {
    PodSecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(uid),
        run_as_group: Some(gid),
        fs_group: Some(fs_group),
        fs_group_change_policy: Some("OnRootMismatch".into()),
        seccomp_profile: Some(runtime_default_seccomp()),
        ..Default::default()
    }
}

/// Container-level security: no escalation, all capabilities dropped, root filesystem
/// read-only unless the image must write to it.
pub fn container_security(read_only_root: bool) -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        privileged: Some(false),
        read_only_root_filesystem: Some(read_only_root),
        run_as_non_root: Some(true),
        capabilities: Some(Capabilities { drop: Some(vec!["ALL".into()]), ..Default::default() }),
        seccomp_profile: Some(runtime_default_seccomp()),
        ..Default::default()
    }
}

/// Requests and limits of a container, as parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    /// What the scheduler reserves.
    pub requests: CpuMemory,
    /// The ceiling; memory over it is OOM-killed.
    pub limits: CpuMemory,
}

/// CPU and memory amounts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CpuMemory {
    /// CPU, e.g. `500m`; `null` for none (CPU limits are often left out on purpose).
    #[serde(default)]
    pub cpu: Option<Quantity>,
    /// Memory, e.g. `2Gi`.
    pub memory: Quantity,
}

impl Resources {
    /// Requests and limits from literals (used for defaults). Without `lim_cpu` the CPU
    /// limit is [`default_cpu_limit`] of the request: every container gets one (a pod
    /// without a CPU limit can starve its node's neighbours, and checkov's CKV_K8S_11 asks
    /// for it), high enough above the request that bursts at start-up are not throttled.
    pub fn new(req_cpu: &str, req_mem: &str, lim_cpu: Option<&str>, lim_mem: &str) -> Self {
        let lim_cpu = lim_cpu.map_or_else(|| default_cpu_limit(req_cpu), str::to_string);
        Resources {
            requests: CpuMemory { cpu: Some(req_cpu.into()), memory: req_mem.into() },
            limits: CpuMemory { cpu: Some(lim_cpu.as_str().into()), memory: lim_mem.into() },
        }
    }

    /// As k8s-openapi's type.
    pub fn to_k8s(&self) -> ResourceRequirements {
        let map = |c: &CpuMemory| {
            let mut m: BTreeMap<String, K8sQuantity> = BTreeMap::new();
            if let Some(cpu) = &c.cpu {
                m.insert("cpu".into(), cpu.to_k8s());
            }
            m.insert("memory".into(), c.memory.to_k8s());
            m
        };
        ResourceRequirements {
            requests: Some(map(&self.requests)),
            limits: Some(map(&self.limits)),
            ..Default::default()
        }
    }

    /// Checks that no request exceeds its limit; the message names the field.
    pub fn check(&self) -> Result<(), String> {
        if self.requests.memory.to_f64() > self.limits.memory.to_f64() {
            return Err(format!(
                "memory request `{}` exceeds its limit `{}`",
                self.requests.memory, self.limits.memory
            ));
        }
        if let (Some(r), Some(l)) = (&self.requests.cpu, &self.limits.cpu) {
            if r.to_f64() > l.to_f64() {
                return Err(format!("cpu request `{r}` exceeds its limit `{l}`"));
            }
        }
        Ok(())
    }
}

/// The CPU limit for a request: four times it, and at least `200m`, in millicores
/// (`"2"` gives `"8"`, `"10m"` gives `"200m"`).
pub fn default_cpu_limit(request: &str) -> String {
    let millis = match request.strip_suffix('m') {
        Some(m) => m.parse::<u64>().unwrap_or(0),
        None => request.parse::<f64>().map_or(0, |c| (c * 1000.0).round() as u64),
    };
    let limit = (millis * 4).max(200);
    if limit % 1000 == 0 {
        format!("{}", limit / 1000)
    } else {
        format!("{limit}m")
    }
}

/// A named TCP container port.
pub fn container_port(name: &str, port: i32) -> k8s_openapi::api::core::v1::ContainerPort {
    k8s_openapi::api::core::v1::ContainerPort {
        name: Some(name.into()),
        container_port: port,
        protocol: Some("TCP".into()),
        ..Default::default()
    }
}

/// A volume mounted at `path`.
pub fn mount(name: &str, path: &str) -> k8s_openapi::api::core::v1::VolumeMount {
    k8s_openapi::api::core::v1::VolumeMount { name: name.into(), mount_path: path.into(), ..Default::default() }
}

/// A volume mounted read-only at `path`.
pub fn read_only_mount(name: &str, path: &str) -> k8s_openapi::api::core::v1::VolumeMount {
    k8s_openapi::api::core::v1::VolumeMount { read_only: Some(true), ..mount(name, path) }
}

/// BKPR's node diversity: prefer, with `weight` (1 to 100), nodes that run no other pod
/// matching `selector`, so one node's loss takes down as few replicas as possible.
pub fn spread_over_nodes(selector: &LabelSelector, weight: i32) -> Affinity {
    Affinity {
        pod_anti_affinity: Some(PodAntiAffinity {
            preferred_during_scheduling_ignored_during_execution: Some(vec![WeightedPodAffinityTerm {
                weight,
                pod_affinity_term: PodAffinityTerm {
                    label_selector: Some(selector.clone()),
                    topology_key: "kubernetes.io/hostname".into(),
                    ..Default::default()
                },
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Spread pods matching `selector` evenly over the zones named by the node label
/// `zone_label`, on a best-effort basis: `ScheduleAnyway`, because with `DoNotSchedule`
/// nodes without the zone label (kind, bare metal) would take no pod at all.
pub fn spread_over_zones(selector: &LabelSelector, zone_label: &str) -> TopologySpreadConstraint {
    TopologySpreadConstraint {
        max_skew: 1,
        topology_key: zone_label.into(),
        when_unsatisfiable: "ScheduleAnyway".into(),
        label_selector: Some(selector.clone()),
        ..Default::default()
    }
}

/// An emptyDir volume (scratch space, and what a read-only root filesystem writes to).
pub fn empty_dir(name: &str) -> k8s_openapi::api::core::v1::Volume {
    k8s_openapi::api::core::v1::Volume {
        name: name.into(),
        empty_dir: Some(k8s_openapi::api::core::v1::EmptyDirVolumeSource::default()),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_and_container_defaults_use_the_runtime_default_seccomp_profile() {
        assert_eq!(runtime_default_seccomp().type_, "RuntimeDefault");
        assert_eq!(pod_security(1000, 1000, 1000).seccomp_profile, Some(runtime_default_seccomp()));
        assert_eq!(container_security(true).seccomp_profile, Some(runtime_default_seccomp()));
    }

    #[test]
    fn read_only_mount_is_a_mount_marked_read_only() {
        assert_eq!(mount("config", "/etc/app").read_only, None);
        let ro = read_only_mount("config", "/etc/app");
        assert_eq!((ro.name.as_str(), ro.mount_path.as_str(), ro.read_only), ("config", "/etc/app", Some(true)));
    }

    #[test]
    fn spread_over_nodes_prefers_other_hostnames_with_its_weight() {
        let affinity = spread_over_nodes(&LabelSelector::default(), 70);
        let terms = affinity.pod_anti_affinity.and_then(|a| a.preferred_during_scheduling_ignored_during_execution);
        let term = &terms.expect("one preferred term")[0];
        assert_eq!((term.weight, term.pod_affinity_term.topology_key.as_str()), (70, "kubernetes.io/hostname"));
    }

    #[test]
    fn zone_spread_is_best_effort_over_the_zone_label() {
        let c = spread_over_zones(&LabelSelector::default(), "topology.kubernetes.io/zone");
        assert_eq!((c.max_skew, c.topology_key.as_str()), (1, "topology.kubernetes.io/zone"));
        assert_eq!(c.when_unsatisfiable, "ScheduleAnyway");
    }

    #[test]
    fn default_cpu_limit_is_four_times_the_request_and_at_least_200m() {
        assert_eq!(default_cpu_limit("2"), "8");
        assert_eq!(default_cpu_limit("100m"), "400m");
        assert_eq!(default_cpu_limit("10m"), "200m");
        assert_eq!(default_cpu_limit("0.5"), "2");
        let r = Resources::new("50m", "64Mi", None, "128Mi");
        assert_eq!(r.limits.cpu.map(|q| q.to_string()), Some("200m".to_string()));
    }
}
