//! Custom resources validated against their CustomResourceDefinition's
//! `openAPIV3Schema`, with the jsonschema crate, as the API server would on apply.
//!
//! The CRDs are those of the render and any a component supplies without rendering them
//! ([`CrdSchemas::add_document`]: CRDs a cluster already has, such as the Prometheus
//! Operator's). Every object whose `apiVersion` group and `kind` match a CRD is checked
//! against the schema of its version, which must be served.
//!
//! A Kubernetes structural schema is OpenAPI v3, close to JSON Schema draft 4; converting
//! it keeps what the API server enforces:
//! - `nullable: true` adds `null` to the type (and to an `enum`);
//! - `x-kubernetes-int-or-string: true` is an integer or a string;
//! - an object with `properties` and no `additionalProperties` refuses unknown fields
//!   (`kubectl apply`'s strict field validation), unless it has
//!   `x-kubernetes-preserve-unknown-fields: true`;
//! - `x-kubernetes-embedded-resource: true`, and the root, also allow `apiVersion`, `kind`
//!   and `metadata` (which the API server validates itself);
//! - other `x-kubernetes-*` keys (list types, CEL rules) are dropped; `format` is not
//!   checked (the API server's formats are not JSON Schema's).
//!
//! A version's schema is compiled once per render, for all the render's objects of that
//! version together, and only for the part of it those objects use: the schema is first
//! pruned to the properties they hold (a property nobody sets cannot fail; `required`
//! stays), so a render pays for the fields it writes, not for the thousands of nodes of a
//! schema such as cert-manager's ClusterIssuer (README, "Performance").

use crate::pointer::JsonPointer as _;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use serde_json::{json, Map, Value as J};

use super::finding;
use crate::error::{Error, ErrorKind};
use crate::object::Object;
use crate::path::KeyPath;

/// The CRD schemas a render validates custom resources against.
#[derive(Default)]
pub struct CrdSchemas<'a> {
    versions: Vec<CrdVersion<'a>>,
}

/// One version of one CRD.
struct CrdVersion<'a> {
    /// The CRD's name (`clusterissuers.cert-manager.io`).
    crd: String,
    group: String,
    kind: String,
    version: String,
    served: bool,
    schema: Option<Cow<'a, J>>,
}

impl fmt::Debug for CrdSchemas<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.versions.iter().map(|v| format!("{}/{} {}", v.group, v.version, v.kind))).finish()
    }
}

impl<'a> CrdSchemas<'a> {
    /// No CRDs.
    pub fn new() -> Self {
        Self::default()
    }

    /// The CRDs among `objects` (borrowed: nothing is copied until a schema is needed).
    pub fn from_objects(objects: &'a [Object]) -> Self {
        let mut s = Self::new();
        for o in objects.iter().filter(|o| o.kind() == "CustomResourceDefinition") {
            s.add_versions(&o.value, |v| v.ptr("/schema/openAPIV3Schema").map(Cow::Borrowed));
        }
        s
    }

    /// Adds a CRD document (`apiextensions.k8s.io/v1` `CustomResourceDefinition`, as JSON)
    /// of a CRD that the render does not contain but the cluster has, so that custom
    /// resources of its kinds are validated too. A CRD of the same group and kind already
    /// known (rendered) wins.
    pub fn add_document(&mut self, mut doc: J) -> Result<(), Error> {
        let name = doc.ptr("/metadata/name").and_then(J::as_str).unwrap_or("").to_string();
        if doc.get("kind").and_then(J::as_str) != Some("CustomResourceDefinition")
            || doc.ptr("/spec/names/kind").and_then(J::as_str).is_none()
        {
            return Err(Error::invalid(format!("`{name}` is not a CustomResourceDefinition with `spec.names.kind`")));
        }
        let group = doc.ptr("/spec/group").and_then(J::as_str).unwrap_or("").to_string();
        let kind = doc.ptr("/spec/names/kind").and_then(J::as_str).unwrap_or("").to_string();
        if self.versions.iter().any(|v| v.group == group && v.kind == kind) {
            return Ok(());
        }
        // Take the schemas out of the document rather than copying them.
        let mut schemas: Vec<Option<J>> = Vec::new();
        if let Some(versions) = doc.pointer_mut("/spec/versions").and_then(J::as_array_mut) {
            for v in versions {
                schemas.push(v.pointer_mut("/schema/openAPIV3Schema").map(J::take));
            }
        }
        let mut schemas = schemas.into_iter();
        self.add_versions(&doc, |_| schemas.next().flatten().map(Cow::Owned));
        Ok(())
    }

