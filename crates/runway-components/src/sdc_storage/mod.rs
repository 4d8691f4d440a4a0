//! The storage classes of the Sysdig datastores: two tiers, [`sdc::storage::FAST`]
//! (Cassandra, Elasticsearch) and [`sdc::storage::STANDARD`] (MySQL, Redis), built from the
//! platform's CSI provisioner and zones.
//!
//! # What it fixes
//!
//! sdc-kubernetes shipped hand-written classes per cloud (`aws-gp2-multi-az`,
//! `aws-blazing-mutli-az`, `gce-pd`) with the zones written into them
//! (`zones: us-west-1b, us-west-1c`), on in-tree provisioners Kubernetes has since removed,
//! and nothing for clusters without a cloud ("Hard-codes zones in Storageclasses", "Support
//! non-cloud deployments"). Here:
//! - the provisioner is `platform.provisioner` (the CSI driver: `pd.csi.storage.gke.io`,
//!   `ebs.csi.aws.com`, `disk.csi.azure.com`, `driver.longhorn.io` or
//!   `rancher.io/local-path` on bare metal), and a platform without one is an error that
//!   says how to name it;
//! - the zones are `platform.zones`, rendered as `allowedTopologies` on the driver's own
//!   topology key; an empty list renders none (volumes follow their pods anywhere);
//! - every class binds `WaitForFirstConsumer` (a volume is created in the zone the
//!   scheduler picked for its pod, never the other way round), keeps its volume on claim
//!   deletion (`reclaimPolicy: Retain`) and allows expansion.
//!
//! # Tiers per provisioner
//!
//! | provisioner | fast | standard | encryption at rest |
//! |---|---|---|---|
//! | `pd.csi.storage.gke.io` | `pd-ssd` | `pd-balanced` | always (Google's keys; `gcp.kms_key` for CMEK) |
//! | `ebs.csi.aws.com` | `gp3`, `aws.fast_iops` / `aws.fast_throughput` | `gp3` | `encrypted: "true"` (`aws.kms_key_id` for a CMK) |
//! | `disk.csi.azure.com` | `Premium_LRS` | `StandardSSD_LRS` | always (SSE; `azure.disk_encryption_set_id` for CMK) |
//! | `driver.longhorn.io` | `longhorn.number_of_replicas`, `longhorn.fast_disk_selector` | `longhorn.number_of_replicas` | only with `longhorn.encryption_secret` |
//! | `rancher.io/local-path` | node-local directory | node-local directory | the node's disk (none of its own); no expansion |
//!
//! Any other provisioner renders both tiers with only `parameters.fast` / `parameters.standard`.
//!
//! # Changing a class
//!
//! A StorageClass's provisioner and parameters are immutable: after changing them,
//! `kubectl delete storageclass sysdigcloud-fast sysdigcloud-standard` and apply again.
//! Existing volumes keep what they were created with.

mod params;

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{TopologySelectorLabelRequirement, TopologySelectorTerm};
use k8s_openapi::api::storage::v1::StorageClass;
use runway_core::{Error, KeyPath, Object};

pub use self::params::{
    AwsStorage, AzureStorage, GcpStorage, LonghornStorage, ReclaimPolicy, SdcStorageParams, TierParameters,
};
use crate::common::meta;
use crate::component::{Component, ObjectDoc};
use crate::context::Context;
use crate::sdc;

/// The `role` label of the storage classes.
const ROLE: &str = "storage";

/// The GKE Persistent Disk CSI driver.
pub const GCE_PD: &str = "pd.csi.storage.gke.io";
/// The Amazon EBS CSI driver.
pub const AWS_EBS: &str = "ebs.csi.aws.com";
/// The Azure Disk CSI driver.
pub const AZURE_DISK: &str = "disk.csi.azure.com";
/// Longhorn's CSI driver.
pub const LONGHORN: &str = "driver.longhorn.io";
/// Rancher's local-path provisioner (k3s, kind).
pub const LOCAL_PATH: &str = "rancher.io/local-path";

/// The storage classes component.
pub struct SdcStorage;

