//! Longhorn storage classes for bare metal (seed 003's k3s setup: "MetalLB, Traefik, and
//! Longhorn"): the StorageClass the runtime's claims use when Longhorn, not k3s'
//! `local-path`, holds the volumes. Switched on per stack or platform
//! (`platform: {components: {longhorn: true}}`), and then every claim runway renders
//! names this class instead of `platform.storage_class`.
//!
//! Longhorn itself (its manager DaemonSet, driver deployer, UI and CRDs) is installed by
//! its own chart or manifest, not by runway. That install creates a StorageClass named
//! `longhorn` from its `longhorn-storageclass` ConfigMap and rewrites it on every manager
//! start, so runway's class has its own name (`class_name`, default `longhorn-runway`)
//! rather than fighting over that one.
//!
//! The class keeps what a datastore wants: `numberOfReplicas` copies on different nodes
//! (`replicas`), `Retain` so that deleting a claim by mistake does not delete the data,
//! volume expansion, and `WaitForFirstConsumer` so that with `data_locality:
//! best-effort` a replica is created on the node the pod was scheduled to.

mod params;

use std::collections::BTreeMap;

use k8s_openapi::api::storage::v1::StorageClass;
use runway_core::{Error, Object};

pub use self::params::{DataLocality, LonghornParams};
use crate::common::meta;
use crate::component::{Component, ObjectDoc};
use crate::context::{Context, Published};

/// Longhorn's CSI driver.
pub const PROVISIONER: &str = "driver.longhorn.io";
/// The `app.kubernetes.io/component` label.
const COMPONENT_LABEL: &str = "longhorn";

/// The Longhorn storage class component.
pub struct Longhorn;

impl Component for Longhorn {
    const NAME: &'static str = "longhorn";
    const SUMMARY: &'static str =
        "a Longhorn StorageClass (replicas, reclaim policy, expansion) that the runtime's claims use (bare metal)";
    const DEFAULT_ENABLED: bool = false;
    const OBJECTS: &'static [ObjectDoc] = &[ObjectDoc {
        key: "storageClass",
        kind: "StorageClass",
        doc: "`longhorn-runway` (`class_name`) on `driver.longhorn.io`; every claim of the render uses it",
    }];
    type Params = LonghornParams;

    fn publish(p: &LonghornParams, _: &Context, published: &mut Published) {
        published.storage_class = Some(p.class_name.clone());
    }

    fn build(p: &LonghornParams, _: &Context) -> Result<Vec<Object>, Error> {
        p.validate()?;
        Ok(vec![Object::new(Self::NAME, "storageClass", &storage_class(p))])
    }
}

fn storage_class(p: &LonghornParams) -> StorageClass {
    let mut metadata = meta::cluster_scoped(&p.class_name, meta::labels(&p.class_name, COMPONENT_LABEL));
    if p.default_class {
        metadata.annotations =
            Some(BTreeMap::from([("storageclass.kubernetes.io/is-default-class".to_string(), "true".to_string())]));
    }
    StorageClass {
        metadata,
        provisioner: PROVISIONER.into(),
        parameters: Some(BTreeMap::from([
            ("numberOfReplicas".to_string(), p.replicas.to_string()),
            ("staleReplicaTimeout".to_string(), p.stale_replica_timeout_minutes.to_string()),
            ("dataLocality".to_string(), p.data_locality.as_str().to_string()),
            ("fsType".to_string(), "ext4".to_string()),
        ])),
        reclaim_policy: Some(p.reclaim_policy.as_str().to_string()),
        allow_volume_expansion: Some(p.allow_volume_expansion),
        volume_binding_mode: Some("WaitForFirstConsumer".into()),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::testing::{find, path_of};
    use crate::sdc_storage::ReclaimPolicy;

    #[test]
    fn default_class_keeps_three_replicas_retains_and_expands() {
        let objects = Longhorn::build(&LonghornParams::default(), &Context::default()).expect("builds");
        let mut sc = find(&objects, "storageClass").clone();
        sc.check_round_trip().expect("a StorageClass");
        let v = &sc.value;
        assert_eq!(v["metadata"]["name"], "longhorn-runway");
        assert_eq!(v["provisioner"], "driver.longhorn.io");
        assert_eq!(v["parameters"]["numberOfReplicas"], "3");
        assert_eq!(v["parameters"]["dataLocality"], "disabled");
        assert_eq!(v["reclaimPolicy"], "Retain");
        assert_eq!(v["allowVolumeExpansion"], true);
        assert!(v["metadata"].get("annotations").is_none());
    }

    #[test]
    fn parameters_shape_the_class() {
        let p = LonghornParams {
            class_name: "fast".into(),
            replicas: 2,
            reclaim_policy: ReclaimPolicy::Delete,
            allow_volume_expansion: false,
            data_locality: DataLocality::BestEffort,
            default_class: true,
            ..LonghornParams::default()
        };
        let objects = Longhorn::build(&p, &Context::default()).expect("builds");
        let v = &find(&objects, "storageClass").value;
        assert_eq!(v["metadata"]["name"], "fast");
        assert_eq!(v["parameters"]["numberOfReplicas"], "2");
        assert_eq!(v["parameters"]["dataLocality"], "best-effort");
        assert_eq!(v["reclaimPolicy"], "Delete");
        assert_eq!(v["allowVolumeExpansion"], false);
        assert_eq!(v["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"], "true");
    }

    #[test]
    fn bad_parameters_name_their_key() {
        for (p, path) in [
            (LonghornParams { replicas: 0, ..LonghornParams::default() }, "longhorn.replicas"),
            (LonghornParams { class_name: "Fast".into(), ..LonghornParams::default() }, "longhorn.class_name"),
        ] {
            let e = Longhorn::build(&p, &Context::default()).expect_err("rejected");
            assert_eq!(path_of(&e), path);
        }
    }

    #[test]
    fn claims_of_the_render_follow_the_longhorn_class() {
        let mut stack = crate::Stack::new();
        stack.platform("onprem", "test").expect("onprem exists");
        for set in ["config.dns_zone=example.com", "platform.components.longhorn=true"] {
            stack.set(set, false).expect("a set flag");
        }
        let objects = stack.render(crate::ALL).unwrap_or_else(|e| panic!("{}", e.render())).objects;
        assert!(objects.iter().any(|o| o.kind() == "StorageClass" && o.name() == "longhorn-runway"));
        let claims: Vec<&serde_json::Value> = objects
            .iter()
            .filter(|o| o.kind() == "StatefulSet")
            .flat_map(|o| o.value["spec"]["volumeClaimTemplates"].as_array().into_iter().flatten())
            .collect();
        assert!(!claims.is_empty());
        for c in claims {
            assert_eq!(c["spec"]["storageClassName"], "longhorn-runway", "{}", c["metadata"]["name"]);
        }
    }
}