    fn add_versions<'d>(&mut self, crd: &'d J, mut schema: impl FnMut(&'d J) -> Option<Cow<'a, J>>) {
        let text = |p: &str| crd.ptr(p).and_then(J::as_str).unwrap_or("").to_string();
        let (name, group, kind) = (text("/metadata/name"), text("/spec/group"), text("/spec/names/kind"));
        for v in crd.ptr("/spec/versions").and_then(J::as_array).map_or(&[][..], Vec::as_slice) {
            self.versions.push(CrdVersion {
                crd: name.clone(),
                group: group.clone(),
                kind: kind.clone(),
                version: v.get("name").and_then(J::as_str).unwrap_or("").to_string(),
                served: v.get("served").and_then(J::as_bool).unwrap_or(false),
                schema: schema(v),
            });
        }
    }

    /// True when no CRD is known.
    pub fn is_empty(&self) -> bool {
        self.versions.is_empty()
    }

    /// Checks every custom resource among `objects`; the first failure (in the order of
    /// `objects`) is returned.
    pub fn check_objects(&self, objects: &[Object]) -> Result<(), Error> {
        if self.versions.is_empty() {
            return Ok(());
        }
        let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (i, o) in objects.iter().enumerate() {
            if let Some(v) = self.version_of(o)? {
                groups.entry(v).or_default().push(i);
            }
        }
        let mut first: Option<(usize, Error)> = None;
        for (vi, idxs) in groups {
            let v = &self.versions[vi];
            let Some(schema) = &v.schema else { continue };
            let instances: Vec<&J> = idxs.iter().map(|i| &*objects[*i].value).collect();
            let validator = jsonschema::draft4::options()
                .should_validate_formats(false)
                .build(&to_json_schema(&prune(schema, &instances)))
                .map_err(|why| {
                    Error::new(ErrorKind::InvalidObject(format!(
                        "the schema of CRD `{}` version `{}` does not compile: {why}",
                        v.crd, v.version
                    )))
                })?;
            for i in idxs {
                if first.as_ref().is_some_and(|(f, _)| *f < i) {
                    break;
                }
                if let Some(e) = failure(v, schema, &validator, &objects[i]) {
                    first = Some((i, e));
                    break;
                }
            }
        }
        first.map_or(Ok(()), |(_, e)| Err(e))
    }

    /// Checks one object (nothing when no CRD defines its kind).
    pub fn check(&self, o: &Object) -> Result<(), Error> {
        self.check_objects(std::slice::from_ref(o))
    }

    /// The index of the CRD version `o` is an instance of; `None` when no CRD defines its
    /// kind, an error when its version is not served.
    fn version_of(&self, o: &Object) -> Result<Option<usize>, Error> {
        let Some((group, version)) = o.api_version().rsplit_once('/') else {
            return Ok(None); // the core API group: no CRD defines those
        };
        let kind = o.kind();
        let mut served = Vec::new();
        let mut known = false;
        for (i, v) in self.versions.iter().enumerate() {
            if v.group != group || v.kind != kind {
                continue;
            }
            known = true;
            if v.version == version && v.served {
                return Ok(Some(i));
            }
            if v.served {
                served.push(format!("`{}/{}`", v.group, v.version));
            }
        }
        if !known {
            return Ok(None);
        }
        Err(finding(
            o,
            &KeyPath::root().key("apiVersion"),
            format!("`{}` is not a served version of {kind}", o.api_version()),
        )
        .help(format!("its CRD serves {}", served.join(", "))))
    }
}