impl Component for SdcStorage {
    const NAME: &'static str = "sdc_storage";
    const SUMMARY: &'static str =
        "Storage class tiers (fast, standard) for the Sysdig datastores, from the platform's provisioner and zones";
    const DEFAULT_ENABLED: bool = false;
    const OBJECTS: &'static [ObjectDoc] = &[
        ObjectDoc {
            key: "fast",
            kind: "StorageClass",
            doc: "`sysdigcloud-fast`: SSD tier for Cassandra and Elasticsearch",
        },
        ObjectDoc {
            key: "standard",
            kind: "StorageClass",
            doc: "`sysdigcloud-standard`: balanced tier for MySQL and Redis",
        },
    ];
    type Params = SdcStorageParams;

    fn build(p: &SdcStorageParams, cx: &Context) -> Result<Vec<Object>, Error> {
        p.validate()?;
        let Some(provisioner) = cx.platform.provisioner.as_deref().filter(|s| !s.trim().is_empty()) else {
            return Err(Error::invalid("`sdc_storage` builds storage classes, but the platform names no provisioner")
                .with_path(KeyPath::root().key("platform").key("provisioner"))
                .help(format!(
                    "set `platform: {{provisioner: NAME}}` in a layer, NAME the cluster's CSI driver \
                     (`{GCE_PD}`, `{AWS_EBS}`, `{AZURE_DISK}`, `{LONGHORN}`, `{LOCAL_PATH}`)"
                ))
                .note("`kubectl get csidrivers` lists the drivers a cluster has"));
        };
        Ok(vec![
            Object::new(Self::NAME, "fast", &storage_class(p, cx, provisioner, Tier::Fast)),
            Object::new(Self::NAME, "standard", &storage_class(p, cx, provisioner, Tier::Standard)),
        ])
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tier {
    Fast,
    Standard,
}

/// The provisioner's parameters for a tier (before `parameters.*` overrides).
fn provisioner_parameters(p: &SdcStorageParams, provisioner: &str, tier: Tier) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    let mut put = |k: &str, v: String| {
        m.insert(k.to_string(), v);
    };
    match provisioner {
        GCE_PD => {
            put("type", if tier == Tier::Fast { "pd-ssd" } else { "pd-balanced" }.into());
            put("csi.storage.k8s.io/fstype", "ext4".into());
            if let Some(key) = &p.gcp.kms_key {
                put("disk-encryption-kms-key", key.clone());
            }
        }
        AWS_EBS => {
            put("type", "gp3".into());
            put("csi.storage.k8s.io/fstype", "ext4".into());
            put("encrypted", "true".into());
            if tier == Tier::Fast {
                put("iops", p.aws.fast_iops.to_string());
                put("throughput", p.aws.fast_throughput.to_string());
            }
            if let Some(key) = &p.aws.kms_key_id {
                put("kmsKeyId", key.clone());
            }
        }
        AZURE_DISK => {
            put("skuName", if tier == Tier::Fast { "Premium_LRS" } else { "StandardSSD_LRS" }.into());
            put("csi.storage.k8s.io/fstype", "ext4".into());
            if let Some(set) = &p.azure.disk_encryption_set_id {
                put("diskEncryptionSetID", set.clone());
            }
        }
        LONGHORN => {
            put("numberOfReplicas", p.longhorn.number_of_replicas.to_string());
            put("staleReplicaTimeout", "2880".into());
            put("fsType", "ext4".into());
            put("dataLocality", "best-effort".into());
            if tier == Tier::Fast && !p.longhorn.fast_disk_selector.is_empty() {
                put("diskSelector", p.longhorn.fast_disk_selector.join(","));
            }
            if let Some(secret) = &p.longhorn.encryption_secret {
                put("encrypted", "true".into());
                for stage in ["provisioner", "node-publish", "node-stage"] {
                    put(&format!("csi.storage.k8s.io/{stage}-secret-name"), secret.clone());
                    put(&format!("csi.storage.k8s.io/{stage}-secret-namespace"), "longhorn-system".into());
                }
            }
        }
        _ => {}
    }
    m
}

/// The node label the provisioner's topology uses for zones: CSI drivers publish their
/// own key and match `allowedTopologies` against it; the others are matched against the
/// platform's zone label on nodes.
fn topology_key<'a>(provisioner: &str, cx: &'a Context) -> &'a str {
    match provisioner {
        GCE_PD => "topology.gke.io/zone",
        AWS_EBS => "topology.ebs.csi.aws.com/zone",
        AZURE_DISK => "topology.disk.csi.azure.com/zone",
        _ => cx.platform.zone_label.as_str(),
    }
}

