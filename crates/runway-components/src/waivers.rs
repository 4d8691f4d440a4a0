//! Waivers of checkov findings, written on the objects themselves.
//!
//! CI runs checkov over every render (scripts/checkov.py) and fails on any finding that is
//! not waived on the object with a reason. A component lists what its objects accept as
//! typed [`Waiver`]s ([`crate::Component::waivers`]); the render adds two kinds itself:
//! [`Check::ImageDigest`] for pods whose images carry no digest (none can be looked up at
//! render time; give `image: REPO:TAG@sha256:...` to pin one) and
//! [`Check::ServiceAccountToken`] for pods whose flows declare the API server. Each
//! becomes the annotation `checkov.io/skipN: CKV_K8S_xx=reason` on the object's metadata
//! and, for workloads, on the pod template's (checkov reads pod checks from there).

use std::collections::BTreeMap;

use runway_core::Object;
use serde_json::Value as Json;

/// A checkov check runway may waive (the typed list: nothing else can be waived).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Check {
    /// CKV_K8S_43: image should use a digest.
    ImageDigest,
    /// CKV_K8S_38: service account tokens mounted only where necessary.
    ServiceAccountToken,
    /// CKV_K8S_40: containers should run as a high UID (≥ 10000).
    HighUid,
    /// CKV_K8S_22: read-only root filesystem.
    ReadOnlyRootFilesystem,
    /// CKV_K8S_23: minimize the admission of root containers.
    RootContainer,
    /// CKV_K8S_25: minimize containers with added capabilities.
    AddedCapability,
    /// CKV_K8S_17: host PID namespace.
    HostPid,
    /// CKV_K8S_19: host network namespace.
    HostNetwork,
    /// CKV_K8S_35: prefer secrets as files over environment variables.
    SecretsAsEnv,
    /// CKV_K8S_8: liveness probe.
    LivenessProbe,
    /// CKV_K8S_9: readiness probe.
    ReadinessProbe,
    /// CKV2_K8S_5: no ServiceAccount able to read all secrets.
    ReadAllSecrets,
    /// CKV_K8S_155: ClusterRoles controlling admission webhooks.
    AdmissionWebhookControl,
    /// CKV_K8S_49: wildcards in Roles and ClusterRoles.
    RbacWildcard,
    /// CKV_K8S_16: privileged containers.
    Privileged,
    /// CKV_K8S_20: allowPrivilegeEscalation.
    PrivilegeEscalation,
    /// CKV_K8S_28: NET_RAW capability.
    NetRaw,
    /// CKV_K8S_37: capabilities not dropped.
    Capabilities,
    /// CKV_K8S_29: pod security context.
    PodSecurityContext,
    /// CKV_K8S_31 / 32: seccomp profile.
    Seccomp,
}

impl Check {
    /// checkov's id.
    pub fn id(self) -> &'static str {
        match self {
            Check::ImageDigest => "CKV_K8S_43",
            Check::ServiceAccountToken => "CKV_K8S_38",
            Check::HighUid => "CKV_K8S_40",
            Check::ReadOnlyRootFilesystem => "CKV_K8S_22",
            Check::RootContainer => "CKV_K8S_23",
            Check::AddedCapability => "CKV_K8S_25",
            Check::HostPid => "CKV_K8S_17",
            Check::HostNetwork => "CKV_K8S_19",
            Check::SecretsAsEnv => "CKV_K8S_35",
            Check::LivenessProbe => "CKV_K8S_8",
            Check::ReadinessProbe => "CKV_K8S_9",
            Check::ReadAllSecrets => "CKV2_K8S_5",
            Check::AdmissionWebhookControl => "CKV_K8S_155",
            Check::RbacWildcard => "CKV_K8S_49",
            Check::Privileged => "CKV_K8S_16",
            Check::PrivilegeEscalation => "CKV_K8S_20",
            Check::NetRaw => "CKV_K8S_28",
            Check::Capabilities => "CKV_K8S_37",
            Check::PodSecurityContext => "CKV_K8S_29",
            Check::Seccomp => "CKV_K8S_31",
        }
    }
}

/// One accepted finding: object `key` of the component fails `check`, because `reason`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Waiver {
    /// The object key.
    pub key: String,
    /// The check.
    pub check: Check,
    /// Why the finding is accepted (no `=`: checkov splits the annotation on it).
    pub reason: String,
}

impl Waiver {
    /// Object `key` accepts `check` because `reason`.
    pub fn new(key: &str, check: Check, reason: &str) -> Self {
        Waiver { key: key.to_string(), check, reason: reason.replace('=', ":") }
    }
}

