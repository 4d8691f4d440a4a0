//! cert-manager's CustomResourceDefinitions, vendored from upstream as YAML data files in
//! `crds/` (their source, commit and version are in `crds/README.md`) and read into
//! k8s-openapi's `CustomResourceDefinition` type. The YAML is upstream's text, untouched:
//! updating is replacing the files, and a diff against upstream stays empty.

use std::collections::BTreeMap;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    JSONSchemaProps, JSONSchemaPropsOrArray, JSONSchemaPropsOrBool,
};
use runway_core::{Error, SharedValue};

/// One vendored CRD: the object key it renders under and its upstream YAML.
pub struct VendoredCrd {
    /// The object key (`certificatesCrd`).
    pub key: &'static str,
    /// The upstream file name.
    pub file: &'static str,
    /// The upstream YAML.
    pub yaml: &'static str,
    /// The same, converted to JSON at build time (build.rs): what a render reads.
    pub json: &'static str,
}

/// The CRDs runway ships: all six of cert-manager's (`crds/README.md` says where each
/// comes from).
pub const VENDORED: &[VendoredCrd] = &[
    VendoredCrd {
        key: "certificaterequestsCrd",
        file: "cert-manager.io_certificaterequests.yaml",
        yaml: include_str!("crds/cert-manager.io_certificaterequests.yaml"),
        json: include_str!(concat!(env!("OUT_DIR"), "/crds/cert-manager.io_certificaterequests.json")),
    },
    VendoredCrd {
        key: "certificatesCrd",
        file: "cert-manager.io_certificates.yaml",
        yaml: include_str!("crds/cert-manager.io_certificates.yaml"),
        json: include_str!(concat!(env!("OUT_DIR"), "/crds/cert-manager.io_certificates.json")),
    },
    VendoredCrd {
        key: "challengesCrd",
        file: "acme.cert-manager.io_challenges.yaml",
        yaml: include_str!("crds/acme.cert-manager.io_challenges.yaml"),
        json: include_str!(concat!(env!("OUT_DIR"), "/crds/acme.cert-manager.io_challenges.json")),
    },
    VendoredCrd {
        key: "clusterissuersCrd",
        file: "cert-manager.io_clusterissuers.yaml",
        yaml: include_str!("crds/cert-manager.io_clusterissuers.yaml"),
        json: include_str!(concat!(env!("OUT_DIR"), "/crds/cert-manager.io_clusterissuers.json")),
    },
    VendoredCrd {
        key: "issuersCrd",
        file: "cert-manager.io_issuers.yaml",
        yaml: include_str!("crds/cert-manager.io_issuers.yaml"),
        json: include_str!(concat!(env!("OUT_DIR"), "/crds/cert-manager.io_issuers.json")),
    },
    VendoredCrd {
        key: "ordersCrd",
        file: "acme.cert-manager.io_orders.yaml",
        yaml: include_str!("crds/acme.cert-manager.io_orders.yaml"),
        json: include_str!(concat!(env!("OUT_DIR"), "/crds/acme.cert-manager.io_orders.json")),
    },
];

/// Reads one vendored file into the typed CRD and adds `labels`. A failure is a bug in the
/// vendored data (a bad update), reported with the file's name.
#[cfg(test)]
pub fn load(
    crd: &VendoredCrd,
    labels: &BTreeMap<String, String>,
) -> Result<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition, Error> {
    let mut typed: k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition =
        serde_json::from_value(load_value(crd, labels)?).map_err(|e| bad(crd, e.to_string()))?;
    typed.metadata.labels.get_or_insert_with(BTreeMap::new);
    Ok(typed)
}

/// The vendored CRD as JSON with `labels` added, without going through the typed struct:
/// the render's path (a test proves each reads back into `CustomResourceDefinition`
/// unchanged).
pub fn load_value(crd: &VendoredCrd, labels: &BTreeMap<String, String>) -> Result<serde_json::Value, Error> {
    let mut value = parsed(crd)?.clone();
    let meta =
        value.get_mut("metadata").and_then(|m| m.as_object_mut()).ok_or_else(|| bad(crd, "no metadata".into()))?;
    let existing = meta.entry("labels").or_insert_with(|| serde_json::Value::Object(Default::default()));
    let Some(map) = existing.as_object_mut() else { return Err(bad(crd, "labels is not a mapping".into())) };
    for (k, v) in labels {
        map.insert(k.clone(), serde_json::Value::String(v.clone()));
    }
    Ok(value)
}

/// [`load_value`], shared: every render with the same labels gets the same allocation, so
/// building, comparing and dropping the CRDs costs next to nothing (a fleet renders them
/// once per cluster); whatever changes one later (a patch, an annotation) copies it first
/// ([`SharedValue`]). Only successes are kept.
pub fn load_shared(crd: &VendoredCrd, labels: &BTreeMap<String, String>) -> Result<SharedValue, Error> {
    type Memo = BTreeMap<(&'static str, BTreeMap<String, String>), SharedValue>;
    static MEMO: std::sync::Mutex<Memo> = std::sync::Mutex::new(BTreeMap::new());
    let key = (crd.file, labels.clone());
    // Entries are inserted whole, so a lock poisoned elsewhere still holds good values.
    if let Some(v) = MEMO.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return Ok(v.clone());
    }
    let value = SharedValue::from(load_value(crd, labels)?);
    Ok(MEMO.lock().unwrap_or_else(|e| e.into_inner()).entry(key).or_insert(value).clone())
}

/// The vendored JSON, parsed once per process: two thirds of a runtime render's bytes are
/// these CRDs, and a fleet renders them once per cluster. Cloning the parsed tree costs a
/// fraction of parsing it again. The data is constant, so the cache cannot change output.
fn parsed(crd: &VendoredCrd) -> Result<&'static serde_json::Value, Error> {
    static PARSED: std::sync::OnceLock<Vec<Result<serde_json::Value, String>>> = std::sync::OnceLock::new();
    let all = PARSED
        .get_or_init(|| VENDORED.iter().map(|c| serde_json::from_str(c.json).map_err(|e| e.to_string())).collect());
    let index = VENDORED
        .iter()
        .position(|c| c.file == crd.file)
        .ok_or_else(|| bad(crd, "not among the vendored CRDs".into()))?;
    all[index].as_ref().map_err(|e| bad(crd, e.clone()))
}

fn bad(crd: &VendoredCrd, why: String) -> Error {
    Error::invalid(format!("vendored CRD `{}` is unreadable: {why}", crd.file))
        .note("this is a bug in runway's vendored data; `crds/README.md` says how to update it")
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