/// The first schema violation of `o`, as an error naming the field.
fn failure(v: &CrdVersion, schema: &J, validator: &jsonschema::Validator, o: &Object) -> Option<Error> {
    let err = validator.iter_errors(&o.value).next()?;
    let path = pointer_to_path(&o.value, err.instance_path().as_str());
    if let jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } = err.kind() {
        // Point at the unknown field itself (the schema reports the object holding it).
        if let Some(field) = unexpected.first() {
            let path = path.key(field);
            let mut e = finding(o, &path, format!("unknown field `{field}`"));
            let known = schema_at(schema, &path);
            if let Some(m) = crate::suggest::best_match(field, known.iter().map(String::as_str)) {
                e = e.help(format!("did you mean `{m}`?"));
            }
            return Some(e.note(format!("CRD `{}` ({}) has no such field", v.crd, v.version)));
        }
    }
    Some(finding(o, &path, format!("does not match the schema of CRD `{}` ({}): {err}", v.crd, v.version)))
}

/// `schema` cut down to what `instances` (the values it validates) use: properties none
/// of them has are dropped (they cannot fail), and `items` and `additionalProperties`
/// are pruned against the values they apply to. Descriptions go too. Logical junctors
/// (`allOf`, `anyOf`, `oneOf`, `not`) are kept whole.
pub fn prune(schema: &J, instances: &[&J]) -> J {
    let Some(m) = schema.as_object() else { return schema.clone() };
    let mut out = Map::new();
    for (k, v) in m {
        let pruned = match (k.as_str(), v) {
            ("description", _) => continue,
            ("properties", J::Object(props)) => J::Object(
                props
                    .iter()
                    .filter_map(|(pk, ps)| {
                        let sub: Vec<&J> = instances.iter().filter_map(|i| i.get(pk)).collect();
                        (!sub.is_empty()).then(|| (pk.clone(), prune(ps, &sub)))
                    })
                    .collect(),
            ),
            ("items", J::Object(_)) => {
                let sub: Vec<&J> = instances.iter().filter_map(|i| i.as_array()).flatten().collect();
                prune(v, &sub)
            }
            ("additionalProperties", J::Object(_)) => {
                let declared = m.get("properties").and_then(J::as_object);
                let sub: Vec<&J> = instances
                    .iter()
                    .filter_map(|i| i.as_object())
                    .flat_map(|o| {
                        o.iter().filter(|(k, _)| declared.is_none_or(|d| !d.contains_key(*k))).map(|(_, v)| v)
                    })
                    .collect();
                prune(v, &sub)
            }
            _ => v.clone(),
        };
        out.insert(k.clone(), pruned);
    }
    J::Object(out)
}

