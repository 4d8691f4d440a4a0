//! MetalLB's CustomResourceDefinitions, vendored from upstream as YAML data files in
//! `crds/` (source, commit and version in `crds/README.md`), converted to JSON at build
//! time (build.rs) and rendered as they are, with runway's labels added and the
//! server-owned fields (`status`, `metadata.creationTimestamp: null`) left out.

use std::collections::BTreeMap;

use runway_core::Error;

pub use crate::cert_manager::VendoredCrd;

/// The CRDs runway ships for MetalLB: the seven of upstream's v0.14 native manifest.
pub const VENDORED: &[VendoredCrd] = &[
    VendoredCrd {
        key: "bfdprofilesCrd",
        file: "metallb.io_bfdprofiles.yaml",
        yaml: include_str!("crds/metallb.io_bfdprofiles.yaml"),
        json: include_str!(concat!(env!("OUT_DIR"), "/crds/metallb.io_bfdprofiles.json")),
    },
    VendoredCrd {
        key: "bgpadvertisementsCrd",
        file: "metallb.io_bgpadvertisements.yaml",
        yaml: include_str!("crds/metallb.io_bgpadvertisements.yaml"),
        json: include_str!(concat!(env!("OUT_DIR"), "/crds/metallb.io_bgpadvertisements.json")),
    },
    VendoredCrd {
        key: "bgppeersCrd",
        file: "metallb.io_bgppeers.yaml",
        yaml: include_str!("crds/metallb.io_bgppeers.yaml"),
        json: include_str!(concat!(env!("OUT_DIR"), "/crds/metallb.io_bgppeers.json")),
    },
    VendoredCrd {
        key: "communitiesCrd",
        file: "metallb.io_communities.yaml",
        yaml: include_str!("crds/metallb.io_communities.yaml"),
        json: include_str!(concat!(env!("OUT_DIR"), "/crds/metallb.io_communities.json")),
    },
    VendoredCrd {
        key: "ipaddresspoolsCrd",
        file: "metallb.io_ipaddresspools.yaml",
        yaml: include_str!("crds/metallb.io_ipaddresspools.yaml"),
        json: include_str!(concat!(env!("OUT_DIR"), "/crds/metallb.io_ipaddresspools.json")),
    },
    VendoredCrd {
        key: "l2advertisementsCrd",
        file: "metallb.io_l2advertisements.yaml",
        yaml: include_str!("crds/metallb.io_l2advertisements.yaml"),
        json: include_str!(concat!(env!("OUT_DIR"), "/crds/metallb.io_l2advertisements.json")),
    },
    VendoredCrd {
        key: "servicel2statusesCrd",
        file: "metallb.io_servicel2statuses.yaml",
        yaml: include_str!("crds/metallb.io_servicel2statuses.yaml"),
        json: include_str!(concat!(env!("OUT_DIR"), "/crds/metallb.io_servicel2statuses.json")),
    },
];

/// The vendored CRD as JSON with `labels` added and the server-owned fields removed.
pub fn load_value(crd: &VendoredCrd, labels: &BTreeMap<String, String>) -> Result<serde_json::Value, Error> {
    let bad = |why: String| {
        Error::invalid(format!("vendored CRD `{}` is unreadable: {why}", crd.file))
            .note("this is a bug in runway's vendored data; `crds/README.md` says how to update it")
    };
    let mut value: serde_json::Value = serde_json::from_str(crd.json).map_err(|e| bad(e.to_string()))?;
    let Some(top) = value.as_object_mut() else { return Err(bad("not a mapping".into())) };
    top.remove("status");
    let Some(meta) = top.get_mut("metadata").and_then(|m| m.as_object_mut()) else {
        return Err(bad("no metadata".into()));
    };
    meta.remove("creationTimestamp");
    let existing = meta.entry("labels").or_insert_with(|| serde_json::Value::Object(Default::default()));
    let Some(map) = existing.as_object_mut() else { return Err(bad("labels is not a mapping".into())) };
    for (k, v) in labels {
        map.insert(k.clone(), serde_json::Value::String(v.clone()));
    }
    Ok(value)
}
