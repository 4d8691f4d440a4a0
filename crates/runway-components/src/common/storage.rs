//! Persistent volume claim templates of StatefulSets.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{PersistentVolumeClaim, PersistentVolumeClaimSpec, VolumeResourceRequirements};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::quantity::Quantity;

/// A `ReadWriteOnce` claim template. Claim templates are immutable, so an install is
/// adopted in place only when the metadata is the original's: some carry BKPR's
/// `name: <name>` label, some nothing but the name.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClaimTemplate<'a> {
    /// The claim's name, which is also the pod volume's.
    pub name: &'a str,
    /// The size requested.
    pub size: &'a Quantity,
    /// The StorageClass; `None` for the cluster's default class.
    pub storage_class: Option<&'a str>,
    /// Whether the metadata carries the label `name: <name>`.
    pub name_label: bool,
}

impl ClaimTemplate<'_> {
    /// The claim template.
    pub fn build(&self) -> PersistentVolumeClaim {
        PersistentVolumeClaim {
            metadata: ObjectMeta {
                name: Some(self.name.into()),
                labels: self.name_label.then(|| BTreeMap::from([("name".to_string(), self.name.to_string())])),
                ..Default::default()
            },
            spec: Some(PersistentVolumeClaimSpec {
                access_modes: Some(vec!["ReadWriteOnce".into()]),
                storage_class_name: self.storage_class.map(str::to_string),
                resources: Some(VolumeResourceRequirements {
                    requests: Some(BTreeMap::from([("storage".to_string(), self.size.to_k8s())])),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claim_template_requests_its_size_once_on_its_class() {
        let size = Quantity::from("10Gi");
        let pvc = ClaimTemplate { name: "data", size: &size, storage_class: Some("fast"), name_label: false }.build();
        assert_eq!(pvc.metadata.name.as_deref(), Some("data"));
        assert_eq!(pvc.metadata.labels, None);
        let spec = pvc.spec.expect("a claim has a spec");
        assert_eq!(spec.access_modes, Some(vec!["ReadWriteOnce".to_string()]));
        assert_eq!(spec.storage_class_name.as_deref(), Some("fast"));
        let requests = spec.resources.and_then(|r| r.requests).expect("requests");
        assert_eq!(requests.get("storage"), Some(&size.to_k8s()));
    }

    #[test]
    fn bkpr_claims_carry_their_name_label_and_the_default_class() {
        let size = Quantity::from("1Gi");
        let pvc = ClaimTemplate { name: "datadir", size: &size, storage_class: None, name_label: true }.build();
        let labels = pvc.metadata.labels.expect("labelled");
        assert_eq!(labels.get("name").map(String::as_str), Some("datadir"));
        assert_eq!(pvc.spec.and_then(|s| s.storage_class_name), None);
    }
}