fn storage_class(p: &SdcStorageParams, cx: &Context, provisioner: &str, tier: Tier) -> StorageClass {
    let (name, extra) = match tier {
        Tier::Fast => (sdc::storage::FAST, &p.parameters.fast),
        Tier::Standard => (sdc::storage::STANDARD, &p.parameters.standard),
    };
    let mut parameters = provisioner_parameters(p, provisioner, tier);
    parameters.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
    let allowed_topologies = (!cx.platform.zones.is_empty()).then(|| {
        vec![TopologySelectorTerm {
            match_label_expressions: Some(vec![TopologySelectorLabelRequirement {
                key: topology_key(provisioner, cx).to_string(),
                values: cx.platform.zones.clone(),
            }]),
        }]
    });
    StorageClass {
        metadata: meta::cluster_scoped(name, sdc::labels(ROLE)),
        provisioner: provisioner.to_string(),
        parameters: (!parameters.is_empty()).then_some(parameters),
        reclaim_policy: Some(p.reclaim_policy.as_str().to_string()),
        volume_binding_mode: Some("WaitForFirstConsumer".into()),
        allow_volume_expansion: Some(p.allow_volume_expansion && provisioner != LOCAL_PATH),
        allowed_topologies,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::testing;
    use crate::common::testing::path_of;
    use crate::stack::Stack;

    fn cx(provisioner: Option<&str>, zones: &[&str]) -> Context {
        let mut cx = Context::default();
        cx.platform.provisioner = provisioner.map(str::to_string);
        cx.platform.zones = zones.iter().map(|z| z.to_string()).collect();
        cx
    }

    fn build(p: &SdcStorageParams, cx: &Context) -> Vec<Object> {
        SdcStorage::build(p, cx).unwrap_or_else(|e| panic!("builds: {e}"))
    }

    fn find<'a>(objects: &'a [Object], key: &str) -> &'a serde_json::Value {
        &objects.iter().find(|o| o.key == key).unwrap_or_else(|| panic!("no object `{key}`")).value
    }

    fn with(f: impl FnOnce(&mut SdcStorageParams)) -> SdcStorageParams {
        testing::with(f)
    }

    #[test]
    fn default_build_has_both_tiers_with_datastore_defaults() {
        let objects = build(&SdcStorageParams::default(), &cx(Some(GCE_PD), &[]));
        let got: Vec<(&str, &str, &str)> = objects.iter().map(|o| (o.key.as_str(), o.kind(), o.name())).collect();
        assert_eq!(
            got,
            [("fast", "StorageClass", "sysdigcloud-fast"), ("standard", "StorageClass", "sysdigcloud-standard")]
        );
        for o in &objects {
            let v = &o.value;
            assert_eq!(v["apiVersion"], "storage.k8s.io/v1");
            assert_eq!(v["volumeBindingMode"], "WaitForFirstConsumer");
            assert_eq!(v["reclaimPolicy"], "Retain");
            assert_eq!(v["allowVolumeExpansion"], true);
            assert_eq!(v["metadata"]["labels"]["app"], "sysdigcloud");
            assert_eq!(v["metadata"]["labels"]["role"], "storage");
            assert!(v["metadata"].get("namespace").is_none(), "cluster-scoped");
        }
    }

    #[test]
    fn gke_uses_pd_ssd_and_pd_balanced() {
        let objects = build(&SdcStorageParams::default(), &cx(Some(GCE_PD), &[]));
        assert_eq!(find(&objects, "fast")["provisioner"], GCE_PD);
        assert_eq!(find(&objects, "fast")["parameters"]["type"], "pd-ssd");
        assert_eq!(find(&objects, "standard")["parameters"]["type"], "pd-balanced");
        assert!(find(&objects, "fast")["parameters"].get("disk-encryption-kms-key").is_none());
        let key = "projects/p/locations/l/keyRings/r/cryptoKeys/k";
        let objects = build(&with(|p| p.gcp.kms_key = Some(key.into())), &cx(Some(GCE_PD), &[]));
        assert_eq!(find(&objects, "standard")["parameters"]["disk-encryption-kms-key"], key);
    }

    #[test]
    fn aws_uses_encrypted_gp3_with_iops_on_the_fast_tier() {
        let objects = build(&SdcStorageParams::default(), &cx(Some(AWS_EBS), &[]));
        let fast = &find(&objects, "fast")["parameters"];
        assert_eq!(fast["type"], "gp3");
        assert_eq!(fast["encrypted"], "true");
        assert_eq!(fast["iops"], "6000");
        assert_eq!(fast["throughput"], "250");
        let standard = &find(&objects, "standard")["parameters"];
        assert_eq!(standard["type"], "gp3");
        assert_eq!(standard["encrypted"], "true");
        assert!(standard.get("iops").is_none());
        let objects = build(&with(|p| p.aws.kms_key_id = Some("alias/sdc".into())), &cx(Some(AWS_EBS), &[]));
        assert_eq!(find(&objects, "fast")["parameters"]["kmsKeyId"], "alias/sdc");
    }

    #[test]
    fn azure_uses_premium_and_standard_ssd() {
        let objects = build(&SdcStorageParams::default(), &cx(Some(AZURE_DISK), &[]));
        assert_eq!(find(&objects, "fast")["parameters"]["skuName"], "Premium_LRS");
        assert_eq!(find(&objects, "standard")["parameters"]["skuName"], "StandardSSD_LRS");
    }

    #[test]
    fn longhorn_sets_replicas_and_encrypts_only_with_a_secret() {
        let objects = build(&SdcStorageParams::default(), &cx(Some(LONGHORN), &[]));
        let fast = &find(&objects, "fast")["parameters"];
        assert_eq!(fast["numberOfReplicas"], "3");
        assert!(fast.get("encrypted").is_none());
        assert!(fast.get("diskSelector").is_none());
        let objects = build(
            &with(|p| {
                p.longhorn.number_of_replicas = 2;
                p.longhorn.encryption_secret = Some("longhorn-crypto".into());
                p.longhorn.fast_disk_selector = vec!["ssd".into(), "nvme".into()];
            }),
            &cx(Some(LONGHORN), &[]),
        );
        let fast = &find(&objects, "fast")["parameters"];
        assert_eq!(fast["numberOfReplicas"], "2");
        assert_eq!(fast["encrypted"], "true");
        assert_eq!(fast["diskSelector"], "ssd,nvme");
        assert_eq!(fast["csi.storage.k8s.io/node-stage-secret-name"], "longhorn-crypto");
        assert!(find(&objects, "standard")["parameters"].get("diskSelector").is_none());
    }

    #[test]
    fn local_path_cannot_expand() {
        let objects = build(&SdcStorageParams::default(), &cx(Some(LOCAL_PATH), &[]));
        for key in ["fast", "standard"] {
            assert_eq!(find(&objects, key)["allowVolumeExpansion"], false, "{key}");
            assert!(find(&objects, key).get("parameters").is_none(), "{key}");
        }
    }

    #[test]
    fn zones_come_from_the_platform_on_the_drivers_topology_key() {
        let objects = build(&SdcStorageParams::default(), &cx(Some(AWS_EBS), &["us-west-1b", "us-west-1c"]));
        let terms = &find(&objects, "fast")["allowedTopologies"];
        assert_eq!(
            terms,
            &serde_json::json!([{"matchLabelExpressions": [
                {"key": "topology.ebs.csi.aws.com/zone", "values": ["us-west-1b", "us-west-1c"]}
            ]}])
        );
        let objects = build(&SdcStorageParams::default(), &cx(Some(GCE_PD), &["europe-west1-b"]));
        assert_eq!(
            find(&objects, "standard")["allowedTopologies"][0]["matchLabelExpressions"][0]["key"],
            "topology.gke.io/zone"
        );
        let objects = build(&SdcStorageParams::default(), &cx(Some(LONGHORN), &["rack-a"]));
        assert_eq!(
            find(&objects, "fast")["allowedTopologies"][0]["matchLabelExpressions"][0]["key"],
            "topology.kubernetes.io/zone"
        );
    }

    #[test]
    fn no_zones_means_no_allowed_topologies() {
        for provisioner in [GCE_PD, AWS_EBS, AZURE_DISK, LONGHORN, LOCAL_PATH] {
            let objects = build(&SdcStorageParams::default(), &cx(Some(provisioner), &[]));
            for o in &objects {
                assert!(o.value.get("allowedTopologies").is_none(), "{provisioner}/{}", o.key);
                // Never a zone written in by hand either.
                assert!(!o.value.to_string().contains("zones"), "{provisioner}/{}", o.key);
            }
        }
    }

    #[test]
    fn missing_provisioner_is_an_error_with_help() {
        let e = SdcStorage::build(&SdcStorageParams::default(), &cx(None, &[])).expect_err("no provisioner");
        assert_eq!(path_of(&e), "platform.provisioner");
        assert!(e.helps().iter().any(|h| h.contains("provisioner: NAME")), "{:?}", e.helps());
    }

    #[test]
    fn unknown_provisioner_takes_parameters_from_the_params() {
        let p = with(|p| {
            p.parameters.fast.insert("tier".into(), "gold".into());
            p.parameters.standard.insert("tier".into(), "silver".into());
        });
        let objects = build(&p, &cx(Some("csi.example.com"), &[]));
        assert_eq!(find(&objects, "fast")["parameters"], serde_json::json!({"tier": "gold"}));
        assert_eq!(find(&objects, "standard")["parameters"], serde_json::json!({"tier": "silver"}));
        // Extra parameters replace runway's of the same key.
        let p = with(|p| {
            p.parameters.fast.insert("type".into(), "io2".into());
        });
        let objects = build(&p, &cx(Some(AWS_EBS), &[]));
        assert_eq!(find(&objects, "fast")["parameters"]["type"], "io2");
    }

    #[test]
    fn reclaim_policy_delete_is_honoured() {
        let objects = build(&with(|p| p.reclaim_policy = ReclaimPolicy::Delete), &cx(Some(GCE_PD), &[]));
        assert_eq!(find(&objects, "fast")["reclaimPolicy"], "Delete");
    }

    #[test]
    fn bad_parameters_are_errors() {
        let err = |p: SdcStorageParams| SdcStorage::build(&p, &cx(Some(AWS_EBS), &[])).expect_err("rejected");
        assert_eq!(path_of(&err(with(|p| p.aws.fast_iops = 100))), "sdc_storage.aws.fast_iops");
        assert_eq!(path_of(&err(with(|p| p.aws.fast_throughput = 2000))), "sdc_storage.aws.fast_throughput");
        let e = err(with(|p| {
            p.aws.fast_iops = 3000;
            p.aws.fast_throughput = 1000;
        }));
        assert_eq!(path_of(&e), "sdc_storage.aws.fast_throughput");
        assert!(e.helps().iter().any(|h| h.contains("4000")), "{:?}", e.helps());
        assert_eq!(
            path_of(&err(with(|p| p.longhorn.number_of_replicas = 0))),
            "sdc_storage.longhorn.number_of_replicas"
        );
        assert_eq!(path_of(&err(with(|p| p.aws.kms_key_id = Some(" ".into())))), "sdc_storage.aws.kms_key_id");
    }

    #[test]
    fn every_object_round_trips() {
        for provisioner in [GCE_PD, AWS_EBS, AZURE_DISK, LONGHORN, LOCAL_PATH] {
            for mut o in build(&SdcStorageParams::default(), &cx(Some(provisioner), &["a", "b"])) {
                let before = o.value.clone();
                o.check_round_trip().unwrap_or_else(|e| panic!("{provisioner}/{}: {e}", o.key));
                assert_eq!(before, o.value, "{provisioner}/{} changed in the round trip", o.key);
            }
        }
    }

    #[test]
    fn full_render_on_each_platform() {
        for (platform, provisioner) in [("gke", GCE_PD), ("eks", AWS_EBS), ("aks", AZURE_DISK), ("onprem", LONGHORN)] {
            let mut s = Stack::new();
            s.platform(platform, "test").expect("platform exists");
            s.set("platform.components.sdc_storage=true", false).expect("a valid --set");
            s.set("platform.zones=[zone-a,zone-b]", false).expect("a valid --set");
            let rendered = s.render(&[&SdcStorage]).unwrap_or_else(|e| panic!("{platform}: {}", e.render()));
            let classes: Vec<&Object> = rendered.objects.iter().filter(|o| o.kind() == "StorageClass").collect();
            assert_eq!(classes.len(), 2, "{platform}");
            for c in classes {
                assert_eq!(c.value["provisioner"], provisioner, "{platform}");
                let values = &c.value["allowedTopologies"][0]["matchLabelExpressions"][0]["values"];
                assert_eq!(values, &serde_json::json!(["zone-a", "zone-b"]), "{platform}");
            }
        }
    }

    #[test]
    fn defaults_serialize_and_read_back() {
        let json = serde_json::to_value(SdcStorageParams::default()).expect("serializes");
        assert_eq!(json["reclaim_policy"], "Retain");
        let back: SdcStorageParams = serde_json::from_value(json).expect("reads back");
        assert_eq!(back, SdcStorageParams::default());
        assert!(serde_json::from_value::<SdcStorageParams>(serde_json::json!({"reclaim": "Retain"})).is_err());
    }
}