/// The property names the structural schema declares at `path` (list indexes follow
/// `items`), for did-you-mean.
fn schema_at(schema: &J, path: &KeyPath) -> Vec<String> {
    let mut cur = Some(schema);
    for seg in path.segments().iter().take(path.segments().len().saturating_sub(1)) {
        cur = match seg {
            crate::path::Segment::Key(k) => cur.and_then(|s| s.ptr("/properties").and_then(|p| p.get(k))),
            crate::path::Segment::Index(_) => cur.and_then(|s| s.get("items")),
        };
    }
    cur.and_then(|s| s.get("properties"))
        .and_then(J::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// Converts a JSON pointer into `value` to a key path (`/spec/solvers/0` →
/// `spec.solvers[0]`), telling list indexes from keys by the value's shape.
pub fn pointer_to_path(value: &J, pointer: &str) -> KeyPath {
    let mut path = KeyPath::root();
    let mut cur = Some(value);
    for raw in pointer.split('/').skip(1) {
        let seg = raw.replace("~1", "/").replace("~0", "~");
        match (cur, seg.parse::<usize>()) {
            (Some(J::Array(items)), Ok(i)) => {
                cur = items.get(i);
                path = path.index(i);
            }
            _ => {
                cur = cur.and_then(|c| c.get(&seg));
                path = path.key(&seg);
            }
        }
    }
    path
}

/// The JSON Schema (draft 4) that enforces a structural schema as the API server does
/// (the module documentation lists the conversions). `schema` is a CRD version's
/// `openAPIV3Schema`, the root of a custom resource.
pub fn to_json_schema(schema: &J) -> J {
    let mut out = convert(schema, true, true);
    if let Some(props) = out.get_mut("properties").and_then(J::as_object_mut) {
        // The API server validates metadata itself (names, labels); a CRD may only
        // restrict `name` and `generateName`.
        props.insert("metadata".into(), json!({"type": "object"}));
    }
    out
}

fn convert(s: &J, structural: bool, root: bool) -> J {
    let Some(m) = s.as_object() else { return s.clone() };
    let flag = |k: &str| m.get(k).and_then(J::as_bool) == Some(true);
    let nullable = flag("nullable");
    let preserve = flag("x-kubernetes-preserve-unknown-fields");
    let embedded = root || flag("x-kubernetes-embedded-resource");
    let mut out = Map::new();
    for (k, v) in m {
        let conv = match k.as_str() {
            "nullable" | "format" => continue,
            k if k.starts_with("x-kubernetes-") => continue,
            "properties" | "definitions" | "patternProperties" => J::Object(
                v.as_object()
                    .map(|props| props.iter().map(|(pk, pv)| (pk.clone(), convert(pv, structural, false))).collect())
                    .unwrap_or_default(),
            ),
            "items" => match v {
                J::Array(list) => J::Array(list.iter().map(|i| convert(i, structural, false)).collect()),
                other => convert(other, structural, false),
            },
            "additionalProperties" => convert(v, structural, false),
            "allOf" | "anyOf" | "oneOf" => {
                J::Array(v.as_array().map(|l| l.iter().map(|i| convert(i, false, false)).collect()).unwrap_or_default())
            }
            "not" => convert(v, false, false),
            _ => v.clone(),
        };
        out.insert(k.clone(), conv);
    }
    if flag("x-kubernetes-int-or-string") {
        let mut types = vec![json!("integer"), json!("string")];
        if nullable {
            types.push(json!("null"));
        }
        out.insert("type".into(), J::Array(types));
    } else if let (true, Some(t)) = (nullable, m.get("type").and_then(J::as_str)) {
        out.insert("type".into(), json!([t, "null"]));
    }
    if nullable {
        if let Some(e) = out.get_mut("enum").and_then(J::as_array_mut) {
            e.push(J::Null);
        }
    }
    if embedded && out.contains_key("properties") {
        if let Some(props) = out.get_mut("properties").and_then(J::as_object_mut) {
            props.entry("apiVersion").or_insert_with(|| json!({"type": "string"}));
            props.entry("kind").or_insert_with(|| json!({"type": "string"}));
            props.entry("metadata").or_insert_with(|| json!({"type": "object"}));
        }
    }
    if structural && !preserve && out.contains_key("properties") && !out.contains_key("additionalProperties") {
        out.insert("additionalProperties".into(), J::Bool(false));
    }
    J::Object(out)
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    fn crd() -> J {
        json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "names": {"kind": "Widget"}, "scope": "Namespaced",
                "versions": [
                    {"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "apiVersion": {"type": "string"}, "kind": {"type": "string"},
                            "metadata": {"type": "object"},
                            "spec": {"type": "object", "required": ["size"], "properties": {
                                "size": {"type": "integer", "minimum": 1},
                                "port": {"x-kubernetes-int-or-string": true},
                                "note": {"type": "string", "nullable": true},
                                "items": {"type": "array", "items": {"type": "object",
                                    "properties": {"name": {"type": "string"}}}},
                                "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                                "template": {"type": "object", "x-kubernetes-embedded-resource": true,
                                    "properties": {"spec": {"type": "object"}}}
                            }}}}}},
                    {"name": "v1beta1", "served": false, "storage": false}]}})
    }

    fn widget(spec: J) -> Object {
        obj(json!({"apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": {"name": "w", "namespace": "ns"}, "spec": spec}))
    }

    fn schemas() -> CrdSchemas<'static> {
        let mut s = CrdSchemas::new();
        s.add_document(crd()).unwrap();
        s
    }

    #[test]
    fn a_matching_custom_resource_passes() {
        let w = widget(json!({"size": 2, "port": "http", "note": null, "items": [{"name": "a"}],
            "extra": {"anything": [1]}, "template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}, "spec": {}}}));
        assert!(schemas().check(&w).is_ok(), "{:?}", schemas().check(&w));
        assert!(schemas().check(&widget(json!({"size": 1, "port": 8080}))).is_ok());
    }

    #[test]
    fn a_wrong_type_is_found_with_its_path() {
        let e = schemas().check(&widget(json!({"size": 1, "items": [{"name": 5}]}))).unwrap_err();
        assert_eq!(e.path().unwrap().to_string(), "c.k.spec.items[0].name");
        assert!(e.to_string().contains("widgets.example.com"), "{e}");
    }

    #[test]
    fn an_unknown_field_is_found() {
        let e = schemas().check(&widget(json!({"size": 1, "sise": 2}))).unwrap_err();
        assert_eq!(e.path().unwrap().to_string(), "c.k.spec.sise");
        assert_eq!(e.helps(), ["did you mean `size`?"]);
    }

    #[test]
    fn a_missing_required_field_is_found() {
        assert!(schemas().check(&widget(json!({}))).is_err());
        assert!(schemas().check(&widget(json!({"size": 0}))).is_err());
    }

    #[test]
    fn an_unserved_version_is_found() {
        let mut w = widget(json!({"size": 1}));
        w.value["apiVersion"] = json!("example.com/v1beta1");
        let e = schemas().check(&w).unwrap_err();
        assert_eq!(e.helps(), ["its CRD serves `example.com/v1`"]);
    }

    #[test]
    fn rendered_crds_are_found_among_the_objects() {
        let objects = vec![obj(crd()), widget(json!({"size": "big"}))];
        let s = CrdSchemas::from_objects(&objects);
        assert!(s.check_objects(&objects).is_err());
        assert!(CrdSchemas::new().check_objects(&objects).is_ok());
    }

    #[test]
    fn pruning_keeps_what_the_instances_use_and_their_failures() {
        let schema = crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone();
        let w = json!({"spec": {"size": 1, "items": [{"name": "a"}]}});
        let p = prune(&schema, &[&w]);
        let props = p.ptr("/properties/spec/properties").and_then(J::as_object).unwrap();
        assert_eq!(props.keys().collect::<Vec<_>>(), ["items", "size"]);
        assert_eq!(p.ptr("/properties/spec/required"), Some(&json!(["size"])));
        // The same findings as the whole schema, for objects checked together.
        let s = schemas();
        let objects = [widget(json!({"size": 1, "port": "x"})), widget(json!({"size": 1, "items": [{"name": 5}]}))];
        let e = s.check_objects(&objects).unwrap_err();
        assert_eq!(e.path().unwrap().to_string(), "c.k.spec.items[0].name");
    }

    #[test]
    fn json_pointers_become_key_paths() {
        let v = json!({"a": {"b/c": [{"0": 1}]}});
        assert_eq!(pointer_to_path(&v, "/a/b~1c/0/0").to_string(), "a.b/c[0].0");
    }
}
