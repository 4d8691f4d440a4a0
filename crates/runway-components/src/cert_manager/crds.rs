//! cert-manager's CustomResourceDefinitions, vendored from upstream as YAML data files in
//! `crds/` (their source, commit and version are in `crds/README.md`) and read into
//! k8s-openapi's `CustomResourceDefinition` type. The YAML is upstream's text, untouched:
//! updating is replacing the files, and a diff against upstream stays empty.

use std::collections::BTreeMap;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSONSchemaProps, JSONSchemaPropsOrArray, JSONSchemaPropsOrBool,
};
use runway_core::{Error, SourceId};

/// One vendored CRD: the object key it renders under and its upstream YAML.
pub struct VendoredCrd {
    /// The object key (`certificatesCrd`).
    pub key: &'static str,
    /// The upstream file name.
    pub file: &'static str,
    /// The upstream YAML.
    pub yaml: &'static str,
}

/// The CRDs runway ships. Issuer, ClusterIssuer and Challenge are not among them yet:
/// see `crds/README.md`.
pub const VENDORED: &[VendoredCrd] = &[
    VendoredCrd {
        key: "certificaterequestsCrd",
        file: "cert-manager.io_certificaterequests.yaml",
        yaml: include_str!("crds/cert-manager.io_certificaterequests.yaml"),
    },
    VendoredCrd {
        key: "certificatesCrd",
        file: "cert-manager.io_certificates.yaml",
        yaml: include_str!("crds/cert-manager.io_certificates.yaml"),
    },
    VendoredCrd {
        key: "ordersCrd",
        file: "acme.cert-manager.io_orders.yaml",
        yaml: include_str!("crds/acme.cert-manager.io_orders.yaml"),
    },
];

/// Reads one vendored file into the typed CRD and adds `labels`. A failure is a bug in the
/// vendored data (a bad update), reported with the file's name.
pub fn load(crd: &VendoredCrd, labels: &BTreeMap<String, String>) -> Result<CustomResourceDefinition, Error> {
    let bad = |why: String| {
        Error::invalid(format!("vendored CRD `{}` is unreadable: {why}", crd.file))
            .note("this is a bug in runway's vendored data; `crds/README.md` says how to update it")
    };
    let node = runway_core::layer::parse_layer(SourceId(0), crd.yaml).map_err(|e| bad(e.to_string()))?;
    let mut typed: CustomResourceDefinition = serde_json::from_value(node.to_json()).map_err(|e| bad(e.to_string()))?;
    let meta_labels = typed.metadata.labels.get_or_insert_with(BTreeMap::new);
    meta_labels.extend(labels.iter().map(|(k, v)| (k.clone(), v.clone())));
    Ok(typed)
}

/// Why `schema` is not structural (the API server's rule for apiextensions v1), if it is
/// not: every node states a `type` (or is `x-kubernetes-int-or-string`, or preserves
/// unknown fields), objects with `properties` say `type: object`, and arrays have `items`.
pub fn structural_problem(schema: &JSONSchemaProps, at: &str) -> Option<String> {
    let typed = schema.type_.is_some()
        || schema.x_kubernetes_int_or_string == Some(true)
        || schema.x_kubernetes_preserve_unknown_fields == Some(true);
    if !typed {
        return Some(format!("{at} has no type"));
    }
    if schema.properties.is_some() && schema.type_.as_deref() != Some("object") {
        return Some(format!("{at} has properties but is not an object"));
    }
    if schema.type_.as_deref() == Some("array") && schema.items.is_none() {
        return Some(format!("{at} is an array without items"));
    }
    for (name, p) in schema.properties.iter().flatten() {
        if let Some(why) = structural_problem(p, &format!("{at}.{name}")) {
            return Some(why);
        }
    }
    if let Some(JSONSchemaPropsOrArray::Schema(items)) = &schema.items {
        if let Some(why) = structural_problem(items, &format!("{at}[]")) {
            return Some(why);
        }
    }
    if let Some(JSONSchemaPropsOrBool::Schema(extra)) = &schema.additional_properties {
        if let Some(why) = structural_problem(extra, &format!("{at}.*")) {
            return Some(why);
        }
    }
    None
}