/// Prefix of the annotations checkov reads.
pub const ANNOTATION_PREFIX: &str = "checkov.io/skip";

/// The waivers the render adds itself: image digests and API tokens (see the module doc).
pub fn derived(objects: &[Object], component: &str, api_workloads: &[&str]) -> Vec<Waiver> {
    let mut out = Vec::new();
    for w in objects.iter().filter(|o| o.component == component).filter_map(crate::network::workload) {
        let undigested = ["containers", "initContainers"]
            .iter()
            .flat_map(|k| w.pod.get(*k).and_then(Json::as_array).into_iter().flatten())
            .filter_map(|c| c.get("image").and_then(Json::as_str))
            .any(|i| !i.contains("@sha256:"));
        if undigested {
            out.push(Waiver::new(
                &w.object.key,
                Check::ImageDigest,
                "pinned by release tag; no digest is known at render time (give image: REPO:TAG@sha256:... to pin one)",
            ));
        }
        if api_workloads.contains(&w.object.key.as_str()) {
            out.push(Waiver::new(
                &w.object.key,
                Check::ServiceAccountToken,
                "the pod talks to the API server (its network flows declare it)",
            ));
        }
    }
    out
}

/// Writes `waivers` of `component` onto its objects as checkov annotations.
pub fn apply(objects: &mut [Object], component: &str, waivers: &[Waiver]) {
    let mut by_key: BTreeMap<&str, Vec<&Waiver>> = BTreeMap::new();
    for w in waivers {
        by_key.entry(w.key.as_str()).or_default().push(w);
    }
    for o in objects.iter_mut().filter(|o| o.component == component) {
        let Some(ws) = by_key.get(o.key.as_str()) else { continue };
        let mut ws = ws.clone();
        ws.sort_by_key(|w| w.check);
        ws.dedup_by_key(|w| w.check);
        let targets: &[&str] = &["/metadata", "/spec/template/metadata", "/spec/jobTemplate/spec/template/metadata"];
        for t in targets {
            let Some(meta) = o.value.pointer_mut(t).and_then(Json::as_object_mut) else { continue };
            let ann = meta.entry("annotations").or_insert_with(|| Json::Object(Default::default()));
            let Some(ann) = ann.as_object_mut() else { continue };
            for (i, w) in ws.iter().enumerate() {
                ann.insert(
                    format!("{ANNOTATION_PREFIX}{}", i + 1),
                    Json::String(format!("{}={}", w.check.id(), w.reason)),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;
    use runway_core::JsonPointer as _;
    use runway_core::{Node, SourceId, Span};

    #[test]
    fn every_waiver_and_flow_names_an_object_its_component_documents() {
        // The agent and MetalLB's speaker run on the host network: they declare their flows
        // (for the collector's side, for the API token) but no policy of their own is ever rendered.
        let host_network = ["sdc_agent", "metallb"];
        let cx = crate::Context::default();
        for c in crate::ALL {
            let node = Node::from_json(&c.default_params(), Span::whole(SourceId(0)));
            let p = c.read(&node).unwrap_or_else(|e| panic!("{}: {e}", c.name()));
            let keys: Vec<&str> = c.objects().iter().map(|o| o.key).collect();
            for w in c.waivers_typed(&p, &cx) {
                assert!(keys.contains(&w.key.as_str()), "{}: waiver for unknown object `{}`", c.name(), w.key);
                assert!(!w.reason.is_empty() && !w.reason.contains('='), "{}: reason of `{}`", c.name(), w.key);
            }
            for f in c.network_typed(&p, &cx) {
                assert!(keys.contains(&f.workload), "{}: flows of unknown workload `{}`", c.name(), f.workload);
                if !host_network.contains(&c.name()) {
                    assert!(keys.contains(&f.key), "{}: policy key `{}` is not in OBJECTS", c.name(), f.key);
                }
            }
        }
    }

    #[test]
    fn waiver_becomes_a_numbered_checkov_annotation() {
        let mut cm = ConfigMap::default();
        cm.metadata.name = Some("x".into());
        let mut objs = vec![Object::new("c", "cm", &cm)];
        apply(&mut objs, "c", &[Waiver::new("cm", Check::RbacWildcard, "a=b")]);
        assert_eq!(
            objs[0].value.ptr("/metadata/annotations/checkov.io~1skip1").and_then(Json::as_str),
            Some("CKV_K8S_49=a:b")
        );
    }
}
